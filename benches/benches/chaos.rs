//! ballast-chaos proxy overhead on loopback, with peers in the same run:
//! a direct connection (no proxy), the chaos proxy without faults (Linux:
//! splice, bytes never enter user space), the chaos proxy with a `noop`
//! toxic (every chunk goes through the fault engine in user space: the path
//! every real fault takes), and `socat` when it is installed.
//!
//! - `chaos_throughput/*`: one connection streams 8 MiB to a sink that acks
//!   the last byte.
//! - `chaos_round_trip/*`: 64-byte echo round trip.
//! - Printed before the groups: round-trip p50/p99 per peer (2 000 samples)
//!   and the API's p99 latency while the proxy streams at full speed.
//!
//! Run: `cargo bench -p ballast-benches --bench chaos`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ballast_benches::net::{
    ROUND_TRIP_BYTES, STREAM_BYTES, connect, echo, percentiles, round_trip, serve, sink, socat,
    stream_once,
};
use ballast_chaos::api::{ApiConfig, ApiServer};
use ballast_chaos::{ChaosProxy, ProxyConfig, Toxic, ToxicKind};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// API p99 while one connection streams through the proxy at full speed.
fn api_p99_under_load(api: SocketAddr, proxied_sink: SocketAddr) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let load = std::thread::spawn(move || {
        let mut c = connect(proxied_sink);
        let payload = vec![3u8; STREAM_BYTES];
        let deadline = Instant::now() + Duration::from_secs(20);
        while !stop2.load(Ordering::Relaxed) && Instant::now() < deadline {
            stream_once(&mut c, &payload);
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    let mut samples: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let mut s = connect(api);
            s.write_all(b"GET /proxies HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                .expect("api write");
            let mut resp = Vec::new();
            s.read_to_end(&mut resp).expect("api read");
            assert!(
                resp.starts_with(b"HTTP/1.1 200"),
                "api answered {:?}",
                String::from_utf8_lossy(&resp)
            );
            t.elapsed()
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    let _ = load.join();
    samples.sort();
    samples[samples.len() * 99 / 100]
}

/// A proxy named `name` in front of `upstream`, with a noop toxic on both
/// directions when asked (without a toxic a direction is spliced); returns
/// its listen address.
async fn listen(proxy: &ChaosProxy, name: &str, upstream: SocketAddr, noop: bool) -> SocketAddr {
    let mut config = ProxyConfig::new(name, upstream.to_string());
    if noop {
        config = config
            .toxic(Toxic::new(ToxicKind::Noop).name("noop_down"))
            .toxic(
                Toxic::new(ToxicKind::Noop)
                    .stream(ballast_chaos::Stream::Upstream)
                    .name("noop_up"),
            );
    }
    let p = proxy.create(config).await.expect("proxy");
    p.listen_addr().expect("listen")
}

fn bench(c: &mut Criterion) {
    let rt = ballast_benches::net::runtime();
    let (echo_addr, sink_addr) = (serve(echo), serve(sink));
    let proxy = ChaosProxy::new(1);
    let (p_echo, p_sink, n_echo, n_sink, api) = rt.block_on(async {
        let e = listen(&proxy, "echo", echo_addr, false).await;
        let s = listen(&proxy, "sink", sink_addr, false).await;
        let ne = listen(&proxy, "echo_noop", echo_addr, true).await;
        let ns = listen(&proxy, "sink_noop", sink_addr, true).await;
        let api = ApiServer::bind(
            "127.0.0.1:0".parse().expect("addr"),
            proxy.clone(),
            ApiConfig::default(),
        )
        .await
        .expect("api");
        (e, s, ne, ns, api)
    });
    let socat_echo = socat(echo_addr);
    let socat_sink = socat(sink_addr);
    let mut peers: Vec<(&str, SocketAddr, SocketAddr)> = vec![
        ("direct", echo_addr, sink_addr),
        ("ballast_proxy", p_echo, p_sink),
        ("ballast_proxy_noop_toxic", n_echo, n_sink),
    ];
    if let (Some((_, e)), Some((_, s))) = (&socat_echo, &socat_sink) {
        peers.push(("socat", *e, *s));
    } else {
        eprintln!("socat not installed: skipping the socat peer");
    }

    for (name, echo_at, _) in &peers {
        let (p50, p99) = percentiles(*echo_at);
        eprintln!("round trip {name}: p50 {p50:?} p99 {p99:?}");
    }
    let api_p99 = api_p99_under_load(api.addr(), p_sink);
    eprintln!("api GET /proxies p99 while streaming through the proxy: {api_p99:?}");

    let mut g = c.benchmark_group("chaos_throughput");
    g.throughput(Throughput::Bytes(STREAM_BYTES as u64))
        .sample_size(20)
        .measurement_time(Duration::from_secs(4));
    let payload = vec![5u8; STREAM_BYTES];
    for (name, _, sink_at) in &peers {
        let mut conn = connect(*sink_at);
        g.bench_function(*name, |b| b.iter(|| stream_once(&mut conn, &payload)));
    }
    g.finish();

    let mut g = c.benchmark_group("chaos_round_trip");
    g.sample_size(30).measurement_time(Duration::from_secs(2));
    for (name, echo_at, _) in &peers {
        let mut conn = connect(*echo_at);
        let mut msg = [9u8; ROUND_TRIP_BYTES];
        g.bench_function(*name, |b| b.iter(|| round_trip(&mut conn, &mut msg)));
    }
    g.finish();
    drop((socat_echo, socat_sink, api));
}

criterion_group!(benches, bench);
criterion_main!(benches);
