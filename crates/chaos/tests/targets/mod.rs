//! Tiny in-test targets for the harness: tagged echo servers whose every
//! thread and socket is closed when they stop, and an echo workload.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ballast_chaos::history::Op;
use ballast_chaos::suite::{ClientContext, Link, SuiteError, Target, TargetHooks, Workload};

/// An echo server on 127.0.0.1 that answers each read with its tag byte
/// and the bytes read; stop joins every thread it started.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `port` (0: any) and serves with `tag`.
    pub fn start(port: u16, tag: u8) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, accepted) = (Arc::clone(&stop), Arc::clone(&accepted));
            std::thread::spawn(move || accept_loop(&listener, &stop, &accepted, tag))
        };
        Ok(Self {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        })
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn accept_loop(listener: &TcpListener, stop: &Arc<AtomicBool>, accepted: &AtomicU64, tag: u8) {
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    // Bounded: 10 minutes of 2 ms polls at most.
    for _ in 0..300_000 {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        match listener.accept() {
            Ok((conn, _)) => {
                accepted.fetch_add(1, Ordering::SeqCst);
                let stop = Arc::clone(stop);
                conns.push(std::thread::spawn(move || serve(conn, &stop, tag)));
                conns.retain(|c| !c.is_finished());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    for c in conns {
        let _ = c.join();
    }
}

fn serve(mut conn: TcpStream, stop: &AtomicBool, tag: u8) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let mut out = Vec::with_capacity(n + 1);
                out.push(tag);
                out.extend_from_slice(&buf[..n]);
                if conn.write_all(&out).is_err() {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Two tagged echo servers, links `a` (tag `A`) and `b` (tag `B`), that
/// come back on the same ports after a kill.
#[derive(Default)]
pub struct Echoes {
    pub ports: [u16; 2],
    pub servers: Vec<Server>,
    pub hooks: TargetHooks,
    pub starts: u64,
    pub kills: u64,
    /// Leaks a descriptor on every stop (for the baseline test).
    pub leak_on_stop: bool,
    /// Connections the servers accepted, summed when they stopped.
    pub accepted: [u64; 2],
}

impl Echoes {
    pub fn running(&self) -> bool {
        !self.servers.is_empty()
    }

    fn count_accepted(&mut self) {
        for (n, s) in self.accepted.iter_mut().zip(&self.servers) {
            *n += s.accepted();
        }
    }
}

impl Target for Echoes {
    type Key = u64;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        let err = |e: std::io::Error| SuiteError::Target(e.to_string());
        let a = Server::start(self.ports[0], b'A').map_err(err)?;
        let b = Server::start(self.ports[1], b'B').map_err(err)?;
        self.ports = [a.addr.port(), b.addr.port()];
        let links = vec![Link::new("a", a.addr), Link::new("b", b.addr)];
        self.servers = vec![a, b];
        self.starts += 1;
        Ok(links)
    }

    fn stop(&mut self) {
        self.count_accepted();
        self.servers.clear();
        if self.leak_on_stop {
            std::mem::forget(std::fs::File::open("/dev/null"));
        }
    }

    fn kill(&mut self) {
        self.kills += 1;
        self.count_accepted();
        self.servers.clear();
    }

    fn hooks(&self) -> TargetHooks {
        self.hooks.clone()
    }

    fn final_state(&mut self) -> Result<HashMap<u64, u64>, SuiteError> {
        Ok(HashMap::new())
    }
}

/// Sends 4 bytes on link `a` and expects them back tagged, reconnecting
/// after an error; each round trip is a read op (ok or fail).
pub struct EchoClients;

impl Workload<u64, u64> for EchoClients {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        let addr = ctx.addr("a").ok_or_else(|| SuiteError::Workload {
            process: ctx.process,
            reason: "no link a".into(),
        })?;
        let mut conn: Option<TcpStream> = None;
        while ctx.running() {
            let op = ctx
                .history
                .invoke(ctx.process, Op::Read { key: ctx.process });
            match round_trip(&mut conn, addr) {
                Ok(()) => op.ok(None),
                Err(e) => {
                    conn = None;
                    op.fail(e.to_string());
                }
            }
            ctx.think();
        }
        Ok(())
    }
}

fn round_trip(conn: &mut Option<TcpStream>, addr: SocketAddr) -> std::io::Result<()> {
    if conn.is_none() {
        let c = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
        c.set_read_timeout(Some(Duration::from_millis(500)))?;
        *conn = Some(c);
    }
    let c = conn.as_mut().ok_or(ErrorKind::NotConnected)?;
    c.write_all(b"ping")?;
    let mut reply = [0u8; 5];
    c.read_exact(&mut reply)?;
    if &reply[1..] != b"ping" {
        return Err(std::io::Error::other("bad echo"));
    }
    Ok(())
}

/// Connects to `addr`, sends one byte and returns the reply's tag.
pub fn tag_at(addr: SocketAddr) -> std::io::Result<u8> {
    let mut c = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    c.set_read_timeout(Some(Duration::from_secs(2)))?;
    c.write_all(b"?")?;
    let mut reply = [0u8; 2];
    c.read_exact(&mut reply)?;
    Ok(reply[0])
}

/// A scenario on link `a`: a 300 ms baseline, one fault of `fault_ms` with
/// `tables`, `recovery_ms` of recovery, two clients, an SLA that only the
/// test's own assertions judge.
pub fn one_fault_scenario(
    category: &str,
    fault_ms: u64,
    recovery_ms: u64,
    tables: &str,
) -> ballast_chaos::scenario::Scenario {
    let text = format!(
        r#"
name = "{category}-test"
category = "{category}"
description = "d"
baseline_ms = 300
recovery_ms = {recovery_ms}
[workload]
clients = 2
think_time_ms = 10
[sla]
max_error_rate_after = 1.0
max_p99_ms = 60000
max_recovery_ms = 60000
[[fault]]
name = "f"
link = "a"
start_ms = 0
duration_ms = {fault_ms}
{tables}
"#
    );
    ballast_chaos::scenario::parse("test.toml", &text).unwrap()
}
