//! A protocol client unit-tested under seeded faults without sockets:
//! 10 000 iterations on virtual time, every one replayable from the seed.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use ballast_chaos::{Clock, FaultConfig, ManualClock, SeedGuard, Stream, Toxic, ToxicKind};

/// In-memory key-value peer: answers `GET k\n` with `VALUE k\n`.
#[derive(Default)]
struct KvPeer {
    inbox: Vec<u8>,
    outbox: VecDeque<u8>,
}

impl Write for KvPeer {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.inbox.extend_from_slice(b);
        while let Some(pos) = self.inbox.iter().position(|c| *c == b'\n') {
            let line: Vec<u8> = self.inbox.drain(..=pos).collect();
            let key = line.strip_prefix(b"GET ").unwrap_or(b"?\n");
            self.outbox.extend(b"VALUE ".iter().chain(key));
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for KvPeer {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.outbox.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(self.outbox.len());
        for (o, b) in out.iter_mut().zip(self.outbox.drain(..n)) {
            *o = b;
        }
        Ok(n)
    }
}

/// The client under test.
fn get<S: Read + Write>(s: &mut S, key: &str) -> io::Result<String> {
    s.write_all(format!("GET {key}\n").as_bytes())?;
    let mut line = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        line.extend_from_slice(&buf[..n]);
        if let Some(pos) = line.iter().position(|c| *c == b'\n') {
            return Ok(String::from_utf8_lossy(&line[..pos]).into_owned());
        }
        if line.len() > 1024 {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
}

fn faults(seed: u64, ordinal: u64) -> FaultConfig {
    FaultConfig::new(seed)
        .ordinal(ordinal)
        .toxic(Toxic::new(ToxicKind::Latency {
            latency_ms: 20,
            jitter_ms: 15,
        }))
        .toxic(Toxic::new(ToxicKind::Slicer {
            average_size: 3,
            size_variation: 2,
            delay_us: 500,
        }))
        .toxic(Toxic::new(ToxicKind::PartialIo { max_op_size: 4 }).stream(Stream::Upstream))
        .toxic(Toxic::new(ToxicKind::LimitData { bytes: 9 }).toxicity(0.2))
        .toxic(Toxic::new(ToxicKind::ResetPeer { timeout_ms: 30 }).toxicity(0.1))
        .toxic(Toxic::new(ToxicKind::ZeroWrite { probability: 0.05 }).stream(Stream::Upstream))
}

/// One iteration: the outcome and the virtual time it took.
fn iteration(seed: u64, ordinal: u64) -> (Result<String, io::ErrorKind>, Duration) {
    let clock = ManualClock::new();
    let mut s = faults(seed, ordinal).wrap_with_clock(KvPeer::default(), clock.clone());
    let key = format!("k{ordinal}");
    let r = get(&mut s, &key).map_err(|e| e.kind());
    if let Ok(v) = &r {
        assert_eq!(
            v,
            &format!("VALUE {key}"),
            "seed {seed} ordinal {ordinal}: wrong answer"
        );
    }
    (r, clock.now())
}

#[test]
fn ten_thousand_seeded_iterations_never_yield_a_wrong_answer_and_replay() {
    let guard = SeedGuard::from_env();
    let seed = guard.seed();
    let start = Instant::now();
    let (mut ok, mut failed) = (0u32, 0u32);
    let mut outcomes = Vec::with_capacity(10_000);
    for ordinal in 0..10_000 {
        let out = iteration(seed, ordinal);
        match &out.0 {
            Ok(_) => ok += 1,
            Err(kind) => {
                assert!(
                    matches!(
                        kind,
                        io::ErrorKind::UnexpectedEof
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::BrokenPipe
                            | io::ErrorKind::WriteZero
                    ),
                    "seed {seed} ordinal {ordinal}: unexpected error {kind:?}"
                );
                failed += 1;
            }
        }
        outcomes.push(out);
    }
    let elapsed = start.elapsed();
    eprintln!("seed {seed}: 10 000 iterations in {elapsed:?}: {ok} ok, {failed} failed");
    assert!(
        ok > 5_000 && failed > 500,
        "fault mix is exercised: {ok} ok, {failed} failed"
    );
    for ordinal in (0..10_000).step_by(997) {
        assert_eq!(
            iteration(seed, ordinal),
            outcomes[ordinal as usize],
            "replay of {ordinal}"
        );
    }
    assert!(
        elapsed < Duration::from_secs(60),
        "10 000 iterations took {elapsed:?}"
    );
}
