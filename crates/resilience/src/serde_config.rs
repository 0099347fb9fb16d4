//! How the configuration structs read and write as TOML or JSON.
//!
//! Durations are strings with a unit (`"250ms"`, `"2s"`, `"1.5s"`,
//! `"5m"`, `"1h"`, `"100us"`) or integers of milliseconds; they are written
//! in the largest unit that holds them exactly. A backoff is one flat table
//! (`{ kind = "exponential", factor = 2.0, initial = "100ms", max_delay =
//! "10s", jitter = "full" }`), a breaker window too (`{ kind = "count",
//! size = 100 }` or `{ kind = "time", length = "60s", buckets = 60 }`).
//! Every struct refuses unknown fields, so a misspelt key is an error, not
//! a silently ignored setting.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::backoff::{Backoff, BackoffKind, Jitter};
use crate::breaker::WindowKind;

/// Parses `"250ms"`, `"2s"`, `"1.5s"`, `"5m"`, `"1h"`, `"100us"`, `"10ns"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("duration {s:?} has no unit (ms, s, m, h, us, ns)"))?;
    let (number, unit) = s.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("duration {s:?}: {number:?} is not a number"))?;
    let secs = match unit.trim() {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "duration {s:?}: unknown unit {other:?} (ms, s, m, h, us, ns)"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("duration {s:?}: {e}"))
}

/// Writes `d` in the largest unit that holds it exactly.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    for (unit, per) in [
        ("h", 3_600_000_000_000u128),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
    ] {
        if ns > 0 && ns.is_multiple_of(per) {
            return format!("{}{unit}", ns / per);
        }
    }
    format!("{ns}ns")
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration: a string with a unit (\"250ms\", \"2s\") or milliseconds")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| E::custom(format!("a duration cannot be negative ({v})")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(v / 1e3).map_err(|e| E::custom(format!("duration {v} ms: {e}")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }
}

/// `#[serde(with = "duration")]` for a `Duration` field.
pub mod duration {
    use super::*;

    /// Writes a duration as a string with its unit.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*d))
    }

    /// Reads a string with a unit, or milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

/// `#[serde(with = "option_duration")]` for an `Option<Duration>` field
/// (absent means `None`).
pub mod option_duration {
    use super::*;

    /// Writes `Some` as a string with its unit (`None` is skipped).
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads a duration (`None` when the field is absent).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        d.deserialize_any(DurationVisitor).map(Some)
    }
}

/// The schedule names a backoff table takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BackoffName {
    Fixed,
    Linear,
    Exponential,
    Fibonacci,
    DecorrelatedJitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JitterName {
    None,
    Full,
    Equal,
}

/// A backoff as one flat table.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackoffTable {
    kind: BackoffName,
    #[serde(with = "duration")]
    initial: Duration,
    #[serde(with = "duration")]
    max_delay: Duration,
    #[serde(default = "no_jitter")]
    jitter: JitterName,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "option_duration"
    )]
    step: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    factor: Option<f64>,
}

fn no_jitter() -> JitterName {
    JitterName::None
}

impl TryFrom<BackoffTable> for Backoff {
    type Error = String;

    fn try_from(t: BackoffTable) -> Result<Self, String> {
        let extra =
            |field: &str, kind: &str| format!("`{field}` does not apply to a {kind} backoff");
        let kind = match t.kind {
            BackoffName::Linear => BackoffKind::Linear {
                step: t.step.ok_or("a linear backoff needs `step`")?,
            },
            BackoffName::Exponential => BackoffKind::Exponential {
                factor: t.factor.unwrap_or(2.0),
            },
            other => {
                let name = format!("{other:?}").to_lowercase();
                if t.step.is_some() {
                    return Err(extra("step", &name));
                }
                if t.factor.is_some() {
                    return Err(extra("factor", &name));
                }
                match other {
                    BackoffName::Fixed => BackoffKind::Fixed,
                    BackoffName::Fibonacci => BackoffKind::Fibonacci,
                    _ => BackoffKind::DecorrelatedJitter,
                }
            }
        };
        let jitter = match t.jitter {
            JitterName::None => Jitter::None,
            JitterName::Full => Jitter::Full,
            JitterName::Equal => Jitter::Equal,
        };
        Ok(Backoff {
            kind,
            initial: t.initial,
            max_delay: t.max_delay,
            jitter,
        })
    }
}

impl From<Backoff> for BackoffTable {
    fn from(b: Backoff) -> Self {
        let (kind, step, factor) = match b.kind {
            BackoffKind::Fixed => (BackoffName::Fixed, None, None),
            BackoffKind::Linear { step } => (BackoffName::Linear, Some(step), None),
            BackoffKind::Exponential { factor } => (BackoffName::Exponential, None, Some(factor)),
            BackoffKind::Fibonacci => (BackoffName::Fibonacci, None, None),
            BackoffKind::DecorrelatedJitter => (BackoffName::DecorrelatedJitter, None, None),
        };
        let jitter = match b.jitter {
            Jitter::None => JitterName::None,
            Jitter::Full => JitterName::Full,
            Jitter::Equal => JitterName::Equal,
        };
        Self {
            kind,
            initial: b.initial,
            max_delay: b.max_delay,
            jitter,
            step,
            factor,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WindowName {
    Count,
    Time,
}

/// A breaker window as one flat table.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowTable {
    kind: WindowName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "option_duration"
    )]
    length: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    buckets: Option<u32>,
}

impl TryFrom<WindowTable> for WindowKind {
    type Error = String;

    fn try_from(t: WindowTable) -> Result<Self, String> {
        match t.kind {
            WindowName::Count => {
                if t.length.is_some() || t.buckets.is_some() {
                    return Err("a count window takes `size` only".into());
                }
                Ok(WindowKind::Count {
                    size: t.size.ok_or("a count window needs `size`")?,
                })
            }
            WindowName::Time => {
                if t.size.is_some() {
                    return Err("a time window takes `length` and `buckets`, not `size`".into());
                }
                Ok(WindowKind::Time {
                    length: t.length.ok_or("a time window needs `length`")?,
                    buckets: t.buckets.ok_or("a time window needs `buckets`")?,
                })
            }
        }
    }
}

impl From<WindowKind> for WindowTable {
    fn from(w: WindowKind) -> Self {
        match w {
            WindowKind::Count { size } => Self {
                kind: WindowName::Count,
                size: Some(size),
                length: None,
                buckets: None,
            },
            WindowKind::Time { length, buckets } => Self {
                kind: WindowName::Time,
                size: None,
                length: Some(length),
                buckets: Some(buckets),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_units_or_as_milliseconds_and_write_exactly() {
        for (text, d) in [
            ("250ms", Duration::from_millis(250)),
            ("2s", Duration::from_secs(2)),
            ("1.5s", Duration::from_millis(1500)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            ("100us", Duration::from_micros(100)),
        ] {
            assert_eq!(parse_duration(text), Ok(d), "{text}");
            assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{text}");
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(
            parse_duration("10 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
    }
}
