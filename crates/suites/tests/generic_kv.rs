//! The harness is generic: a small key-value service over length-prefixed
//! frames (written here, not TN3270) runs three catalog scenarios and
//! passes; a broken variant that acknowledges before it stores fails with a
//! lost write attributed to the fault that was on.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use ballast_chaos::history::{Op, Violation};
use ballast_chaos::scenario;
use ballast_chaos::suite::{
    self, ClientContext, EmbeddedProxy, Link, RunOptions, SuiteError, Target, Workload,
};
use ballast_codec::frame::FrameConfig;

type Store = Arc<Mutex<HashMap<u64, u64>>>;

fn send(s: &mut TcpStream, payload: &str) -> io::Result<()> {
    let mut out = Vec::new();
    FrameConfig::default()
        .encode(&[], payload.as_bytes(), &mut out)
        .map_err(io::Error::other)?;
    s.write_all(&out)
}

fn recv(s: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<String> {
    let cfg = FrameConfig::default();
    for _ in 0..1_000 {
        match cfg.bounds(buf) {
            Ok(b) => {
                let text =
                    String::from_utf8_lossy(&buf[b.payload_start..b.payload_start + b.payload_len])
                        .into_owned();
                buf.drain(..b.frame_len);
                return Ok(text);
            }
            Err(ballast_codec::Error::Incomplete { .. }) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
        let mut chunk = [0u8; 512];
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Err(io::Error::other("frame too long"))
}

/// How many acknowledged puts a broken service holds per connection before
/// it stores them anyway: far more than one connection carries in these
/// runs, so every connection the fault kills dies holding its puts (a small
/// buffer made the verdict depend on whether the fault happened to land
/// right after a flush).
const WRITE_BEHIND: usize = 4_096;

/// `P key value` → `OK`; `G key` → `V value` or `NF`; `S` → `OK`.
/// Broken: a put is acknowledged at once but stored only when the client
/// says `S` (or the write-behind buffer is full) — a connection that dies
/// loses every put it acknowledged.
fn serve(mut conn: TcpStream, store: Store, broken: bool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let (mut buf, mut behind) = (Vec::new(), Vec::<(u64, u64)>::new());
    while let Ok(req) = recv(&mut conn, &mut buf) {
        let mut db = store.lock().unwrap_or_else(PoisonError::into_inner);
        let words: Vec<u64> = req
            .split(' ')
            .skip(1)
            .filter_map(|w| w.parse().ok())
            .collect();
        let reply = match (req.chars().next(), &words[..]) {
            (Some('P'), &[k, v]) if broken => {
                behind.push((k, v));
                if behind.len() >= WRITE_BEHIND {
                    db.extend(behind.drain(..));
                }
                "OK".to_string()
            }
            (Some('P'), &[k, v]) => {
                db.insert(k, v);
                "OK".to_string()
            }
            (Some('G'), &[k]) => {
                let buffered = behind.iter().rev().find(|(bk, _)| *bk == k).map(|(_, v)| v);
                buffered
                    .or(db.get(&k))
                    .map_or("NF".to_string(), |v| format!("V {v}"))
            }
            _ => {
                db.extend(behind.drain(..));
                "OK".to_string()
            }
        };
        drop(db);
        if send(&mut conn, &reply).is_err() {
            return;
        }
    }
}

/// The service as a chaos [`Target`]: a fresh store per scenario.
struct KvService {
    broken: bool,
    store: Store,
    stop: Arc<AtomicBool>,
    addr: Option<SocketAddr>,
    accept: Option<JoinHandle<()>>,
}

impl KvService {
    fn new(broken: bool) -> Self {
        Self {
            broken,
            store: Store::default(),
            stop: Arc::default(),
            addr: None,
            accept: None,
        }
    }
}

impl Target for KvService {
    type Key = u64;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| SuiteError::Target(e.to_string()))?;
        let addr = listener
            .local_addr()
            .map_err(|e| SuiteError::Target(e.to_string()))?;
        let (store, stop, broken) = (Arc::clone(&self.store), Arc::clone(&self.stop), self.broken);
        self.accept = Some(std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    return;
                }
                let store = Arc::clone(&store);
                if let Ok(conn) = conn {
                    std::thread::spawn(move || serve(conn, store, broken));
                }
            }
        }));
        self.addr = Some(addr);
        Ok(vec![Link::new("kv", addr)])
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(addr) = self.addr.take() {
            let _ = TcpStream::connect(addr);
        }
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }

    fn final_state(&mut self) -> Result<HashMap<u64, u64>, SuiteError> {
        Ok(self
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

/// Clients that put unique keys and read their own back (one op in four).
struct KvClients;

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(Duration::from_secs(1)))?;
    s.set_write_timeout(Some(Duration::from_secs(1)))?;
    Ok(s)
}

impl Workload<u64, u64> for KvClients {
    fn client(&self, ctx: &ClientContext<u64, u64>) -> Result<(), SuiteError> {
        let addr = ctx.addr("kv").ok_or(SuiteError::Workload {
            process: ctx.process,
            reason: "no kv link".into(),
        })?;
        let (mut conn, mut buf, mut acked) = (None::<TcpStream>, Vec::new(), Vec::new());
        for seq in 0u64.. {
            if !ctx.running() {
                break;
            }
            let read = seq % 4 == 3 && !acked.is_empty();
            let key = if read {
                acked[(seq as usize / 4) % acked.len()]
            } else {
                ctx.process << 32 | seq
            };
            let op = ctx.history.invoke(
                ctx.process,
                if read {
                    Op::Read { key }
                } else {
                    Op::Write { key, value: seq }
                },
            );
            let Some(c) = conn.take().map_or_else(|| connect(addr).ok(), Some) else {
                op.fail("connect");
                ctx.think();
                continue;
            };
            let mut c = c;
            let answer = send(
                &mut c,
                &if read {
                    format!("G {key}")
                } else {
                    format!("P {key} {seq}")
                },
            )
            .and_then(|()| recv(&mut c, &mut buf));
            match answer {
                Ok(a) if read => op.ok(a.strip_prefix("V ").and_then(|v| v.parse().ok())),
                Ok(_) => {
                    op.ok(None);
                    acked.push(key);
                }
                Err(e) => {
                    op.info(e.to_string());
                    buf.clear();
                    ctx.think();
                    continue;
                }
            }
            conn = Some(c);
            ctx.think();
        }
        // A clean goodbye, so the broken service stores its last put.
        if let Some(mut c) = conn {
            let _ = send(&mut c, "S").and_then(|()| recv(&mut c, &mut buf));
        }
        Ok(())
    }
}

fn run(name: &str, broken: bool) -> suite::ScenarioRun<u64, u64> {
    let scenario = scenario::find(name)
        .expect("a catalog scenario")
        .with_total(Duration::from_secs(3));
    let proxy = EmbeddedProxy::new(11).expect("proxy runtime");
    let mut opts = RunOptions::new(11);
    opts.clients = 3;
    opts.think_time = Duration::from_millis(10);
    suite::run_scenario(
        &mut KvService::new(broken),
        &KvClients,
        &scenario,
        &[&proxy],
        &opts,
    )
}

#[test]
fn a_correct_kv_service_passes_three_catalog_scenarios() {
    for name in ["latency-spike", "connection-reset", "slow-then-reset"] {
        let run = run(name, false);
        assert!(
            run.passed(),
            "{}: {:?} {:?} {:?}",
            run.summary(),
            run.error,
            run.anomalies,
            run.breaches
        );
        let check = run.check.as_ref().expect("checked");
        assert!(
            check.acknowledged_writes > 10,
            "{name}: the workload ran: {check:?}"
        );
        assert_eq!(
            run.spans.len(),
            run.scenario.timeline.len(),
            "{name}: every fault recorded"
        );
    }
}

#[test]
fn a_service_that_acknowledges_before_it_stores_fails_with_a_lost_write_during_the_fault() {
    let run = run("connection-reset", true);
    assert!(!run.passed(), "{}", run.summary());
    let lost: Vec<_> = run
        .anomalies
        .iter()
        .filter(|a| matches!(a.violation, Violation::LostWrite { .. }))
        .collect();
    assert!(!lost.is_empty(), "no lost write: {:?}", run.anomalies);
    for a in lost {
        assert_eq!(a.faults, ["reset"], "attributed to the active fault: {a:?}");
    }
}
