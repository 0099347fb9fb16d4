//! The log subscriber every ballast binary installs.
//!
//! Events go to standard error (standard output stays for results), as
//! text or as JSON lines (`timestamp`, `level`, `target`, `fields`, the
//! current `span` and the list of `spans` it is in, so one log can be
//! followed per session, connection or scenario). What is logged comes
//! from `RUST_LOG` (`info`, `ballast_chaos=debug,warn`, …), else from the
//! binary's own fallback (Toxiproxy's `LOG_LEVEL` for `ballast-proxy`),
//! else from the binary's default. The format comes from `--log-format`
//! where a binary has the flag, else `BALLAST_LOG_FORMAT`, else text.
//!
//! ```no_run
//! use ballast_chaos::logging::{self, LogFormat};
//! logging::init(LogFormat::from_env(), "info").expect("no other subscriber");
//! tracing::info!(port = 8474, "listening");
//! ```

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event.
    Json,
}

impl LogFormat {
    /// `BALLAST_LOG_FORMAT` (`text` or `json`), text when unset or unknown.
    pub fn from_env() -> Self {
        std::env::var("BALLAST_LOG_FORMAT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log format {other:?}: text or json")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// Why the subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `RUST_LOG` (or the fallback) is not a valid filter.
    #[error("log filter {filter:?}: {reason}")]
    Filter {
        /// The filter as given.
        filter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another subscriber is already installed in this process.
    #[error("a log subscriber is already installed")]
    AlreadySet,
}

/// Takes `--log-format X` (or `--log-format=X`) out of `args`, for tools
/// whose own parsers should not see it; the format is
/// [`LogFormat::from_env`] when the flag is absent.
///
/// # Errors
///
/// A message for a missing or unknown format.
pub fn take_log_format(
    args: impl IntoIterator<Item = String>,
) -> Result<(Vec<String>, LogFormat), String> {
    let mut rest = Vec::new();
    let mut format = None;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        if a == "--log-format" {
            let v = args.next().ok_or("--log-format needs text or json")?;
            format = Some(v.parse()?);
        } else if let Some(v) = a.strip_prefix("--log-format=") {
            format = Some(v.parse()?);
        } else {
            rest.push(a);
        }
    }
    Ok((rest, format.unwrap_or_else(LogFormat::from_env)))
}

ballast_error::catalog! {
    LogError => pub(crate) CATALOG {
        Filter { .. } => "BLST-LOG-001", Caller,
            "RUST_LOG (or LOG_LEVEL) is not a valid filter",
            "Use tracing's filter syntax: a level (`info`), or `target=level` pairs separated by commas.";
        AlreadySet => "BLST-LOG-002", Caller,
            "a log subscriber is already installed",
            "Install one subscriber per process, before any other code does.";
    }
}

/// The filter directives: `RUST_LOG` when set, else `fallback`, else
/// `default`.
pub fn directives(fallback: Option<String>, default: &str) -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or(fallback)
        .unwrap_or_else(|| default.to_string())
}

/// Toxiproxy's `LOG_LEVEL` (`trace` … `fatal`, `panic`) as a filter
/// directive, for `ballast-proxy`.
pub fn toxiproxy_log_level() -> Option<String> {
    let level = std::env::var("LOG_LEVEL").ok()?;
    Some(
        match level.to_ascii_lowercase().as_str() {
            "fatal" | "panic" => "error",
            "warning" => "warn",
            other => return Some(other.to_string()),
        }
        .to_string(),
    )
}

fn filter(directives: &str) -> Result<EnvFilter, LogError> {
    EnvFilter::try_new(directives).map_err(|e| LogError::Filter {
        filter: directives.to_string(),
        reason: e.to_string(),
    })
}

/// Installs the subscriber for this process, writing to standard error.
///
/// # Errors
///
/// [`LogError::Filter`] for a bad `RUST_LOG`, [`LogError::AlreadySet`] when
/// a subscriber is already installed.
pub fn init(format: LogFormat, default: &str) -> Result<(), LogError> {
    init_with(format, &directives(None, default), std::io::stderr)
}

/// Installs the subscriber with explicit `directives`, writing to
/// `writer` (tests capture logs with a [`Captured`]).
///
/// # Errors
///
/// As [`init`].
pub fn init_with<W>(format: LogFormat, directives: &str, writer: W) -> Result<(), LogError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(directives)?)
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE)
        .with_target(true);
    let installed = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    installed.map_err(|_| LogError::AlreadySet)
}

/// Like [`init_with`], but for the current thread only and until the
/// returned guard drops: what a test uses to capture one scope's logs.
///
/// # Errors
///
/// [`LogError::Filter`] for bad `directives`.
pub fn scoped<W>(
    format: LogFormat,
    directives: &str,
    writer: W,
) -> Result<tracing::subscriber::DefaultGuard, LogError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(directives)?)
        .with_writer(writer)
        .with_target(true);
    Ok(match format {
        LogFormat::Text => tracing::subscriber::set_default(builder.with_ansi(false).finish()),
        LogFormat::Json => tracing::subscriber::set_default(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .finish(),
        ),
    })
}

/// A log sink in memory, for tests: every line written, in order.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_level_target_fields_and_spans() {
        let sink = Captured::new();
        let guard = scoped(LogFormat::Json, "debug", sink.clone()).unwrap();
        let span = tracing::info_span!("connection", proxy = "db", client = "127.0.0.1:5000");
        span.in_scope(|| tracing::info!(bytes = 42, "forwarded"));
        tracing::debug!("outside");
        drop(guard);
        let lines: Vec<serde_json::Value> = sink
            .text()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 2, "{}", sink.text());
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], "ballast_chaos::logging::tests");
        assert_eq!(first["fields"]["message"], "forwarded");
        assert_eq!(first["fields"]["bytes"], 42);
        assert_eq!(first["span"]["name"], "connection");
        assert_eq!(first["span"]["proxy"], "db");
        assert_eq!(first["spans"][0]["client"], "127.0.0.1:5000");
        assert!(first["timestamp"].is_string());
        assert!(lines[1].get("span").is_none(), "no span outside one");
    }

    #[test]
    fn filters_follow_rust_log_syntax_and_a_bad_one_is_an_error() {
        let sink = Captured::new();
        let guard = scoped(
            LogFormat::Text,
            "warn,ballast_chaos::logging=debug",
            sink.clone(),
        )
        .unwrap();
        tracing::debug!("kept");
        tracing::trace!("dropped");
        drop(guard);
        let text = sink.text();
        assert!(text.contains("kept") && !text.contains("dropped"), "{text}");
        assert!(matches!(
            scoped(LogFormat::Text, "info,[", Captured::new()),
            Err(LogError::Filter { .. })
        ));
    }

    #[test]
    fn the_flag_is_taken_out_of_the_arguments() {
        let args = ["suite", "chaos", "--log-format", "json", "--quick"].map(String::from);
        let (rest, format) = take_log_format(args).unwrap();
        assert_eq!(rest, ["suite", "chaos", "--quick"]);
        assert_eq!(format, LogFormat::Json);
        let (rest, format) = take_log_format(["x", "--log-format=text"].map(String::from)).unwrap();
        assert_eq!((rest.len(), format), (1, LogFormat::Text));
        assert!(take_log_format(["x", "--log-format"].map(String::from)).is_err());
        assert!(take_log_format(["x", "--log-format", "xml"].map(String::from)).is_err());
    }

    #[test]
    fn formats_parse_by_name() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
