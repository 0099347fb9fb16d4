//! Pool configuration and the `Manager` trait.

use std::fmt;
use std::time::Duration;

use crate::error::ConfigError;

/// Creates, checks and destroys the objects a [`Pool`](super::Pool) lends.
pub trait Manager: Send + Sync + 'static {
    /// The pooled object (a connection, a session, a buffer).
    type Object: Send + 'static;
    /// Why creating or checking an object failed.
    type Error: fmt::Debug + Send + 'static;

    /// Creates a new object.
    fn create(&self) -> Result<Self::Object, Self::Error>;

    /// Creates a new object without blocking an async executor; used by
    /// `Pool::acquire_async`. The default calls [`Manager::create`].
    fn create_async(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Object, Self::Error>> + Send {
        std::future::ready(self.create())
    }

    /// Checks an object before it is lent (when `check_on_checkout`) and
    /// during maintenance; an `Err` evicts it as broken.
    fn check(&self, _object: &mut Self::Object) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Destroys an object leaving the pool (closing a socket, say).
    fn destroy(&self, object: Self::Object) {
        drop(object);
    }
}

/// Largest pool, so a misconfiguration cannot ask for unbounded objects.
pub const MAX_POOL_SIZE: usize = 1 << 16;

/// Pool settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// Name used in metrics.
    pub name: String,
    /// Objects alive at most (lent + idle + being created for a caller).
    /// While [`Pool::maintain`](super::Pool::maintain) creates a `min_idle`
    /// refill, one more may exist: the refill holds no place, so it never
    /// keeps an acquirer waiting, and it is destroyed if the pool filled up
    /// meanwhile.
    pub max_size: usize,
    /// Idle objects kept ready by maintenance, even past `idle_timeout`.
    pub min_idle: usize,
    /// How long `acquire` waits for an object.
    #[serde(with = "crate::serde_config::duration")]
    pub acquire_timeout: Duration,
    /// Idle objects older than this are destroyed (down to `min_idle`).
    #[serde(
        with = "crate::serde_config::option_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub idle_timeout: Option<Duration>,
    /// Objects are destroyed this long after creation …
    #[serde(
        with = "crate::serde_config::option_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_lifetime: Option<Duration>,
    /// … minus a random amount up to this, so they do not expire together.
    #[serde(with = "crate::serde_config::duration")]
    pub lifetime_jitter: Duration,
    /// Run `Manager::check` on every checkout.
    pub check_on_checkout: bool,
    /// Seed for the lifetime jitter.
    pub seed: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "default".to_owned(),
            max_size: 16,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: None,
            max_lifetime: None,
            lifetime_jitter: Duration::ZERO,
            check_on_checkout: false,
            seed: 0x5EED,
        }
    }
}

impl PoolConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_size == 0 || self.max_size > MAX_POOL_SIZE {
            return Err(ConfigError::new("max_size", "must be in 1..=MAX_POOL_SIZE"));
        }
        if self.min_idle > self.max_size {
            return Err(ConfigError::new("min_idle", "must not exceed max_size"));
        }
        if let Some(lifetime) = self.max_lifetime
            && self.lifetime_jitter >= lifetime
        {
            return Err(ConfigError::new(
                "lifetime_jitter",
                "must be shorter than max_lifetime",
            ));
        }
        Ok(())
    }
}
