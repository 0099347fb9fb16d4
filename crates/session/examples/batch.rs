//! Mainframe batch automation: for each line of a CSV, sign on through a
//! pool of sessions and enter the record (the demo host's application),
//! with retries on another session when one fails; writes a result CSV.
//!
//! ```text
//! BALLAST_PASSWORD=SECRET cargo run -p ballast-session --example batch -- \
//!     HOST:PORT INPUT.csv OUTPUT.csv [--sessions N] [--user ID]
//! ```
//!
//! `INPUT.csv` has a `name,amount` header and one record a line (no
//! quoting: names hold no comma). `OUTPUT.csv` gets
//! `line,name,amount,status,detail` for every input line: `ok` and the
//! transaction id, or `error` and why. Records run on `--sessions` threads
//! (default 4) sharing as many sessions. Exits 1 if any line failed.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ballast_session::manager::{
    EndpointConfig, LoginScript, ManagerConfig, ManagerError, SessionGuard, SessionManager, Target,
};
use ballast_session::{Aid, Condition, Secret};

/// Most input lines read: a larger batch is split by the caller.
const MAX_LINES: usize = 1_000_000;

struct Record {
    line: usize,
    name: String,
    amount: Result<u64, String>,
}

fn read_input(path: &str) -> Result<Vec<Record>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(text
        .lines()
        .enumerate()
        .skip(1)
        .take(MAX_LINES)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let (name, amount) = l.split_once(',').unwrap_or((l, ""));
            Record {
                line: i + 1,
                name: name.trim().to_owned(),
                amount: amount
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad amount {:?}", amount.trim())),
            }
        })
        .collect())
}

fn enter(s: &mut SessionGuard, name: &str, amount: u64) -> Result<String, ManagerError> {
    s.type_text("1").map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("RECORD ENTRY".into()))?;
    s.type_text(name).map_err(ManagerError::Session)?;
    s.tab();
    s.type_text(&amount.to_string())
        .map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("TRANSACTION ID".into()))?;
    let row = s.screen().row(2).map_err(ManagerError::Session)?;
    let txid = row.split(": ").nth(1).unwrap_or_default().trim().to_owned();
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("MAIN MENU".into()))?;
    Ok(txid)
}

fn manager(host: &str, sessions: usize, user: &str) -> Result<SessionManager, String> {
    let password = std::env::var("BALLAST_PASSWORD").map_err(|_| "set BALLAST_PASSWORD")?;
    let mut endpoint = EndpointConfig::new("batch", host);
    endpoint.max_sessions = sessions;
    SessionManager::new(ManagerConfig {
        endpoints: vec![endpoint],
        max_sessions: sessions,
        login: LoginScript::new()
            .wait_text("PLEASE SIGN ON")
            .type_text(user)
            .type_secret(Secret::from(password))
            .key(Aid::Enter)
            .wait_text("MAIN MENU"),
        ..ManagerConfig::default()
    })
    .map_err(|e| e.to_string())
}

/// Runs every record on `sessions` threads; returns (line, result) pairs.
fn run_all(
    m: &SessionManager,
    records: &[Record],
    sessions: usize,
) -> Vec<(usize, Result<String, String>)> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(records.len()));
    std::thread::scope(|scope| {
        for _ in 0..sessions {
            scope.spawn(|| {
                while let Some(r) = records.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = match &r.amount {
                        Ok(a) => m
                            .run(Target::Any, |s| enter(s, &r.name, *a))
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.clone()),
                    };
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((r.line, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_unstable_by_key(|r| r.0);
    results
}

fn run(args: &[String]) -> Result<bool, String> {
    let [host, input, output, rest @ ..] = args else {
        return Err(
            "usage: batch HOST:PORT INPUT.csv OUTPUT.csv [--sessions N] [--user ID]".into(),
        );
    };
    let (mut sessions, mut user) = (4usize, "DEMO".to_owned());
    for pair in rest.chunks(2) {
        match pair {
            [f, v] if f == "--sessions" => {
                sessions = v.parse().map_err(|_| format!("bad --sessions {v:?}"))?
            }
            [f, v] if f == "--user" => user.clone_from(v),
            _ => return Err(format!("unknown option {:?}", pair[0])),
        }
    }
    let sessions = sessions.max(1);
    let records = read_input(input)?;
    let m = manager(host, sessions, &user)?;
    let results = run_all(&m, &records, sessions);
    m.drain(std::time::Duration::from_secs(5));
    let mut out = String::from("line,name,amount,status,detail\n");
    let mut ok = true;
    for (r, (_, result)) in records.iter().zip(&results) {
        let amount = r.amount.as_ref().map_or(String::new(), u64::to_string);
        let (status, detail) = match result {
            Ok(txid) => ("ok", txid.clone()),
            Err(e) => {
                ok = false;
                ("error", e.replace(',', ";"))
            }
        };
        let _ = writeln!(out, "{},{},{amount},{status},{detail}", r.line, r.name);
    }
    std::fs::write(output, out).map_err(|e| format!("{output}: {e}"))?;
    println!(
        "{} records, {} ok",
        records.len(),
        results.iter().filter(|r| r.1.is_ok()).count()
    );
    Ok(ok)
}

fn main() -> ExitCode {
    // Log lines on standard error: `RUST_LOG` (default warnings) and
    // `BALLAST_LOG_FORMAT=json` for JSON lines.
    let format = ballast_chaos::logging::LogFormat::from_env();
    if let Err(e) = ballast_chaos::logging::init(format, "warn") {
        eprintln!("{e}");
        return ExitCode::from(2);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("batch: {e}");
            ExitCode::FAILURE
        }
    }
}
