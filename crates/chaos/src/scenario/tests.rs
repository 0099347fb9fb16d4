use super::*;

const GOOD: &str = r#"
name = "x"
category = "latency"
description = "d"

[[fault]]
name = "slow"
duration_ms = 1000

[[fault.toxic]]
type = "latency"
attributes = { latency = 100 }
"#;

fn bad(text: &str) -> ScenarioError {
    match parse("bad.toml", text) {
        Ok(s) => panic!("parsed {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn every_built_in_scenario_parses_validates_and_is_named_once() {
    let catalog = catalog();
    assert_eq!(catalog.len(), CATALOG.len());
    let mut names: Vec<&str> = catalog.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), catalog.len(), "duplicate scenario names");
    for (s, (file, _)) in catalog.iter().zip(CATALOG) {
        assert_eq!(
            format!("{}.toml", s.name),
            *file,
            "file named after its scenario"
        );
        assert!(
            !s.description.contains('\n'),
            "{}: one-line description",
            s.name
        );
        for t in s.timeline.iter().flat_map(|f| &f.toxics) {
            t.validate().unwrap_or_else(|e| panic!("{}: {e}", s.name));
        }
    }
}

#[test]
fn a_timeline_may_hold_overlapping_faults() {
    let s = find("slow-then-reset").expect("in the catalog");
    let [slow, reset] = &s.timeline[..] else {
        panic!("two faults: {:?}", s.timeline)
    };
    assert!(
        reset.start < slow.end() && slow.start < reset.end(),
        "they overlap"
    );
    assert_eq!(s.timeline_len(), Duration::from_millis(2_000));
    assert_eq!(s.total(), Duration::from_millis(6_000));
}

#[test]
fn toxics_use_toxiproxys_vocabulary_and_are_named_after_their_fault() {
    let s = parse("good.toml", GOOD).expect("valid");
    let t = &s.timeline[0].toxics[0];
    assert_eq!(t.name, "slow.latency_downstream");
    assert_eq!(
        t.to_json()["attributes"]["latency"],
        serde_json::json!(100),
        "Toxiproxy attribute names and units"
    );
    assert_eq!(s.sla, ScenarioSla::default());
}

#[test]
fn with_total_scales_every_phase() {
    let s = find("slow-then-reset").expect("in the catalog");
    let half = s.clone().with_total(Duration::from_secs(3));
    assert_eq!(half.total(), Duration::from_secs(3));
    assert_eq!(half.timeline[1].start, s.timeline[1].start / 2);
    assert_eq!(half.sla, s.sla, "the SLA stays");
}

#[test]
fn a_misspelt_key_is_named_with_its_line_and_a_suggestion() {
    let e = bad(&GOOD.replace("duration_ms", "duraton_ms"));
    assert_eq!(e.field.as_deref(), Some("duraton_ms"), "{e}");
    assert_eq!(e.suggestion.as_deref(), Some("duration_ms"), "{e}");
    assert_eq!(e.line, 8, "{e}");
    let text = e.to_string();
    assert!(text.starts_with("bad.toml:8:1:"), "{text}");
    assert!(text.contains("did you mean `duration_ms`?"), "{text}");
}

#[test]
fn a_misspelt_toxic_type_gets_a_suggestion() {
    let e = bad(&GOOD.replace("\"latency\"", "\"latncy\""));
    assert_eq!(e.field.as_deref(), Some("type"));
    assert_eq!(e.suggestion.as_deref(), Some("latency"));
    assert_eq!(e.line, 11, "{e}");
}

#[test]
fn a_misspelt_attribute_gets_a_suggestion() {
    let e = bad(&GOOD.replace("{ latency = 100 }", "{ latecy = 100 }"));
    assert_eq!(e.field.as_deref(), Some("latecy"), "{e}");
    assert_eq!(e.suggestion.as_deref(), Some("latency"), "{e}");
    assert_eq!(e.line, 12, "{e}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_key_and_line() {
    let e = bad(&GOOD.replace("duration_ms = 1000", "duration_ms = \"long\""));
    assert_eq!(e.field.as_deref(), Some("duration_ms"), "{e}");
    assert_eq!(e.line, 8, "{e}");
}

#[test]
fn an_out_of_range_attribute_is_refused_with_the_toxic_error() {
    let e = bad(&GOOD.replace("{ latency = 100 }", "{ latency = -5 }"));
    assert_eq!(e.field.as_deref(), Some("attributes"), "{e}");
    assert!(e.message.contains("latency"), "{e}");
}

#[test]
fn a_missing_key_is_named() {
    let e = bad(&GOOD.replace("category = \"latency\"\n", ""));
    assert_eq!(e.field.as_deref(), Some("category"), "{e}");
}

#[test]
fn a_bad_stream_gets_a_suggestion() {
    let e = bad(&GOOD.replace(
        "type = \"latency\"",
        "type = \"latency\"\nstream = \"upstrem\"",
    ));
    assert_eq!(e.field.as_deref(), Some("stream"));
    assert_eq!(e.suggestion.as_deref(), Some("upstream"));
}

#[test]
fn a_syntax_error_has_a_line() {
    let e = bad("name = \"x\"\ncategory = = 3\n");
    assert_eq!(e.line, 2, "{e}");
}

#[test]
fn a_scenario_without_faults_or_with_a_fault_named_twice_is_refused() {
    let e = bad("name = \"x\"\ncategory = \"c\"\ndescription = \"d\"\n");
    assert_eq!(e.field.as_deref(), Some("fault"), "{e}");
    let twice = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[fault]]").unwrap_or(0)..]);
    let e = bad(&twice);
    assert!(e.message.contains("named twice"), "{e}");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let e = load_file(std::path::Path::new("/nonexistent/s.toml")).expect_err("no such file");
    assert_eq!(e.file, "/nonexistent/s.toml");
    assert_eq!(e.line, 0);
}

#[test]
fn suggestions_are_only_for_close_words() {
    assert_eq!(
        suggest("latncy", TOXIC_TYPES.iter().copied()),
        Some("latency")
    );
    assert_eq!(suggest("zzzzzz", TOXIC_TYPES.iter().copied()), None);
}

#[test]
fn a_sweep_level_sets_the_attribute_on_every_toxic_that_has_it() {
    let s = find("latency-spike").expect("in the catalog");
    let level = s
        .clone()
        .with_attribute("latency", 50.0)
        .expect("latency toxics");
    assert_eq!(level.name, "latency-spike@latency=50");
    for t in level.timeline.iter().flat_map(|f| &f.toxics) {
        assert_eq!(t.to_json()["attributes"]["latency"], serde_json::json!(50));
        assert_eq!(
            t.to_json()["attributes"]["jitter"],
            serde_json::json!(50),
            "others kept"
        );
    }
    let loss = find("packet-loss")
        .expect("in the catalog")
        .with_attribute("probability", 0.05)
        .expect("loss toxics");
    assert_eq!(
        loss.timeline[0].toxics[0].to_json()["attributes"]["probability"],
        serde_json::json!(0.05)
    );
    assert!(
        s.clone().with_attribute("rate", 4.0).is_err(),
        "no bandwidth toxic to sweep"
    );
    assert!(s.with_attribute("latency", -1.0).is_err(), "out of range");
}

const RESOURCE: &str = r#"
name = "r"
category = "resource"
description = "d"

[[fault]]
name = "squeeze"
duration_ms = 1000

[[fault.resource]]
type = "cpu_hog"
threads = 2
duty_percent = 50

[[fault.resource]]
type = "memory_balloon"
cap_mb = 64
rate_mb_per_sec = 32

[[fault.resource]]
type = "fd_exhaustion"
reserve = 16
"#;

#[test]
fn a_fault_may_be_resource_faults_only() {
    let s = parse("r.toml", RESOURCE).unwrap();
    let f = &s.timeline[0];
    assert!(f.toxics.is_empty());
    assert_eq!(
        f.resources,
        [
            ResourceSpec::CpuHog {
                threads: 2,
                duty_percent: 50
            },
            ResourceSpec::MemoryBalloon {
                cap_mb: 64,
                rate_mb_per_sec: 32
            },
            ResourceSpec::FdExhaustion { reserve: 16 },
        ]
    );
}

#[test]
fn a_bad_resource_fault_names_its_key_and_line() {
    let e = bad(&RESOURCE.replace("type = \"cpu_hog\"", "type = \"cpu_hug\""));
    assert!(e.message.contains("cpu_hug"), "{e}");
    assert_eq!(e.line, 11, "{e}");
    let e = bad(&RESOURCE.replace("reserve = 16", "reserve = 16\nthreads = 1"));
    assert!(e.message.contains("threads"), "{e}");
    let e = bad(&RESOURCE.replace("cap_mb = 64\n", ""));
    assert!(e.message.contains("cap_mb"), "{e}");
}

#[test]
fn the_catalog_is_every_scenario_file_sorted_by_name() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = CATALOG.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(embedded, on_disk);
}

fn with_resource(table: &str) -> Result<Scenario, ScenarioError> {
    parse(
        "r.toml",
        &format!(
            "name = \"r\"\ncategory = \"resource\"\ndescription = \"d\"\n[[fault]]\nname = \"f\"\nduration_ms = 10\n[[fault.resource]]\n{table}\n"
        ),
    )
}

#[test]
fn resource_tables_out_of_range_are_refused_naming_the_field() {
    for (table, field) in [
        (
            "type = \"cpu_hog\"\nthreads = 0\nduty_percent = 50",
            "threads",
        ),
        (
            "type = \"cpu_hog\"\nthreads = 65\nduty_percent = 50",
            "threads",
        ),
        (
            "type = \"cpu_hog\"\nthreads = 2\nduty_percent = 0",
            "duty_percent",
        ),
        (
            "type = \"cpu_hog\"\nthreads = 2\nduty_percent = 101",
            "duty_percent",
        ),
        (
            "type = \"memory_balloon\"\ncap_mb = 0\nrate_mb_per_sec = 1",
            "cap_mb",
        ),
        (
            "type = \"memory_balloon\"\ncap_mb = 99999999\nrate_mb_per_sec = 1",
            "cap_mb",
        ),
        (
            "type = \"memory_balloon\"\ncap_mb = 8\nrate_mb_per_sec = 0",
            "rate_mb_per_sec",
        ),
        ("type = \"fd_exhaustion\"\nreserve = 9999999", "reserve"),
    ] {
        let e = with_resource(table).expect_err(table);
        assert_eq!(e.field.as_deref(), Some(field), "{table}: {e}");
        assert!(e.line > 0, "{e}");
    }
}

#[test]
fn resource_tables_in_range_parse() {
    let s = with_resource("type = \"cpu_hog\"\nthreads = 64\nduty_percent = 100").unwrap();
    assert_eq!(
        s.timeline[0].resources,
        [ResourceSpec::CpuHog {
            threads: 64,
            duty_percent: 100
        }]
    );
}

#[test]
fn in_process_resource_tables_parse_and_are_validated() {
    let s =
        with_resource("type = \"lock_contention\"\nthreads = 2\nduty_percent = 60\nhold_ms = 25")
            .unwrap();
    assert_eq!(
        s.timeline[0].resources,
        [ResourceSpec::LockContention {
            threads: 2,
            duty_percent: 60,
            hold_ms: 25
        }]
    );
    for (table, spec) in [
        (
            "type = \"thread_starvation\"\nhogs = 3",
            ResourceSpec::ThreadStarvation { hogs: 3 },
        ),
        (
            "type = \"disk_slow\"\ndelay_ms = 200",
            ResourceSpec::DiskSlow { delay_ms: 200 },
        ),
        (
            "type = \"disk_fail\"\nprobability = 0.5",
            ResourceSpec::DiskFail { probability: 0.5 },
        ),
        ("type = \"disk_full\"", ResourceSpec::DiskFull),
    ] {
        assert_eq!(with_resource(table).unwrap().timeline[0].resources, [spec]);
    }
    for (table, field) in [
        (
            "type = \"lock_contention\"\nthreads = 2\nduty_percent = 60\nhold_ms = 0",
            "hold_ms",
        ),
        (
            "type = \"lock_contention\"\nthreads = 0\nduty_percent = 60\nhold_ms = 5",
            "threads",
        ),
        ("type = \"thread_starvation\"\nhogs = 65", "hogs"),
        ("type = \"disk_slow\"\ndelay_ms = 0", "delay_ms"),
        ("type = \"disk_fail\"\nprobability = 1.5", "probability"),
        ("type = \"disk_fail\"\nprobability = 0.0", "probability"),
    ] {
        let e = with_resource(table).expect_err(table);
        assert_eq!(e.field.as_deref(), Some(field), "{table}: {e}");
    }
}

fn with_target(table: &str) -> Result<Scenario, ScenarioError> {
    parse(
        "t.toml",
        &format!(
            "name = \"t\"\ncategory = \"software\"\ndescription = \"d\"\n[[fault]]\nname = \"f\"\nduration_ms = 10\n[[fault.target]]\n{table}\n"
        ),
    )
}

#[test]
fn target_tables_parse_and_are_validated() {
    for (table, action) in [
        ("type = \"kill\"", TargetAction::Kill),
        ("type = \"restart\"", TargetAction::Restart),
        (
            "type = \"misroute\"\nto = \"db\"",
            TargetAction::Misroute { to: "db".into() },
        ),
        (
            "type = \"clock_jump\"\noffset_ms = -30000",
            TargetAction::ClockJump {
                offset_ms: -30_000,
                permanent: false,
            },
        ),
        (
            "type = \"clock_jump\"\noffset_ms = 5000\npermanent = true",
            TargetAction::ClockJump {
                offset_ms: 5_000,
                permanent: true,
            },
        ),
        (
            "type = \"clock_skew\"\nrate = 1.5",
            TargetAction::ClockSkew { rate: 1.5 },
        ),
        (
            "type = \"expired_certificate\"",
            TargetAction::ExpiredCertificate,
        ),
    ] {
        let s = with_target(table).unwrap_or_else(|e| panic!("{table}: {e}"));
        assert_eq!(s.timeline[0].targets, [action]);
    }
    for (table, field) in [
        ("type = \"misroute\"\nto = \"\"", "to"),
        ("type = \"clock_skew\"\nrate = 0.0", "rate"),
        ("type = \"clock_skew\"\nrate = 5000.0", "rate"),
        (
            "type = \"clock_jump\"\noffset_ms = 99999999999999",
            "offset_ms",
        ),
    ] {
        let e = with_target(table).expect_err(table);
        assert_eq!(e.field.as_deref(), Some(field), "{table}: {e}");
    }
    assert!(with_target("type = \"explode\"").is_err());
}

#[test]
fn protocol_toxics_are_scenario_toxics() {
    let s = parse(
        "p.toml",
        r#"
name = "p"
category = "protocol"
description = "d"
[[fault]]
name = "garbage"
duration_ms = 10
[[fault.toxic]]
type = "inject"
attributes = { hex = "FFEF", position = "after_record", every = 3, repeat = 2 }
[[fault.toxic]]
type = "truncate_record"
attributes = { keep = 10 }
"#,
    )
    .unwrap();
    assert_eq!(s.timeline[0].toxics[0].kind.type_name(), "inject");
    assert_eq!(
        s.timeline[0].toxics[1].kind,
        crate::ToxicKind::TruncateRecord { keep: 10, every: 1 }
    );
    let e = parse(
        "p.toml",
        "name = \"p\"\ncategory = \"protocol\"\ndescription = \"d\"\n[[fault]]\nname = \"g\"\nduration_ms = 1\n[[fault.toxic]]\ntype = \"inject\"\nattributes = { hex = \"00\", postion = \"first\" }\n",
    )
    .unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("position"));
}

fn with_load(table: &str) -> Result<Scenario, ScenarioError> {
    parse(
        "l.toml",
        &format!(
            "name = \"l\"\ncategory = \"load\"\ndescription = \"d\"\n[[fault]]\nname = \"f\"\nduration_ms = 10\n[[fault.load]]\n{table}\n"
        ),
    )
}

#[test]
fn load_tables_parse_and_are_validated() {
    let s = with_load("type = \"clients\"\ncount = 40\nthink_time_ms = 0").unwrap();
    assert_eq!(
        s.timeline[0].loads,
        [LoadSpec {
            link: None,
            load: Load::Clients {
                count: 40,
                think_time_ms: Some(0)
            }
        }]
    );
    for (table, load) in [
        (
            "type = \"reconnect_storm\"\nthreads = 4\nmax_connections = 1000",
            Load::ReconnectStorm {
                threads: 4,
                max_connections: 1000,
            },
        ),
        (
            "type = \"slowloris\"\nconnections = 50\ninterval_ms = 1000",
            Load::Slowloris {
                connections: 50,
                interval_ms: 1000,
            },
        ),
        (
            "type = \"syn_burst\"\nconnections = 200",
            Load::SynBurst { connections: 200 },
        ),
    ] {
        assert_eq!(with_load(table).unwrap().timeline[0].loads[0].load, load);
    }
    let on_b = with_load("type = \"syn_burst\"\nlink = \"b\"\nconnections = 2").unwrap();
    assert_eq!(on_b.timeline[0].loads[0].link.as_deref(), Some("b"));
    for (table, field) in [
        ("type = \"clients\"\ncount = 0", "count"),
        ("type = \"clients\"\ncount = 257", "count"),
        (
            "type = \"reconnect_storm\"\nthreads = 0\nmax_connections = 1",
            "threads",
        ),
        (
            "type = \"reconnect_storm\"\nthreads = 1\nmax_connections = 0",
            "max_connections",
        ),
        (
            "type = \"slowloris\"\nconnections = 1\ninterval_ms = 0",
            "interval_ms",
        ),
        ("type = \"syn_burst\"\nconnections = 5000", "connections"),
    ] {
        let e = with_load(table).expect_err(table);
        assert_eq!(e.field.as_deref(), Some(field), "{table}: {e}");
    }
}
