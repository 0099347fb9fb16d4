//! The pool-expiry soak: a `ballast-resilience` pool whose objects expire
//! by idle timeout and lifetime, are broken now and then, and are refilled
//! by maintenance, on one manual clock.

use std::sync::Arc;
use std::time::Duration;

use ballast_resilience::{Manager, ManualClock, Pool, PoolConfig};

use super::workloads::budget;
use super::{Budget, Soak};

/// Objects the pool holds at most.
const MAX_SIZE: usize = 8;
/// Idle objects maintenance keeps ready.
const MIN_IDLE: usize = 4;
/// Size of each pooled buffer.
const OBJECT_BYTES: usize = 4 * 1024;

/// Creates 4 KiB buffers.
#[derive(Debug, Default)]
struct Buffers;

impl Manager for Buffers {
    type Object = Vec<u8>;
    type Error = ();

    fn create(&self) -> Result<Vec<u8>, ()> {
        Ok(vec![0x5a; OBJECT_BYTES])
    }
}

/// Every iteration checks out the whole pool, breaks one object in eight
/// checkouts, gives the rest back, lets 700 ms pass (idle timeout 1 s,
/// lifetime 5 s minus up to 1 s of jitter) and runs maintenance, which
/// destroys the expired objects and refills `min_idle`.
pub(super) struct PoolExpiry {
    time: ManualClock,
    pool: Pool<Buffers>,
    checkouts: u64,
}

impl PoolExpiry {
    pub(super) fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let time = ManualClock::new();
        let config = PoolConfig {
            name: "soak".into(),
            max_size: MAX_SIZE,
            min_idle: MIN_IDLE,
            acquire_timeout: Duration::from_millis(1),
            idle_timeout: Some(Duration::from_secs(1)),
            max_lifetime: Some(Duration::from_secs(5)),
            lifetime_jitter: Duration::from_secs(1),
            ..PoolConfig::default()
        };
        let pool = Pool::with_clock(Buffers, config, Arc::new(time.clone()), None)
            .map_err(|e| e.to_string())?;
        let soak = Self {
            time,
            pool,
            checkouts: 0,
        };
        Ok((Box::new(soak), budget(quick, 200, 20_000, 100_000_000)))
    }
}

impl Soak for PoolExpiry {
    fn name(&self) -> &'static str {
        "pool-expiry"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let mut lent = Vec::with_capacity(MAX_SIZE);
        for _ in 0..MAX_SIZE {
            let mut object = self
                .pool
                .acquire()
                .map_err(|e| format!("checkout from a pool with room failed: {e:?}"))?;
            if object.len() != OBJECT_BYTES {
                return Err(format!("a pooled buffer has {} bytes", object.len()));
            }
            self.checkouts += 1;
            if self.checkouts.is_multiple_of(8) {
                object.mark_broken();
            }
            lent.push(object);
        }
        // A refused checkout waits the whole acquire timeout: check the
        // bound on one iteration in 16.
        if self.checkouts.is_multiple_of(16 * MAX_SIZE as u64) && self.pool.acquire().is_ok() {
            return Err(format!("a full pool of {MAX_SIZE} lent a ninth object"));
        }
        drop(lent);
        self.time.advance(Duration::from_millis(700));
        self.pool.maintain();
        let stats = self.pool.stats();
        if stats.size > MAX_SIZE + 1 || stats.idle < MIN_IDLE.min(stats.size) {
            return Err(format!(
                "after maintenance the pool holds {} objects ({} idle): bounds {MAX_SIZE} and min_idle {MIN_IDLE}",
                stats.size, stats.idle
            ));
        }
        Ok(MAX_SIZE as u64 + 1)
    }

    /// The pool holds between `min_idle` and `max_size` buffers depending
    /// on which lifetimes just ran out: let every idle one expire and
    /// refill, so the baseline and the end both see `min_idle` buffers.
    fn quiesce(&mut self) {
        self.time.advance(Duration::from_secs(10));
        self.pool.maintain();
    }
}
