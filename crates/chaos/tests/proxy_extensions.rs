//! ballast-proxy's extensions of the Toxiproxy API, through the binary:
//! the live-connection list and ending connections one by one, toxic
//! selectors (client networks, every Nth connection, a wall-clock window)
//! and the `limit_time` toxic.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Echo, ProxyBin, agent, call, connect, create_proxy};
use serde_json::{Value, json};

/// Sends `msg` and reads it back; false when the proxy cut the connection.
fn echoes(c: &mut TcpStream, msg: &[u8]) -> bool {
    if c.write_all(msg).is_err() {
        return false;
    }
    let mut back = vec![0u8; msg.len()];
    c.read_exact(&mut back).is_ok() && back == msg
}

fn add_toxic(bin: &ProxyBin, proxy: &str, toxic: &Value) {
    let url = bin.url(&format!("/proxies/{proxy}/toxics"));
    let (status, v) = call(&agent(), "POST", &url, Some(&toxic.to_string()));
    assert_eq!(status, 200, "{v}");
}

fn connections(bin: &ProxyBin, proxy: &str) -> Vec<Value> {
    let (status, v) = call(
        &agent(),
        "GET",
        &bin.url(&format!("/proxies/{proxy}/connections")),
        None,
    );
    assert_eq!(status, 200, "{v}");
    v.as_array().expect("a list").clone()
}

/// Polls until the proxy lists `n` connections (the accept is asynchronous).
fn wait_for(bin: &ProxyBin, proxy: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = connections(bin, proxy);
        if list.len() == n || Instant::now() > deadline {
            return list;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn setup() -> (Echo, ProxyBin, SocketAddr) {
    let echo = Echo::start();
    let bin = ProxyBin::start(&[]);
    let listen = create_proxy(&agent(), &bin, "db", echo.addr);
    (echo, bin, listen)
}

#[test]
fn live_connections_are_listed_with_their_bytes_and_toxics() {
    let (_echo, bin, listen) = setup();
    add_toxic(
        &bin,
        "db",
        &json!({"name": "slow_first", "type": "latency", "attributes": {"latency": 1, "first_connections": 1}}),
    );
    let mut first = connect(listen);
    let mut second = connect(listen);
    assert!(echoes(&mut first, b"hello"));
    assert!(echoes(&mut second, b"0123456789"));
    let list = wait_for(&bin, "db", 2);
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["id"], json!(0));
    assert_eq!(list[1]["id"], json!(1));
    assert_eq!(
        list[0]["client"],
        json!(first.local_addr().unwrap().to_string())
    );
    for (conn, n) in [(&list[0], 5), (&list[1], 10)] {
        assert_eq!(conn["upstream"]["bytes_received"], json!(n), "{conn}");
        assert_eq!(conn["upstream"]["bytes_sent"], json!(n), "{conn}");
        assert_eq!(conn["downstream"]["bytes_sent"], json!(n), "{conn}");
    }
    // The latency toxic is downstream and chose only the first connection.
    assert_eq!(list[0]["downstream"]["toxics"], json!(["slow_first"]));
    assert_eq!(list[1]["downstream"]["toxics"], json!([]));
    assert_eq!(list[0]["upstream"]["toxics"], json!([]));
    let (status, one) = call(&agent(), "GET", &bin.url("/proxies/db/connections/1"), None);
    assert_eq!((status, &one["id"]), (200, &json!(1)));
}

#[test]
fn connections_end_one_by_one_with_a_close_or_a_reset() {
    let (_echo, bin, listen) = setup();
    let mut a = connect(listen);
    let mut b = connect(listen);
    let mut c = connect(listen);
    for s in [&mut a, &mut b, &mut c] {
        assert!(echoes(s, b"up"));
    }
    assert_eq!(wait_for(&bin, "db", 3).len(), 3);
    let url = |tail: &str| bin.url(&format!("/proxies/db/connections/{tail}"));
    assert_eq!(call(&agent(), "DELETE", &url("0"), None).0, 204);
    let mut buf = [0u8; 8];
    assert_eq!(a.read(&mut buf).expect("a clean close"), 0, "FIN");
    assert_eq!(call(&agent(), "DELETE", &url("1?reset=true"), None).0, 204);
    let err = b.read(&mut buf).expect_err("a reset");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(echoes(&mut c, b"still here"), "the third is untouched");
    let left = wait_for(&bin, "db", 1);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], json!(2));
    let (status, v) = call(&agent(), "DELETE", &url("0"), None);
    assert_eq!(
        (status, &v),
        (
            404,
            &json!({"error": "connection not found", "status": 404})
        )
    );
    assert_eq!(call(&agent(), "DELETE", &url("x"), None).0, 400);
    assert_eq!(call(&agent(), "DELETE", &url("2?reset=maybe"), None).0, 400);
    assert_eq!(
        call(&agent(), "GET", &bin.url("/proxies/nope/connections"), None).0,
        404
    );
}

#[test]
fn a_client_network_selector_spares_other_clients() {
    let (_echo, bin, listen) = setup();
    add_toxic(
        &bin,
        "db",
        &json!({"name": "elsewhere", "type": "reset_peer",
                "attributes": {"timeout": 0, "clients": ["10.0.0.0/8", "192.168.1.7"]}}),
    );
    let mut c = connect(listen);
    assert!(
        echoes(&mut c, b"not from 10/8"),
        "a loopback client is not selected"
    );
    add_toxic(
        &bin,
        "db",
        &json!({"name": "here", "type": "reset_peer", "attributes": {"timeout": 0, "clients": ["127.0.0.0/8"]}}),
    );
    let mut c = connect(listen);
    assert!(
        !echoes(&mut c, b"from loopback"),
        "a loopback client is reset"
    );
}

#[test]
fn an_every_nth_selector_picks_ordinals_zero_n_two_n() {
    let (_echo, bin, listen) = setup();
    add_toxic(
        &bin,
        "db",
        &json!({"name": "every3", "type": "reset_peer", "attributes": {"timeout": 0, "every_connections": 3}}),
    );
    let cut: Vec<bool> = (0..7)
        .map(|_| {
            let mut c = connect(listen);
            !echoes(&mut c, b"ping")
        })
        .collect();
    assert_eq!(cut, [true, false, false, true, false, false, true]);
}

#[test]
fn a_wall_clock_window_arms_a_toxic_only_inside_it() {
    let (_echo, bin, listen) = setup();
    let now = now_ms();
    add_toxic(
        &bin,
        "db",
        &json!({"name": "past", "type": "reset_peer",
                "attributes": {"timeout": 0, "not_before": now - 60_000, "not_after": now - 30_000}}),
    );
    add_toxic(
        &bin,
        "db",
        &json!({"name": "future", "type": "reset_peer", "attributes": {"timeout": 0, "not_before": now + 3_600_000}}),
    );
    let mut c = connect(listen);
    assert!(echoes(&mut c, b"outside both windows"));
    add_toxic(
        &bin,
        "db",
        &json!({"name": "now", "type": "latency",
                "attributes": {"latency": 300, "not_before": now - 1_000, "not_after": now + 3_600_000}}),
    );
    let mut c = connect(listen);
    let started = Instant::now();
    assert!(echoes(&mut c, b"inside"));
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "delayed inside the window"
    );
}

#[test]
fn limit_time_closes_a_flowing_connection_after_its_time() {
    let (_echo, bin, listen) = setup();
    add_toxic(
        &bin,
        "db",
        &json!({"type": "limit_time", "attributes": {"time": 400}}),
    );
    let mut c = connect(listen);
    let started = Instant::now();
    let mut echoed = 0;
    while echoes(&mut c, b"tick") {
        echoed += 1;
        std::thread::sleep(Duration::from_millis(20));
        assert!(started.elapsed() < Duration::from_secs(5), "never closed");
    }
    let lived = started.elapsed();
    assert!(echoed >= 5, "data flowed until the limit: {echoed}");
    assert!(
        lived >= Duration::from_millis(380),
        "closed too early: {lived:?}"
    );
}

#[test]
fn bad_selectors_are_refused_naming_the_attribute() {
    let (_echo, bin, _listen) = setup();
    let url = bin.url("/proxies/db/toxics");
    for (attrs, attr) in [
        (json!({"clients": ["not-an-ip"]}), "clients"),
        (json!({"clients": "10.0.0.0/8"}), "clients"),
        (json!({"every_connections": 0}), "every_connections"),
        (json!({"not_before": 2000, "not_after": 1000}), "not_after"),
    ] {
        let body = json!({"type": "latency", "attributes": attrs});
        let (status, v) = call(&agent(), "POST", &url, Some(&body.to_string()));
        assert_eq!(status, 400, "{v}");
        let msg = v["error"].as_str().unwrap_or("");
        assert!(msg.contains(attr), "{attr}: {msg}");
    }
    let (_, list) = call(&agent(), "GET", &url, None);
    assert_eq!(list, json!([]), "nothing added");
}
