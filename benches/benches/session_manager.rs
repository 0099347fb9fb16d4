//! ballast-session's `SessionManager` and audit log, with their peers.
//!
//! - `session_manager_acquire_release_uncontended`: lend and return a
//!   signed-on pooled session (the demo host over loopback, nothing sent),
//!   vs `deadpool` holding the same clients (`Client<TcpStream>`).
//! - `session_manager_16_callers_4_sessions`: 16 callers share 4 sessions:
//!   16 threads on the blocking manager, 16 tasks on a 2-worker tokio
//!   runtime for deadpool.
//! - `session_manager_open_session`: connect, negotiate and sign on one
//!   session against the host simulator, then close it (sessions/s).
//! - `audit_append`: one hash-chained entry (an AID with two modified
//!   fields; a full 24×80 screen) to a sink that discards the bytes.
//!
//! Run: `cargo bench -p ballast-benches --bench session_manager -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_session::audit::{AuditEvent, AuditLog};
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::manager::{
    EndpointConfig, LoginScript, ManagerConfig, SessionManager, Target,
};
use ballast_session::{Aid, Client, Condition, Secret, SessionConfig};
use criterion::Criterion;

const TIMEOUT: Duration = Duration::from_secs(10);

fn login() -> LoginScript {
    LoginScript::new()
        .wait_text("PLEASE SIGN ON")
        .type_text("DEMO")
        .type_secret(Secret::from("SECRET"))
        .key(Aid::Enter)
        .wait_text("MAIN MENU")
}

fn manager(host: &HostSimulator, max_sessions: usize) -> SessionManager {
    let mut endpoint = EndpointConfig::new("demo", host.local_addr().to_string());
    endpoint.max_sessions = max_sessions;
    SessionManager::new(ManagerConfig {
        endpoints: vec![endpoint],
        login: login(),
        ..ManagerConfig::default()
    })
    .expect("valid manager config")
}

/// Opens `n` sessions so the benches only lend pooled ones.
fn warm(m: &SessionManager, n: usize) {
    let held: Vec<_> = (0..n)
        .map(|_| m.acquire(Target::Any).expect("a session"))
        .collect();
    drop(held);
}

/// deadpool's manager: the same signed-on clients.
struct DemoClients(String);

impl deadpool::managed::Manager for DemoClients {
    type Type = Client<TcpStream>;
    type Error = ballast_session::Error;

    async fn create(&self) -> Result<Client<TcpStream>, ballast_session::Error> {
        let mut c = Client::connect(&self.0, SessionConfig::default(), TIMEOUT)?;
        c.wait_for(Condition::Text("PLEASE SIGN ON".into()), TIMEOUT)?;
        c.type_text("DEMO")?;
        c.tab();
        c.type_text("SECRET")?;
        c.press_and_wait(Aid::Enter, TIMEOUT)?;
        Ok(c)
    }

    async fn recycle(
        &self,
        _: &mut Client<TcpStream>,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<ballast_session::Error> {
        Ok(())
    }
}

fn deadpool_clients(host: &HostSimulator, max: usize) -> deadpool::managed::Pool<DemoClients> {
    deadpool::managed::Pool::builder(DemoClients(host.local_addr().to_string()))
        .max_size(max)
        .build()
        .expect("valid deadpool config")
}

fn uncontended(c: &mut Criterion, host: &HostSimulator) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("session_manager_acquire_release_uncontended");
    let m = manager(host, 4);
    warm(&m, 1);
    g.bench_function("ballast", |b| {
        b.iter(|| black_box(m.acquire(Target::Any).expect("a session").id()))
    });
    let peer = deadpool_clients(host, 4);
    g.bench_function("deadpool", |b| {
        b.iter(|| {
            rt.block_on(async { black_box(peer.get().await.expect("a client").screen().len()) })
        })
    });
    g.finish();
}

fn contended(c: &mut Criterion, host: &HostSimulator) {
    let mut g = c.benchmark_group("session_manager_16_callers_4_sessions");
    let m = manager(host, 4);
    warm(&m, 4);
    g.bench_function("ballast_16_threads", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(16);
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..16 {
                    s.spawn(|| {
                        for _ in 0..per {
                            black_box(m.acquire(Target::Any).expect("a session").id());
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let peer = deadpool_clients(host, 4);
    g.bench_function("deadpool_16_tasks_2_workers", |b| {
        b.iter_custom(|iters| {
            let per = iters.div_ceil(16);
            let pool = peer.clone();
            rt.block_on(async move {
                let start = Instant::now();
                let tasks: Vec<_> = (0..16)
                    .map(|_| {
                        let pool = pool.clone();
                        tokio::spawn(async move {
                            for _ in 0..per {
                                black_box(pool.get().await.expect("a client").screen().len());
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("bench task");
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn open_session(c: &mut Criterion, host: &HostSimulator) {
    let mut g = c.benchmark_group("session_manager_open_session");
    g.sample_size(20);
    let m = manager(host, 4);
    g.bench_function("connect_negotiate_login_close", |b| {
        b.iter(|| {
            let mut s = m.acquire(Target::Any).expect("a new session");
            s.mark_broken();
        })
    });
    g.finish();
}

fn audit(c: &mut Criterion, host: &HostSimulator) {
    let mut client =
        Client::connect(host.local_addr(), SessionConfig::default(), TIMEOUT).expect("client");
    client
        .wait_for(Condition::Text("PLEASE SIGN ON".into()), TIMEOUT)
        .expect("logon screen");
    let log = Arc::new(AuditLog::new(std::io::sink()));
    let mut g = c.benchmark_group("audit_append");
    let modified = [(4u16, 15u16), (5, 15)];
    g.bench_function("aid_entry", |b| {
        b.iter(|| {
            log.record(
                7,
                "demo",
                &AuditEvent::AidSent {
                    aid: Aid::Enter,
                    modified: &modified,
                },
            )
            .expect("append")
        })
    });
    g.bench_function("screen_entry", |b| {
        b.iter(|| {
            log.record(
                7,
                "demo",
                &AuditEvent::ScreenReceived {
                    screen: client.screen(),
                },
            )
            .expect("append")
        })
    });
    g.finish();
}

fn main() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("host");
    let mut c = Criterion::default().configure_from_args();
    uncontended(&mut c, &host);
    contended(&mut c, &host);
    open_session(&mut c, &host);
    audit(&mut c, &host);
    c.final_summary();
}
