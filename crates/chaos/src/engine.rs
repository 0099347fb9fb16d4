//! The fault engine: a sans-IO scheduler shared by [`crate::FaultyStream`]
//! and the proxy.
//!
//! A [`DirectionEngine`] handles one direction of one connection. Chunks go
//! in with [`DirectionEngine::on_data`] / [`DirectionEngine::on_eof`]; each
//! armed toxic rewrites them into [`Piece`]s with release times; the I/O shell
//! pops the pieces whose time has come ([`DirectionEngine::pop_due`]) and
//! performs them. Time is a [`Duration`] since the shell's clock epoch.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::seed::{SeededRng, toxic_rng};
use crate::toxic::{DelayDistribution, MAX_TIME_MS, Stream, Toxic, ToxicKind};

/// Default bound on the bytes held by one direction's schedule.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 1 << 20;
/// Bytes charged per scheduled piece on top of its data, so a flood of tiny
/// pieces (slicer with size 1) is bounded by real memory, not payload.
pub const PIECE_OVERHEAD_BYTES: usize = 64;
/// Most consecutive-loss doublings of the retransmission delay.
const MAX_BACKOFF_SHIFT: u32 = 6;

/// What the I/O shell must do at a piece's release time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Write these bytes.
    Data(Bytes),
    /// The source closed: half-close the destination (FIN).
    Eof,
    /// Close the whole connection (FIN both ways).
    Close,
    /// Reset the whole connection (RST).
    Reset,
}

/// Who a toxic is to this engine: where it came from and its identity.
#[derive(Debug, Clone)]
pub struct ToxicEntry {
    /// Changes whenever the toxic is added or updated; a new id restarts its state.
    pub id: u64,
    /// The toxic.
    pub toxic: Arc<Toxic>,
}

/// Identity of one direction of one connection, for RNG derivation.
#[derive(Debug, Clone)]
pub struct EngineContext {
    /// The run's seed.
    pub seed: u64,
    /// Proxy (or stream) name.
    pub proxy: Arc<str>,
    /// Direction.
    pub stream: Stream,
    /// Connection ordinal (0-based, per proxy).
    pub ordinal: u64,
    /// The client's address, where there is one (a proxied TCP client);
    /// `clients` selectors match on it.
    pub client: Option<std::net::IpAddr>,
}

#[derive(Debug)]
struct Scheduled {
    at: Duration,
    seq: u64,
    owner: u64,
    piece: Piece,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Debug)]
struct Item {
    at: Duration,
    piece: Piece,
}

#[derive(Debug, Default)]
struct StageState {
    last: Duration,
    free_at: Duration,
    remaining: Option<u64>,
    done: bool,
    consecutive_losses: u32,
    timer_armed: bool,
    /// The Gilbert–Elliott chain is in its bad state.
    bad: bool,
    /// TN3270 scanner: the last byte was an unpaired IAC.
    iac: bool,
    /// TN3270 scanner: records ended so far (IAC EOR seen).
    records: u64,
    /// TN3270 scanner: bytes of the current record so far.
    record_pos: u64,
    /// Chunks seen (reorder's gap).
    chunks: u64,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    toxic: Arc<Toxic>,
    active: bool,
    rng: SeededRng,
    started: Duration,
    matched: bool,
    tail: Vec<u8>,
    st: StageState,
}

impl Slot {
    fn new(ctx: &EngineContext, entry: &ToxicEntry, now: Duration) -> Self {
        let t = &entry.toxic;
        let mut rng = toxic_rng(ctx.seed, &ctx.proxy, ctx.stream, ctx.ordinal, &t.name);
        let c = &t.condition;
        let conn_ok = ctx.ordinal >= c.after_connections
            && c.first_connections.is_none_or(|n| ctx.ordinal < n)
            && c.every_connections
                .is_none_or(|n| ctx.ordinal.is_multiple_of(n))
            && (c.clients.is_empty()
                || ctx
                    .client
                    .is_some_and(|ip| c.clients.iter().any(|n| n.contains(&ip))));
        // Toxicity is decided once per connection; 0 draws nothing at all.
        let active = conn_ok && (t.toxicity >= 1.0 || (t.toxicity > 0.0 && rng.chance(t.toxicity)));
        Self {
            id: entry.id,
            toxic: Arc::clone(t),
            active,
            rng,
            started: now,
            matched: c.pattern.is_none(),
            tail: Vec::new(),
            st: StageState::default(),
        }
    }

    /// Whether the toxic acts on the chunk (or control piece) at `now`.
    fn armed(&mut self, now: Duration, chunk: Option<&[u8]>, bytes: u64, reads: u64) -> bool {
        if !self.active {
            return false;
        }
        let c = &self.toxic.condition;
        if let (Some(p), Some(data), false) = (&c.pattern, chunk, self.matched) {
            self.matched = find_across(&self.tail, data, p);
            let keep = p.len().saturating_sub(1);
            self.tail
                .extend_from_slice(&data[data.len().saturating_sub(keep)..]);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
        if !self.matched || bytes < c.after_bytes || reads < c.after_reads {
            return false;
        }
        if (c.not_before_ms.is_some() || c.not_after_ms.is_some()) && !in_window(c) {
            return false;
        }
        let t = now.saturating_sub(self.started).as_millis();
        let t = u64::try_from(t).unwrap_or(u64::MAX);
        if t < c.start_ms {
            return false;
        }
        if let Some(active_ms) = c.active_ms {
            let mut rel = t - c.start_ms;
            if let Some(period) = c.period_ms.filter(|p| *p > 0) {
                rel %= period;
            }
            if rel >= active_ms {
                return false;
            }
        }
        match (c.probability, chunk) {
            (Some(p), Some(_)) => self.rng.chance(p),
            _ => true,
        }
    }

    /// A timer piece (close or reset) this toxic schedules once armed.
    fn timer(&mut self, now: Duration) -> Option<(Duration, Piece)> {
        if self.st.timer_armed {
            return None;
        }
        let piece = match self.toxic.kind {
            ToxicKind::Timeout { timeout_ms: 0 } => return None,
            ToxicKind::Timeout { timeout_ms } => (ms(timeout_ms), Piece::Close),
            ToxicKind::ResetPeer { timeout_ms } => (ms(timeout_ms), Piece::Reset),
            ToxicKind::LimitTime { time_ms } => (ms(time_ms), Piece::Close),
            _ => return None,
        };
        self.st.timer_armed = true;
        Some((now + piece.0, piece.1))
    }
}

/// Whether the wall clock is inside the condition's `not_before` ..
/// `not_after` window.
fn in_window(c: &crate::toxic::Condition) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    c.not_before_ms.is_none_or(|t| now >= t) && c.not_after_ms.is_none_or(|t| now < t)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn find_across(tail: &[u8], data: &[u8], pat: &[u8]) -> bool {
    if pat.is_empty() {
        return true;
    }
    let head = &data[..data.len().min(pat.len().saturating_sub(1))];
    let mut joined = Vec::with_capacity(tail.len() + head.len());
    joined.extend_from_slice(tail);
    joined.extend_from_slice(head);
    joined.windows(pat.len()).any(|w| w == pat) || data.windows(pat.len()).any(|w| w == pat)
}

/// One direction of one connection under a chain of toxics.
#[derive(Debug)]
pub struct DirectionEngine {
    ctx: EngineContext,
    slots: Vec<Slot>,
    heap: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    queued_bytes: usize,
    flow_items: usize,
    bytes_in: u64,
    reads_in: u64,
    flow_floor: Duration,
    max_queued_bytes: usize,
    items: Vec<Item>,
    out: Vec<Item>,
}

impl DirectionEngine {
    /// The names of the toxics acting on this connection and direction:
    /// those in the chain whose toxicity roll and connection selectors
    /// chose it (time and byte conditions may still hold them back).
    pub fn active_toxics(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter(|s| s.active)
            .map(|s| s.toxic.name.clone())
            .collect()
    }

    /// An engine with no toxics.
    pub fn new(ctx: EngineContext) -> Self {
        Self {
            ctx,
            slots: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            queued_bytes: 0,
            flow_items: 0,
            bytes_in: 0,
            reads_in: 0,
            flow_floor: Duration::ZERO,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            items: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Sets the bound on bytes held in the schedule (backpressure point).
    pub fn with_max_queued_bytes(mut self, max: usize) -> Self {
        self.max_queued_bytes = max.max(1);
        self
    }

    /// The direction this engine handles.
    pub fn stream(&self) -> Stream {
        self.ctx.stream
    }

    /// Replaces the toxic chain. Toxics whose id is unchanged keep their
    /// state; new ones start now; removed ones lose their pending timers.
    pub fn update(&mut self, toxics: &[ToxicEntry], now: Duration) {
        let mut old = std::mem::take(&mut self.slots);
        let stream = self.ctx.stream;
        for entry in toxics.iter().filter(|e| e.toxic.stream == stream) {
            if let Some(pos) = old.iter().position(|s| s.id == entry.id) {
                self.slots.push(old.swap_remove(pos));
                continue;
            }
            let mut slot = Slot::new(&self.ctx, entry, now);
            if slot.armed(now, None, self.bytes_in, self.reads_in)
                && let Some((at, piece)) = slot.timer(now)
            {
                self.schedule(at, piece, slot.id);
            }
            self.slots.push(slot);
        }
        if !old.is_empty() {
            self.heap
                .retain(|Reverse(s)| s.owner == 0 || !old.iter().any(|o| o.id == s.owner));
        }
    }

    /// True when no toxic is active and nothing is scheduled: the shell may
    /// copy bytes straight through.
    pub fn is_passthrough(&self) -> bool {
        self.heap.is_empty() && !self.slots.iter().any(|s| s.active)
    }

    /// True while the schedule holds less than its byte bound.
    pub fn wants_input(&self) -> bool {
        self.queued_bytes < self.max_queued_bytes
    }

    /// True while pieces that came from the data flow wait for release.
    pub fn has_flow(&self) -> bool {
        self.flow_items > 0
    }

    /// Release time of the earliest scheduled piece.
    pub fn next_at(&self) -> Option<Duration> {
        self.heap.peek().map(|Reverse(s)| s.at)
    }

    /// Pops the earliest piece if its time has come.
    pub fn pop_due(&mut self, now: Duration) -> Option<Piece> {
        if self.next_at()? > now {
            return None;
        }
        let Reverse(s) = self.heap.pop()?;
        if s.owner == 0 {
            self.flow_items -= 1;
        }
        self.queued_bytes -= piece_cost(&s.piece);
        Some(s.piece)
    }

    /// Pops the earliest piece regardless of time (the shell sleeps first).
    pub fn pop_next(&mut self) -> Option<(Duration, Piece)> {
        let at = self.next_at()?;
        self.pop_due(at).map(|p| (at, p))
    }

    /// Largest read or write the `partial` toxics allow now (`usize::MAX` if none).
    pub fn max_op_size(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.active)
            .filter_map(|s| match s.toxic.kind {
                ToxicKind::PartialIo { max_op_size } => usize::try_from(max_op_size).ok(),
                _ => None,
            })
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Rolls the active `zero_write` toxics: true means this write returns `Ok(0)`.
    pub fn roll_zero_write(&mut self, now: Duration) -> bool {
        let (bytes, reads) = (self.bytes_in, self.reads_in);
        let mut hit = false;
        for slot in &mut self.slots {
            if let ToxicKind::ZeroWrite { probability } = slot.toxic.kind
                && slot.armed(now, None, bytes, reads)
                && slot.rng.chance(probability)
            {
                hit = true;
            }
        }
        hit
    }

    /// Feeds a chunk read from the source at `now`.
    pub fn on_data(&mut self, now: Duration, data: Bytes) {
        if data.is_empty() {
            return;
        }
        let (bytes, reads) = (self.bytes_in, self.reads_in);
        self.bytes_in += data.len() as u64;
        self.reads_in += 1;
        let mut items = std::mem::take(&mut self.items);
        let mut out = std::mem::take(&mut self.out);
        items.push(Item {
            at: now,
            piece: Piece::Data(data.clone()),
        });
        let mut timers = Vec::new();
        for slot in self.slots.iter_mut().filter(|s| s.active) {
            let armed = slot.armed(now, Some(&data), bytes, reads);
            if armed {
                timers.extend(slot.timer(now).map(|(at, p)| (at, p, slot.id)));
            }
            apply(slot, armed, &mut items, &mut out);
            std::mem::swap(&mut items, &mut out);
        }
        self.flush_items(&mut items, timers);
        self.items = items;
        self.out = out;
    }

    /// Feeds the source's end of stream at `now`.
    pub fn on_eof(&mut self, now: Duration) {
        let (bytes, reads) = (self.bytes_in, self.reads_in);
        let mut items = std::mem::take(&mut self.items);
        let mut out = std::mem::take(&mut self.out);
        items.push(Item {
            at: now,
            piece: Piece::Eof,
        });
        for slot in self.slots.iter_mut().filter(|s| s.active) {
            let armed = slot.armed(now, None, bytes, reads);
            apply(slot, armed, &mut items, &mut out);
            std::mem::swap(&mut items, &mut out);
        }
        self.flush_items(&mut items, Vec::new());
        self.items = items;
        self.out = out;
    }

    fn flush_items(&mut self, items: &mut Vec<Item>, timers: Vec<(Duration, Piece, u64)>) {
        // Bytes never overtake bytes scheduled earlier, even when the toxic
        // that delayed those was removed since; only `reorder` may reorder.
        let reorders = self
            .slots
            .iter()
            .any(|s| s.active && matches!(s.toxic.kind, ToxicKind::Reorder { .. }));
        for item in items.drain(..) {
            let at = if reorders {
                item.at
            } else {
                item.at.max(self.flow_floor)
            };
            self.flow_floor = self.flow_floor.max(at);
            self.flow_items += 1;
            self.schedule(at, item.piece, 0);
        }
        for (at, piece, owner) in timers {
            self.schedule(at, piece, owner);
        }
    }

    fn schedule(&mut self, at: Duration, piece: Piece, owner: u64) {
        self.queued_bytes += piece_cost(&piece);
        self.seq += 1;
        self.heap.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            owner,
            piece,
        }));
    }
}

fn piece_cost(piece: &Piece) -> usize {
    match piece {
        Piece::Data(b) => b.len() + PIECE_OVERHEAD_BYTES,
        _ => PIECE_OVERHEAD_BYTES,
    }
}

/// Runs one stage over `items` into `out` (which the caller swaps back).
fn apply(slot: &mut Slot, armed: bool, items: &mut Vec<Item>, out: &mut Vec<Item>) {
    debug_assert!(out.is_empty(), "stage output buffer must start empty");
    let reorders = matches!(slot.toxic.kind, ToxicKind::Reorder { .. });
    for mut item in items.drain(..) {
        if !armed {
            if !reorders {
                item.at = item.at.max(slot.st.last);
                slot.st.last = item.at;
            }
            out.push(item);
            continue;
        }
        let kind = slot.toxic.kind.clone();
        match (kind, item.piece) {
            (k, Piece::Data(d)) => data_stage(slot, &k, item.at, d, out),
            (k, p) => control_stage(slot, &k, item.at, p, out),
        }
    }
}

fn push_clamped(st: &mut StageState, at: Duration, piece: Piece, out: &mut Vec<Item>) {
    let at = at.max(st.last);
    st.last = at;
    out.push(Item { at, piece });
}

fn control_stage(
    slot: &mut Slot,
    kind: &ToxicKind,
    at: Duration,
    piece: Piece,
    out: &mut Vec<Item>,
) {
    let st = &mut slot.st;
    match kind {
        ToxicKind::HalfOpen => {}
        ToxicKind::LimitData { .. } if st.done => {}
        ToxicKind::SlowClose { delay_ms } => {
            let at = at.max(st.last) + ms(*delay_ms);
            push_clamped(st, at, piece, out);
        }
        ToxicKind::Bandwidth { .. } => push_clamped(st, at.max(st.free_at), piece, out),
        ToxicKind::Inject {
            data,
            position,
            repeat,
            ..
        } => tn3270::inject_control(st, (data, *position, *repeat), at, piece, out),
        ToxicKind::TruncateRecord { keep, every } => {
            tn3270::truncate_control(st, (*keep, *every), at, piece, out);
        }
        _ => push_clamped(st, at, piece, out),
    }
}

fn data_stage(slot: &mut Slot, kind: &ToxicKind, at: Duration, d: Bytes, out: &mut Vec<Item>) {
    let (st, rng) = (&mut slot.st, &mut slot.rng);
    match *kind {
        ToxicKind::Latency {
            latency_ms,
            jitter_ms,
        } => {
            let delay = latency_delay(rng, latency_ms, jitter_ms);
            push_clamped(st, at + delay, Piece::Data(d), out);
        }
        ToxicKind::Delay {
            latency_ms,
            jitter_ms,
            distribution,
        } => {
            let delay = varied_delay(rng, latency_ms, jitter_ms, distribution);
            push_clamped(st, at + delay, Piece::Data(d), out);
        }
        ToxicKind::Bandwidth { rate_kb_per_sec } if rate_kb_per_sec > 0 => {
            bandwidth(st, rate_kb_per_sec, at, d, out);
        }
        ToxicKind::Timeout { .. } | ToxicKind::HalfOpen => {}
        ToxicKind::Slicer {
            average_size,
            size_variation,
            delay_us,
        } if average_size > 0 => {
            slicer(
                st,
                rng,
                (average_size, size_variation, delay_us),
                at,
                d,
                out,
            );
        }
        ToxicKind::LimitData { bytes } => limit(st, bytes, at, d, out),
        ToxicKind::Loss { .. } | ToxicKind::GilbertLoss { .. } => {
            lossy(st, rng, kind, at, d, out);
        }
        ToxicKind::Corrupt { bit_flip_rate } => {
            push_clamped(st, at, Piece::Data(corrupt(rng, bit_flip_rate, d)), out);
        }
        ToxicKind::Duplicate { probability } => {
            if rng.chance(probability) {
                push_clamped(st, at, Piece::Data(d.clone()), out);
            }
            push_clamped(st, at, Piece::Data(d), out);
        }
        ToxicKind::Reorder { window_ms, gap } => reorder(st, rng, (window_ms, gap), at, d, out),
        ToxicKind::PartialIo { max_op_size } => {
            let step = usize::try_from(max_op_size).unwrap_or(usize::MAX).max(1);
            let mut rest = d;
            while !rest.is_empty() {
                let piece = rest.split_to(step.min(rest.len()));
                push_clamped(st, at, Piece::Data(piece), out);
            }
        }
        ToxicKind::Inject { .. } | ToxicKind::TruncateRecord { .. } => {
            tn3270::data_stage(st, kind, at, d, out);
        }
        _ => push_clamped(st, at, Piece::Data(d), out),
    }
}

/// `reorder`: a random delay within the window, or netem's gap (every
/// gap-th chunk at once, the others held for the whole window).
fn reorder(
    st: &mut StageState,
    rng: &mut SeededRng,
    (window_ms, gap): (u64, u64),
    at: Duration,
    d: Bytes,
    out: &mut Vec<Item>,
) {
    let delay = if gap > 0 {
        st.chunks += 1;
        if st.chunks.is_multiple_of(gap) {
            0
        } else {
            window_ms
        }
    } else {
        rng.below_inclusive(window_ms)
    };
    let at = at + ms(delay);
    st.last = st.last.max(at);
    out.push(Item {
        at,
        piece: Piece::Data(d),
    });
}

/// Toxiproxy's `latency ± jitter`, in whole milliseconds.
fn latency_delay(rng: &mut SeededRng, latency_ms: u64, jitter_ms: u64) -> Duration {
    let base = ms(latency_ms);
    if jitter_ms == 0 {
        base
    } else {
        let j = rng.below_inclusive(2 * jitter_ms);
        (base + ms(j)).saturating_sub(ms(jitter_ms))
    }
}

/// `latency` varied by `jitter` along `distribution`, at most a day.
fn varied_delay(
    rng: &mut SeededRng,
    latency_ms: u64,
    jitter_ms: u64,
    distribution: DelayDistribution,
) -> Duration {
    let (latency, jitter) = (latency_ms as f64, jitter_ms as f64);
    let delay_ms = match distribution {
        DelayDistribution::Uniform => latency + jitter * (2.0 * rng.next_f64() - 1.0),
        DelayDistribution::Normal => {
            // Box–Muller; 1 − u is in (0, 1], so its logarithm is finite.
            let (u, v) = (1.0 - rng.next_f64(), rng.next_f64());
            let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
            latency + jitter * z
        }
        DelayDistribution::Pareto => {
            let u = 1.0 - rng.next_f64();
            latency + jitter * (u.powf(-1.0 / 3.0) - 1.0)
        }
    };
    Duration::from_secs_f64(delay_ms.clamp(0.0, MAX_TIME_MS as f64) / 1000.0)
}

/// Decides whether a chunk is lost (independently for `loss`, through the
/// per-connection Gilbert–Elliott chain for `gilbert_loss`) and acts on it.
fn lossy(
    st: &mut StageState,
    rng: &mut SeededRng,
    kind: &ToxicKind,
    at: Duration,
    d: Bytes,
    out: &mut Vec<Item>,
) {
    match *kind {
        ToxicKind::Loss {
            probability,
            retransmit_ms,
            drop,
        } => {
            let lost = rng.chance(probability);
            loss(st, lost, (retransmit_ms, drop), at, d, out);
        }
        ToxicKind::GilbertLoss {
            p,
            r,
            loss_good,
            loss_bad,
            retransmit_ms,
            drop,
        } => {
            st.bad = if st.bad {
                !rng.chance(r)
            } else {
                rng.chance(p)
            };
            let lost = rng.chance(if st.bad { loss_bad } else { loss_good });
            loss(st, lost, (retransmit_ms, drop), at, d, out);
        }
        _ => push_clamped(st, at, Piece::Data(d), out),
    }
}

/// TCP loss is a retransmission delay (doubling for consecutive losses,
/// never reordering); with `drop` the chunk is discarded.
fn loss(
    st: &mut StageState,
    lost: bool,
    (retransmit_ms, drop): (u64, bool),
    at: Duration,
    d: Bytes,
    out: &mut Vec<Item>,
) {
    if !lost {
        st.consecutive_losses = 0;
        push_clamped(st, at, Piece::Data(d), out);
        return;
    }
    if drop {
        return;
    }
    let shift = st.consecutive_losses.min(MAX_BACKOFF_SHIFT);
    st.consecutive_losses += 1;
    push_clamped(
        st,
        at + ms(retransmit_ms) * (1u32 << shift),
        Piece::Data(d),
        out,
    );
}

fn bandwidth(st: &mut StageState, rate_kb: u64, at: Duration, mut d: Bytes, out: &mut Vec<Item>) {
    // Toxiproxy: rate KB/s with 1 KB = 1000 bytes, sent in 100 ms slices.
    let slice = usize::try_from(rate_kb.saturating_mul(100))
        .unwrap_or(usize::MAX)
        .max(1);
    while !d.is_empty() {
        let piece = d.split_to(slice.min(d.len()));
        let start = at.max(st.free_at);
        let nanos = (piece.len() as u64).saturating_mul(1_000_000) / rate_kb;
        st.free_at = start + Duration::from_nanos(nanos);
        push_clamped(st, st.free_at, Piece::Data(piece), out);
    }
}

fn slicer(
    st: &mut StageState,
    rng: &mut SeededRng,
    (avg, var, delay_us): (u64, u64, u64),
    at: Duration,
    mut d: Bytes,
    out: &mut Vec<Item>,
) {
    let mut t = at.max(st.last);
    let mut first = true;
    while !d.is_empty() {
        let var = var.min(avg.saturating_sub(1));
        let size = if var == 0 {
            avg
        } else {
            avg - var + rng.below_inclusive(2 * var)
        };
        let size = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .clamp(1, d.len());
        if !first {
            t += Duration::from_micros(delay_us);
        }
        first = false;
        push_clamped(st, t, Piece::Data(d.split_to(size)), out);
    }
}

fn limit(st: &mut StageState, bytes: u64, at: Duration, mut d: Bytes, out: &mut Vec<Item>) {
    if st.done {
        return;
    }
    let remaining = st.remaining.get_or_insert(bytes);
    let take = usize::try_from(*remaining)
        .unwrap_or(usize::MAX)
        .min(d.len());
    *remaining -= take as u64;
    if take > 0 {
        d.truncate(take);
        push_clamped(st, at, Piece::Data(d), out);
    }
    if st.remaining == Some(0) {
        st.done = true;
        push_clamped(st, at, Piece::Close, out);
    }
}

fn corrupt(rng: &mut SeededRng, rate: f64, d: Bytes) -> Bytes {
    if rate <= 0.0 {
        return d;
    }
    let mut buf = BytesMut::from(&d[..]);
    let bits = buf.len() as u64 * 8;
    if rate >= 1.0 {
        buf.iter_mut().for_each(|b| *b = !*b);
        return buf.freeze();
    }
    // Geometric skips: one RNG draw per flipped bit, not per bit.
    let log_keep = (1.0 - rate).ln();
    let mut pos: u64 = 0;
    loop {
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        let skip = (u.ln() / log_keep).floor();
        if !skip.is_finite() || skip >= (bits - pos) as f64 {
            break;
        }
        pos += skip as u64;
        let byte = usize::try_from(pos / 8).unwrap_or(usize::MAX);
        if let Some(b) = buf.get_mut(byte) {
            *b ^= 1 << (pos % 8);
        }
        pos += 1;
        if pos >= bits {
            break;
        }
    }
    buf.freeze()
}

mod tn3270;

#[cfg(test)]
mod tests;
