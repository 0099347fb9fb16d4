//! Configuration from files and the environment, validated in one place.
//!
//! [`load`] reads a TOML or JSON file (by its extension) into any
//! `Deserialize` settings type — the resilience configs are, and a
//! service's own struct of them is — applies `PREFIX_…` environment
//! overrides (`BALLAST_RETRY__MAX_ATTEMPTS=5` sets `retry.max_attempts`;
//! `__` separates levels), then runs its [`Validate::check`] (implemented
//! here for every resilience config, conflicts named as such). Every error says
//! where the bad setting came from (the file and line, or the variable),
//! the field path, the value, the rule it breaks, and for a misspelt key
//! the key it probably meant; two settings that conflict are named
//! together.
//!
//! ```
//! # #[cfg(feature = "resilience")] {
//! use ballast::config::{self, Format, Validate};
//! use ballast::resilience::{PoolConfig, RetryConfig};
//!
//! #[derive(Debug, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     retry: RetryConfig,
//!     pool: PoolConfig,
//! }
//!
//! impl Validate for Settings {
//!     fn check(&self) -> Result<(), config::Invalid> {
//!         self.retry.check().map_err(|e| e.within("retry"))?;
//!         self.pool.check().map_err(|e| e.within("pool"))
//!     }
//! }
//!
//! let text = "[retry]\nmax_attempts = 3\n[pool]\nmax_size = 4\nmin_idle = 8\n";
//! let e = config::from_text::<Settings>(text, Format::Toml, "app.toml", "APP", &[]).unwrap_err();
//! assert_eq!(
//!     e.to_string(),
//!     "app.toml:5: pool.min_idle = 8 conflicts with pool.max_size = 4: min_idle must not exceed max_size"
//! );
//! # }
//! ```

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A configuration file's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (`.toml`).
    Toml,
    /// JSON (`.json`).
    Json,
}

/// A setting that breaks a rule, found by [`Validate`].
#[derive(Debug, Clone, PartialEq)]
pub enum Invalid {
    /// One field's value is out of its range.
    Field {
        /// Dotted path (`retry.max_attempts`).
        path: String,
        /// The rule it breaks.
        rule: String,
    },
    /// Two fields conflict.
    Conflict {
        /// The field reported first.
        first: String,
        /// The field it conflicts with.
        second: String,
        /// The rule they break together.
        rule: String,
    },
}

impl Invalid {
    /// One field's problem.
    pub fn field(path: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Field {
            path: path.into(),
            rule: rule.into(),
        }
    }

    /// Two fields' conflict.
    pub fn conflict(
        first: impl Into<String>,
        second: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Self::Conflict {
            first: first.into(),
            second: second.into(),
            rule: rule.into(),
        }
    }

    /// The same problem, with its paths under `prefix` (`pool` turns
    /// `min_idle` into `pool.min_idle`).
    pub fn within(self, prefix: &str) -> Self {
        let under = |p: String| format!("{prefix}.{p}");
        match self {
            Self::Field { path, rule } => Self::Field {
                path: under(path),
                rule,
            },
            Self::Conflict {
                first,
                second,
                rule,
            } => Self::Conflict {
                first: under(first),
                second: under(second),
                rule,
            },
        }
    }
}

/// The checks a settings type makes after it is read (`check`, so it does
/// not hide a type's own `validate`).
pub trait Validate {
    /// `Ok` when every setting is within its range and none conflict.
    fn check(&self) -> Result<(), Invalid>;
}

/// A crate's own `(field, reason)` as an [`Invalid`]: a reason that ends
/// in another field's name ("must not exceed `max_size`", "must be at
/// least `max_record_len`") names both.
#[cfg(any(feature = "resilience", feature = "session"))]
fn from_rule(field: &str, reason: &str) -> Invalid {
    let other = ["must not exceed ", "must be at least ", "must be at most "]
        .iter()
        .find_map(|p| reason.strip_prefix(p))
        .filter(|o| !o.is_empty() && o.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    match other {
        Some(other) => Invalid::conflict(field, other, format!("{field} {reason}")),
        None => Invalid::field(field, reason),
    }
}

#[cfg(feature = "resilience")]
fn from_resilience(e: ballast_resilience::ConfigError) -> Invalid {
    from_rule(e.field, e.reason)
}

#[cfg(feature = "session")]
fn from_session(e: ballast_session::Error) -> Invalid {
    match e {
        ballast_session::Error::Config { field, reason } => from_rule(field, reason),
        other => Invalid::field("", other.to_string()),
    }
}

#[cfg(feature = "session")]
impl Validate for ballast_session::SessionConfig {
    fn check(&self) -> Result<(), Invalid> {
        self.validate().map_err(from_session)
    }
}

#[cfg(feature = "host")]
impl Validate for ballast_session::host::HostConfig {
    fn check(&self) -> Result<(), Invalid> {
        self.validate().map_err(from_session)
    }
}

#[cfg(feature = "resilience")]
macro_rules! validated_by_itself {
    ($($ty:ty),+) => {$(
        impl Validate for $ty {
            fn check(&self) -> Result<(), Invalid> {
                self.validate().map_err(from_resilience)
            }
        }
    )+};
}

#[cfg(feature = "resilience")]
validated_by_itself!(
    ballast_resilience::BreakerConfig,
    ballast_resilience::RetryConfig,
    ballast_resilience::BulkheadConfig,
    ballast_resilience::RateLimiterConfig,
    ballast_resilience::ShutdownConfig,
    ballast_resilience::PoolConfig
);

/// What is wrong with a configuration, and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or JSON.
    #[error("{at}: {message}")]
    Syntax {
        /// `file:line`.
        at: String,
        /// What the parser says.
        message: String,
    },
    /// A setting is unknown, of the wrong type, or out of range.
    #[error("{0}")]
    Field(Box<FieldError>),
    /// Two settings conflict.
    #[error("{0}")]
    Conflict(Box<Conflict>),
}

/// A setting that is unknown, of the wrong type, or out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `file:line`, or `environment variable NAME`.
    pub at: String,
    /// Dotted path of the field.
    pub path: String,
    /// The value given, when known.
    pub value: Option<String>,
    /// The rule it breaks.
    pub rule: String,
    /// For an unknown key: the known key closest to it.
    pub suggestion: Option<String>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.path)?;
        if let Some(v) = &self.value {
            write!(f, " = {v}")?;
        }
        write!(f, ": {}", self.rule)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

/// Two settings that conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Where the first one was set.
    pub at: String,
    /// Its dotted path.
    pub first: String,
    /// Its value.
    pub first_value: Option<String>,
    /// The other one's path.
    pub second: String,
    /// Its value.
    pub second_value: Option<String>,
    /// The rule they break together.
    pub rule: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = |v: &Option<String>| v.as_ref().map_or(String::new(), |v| format!(" = {v}"));
        write!(
            f,
            "{}: {}{} conflicts with {}{}: {}",
            self.at,
            self.first,
            value(&self.first_value),
            self.second,
            value(&self.second_value),
            self.rule
        )
    }
}

ballast_error::catalog! {
    ConfigError => pub(crate) CATALOG {
        Read { .. } => "BLST-CONFIG-001", Caller,
            "the configuration file could not be read",
            "Check the path and its permissions.";
        Syntax { .. } => "BLST-CONFIG-002", Caller,
            "the configuration file is not valid TOML or JSON",
            "Fix the line the message names.";
        Field(_) => "BLST-CONFIG-003", Caller,
            "a setting is unknown, of the wrong type, or out of range",
            "Fix the setting at the file line or environment variable named; for an unknown key, use the suggested one.";
        Conflict(_) => "BLST-CONFIG-004", Caller,
            "two settings conflict",
            "Change one of the two settings named so that the rule holds.";
    }
}

/// The error catalog of [`ConfigError`].
pub fn error_catalog() -> &'static [ballast_error::CatalogEntry] {
    CATALOG
}

/// Reads `path` (TOML or JSON, by extension), applies `PREFIX_…`
/// environment overrides and validates.
///
/// # Errors
///
/// A [`ConfigError`] naming the source, field, value and rule.
pub fn load<T: DeserializeOwned + Validate>(
    path: impl AsRef<Path>,
    env_prefix: &str,
) -> Result<T, ConfigError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        _ => Format::Toml,
    };
    let env: Vec<(String, String)> = std::env::vars().collect();
    from_text(&text, format, &path.display().to_string(), env_prefix, &env)
}

/// Like [`load`], from `text` (named `origin` in errors) and the
/// environment `env` as (name, value) pairs.
///
/// # Errors
///
/// As [`load`].
pub fn from_text<T: DeserializeOwned + Validate>(
    text: &str,
    format: Format,
    origin: &str,
    env_prefix: &str,
    env: &[(String, String)],
) -> Result<T, ConfigError> {
    let file = File {
        text,
        format,
        origin,
    };
    // First the file alone, so its errors carry line numbers.
    let mut tree = file.tree()?;
    let _: T = file.typed()?;
    let overrides = apply_env(&mut tree, env_prefix, env);
    let settings: T = serde_path_to_error::deserialize(&tree).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let var = overrides
            .iter()
            .find(|o| path.starts_with(&o.path) || o.path.starts_with(&path));
        field_error(
            var.map_or(origin.to_string(), |o| {
                format!("environment variable {}", o.var)
            }),
            path,
            var.map(|o| o.value.clone()),
            &message,
        )
    })?;
    settings.check().map_err(|invalid| {
        let at = |p: &str| {
            overrides.iter().find(|o| o.path == p).map_or_else(
                || file.at_key(p),
                |o| format!("environment variable {}", o.var),
            )
        };
        match invalid {
            Invalid::Field { path, rule } => ConfigError::Field(Box::new(FieldError {
                at: at(&path),
                value: lookup(&tree, &path),
                path,
                rule,
                suggestion: None,
            })),
            Invalid::Conflict {
                first,
                second,
                rule,
            } => ConfigError::Conflict(Box::new(Conflict {
                at: at(&first),
                first_value: lookup(&tree, &first),
                second_value: lookup(&tree, &second),
                first,
                second,
                rule,
            })),
        }
    })?;
    Ok(settings)
}

struct File<'a> {
    text: &'a str,
    format: Format,
    origin: &'a str,
}

impl File<'_> {
    fn line_of(&self, offset: usize) -> String {
        let line = self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1;
        format!("{}:{line}", self.origin)
    }

    fn tree(&self) -> Result<Value, ConfigError> {
        match self.format {
            Format::Toml => toml::from_str::<Value>(self.text).map_err(|e| ConfigError::Syntax {
                at: self.line_of(e.span().map_or(0, |s| s.start)),
                message: e.message().to_string(),
            }),
            Format::Json => serde_json::from_str(self.text).map_err(|e| ConfigError::Syntax {
                at: format!("{}:{}", self.origin, e.line()),
                message: e.to_string(),
            }),
        }
    }

    /// The file as `T`, for errors with the file's line numbers.
    fn typed<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        match self.format {
            Format::Toml => {
                let de = toml::Deserializer::parse(self.text).map_err(|e| ConfigError::Syntax {
                    at: self.line_of(e.span().map_or(0, |s| s.start)),
                    message: e.message().to_string(),
                })?;
                serde_path_to_error::deserialize(de).map_err(|e| {
                    let at = self.line_of(e.inner().span().map_or(0, |s| s.start));
                    let path = e.path().to_string();
                    field_error(at, path, None, e.inner().message())
                })
            }
            Format::Json => {
                let mut de = serde_json::Deserializer::from_str(self.text);
                serde_path_to_error::deserialize(&mut de).map_err(|e| {
                    let at = format!("{}:{}", self.origin, e.inner().line());
                    let path = e.path().to_string();
                    let message = e.inner().to_string();
                    let message = message
                        .split(" at line ")
                        .next()
                        .unwrap_or(&message)
                        .to_string();
                    field_error(at, path, None, &message)
                })
            }
        }
    }

    /// `file:line` of the key a dotted path ends in (the file alone when it
    /// is not found).
    fn at_key(&self, path: &str) -> String {
        let key = path.rsplit('.').next().unwrap_or(path);
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let t = line.trim_start();
            let hit = match self.format {
                Format::Toml => t
                    .strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('=')),
                Format::Json => t.starts_with(&format!("\"{key}\"")),
            };
            if hit {
                return self.line_of(offset);
            }
            offset += line.len();
        }
        self.origin.to_string()
    }
}

/// A setting that came from the environment.
struct Override {
    var: String,
    path: String,
    value: String,
}

/// Sets `PREFIX_A__B=v` at `a.b` in `tree`; values read as JSON scalars
/// (numbers, booleans) when they parse, as strings otherwise.
fn apply_env(tree: &mut Value, prefix: &str, env: &[(String, String)]) -> Vec<Override> {
    let mut applied = Vec::new();
    let start = format!("{prefix}_");
    for (var, raw) in env {
        let Some(rest) = var.strip_prefix(&start) else {
            continue;
        };
        let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        let value = match serde_json::from_str::<Value>(raw) {
            Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
            _ => Value::String(raw.clone()),
        };
        let mut node = &mut *tree;
        for (i, seg) in segments.iter().enumerate() {
            if !node.is_object() {
                *node = Value::Object(serde_json::Map::new());
            }
            let Value::Object(map) = node else { break };
            if i + 1 == segments.len() {
                map.insert(seg.clone(), value.clone());
                break;
            }
            node = map
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
        applied.push(Override {
            var: var.clone(),
            path: segments.join("."),
            value: raw.clone(),
        });
    }
    applied
}

/// The value at a dotted path, as it would be written.
fn lookup(tree: &Value, path: &str) -> Option<String> {
    let mut node = tree;
    for seg in path.split('.') {
        node = node.get(seg)?;
    }
    Some(match node {
        Value::String(s) => format!("{s:?}"),
        v => v.to_string(),
    })
}

/// A field error from a deserializer's message; for an unknown key, the
/// closest known one.
fn field_error(at: String, path: String, value: Option<String>, message: &str) -> ConfigError {
    let suggestion = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
        .and_then(|rest| {
            let (unknown, expected) = rest.split_once('`')?;
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            closest(unknown, &candidates)
        });
    let (path, rule) = match message.strip_prefix("unknown field `") {
        // The path stops at the table; name the key itself.
        Some(rest) => {
            let key = rest.split('`').next().unwrap_or_default();
            let full = if path.is_empty() || path == "." {
                key.to_string()
            } else if path == key || path.ends_with(&format!(".{key}")) {
                path
            } else {
                format!("{path}.{key}")
            };
            (full, "unknown key".to_string())
        }
        None => (path, message.to_string()),
    };
    ConfigError::Field(Box::new(FieldError {
        at,
        path,
        value,
        rule,
        suggestion: suggestion.map(str::to_string),
    }))
}

/// The candidate closest to `word` by edit distance, if close enough to be
/// a misspelling (at most a third of its length, at least one edit).
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= (word.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to
/// `b`: a swapped pair of letters is one typo, not two.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Toml => "toml",
            Self::Json => "json",
        })
    }
}
