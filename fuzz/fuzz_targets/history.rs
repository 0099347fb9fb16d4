//! Jepsen histories (EDN and JSON lines) read and then checked under every
//! model: a bad line is a line-numbered error, a well-formed history of
//! any shape is checked without a panic, and every anomaly names its
//! operations.
#![no_main]

use ballast_chaos::check::{self, ConsistencyModel, Format, Model, format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [selector, rest @ ..] = data else { return };
    let fmt = if selector & 1 == 0 {
        Format::Edn
    } else {
        Format::Jsonl
    };
    let model = [
        Model::ListAppend,
        Model::RwRegister,
        Model::Register,
        Model::Set,
    ][usize::from(selector >> 1 & 3)];
    let consistency =
        ConsistencyModel::ALL[usize::from(selector >> 3) % ConsistencyModel::ALL.len()];
    let lines = rest.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    match format::read_history(rest, Some(fmt), model.read_as()) {
        Err(e) => assert!(e.line >= 1 && e.line <= lines, "{e}"),
        Ok(ops) => {
            if let Ok(report) = check::check(model, consistency, ops) {
                for a in &report.anomalies {
                    assert!(!a.ops.is_empty());
                }
                let _ = report.to_string();
            }
        }
    }
});
