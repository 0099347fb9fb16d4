//! A live terminal view (ratatui) of a `SessionManager`: endpoints with
//! their breakers, sessions and latencies, and every open session.
//!
//! ```text
//! BALLAST_PASSWORD=SECRET cargo run -p ballast-session --example monitor -- \
//!     HOST:PORT [HOST:PORT …] [--workers N] [--sessions N] [--interval-ms N]
//!     [--snapshot FRAMES]
//! ```
//!
//! It opens a manager over the endpoints (the demo host's application)
//! and runs `--workers` (default 4) scripted users entering records, so
//! there is something to watch; `--sessions` caps the pool (default 4).
//! The view refreshes every `--interval-ms` (default 500); `q` or Esc
//! quits. With `--snapshot FRAMES` it draws FRAMES frames off screen and
//! prints the last one as text (no terminal needed: how the test runs it).

use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ballast_session::manager::{
    ERROR_KINDS, EndpointConfig, LoginScript, ManagerConfig, ManagerError, ManagerStats,
    SessionGuard, SessionManager, Target,
};
use ballast_session::{Aid, Condition, Secret};
use ratatui::backend::{Backend, TestBackend};
use ratatui::crossterm::event::{self, Event, KeyCode};
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::{Block, Borders, Row, Table};
use ratatui::{Frame, Terminal};

struct Args {
    hosts: Vec<String>,
    workers: usize,
    sessions: usize,
    interval: Duration,
    snapshot: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        hosts: Vec::new(),
        workers: 4,
        sessions: 4,
        interval: Duration::from_millis(500),
        snapshot: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            a.hosts.push(arg);
            continue;
        }
        let value = it.next().ok_or(format!("{arg} needs a value"))?;
        let n = value
            .parse::<usize>()
            .map_err(|_| format!("bad {arg} {value:?}"))?;
        match arg.as_str() {
            "--workers" => a.workers = n,
            "--sessions" => a.sessions = n.max(1),
            "--interval-ms" => a.interval = Duration::from_millis(n as u64),
            "--snapshot" => a.snapshot = Some(n.max(1)),
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    if a.hosts.is_empty() {
        return Err("usage: monitor HOST:PORT [HOST:PORT …] [--workers N] [--sessions N] [--interval-ms N] [--snapshot FRAMES]".into());
    }
    Ok(a)
}

fn manager(args: &Args) -> Result<SessionManager, String> {
    let password = std::env::var("BALLAST_PASSWORD").map_err(|_| "set BALLAST_PASSWORD")?;
    let endpoints = args
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| EndpointConfig::new(format!("host{i}"), h.clone()))
        .collect();
    SessionManager::new(ManagerConfig {
        endpoints,
        max_sessions: args.sessions,
        login: LoginScript::new()
            .wait_text("PLEASE SIGN ON")
            .type_text("DEMO")
            .type_secret(Secret::from(password))
            .key(Aid::Enter)
            .wait_text("MAIN MENU"),
        ..ManagerConfig::default()
    })
    .map_err(|e| e.to_string())
}

/// One record entered from the menu, back at the menu after.
fn transaction(s: &mut SessionGuard, k: u64) -> Result<(), ManagerError> {
    s.type_text("1").map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.type_text("MONITOR").map_err(ManagerError::Session)?;
    s.tab();
    s.type_text(&k.to_string()).map_err(ManagerError::Session)?;
    s.press_and_wait(Aid::Enter)?;
    s.press_and_wait(Aid::Enter)?;
    s.wait_for(Condition::Text("MAIN MENU".into()))
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.1}", d.as_secs_f64() * 1e3))
}

fn draw(f: &mut Frame<'_>, stats: &ManagerStats) {
    let top_height = 3 + u16::try_from(stats.endpoints.len()).unwrap_or(u16::MAX);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Min(3)]).areas(f.area());
    f.render_widget(endpoint_table(stats), top);
    f.render_widget(session_table(stats), bottom);
}

fn endpoint_table(stats: &ManagerStats) -> Table<'static> {
    let rows: Vec<Row<'static>> = stats
        .endpoints
        .iter()
        .map(|e| {
            let errors: u64 = e.errors.iter().sum();
            Row::new(vec![
                e.name.clone(),
                format!("{:?}", e.breaker),
                format!("{}/{}/{}", e.open, e.idle, e.in_use),
                e.commands.to_string(),
                errors.to_string(),
                e.reconnects.to_string(),
                ms(e.latency.quantile_upper_bound(0.5)),
                ms(e.latency.quantile_upper_bound(0.99)),
            ])
        })
        .collect();
    let header = Row::new([
        "endpoint",
        "breaker",
        "open/idle/lent",
        "commands",
        "errors",
        "reconnects",
        "p50 ms",
        "p99 ms",
    ]);
    let widths = [10, 10, 15, 9, 7, 11, 8, 8].map(Constraint::Length);
    let title = format!("endpoints (waiting {})", stats.waiting);
    Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title))
}

fn session_table(stats: &ManagerStats) -> Table<'static> {
    let rows: Vec<Row<'static>> = stats
        .sessions
        .iter()
        .map(|s| {
            Row::new(vec![
                s.id.to_string(),
                s.endpoint.clone(),
                s.lu.clone().unwrap_or_else(|| "-".into()),
                if s.in_use { "lent" } else { "idle" }.to_owned(),
                s.commands.to_string(),
                s.error_count().to_string(),
                format!("{}/{}", s.bytes_read, s.bytes_written),
            ])
        })
        .collect();
    let header = Row::new([
        "session",
        "endpoint",
        "lu",
        "state",
        "commands",
        "errors",
        "bytes in/out",
    ]);
    let widths = [8, 10, 9, 6, 9, 7, 16].map(Constraint::Length);
    let title = format!("sessions (error kinds: {})", ERROR_KINDS.join(", "));
    Table::new(rows, widths)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(title))
}

/// Draws frames until `q`/Esc (or `frames` frames, off screen).
fn watch<B: Backend>(
    terminal: &mut Terminal<B>,
    m: &SessionManager,
    args: &Args,
) -> io::Result<()> {
    for frame in 0.. {
        terminal.draw(|f| draw(f, &m.stats()))?;
        if args.snapshot.is_some_and(|n| frame + 1 >= n) {
            return Ok(());
        }
        if args.snapshot.is_none() && event::poll(args.interval)? {
            if let Event::Key(k) = event::read()?
                && matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
            {
                return Ok(());
            }
        } else if args.snapshot.is_some() {
            std::thread::sleep(args.interval);
        }
    }
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    let m = manager(args)?;
    let stop = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        for _ in 0..args.workers {
            scope.spawn(|| {
                for k in 0..u64::MAX {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if m.run(Target::Any, |s| transaction(s, k)).is_err() {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            });
        }
        let shown = match args.snapshot {
            Some(_) => snapshot(&m, args),
            None => live(&m, args),
        };
        stop.store(true, Ordering::Relaxed);
        shown
    });
    m.drain(Duration::from_secs(5));
    result.map_err(|e| e.to_string())
}

fn snapshot(m: &SessionManager, args: &Args) -> io::Result<()> {
    let mut terminal = Terminal::new(TestBackend::new(100, 24))?;
    watch(&mut terminal, m, args)?;
    let buffer = terminal.backend().buffer();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        println!("{}", line.trim_end());
    }
    Ok(())
}

fn live(m: &SessionManager, args: &Args) -> io::Result<()> {
    let mut terminal = ratatui::init();
    let shown = watch(&mut terminal, m, args);
    ratatui::restore();
    shown
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("monitor: {e}");
            ExitCode::FAILURE
        }
    }
}
