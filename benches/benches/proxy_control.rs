//! The control plane under load: adding and removing a toxic through the
//! HTTP API while thousands of connections stream through the proxy.
//!
//! The proxy and its API run in this process; the load runs in a child
//! process (this same binary, started with `BALLAST_PROXY_LOADGEN`): a sink
//! the proxy forwards to, and N client connections that each write a small
//! chunk every `interval` ms for as long as the measurement lasts. Two
//! processes because one proxied connection is two sockets in the proxy and
//! two in the load (client and sink side): 10 000 connections would need
//! 40 000 descriptors in one process.
//!
//! `BALLAST_CONTROL_CONNECTIONS` (default 9 900: the proxy holds two
//! sockets per connection, and this machine's hard limit is 20 000
//! descriptors per process), `BALLAST_CONTROL_INTERVAL_MS` (default 100),
//! `BALLAST_CONTROL_SAMPLES` (default 300 add/remove pairs).
//!
//! Printed: connections open, the load's write rate, and add / remove
//! p50, p99 and max; the criterion group times one add + remove pair.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ballast_chaos::ChaosProxy;
use ballast_chaos::ProxyLimits;
use ballast_chaos::api::{ApiConfig, ApiServer};
use criterion::Criterion;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream as TokioStream};

const LOADGEN_ENV: &str = "BALLAST_PROXY_LOADGEN";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var_os(LOADGEN_ENV).is_some() {
        loadgen();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}

/// The child: a sink, then N streaming clients once told where the proxy is.
fn loadgen() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sink = TcpListener::bind("127.0.0.1:0").await.expect("sink");
        println!("sink {}", sink.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut s, _)) = sink.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
                });
            }
        });
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .expect("proxy address");
        let proxy: SocketAddr = line.trim().parse().expect("an address");
        let n = env_or("BALLAST_CONTROL_CONNECTIONS", 9_900);
        let interval = Duration::from_millis(env_or("BALLAST_CONTROL_INTERVAL_MS", 100));
        let written = Arc::new(AtomicU64::new(0));
        let mut open = 0u64;
        for i in 0..n {
            let mut c = match TokioStream::connect(proxy).await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("proxy_control: connection {i} failed: {e}");
                    break;
                }
            };
            open += 1;
            let written = Arc::clone(&written);
            tokio::spawn(async move {
                // Spread the writes over the interval.
                tokio::time::sleep(interval.mul_f64((i % 100) as f64 / 100.0)).await;
                let chunk = [7u8; 256];
                let mut tick = tokio::time::interval(interval);
                while c.write_all(&chunk).await.is_ok() {
                    written.fetch_add(1, Ordering::Relaxed);
                    tick.tick().await;
                }
            });
        }
        println!("open {open}");
        let started = Instant::now();
        let before = written.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rate =
            (written.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
        println!("rate {rate:.0}");
        // Stream until the parent closes stdin (or kills this process).
        let _ =
            tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await;
    });
}

struct Load {
    child: Child,
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One API request over a fresh connection; the status line's code.
fn request(api: SocketAddr, method: &str, path: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(api).expect("api");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("api write");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).expect("api read");
    resp.get(9..12)
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

const TOXIC: &str = r#"{"name":"lag","type":"latency","attributes":{"latency":1}}"#;

fn add_remove(api: SocketAddr) -> (Duration, Duration) {
    let t = Instant::now();
    assert_eq!(request(api, "POST", "/proxies/load/toxics", TOXIC), 200);
    let added = t.elapsed();
    let t = Instant::now();
    assert_eq!(request(api, "DELETE", "/proxies/load/toxics/lag", ""), 204);
    (added, t.elapsed())
}

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100], v[v.len() - 1])
}

/// Creates proxy `load` in front of the sink; its listen address.
fn create_load_proxy(api: SocketAddr, sink: &str) -> String {
    let body = format!(r#"{{"name":"load","upstream":"{sink}","listen":"127.0.0.1:0"}}"#);
    let mut s = TcpStream::connect(api).expect("api");
    let req = format!(
        "POST /proxies HTTP/1.1\r\nHost: b\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("create");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("created");
    resp.split("\"listen\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("listen address")
        .to_owned()
}

fn bench(c: &mut Criterion) {
    let rt = ballast_benches::net::runtime();
    let limits = ProxyLimits {
        max_connections: 20_000,
        ..ProxyLimits::default()
    };
    let proxy = ChaosProxy::with_limits(1, limits);
    let server = rt.block_on(async {
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        ApiServer::bind(addr, proxy, ApiConfig::default())
            .await
            .expect("api")
    });
    let api = server.addr();
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .env(LOADGEN_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("load generator");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut stdin = child.stdin.take().expect("stdin");
    let load = Load { child };
    let mut line = String::new();
    out.read_line(&mut line).expect("sink line");
    let sink = line
        .trim()
        .strip_prefix("sink ")
        .expect("sink address")
        .to_owned();
    let listen = create_load_proxy(api, &sink);
    writeln!(stdin, "{listen}").expect("tell the load");
    for prefix in ["open ", "rate "] {
        line.clear();
        out.read_line(&mut line).expect("load report");
        println!(
            "proxy_control: {prefix}{}",
            line.trim().trim_start_matches(prefix)
        );
    }
    let samples = env_or("BALLAST_CONTROL_SAMPLES", 300) as usize;
    let (adds, removes): (Vec<_>, Vec<_>) = (0..samples).map(|_| add_remove(api)).unzip();
    let (a50, a99, amax) = percentiles(adds);
    let (r50, r99, rmax) = percentiles(removes);
    println!("proxy_control: add toxic p50 {a50:?} p99 {a99:?} max {amax:?}");
    println!("proxy_control: remove toxic p50 {r50:?} p99 {r99:?} max {rmax:?}");
    let mut g = c.benchmark_group("proxy_control");
    g.sample_size(20);
    g.bench_function("add_and_remove_toxic_under_load", |b| {
        b.iter(|| add_remove(api));
    });
    g.finish();
    drop(stdin);
    drop(load);
    drop(server);
}
