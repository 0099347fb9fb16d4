//! ballast-chaos scenarios: one direction of a proxied connection through
//! the fault engine (the in-process forwarding path of `ChaosProxy`, no
//! socket), with no toxic and with a latency toxic; checking a recorded
//! `History`; and the Elle-class checker (`check`) on a generated
//! list-append history.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use ballast_chaos::check::generate::{ListAppendGenerator, Workload};
use ballast_chaos::check::{self, ConsistencyModel, Model};
use ballast_chaos::history::{History, Op};
use ballast_chaos::{DirectionEngine, EngineContext, Piece, Stream, Toxic, ToxicEntry, ToxicKind};
use bytes::Bytes;

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[
    (
        "chaos/engine_forward_1500B_no_toxic/ballast",
        engine_no_toxic,
    ),
    (
        "chaos/engine_forward_1500B_latency_toxic/ballast",
        engine_latency,
    ),
    ("chaos/history_check_1000_ops/ballast", history_check),
    (
        "chaos/check_list_append_1000_txns/ballast",
        check_list_append,
    ),
];

/// Size of the chunk read from the source per operation (one Ethernet MTU).
const CHUNK: usize = 1500;

fn engine() -> DirectionEngine {
    DirectionEngine::new(EngineContext {
        seed: 15,
        proxy: Arc::from("scenario"),
        stream: Stream::Downstream,
        ordinal: 0,
        client: None,
    })
}

/// Feeds one chunk at `now` and writes out every piece due by `now`.
fn forward(e: &mut DirectionEngine, now: Duration, chunk: &Bytes) -> usize {
    e.on_data(now, chunk.clone());
    let mut written = 0;
    while let Some(piece) = e.pop_due(now) {
        if let Piece::Data(bytes) = black_box(piece) {
            written += bytes.len();
        }
    }
    written
}

/// One 1500-byte chunk through an engine with no toxic: fed and released.
#[inline(never)]
fn engine_no_toxic(n: u64) {
    let chunk = Bytes::from(vec![0x5a; CHUNK]);
    let mut e = engine();
    let mut now = Duration::ZERO;
    for _ in 0..n {
        now += Duration::from_micros(10);
        black_box(forward(&mut e, now, &chunk));
    }
}

/// One 1500-byte chunk through a 10 ms latency toxic, a chunk every
/// millisecond: about ten held at a time, each released when due.
#[inline(never)]
fn engine_latency(n: u64) {
    let chunk = Bytes::from(vec![0x5a; CHUNK]);
    let mut e = engine();
    let toxic = Toxic::new(ToxicKind::Latency {
        latency_ms: 10,
        jitter_ms: 0,
    });
    e.update(
        &[ToxicEntry {
            id: 1,
            toxic: Arc::new(toxic),
        }],
        Duration::ZERO,
    );
    let mut now = Duration::ZERO;
    for _ in 0..n {
        now += Duration::from_millis(1);
        black_box(forward(&mut e, now, &chunk));
    }
}

/// Operations in each checked history.
const CHECKED_OPS: u64 = 1_000;

/// A history of 1 000 acknowledged operations by 8 processes (750 writes,
/// each of its own key, and 250 reads of the key written just before),
/// recorded once; one operation is one full `History::check` of it.
#[inline(never)]
fn history_check(n: u64) {
    let history =
        History::<u64, u64>::with_clock(CHECKED_OPS as usize, ballast_chaos::ManualClock::new());
    // std's SipHash with fixed keys: the same table layout in every run,
    // so the count does not move with a random seed.
    let mut state: HashMap<u64, u64, BuildHasherDefault<DefaultHasher>> = HashMap::default();
    for i in 0..CHECKED_OPS {
        if i % 4 == 3 {
            let key = i - 1;
            let value = state.get(&key).copied();
            history.invoke(i % 8, Op::Read { key }).ok(value);
        } else {
            history
                .invoke(
                    i % 8,
                    Op::Write {
                        key: i,
                        value: i * 7,
                    },
                )
                .ok(None);
            state.insert(i, i * 7);
        }
    }
    for _ in 0..n {
        let report = history.check(black_box(&state));
        // A checker that stopped checking would count less and pass the
        // gate: fail loudly instead.
        assert!(report.is_valid(), "the recorded history must check valid");
        black_box(report);
    }
}

/// One operation is a strict-serializability check of a generated
/// list-append history of 1 000 transactions (seed 1; the generator's
/// defaults: 10 processes, ~4 micro-ops each), every edge kind built and
/// searched: the `ballast-check` path without the parsing.
#[inline(never)]
fn check_list_append(n: u64) {
    let ops: Vec<_> = ListAppendGenerator::new(Workload {
        txns: 1_000,
        seed: 1,
        ..Workload::default()
    })
    .collect();
    for _ in 0..n {
        let report = check::check(
            Model::ListAppend,
            ConsistencyModel::StrictSerializable,
            black_box(ops.clone()),
        )
        .expect("a generated history is well formed");
        assert!(report.valid, "a generated history must check valid");
        black_box(report);
    }
}
