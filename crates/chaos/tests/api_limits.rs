//! The API stays bounded under abusive clients: slowloris headers, slow
//! bodies and oversized bodies. Runs the API in-process.
#![cfg(feature = "proxy")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ballast_chaos::ChaosProxy;
use ballast_chaos::api::{ApiConfig, ApiServer};

fn cfg() -> ApiConfig {
    ApiConfig {
        header_read_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(500),
        max_body_bytes: 4096,
        ..ApiConfig::default()
    }
}

fn get_status(addr: std::net::SocketAddr, path: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    agent
        .get(&format!("http://{addr}{path}"))
        .call()
        .expect("request")
        .status()
        .as_u16()
}

/// Reads until the server closes; returns how long that took.
fn wait_closed(mut s: TcpStream) -> Duration {
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_off_and_others_are_served() {
    let server = ApiServer::bind(
        "127.0.0.1:0".parse().expect("addr"),
        ChaosProxy::new(1),
        cfg(),
    )
    .await
    .expect("bind api");
    let addr = server.addr();
    let (took, status) = tokio::task::spawn_blocking(move || {
        let mut slow = TcpStream::connect(addr).expect("connect");
        slow.write_all(b"GET /proxies HTTP/1.1\r\nHost: x\r\n")
            .expect("partial headers");
        let status = get_status(addr, "/proxies");
        (wait_closed(slow), status)
    })
    .await
    .expect("blocking task");
    assert_eq!(status, 200, "a normal client is served meanwhile");
    assert!(
        took < Duration::from_secs(5),
        "slow headers were cut off after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_bodies_time_out_and_big_bodies_are_refused() {
    let proxy = ChaosProxy::new(1);
    let server = ApiServer::bind("127.0.0.1:0".parse().expect("addr"), proxy.clone(), cfg())
        .await
        .expect("bind api");
    let addr = server.addr();
    let (slow_reply, big_status) = tokio::task::spawn_blocking(move || {
        let mut slow = TcpStream::connect(addr).expect("connect");
        let head = "POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
        slow.write_all(head.as_bytes()).expect("head");
        slow.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reply = String::new();
        let _ = slow.read_to_string(&mut reply);

        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let big = format!(
            r#"{{"name":"big","upstream":"127.0.0.1:1","x":"{}"}}"#,
            "a".repeat(10_000)
        );
        let status = agent
            .post(&format!("http://{addr}/proxies"))
            .header("content-type", "application/json")
            .send(&big)
            .map(|r| r.status().as_u16())
            .unwrap_or(413);
        (reply, status)
    })
    .await
    .expect("blocking task");
    assert!(
        slow_reply.starts_with("HTTP/1.1 503")
            && slow_reply.ends_with("<h1>Timeout</h1></body></html>"),
        "slow body answered: {slow_reply:?}"
    );
    assert_eq!(big_status, 413);
    assert!(
        proxy.list().await.is_empty(),
        "no proxy created by abusive requests"
    );
}
