//! Stability soak for ballast-alloc, run by `cargo xtask test-stability`
//! (ignored in the ordinary test run): rounds of real work (bytes over a
//! loopback TCP socket through RingBuffers, SPSC streaming, pool churn across
//! threads, scratch frames, thread churn) until a deadline, under the
//! counting allocator. Fails when live memory, file descriptors or threads
//! grow past a bound after the first round; writes a Markdown report.
//!
//! `BALLAST_STABILITY_SECS` (default 30) sets the duration,
//! `BALLAST_REPORT_DIR` where the report goes.
// Under `--cfg loom` the lock-free types run on loom's atomics, which only
// work inside `loom::model`; these tests run in the ordinary build.
#![cfg(not(loom))]

use std::fmt::Write as _;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_alloc::{CountingAlloc, FixedPool, RingBuffer, Scratch, SpscRing, SyncPool};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

const LIVE_GROWTH_BOUND: u64 = 1 << 20;
const FD_GROWTH_BOUND: usize = 4;
const THREAD_GROWTH_BOUND: usize = 2;
const MAX_ROUNDS: u32 = 100_000;

fn count_dir(path: &str) -> usize {
    std::fs::read_dir(path).map_or(0, |d| d.count())
}

/// Threads of this process once those that just exited are gone: a joined
/// thread can stay listed in `/proc/self/task` for a moment, so the fewest
/// seen over up to 100 ms (20 looks) is the count.
fn settled_threads() -> usize {
    let mut fewest = count_dir("/proc/self/task");
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
        fewest = fewest.min(count_dir("/proc/self/task"));
    }
    fewest
}

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Sends 1 MiB to a loopback echo peer through RingBuffers on both sides and
/// checks every byte came back.
fn tcp_echo_round(round: u32) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let mut ring = RingBuffer::with_capacity(16 * 1024).expect("capacity");
        loop {
            match ring.read_from(&mut conn) {
                Ok(0) => break,
                Ok(_) | Err(ballast_alloc::Error::Full { .. }) => {}
                Err(e) => panic!("echo read: {e}"),
            }
            while !ring.is_empty() {
                ring.write_to(&mut conn).expect("echo write");
            }
        }
    });
    let mut payload = vec![0u8; 1 << 20];
    for (i, b) in payload.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(round) as u8;
    }
    let mut conn = TcpStream::connect(addr).expect("connect loopback");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = conn.try_clone().expect("clone");
    let expected = checksum(&payload);
    let writer = std::thread::spawn(move || {
        for piece in payload.chunks(7_919) {
            conn.write_all(piece).expect("client write");
        }
        conn.shutdown(std::net::Shutdown::Write).expect("shutdown");
    });
    let mut ring = RingBuffer::with_capacity(32 * 1024).expect("capacity");
    let mut received = Vec::with_capacity(1 << 20);
    loop {
        match ring.read_from(&mut reader).expect("client read") {
            0 => break,
            _ => {
                let (a, b) = ring.peek();
                received.extend_from_slice(a);
                received.extend_from_slice(b);
                ring.consume(ring.len()).expect("consume all");
            }
        }
    }
    writer.join().expect("writer thread");
    server.join().expect("echo thread");
    assert_eq!(received.len(), 1 << 20, "round {round}: bytes lost");
    assert_eq!(
        checksum(&received),
        expected,
        "round {round}: bytes corrupted"
    );
}

fn spsc_round() {
    let (mut tx, mut rx) = SpscRing::<u64>::new(512).expect("capacity");
    let producer = std::thread::spawn(move || {
        let mut items = 0..100_000u64;
        while !items.is_empty() {
            if tx.push_iter(&mut items) == 0 {
                std::thread::yield_now();
            }
        }
    });
    let (mut next, mut sum) = (0u64, 0u64);
    while next < 100_000 {
        rx.pop_batch(64, |v| {
            assert_eq!(v, next, "spsc order");
            sum += v;
            next += 1;
        });
    }
    producer.join().expect("producer");
    assert_eq!(sum, 100_000 * 99_999 / 2);
}

fn pool_round() {
    let pool = Arc::new(SyncPool::<[u64; 8]>::new(64).expect("capacity"));
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..20_000u64 {
                    if let Ok(mut v) = pool.alloc([t ^ i; 8]) {
                        v[7] = v[0];
                        assert_eq!(v[7], t ^ i, "slot shared between threads");
                    }
                }
            });
        }
    });
    assert_eq!(pool.stats().in_use, 0);
    let mut keyed = FixedPool::<String>::new(128).expect("capacity");
    let keys: Vec<_> = (0..128)
        .map(|i| keyed.insert(format!("v{i}")).expect("room"))
        .collect();
    for (i, k) in keys.into_iter().enumerate() {
        assert_eq!(keyed.remove(k).as_deref(), Some(format!("v{i}").as_str()));
    }
}

fn scratch_round(scratch: &mut Scratch) {
    for frame in 0..1_000u32 {
        scratch.frame(|f| {
            for i in 0..64u32 {
                f.alloc_slice_copy(&[frame ^ i; 8]).expect("within limit");
            }
        });
    }
}

#[derive(Debug)]
struct Sample {
    round: u32,
    live_bytes: u64,
    fds: usize,
    threads: usize,
}

#[test]
#[ignore = "long soak: run with `cargo xtask test-stability`"]
fn alloc_stability_soak() {
    let secs: u64 = std::env::var("BALLAST_STABILITY_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut scratch = Scratch::with_limit(1 << 20);
    let mut samples = Vec::new();
    let mut round = 0;
    while round < MAX_ROUNDS && (round < 2 || Instant::now() < deadline) {
        tcp_echo_round(round);
        spsc_round();
        pool_round();
        scratch_round(&mut scratch);
        std::thread::scope(|s| (0..8).for_each(|_| drop(s.spawn(|| vec![0u8; 4096]))));
        let stats = ALLOC.snapshot();
        samples.push(Sample {
            round,
            live_bytes: stats.live_bytes,
            fds: count_dir("/proc/self/fd"),
            threads: settled_threads(),
        });
        round += 1;
    }
    let first = &samples[0];
    let worst_live = samples.iter().map(|s| s.live_bytes).max().unwrap_or(0);
    let worst_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let worst_threads = samples.iter().map(|s| s.threads).max().unwrap_or(0);
    let report = soak_report(secs, round, &samples);
    println!("{report}");
    if let Ok(dir) = std::env::var("BALLAST_REPORT_DIR") {
        let _ = std::fs::create_dir_all(&dir);
        std::fs::write(format!("{dir}/stability-alloc.md"), &report).expect("write report");
    }
    assert!(
        worst_live <= first.live_bytes + LIVE_GROWTH_BOUND,
        "live memory grew: {samples:?}"
    );
    assert!(
        worst_fds <= first.fds + FD_GROWTH_BOUND,
        "file descriptors leaked"
    );
    assert!(
        worst_threads <= first.threads + THREAD_GROWTH_BOUND,
        "threads leaked"
    );
}

/// The soak's Markdown report: totals, first and worst samples, and every
/// twentieth sample as a table.
fn soak_report(secs: u64, round: u32, samples: &[Sample]) -> String {
    let first = &samples[0];
    let worst_live = samples.iter().map(|s| s.live_bytes).max().unwrap_or(0);
    let worst_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let worst_threads = samples.iter().map(|s| s.threads).max().unwrap_or(0);
    let stats = ALLOC.snapshot();
    let mut report = String::new();
    let _ = writeln!(report, "# ballast-alloc stability soak\n");
    let _ = writeln!(report, "- duration: {secs} s, rounds: {round}");
    let _ = writeln!(
        report,
        "- allocations: {}, frees: {}, peak bytes: {}",
        stats.allocations, stats.deallocations, stats.peak_bytes
    );
    let _ = writeln!(
        report,
        "- live bytes after round 0: {}, worst: {worst_live} (bound +{LIVE_GROWTH_BOUND})",
        first.live_bytes
    );
    let _ = writeln!(
        report,
        "- fds after round 0: {}, worst: {worst_fds} (bound +{FD_GROWTH_BOUND})",
        first.fds
    );
    let _ = writeln!(
        report,
        "- threads after round 0: {}, worst: {worst_threads} (bound +{THREAD_GROWTH_BOUND})",
        first.threads
    );
    let _ = writeln!(
        report,
        "\n| round | live bytes | fds | threads |\n|---:|---:|---:|---:|"
    );
    let step = (samples.len() / 20).max(1);
    for s in samples.iter().step_by(step) {
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} |",
            s.round, s.live_bytes, s.fds, s.threads
        );
    }
    report
}
