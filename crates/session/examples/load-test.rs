//! N concurrent scripted users against a TN3270 endpoint (the demo host's
//! application) for a duration, through a `SessionManager`; prints
//! sessions/s, transactions/s and latency percentiles at the end.
//!
//! ```text
//! BALLAST_PASSWORD=SECRET cargo run -p ballast-session --example load-test -- \
//!     HOST:PORT [--users N] [--sessions N] [--duration-ms N] [--user ID]
//! ```
//!
//! Each user signs on through the manager's pool (at most `--sessions`
//! sessions, default = users) and enters records (menu option 1, a name,
//! an amount, Enter) until the duration is over; a user stops early after
//! 100 000 transactions. The password comes from `BALLAST_PASSWORD`, never
//! from the command line. Exits 1 if any transaction failed.

use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ballast_session::manager::{
    EndpointConfig, LoginScript, ManagerConfig, ManagerError, SessionGuard, SessionManager, Target,
};
use ballast_session::{Aid, Condition, Secret};

/// Transactions one user runs at most.
const MAX_PER_USER: usize = 100_000;

struct Args {
    host: String,
    users: usize,
    sessions: usize,
    duration: Duration,
    user: String,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let host = it.next().ok_or(
        "usage: load-test HOST:PORT [--users N] [--sessions N] [--duration-ms N] [--user ID]",
    )?;
    let (mut users, mut sessions, mut ms, mut user) = (4, 0, 5_000, "DEMO".to_owned());
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("bad {flag} {value:?}"))
        };
        match flag.as_str() {
            "--users" => users = number()?.max(1),
            "--sessions" => sessions = number()?,
            "--duration-ms" => ms = number()?,
            "--user" => user = value,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Args {
        host,
        users,
        sessions: if sessions == 0 { users } else { sessions },
        duration: Duration::from_millis(ms as u64),
        user,
    })
}

fn transaction(s: &mut SessionGuard, name: &str, amount: u64) -> Result<(), ManagerError> {
    s.type_text("1").map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("RECORD ENTRY".into()))?;
    s.type_text(name).map_err(ManagerError::Session)?;
    s.tab();
    s.type_text(&amount.to_string())
        .map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("TRANSACTION ID".into()))?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("MAIN MENU".into()))
}

/// The `q` quantile of sorted latencies.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn run(args: &Args) -> Result<bool, String> {
    let password = std::env::var("BALLAST_PASSWORD").map_err(|_| "set BALLAST_PASSWORD")?;
    let mut endpoint = EndpointConfig::new("target", args.host.clone());
    endpoint.max_sessions = args.sessions;
    let manager = SessionManager::new(ManagerConfig {
        endpoints: vec![endpoint],
        max_sessions: args.sessions,
        login: LoginScript::new()
            .wait_text("PLEASE SIGN ON")
            .type_text(args.user.clone())
            .type_secret(Secret::from(password))
            .key(Aid::Enter)
            .wait_text("MAIN MENU"),
        ..ManagerConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let latencies = Mutex::new(Vec::new());
    let failures = Mutex::new(0usize);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for u in 0..args.users {
            let (manager, latencies, failures) = (&manager, &latencies, &failures);
            scope.spawn(move || {
                for k in 0..MAX_PER_USER {
                    if start.elapsed() >= args.duration {
                        break;
                    }
                    let t = Instant::now();
                    let name = format!("LOAD{u}X{k}");
                    match manager.run(Target::Any, |s| transaction(s, &name, k as u64)) {
                        Ok(()) => latencies
                            .lock()
                            .map(|mut l| l.push(t.elapsed()))
                            .unwrap_or(()),
                        Err(e) => {
                            eprintln!("load-test: user {u}: {e}");
                            *failures.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                        }
                    }
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    l.sort_unstable();
    let failed = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    let opened = manager.stats().endpoints[0].connects;
    println!(
        "users {} sessions {opened} elapsed {elapsed:.2}s",
        args.users
    );
    println!("sessions/s {:.1}", opened as f64 / elapsed);
    println!(
        "transactions/s {:.1} ({} ok, {failed} failed)",
        l.len() as f64 / elapsed,
        l.len()
    );
    println!(
        "latency p50 {:?} p90 {:?} p99 {:?} max {:?}",
        percentile(&l, 0.5),
        percentile(&l, 0.9),
        percentile(&l, 0.99),
        l.last().copied().unwrap_or_default()
    );
    manager.drain(Duration::from_secs(5));
    Ok(failed == 0)
}

fn main() -> ExitCode {
    // Log lines on standard error: `RUST_LOG` (default warnings) and
    // `BALLAST_LOG_FORMAT=json` for JSON lines.
    let format = ballast_chaos::logging::LogFormat::from_env();
    if let Err(e) = ballast_chaos::logging::init(format, "warn") {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    match parse_args().and_then(|a| run(&a)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load-test: {e}");
            ExitCode::FAILURE
        }
    }
}
