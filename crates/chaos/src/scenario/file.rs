//! Scenario files: TOML in, [`Scenario`] out, or an error that names the
//! file, line, column and field with a "did you mean" suggestion.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::tables::{
    FieldError, RawLoad, RawResource, RawTargetAction, load, resource, target_action,
};
use super::{FaultSpec, Scenario, ScenarioSla, WorkloadParams, suggest};
use crate::toxic::Toxic;

/// Every toxic `type` a scenario file may name.
pub const TOXIC_TYPES: &[&str] = &[
    "noop",
    "latency",
    "delay",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_time",
    "limit_data",
    "loss",
    "gilbert_loss",
    "corrupt",
    "duplicate",
    "reorder",
    "partial",
    "zero_write",
    "half_open",
    "inject",
    "truncate_record",
];

/// Attributes every toxic accepts (its arming condition).
const CONDITION_ATTRIBUTES: &[&str] = &[
    "after_bytes",
    "after_reads",
    "after_connections",
    "first_connections",
    "match",
    "probability_per_chunk",
    "start",
    "active",
    "period",
    "duration",
];

/// Largest scenario file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// A scenario file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// 1-based column (0: the whole line).
    pub column: usize,
    /// The key or field at fault, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The likely meant key or value.
    pub suggestion: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean `{s}`?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    category: String,
    description: String,
    #[serde(default)]
    expected: String,
    #[serde(default = "default_baseline_ms")]
    baseline_ms: u64,
    #[serde(default = "default_recovery_ms")]
    recovery_ms: u64,
    #[serde(default)]
    workload: RawWorkload,
    #[serde(default)]
    sla: RawSla,
    #[serde(default)]
    fault: Vec<RawFault>,
}

fn default_baseline_ms() -> u64 {
    1_500
}

fn default_recovery_ms() -> u64 {
    2_500
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    clients: Option<u64>,
    think_time_ms: Option<u64>,
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSla {
    max_error_rate_during: Option<f64>,
    max_error_rate_after: Option<f64>,
    max_recovery_ms: Option<u64>,
    max_p99_ms: Option<u64>,
    stable_successes: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    name: Spanned<String>,
    link: Option<String>,
    #[serde(default)]
    start_ms: u64,
    duration_ms: u64,
    #[serde(default)]
    toxic: Vec<RawToxic>,
    #[serde(default)]
    resource: Vec<RawResource>,
    #[serde(default)]
    target: Vec<RawTargetAction>,
    #[serde(default)]
    load: Vec<RawLoad>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToxic {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    name: Option<String>,
    stream: Option<Spanned<String>>,
    toxicity: Option<f64>,
    attributes: Option<Spanned<toml::Table>>,
}

/// Reads and parses the scenario file at `path`.
///
/// # Errors
///
/// A [`ScenarioError`] when it cannot be read (line 0) or is not a valid
/// scenario.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let whole = |message: String| ScenarioError {
        file: file.clone(),
        line: 0,
        column: 0,
        field: None,
        message,
        suggestion: None,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| whole(e.to_string()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(whole(format!("larger than {MAX_FILE_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| whole(e.to_string()))?;
    parse(&file, &text)
}

/// Parses scenario TOML `text`; `file` names it in errors.
///
/// # Errors
///
/// A [`ScenarioError`] for a syntax error, an unknown or missing key, a
/// value of the wrong type, an unknown toxic type or attribute, a bad
/// attribute value, or a timeline that is empty or names a fault twice.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let at = Locator { file, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| at.de_error(&e))?;
    let mut timeline = Vec::with_capacity(raw.fault.len());
    for f in raw.fault {
        timeline.push(fault(&at, f, &timeline)?);
    }
    if timeline.is_empty() {
        return Err(at.error(
            0..0,
            Some("fault"),
            "a scenario needs at least one [[fault]]".into(),
            None,
        ));
    }
    let defaults = ScenarioSla::default();
    let sla = ScenarioSla {
        max_error_rate_during: raw.sla.max_error_rate_during,
        max_error_rate_after: raw
            .sla
            .max_error_rate_after
            .unwrap_or(defaults.max_error_rate_after),
        max_recovery: raw
            .sla
            .max_recovery_ms
            .map_or(defaults.max_recovery, Duration::from_millis),
        max_p99: raw
            .sla
            .max_p99_ms
            .map(Duration::from_millis)
            .or(defaults.max_p99),
        stable_successes: raw
            .sla
            .stable_successes
            .unwrap_or(defaults.stable_successes)
            .max(1),
    };
    let settings = raw.workload.settings.into_iter().map(|(k, v)| {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        (k, text)
    });
    Ok(Scenario {
        name: raw.name,
        category: raw.category,
        description: raw.description,
        expected: raw.expected,
        baseline: Duration::from_millis(raw.baseline_ms),
        timeline,
        recovery: Duration::from_millis(raw.recovery_ms),
        workload: WorkloadParams {
            clients: raw.workload.clients,
            think_time: raw.workload.think_time_ms.map(Duration::from_millis),
            settings: settings.collect(),
        },
        sla,
    })
}

fn fault(
    at: &Locator<'_>,
    raw: RawFault,
    before: &[FaultSpec],
) -> Result<FaultSpec, ScenarioError> {
    let span = raw.name.span();
    let name = raw.name.into_inner();
    if before.iter().any(|f| f.name == name) {
        return Err(at.error(
            span,
            Some("name"),
            format!("fault `{name}` is named twice"),
            None,
        ));
    }
    if raw.toxic.is_empty()
        && raw.resource.is_empty()
        && raw.target.is_empty()
        && raw.load.is_empty()
    {
        let msg = format!(
            "fault `{name}` has no [[fault.toxic]], [[fault.resource]], [[fault.target]] or [[fault.load]]"
        );
        return Err(at.error(span, Some("toxic"), msg, None));
    }
    let mut toxics: Vec<Toxic> = Vec::with_capacity(raw.toxic.len());
    for t in raw.toxic {
        let toxic = toxic(at, t)?;
        // Toxic names are unique per proxy: prefix them with the fault's.
        let full = format!("{name}.{}", toxic.name);
        let toxic = toxic.name(full);
        if toxics.iter().any(|t| t.name == toxic.name) {
            let msg = format!(
                "two toxics of fault `{name}` are called `{}`; give one a `name`",
                toxic.name
            );
            return Err(at.error(span.clone(), Some("toxic"), msg, None));
        }
        toxics.push(toxic);
    }
    let bad = |(field, msg): FieldError| {
        at.error(
            span.clone(),
            Some(field),
            format!("fault `{name}`: {msg}"),
            None,
        )
    };
    let resources = validated(raw.resource, resource, &bad)?;
    let targets = validated(raw.target, target_action, &bad)?;
    let loads = validated(raw.load, load, &bad)?;
    Ok(FaultSpec {
        name,
        link: raw.link,
        start: Duration::from_millis(raw.start_ms),
        duration: Duration::from_millis(raw.duration_ms),
        toxics,
        resources,
        targets,
        loads,
    })
}

/// Validates each raw table with `check`, the first bad one an error.
fn validated<R, T>(
    raw: Vec<R>,
    check: fn(R) -> Result<T, FieldError>,
    error: &dyn Fn(FieldError) -> ScenarioError,
) -> Result<Vec<T>, ScenarioError> {
    raw.into_iter().map(|r| check(r).map_err(error)).collect()
}

fn toxic(at: &Locator<'_>, raw: RawToxic) -> Result<Toxic, ScenarioError> {
    let kind = raw.kind.get_ref();
    if !TOXIC_TYPES.contains(&kind.as_str()) {
        let hint = suggest(kind, TOXIC_TYPES.iter().copied()).map(str::to_owned);
        return Err(at.error(
            raw.kind.span(),
            Some("type"),
            format!("unknown toxic type `{kind}`"),
            hint,
        ));
    }
    let mut obj = serde_json::Map::new();
    obj.insert("type".into(), kind.as_str().into());
    if let Some(name) = &raw.name {
        obj.insert("name".into(), name.as_str().into());
    }
    if let Some(stream) = &raw.stream {
        let s = stream.get_ref();
        if s != "upstream" && s != "downstream" {
            let hint = suggest(s, ["upstream", "downstream"]).map(str::to_owned);
            let msg = format!("stream must be `upstream` or `downstream`, not `{s}`");
            return Err(at.error(stream.span(), Some("stream"), msg, hint));
        }
        obj.insert("stream".into(), s.as_str().into());
    }
    if let Some(t) = raw.toxicity {
        obj.insert("toxicity".into(), t.into());
    }
    let (attrs, span) = match raw.attributes {
        Some(a) => (a.get_ref().clone(), a.span()),
        None => (toml::Table::new(), raw.kind.span()),
    };
    let known = known_attributes(kind);
    for key in attrs.keys() {
        if !known.iter().any(|k| k == key) {
            let hint = suggest(key, known.iter().map(String::as_str)).map(str::to_owned);
            let msg = format!("`{kind}` has no attribute `{key}`");
            return Err(at.error(span.clone(), Some(key), msg, hint));
        }
    }
    let attrs = serde_json::to_value(&attrs)
        .map_err(|e| at.error(span.clone(), Some("attributes"), e.to_string(), None))?;
    obj.insert("attributes".into(), attrs);
    Toxic::from_json_value(&serde_json::Value::Object(obj))
        .map_err(|e| at.error(span, Some("attributes"), e.to_string(), None))
}

/// The attribute names a toxic of type `kind` understands.
fn known_attributes(kind: &str) -> Vec<String> {
    let mut known: Vec<String> = CONDITION_ATTRIBUTES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    known.extend(
        match kind {
            "latency" => &["latency", "jitter"][..],
            "delay" => &["latency", "jitter", "distribution"],
            "bandwidth" => &["rate"],
            "slow_close" => &["delay"],
            "timeout" | "reset_peer" => &["timeout"],
            "slicer" => &["average_size", "size_variation", "delay"],
            "limit_data" => &["bytes"],
            "limit_time" => &["time"],
            "loss" => &["probability", "retransmit", "drop"],
            "gilbert_loss" => &["p", "r", "loss_good", "loss_bad", "retransmit", "drop"],
            "corrupt" => &["rate"],
            "duplicate" | "zero_write" => &["probability"],
            "reorder" => &["window", "gap"],
            "partial" => &["max_op_size"],
            "inject" => &["hex", "position", "every", "repeat"],
            "truncate_record" => &["keep", "every"],
            _ => &[],
        }
        .iter()
        .map(|s| (*s).to_owned()),
    );
    known
}

/// Turns byte spans of one file into line/column errors.
struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn error(
        &self,
        span: Range<usize>,
        field: Option<&str>,
        message: String,
        suggestion: Option<String>,
    ) -> ScenarioError {
        let (line, column) = if span == (0..0) {
            (0, 0)
        } else {
            self.line_col(span.start)
        };
        ScenarioError {
            file: self.file.to_owned(),
            line,
            column,
            field: field.map(str::to_owned),
            message,
            suggestion,
        }
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = self
            .text
            .get(..offset.min(self.text.len()))
            .unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        (line, column)
    }

    /// The key on the line where `offset` is (`key = value`), if any.
    fn key_at(&self, offset: usize) -> Option<String> {
        let start = self.text.get(..offset)?.rfind('\n').map_or(0, |nl| nl + 1);
        let line = self.text.get(start..)?.lines().next()?;
        let (key, _) = line.split_once('=')?;
        let key = key.trim().trim_matches('"');
        (!key.is_empty() && !key.contains(' ')).then(|| key.to_owned())
    }

    /// A deserializer error with its span, field and suggestion.
    fn de_error(&self, e: &toml::de::Error) -> ScenarioError {
        let message = e.message().trim().to_owned();
        let span = e.span().unwrap_or(0..0);
        let (field, suggestion) = field_and_suggestion(&message);
        let field = field.or_else(|| self.key_at(span.start));
        let mut err = self.error(span, None, message, suggestion);
        if err.line == 0 && field.is_some() {
            // serde reports a missing field on the whole table: line 1.
            (err.line, err.column) = (1, 1);
        }
        err.field = field;
        err
    }
}

/// From serde's "unknown field `x`, expected one of `a`, `b`" (or
/// "missing field `x`"): the field and, for an unknown one, the closest
/// expected name.
fn field_and_suggestion(message: &str) -> (Option<String>, Option<String>) {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let Some(first) = ticked.first() else {
        return (None, None);
    };
    if message.starts_with("unknown field") {
        let hint = suggest(first, ticked[1..].iter().copied()).map(str::to_owned);
        (Some((*first).to_owned()), hint)
    } else if message.starts_with("missing field") {
        (Some((*first).to_owned()), None)
    } else {
        (None, None)
    }
}
