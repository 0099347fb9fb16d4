//! The multi-host path on loopback: the suite drives its faults through
//! `--proxy-api`, a `ballast-proxy` started as a separate process, with the
//! Toxiproxy HTTP API only.
#![cfg(feature = "proxy")]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ballast_chaos::history::Op;
use ballast_chaos::scenario;
use ballast_chaos::suite::{
    self, ClientContext, FaultInjector, Link, RunOptions, SuiteError, Target, ToxiproxyApi,
    Workload,
};
use common::{Echo, ProxyBin, agent, call};

/// An echo server; it holds no state.
struct EchoTarget(Option<Echo>);

impl Target for EchoTarget {
    type Key = u64;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        let echo = Echo::start();
        let link = Link::new("echo", echo.addr);
        self.0 = Some(echo);
        Ok(vec![link])
    }

    fn stop(&mut self) {
        self.0 = None;
    }

    fn final_state(&mut self) -> Result<HashMap<u64, u64>, SuiteError> {
        Ok(HashMap::new())
    }
}

/// Pings through the proxy on a fresh connection per operation.
struct Pinger;

fn ping(ctx: &ClientContext<u64, u64>) -> std::io::Result<()> {
    let addr = ctx.addr("echo").ok_or(std::io::ErrorKind::NotFound)?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"ping")?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf)?;
    if &buf == b"ping" {
        Ok(())
    } else {
        Err(std::io::ErrorKind::InvalidData.into())
    }
}

impl Workload<u64, u64> for Pinger {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        while ctx.running() {
            let op = ctx.history.invoke(ctx.process, Op::Read { key: 1 });
            match ping(ctx) {
                Ok(()) => op.ok(None),
                Err(e) => op.info(e.to_string()),
            }
            ctx.think();
        }
        Ok(())
    }
}

#[test]
fn faults_go_through_a_separate_ballast_proxy_and_are_healed_there() {
    let bin = ProxyBin::start(&["-seed", "5"]);
    let api = ToxiproxyApi::connect(&bin.url("")).expect("the API answers");
    assert_eq!(api.describe(), bin.url(""));
    let s = scenario::find("connection-reset")
        .expect("built in")
        .with_total(Duration::from_millis(2_400));
    let mut opts = RunOptions::new(5);
    opts.clients = 2;
    let run = suite::run_scenario(&mut EchoTarget(None), &Pinger, &s, &[&api], &opts);
    assert_eq!(run.error, None);
    assert!(
        run.performance.during.error_rate.is_some_and(|e| e > 0.5),
        "the remote proxy reset the pings: {:?}",
        run.performance.during
    );
    // Before the fault the pings pass (a loaded machine may time one out).
    assert!(
        run.performance.baseline.error_rate.is_some_and(|e| e < 0.5),
        "{:?}",
        run.performance
    );
    assert!(run.performance.recovered.is_some(), "{}", run.summary());
    let (status, proxies) = call(&agent(), "GET", &bin.url("/proxies"), None);
    assert_eq!(status, 200);
    assert_eq!(proxies, serde_json::json!({}), "the proxy was removed");
}

#[test]
fn an_unreachable_proxy_api_is_one_clear_error() {
    let e = ToxiproxyApi::connect("http://127.0.0.1:1").expect_err("nothing listens on port 1");
    let text = e.to_string();
    assert!(
        text.starts_with("fault injector http://127.0.0.1:1: "),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    let e = ToxiproxyApi::connect("127.0.0.1:8474").expect_err("not a URL");
    assert!(e.to_string().contains("http://"), "{e}");
}

#[test]
fn repoint_through_the_api_forwards_new_connections_to_the_new_upstream() {
    let bin = ProxyBin::start(&["-seed", "6"]);
    let api = ToxiproxyApi::connect(&bin.url("")).expect("the API answers");
    let (first, second) = (Echo::start(), Echo::start());
    let addr = api.front("moved", first.addr).unwrap();
    let echo = |addr| -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"hi")?;
        let mut reply = [0u8; 2];
        s.read_exact(&mut reply)?;
        Ok(reply.to_vec())
    };
    assert_eq!(echo(addr).unwrap(), b"hi");
    api.repoint("moved", second.addr).unwrap();
    let (status, proxy) = call(&agent(), "GET", &bin.url("/proxies/moved"), None);
    assert_eq!(status, 200);
    assert_eq!(proxy["upstream"], second.addr.to_string());
    assert_eq!(
        echo(addr).unwrap(),
        b"hi",
        "same listen address after the move"
    );
    api.remove("moved").unwrap();
}
