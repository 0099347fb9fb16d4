//! Loopback plumbing shared by the proxy benchmarks (`chaos`,
//! `proxy_peers`): thread-per-connection echo and sink servers, a client
//! connect, a streaming round and a round trip, round-trip percentiles, and
//! `socat` as a peer when it is installed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes one throughput iteration streams (the sink acks each round).
pub const STREAM_BYTES: usize = 8 << 20;
/// Bytes of one round-trip message.
pub const ROUND_TRIP_BYTES: usize = 64;

/// Serves each connection on its own thread with `handle`.
pub fn serve(handle: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = conn.set_nodelay(true);
            std::thread::spawn(move || handle(conn));
        }
    });
    addr
}

/// Echoes everything back.
pub fn echo(mut c: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 || c.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// Reads [`STREAM_BYTES`] per round and answers each round with one byte.
pub fn sink(mut c: TcpStream) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0usize;
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            return;
        }
        got += n;
        while got >= STREAM_BYTES {
            got -= STREAM_BYTES;
            if c.write_all(&[1]).is_err() {
                return;
            }
        }
    }
}

/// A client connection with `TCP_NODELAY` and a 30 s read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s
}

/// Streams `payload` and waits for the sink's ack.
pub fn stream_once(c: &mut TcpStream, payload: &[u8]) {
    c.write_all(payload).expect("write");
    let mut ack = [0u8; 1];
    c.read_exact(&mut ack).expect("ack");
}

/// One echo round trip of `msg`.
pub fn round_trip(c: &mut TcpStream, msg: &mut [u8]) {
    c.write_all(msg).expect("write");
    c.read_exact(msg).expect("read");
}

/// Round-trip p50 and p99 over 2 000 samples (after 200 to warm up).
pub fn percentiles(addr: SocketAddr) -> (Duration, Duration) {
    let mut c = connect(addr);
    let mut msg = [7u8; ROUND_TRIP_BYTES];
    for _ in 0..200 {
        round_trip(&mut c, &mut msg);
    }
    let mut samples: Vec<Duration> = (0..2_000)
        .map(|_| {
            let t = Instant::now();
            round_trip(&mut c, &mut msg);
            t.elapsed()
        })
        .collect();
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

/// A loopback port free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed and reaped on drop.
#[derive(Debug)]
pub struct Spawned(pub Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 5 s for `addr` to accept.
pub fn wait_listening(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// `socat` relaying a free loopback port to `upstream`, when installed.
pub fn socat(upstream: SocketAddr) -> Option<(Spawned, SocketAddr)> {
    let port = free_port();
    let child = Command::new("socat")
        .args([
            format!("TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,nodelay"),
            format!("TCP:{upstream},nodelay"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let guard = Spawned(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
    wait_listening(addr).then_some((guard, addr))
}

/// The 2-worker tokio runtime the proxy benchmarks run proxies on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
