//! Planted-bug fixtures: each file in `tests/histories/` names its model,
//! the consistency model it is checked against and exactly the anomaly
//! classes the checker must report (`; expect:` empty for a valid history).

use std::collections::BTreeSet;
use std::path::Path;

use ballast_chaos::check::{self, ConsistencyModel, Model, format};

struct Fixture {
    name: String,
    model: Model,
    consistency: ConsistencyModel,
    expect: BTreeSet<String>,
    valid: bool,
    text: String,
}

fn header(text: &str, field: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(';'))
        .find_map(|l| l.trim().strip_prefix(field).map(|v| v.trim().to_string()))
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/histories exists") {
        let path = entry.expect("readable directory").path();
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let model = header(&text, "model:").unwrap_or_else(|| panic!("{name}: no '; model:' line"));
        let model =
            Model::from_name(&model).unwrap_or_else(|| panic!("{name}: unknown model {model}"));
        let consistency =
            header(&text, "consistency:").map_or(ConsistencyModel::StrictSerializable, |c| {
                ConsistencyModel::from_name(&c)
                    .unwrap_or_else(|| panic!("{name}: unknown consistency model {c}"))
            });
        let expect: BTreeSet<String> = header(&text, "expect:")
            .unwrap_or_else(|| panic!("{name}: no '; expect:' line"))
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let valid = header(&text, "valid:").map_or(expect.is_empty(), |v| v == "true");
        out.push(Fixture {
            name,
            model,
            consistency,
            expect,
            valid,
            text,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(
        out.len() >= 20,
        "the fixtures are all there ({})",
        out.len()
    );
    out
}

#[test]
fn every_fixture_reports_exactly_its_anomalies() {
    let mut failures = Vec::new();
    for f in fixtures() {
        let ops = format::read_history(f.text.as_bytes(), None, f.model.read_as())
            .unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let report =
            check::check(f.model, f.consistency, ops).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let found: BTreeSet<String> = report.counts.keys().map(|k| k.name().to_string()).collect();
        if found != f.expect || report.valid != f.valid {
            failures.push(format!(
                "{}: expected {:?} (valid {}), found {:?} (valid {})\n{report}",
                f.name, f.expect, f.valid, found, report.valid
            ));
        }
        for a in &report.anomalies {
            assert!(
                !a.ops.is_empty(),
                "{}: {} names its operations",
                f.name,
                a.kind
            );
            for index in &a.ops {
                assert!(
                    a.explanation.contains(&format!("T{index}")),
                    "{}: the explanation of {} names T{index}:\n{}",
                    f.name,
                    a.kind,
                    a.explanation
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn fixtures_read_the_same_as_jsonl() {
    for f in fixtures() {
        let ops = format::read_history(f.text.as_bytes(), None, f.model.read_as()).unwrap();
        let mut jsonl = Vec::new();
        format::write_history(&ops, format::Format::Jsonl, &mut jsonl).unwrap();
        let back = format::read_history(jsonl.as_slice(), None, f.model.read_as()).unwrap();
        assert_eq!(back, ops, "{}", f.name);
        let a = check::check(f.model, f.consistency, ops).unwrap();
        let b = check::check(f.model, f.consistency, back).unwrap();
        assert_eq!(a.counts, b.counts, "{}", f.name);
    }
}
