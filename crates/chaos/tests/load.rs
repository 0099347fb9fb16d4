//! The load faults against a local listener that counts accepts and
//! bytes: bounded, and every socket closed after the heal. In a process of
//! their own (and one at a time) so the descriptor counts are theirs.
#![cfg(target_os = "linux")]

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ballast_chaos::resource::{ReconnectStorm, ResourceError, Slowloris, SynBurst, open_fd_count};

/// The tests compare the process's descriptor count: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits (bounded) until the process holds `fds` descriptors.
fn settle_fds(fds: u64) -> u64 {
    for _ in 0..300 {
        if open_fd_count().unwrap() == fds {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    open_fd_count().unwrap()
}

/// Accepts on `listener` until `stop`, counting accepts and bytes.
fn counting(listener: TcpListener, stop: Arc<AtomicBool>) -> JoinHandle<(u64, u64)> {
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let (mut accepts, mut bytes) = (0, 0);
        let mut conns = Vec::new();
        for _ in 0..100_000 {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            if let Ok((c, _)) = listener.accept() {
                c.set_nonblocking(true).unwrap();
                accepts += 1;
                conns.push(c);
            }
            let mut buf = [0u8; 64];
            for c in &mut conns {
                while let Ok(n @ 1..) = c.read(&mut buf) {
                    bytes += n as u64;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        (accepts, bytes)
    })
}

#[test]
fn a_reconnect_storm_makes_at_most_its_connections_and_heals() {
    let _serial = serial();
    let before = open_fd_count().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = counting(listener, Arc::clone(&stop));
    let guard = ReconnectStorm {
        threads: 2,
        max_connections: 50,
    }
    .inject(addr)
    .unwrap();
    for _ in 0..500 {
        if guard.connections() >= 50 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(guard.connections(), 50, "exactly its budget");
    guard.heal();
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::SeqCst);
    let (accepts, _) = server.join().unwrap();
    assert!((1..=50).contains(&accepts), "{accepts} accepted");
    assert_eq!(settle_fds(before), before, "every socket closed");
}

#[test]
fn slowloris_dribbles_one_byte_per_connection_per_interval() {
    let _serial = serial();
    let before = open_fd_count().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = counting(listener, Arc::clone(&stop));
    let guard = Slowloris {
        connections: 4,
        interval: Duration::from_millis(20),
    }
    .inject(addr)
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (made, sent) = (guard.connections(), guard.bytes_sent());
    drop(guard);
    stop.store(true, Ordering::SeqCst);
    let (accepts, bytes) = server.join().unwrap();
    assert_eq!((made, accepts), (4, 4));
    // About 15 rounds of 4 bytes in 300 ms; only a dribble either way.
    assert!((4..=4 * 16).contains(&sent), "sent {sent}");
    assert!(bytes <= sent && bytes >= 4, "received {bytes} of {sent}");
    assert_eq!(settle_fds(before), before);
}

#[test]
fn a_syn_burst_opens_its_connections_at_once_and_closes_them() {
    let _serial = serial();
    let before = open_fd_count().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let guard = SynBurst { connections: 16 }.inject(addr).unwrap();
    assert_eq!(guard.connections(), 16);
    assert_eq!(
        open_fd_count().unwrap(),
        before + 1 + 16,
        "the listener and 16 sockets"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let server = counting(listener, Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(200));
    drop(guard);
    stop.store(true, Ordering::SeqCst);
    let (accepts, bytes) = server.join().unwrap();
    assert_eq!(
        (accepts, bytes),
        (16, 0),
        "completed by the kernel, never used"
    );
    assert_eq!(settle_fds(before), before);
}

#[test]
fn loads_refuse_other_hosts_and_limits_out_of_range() {
    let far: SocketAddr = "192.0.2.1:80".parse().unwrap();
    assert!(matches!(
        SynBurst { connections: 1 }.inject(far),
        Err(ResourceError::Unavailable { .. })
    ));
    let near: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert!(matches!(
        SynBurst { connections: 0 }.inject(near),
        Err(ResourceError::InvalidLimit { .. })
    ));
    assert!(matches!(
        ReconnectStorm {
            threads: 33,
            max_connections: 1
        }
        .inject(near),
        Err(ResourceError::InvalidLimit { .. })
    ));
    assert!(matches!(
        Slowloris {
            connections: 1,
            interval: Duration::ZERO
        }
        .inject(near),
        Err(ResourceError::InvalidLimit { .. })
    ));
}
