//! Configuration files and environment overrides, and the errors an
//! operator sees for a misspelt key, a bad value, a bad override and two
//! settings that conflict.
#![cfg(all(feature = "config", feature = "resilience"))]

use std::time::Duration;

use ballast::config::{self, ConfigError, Format, Invalid, Validate};
use ballast::resilience::{PoolConfig, RetryConfig, ShutdownConfig};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    #[serde(default)]
    retry: RetryConfig,
    #[serde(default)]
    pool: PoolConfig,
    #[serde(default)]
    shutdown: ShutdownConfig,
}

impl Validate for Settings {
    fn check(&self) -> Result<(), Invalid> {
        self.retry.check().map_err(|e| e.within("retry"))?;
        self.pool.check().map_err(|e| e.within("pool"))?;
        self.shutdown.check().map_err(|e| e.within("shutdown"))
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn toml(text: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    config::from_text(text, Format::Toml, "app.toml", "BALLAST", &env(vars))
}

const FILE: &str = "\
[retry]
max_attempts = 4
max_elapsed = \"30s\"

[pool]
max_size = 8
acquire_timeout = \"2s\"
";

#[test]
fn a_file_and_its_overrides_make_the_settings() {
    let s = toml(FILE, &[("BALLAST_POOL__MAX_SIZE", "16"), ("OTHER_X", "1")]).unwrap();
    assert_eq!(s.retry.max_attempts, 4);
    assert_eq!(s.retry.max_elapsed, Some(Duration::from_secs(30)));
    assert_eq!(s.pool.max_size, 16, "the environment wins over the file");
    assert_eq!(s.pool.acquire_timeout, Duration::from_secs(2));
    assert_eq!(
        s.shutdown,
        ShutdownConfig::default(),
        "absent sections keep defaults"
    );
    let s = toml(
        "",
        &[
            ("BALLAST_RETRY__BACKOFF__KIND", "fixed"),
            ("BALLAST_RETRY__BACKOFF__INITIAL", "1s"),
            ("BALLAST_RETRY__BACKOFF__MAX_DELAY", "1s"),
        ],
    );
    assert_eq!(
        s.unwrap().retry.backoff,
        ballast::resilience::Backoff::fixed(Duration::from_secs(1))
    );
}

#[test]
fn a_misspelt_key_names_the_line_and_the_key_it_meant() {
    let e = toml("[retry]\nmax_attempts = 4\nmax_elapse = \"30s\"\n", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "app.toml:3: retry.max_elapse: unknown key; did you mean `max_elapsed`?"
    );
    let e = toml("[retyr]\nmax_attempts = 4\n", &[]).unwrap_err();
    assert!(e.to_string().contains("did you mean `retry`?"), "{e}");
}

#[test]
fn a_bad_value_names_the_line_the_field_and_the_rule() {
    let e = toml("[pool]\nmax_size = 8\nacquire_timeout = \"2 weeks\"\n", &[]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("app.toml:3: pool.acquire_timeout: "),
        "{text}"
    );
    assert!(text.contains("unknown unit"), "{text}");
    let e = toml("[retry]\nmax_attempts = 0\n", &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "app.toml:2: retry.max_attempts = 0: must be between 1 and 1000 (MAX_ATTEMPTS_LIMIT)"
    );
}

#[test]
fn a_bad_override_names_the_variable() {
    let e = toml(FILE, &[("BALLAST_RETRY__MAX_ATTEMPTS", "lots")]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(
            "environment variable BALLAST_RETRY__MAX_ATTEMPTS: retry.max_attempts = lots: "
        ),
        "{text}"
    );
    let e = toml(FILE, &[("BALLAST_RETRY__MAX_ATTEMPTS", "0")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment variable BALLAST_RETRY__MAX_ATTEMPTS: retry.max_attempts = 0: must be between 1 and 1000 (MAX_ATTEMPTS_LIMIT)"
    );
}

#[test]
fn conflicting_settings_are_named_together() {
    let e = toml("[pool]\nmax_size = 4\nmin_idle = 8\n", &[]).unwrap_err();
    assert!(matches!(e, ConfigError::Conflict(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "app.toml:3: pool.min_idle = 8 conflicts with pool.max_size = 4: min_idle must not exceed max_size"
    );
    let e = toml("[shutdown]\ntotal = \"5s\"\ndraining = \"10s\"\n", &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("shutdown.draining = \"10s\" conflicts with shutdown.total = \"5s\""),
        "{e}"
    );
    assert_eq!(ballast::error::Coded::code(&e), "BLST-CONFIG-004");
}

#[test]
fn json_files_and_syntax_errors_carry_lines_too() {
    let s: Settings = config::from_text(
        "{\n  \"retry\": {\"max_attempts\": 2}\n}\n",
        Format::Json,
        "app.json",
        "BALLAST",
        &[],
    )
    .unwrap();
    assert_eq!(s.retry.max_attempts, 2);
    let e = config::from_text::<Settings>(
        "{\n  \"retry\": {\"max_atempts\": 2}\n}\n",
        Format::Json,
        "app.json",
        "BALLAST",
        &[],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "app.json:2: retry.max_atempts: unknown key; did you mean `max_attempts`?"
    );
    let e = toml("[retry\nmax_attempts = 2\n", &[]).unwrap_err();
    assert!(
        matches!(e, ConfigError::Syntax { .. }) && e.to_string().starts_with("app.toml:1:"),
        "{e}"
    );
}

#[test]
fn load_reads_a_file_by_its_extension() {
    let dir = std::env::temp_dir().join(format!("ballast-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.toml");
    std::fs::write(&path, FILE).unwrap();
    let s: Settings = config::load(&path, "BALLAST_TEST_NOTHING_SET").unwrap();
    assert_eq!(s.pool.max_size, 8);
    let e = config::load::<Settings>(dir.join("missing.toml"), "X").unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_messages_in_the_operations_guide_are_these() {
    let e = toml(FILE, &[("BALLAST_RETRY__MAX_ATTEMPTS", "lots")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment variable BALLAST_RETRY__MAX_ATTEMPTS: retry.max_attempts = lots: invalid type: string \"lots\", expected u32"
    );
}

#[cfg(feature = "host")]
mod tn3270 {
    use super::*;
    use ballast::session::host::HostConfig;
    use ballast::session::{Model, SessionConfig};

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Gateway {
        #[serde(default)]
        session: SessionConfig,
        #[serde(default)]
        host: HostConfig,
    }

    impl Validate for Gateway {
        fn check(&self) -> Result<(), Invalid> {
            self.session.check().map_err(|e| e.within("session"))?;
            self.host.check().map_err(|e| e.within("host"))
        }
    }

    fn gateway(text: &str) -> Result<Gateway, ConfigError> {
        config::from_text(text, Format::Toml, "gateway.toml", "GW", &[])
    }

    #[test]
    fn session_and_host_settings_read_from_a_file() {
        let g = gateway(
            "[session]\nmodel = 4\ncode_page = \"cp1047\"\nlu = \"LU01\"\n[session.limits]\nmax_events = 64\n\
             [host]\nlisten = \"127.0.0.1:3270\"\nidle_timeout = \"90s\"\n",
        )
        .unwrap();
        assert_eq!(g.session.model, Model::Model4);
        assert_eq!(g.session.lu.as_deref(), Some("LU01"));
        assert_eq!(g.session.limits.max_events, 64);
        assert_eq!(g.host.listen.port(), 3270);
        assert_eq!(g.host.idle_timeout, Duration::from_secs(90));
        let g = gateway("[session]\nmodel = { rows = 32, cols = 100 }\n").unwrap();
        assert_eq!(
            g.session.model,
            Model::Custom {
                rows: 32,
                cols: 100
            }
        );
        let e = gateway("[session]\nmodel = 7\n").unwrap_err();
        assert!(e.to_string().contains("a model is 2, 3, 4 or 5"), "{e}");
    }

    #[test]
    fn defaults_round_trip_through_toml() {
        let session = SessionConfig {
            lu: Some("LU02".into()),
            model: Model::Custom {
                rows: 27,
                cols: 132,
            },
            ..SessionConfig::default()
        };
        let text = toml::to_string(&session).unwrap();
        assert_eq!(
            toml::from_str::<SessionConfig>(&text).unwrap(),
            session,
            "{text}"
        );
        let host = HostConfig::default();
        let text = toml::to_string(&host).unwrap();
        let back: HostConfig = toml::from_str(&text).unwrap();
        assert_eq!(
            (back.listen, back.idle_timeout, back.max_pending_input),
            (host.listen, host.idle_timeout, host.max_pending_input),
            "{text}"
        );
    }

    #[test]
    fn a_record_limit_above_the_pending_input_limit_names_both() {
        let e =
            gateway("[host]\nmax_record_len = 200000\nmax_pending_input = 131072\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "gateway.toml:3: host.max_pending_input = 131072 conflicts with host.max_record_len = 200000: max_pending_input must be at least max_record_len"
        );
    }
}
