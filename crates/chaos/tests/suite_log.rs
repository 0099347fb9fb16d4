//! One JSON log follows a scenario: its phases, its faults and its
//! verdict, each line in the `scenario` span. Alone in its test binary:
//! the capture is a thread-scoped subscriber, and tracing caches each
//! event's interest per call site, so other tests running the same
//! coordinator at the same time could hide its lines.
#![cfg(feature = "proxy")]

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use ballast_chaos::history::Op;
use ballast_chaos::logging::{self, Captured, LogFormat};
use ballast_chaos::scenario;
use ballast_chaos::suite::{
    self, ClientContext, EmbeddedProxy, Link, RunOptions, SuiteError, Target, Workload,
};

/// A target that is a bare listener.
struct Listener(Option<TcpListener>);

impl Target for Listener {
    type Key = u64;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        let l = TcpListener::bind("127.0.0.1:0").map_err(|e| SuiteError::Target(e.to_string()))?;
        let addr: SocketAddr = l
            .local_addr()
            .map_err(|e| SuiteError::Target(e.to_string()))?;
        self.0 = Some(l);
        Ok(vec![Link::new("svc", addr)])
    }

    fn stop(&mut self) {
        self.0 = None;
    }

    fn final_state(&mut self) -> Result<HashMap<u64, u64>, SuiteError> {
        Ok(HashMap::new())
    }
}

/// Reads until told to stop.
struct Reader;

impl Workload<u64, u64> for Reader {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        while ctx.running() {
            ctx.history
                .invoke(ctx.process, Op::Read { key: 1 })
                .ok(None);
            ctx.think();
        }
        Ok(())
    }
}

#[test]
fn one_json_log_follows_a_scenario_through_its_phases_and_faults() {
    let sink = Captured::new();
    let guard = logging::scoped(LogFormat::Json, "info", sink.clone()).expect("a subscriber");
    let proxy = EmbeddedProxy::new(1).expect("runtime");
    let s = scenario::find("latency-spike")
        .expect("built in")
        .with_total(Duration::from_millis(900));
    let mut opts = RunOptions::new(3);
    opts.clients = 2;
    let run = suite::run_scenario(&mut Listener(None), &Reader, &s, &[&proxy], &opts);
    drop(guard);
    assert_eq!(run.error, None);
    let lines: Vec<serde_json::Value> = sink
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .filter(|l: &serde_json::Value| l["span"]["scenario"] == "latency-spike")
        .collect();
    let said: Vec<String> = lines
        .iter()
        .map(|l| {
            let f = &l["fields"];
            match f["phase"].as_str() {
                Some(p) => format!("phase {p}"),
                None => f["message"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect();
    assert_eq!(
        said,
        [
            "phase baseline",
            "phase faults",
            "fault on",
            "fault off",
            "phase recovery",
            "scenario judged"
        ],
        "{}",
        sink.text()
    );
    assert_eq!(lines[0]["span"]["seed"], 3);
}
