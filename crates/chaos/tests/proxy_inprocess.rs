//! The proxy embedded in a tokio test: toxics reach live connections and
//! timed toxics remove themselves.
#![cfg(feature = "proxy")]

use std::time::{Duration, Instant};

use ballast_chaos::{ChaosProxy, Condition, ProxyConfig, Toxic, ToxicKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut c, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = c.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn rtt(c: &mut TcpStream) -> Duration {
    let t = Instant::now();
    c.write_all(b"ping").await.expect("write");
    let mut b = [0u8; 4];
    c.read_exact(&mut b).await.expect("read");
    t.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toxic_added_mid_connection_applies_and_a_timed_one_removes_itself() {
    let chaos = ChaosProxy::new(3);
    let info = chaos
        .create(ProxyConfig::new("live", echo_server().await.to_string()))
        .await
        .expect("proxy");
    let mut c = TcpStream::connect(info.listen_addr().expect("listen"))
        .await
        .expect("connect");
    assert!(
        rtt(&mut c).await < Duration::from_millis(100),
        "no toxic yet"
    );

    let cond = Condition {
        remove_after_ms: Some(300),
        ..Condition::default()
    };
    let toxic = Toxic::new(ToxicKind::Latency {
        latency_ms: 150,
        jitter_ms: 0,
    })
    .when(cond);
    chaos.add_toxic("live", toxic).await.expect("add");
    assert!(
        rtt(&mut c).await >= Duration::from_millis(150),
        "live connection picked the toxic up"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        chaos.toxics("live").await.expect("toxics").is_empty(),
        "removed after its duration"
    );
    assert!(
        rtt(&mut c).await < Duration::from_millis(100),
        "and the connection is fast again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_proxy_closes_its_connections() {
    let chaos = ChaosProxy::new(3);
    let info = chaos
        .create(ProxyConfig::new("gone", echo_server().await.to_string()))
        .await
        .expect("proxy");
    let mut c = TcpStream::connect(info.listen_addr().expect("listen"))
        .await
        .expect("connect");
    rtt(&mut c).await;
    chaos.delete("gone").await.expect("delete");
    let mut b = [0u8; 4];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut b))
        .await
        .expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "connection closed: {n:?}");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// A proxied connection costs its two sockets and nothing else while idle:
/// splice pipes are lent per transfer, not owned per connection (owned,
/// they were four descriptors more per connection, which capped a proxy at
/// a third of the connections its descriptor limit allows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_proxied_connection_holds_two_descriptors_in_the_proxy() {
    const CONNS: usize = 200;
    let chaos = ChaosProxy::new(5);
    let info = chaos
        .create(ProxyConfig::new("fds", echo_server().await.to_string()))
        .await
        .expect("proxy");
    let addr = info.listen_addr().expect("listen");
    let before = open_fds();
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        let mut c = TcpStream::connect(addr).await.expect("connect");
        rtt(&mut c).await;
        conns.push(c);
    }
    // Per connection in this process: the client, the proxy's two sockets
    // and the echo server's accepted socket.
    let grown = open_fds() - before;
    assert!(
        grown <= 4 * CONNS + 64,
        "{grown} descriptors for {CONNS} connections (4 each expected)"
    );
    assert_eq!(chaos.connections("fds").await.expect("listed").len(), CONNS);
    // Once every connection ended, the proxy holds no pipe either: the
    // process is back at its baseline exactly.
    drop(conns);
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds() > before {
        assert!(
            Instant::now() < deadline,
            "{} descriptors left after every connection ended",
            open_fds() - before
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
