//! ballast-session benchmarks.
//!
//! - `session/apply_full_screen_erase_write`: a connected [`Session`]
//!   receives one full-screen Erase/Write (the codec corpus, fixed seed)
//!   and applies every order; allocations per screen are counted by a
//!   counting global allocator and printed.
//! - `session/connect_negotiate_first_screen`: [`Client::connect`] against
//!   a [`HostSimulator`] over loopback (TN3270E), until the first screen;
//!   p50 over 200 runs is printed beside criterion's figures.
//! - memory per idle session (each side) and how many concurrent sessions
//!   one simulator holds, printed: the count is `BALLAST_BENCH_SESSIONS`
//!   (default 10 000, the goal; the simulator serves them all from
//!   one poller thread). The client ends live in a second process (this
//!   binary again), so each side has its own descriptor limit and memory
//!   figures; setting the variable also runs this part first, in a fresh
//!   process. Each side needs a descriptor limit above the count
//!   (`ulimit -n`); the client process reports how many it could open.
//!
//! Run: `cargo bench -p ballast-benches --bench session -- --warm-up-time 1 --measurement-time 3`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ballast_benches::codec_corpus as corpus;
use ballast_codec::telnet::{self, DO, IAC, WILL, option};
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Client, Session, SessionConfig};
use criterion::{Criterion, Throughput};

/// Counts allocations so the bench can report allocations per screen.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts calls.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn connected_session() -> Session {
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .expect("default config is valid");
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
    .expect("negotiation");
    s.consume_output(usize::MAX);
    while s.poll_event().is_some() {}
    s
}

/// Applies one framed screen and drains the events.
#[inline(never)]
fn apply_screen(s: &mut Session, wire: &[u8]) -> u64 {
    s.receive(wire).expect("corpus screens are valid");
    while s.poll_event().is_some() {}
    s.writes()
}

fn apply(c: &mut Criterion) {
    let screens: Vec<Vec<u8>> = corpus::tn3270_screens(64)
        .iter()
        .map(|r| {
            let mut w = Vec::new();
            telnet::encode_record(r, &mut w);
            w
        })
        .collect();
    let mut s = connected_session();
    for w in &screens {
        apply_screen(&mut s, w);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for w in &screens {
        apply_screen(&mut s, w);
    }
    let per_screen = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / screens.len() as f64;
    println!(
        "session/apply_full_screen_erase_write: {per_screen:.2} allocations per screen (steady state)"
    );

    let mut g = c.benchmark_group("session");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("apply_full_screen_erase_write", |b| {
        b.iter(|| {
            i = (i + 1) % screens.len();
            apply_screen(&mut s, black_box(&screens[i]))
        })
    });
    g.finish();
}

fn connect_once(host: &HostSimulator) -> Duration {
    let start = Instant::now();
    let c = Client::connect(
        host.local_addr(),
        SessionConfig::default(),
        Duration::from_secs(5),
    )
    .expect("loopback connect");
    let took = start.elapsed();
    let _ = c.disconnect();
    took
}

fn connect(c: &mut Criterion) {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("simulator");
    let mut samples: Vec<Duration> = (0..200).map(|_| connect_once(&host)).collect();
    samples.sort();
    println!(
        "session/connect_negotiate_first_screen: p50 {:?}, p90 {:?} over {} runs (tn3270e, loopback)",
        samples[samples.len() / 2],
        samples[samples.len() * 9 / 10],
        samples.len()
    );
    let mut g = c.benchmark_group("session");
    g.sample_size(50);
    g.bench_function("connect_negotiate_first_screen", |b| {
        b.iter(|| connect_once(&host))
    });
    g.finish();
    host.stop();
}

/// Resident set size of this process, from /proc (0 where unavailable).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Environment variable that turns this bench binary into the process
/// holding the client ends: `ADDR COUNT`.
const CLIENT_PROCESS: &str = "BALLAST_BENCH_SESSION_CLIENTS";

/// The client side of the session count, in its own process so each side
/// has its own descriptor limit and its own memory figures: opens the
/// clients, prints what it holds, then waits for stdin to close.
fn client_process(spec: &str) {
    let mut parts = spec.split_whitespace();
    let addr: std::net::SocketAddr = parts.next().and_then(|a| a.parse().ok()).expect("ADDR");
    let n: usize = parts.next().and_then(|c| c.parse().ok()).expect("COUNT");
    let (rss, live) = (rss_bytes(), LIVE_BYTES.load(Ordering::Relaxed));
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        match Client::connect(addr, SessionConfig::default(), Duration::from_secs(5)) {
            Ok(c) => clients.push(c),
            Err(e) => {
                eprintln!("session/concurrent: client process stopped: {e}");
                break;
            }
        }
    }
    let held = clients.len().max(1) as u64;
    println!(
        "{} {} {}",
        clients.len(),
        LIVE_BYTES.load(Ordering::Relaxed).saturating_sub(live) / held,
        rss_bytes().saturating_sub(rss) / held
    );
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
    drop(clients);
}

fn sessions(_: &mut Criterion) {
    use std::io::BufRead;
    let n: usize = std::env::var("BALLAST_BENCH_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let config = HostConfig {
        max_sessions: n,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).expect("simulator");
    let (rss, live) = (rss_bytes(), LIVE_BYTES.load(Ordering::Relaxed));
    let start = Instant::now();
    let exe = std::env::current_exe().expect("bench binary path");
    let mut child = std::process::Command::new(exe)
        .env(CLIENT_PROCESS, format!("{} {n}", host.local_addr()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("client process starts");
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let fields: Vec<u64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let held = fields.first().copied().unwrap_or(0);
    let active = host.active_sessions().max(1) as u64;
    println!(
        "session/concurrent: one simulator holds {} sessions (of {n} asked; client ends in a second process, {:?} to open)",
        host.active_sessions(),
        start.elapsed()
    );
    println!(
        "session/memory_per_idle_session: client side {} bytes heap, {} bytes RSS; host side {} bytes heap, {} bytes RSS per session (one poller thread for all); {held} clients held",
        fields.get(1).copied().unwrap_or(0),
        fields.get(2).copied().unwrap_or(0),
        LIVE_BYTES.load(Ordering::Relaxed).saturating_sub(live) / active,
        rss_bytes().saturating_sub(rss) / active
    );
    drop(child.stdin.take()); // the client process exits when stdin closes
    let _ = child.wait();
    let session_alone = {
        let mut w = Vec::new();
        telnet::encode_record(&corpus::tn3270_screens(1)[0], &mut w);
        let live = LIVE_BYTES.load(Ordering::Relaxed);
        let mut s = connected_session();
        apply_screen(&mut s, &w);
        println!(
            "session/memory_per_idle_session: one client Session after a full screen: {} bytes heap + {} bytes inline",
            LIVE_BYTES.load(Ordering::Relaxed).saturating_sub(live),
            std::mem::size_of::<Session>()
        );
        s
    };
    drop(session_alone);
    host.stop();
}

fn main() {
    if let Ok(spec) = std::env::var(CLIENT_PROCESS) {
        client_process(&spec);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    // With BALLAST_BENCH_SESSIONS set, the session count runs first, in a
    // fresh process, so its RSS figure is not hidden by memory the other
    // benchmarks freed; otherwise it runs last so its thousands of closed
    // sockets do not slow the connect benchmark.
    let sessions_first = std::env::var_os("BALLAST_BENCH_SESSIONS").is_some();
    if sessions_first {
        sessions(&mut c);
    }
    apply(&mut c);
    connect(&mut c);
    if !sessions_first {
        sessions(&mut c);
    }
    c.final_summary();
}
