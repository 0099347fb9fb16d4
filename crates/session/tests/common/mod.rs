//! Helpers shared by the integration tests: skip-or-fail for missing
//! tools, a guard that kills child processes, the Python venv of the tnz
//! tests, and waits and loads against the host simulator.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use ballast_codec::telnet::{DO, IAC, WILL, option};
use ballast_session::host::HostSimulator;
use ballast_session::{Aid, Session};

pub mod venv;

/// True when running under CI (`CI` set and not "false").
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Reports a missing peer: a failure under CI, a skip (returns) otherwise.
pub fn missing(tool: &str, how: &str) {
    assert!(!under_ci(), "{tool} is not installed but CI=true: {how}");
    eprintln!("skipping: {tool} is not installed ({how})");
}

/// Kills and reaps the child when dropped.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Path of an executable found on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The Python of the peers' venv, created on first use: see [`venv`].
pub fn tnz_python() -> Result<PathBuf, String> {
    venv::python()
}

/// Waits (bounded by `within`) until `host` holds `n` sessions.
pub fn sessions_become(host: &HostSimulator, within: Duration, n: usize) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if host.active_sessions() == n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Writes `count` Clear records in one go, then reads the answers as a
/// slow client would (see [`read_screens_slowly`]); returns the screens
/// that arrived.
pub fn pipelined_clears_read_slowly(
    stream: &mut (impl Read + Write),
    session: &mut Session,
    count: u64,
) -> u64 {
    stream
        .write_all(&clears(session, count))
        .expect("write the Clears");
    read_screens_slowly(stream, session, count)
}

/// `count` Clear records framed for `session`, to pipeline in one write.
pub fn clears(session: &Session, count: u64) -> Vec<u8> {
    let clear = session.frame_record(&[Aid::Clear.byte().expect("Clear has an AID byte")]);
    clear.repeat(usize::try_from(count).expect("count fits in memory"))
}

/// Reads as a slow client would (a 2 ms pause every 16 reads of 4 KiB)
/// until `count` more screens arrived, the host closed or a read failed;
/// returns the screens that arrived.
pub fn read_screens_slowly(stream: &mut impl Read, session: &mut Session, count: u64) -> u64 {
    let first = session.writes();
    let mut buf = [0u8; 4 << 10];
    let mut reads = 0u64;
    // Bounded: each turn reads at least one byte or gives up.
    while session.writes() < first + count {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => session
                .receive(&buf[..n])
                .expect("the host's answers decode"),
        }
        while session.poll_event().is_some() {}
        reads += 1;
        if reads.is_multiple_of(16) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    session.writes() - first
}

/// Feeds `s` what a plain TN3270 host sends once it has the terminal
/// type: DO and WILL END-OF-RECORD, DO and WILL BINARY.
pub fn negotiate_eor_binary(s: &mut Session) {
    s.receive(&[
        IAC,
        DO,
        option::END_OF_RECORD,
        IAC,
        WILL,
        option::END_OF_RECORD,
        IAC,
        DO,
        option::BINARY,
        IAC,
        WILL,
        option::BINARY,
    ])
    .expect("the host's EOR and BINARY negotiation is accepted");
}
