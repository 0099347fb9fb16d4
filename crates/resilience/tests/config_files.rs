//! Every configuration struct reads and writes as TOML and JSON: defaults
//! round-trip, durations carry units, a misspelt key is an error naming
//! it, and a backoff or window is one flat table.
#![cfg(not(loom))]

use std::time::Duration;

use ballast_resilience::{
    Backoff, BreakerConfig, BulkheadConfig, PoolConfig, RateLimiterConfig, RetryConfig,
    ShutdownConfig, WindowKind,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + Default>() {
    let value = T::default();
    let text = toml::to_string(&value).expect("writes as TOML");
    let back: T = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, value, "{text}");
    let json = serde_json::to_string(&value).expect("writes as JSON");
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(back, value, "{json}");
}

#[test]
fn every_default_round_trips_through_toml_and_json() {
    round_trip::<BreakerConfig>();
    round_trip::<RetryConfig>();
    round_trip::<BulkheadConfig>();
    round_trip::<RateLimiterConfig>();
    round_trip::<ShutdownConfig>();
    round_trip::<PoolConfig>();
}

#[test]
fn a_file_sets_what_it_names_and_keeps_the_defaults_for_the_rest() {
    let retry: RetryConfig = toml::from_str(
        r#"
        max_attempts = 5
        max_elapsed = "30s"
        backoff = { kind = "exponential", factor = 3.0, initial = "50ms", max_delay = "2s", jitter = "equal" }
        "#,
    )
    .expect("a valid retry table");
    assert_eq!(retry.max_attempts, 5);
    assert_eq!(retry.max_elapsed, Some(Duration::from_secs(30)));
    assert_eq!(
        retry.backoff,
        Backoff::exponential(Duration::from_millis(50), Duration::from_secs(2))
            .with_factor(3.0)
            .with_jitter(ballast_resilience::Jitter::Equal)
    );
    assert_eq!(
        retry.max_retry_after,
        RetryConfig::default().max_retry_after
    );
    let breaker: BreakerConfig = toml::from_str(
        "window = { kind = \"time\", length = \"60s\", buckets = 60 }\nminimum_calls = 10",
    )
    .expect("a valid breaker table");
    assert_eq!(
        breaker.window,
        WindowKind::Time {
            length: Duration::from_secs(60),
            buckets: 60
        }
    );
    let bulkhead: BulkheadConfig = toml::from_str("max_wait = 250").expect("milliseconds");
    assert_eq!(bulkhead.max_wait, Duration::from_millis(250));
}

#[test]
fn misspelt_keys_and_bad_values_are_errors_that_name_them() {
    let e = toml::from_str::<RetryConfig>("max_attemps = 5")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown field `max_attemps`") && e.contains("max_attempts"),
        "{e}"
    );
    let e = toml::from_str::<BulkheadConfig>("max_wait = \"5 fortnights\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown unit"), "{e}");
    let e = toml::from_str::<RetryConfig>(
        "backoff = { kind = \"fixed\", factor = 2.0, initial = \"1s\", max_delay = \"1s\" }",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`factor` does not apply to a fixed backoff"),
        "{e}"
    );
    let e = toml::from_str::<BreakerConfig>("window = { kind = \"count\" }")
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs `size`"), "{e}");
}
