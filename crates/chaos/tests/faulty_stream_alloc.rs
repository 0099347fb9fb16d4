//! A `FaultyStream` under a toxic allocates nothing per chunk on either its
//! blocking or its async side: chunks are cut from a reclaimed slab instead
//! of being copied into an allocation each. Counted with a global counting
//! allocator over the whole process.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use ballast_chaos::{FaultConfig, ManualClock, Stream, Toxic, ToxicKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod counting;

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

const ROUNDS: u64 = 2_000;
const MSG: usize = 4096;

/// An in-memory peer that echoes what is written to it.
struct Loopback(VecDeque<u8>);

impl Read for Loopback {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Loopback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A noop toxic each way: every chunk goes through the fault engine.
fn noop_both_ways() -> FaultConfig {
    FaultConfig::new(3)
        .toxic(Toxic::new(ToxicKind::Noop).stream(Stream::Upstream))
        .toxic(Toxic::new(ToxicKind::Noop).stream(Stream::Downstream))
}

fn counted(run: impl FnOnce()) -> u64 {
    let before = counting::allocations();
    run();
    counting::allocations() - before
}

#[test]
fn blocking_side_allocates_nothing_per_chunk() {
    let peer = Loopback(VecDeque::with_capacity(4 * MSG));
    let mut s = noop_both_ways().wrap_with_clock(peer, ManualClock::new());
    let mut msg = [7u8; MSG];
    let mut exchange = |rounds: u64| {
        for _ in 0..rounds {
            s.write_all(&msg).expect("write");
            s.read_exact(&mut msg).expect("read");
        }
    };
    exchange(100);
    let allocs = counted(|| exchange(ROUNDS));
    eprintln!("blocking FaultyStream: {allocs} allocations over {ROUNDS} writes + reads");
    // A copy per chunk would be at least 2 * ROUNDS allocations.
    assert!(allocs < ROUNDS / 10, "{allocs} allocations");
    assert_eq!(msg, [7u8; MSG], "bytes survive the round trip");
}

#[test]
fn async_side_allocates_nothing_per_chunk() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let allocs = rt.block_on(async {
        let (near, mut far) = tokio::io::duplex(4 * MSG);
        tokio::spawn(async move {
            let mut buf = vec![0u8; MSG];
            while let Ok(n) = far.read(&mut buf).await {
                if n == 0 || far.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let mut s = noop_both_ways().wrap_async(near);
        let mut msg = vec![9u8; MSG];
        for _ in 0..100 {
            s.write_all(&msg).await.expect("write");
            s.read_exact(&mut msg).await.expect("read");
        }
        let before = counting::allocations();
        for _ in 0..ROUNDS {
            s.write_all(&msg).await.expect("write");
            s.read_exact(&mut msg).await.expect("read");
        }
        assert_eq!(msg, vec![9u8; MSG], "bytes survive the round trip");
        counting::allocations() - before
    });
    eprintln!("async FaultyStream: {allocs} allocations over {ROUNDS} writes + reads");
    assert!(allocs < ROUNDS / 10, "{allocs} allocations");
}
