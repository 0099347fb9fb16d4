use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::clock::ManualClock;
use crate::toxic::{Stream, Toxic, ToxicKind};

/// An in-memory echo peer: what is written can be read back.
#[derive(Debug, Default)]
struct Echo {
    buf: VecDeque<u8>,
}

impl Read for Echo {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.buf.len());
        for (o, b) in out.iter_mut().zip(self.buf.drain(..n)) {
            *o = b;
        }
        Ok(n)
    }
}

impl Write for Echo {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn sync_latency_costs_virtual_time_only() {
    let clock = ManualClock::new();
    let cfg = FaultConfig::new(1).toxic(Toxic::new(ToxicKind::Latency {
        latency_ms: 10_000,
        jitter_ms: 0,
    }));
    let mut s = cfg.wrap_with_clock(Echo::default(), clock.clone());
    s.write_all(b"ping").expect("write");
    let mut got = [0u8; 4];
    s.read_exact(&mut got).expect("read");
    assert_eq!(&got, b"ping");
    assert_eq!(
        clock.now(),
        Duration::from_secs(10),
        "one downstream latency"
    );
}

#[test]
fn sync_reset_peer_surfaces_as_connection_reset() {
    let cfg = FaultConfig::new(1).toxic(Toxic::new(ToxicKind::ResetPeer { timeout_ms: 0 }));
    let mut s = cfg.wrap_with_clock(Echo::default(), ManualClock::new());
    s.write_all(b"x").expect("upstream has no toxic");
    let err = s.read(&mut [0u8; 8]).expect_err("reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
}

#[test]
fn sync_partial_io_gives_short_reads_and_partial_writes() {
    let cfg = FaultConfig::new(1)
        .toxic(Toxic::new(ToxicKind::PartialIo { max_op_size: 3 }).stream(Stream::Upstream))
        .toxic(Toxic::new(ToxicKind::PartialIo { max_op_size: 2 }));
    let mut s = cfg.wrap_with_clock(Echo::default(), ManualClock::new());
    assert_eq!(s.write(b"abcdef").expect("write"), 3, "partial write");
    let mut buf = [0u8; 8];
    assert_eq!(s.read(&mut buf).expect("read"), 2, "short read");
}

#[test]
fn sync_zero_write_returns_ok_zero() {
    let cfg = FaultConfig::new(1)
        .toxic(Toxic::new(ToxicKind::ZeroWrite { probability: 1.0 }).stream(Stream::Upstream));
    let mut s = cfg.wrap_with_clock(Echo::default(), ManualClock::new());
    assert_eq!(s.write(b"abc").expect("write"), 0);
    assert_eq!(
        s.write_all(b"abc").expect_err("write_all fails").kind(),
        io::ErrorKind::WriteZero
    );
}

#[test]
fn sync_limit_data_reads_exactly_n_bytes_then_eof() {
    let cfg = FaultConfig::new(1).toxic(Toxic::new(ToxicKind::LimitData { bytes: 5 }));
    let mut s = cfg.wrap_with_clock(Echo::default(), ManualClock::new());
    s.write_all(b"0123456789").expect("write");
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("clean close");
    assert_eq!(got, b"01234");
    assert_eq!(
        s.write(b"x").expect_err("closed").kind(),
        io::ErrorKind::BrokenPipe
    );
}

#[test]
fn sync_black_hole_read_times_out_instead_of_hanging() {
    let cfg = FaultConfig::new(1).toxic(Toxic::new(ToxicKind::HalfOpen));
    let mut s = cfg.wrap_with_clock(io::Cursor::new(b"data".to_vec()), ManualClock::new());
    let err = s.read(&mut [0u8; 4]).expect_err("black hole");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
}

#[tokio::test(start_paused = true)]
async fn async_latency_runs_on_paused_tokio_time() {
    let (client, mut server) = tokio::io::duplex(1024);
    let cfg = FaultConfig::new(1)
        .toxic(Toxic::new(ToxicKind::Latency {
            latency_ms: 5_000,
            jitter_ms: 0,
        }))
        .toxic(
            Toxic::new(ToxicKind::Latency {
                latency_ms: 3_000,
                jitter_ms: 0,
            })
            .stream(Stream::Upstream),
        );
    let mut s = cfg.wrap_async(client);
    let start = tokio::time::Instant::now();
    let server_task = tokio::spawn(async move {
        let mut b = [0u8; 4];
        server.read_exact(&mut b).await.expect("server read");
        server.write_all(&b).await.expect("server write");
        tokio::time::Instant::now()
    });
    s.write_all(b"ping").await.expect("write");
    let mut got = [0u8; 4];
    s.read_exact(&mut got).await.expect("read");
    assert_eq!(&got, b"ping");
    let server_saw = server_task.await.expect("server task");
    assert_eq!(
        server_saw - start,
        Duration::from_secs(3),
        "upstream latency"
    );
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(8),
        "both latencies, virtual time"
    );
}

#[tokio::test(start_paused = true)]
async fn async_reset_peer_after_timeout_resets_reads() {
    let (client, mut server) = tokio::io::duplex(1024);
    let cfg = FaultConfig::new(1).toxic(Toxic::new(ToxicKind::ResetPeer { timeout_ms: 100 }));
    let mut s = cfg.wrap_async(client);
    server.write_all(b"hi").await.expect("server write");
    let mut got = [0u8; 2];
    s.read_exact(&mut got).await.expect("data before the reset");
    let err = s.read(&mut got).await.expect_err("reset");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    drop(server);
}

#[tokio::test(start_paused = true)]
async fn async_shutdown_passes_eof_after_delayed_data() {
    let (client, mut server) = tokio::io::duplex(1024);
    let cfg = FaultConfig::new(1)
        .toxic(Toxic::new(ToxicKind::SlowClose { delay_ms: 200 }).stream(Stream::Upstream));
    let mut s = cfg.wrap_async(client);
    let start = tokio::time::Instant::now();
    s.write_all(b"bye").await.expect("write");
    s.shutdown().await.expect("shutdown");
    let mut got = Vec::new();
    server.read_to_end(&mut got).await.expect("server read");
    assert_eq!(got, b"bye");
    assert_eq!(start.elapsed(), Duration::from_millis(200), "slow close");
}
