//! Rate limiting by GCRA (the generic cell rate algorithm): one atomic word
//! of state per limiter, updated with a compare-and-swap, no lock and no
//! background refill. [`KeyedRateLimiter`] keeps one GCRA cell per key and
//! evicts keys whose cell is fully replenished (idle).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

use crate::clock::{SharedClock, nanos, system_clock};
use crate::error::{ConfigError, Error};
use crate::loom::{AtomicU64, Ordering};

/// Rate limiter settings: `permits` per `per`, with bursts up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimiterConfig {
    /// Permits per period.
    pub permits: u32,
    /// The period.
    #[serde(with = "crate::serde_config::duration")]
    pub per: Duration,
    /// Permits that may be taken at once after an idle spell (≥ 1).
    pub burst: u32,
}

impl Default for RateLimiterConfig {
    /// 100 per second, bursts of 10.
    fn default() -> Self {
        Self {
            permits: 100,
            per: Duration::from_secs(1),
            burst: 10,
        }
    }
}

impl RateLimiterConfig {
    /// Checks every field, naming the first bad one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.permits == 0 {
            return Err(ConfigError::new("permits", "must be at least 1"));
        }
        if nanos(self.per) / u64::from(self.permits) == 0 {
            return Err(ConfigError::new(
                "per",
                "must give each permit at least 1 ns",
            ));
        }
        if self.burst == 0 {
            return Err(ConfigError::new("burst", "must be at least 1"));
        }
        Ok(())
    }

    fn emission_nanos(&self) -> u64 {
        nanos(self.per) / u64::from(self.permits)
    }
}

/// Limiter counters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RateLimiterStats {
    /// Name used in metrics.
    pub name: String,
    /// Permits granted.
    pub allowed: u64,
    /// Requests refused.
    pub limited: u64,
}

/// One GCRA cell: decides against a theoretical arrival time (TAT).
#[derive(Debug, Clone, Copy)]
struct Gcra {
    emission: u64,
    tolerance: u64,
}

impl Gcra {
    fn new(config: &RateLimiterConfig) -> Self {
        let emission = config.emission_nanos();
        Self {
            emission,
            tolerance: emission.saturating_mul(u64::from(config.burst) - 1),
        }
    }

    /// Returns the new TAT when `n` permits fit at `now`, else the wait.
    #[inline]
    fn decide(&self, tat: u64, now: u64, n: u32) -> Result<u64, u64> {
        let start = tat.max(now);
        let cost = self.emission.saturating_mul(u64::from(n));
        let new_tat = start.saturating_add(cost);
        let allowed_at = new_tat.saturating_sub(self.tolerance + self.emission);
        if allowed_at > now {
            Err(allowed_at - now)
        } else {
            Ok(new_tat)
        }
    }
}

/// A lock-free GCRA rate limiter.
pub struct RateLimiter {
    name: String,
    gcra: Gcra,
    burst: u32,
    clock: SharedClock,
    tat: AtomicU64,
    allowed: AtomicU64,
    limited: AtomicU64,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("name", &self.name)
            .field("gcra", &self.gcra)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// Creates a limiter on the system clock.
    pub fn new(name: impl Into<String>, config: RateLimiterConfig) -> Result<Self, ConfigError> {
        Self::with_clock(name, config, system_clock())
    }

    /// Creates a limiter reading time from `clock`.
    pub fn with_clock(
        name: impl Into<String>,
        config: RateLimiterConfig,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            name: name.into(),
            gcra: Gcra::new(&config),
            burst: config.burst,
            clock,
            tat: AtomicU64::new(0),
            allowed: AtomicU64::new(0),
            limited: AtomicU64::new(0),
        })
    }

    /// Takes one permit or says how long until one is free.
    #[inline]
    pub fn try_acquire(&self) -> Result<(), Error> {
        self.try_acquire_n(1)
    }

    /// Takes `n` permits at once (all or none); `n` above `burst` never fits.
    pub fn try_acquire_n(&self, n: u32) -> Result<(), Error> {
        if n > self.burst {
            return Err(Error::RateLimited {
                retry_after: Duration::MAX,
            });
        }
        let now = self.clock.now_nanos();
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            match self.gcra.decide(tat, now, n) {
                Err(wait) => {
                    self.limited.fetch_add(1, Ordering::Relaxed);
                    return Err(Error::RateLimited {
                        retry_after: Duration::from_nanos(wait),
                    });
                }
                Ok(new_tat) => match self.tat.compare_exchange_weak(
                    tat,
                    new_tat,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        self.allowed.fetch_add(u64::from(n), Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(seen) => tat = seen,
                },
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> RateLimiterStats {
        RateLimiterStats {
            name: self.name.clone(),
            allowed: self.allowed.load(Ordering::Relaxed),
            limited: self.limited.load(Ordering::Relaxed),
        }
    }
}

/// Number of independently locked shards in a [`KeyedRateLimiter`].
const SHARDS: usize = 16;

/// A rate limiter per key (client, tenant, peer), bounded in keys: keys whose
/// cell is fully replenished carry no state and are evicted.
pub struct KeyedRateLimiter<K> {
    gcra: Gcra,
    burst: u32,
    max_keys: usize,
    /// Keys tracked across all shards (changed under a shard's lock).
    keys: std::sync::atomic::AtomicUsize,
    clock: SharedClock,
    hasher: std::collections::hash_map::RandomState,
    shards: Box<[parking_lot::Mutex<HashMap<K, u64>>]>,
}

impl<K> fmt::Debug for KeyedRateLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedRateLimiter")
            .field("gcra", &self.gcra)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> KeyedRateLimiter<K> {
    /// Creates a keyed limiter on the default clock holding at most about
    /// `max_keys` keys.
    pub fn new(config: RateLimiterConfig, max_keys: usize) -> Result<Self, ConfigError> {
        Self::with_clock(config, max_keys, system_clock())
    }

    /// Creates a keyed limiter holding at most about `max_keys` keys.
    pub fn with_clock(
        config: RateLimiterConfig,
        max_keys: usize,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        if max_keys < SHARDS {
            return Err(ConfigError::new("max_keys", "must be at least 16"));
        }
        Ok(Self {
            gcra: Gcra::new(&config),
            burst: config.burst,
            max_keys,
            keys: std::sync::atomic::AtomicUsize::new(0),
            clock,
            hasher: std::collections::hash_map::RandomState::new(),
            shards: (0..SHARDS)
                .map(|_| parking_lot::Mutex::new(HashMap::new()))
                .collect(),
        })
    }

    /// Takes one permit for `key`. When the key table is full even after
    /// evicting idle keys, a new key is refused (fail closed).
    pub fn try_acquire(&self, key: &K) -> Result<(), Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = self.clock.now_nanos();
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        let mut map = shard.lock();
        let new_key = !map.contains_key(key);
        if new_key && self.keys.load(Relaxed) >= self.max_keys {
            // At the limit: drop idle keys here first, then everywhere.
            self.retain_busy(&mut map, now);
            if self.keys.load(Relaxed) >= self.max_keys {
                drop(map);
                self.evict_idle();
                map = shard.lock();
            }
            if self.keys.load(Relaxed) >= self.max_keys {
                return Err(Error::RateLimited {
                    retry_after: Duration::from_nanos(self.gcra.emission),
                });
            }
        }
        let tat = map.get(key).copied().unwrap_or(0);
        match self.gcra.decide(tat, now, 1) {
            Ok(new_tat) => {
                if map.insert(key.clone(), new_tat).is_none() {
                    self.keys.fetch_add(1, Relaxed);
                }
                Ok(())
            }
            Err(wait) => Err(Error::RateLimited {
                retry_after: Duration::from_nanos(wait),
            }),
        }
    }

    /// Drops the fully replenished keys of one shard, keeping the count.
    fn retain_busy(&self, map: &mut HashMap<K, u64>, now: u64) {
        let before = map.len();
        map.retain(|_, tat| *tat > now);
        self.keys
            .fetch_sub(before - map.len(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Drops every idle (fully replenished) key; returns how many remain.
    pub fn evict_idle(&self) -> usize {
        let now = self.clock.now_nanos();
        self.shards
            .iter()
            .map(|s| {
                let mut map = s.lock();
                self.retain_busy(&mut map, now);
                map.len()
            })
            .sum()
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The burst size.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    const MS: Duration = Duration::from_millis(1);

    fn limiter(permits: u32, burst: u32) -> (RateLimiter, ManualClock) {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(100));
        let config = RateLimiterConfig {
            permits,
            per: Duration::from_secs(1),
            burst,
        };
        (
            RateLimiter::with_clock("test", config, Arc::new(clock.clone())).unwrap(),
            clock,
        )
    }

    #[test]
    fn allows_a_burst_then_one_permit_per_emission_interval() {
        let (l, clock) = limiter(10, 3);
        for _ in 0..3 {
            l.try_acquire().unwrap();
        }
        let Err(Error::RateLimited { retry_after }) = l.try_acquire() else {
            panic!("burst exceeded")
        };
        assert_eq!(retry_after, MS * 100);
        clock.advance(MS * 100);
        l.try_acquire().unwrap();
        assert!(l.try_acquire().is_err());
        assert_eq!(l.stats().allowed, 4);
        assert_eq!(l.stats().limited, 2);
    }

    #[test]
    fn sustained_rate_never_exceeds_the_limit() {
        let (l, clock) = limiter(50, 5);
        let mut allowed = 0;
        for _ in 0..10_000 {
            if l.try_acquire().is_ok() {
                allowed += 1;
            }
            clock.advance(MS);
        }
        // 10 s at 50/s plus the initial burst.
        assert!(allowed <= 500 + 5, "allowed {allowed}");
        assert!(allowed >= 500, "allowed {allowed}");
    }

    #[test]
    fn acquire_n_is_all_or_nothing() {
        let (l, _) = limiter(10, 4);
        l.try_acquire_n(3).unwrap();
        assert!(l.try_acquire_n(2).is_err());
        l.try_acquire_n(1).unwrap();
        assert!(l.try_acquire_n(5).is_err(), "more than burst never fits");
    }

    #[test]
    fn keyed_limiter_limits_each_key_and_evicts_idle_keys() {
        let clock = ManualClock::new();
        let config = RateLimiterConfig {
            permits: 1,
            per: Duration::from_secs(1),
            burst: 1,
        };
        let l = KeyedRateLimiter::with_clock(config, 16, Arc::new(clock.clone())).unwrap();
        l.try_acquire(&"a").unwrap();
        l.try_acquire(&"b").unwrap();
        assert!(l.try_acquire(&"a").is_err());
        assert_eq!(l.len(), 2);
        clock.advance(Duration::from_secs(2));
        assert_eq!(l.evict_idle(), 0, "replenished keys carry no state");
        l.try_acquire(&"a").unwrap();
    }

    #[test]
    fn keyed_limiter_holds_max_keys_whatever_their_hashes() {
        let clock = ManualClock::new();
        let config = RateLimiterConfig {
            permits: 1,
            per: Duration::from_secs(1),
            burst: 1,
        };
        // Fresh hasher seeds each time: keys land in different shards.
        for _ in 0..50 {
            let l = KeyedRateLimiter::with_clock(config, 16, Arc::new(clock.clone())).unwrap();
            for k in 0..16u32 {
                l.try_acquire(&k)
                    .unwrap_or_else(|e| panic!("key {k} refused: {e}"));
            }
            assert!(l.try_acquire(&99).is_err(), "the 17th busy key is refused");
            assert_eq!(l.len(), 16);
        }
    }

    #[test]
    fn keyed_limiter_stays_bounded_in_keys() {
        let clock = ManualClock::new();
        let config = RateLimiterConfig {
            permits: 1,
            per: Duration::from_secs(1),
            burst: 1,
        };
        let l = KeyedRateLimiter::with_clock(config, 32, Arc::new(clock)).unwrap();
        let refused = (0..1000u32).filter(|k| l.try_acquire(k).is_err()).count();
        assert!(l.len() <= 32);
        assert!(refused >= 1000 - 32);
    }

    #[test]
    fn concurrent_acquires_grant_exactly_the_burst() {
        let (l, _) = limiter(1, 100);
        let l = Arc::new(l);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let l = Arc::clone(&l);
                std::thread::spawn(move || (0..1000).filter(|_| l.try_acquire().is_ok()).count())
            })
            .collect();
        let granted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(
            granted, 100,
            "time stands still, so exactly the burst is granted"
        );
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn loom_gcra_grants_exactly_the_burst_to_racing_threads() {
        loom::model(|| {
            let config = RateLimiterConfig {
                permits: 1,
                per: Duration::from_secs(1),
                burst: 1,
            };
            let limiter = Arc::new(
                RateLimiter::with_clock("l", config, Arc::new(ManualClock::new())).unwrap(),
            );
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let l = Arc::clone(&limiter);
                    loom::thread::spawn(move || l.try_acquire().is_ok())
                })
                .collect();
            let granted = handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count();
            assert_eq!(granted, 1);
        });
    }
}
