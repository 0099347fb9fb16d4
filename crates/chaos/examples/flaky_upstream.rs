//! A client with retries meets a dependency that fails its first two
//! connections and answers slowly afterwards.
//!
//! Run: `cargo run -p ballast-chaos --example flaky_upstream [seed]`.
//! Everything stays on 127.0.0.1 and the program exits when done.

use std::time::{Duration, Instant};

use ballast_chaos::{ChaosProxy, ProxyConfig, SeedGuard, Toxic, ToxicKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The dependency: an echo server.
async fn echo_server() -> std::io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut c, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = c.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    Ok(addr)
}

/// The client under test: one request, retried up to `attempts` times.
async fn call_with_retry(
    addr: std::net::SocketAddr,
    attempts: u32,
) -> Result<(u32, Vec<u8>), String> {
    let mut last = String::new();
    for attempt in 1..=attempts {
        let result = async {
            let mut s = TcpStream::connect(addr).await?;
            s.write_all(b"hello").await?;
            let mut reply = vec![0u8; 5];
            s.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(reply)
        };
        match tokio::time::timeout(Duration::from_secs(2), result).await {
            Ok(Ok(reply)) => return Ok((attempt, reply)),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "timed out".into(),
        }
        println!("attempt {attempt} failed: {last}");
    }
    Err(last)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    ballast_chaos::logging::init(ballast_chaos::logging::LogFormat::from_env(), "warn")?;
    let seed = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => SeedGuard::from_env().seed(),
    };
    println!("seed {seed}");
    let chaos = ChaosProxy::new(seed);
    let upstream = echo_server().await?;
    let cfg = ProxyConfig::new("dep", upstream.to_string())
        .toxic(
            Toxic::new(ToxicKind::ResetPeer { timeout_ms: 0 })
                .name("flaky")
                .first_connections(2),
        )
        .toxic(Toxic::new(ToxicKind::Latency {
            latency_ms: 50,
            jitter_ms: 20,
        }));
    let dep = chaos.create(cfg).await?;
    let addr = dep.listen_addr().ok_or("proxy has no resolved address")?;

    let start = Instant::now();
    let (attempt, reply) = call_with_retry(addr, 5).await?;
    println!(
        "succeeded on attempt {attempt} after {:?}: {:?}",
        start.elapsed(),
        String::from_utf8_lossy(&reply)
    );
    assert_eq!(
        attempt, 3,
        "the first two connections fail, the third succeeds"
    );
    Ok(())
}
