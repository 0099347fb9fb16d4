//! The host simulator gives back every file descriptor it opened. This
//! binary holds one test only: it counts the whole process's descriptors,
//! which other tests running beside it would disturb.
#![cfg(all(feature = "host", target_os = "linux"))]

mod common;

use std::net::TcpStream;
use std::time::Duration;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};

const T: Duration = Duration::from_secs(10);

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

#[test]
fn stop_with_thousands_of_sessions_open_closes_every_descriptor() {
    const SESSIONS: usize = 3000;
    // Connected in batches the host admits before the next, so the
    // listen backlog (128) never overflows into SYN retries.
    const BATCH: usize = 100;
    let before = open_descriptors();
    let config = HostConfig {
        max_sessions: SESSIONS,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut conns: Vec<TcpStream> = Vec::with_capacity(SESSIONS);
    while conns.len() < SESSIONS {
        for _ in 0..BATCH {
            conns.push(TcpStream::connect(host.local_addr()).unwrap());
        }
        assert!(common::sessions_become(&host, T, conns.len()));
    }
    assert_eq!(host.accepted_sessions(), SESSIONS);
    host.stop();
    drop(conns);
    assert_eq!(open_descriptors(), before, "descriptors left open");
}
