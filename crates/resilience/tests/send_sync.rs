//! Public types are Send + Sync (checked at compile time).

use ballast_resilience::*;

const fn assert_send_sync<T: Send + Sync>() {}

#[derive(Debug)]
struct M;
impl Manager for M {
    type Object = u8;
    type Error = ();
    fn create(&self) -> Result<u8, ()> {
        Ok(0)
    }
}

const _: () = {
    assert_send_sync::<CircuitBreaker>();
    assert_send_sync::<Permit<'static>>();
    assert_send_sync::<BreakerStats>();
    assert_send_sync::<Retry>();
    assert_send_sync::<RetryBudget>();
    assert_send_sync::<RetryStats>();
    assert_send_sync::<Pool<M>>();
    assert_send_sync::<Pooled<M>>();
    assert_send_sync::<RateLimiter>();
    assert_send_sync::<KeyedRateLimiter<String>>();
    assert_send_sync::<Bulkhead>();
    assert_send_sync::<BulkheadPermit<'static>>();
    assert_send_sync::<HealthRegistry>();
    assert_send_sync::<MetricsRegistry>();
    assert_send_sync::<Shutdown>();
    assert_send_sync::<InFlightGuard>();
    assert_send_sync::<ManualClock>();
    assert_send_sync::<SystemClock>();
    assert_send_sync::<Error>();
    assert_send_sync::<ConfigError>();
};

#[test]
fn public_types_are_send_and_sync() {
    // The assertions above run at compile time; this test only names them.
}
