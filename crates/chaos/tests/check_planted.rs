//! Generated histories are always valid; splicing any planted-bug fixture
//! into one (fresh keys, values and processes, its operations spread among
//! the others in order) is always detected with the fixture's classes.

use std::path::Path;

use ballast_chaos::check::generate::{ListAppendGenerator, Workload};
use ballast_chaos::check::{self, ConsistencyModel, Model, Mop, Op, ReadValue, Value, format};
use proptest::prelude::*;

const OFFSET: i64 = 1 << 40;

struct Plant {
    name: String,
    ops: Vec<Op>,
    consistency: ConsistencyModel,
    expect: Vec<String>,
}

fn plants() -> Vec<Plant> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("valid-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let field = |f: &str| {
            text.lines().find_map(|l| {
                l.strip_prefix("; ")?
                    .strip_prefix(f)
                    .map(|v| v.trim().to_string())
            })
        };
        if field("model:").as_deref() != Some("list-append") {
            continue;
        }
        let consistency = field("consistency:")
            .and_then(|c| ConsistencyModel::from_name(&c))
            .unwrap_or(ConsistencyModel::StrictSerializable);
        let expect = field("expect:")
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let ops = format::read_history(text.as_bytes(), None, format::ReadAs::Register).unwrap();
        out.push(Plant {
            name,
            ops,
            consistency,
            expect,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn shift(op: &Op) -> Op {
    let mut op = op.clone();
    op.process += 1_000_000;
    let Value::Txn(mops) = &mut op.value else {
        unreachable!("fixtures are transactions")
    };
    for m in mops.iter_mut() {
        *m = match m.clone() {
            Mop::Append { key, value } => Mop::Append {
                key: key + OFFSET,
                value: value + OFFSET,
            },
            Mop::Write { key, value } => Mop::Write {
                key: key + OFFSET,
                value: value + OFFSET,
            },
            Mop::Read { key, value } => Mop::Read {
                key: key + OFFSET,
                value: match value {
                    ReadValue::List(l) => {
                        ReadValue::List(l.into_iter().map(|v| v + OFFSET).collect())
                    }
                    ReadValue::Int(v) => ReadValue::Int(v + OFFSET),
                    ReadValue::Nil => ReadValue::Nil,
                },
            },
        };
    }
    op
}

fn base(seed: u64, processes: u64, txns: u64) -> Vec<Op> {
    ListAppendGenerator::new(Workload {
        txns,
        processes,
        seed,
        active_keys: 4,
        appends_per_key: 20,
        ..Workload::default()
    })
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn generated_histories_are_valid(seed in any::<u64>(), processes in 1u64..8, txns in 1u64..300) {
        let ops = base(seed, processes, txns);
        let report = check::check(Model::ListAppend, ConsistencyModel::StrictSerializable, ops).unwrap();
        prop_assert!(report.valid && report.counts.is_empty(), "seed {seed}: {report}");
    }

    #[test]
    fn a_planted_anomaly_is_always_found(
        seed in any::<u64>(),
        processes in 1u64..8,
        txns in 1u64..200,
        which in any::<prop::sample::Index>(),
        spots in prop::collection::vec(any::<prop::sample::Index>(), 8),
    ) {
        let plants = plants();
        let plant = &plants[which.index(plants.len())];
        let mut ops = base(seed, processes, txns);
        // Insertion points, sorted, so the planted operations keep their order.
        let mut at: Vec<usize> = spots.iter().take(plant.ops.len()).map(|s| s.index(ops.len() + 1)).collect();
        while at.len() < plant.ops.len() {
            at.push(ops.len());
        }
        at.sort_unstable();
        for (pos, op) in at.iter().zip(&plant.ops).rev() {
            ops.insert(*pos, shift(op));
        }
        for (i, op) in ops.iter_mut().enumerate() {
            op.index = i as u64;
        }
        let report = check::check(Model::ListAppend, plant.consistency, ops).unwrap();
        for kind in &plant.expect {
            prop_assert!(
                report.counts.keys().any(|k| k.name() == kind),
                "{}: {kind} not found (seed {seed}):\n{report}", plant.name
            );
        }
        prop_assert!(!report.valid || plant.name.starts_with("valid-"), "{}: {report}", plant.name);
    }
}
