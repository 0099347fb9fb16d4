//! The host simulator's negotiation and event loop seen from a raw
//! client: what a peer may send, in which order.
#![cfg(feature = "host")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use ballast_session::host::{
    AppContext, Application, DemoApp, HostConfig, HostSimulator, Input, Reply,
};
use ballast_session::{Client, SessionConfig};

const T: Duration = Duration::from_secs(5);
const IAC: u8 = 255;
const WILL: u8 = 251;
const DO: u8 = 253;
const SB: u8 = 250;
const SE: u8 = 240;
const EOR: u8 = 239;
const BINARY: u8 = 0;
const TTYPE: u8 = 24;
const END_OF_RECORD: u8 = 25;

/// Reads until `want` appears in what the host sent; false when it goes
/// quiet for `T` or closes first.
fn read_until_seen(tcp: &mut TcpStream, seen: &mut Vec<u8>, want: &[u8]) -> bool {
    tcp.set_read_timeout(Some(T)).unwrap();
    let mut buf = [0u8; 4096];
    // Bounded: each turn reads at least one byte or gives up.
    while !seen.windows(want.len()).any(|w| w == want) {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    true
}

#[test]
fn client_that_offers_eor_and_binary_before_its_terminal_type_gets_a_screen() {
    let config = HostConfig {
        tn3270e: false,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut seen = Vec::new();
    assert!(read_until_seen(&mut tcp, &mut seen, &[IAC, DO, TTYPE]));
    // A client may offer record mode at once, before it is asked.
    let mut offer = vec![IAC, WILL, TTYPE];
    for o in [END_OF_RECORD, BINARY] {
        offer.extend_from_slice(&[IAC, WILL, o, IAC, DO, o]);
    }
    tcp.write_all(&offer).unwrap();
    assert!(read_until_seen(
        &mut tcp,
        &mut seen,
        &[IAC, SB, TTYPE, 1, IAC, SE]
    ));
    let mut is = vec![IAC, SB, TTYPE, 0];
    is.extend_from_slice(b"IBM-3278-2");
    is.extend_from_slice(&[IAC, SE]);
    tcp.write_all(&is).unwrap();
    assert!(
        read_until_seen(&mut tcp, &mut seen, &[IAC, EOR]),
        "no screen after negotiation: {seen:?}"
    );
    host.stop();
}

/// The demo application, but its first `start` holds the poller thread
/// until the test releases it (or `T` passes).
struct HoldsThePoller {
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl Application for HoldsThePoller {
    fn start(&self, ctx: &mut AppContext) -> Reply {
        let _ = self.entered.lock().unwrap().send(());
        let _ = self.release.lock().unwrap().recv_timeout(T);
        DemoApp::default().start(ctx)
    }

    fn on_input(&self, ctx: &mut AppContext, input: &Input) -> Reply {
        DemoApp::default().on_input(ctx, input)
    }
}

#[cfg(target_os = "linux")]
#[test]
fn connections_wait_in_the_kernel_while_the_poller_is_busy() {
    // More than std's listen backlog (128); no more than the system allows.
    let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let burst = somaxconn.min(500);
    let (entered, on_enter) = channel();
    let (release, on_release) = channel();
    let app = HoldsThePoller {
        entered: Mutex::new(entered),
        release: Mutex::new(on_release),
    };
    let host = HostSimulator::start(HostConfig::default(), app).unwrap();
    let addr = host.local_addr();
    let first = std::thread::spawn(move || Client::connect(addr, SessionConfig::default(), T));
    on_enter.recv_timeout(T).unwrap();
    // The poller is inside the application: nothing is accepted now. A
    // connect completes once the kernel has queued it, or never.
    let queued: Vec<TcpStream> = (0..burst)
        .map_while(|_| TcpStream::connect_timeout(&addr, T).ok())
        .collect();
    release.send(()).unwrap();
    let _first = first.join().unwrap().unwrap();
    assert_eq!(
        queued.len(),
        burst,
        "connections the kernel would not queue"
    );
    assert!(common::sessions_become(&host, T, burst + 1));
    host.stop();
}
