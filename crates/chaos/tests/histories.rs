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
    /// Words a reported precondition must contain (`; precondition:`).
    precondition: Option<String>,
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
            precondition: header(&text, "precondition:"),
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
        if let Some(words) = &f.precondition {
            assert!(
                report
                    .preconditions
                    .iter()
                    .any(|p| p.contains(words.as_str())),
                "{}: a precondition saying {words:?}: {:?}",
                f.name,
                report.preconditions
            );
        }
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

/// One worked example of docs/chaos.md: its history, the command shown,
/// and the output shown.
struct DocExample {
    title: String,
    history: String,
    args: Vec<String>,
    exit: u8,
    output: String,
}

/// The `#### ` examples of docs/chaos.md's "Checking a history" section.
fn doc_examples() -> Vec<DocExample> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/chaos.md");
    let doc = std::fs::read_to_string(path).expect("docs/chaos.md");
    let section = doc
        .split_once("## Checking a history")
        .expect("docs/chaos.md has the section")
        .1;
    let block = |text: &str, fence: &str| -> Option<(String, usize)> {
        let start = text.find(fence)? + fence.len() + 1;
        let len = text[start..].find("\n```")?;
        Some((text[start..start + len].to_string(), start + len + 4))
    };
    let mut out = Vec::new();
    for part in section.split("\n#### ").skip(1) {
        let title = part.lines().next().unwrap_or_default().to_string();
        let (history, end) = block(part, "```clojure").expect("a history block");
        let rest = &part[end..];
        let line = rest
            .lines()
            .find(|l| l.starts_with("`ballast-check "))
            .unwrap_or_else(|| panic!("{title}: no command line"));
        let (cmd, exit) = line
            .trim_start_matches('`')
            .split_once("` (exit ")
            .unwrap_or_else(|| panic!("{title}: {line}"));
        let (output, _) = block(rest, "```text").expect("an output block");
        out.push(DocExample {
            title,
            history,
            args: cmd.split_whitespace().skip(1).map(str::to_string).collect(),
            exit: exit.trim_end_matches("):").parse().expect("an exit status"),
            output,
        });
    }
    out
}

#[test]
fn the_worked_examples_in_docs_chaos_md_are_what_the_checker_prints() {
    let examples = doc_examples();
    let classes: BTreeSet<String> = examples
        .iter()
        .map(|e| e.title.split_whitespace().next().unwrap().to_string())
        .collect();
    for class in [
        "G0",
        "G1a",
        "G1b",
        "G1c",
        "G-single",
        "G2-item",
        "lost-update",
        "internal",
    ] {
        assert!(
            classes.contains(class),
            "an example of {class}: {classes:?}"
        );
    }
    for e in &examples {
        let arg = |name: &str| {
            e.args
                .windows(2)
                .find(|w| w[0] == name)
                .map(|w| w[1].clone())
        };
        let model = Model::from_name(&arg("--model").unwrap_or("list-append".into()))
            .unwrap_or_else(|| panic!("{}: a model", e.title));
        let consistency = ConsistencyModel::from_name(
            &arg("--consistency-model").unwrap_or("strict-serializable".into()),
        )
        .unwrap_or_else(|| panic!("{}: a consistency model", e.title));
        let file = e.args.last().expect("a file name");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/histories")
            .join(file);
        let on_disk = std::fs::read_to_string(&fixture).unwrap_or_else(|_| panic!("{file}"));
        let ops_lines: Vec<&str> = on_disk
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(';'))
            .collect();
        assert_eq!(
            e.history,
            ops_lines.join("\n"),
            "{}: the fixture as shown",
            e.title
        );
        let ops = format::read_history(e.history.as_bytes(), None, model.read_as())
            .unwrap_or_else(|err| panic!("{}: {err}", e.title));
        let report = check::check(model, consistency, ops).expect("a well-formed history");
        assert_eq!(
            report.to_string().trim_end(),
            e.output,
            "{}: the output shown",
            e.title
        );
        assert_eq!(
            u8::from(!report.valid),
            e.exit,
            "{}: the exit status",
            e.title
        );
    }
}

proptest::proptest! {
    /// The CI half of the `history` fuzz target: any fixture with bytes
    /// flipped, cut or inserted either reads back (and then checks under its
    /// model without a panic) or fails with the number of a line it has.
    #[test]
    fn mangled_fixtures_are_checked_or_refused_with_a_line_number(
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>(), 0u8..3),
            1..8,
        ),
    ) {
        let all = fixtures();
        let f = &all[pick.index(all.len())];
        let mut bytes = f.text.clone().into_bytes();
        for (at, byte, how) in edits {
            let i = at.index(bytes.len().max(1));
            match how {
                0 if i < bytes.len() => bytes[i] = byte,
                1 if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => bytes.insert(i.min(bytes.len()), byte),
            }
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        match format::read_history(bytes.as_slice(), None, f.model.read_as()) {
            Err(e) => proptest::prop_assert!(e.line >= 1 && e.line <= lines, "{}: {e}", f.name),
            Ok(ops) => {
                if let Ok(report) = check::check(f.model, f.consistency, ops) {
                    let _ = report.to_string();
                }
            }
        }
    }
}
