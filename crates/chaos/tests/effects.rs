//! Real effects of toxics on a loopback echo server through the binary.
//! Margins are generous: this machine is shared and noisy.
#![cfg(feature = "proxy")]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Echo, ProxyBin, agent, call, connect, create_proxy};
use serde_json::json;

fn add_toxic(a: &ureq::Agent, bin: &ProxyBin, proxy: &str, toxic: serde_json::Value) {
    let (status, v) = call(
        a,
        "POST",
        &bin.url(&format!("/proxies/{proxy}/toxics")),
        Some(&toxic.to_string()),
    );
    assert_eq!(status, 200, "{v}");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

#[test]
fn latency_adds_the_configured_delay_to_each_round_trip() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "lat", echo.addr);
    add_toxic(
        &a,
        &bin,
        "lat",
        json!({"type": "latency", "attributes": {"latency": 50}}),
    );
    let mut c = connect(listen);
    let mut rtts = Vec::new();
    for i in 0..20u8 {
        let t = Instant::now();
        c.write_all(&[i; 16]).expect("write");
        let mut got = [0u8; 16];
        c.read_exact(&mut got).expect("read");
        rtts.push(t.elapsed());
        assert_eq!(got, [i; 16]);
    }
    rtts.sort();
    let (p50, p99) = (percentile(&rtts, 0.5), percentile(&rtts, 0.99));
    eprintln!("latency 50 ms: p50 {p50:?} p99 {p99:?}");
    assert!(
        rtts[0] >= Duration::from_millis(50),
        "never less than configured: {rtts:?}"
    );
    assert!(p50 <= Duration::from_millis(60), "p50 {p50:?}");
    assert!(p99 <= Duration::from_millis(150), "p99 {p99:?}");
}

#[test]
fn bandwidth_limits_throughput_within_five_percent() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "bw", echo.addr);
    // 500 KB/s (1 KB = 1000 bytes): 500 000 bytes take 1 s.
    add_toxic(
        &a,
        &bin,
        "bw",
        json!({"type": "bandwidth", "attributes": {"rate": 500}}),
    );
    let c = connect(listen);
    let mut w = c.try_clone().expect("clone");
    let total = 500_000usize;
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        w.write_all(&vec![9u8; total]).expect("write");
    });
    let mut r = c;
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    while got < total {
        let n = r.read(&mut buf).expect("read");
        assert!(n > 0, "early eof after {got} bytes");
        got += n;
    }
    let elapsed = start.elapsed();
    writer.join().expect("writer");
    let rate = total as f64 / elapsed.as_secs_f64() / 1000.0;
    eprintln!("bandwidth 500 KB/s: measured {rate:.1} KB/s over {elapsed:?}");
    assert!(
        (475.0..=525.0).contains(&rate),
        "rate {rate:.1} KB/s not within 5 %"
    );
}

#[test]
fn limit_data_closes_after_exactly_n_bytes() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "lim", echo.addr);
    add_toxic(
        &a,
        &bin,
        "lim",
        json!({"type": "limit_data", "attributes": {"bytes": 1000}}),
    );
    let mut c = connect(listen);
    c.write_all(&[1u8; 5000]).expect("write");
    let mut got = Vec::new();
    match c.read_to_end(&mut got) {
        Ok(_) | Err(_) => {}
    }
    assert_eq!(got.len(), 1000);
}

#[test]
fn reset_peer_gives_econnreset() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "rst", echo.addr);
    add_toxic(
        &a,
        &bin,
        "rst",
        json!({"type": "reset_peer", "attributes": {"timeout": 0}}),
    );
    let mut c = connect(listen);
    let err = c.read(&mut [0u8; 16]).expect_err("reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn disabled_proxy_refuses_connects_and_reenables_on_the_same_port() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "off", echo.addr);
    let mut live = connect(listen);
    call(
        &a,
        "POST",
        &bin.url("/proxies/off"),
        Some(r#"{"enabled":false}"#),
    );
    let err = TcpStream::connect(listen).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let mut buf = [0u8; 4];
    let closed = matches!(live.read(&mut buf), Ok(0) | Err(_));
    assert!(closed, "disable drops live connections");
    call(
        &a,
        "POST",
        &bin.url("/proxies/off"),
        Some(r#"{"enabled":true}"#),
    );
    let mut c = connect(listen);
    c.write_all(b"back").expect("write");
    c.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"back");
}

#[test]
fn a_down_upstream_resets_the_client() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = dead.local_addr().expect("addr");
    drop(dead);
    let bin = ProxyBin::start(&[]);
    let listen = create_proxy(&agent(), &bin, "down", addr);
    let mut c = connect(listen);
    let err = c
        .read(&mut [0u8; 4])
        .expect_err("refused upstream shows as reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn first_connections_condition_fails_the_first_two_then_recovers() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "flaky", echo.addr);
    add_toxic(
        &a,
        &bin,
        "flaky",
        json!({"type": "reset_peer", "attributes": {"timeout": 0, "first_connections": 2}}),
    );
    let outcomes: Vec<bool> = (0..4)
        .map(|_| {
            let mut c = connect(listen);
            let _ = c.write_all(b"hi");
            let mut got = [0u8; 2];
            c.read_exact(&mut got).is_ok()
        })
        .collect();
    assert_eq!(outcomes, [false, false, true, true]);
}

#[test]
fn timeout_swallows_data_and_closes_after_the_timeout() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "to", echo.addr);
    add_toxic(
        &a,
        &bin,
        "to",
        json!({"type": "timeout", "attributes": {"timeout": 200}}),
    );
    let mut c = connect(listen);
    let start = Instant::now();
    c.write_all(b"lost").expect("write");
    let mut buf = [0u8; 8];
    assert_eq!(
        c.read(&mut buf).expect("clean close"),
        0,
        "no data, then FIN"
    );
    assert!(start.elapsed() >= Duration::from_millis(190));
}

#[test]
fn half_open_black_holes_without_telling_the_peer() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "half", echo.addr);
    add_toxic(
        &a,
        &bin,
        "half",
        json!({"type": "half_open", "stream": "upstream"}),
    );
    let mut c = connect(listen);
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    c.write_all(b"into the void").expect("write succeeds");
    let err = c
        .read(&mut [0u8; 8])
        .expect_err("nothing comes back, no close");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
}

#[test]
fn toxics_change_mid_stream_without_blocking_api_or_corrupting_data() {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "churn", echo.addr);
    let c = connect(listen);
    let mut w = c.try_clone().expect("clone");
    let total = 8 * 1024 * 1024usize;
    let payload: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    let expected = payload.clone();
    let writer = std::thread::spawn(move || w.write_all(&payload).expect("write"));
    let reader = std::thread::spawn(move || {
        let mut r = c;
        let mut got = Vec::with_capacity(total);
        let mut buf = vec![0u8; 64 * 1024];
        while got.len() < total {
            let n = r.read(&mut buf).expect("read");
            assert!(n > 0, "early eof");
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        add_toxic(
            &a,
            &bin,
            "churn",
            json!({"type": "latency", "attributes": {"latency": 1}}),
        );
        let (status, _) = call(
            &a,
            "DELETE",
            &bin.url("/proxies/churn/toxics/latency_downstream"),
            None,
        );
        assert_eq!(status, 204);
        slowest = slowest.max(t.elapsed());
    }
    writer.join().expect("writer");
    let got = reader.join().expect("reader");
    eprintln!("slowest add+remove pair while streaming: {slowest:?}");
    assert!(slowest < Duration::from_secs(2), "api blocked: {slowest:?}");
    assert!(got == expected, "stream corrupted by toxic churn");
}

fn corrupted_echo(seed: &str) -> Vec<u8> {
    let echo = Echo::start();
    let bin = ProxyBin::start(&["-seed", seed]);
    let a = agent();
    let listen = create_proxy(&a, &bin, "replay", echo.addr);
    add_toxic(
        &a,
        &bin,
        "replay",
        json!({"type": "corrupt", "attributes": {"rate": 0.02}}),
    );
    let mut c = connect(listen);
    c.write_all(&[0u8; 256]).expect("write");
    let mut got = [0u8; 256];
    c.read_exact(&mut got).expect("read");
    got.to_vec()
}

#[test]
fn same_seed_replays_the_same_faults_over_real_sockets() {
    let a = corrupted_echo("1234");
    let b = corrupted_echo("1234");
    let c = corrupted_echo("999");
    assert!(a.iter().any(|b| *b != 0), "some bits flipped");
    assert_eq!(a, b, "same seed, same flips");
    assert_ne!(a, c, "other seed, other flips");
}
