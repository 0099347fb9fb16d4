//! The allocator soak: rounds of real work through `ballast-alloc`'s
//! types (1 MiB over a loopback TCP echo through `RingBuffer`s on both
//! sides, 100 000 items through an `SpscRing`, a `SyncPool` shared by four
//! threads and a keyed `FixedPool`, 1 000 `Scratch` frames, eight threads
//! spawned and joined), every byte checked. It was `ballast-alloc`'s
//! `tests/stability.rs`; here it meets the same bounds as every soak.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use ballast_alloc::{FixedPool, RingBuffer, Scratch, SpscRing, SyncPool};

use super::workloads::budget;
use super::{Budget, Soak};

/// Bytes echoed per round.
const ECHO_BYTES: usize = 1 << 20;
/// Items through the SPSC ring per round.
const SPSC_ITEMS: u64 = 100_000;
/// Most time one socket read waits: a stuck peer fails the round.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct AllocRounds {
    scratch: Scratch,
    round: u32,
}

impl AllocRounds {
    pub(super) fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let soak = Self {
            scratch: Scratch::with_limit(1 << 20),
            round: 0,
        };
        Ok((Box::new(soak), budget(quick, 3, 200, 100_000)))
    }
}

impl Soak for AllocRounds {
    fn name(&self) -> &'static str {
        "alloc"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        tcp_echo_round(self.round)?;
        spsc_round()?;
        pool_round()?;
        scratch_round(&mut self.scratch)?;
        std::thread::scope(|s| (0..8).for_each(|_| drop(s.spawn(|| vec![0u8; 4096]))));
        self.round = self.round.wrapping_add(1);
        Ok(1)
    }
}

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// The echo peer: reads into a ring and writes it back until end of stream.
fn echo(listener: &TcpListener) -> Result<(), String> {
    let (mut conn, _) = listener.accept().map_err(io("accept"))?;
    conn.set_read_timeout(Some(READ_TIMEOUT))
        .map_err(io("timeout"))?;
    let mut ring = RingBuffer::with_capacity(16 * 1024).map_err(|e| e.to_string())?;
    loop {
        match ring.read_from(&mut conn) {
            Ok(0) => return Ok(()),
            Ok(_) | Err(ballast_alloc::Error::Full { .. }) => {}
            Err(e) => return Err(format!("echo read: {e}")),
        }
        while !ring.is_empty() {
            ring.write_to(&mut conn)
                .map_err(|e| format!("echo write: {e}"))?;
        }
    }
}

/// Sends 1 MiB to a loopback echo peer through RingBuffers on both sides
/// and checks every byte came back.
fn tcp_echo_round(round: u32) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind loopback"))?;
    let addr = listener.local_addr().map_err(io("local addr"))?;
    let mut payload = vec![0u8; ECHO_BYTES];
    for (i, b) in payload.iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(round) as u8;
    }
    let expected = checksum(&payload);
    std::thread::scope(|s| {
        let server = s.spawn(|| echo(&listener));
        let conn = TcpStream::connect(addr).map_err(io("connect loopback"))?;
        conn.set_read_timeout(Some(READ_TIMEOUT))
            .map_err(io("timeout"))?;
        let mut reader = conn.try_clone().map_err(io("clone"))?;
        let writer = s.spawn(move || -> Result<(), String> {
            let mut conn = conn;
            for piece in payload.chunks(7_919) {
                conn.write_all(piece).map_err(io("client write"))?;
            }
            conn.shutdown(std::net::Shutdown::Write)
                .map_err(io("shutdown"))
        });
        let received = receive(&mut reader)?;
        writer.join().map_err(|_| "writer panicked")??;
        server.join().map_err(|_| "echo peer panicked")??;
        if received.len() != ECHO_BYTES || checksum(&received) != expected {
            return Err(format!(
                "round {round}: {} bytes came back, checksum {}",
                received.len(),
                if checksum(&received) == expected {
                    "equal"
                } else {
                    "different"
                }
            ));
        }
        Ok(())
    })
}

fn receive(reader: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut ring = RingBuffer::with_capacity(32 * 1024).map_err(|e| e.to_string())?;
    let mut received = Vec::with_capacity(ECHO_BYTES);
    // Bounded: at most one read per byte expected, plus the end of stream.
    for _ in 0..=ECHO_BYTES {
        if ring
            .read_from(reader)
            .map_err(|e| format!("client read: {e}"))?
            == 0
        {
            return Ok(received);
        }
        let (a, b) = ring.peek();
        received.extend_from_slice(a);
        received.extend_from_slice(b);
        ring.consume(ring.len()).map_err(|e| e.to_string())?;
    }
    Err("the echo never ended".into())
}

fn spsc_round() -> Result<(), String> {
    let (mut tx, mut rx) = SpscRing::<u64>::new(512).map_err(|e| e.to_string())?;
    let producer = std::thread::spawn(move || {
        let mut items = 0..SPSC_ITEMS;
        while !items.is_empty() {
            if tx.push_iter(&mut items) == 0 {
                std::thread::yield_now();
            }
        }
    });
    let (mut next, mut sum, mut in_order) = (0u64, 0u64, true);
    while next < SPSC_ITEMS {
        rx.pop_batch(64, |v| {
            in_order &= v == next;
            sum += v;
            next += 1;
        });
    }
    producer.join().map_err(|_| "producer panicked")?;
    if !in_order || sum != SPSC_ITEMS * (SPSC_ITEMS - 1) / 2 {
        return Err(format!("spsc: in order {in_order}, sum {sum}"));
    }
    Ok(())
}

fn pool_round() -> Result<(), String> {
    let pool = Arc::new(SyncPool::<[u64; 8]>::new(64).map_err(|e| e.to_string())?);
    let shared = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = &pool;
                s.spawn(move || {
                    (0..20_000u64).all(|i| match pool.alloc([t ^ i; 8]) {
                        Ok(mut v) => {
                            v[7] = v[0];
                            v[7] == t ^ i
                        }
                        Err(_) => true,
                    })
                })
            })
            .collect();
        workers.into_iter().any(|w| !w.join().unwrap_or(false))
    });
    if shared || pool.stats().in_use != 0 {
        return Err("sync pool: a slot was shared between threads or not returned".into());
    }
    let mut keyed = FixedPool::<String>::new(128).map_err(|e| e.to_string())?;
    let mut keys = Vec::with_capacity(128);
    for i in 0..128 {
        keys.push(keyed.insert(format!("v{i}")).map_err(|e| e.to_string())?);
    }
    for (i, k) in keys.into_iter().enumerate() {
        if keyed.remove(k).as_deref() != Some(format!("v{i}").as_str()) {
            return Err(format!("fixed pool: key {i} lost its value"));
        }
    }
    Ok(())
}

fn scratch_round(scratch: &mut Scratch) -> Result<(), String> {
    let mut failed = false;
    for frame in 0..1_000u32 {
        scratch.frame(|f| {
            for i in 0..64u32 {
                failed |= f.alloc_slice_copy(&[frame ^ i; 8]).is_err();
            }
        });
    }
    if failed {
        return Err("scratch: an allocation within the limit failed".into());
    }
    Ok(())
}
