//! The fault model: toxics, their attributes and the conditions that arm them.
//!
//! Attribute names and units follow Toxiproxy exactly for its toxics
//! (`latency` ms, `jitter` ms, `rate` KB/s with 1 KB = 1000 bytes, `delay` ms,
//! `timeout` ms, slicer `delay` µs, `bytes`). Extra faults and conditions are
//! extra types and attributes that Toxiproxy clients pass through untouched.

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

mod protocol;

pub use protocol::{InjectPosition, MAX_EVERY, MAX_INJECT_BYTES, to_hex};

/// Largest time attribute accepted, in milliseconds (one day).
pub const MAX_TIME_MS: u64 = 86_400_000;
/// Largest size attribute accepted (slicer sizes, op sizes), in bytes.
pub const MAX_SIZE_BYTES: u64 = 1 << 30;
/// Longest `match` pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 4096;

/// Which direction of a connection a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Client to upstream server (writes of a [`crate::FaultyStream`]).
    Upstream,
    /// Upstream server to client (reads of a [`crate::FaultyStream`]).
    Downstream,
}

impl Stream {
    /// The Toxiproxy name of the stream.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Downstream => "downstream",
        }
    }
    /// Parses `upstream` / `downstream`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "upstream" => Ok(Self::Upstream),
            "downstream" => Ok(Self::Downstream),
            _ => Err(Error::InvalidStream),
        }
    }
}

/// The shape of a `delay` toxic's variation, as in Linux netem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DelayDistribution {
    /// `uniform`: `latency ± jitter`, every value equally likely.
    Uniform,
    /// `normal`: `latency + jitter · N(0, 1)`, never below zero.
    Normal,
    /// `pareto`: `latency + jitter · (U^(−1/3) − 1)`: never below `latency`,
    /// a heavy tail of rare long delays (Pareto, shape 3).
    Pareto,
}

impl DelayDistribution {
    /// Every distribution, by its attribute value.
    pub const ALL: [(&'static str, Self); 3] = [
        ("uniform", Self::Uniform),
        ("normal", Self::Normal),
        ("pareto", Self::Pareto),
    ];

    /// The attribute value naming it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::Normal => "normal",
            Self::Pareto => "pareto",
        }
    }
}

/// What a toxic does to the bytes of its stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ToxicKind {
    /// Toxiproxy `noop`: passes everything.
    Noop,
    /// Toxiproxy `latency`: each chunk is delayed by `latency ± jitter` ms; never reorders.
    Latency {
        /// Base delay, ms.
        latency_ms: u64,
        /// Uniform jitter either side, ms.
        jitter_ms: u64,
    },
    /// `delay`: each chunk is delayed by `latency` ms varied by `jitter` ms
    /// along a [`DelayDistribution`] (netem's `delay … distribution`);
    /// never reorders.
    Delay {
        /// Base delay, ms.
        latency_ms: u64,
        /// Scale of the variation, ms.
        jitter_ms: u64,
        /// Shape of the variation.
        distribution: DelayDistribution,
    },
    /// Toxiproxy `bandwidth`: at most `rate` KB/s (1 KB = 1000 bytes); 0 = unlimited.
    Bandwidth {
        /// Rate in KB/s.
        rate_kb_per_sec: u64,
    },
    /// Toxiproxy `slow_close`: the close (FIN) is delayed by `delay` ms.
    SlowClose {
        /// Delay, ms.
        delay_ms: u64,
    },
    /// Toxiproxy `timeout`: data is dropped; the connection is closed after
    /// `timeout` ms (0 = never: a black hole).
    Timeout {
        /// Time until close, ms.
        timeout_ms: u64,
    },
    /// Toxiproxy `reset_peer`: the connection is reset (RST) `timeout` ms
    /// after the toxic starts; data passes until then.
    ResetPeer {
        /// Time until reset, ms.
        timeout_ms: u64,
    },
    /// Toxiproxy `slicer`: chunks are split into pieces of
    /// `average_size ± size_variation` bytes, `delay` µs apart.
    Slicer {
        /// Mean piece size, bytes.
        average_size: u64,
        /// Uniform variation either side, bytes.
        size_variation: u64,
        /// Gap between pieces, µs.
        delay_us: u64,
    },
    /// `limit_time`: data passes; the connection is closed (FIN both ways)
    /// `time` ms after the toxic starts on it, as a server with a maximum
    /// connection age does.
    LimitTime {
        /// Time until close, ms.
        time_ms: u64,
    },
    /// Toxiproxy `limit_data`: the connection is closed once `bytes` bytes passed.
    LimitData {
        /// Bytes let through before closing.
        bytes: u64,
    },
    /// `loss`: each chunk is lost with `probability`. On TCP a lost segment is
    /// a retransmission delay (`retransmit` ms, doubling for consecutive
    /// losses, no reordering); with `drop: true` it is discarded (message
    /// transports).
    Loss {
        /// Per-chunk loss probability.
        probability: f64,
        /// Retransmission timeout, ms.
        retransmit_ms: u64,
        /// Discard instead of delaying.
        drop: bool,
    },
    /// `gilbert_loss`: correlated (bursty) loss, the Gilbert–Elliott model
    /// of Linux netem's `loss gemodel p r 1-h 1-k`. A per-connection chain
    /// moves from the good to the bad state with probability `p` and back
    /// with `r` at each chunk; a chunk is lost with `loss_good` in the good
    /// state and `loss_bad` (default 1) in the bad one, so losses come in
    /// bursts of mean length about `1 / r`. A loss acts as in `loss`.
    GilbertLoss {
        /// Good → bad transition probability per chunk.
        p: f64,
        /// Bad → good transition probability per chunk.
        r: f64,
        /// Loss probability in the good state (netem's `1-k`).
        loss_good: f64,
        /// Loss probability in the bad state (netem's `1-h`).
        loss_bad: f64,
        /// Retransmission timeout, ms.
        retransmit_ms: u64,
        /// Discard instead of delaying.
        drop: bool,
    },
    /// `corrupt`: every bit is flipped with probability `rate`.
    Corrupt {
        /// Per-bit flip probability.
        bit_flip_rate: f64,
    },
    /// `duplicate`: each chunk is sent twice with `probability`.
    Duplicate {
        /// Per-chunk duplication probability.
        probability: f64,
    },
    /// `reorder`: each chunk is delayed independently by 0..=`window` ms, so
    /// chunks overtake each other. With `gap` N > 0 it is netem's `reorder
    /// … gap N` instead: every Nth chunk goes out at once and the others
    /// wait the whole `window`, so the reordering is exact and repeatable.
    Reorder {
        /// Reordering window, ms.
        window_ms: u64,
        /// Every this many chunks one overtakes the rest (0: random delays).
        gap: u64,
    },
    /// `partial`: no single write or read moves more than `max_op_size` bytes
    /// (partial writes and short reads).
    PartialIo {
        /// Largest operation, bytes (≥ 1).
        max_op_size: u64,
    },
    /// `zero_write`: a write returns `Ok(0)` with `probability`
    /// ([`crate::FaultyStream`] only; a socket cannot write zero bytes).
    ZeroWrite {
        /// Per-write probability.
        probability: f64,
    },
    /// `half_open`: the stream is black-holed, its close swallowed; the peer
    /// is never told.
    HalfOpen,
    /// `inject` (ballast extension, TN3270-aware): writes `data` repeated
    /// `repeat` times after every `every`-th record's IAC EOR, once before
    /// the first byte, or once after the source closed (late data).
    Inject {
        /// The bytes (attribute `hex`).
        data: bytes::Bytes,
        /// Where they go.
        position: InjectPosition,
        /// After every this many records (`after_record`; ≥ 1).
        every: u64,
        /// Copies written at once (≥ 1), for oversized records.
        repeat: u64,
    },
    /// `truncate_record` (ballast extension, TN3270-aware): of every
    /// `every`-th record only the first `keep` bytes pass, the rest up to
    /// (not including) its IAC EOR is dropped: a truncated record that is
    /// still terminated. An escaped `FF FF` is never split.
    TruncateRecord {
        /// Bytes of the record kept.
        keep: u64,
        /// Every this many records (≥ 1).
        every: u64,
    },
}

impl ToxicKind {
    /// The Toxiproxy `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Noop => "noop",
            Self::Latency { .. } => "latency",
            Self::Delay { .. } => "delay",
            Self::Bandwidth { .. } => "bandwidth",
            Self::SlowClose { .. } => "slow_close",
            Self::Timeout { .. } => "timeout",
            Self::ResetPeer { .. } => "reset_peer",
            Self::Slicer { .. } => "slicer",
            Self::LimitTime { .. } => "limit_time",
            Self::LimitData { .. } => "limit_data",
            Self::Loss { .. } => "loss",
            Self::GilbertLoss { .. } => "gilbert_loss",
            Self::Corrupt { .. } => "corrupt",
            Self::Duplicate { .. } => "duplicate",
            Self::Reorder { .. } => "reorder",
            Self::PartialIo { .. } => "partial",
            Self::ZeroWrite { .. } => "zero_write",
            Self::HalfOpen => "half_open",
            Self::Inject { .. } => "inject",
            Self::TruncateRecord { .. } => "truncate_record",
        }
    }

    /// Builds a kind from a Toxiproxy `type` and `attributes` object. Missing
    /// attributes take Toxiproxy's zero defaults; unknown ones are ignored.
    pub fn from_json(kind: &str, attrs: &Map<String, Value>) -> Result<Self> {
        let a = Attrs(attrs);
        Ok(match kind {
            "noop" => Self::Noop,
            "latency" => Self::Latency {
                latency_ms: a.time("latency")?,
                jitter_ms: a.time("jitter")?,
            },
            "delay" => Self::Delay {
                latency_ms: a.time("latency")?,
                jitter_ms: a.time("jitter")?,
                distribution: a.distribution("distribution")?,
            },
            "bandwidth" => Self::Bandwidth {
                rate_kb_per_sec: a.int("rate", u64::from(u32::MAX))?,
            },
            "slow_close" => Self::SlowClose {
                delay_ms: a.time("delay")?,
            },
            "timeout" => Self::Timeout {
                timeout_ms: a.time("timeout")?,
            },
            "reset_peer" => Self::ResetPeer {
                timeout_ms: a.time("timeout")?,
            },
            "slicer" => Self::Slicer {
                average_size: a.int("average_size", MAX_SIZE_BYTES)?,
                size_variation: a.int("size_variation", MAX_SIZE_BYTES)?,
                delay_us: a.int("delay", MAX_TIME_MS * 1000)?,
            },
            "limit_time" => Self::LimitTime {
                time_ms: a.time("time")?,
            },
            "limit_data" => Self::LimitData {
                bytes: a.int("bytes", u64::MAX >> 1)?,
            },
            "loss" => Self::Loss {
                probability: a.prob("probability")?,
                retransmit_ms: a.time_or("retransmit", 200)?,
                drop: a.flag("drop")?,
            },
            "gilbert_loss" => gilbert_loss(&a)?,
            "corrupt" => Self::Corrupt {
                bit_flip_rate: a.prob("rate")?,
            },
            "duplicate" => Self::Duplicate {
                probability: a.prob("probability")?,
            },
            "reorder" => Self::Reorder {
                window_ms: a.time("window")?,
                gap: a.int("gap", MAX_SIZE_BYTES)?,
            },
            "partial" => {
                let max_op_size = a.int("max_op_size", MAX_SIZE_BYTES)?;
                if max_op_size == 0 {
                    return Err(attr_err("max_op_size", "must be at least 1"));
                }
                Self::PartialIo { max_op_size }
            }
            "zero_write" => Self::ZeroWrite {
                probability: a.prob("probability")?,
            },
            "half_open" => Self::HalfOpen,
            "inject" => protocol::inject(&a)?,
            "truncate_record" => protocol::truncate_record(&a)?,
            other => {
                return Err(Error::InvalidToxicType {
                    kind: other.to_owned(),
                });
            }
        })
    }

    /// The attributes object, as Toxiproxy shows it.
    pub fn attributes_json(&self) -> Map<String, Value> {
        let v = match self {
            Self::Noop | Self::HalfOpen => json!({}),
            Self::Latency {
                latency_ms,
                jitter_ms,
            } => {
                json!({"latency": latency_ms, "jitter": jitter_ms})
            }
            Self::Delay {
                latency_ms,
                jitter_ms,
                distribution,
            } => json!({
                "latency": latency_ms, "jitter": jitter_ms, "distribution": distribution.name()
            }),
            Self::Bandwidth { rate_kb_per_sec } => json!({"rate": rate_kb_per_sec}),
            Self::SlowClose { delay_ms } => json!({"delay": delay_ms}),
            Self::Timeout { timeout_ms } | Self::ResetPeer { timeout_ms } => {
                json!({"timeout": timeout_ms})
            }
            Self::Slicer {
                average_size,
                size_variation,
                delay_us,
            } => json!({
                "average_size": average_size, "size_variation": size_variation, "delay": delay_us
            }),
            Self::LimitTime { time_ms } => json!({"time": time_ms}),
            Self::LimitData { bytes } => json!({"bytes": bytes}),
            Self::Loss {
                probability,
                retransmit_ms,
                drop,
            } => {
                json!({"probability": probability, "retransmit": retransmit_ms, "drop": drop})
            }
            Self::GilbertLoss {
                p,
                r,
                loss_good,
                loss_bad,
                retransmit_ms,
                drop,
            } => json!({
                "p": p, "r": r, "loss_good": loss_good, "loss_bad": loss_bad,
                "retransmit": retransmit_ms, "drop": drop
            }),
            Self::Corrupt { bit_flip_rate } => json!({"rate": bit_flip_rate}),
            Self::Duplicate { probability } | Self::ZeroWrite { probability } => {
                json!({"probability": probability})
            }
            Self::Reorder { window_ms, gap } => json!({"window": window_ms, "gap": gap}),
            Self::PartialIo { max_op_size } => json!({"max_op_size": max_op_size}),
            Self::Inject { .. } | Self::TruncateRecord { .. } => {
                return protocol::attributes(self);
            }
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// A `gilbert_loss` from its attributes (`loss_bad` defaults to 1, as in netem).
fn gilbert_loss(a: &Attrs<'_>) -> Result<ToxicKind> {
    Ok(ToxicKind::GilbertLoss {
        p: a.prob("p")?,
        r: a.prob("r")?,
        loss_good: a.prob("loss_good")?,
        loss_bad: a.prob_or("loss_bad", 1.0)?,
        retransmit_ms: a.time_or("retransmit", 200)?,
        drop: a.flag("drop")?,
    })
}

/// When a toxic is armed, beyond its toxicity. All parts must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    /// Armed only once this many bytes passed in the toxic's stream.
    pub after_bytes: u64,
    /// Armed only once this many chunks (reads) passed in the toxic's stream.
    pub after_reads: u64,
    /// Armed only on connections with ordinal ≥ this (0-based).
    pub after_connections: u64,
    /// Armed only on the first N connections: "fail the first N, then recover".
    pub first_connections: Option<u64>,
    /// Armed once this byte pattern was seen in the stream (sticky).
    pub pattern: Option<Vec<u8>>,
    /// Opt-in per-chunk probability (after toxicity, which is per connection).
    pub probability: Option<f64>,
    /// Armed only from this many ms after the toxic starts on a connection.
    pub start_ms: u64,
    /// Armed for this many ms after `start_ms` (then disarmed; repeats with `period_ms`).
    pub active_ms: Option<u64>,
    /// Repeat the start/active window every `period_ms`.
    pub period_ms: Option<u64>,
    /// The proxy removes the toxic this many ms after it was added.
    pub remove_after_ms: Option<u64>,
    /// Armed only on connections from these client networks (empty: any
    /// client). A connection with no known client address never matches a
    /// non-empty list.
    pub clients: Vec<ipnet::IpNet>,
    /// Armed only on every Nth connection (ordinals 0, N, 2N, …).
    pub every_connections: Option<u64>,
    /// Armed only from this wall-clock time on (ms since the Unix epoch).
    pub not_before_ms: Option<u64>,
    /// Armed only before this wall-clock time (ms since the Unix epoch).
    pub not_after_ms: Option<u64>,
}

impl Condition {
    /// True when the condition needs per-chunk evaluation.
    pub fn is_unconditional(&self) -> bool {
        *self == Self::default()
    }

    fn from_json(attrs: &Map<String, Value>) -> Result<Self> {
        let a = Attrs(attrs);
        let pattern = match attrs.get("match") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_PATTERN_LEN => {
                Some(s.as_bytes().to_vec())
            }
            Some(_) => {
                return Err(attr_err(
                    "match",
                    "must be a non-empty string up to 4096 bytes",
                ));
            }
        };
        let opt_time = |name: &'static str| -> Result<Option<u64>> {
            if attrs.contains_key(name) {
                a.time(name).map(Some)
            } else {
                Ok(None)
            }
        };
        let c = Self {
            after_bytes: a.int("after_bytes", u64::MAX >> 1)?,
            after_reads: a.int("after_reads", u64::MAX >> 1)?,
            after_connections: a.int("after_connections", u64::MAX >> 1)?,
            first_connections: if attrs.contains_key("first_connections") {
                Some(a.int("first_connections", u64::MAX >> 1)?)
            } else {
                None
            },
            pattern,
            probability: if attrs.contains_key("probability_per_chunk") {
                Some(a.prob("probability_per_chunk")?)
            } else {
                None
            },
            start_ms: a.time("start")?,
            active_ms: opt_time("active")?,
            period_ms: opt_time("period")?,
            remove_after_ms: opt_time("duration")?,
            clients: clients(attrs.get("clients"))?,
            every_connections: if attrs.contains_key("every_connections") {
                Some(a.int("every_connections", u64::MAX >> 1)?)
            } else {
                None
            },
            not_before_ms: opt_epoch(&a, "not_before")?,
            not_after_ms: opt_epoch(&a, "not_after")?,
        };
        if c.period_ms == Some(0) {
            return Err(attr_err("period", "must be at least 1"));
        }
        if c.every_connections == Some(0) {
            return Err(attr_err("every_connections", "must be at least 1"));
        }
        if let (Some(from), Some(to)) = (c.not_before_ms, c.not_after_ms)
            && from >= to
        {
            return Err(attr_err("not_after", "must be later than not_before"));
        }
        Ok(c)
    }

    fn write_json(&self, m: &mut Map<String, Value>) {
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_owned(), v);
        };
        if self.after_bytes > 0 {
            put("after_bytes", json!(self.after_bytes));
        }
        if self.after_reads > 0 {
            put("after_reads", json!(self.after_reads));
        }
        if self.after_connections > 0 {
            put("after_connections", json!(self.after_connections));
        }
        if let Some(n) = self.first_connections {
            put("first_connections", json!(n));
        }
        if let Some(p) = &self.pattern {
            put("match", json!(String::from_utf8_lossy(p)));
        }
        if let Some(p) = self.probability {
            put("probability_per_chunk", json!(p));
        }
        if self.start_ms > 0 {
            put("start", json!(self.start_ms));
        }
        if !self.clients.is_empty() {
            let nets: Vec<String> = self.clients.iter().map(ToString::to_string).collect();
            put("clients", json!(nets));
        }
        for (k, v) in [
            ("active", self.active_ms),
            ("period", self.period_ms),
            ("duration", self.remove_after_ms),
            ("every_connections", self.every_connections),
            ("not_before", self.not_before_ms),
            ("not_after", self.not_after_ms),
        ] {
            if let Some(v) = v {
                put(k, json!(v));
            }
        }
    }
}

/// Most networks a `clients` selector may list.
pub const MAX_CLIENT_NETS: usize = 64;

/// `clients`: a list of addresses (`10.0.0.7`, `::1`) or networks in CIDR
/// form (`10.0.0.0/8`).
fn clients(v: Option<&Value>) -> Result<Vec<ipnet::IpNet>> {
    let err = || {
        attr_err(
            "clients",
            "must be a list of up to 64 IP addresses or CIDR networks",
        )
    };
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= MAX_CLIENT_NETS => items,
        Some(_) => return Err(err()),
    };
    items
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or_else(err)?;
            text.parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    attr_err(
                        "clients",
                        &format!("{text:?} is not an IP address or CIDR network"),
                    )
                })
        })
        .collect()
}

/// An optional wall-clock time in ms since the Unix epoch.
fn opt_epoch(a: &Attrs<'_>, name: &'static str) -> Result<Option<u64>> {
    if a.0.contains_key(name) {
        a.int(name, u64::MAX >> 1).map(Some)
    } else {
        Ok(None)
    }
}

/// One named fault on one stream of a proxy or stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique per proxy; defaults to `<type>_<stream>`.
    pub name: String,
    /// What it does.
    pub kind: ToxicKind,
    /// Which direction.
    pub stream: Stream,
    /// Probability, decided once per connection, that the toxic applies (0..=1).
    pub toxicity: f64,
    /// Extra arming conditions.
    pub condition: Condition,
}

impl Toxic {
    /// A toxic on the downstream with toxicity 1, named `<type>_downstream`.
    pub fn new(kind: ToxicKind) -> Self {
        let name = format!("{}_downstream", kind.type_name());
        Self {
            name,
            kind,
            stream: Stream::Downstream,
            toxicity: 1.0,
            condition: Condition::default(),
        }
    }
    /// Sets the stream (and renames a default-named toxic to match).
    pub fn stream(mut self, stream: Stream) -> Self {
        if self.name == format!("{}_{}", self.kind.type_name(), self.stream.as_str()) {
            self.name = format!("{}_{}", self.kind.type_name(), stream.as_str());
        }
        self.stream = stream;
        self
    }
    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
    /// Sets the toxicity (probability per connection).
    pub fn toxicity(mut self, toxicity: f64) -> Self {
        self.toxicity = toxicity;
        self
    }
    /// Arms the toxic only on the first `n` connections ("fail the first n, then recover").
    pub fn first_connections(mut self, n: u64) -> Self {
        self.condition.first_connections = Some(n);
        self
    }
    /// Replaces the condition.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    /// Checks ranges: toxicity and probabilities in 0..=1, sizes and times bounded.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.toxicity) {
            return Err(attr_err("toxicity", "must be between 0 and 1"));
        }
        if self.name.is_empty() || self.name.len() > 256 {
            return Err(attr_err("name", "must be 1 to 256 bytes"));
        }
        // Round-trip through JSON re-runs every attribute check.
        Self::from_json_value(&self.to_json()).map(|_| ())
    }

    /// Parses a Toxiproxy toxic object (`name`, `type`, `stream`, `toxicity`,
    /// `attributes`), applying Toxiproxy's defaults.
    pub fn from_json_value(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| bad_body("toxic must be a json object"))?;
        let kind_name = match obj.get("type") {
            Some(Value::String(s)) => s.as_str(),
            _ => {
                return Err(Error::InvalidToxicType {
                    kind: String::new(),
                });
            }
        };
        let stream = match obj.get("stream") {
            None | Some(Value::Null) => Stream::Downstream,
            Some(Value::String(s)) if s.is_empty() => Stream::Downstream,
            Some(Value::String(s)) => Stream::parse(s)?,
            Some(_) => return Err(Error::InvalidStream),
        };
        let toxicity = match obj.get("toxicity") {
            None | Some(Value::Null) => 1.0,
            Some(v) => v
                .as_f64()
                .ok_or_else(|| attr_err("toxicity", "must be a number"))?,
        };
        if !(0.0..=1.0).contains(&toxicity) {
            return Err(attr_err("toxicity", "must be between 0 and 1"));
        }
        let empty = Map::new();
        let attrs = match obj.get("attributes") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(bad_body("attributes must be a json object")),
        };
        let kind = ToxicKind::from_json(kind_name, attrs)?;
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            None | Some(Value::Null | Value::String(_)) => {
                format!("{kind_name}_{}", stream.as_str())
            }
            Some(_) => return Err(bad_body("name must be a string")),
        };
        if name.len() > 256 {
            return Err(attr_err("name", "must be 1 to 256 bytes"));
        }
        let condition = Condition::from_json(attrs)?;
        Ok(Self {
            name,
            kind,
            stream,
            toxicity,
            condition,
        })
    }

    /// The Toxiproxy JSON object of this toxic.
    pub fn to_json(&self) -> Value {
        let mut attrs = self.kind.attributes_json();
        self.condition.write_json(&mut attrs);
        json!({
            "name": self.name,
            "type": self.kind.type_name(),
            "stream": self.stream.as_str(),
            "toxicity": self.toxicity,
            "attributes": attrs,
        })
    }

    /// Applies a Toxiproxy update body: `toxicity` and `attributes` (merged
    /// onto the current ones); name, type and stream stay.
    pub fn updated(&self, body: &Value) -> Result<Self> {
        let obj = body
            .as_object()
            .ok_or_else(|| bad_body("toxic must be a json object"))?;
        let mut merged = self.to_json();
        if let Some(t) = obj.get("toxicity") {
            merged["toxicity"] = t.clone();
        }
        match obj.get("attributes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(new)) => {
                if let Some(Value::Object(cur)) = merged.get_mut("attributes") {
                    for (k, v) in new {
                        cur.insert(k.clone(), v.clone());
                    }
                }
            }
            Some(_) => return Err(bad_body("attributes must be a json object")),
        }
        Self::from_json_value(&merged)
    }
}

fn attr_err(name: &'static str, reason: &str) -> Error {
    Error::InvalidAttribute {
        name,
        reason: reason.to_owned(),
    }
}

fn bad_body(reason: &str) -> Error {
    Error::BadRequestBody {
        reason: reason.to_owned(),
    }
}

struct Attrs<'a>(&'a Map<String, Value>);

impl Attrs<'_> {
    fn int(&self, name: &'static str, max: u64) -> Result<u64> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= max => Ok(v),
                Some(_) => Err(Error::InvalidAttribute {
                    name,
                    reason: format!("must be at most {max}"),
                }),
                None => Err(attr_err(name, "must be a non-negative integer")),
            },
            Some(_) => Err(attr_err(name, "must be a non-negative integer")),
        }
    }
    fn time(&self, name: &'static str) -> Result<u64> {
        self.int(name, MAX_TIME_MS)
    }
    fn time_or(&self, name: &'static str, default: u64) -> Result<u64> {
        if self.0.contains_key(name) {
            self.time(name)
        } else {
            Ok(default)
        }
    }
    fn prob(&self, name: &'static str) -> Result<f64> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(0.0),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(attr_err(name, "must be between 0 and 1")),
            },
            Some(_) => Err(attr_err(name, "must be a number between 0 and 1")),
        }
    }
    fn distribution(&self, name: &'static str) -> Result<DelayDistribution> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(DelayDistribution::Uniform),
            Some(Value::String(s)) => DelayDistribution::ALL
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, d)| *d)
                .ok_or_else(|| attr_err(name, "must be uniform, normal or pareto")),
            Some(_) => Err(attr_err(name, "must be uniform, normal or pareto")),
        }
    }
    fn prob_or(&self, name: &'static str, default: f64) -> Result<f64> {
        if self.0.contains_key(name) {
            self.prob(name)
        } else {
            Ok(default)
        }
    }
    fn flag(&self, name: &'static str) -> Result<bool> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(attr_err(name, "must be true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toxic_defaults_follow_toxiproxy() {
        let t = Toxic::from_json_value(&json!({"type": "latency", "attributes": {"latency": 5}}))
            .expect("valid toxic");
        assert_eq!(t.name, "latency_downstream");
        assert_eq!(t.stream, Stream::Downstream);
        assert!((t.toxicity - 1.0).abs() < f64::EPSILON);
        assert_eq!(
            t.kind,
            ToxicKind::Latency {
                latency_ms: 5,
                jitter_ms: 0
            }
        );
        assert_eq!(
            t.to_json()["attributes"],
            json!({"latency": 5, "jitter": 0})
        );
    }

    #[test]
    fn bad_toxics_are_rejected_with_typed_errors() {
        let cases = [
            (json!({"type": "nope"}), "invalid toxic type"),
            (
                json!({"type": "latency", "stream": "sideways"}),
                "stream was invalid",
            ),
            (
                json!({"type": "latency", "attributes": {"latency": -1}}),
                "latency",
            ),
            (
                json!({"type": "latency", "attributes": {"latency": 1e12}}),
                "latency",
            ),
            (json!({"type": "latency", "toxicity": 2.0}), "toxicity"),
            (
                json!({"type": "partial", "attributes": {"max_op_size": 0}}),
                "max_op_size",
            ),
            (
                json!({"type": "loss", "attributes": {"probability": "x"}}),
                "probability",
            ),
            (json!([1, 2]), "bad request body"),
        ];
        for (body, want) in cases {
            let err = Toxic::from_json_value(&body).expect_err("must be rejected");
            assert!(err.to_string().contains(want), "{body}: {err}");
            assert_eq!(err.http_status(), 400);
        }
    }

    #[test]
    fn update_merges_attributes_and_keeps_identity() {
        let t = Toxic::from_json_value(
            &json!({"type": "latency", "name": "l", "attributes": {"latency": 5, "jitter": 1}}),
        )
        .expect("valid toxic");
        let u = t
            .updated(&json!({"attributes": {"latency": 9}, "type": "timeout"}))
            .expect("ok");
        assert_eq!(u.name, "l");
        assert_eq!(
            u.kind,
            ToxicKind::Latency {
                latency_ms: 9,
                jitter_ms: 1
            }
        );
    }

    #[test]
    fn conditions_round_trip_through_json() {
        let body = json!({"type": "reset_peer", "attributes": {
            "timeout": 0, "first_connections": 2, "match": "GET", "after_bytes": 10, "duration": 500
        }});
        let t = Toxic::from_json_value(&body).expect("valid toxic");
        assert_eq!(t.condition.first_connections, Some(2));
        assert_eq!(t.condition.pattern.as_deref(), Some(&b"GET"[..]));
        assert_eq!(Toxic::from_json_value(&t.to_json()).expect("round trip"), t);
    }
}
