//! ballast-session's `SessionManager` and audit log, with their peers.
//!
//! - `session_manager_acquire_release_uncontended`: lend and return a
//!   signed-on pooled session (the demo host over loopback, nothing sent),
//!   vs `deadpool` holding the same clients (`Client<TcpStream>`).
//! - `session_manager_2_threads_64_tasks_4_sessions`: 64 tasks on a
//!   2-worker tokio runtime (2 OS threads × many tasks) share 4 sessions,
//!   for both: the blocking manager lends and takes back within a task
//!   turn (a worker never blocks while another holds a session it
//!   needs: 2 workers, 4 sessions), deadpool awaits its pool.
//! - `session_manager_open_session`: connect, negotiate and sign on one
//!   session against the host simulator, then close it (sessions/s).
//! - `audit_append`: one hash-chained entry to a sink that discards the
//!   bytes: an AID with two modified fields; the demo host's logon screen
//!   (mostly blank); and a full 24×80 screen whose every cell but the 48
//!   field attributes holds non-blank text (two fields a row, text from a
//!   fixed seed).
//!
//! Run: `cargo bench -p ballast-benches --bench session_manager -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballast_session::audit::{AuditEvent, AuditLog};
use ballast_session::host::{
    AppContext, Application, DemoApp, HostConfig, HostSimulator, Input, Reply, ScreenDef,
};
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

/// Runs `per` rounds of `round` in each of `TASKS` tasks on `rt`; the
/// time for all of them.
fn on_tasks<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, round: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    const TASKS: u64 = 64;
    let per = iters.div_ceil(TASKS);
    rt.block_on(async move {
        let start = Instant::now();
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let round = round.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        round().await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("bench task");
        }
        start.elapsed()
    })
}

fn contended(c: &mut Criterion, host: &HostSimulator) {
    let mut g = c.benchmark_group("session_manager_2_threads_64_tasks_4_sessions");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let m = manager(host, 4);
    warm(&m, 4);
    g.bench_function("ballast", |b| {
        b.iter_custom(|iters| {
            let m = m.clone();
            on_tasks(&rt, iters, move || {
                let m = m.clone();
                async move {
                    black_box(m.acquire(Target::Any).expect("a session").id());
                }
            })
        })
    });
    let peer = deadpool_clients(host, 4);
    g.bench_function("deadpool", |b| {
        b.iter_custom(|iters| {
            let pool = peer.clone();
            on_tasks(&rt, iters, move || {
                let pool = pool.clone();
                async move {
                    black_box(pool.get().await.expect("a client").screen().len());
                }
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

/// A full 24×80 screen: two protected fields a row, every data cell
/// non-blank text from a fixed seed (letters, digits, punctuation).
#[derive(Debug)]
struct FullScreen;

impl FullScreen {
    fn screen() -> ScreenDef {
        const CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./:,()*=+$#@abcdefghijklmnopqrstuvwxyz";
        let mut seed = 0x5EED_u64;
        let mut text = |len: usize| -> String {
            (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(CHARS[(seed >> 33) as usize % CHARS.len()])
                })
                .collect()
        };
        let first = format!("FULLSCREEN{}", text(29));
        (1..24).fold(
            ScreenDef::new("full")
                .text(0, 0, first)
                .text(0, 40, text(39)),
            |def, row| def.text(row, 0, text(39)).text(row, 40, text(39)),
        )
    }
}

impl Application for FullScreen {
    fn start(&self, _: &mut AppContext) -> Reply {
        Reply::Show(Self::screen())
    }

    fn on_input(&self, _: &mut AppContext, _: &Input) -> Reply {
        Reply::Show(Self::screen())
    }
}

fn audit(c: &mut Criterion, host: &HostSimulator) {
    let mut client =
        Client::connect(host.local_addr(), SessionConfig::default(), TIMEOUT).expect("client");
    client
        .wait_for(Condition::Text("PLEASE SIGN ON".into()), TIMEOUT)
        .expect("logon screen");
    let full_host = HostSimulator::start(HostConfig::default(), FullScreen).expect("host");
    let mut full =
        Client::connect(full_host.local_addr(), SessionConfig::default(), TIMEOUT).expect("client");
    full.wait_for(Condition::Text("FULLSCREEN".into()), TIMEOUT)
        .expect("the full screen");
    let text = full.screen().text();
    assert_eq!(
        text.chars().filter(|c| *c != ' ' && *c != '\n').count(),
        24 * 78,
        "every data cell holds non-blank text:\n{text}"
    );
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
    for (name, screen) in [
        ("screen_entry_logon", client.screen()),
        ("screen_entry_full_24x80", full.screen()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                log.record(7, "demo", &AuditEvent::ScreenReceived { screen })
                    .expect("append")
            })
        });
    }
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
