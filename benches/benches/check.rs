//! The history checker (`ballast_chaos::check`) on generated list-append
//! histories (seed 1; ~4 micro-ops per transaction, 10 processes, keys
//! retired after 100 appends; strict-serializable, so every edge kind is
//! built and searched).
//!
//! - `check_list_append/{10k,100k}`: check an in-memory history (the
//!   history is cloned outside the timing).
//! - `check_parse/edn_100k`, `check_parse/jsonl_100k`: read the same
//!   history from text, the cost a file check adds.
//! - `check_set/20k_adds`: a set history of 20 000 adds by 5 processes
//!   and a whole-set read every 50 operations by a sixth (400 reads, 4 M
//!   elements read in all), as Jepsen's set-full checks it.
//!
//! There is no peer in the same run: Elle (Clojure, on Clojars) cannot be
//! fetched on this machine; its published rate is 100–160 k
//! transactions/s. The 1 M-transaction figure and the scaling table come
//! from `ballast-check measure --txns N` (time and peak RSS per size).
//!
//! Run: `cargo bench -p ballast-benches --bench check`.

use ballast_chaos::check::format::{self, Format, ReadAs};
use ballast_chaos::check::generate::{ListAppendGenerator, Workload};
use ballast_chaos::check::{self, ConsistencyModel, Model, Op, OpType, Value};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn history(txns: u64) -> Vec<Op> {
    ListAppendGenerator::new(Workload {
        txns,
        seed: 1,
        ..Workload::default()
    })
    .collect()
}

/// Adds of 0..adds, five at a time in flight, and whole-set reads.
fn set_history(adds: i64) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut push = |kind, process, value| {
        let index = ops.len() as u64;
        ops.push(Op {
            index,
            kind,
            process,
            value,
            time: Some(index as i64 * 1_000),
        });
    };
    for e in 0..adds {
        let p = (e % 5) as u64;
        push(OpType::Invoke, p, Value::Add(e));
        push(OpType::Ok, p, Value::Add(e));
        if e % 50 == 49 {
            push(OpType::Invoke, 5, Value::ReadSet(None));
            push(OpType::Ok, 5, Value::ReadSet(Some((0..=e).collect())));
        }
    }
    ops
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("check_list_append");
    g.sample_size(10);
    for (name, txns) in [("10k", 10_000u64), ("100k", 100_000)] {
        let ops = history(txns);
        g.throughput(Throughput::Elements(txns));
        g.bench_function(name, |b| {
            b.iter_batched(
                || ops.clone(),
                |ops| {
                    let r =
                        check::check(Model::ListAppend, ConsistencyModel::StrictSerializable, ops)
                            .expect("a generated history is well formed");
                    assert!(r.valid);
                    r
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();

    let ops = history(100_000);
    let mut g = c.benchmark_group("check_parse");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    for (name, f) in [("edn_100k", Format::Edn), ("jsonl_100k", Format::Jsonl)] {
        let mut text = Vec::new();
        format::write_history(&ops, f, &mut text).expect("writes to memory");
        g.bench_function(name, |b| {
            b.iter(|| {
                format::read_history(text.as_slice(), Some(f), ReadAs::Register)
                    .expect("parses")
                    .len()
            });
        });
    }
    g.finish();

    let ops = set_history(20_000);
    let mut g = c.benchmark_group("check_set");
    g.sample_size(10);
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("20k_adds", |b| {
        b.iter_batched(
            || ops.clone(),
            |ops| {
                let r = check::check(Model::Set, ConsistencyModel::Linearizable, ops)
                    .expect("well formed");
                assert!(r.valid, "{r}");
                r
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
