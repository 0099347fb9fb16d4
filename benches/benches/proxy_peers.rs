//! ballast-proxy against its peers in one run: noxious (the Rust port of
//! Toxiproxy, its core library in this process), socat (a plain relay, no
//! toxics) and `toxiproxy-server` when it is on `PATH` (there is no Go
//! toolchain on the development machine, so it is usually absent and the
//! run says so).
//!
//! Three conditions, the same for every peer:
//! - `none`: no toxic (ballast-proxy splices in the kernel);
//! - `latency`: a 1 ms `latency` toxic on the downstream (the user-space
//!   path); the round trip's figure is what the proxy adds beyond the 1 ms;
//! - `bandwidth`: a `bandwidth` toxic of 10 000 000 KB/s (10 GB/s) on the upstream, high
//!   enough not to bind, so it measures the shaping path's own cost.
//!
//! Printed before the groups: 64-byte round-trip p50/p99 added over a
//! direct connection, per peer and condition (2 000 samples). Groups:
//! `proxy_peers_throughput/<condition>/<peer>` (8 MiB per iteration, client
//! → server) and `proxy_peers_round_trip/<condition>/<peer>`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use ballast_benches::net::{
    ROUND_TRIP_BYTES, STREAM_BYTES, Spawned, connect, echo, free_port, percentiles, round_trip,
    serve, sink, socat, stream_once, wait_listening,
};
use ballast_chaos::{ChaosProxy, ProxyConfig, Stream, Toxic, ToxicKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LATENCY_MS: u64 = 1;
const RATE_KB: u64 = 10_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    None,
    Latency,
    Bandwidth,
}

impl Condition {
    const ALL: [Self; 3] = [Self::None, Self::Latency, Self::Bandwidth];

    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Latency => "latency",
            Self::Bandwidth => "bandwidth",
        }
    }

    /// The nominal delay the toxic adds to a round trip.
    fn nominal(self) -> Duration {
        match self {
            Self::Latency => Duration::from_millis(LATENCY_MS),
            _ => Duration::ZERO,
        }
    }
}

/// ballast-proxy in this process: one proxy per upstream and condition.
async fn ballast(
    proxy: &ChaosProxy,
    name: &str,
    upstream: SocketAddr,
    cond: Condition,
) -> SocketAddr {
    let mut cfg = ProxyConfig::new(name, upstream.to_string());
    match cond {
        Condition::None => {}
        Condition::Latency => {
            cfg = cfg.toxic(Toxic::new(ToxicKind::Latency {
                latency_ms: LATENCY_MS,
                jitter_ms: 0,
            }));
        }
        Condition::Bandwidth => {
            cfg = cfg.toxic(
                Toxic::new(ToxicKind::Bandwidth {
                    rate_kb_per_sec: RATE_KB,
                })
                .stream(Stream::Upstream),
            );
        }
    }
    let p = proxy.create(cfg).await.expect("ballast proxy");
    p.listen_addr().expect("listen")
}

/// noxious's core library in this process, with its initial toxics.
async fn noxious(name: &str, upstream: SocketAddr, cond: Condition) -> SocketAddr {
    use noxious::proxy::{ProxyConfig as NConfig, ProxyRunner, Runner, Toxics};
    use noxious::toxic::{StreamDirection, Toxic as NToxic, ToxicKind as NKind};
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let config = NConfig {
        name: name.to_owned(),
        listen: listen.to_string(),
        upstream: upstream.to_string(),
        enabled: true,
        rand_seed: Some(1),
    };
    let toxic = |kind, direction| NToxic {
        kind,
        name: format!("{name}_toxic"),
        toxicity: 1.0,
        direction,
    };
    let mut toxics = Toxics::empty();
    match cond {
        Condition::None => {}
        Condition::Latency => toxics.downstream.push(toxic(
            NKind::Latency {
                latency: LATENCY_MS,
                jitter: 0,
            },
            StreamDirection::Downstream,
        )),
        Condition::Bandwidth => toxics.upstream.push(toxic(
            NKind::Bandwidth { rate: RATE_KB },
            StreamDirection::Upstream,
        )),
    }
    let (listener, info) =
        ProxyRunner::initialize_proxy::<noxious::socket::TcpListener>(config, toxics)
            .await
            .expect("noxious proxy");
    let (_events, receiver) = bmrng::channel(1);
    let (stop, _stopper) = noxious::signal::Stop::new();
    let (_close, closer) = noxious::signal::Close::new();
    tokio::spawn(async move {
        // Keep the event sender and stopper alive with the proxy.
        let _keep = (_events, _stopper, _close);
        let _ = ProxyRunner::run_proxy(listener, info, receiver, stop, closer).await;
    });
    listen
}

/// `toxiproxy-server` from `PATH`, with one proxy per upstream and
/// condition created through its API.
fn toxiproxy(upstreams: &[(&str, SocketAddr, Condition)]) -> Option<(Spawned, Vec<SocketAddr>)> {
    let api_port = free_port();
    let child = Command::new("toxiproxy-server")
        .args(["-host", "127.0.0.1", "-port", &api_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let guard = Spawned(child);
    let api: SocketAddr = format!("127.0.0.1:{api_port}").parse().ok()?;
    if !wait_listening(api) {
        return None;
    }
    let mut out = Vec::new();
    for (name, up, cond) in upstreams {
        let listen = format!("127.0.0.1:{}", free_port());
        let body = format!(r#"{{"name":"{name}","listen":"{listen}","upstream":"{up}"}}"#);
        post(api, "/proxies", &body)?;
        let toxic = match cond {
            Condition::None => None,
            Condition::Latency => Some(format!(
                r#"{{"type":"latency","stream":"downstream","attributes":{{"latency":{LATENCY_MS}}}}}"#
            )),
            Condition::Bandwidth => Some(format!(
                r#"{{"type":"bandwidth","stream":"upstream","attributes":{{"rate":{RATE_KB}}}}}"#
            )),
        };
        if let Some(t) = toxic {
            post(api, &format!("/proxies/{name}/toxics"), &t)?;
        }
        out.push(listen.parse().ok()?);
    }
    Some((guard, out))
}

fn post(api: SocketAddr, path: &str, body: &str) -> Option<()> {
    let mut s = TcpStream::connect(api).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    (resp.starts_with(b"HTTP/1.1 200") || resp.starts_with(b"HTTP/1.1 201")).then_some(())
}

/// Per peer and condition: (echo address, sink address).
type Targets = Vec<(&'static str, Condition, SocketAddr, SocketAddr)>;

fn targets(
    rt: &tokio::runtime::Runtime,
    proxy: &ChaosProxy,
    echo_addr: SocketAddr,
    sink_addr: SocketAddr,
) -> (Targets, Vec<Spawned>) {
    let mut out: Targets = Vec::new();
    let mut children = Vec::new();
    rt.block_on(async {
        for cond in Condition::ALL {
            let c = cond.name();
            let e = ballast(proxy, &format!("echo_{c}"), echo_addr, cond).await;
            let s = ballast(proxy, &format!("sink_{c}"), sink_addr, cond).await;
            out.push(("ballast-proxy", cond, e, s));
            let e = noxious(&format!("echo_{c}"), echo_addr, cond).await;
            let s = noxious(&format!("sink_{c}"), sink_addr, cond).await;
            out.push(("noxious", cond, e, s));
        }
    });
    let specs: Vec<(String, SocketAddr, Condition)> = Condition::ALL
        .iter()
        .flat_map(|&c| {
            [
                (format!("echo_{}", c.name()), echo_addr, c),
                (format!("sink_{}", c.name()), sink_addr, c),
            ]
        })
        .collect();
    let refs: Vec<(&str, SocketAddr, Condition)> =
        specs.iter().map(|(n, a, c)| (n.as_str(), *a, *c)).collect();
    match toxiproxy(&refs) {
        Some((child, listens)) => {
            children.push(child);
            for (i, &cond) in Condition::ALL.iter().enumerate() {
                out.push(("toxiproxy", cond, listens[2 * i], listens[2 * i + 1]));
            }
        }
        None => println!("proxy_peers: toxiproxy-server is not on PATH; measured without it"),
    }
    match (socat(echo_addr), socat(sink_addr)) {
        (Some((ce, e)), Some((cs, s))) => {
            children.extend([ce, cs]);
            out.push(("socat", Condition::None, e, s));
        }
        _ => println!("proxy_peers: socat is not installed; measured without it"),
    }
    (out, children)
}

fn bench(c: &mut Criterion) {
    let rt = ballast_benches::net::runtime();
    let (echo_addr, sink_addr) = (serve(echo), serve(sink));
    let proxy = ChaosProxy::new(1);
    let (targets, _children) = targets(&rt, &proxy, echo_addr, sink_addr);
    let (d50, d99) = percentiles(echo_addr);
    println!("proxy_peers: direct round trip p50 {d50:?} p99 {d99:?}");
    for (peer, cond, e, _) in &targets {
        let (p50, p99) = percentiles(*e);
        let extra = cond.nominal();
        println!(
            "proxy_peers: {}/{peer} round trip added p50 {:?} p99 {:?} (beyond the toxic's {extra:?})",
            cond.name(),
            p50.saturating_sub(d50 + extra),
            p99.saturating_sub(d99 + extra),
        );
    }
    for cond in Condition::ALL {
        let mut g = c.benchmark_group(format!("proxy_peers_throughput/{}", cond.name()));
        g.throughput(Throughput::Bytes(STREAM_BYTES as u64));
        g.sample_size(20);
        let payload = vec![3u8; STREAM_BYTES];
        for (peer, _, _, s) in targets.iter().filter(|t| t.1 == cond) {
            let mut conn = connect(*s);
            g.bench_function(*peer, |b| b.iter(|| stream_once(&mut conn, &payload)));
        }
        g.finish();
        let mut g = c.benchmark_group(format!("proxy_peers_round_trip/{}", cond.name()));
        for (peer, _, e, _) in targets.iter().filter(|t| t.1 == cond) {
            let mut conn = connect(*e);
            let mut msg = [7u8; ROUND_TRIP_BYTES];
            g.bench_function(*peer, |b| b.iter(|| round_trip(&mut conn, &mut msg)));
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
