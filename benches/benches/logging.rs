//! What logging costs on the hot paths: the same work with no subscriber,
//! then with the subscriber the binaries install (`ballast_chaos::logging`,
//! JSON lines, filter `info`, written to a sink that discards them).
//!
//! - `logging_overhead_session_command`: one `press_and_wait(Enter)` on a
//!   pooled, signed-on managed session against the demo host over loopback
//!   (the manager's `tn3270_command` span and the host's events).
//! - `logging_overhead_proxy_round_trip`: a 64-byte echo round trip
//!   through the embedded chaos proxy (its connection span and events).
//!
//! One subscriber is installed for the whole process (a global one can be
//! installed only once): the binaries' JSON formatter to a sink that
//! discards the bytes, behind a filter that is switched between `off` and
//! `info` at run time. Each group runs `filter_off` then `info_json`; and
//! because this machine's noise (±5 %) is larger than the effect, the
//! figure to quote is printed first: 30 interleaved rounds of 300
//! operations per mode (alternating which goes first), median per
//! operation, and the ratio (target: under 2 %).
//!
//! Run: `cargo bench -p ballast-benches --bench logging`

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ballast_chaos::{ChaosProxy, ProxyConfig};
use ballast_session::Aid;
use ballast_session::Secret;
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::manager::{
    EndpointConfig, LoginScript, ManagerConfig, SessionManager, Target,
};
use criterion::Criterion;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, reload};

type Filter = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// Installs the JSON formatter (to a sink) behind a reloadable filter.
fn subscriber() -> Filter {
    let (filter, handle) = reload::Layer::new(EnvFilter::new("off"));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(std::io::sink),
        )
        .init();
    handle
}

fn set(filter: &Filter, directives: &str) {
    filter
        .reload(EnvFilter::new(directives))
        .expect("the subscriber is alive");
}

/// Median per-operation time with the filter `off` and at `info`, over
/// interleaved rounds; returns (off, info) in nanoseconds.
fn interleaved(filter: &Filter, mut op: impl FnMut(bool)) -> (f64, f64) {
    let (mut off, mut info) = (Vec::new(), Vec::new());
    for round in 0..30 {
        for on in [round % 2 == 0, round % 2 == 1] {
            set(filter, if on { "info" } else { "off" });
            let start = std::time::Instant::now();
            for _ in 0..300 {
                op(on);
            }
            let per_op = start.elapsed().as_nanos() as f64 / 300.0;
            if on { &mut info } else { &mut off }.push(per_op);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut off), median(&mut info))
}

fn manager(host: &HostSimulator) -> SessionManager {
    let endpoint = EndpointConfig::new("demo", host.local_addr().to_string());
    SessionManager::new(ManagerConfig {
        endpoints: vec![endpoint],
        login: LoginScript::new()
            .wait_text("PLEASE SIGN ON")
            .type_text("DEMO")
            .type_secret(Secret::from("SECRET"))
            .key(Aid::Enter)
            .wait_text("MAIN MENU"),
        ..ManagerConfig::default()
    })
    .expect("valid manager config")
}

fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let _ = c.set_nodelay(true);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = c.read(&mut buf) {
                    if n == 0 || c.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn report(what: &str, (off, info): (f64, f64)) {
    eprintln!(
        "interleaved {what}: off {:.2} µs, info {:.2} µs, overhead {:+.2} %",
        off / 1e3,
        info / 1e3,
        (info / off - 1.0) * 100.0
    );
}

fn main() {
    let filter = subscriber();
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5));
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("host");
    let m = manager(&host);
    let mut session = m.acquire(Target::Any).expect("a signed-on session");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let proxy = ChaosProxy::new(1);
    let echo = echo_server();
    let listen = rt.block_on(async {
        let p = proxy
            .create(ProxyConfig::new("echo", echo.to_string()))
            .await
            .expect("proxy");
        p.listen_addr().expect("listen")
    });
    // One connection accepted with the filter off, one at info (its
    // connection span enabled).
    let connect = |directives: &str| {
        set(&filter, directives);
        let conn = TcpStream::connect(listen).expect("connect");
        conn.set_nodelay(true).expect("nodelay");
        let mut probe = [0u8; 1];
        (&conn).write_all(&probe).expect("write");
        (&conn).read_exact(&mut probe).expect("read");
        conn
    };
    let (mut conn_off, mut conn_info) = (connect("off"), connect("info"));
    let mut msg = [7u8; 64];

    let times = interleaved(&filter, |_| {
        session.press_and_wait(Aid::Enter).expect("a round trip");
    });
    report("session command", times);
    let times = interleaved(&filter, |on| {
        let conn = if on { &mut conn_info } else { &mut conn_off };
        conn.write_all(&msg).expect("write");
        conn.read_exact(&mut msg).expect("read");
    });
    report("proxy round trip", times);

    for (name, directives) in [("filter_off", "off"), ("info_json", "info")] {
        set(&filter, directives);
        c.benchmark_group("logging_overhead_session_command")
            .bench_function(name, |b| {
                b.iter(|| session.press_and_wait(Aid::Enter).expect("a round trip"));
            });
        let conn = if directives == "off" {
            &mut conn_off
        } else {
            &mut conn_info
        };
        c.benchmark_group("logging_overhead_proxy_round_trip")
            .bench_function(name, |b| {
                b.iter(|| {
                    conn.write_all(&msg).expect("write");
                    conn.read_exact(&mut msg).expect("read");
                });
            });
    }
    c.final_summary();
}
