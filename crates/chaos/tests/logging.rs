//! `ballast-proxy` logs: JSON lines on standard error with the connection
//! span, Toxiproxy's `LOG_LEVEL` honoured, `RUST_LOG` first, text by
//! default.
#![cfg(feature = "proxy")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Echo, agent, call};
use serde_json::Value;

/// Runs the proxy with `args` and `env`, sends one connection through a
/// proxy `db`, and returns what it wrote on standard error.
fn run_proxy(args: &[&str], env: &[(&str, &str)]) -> String {
    let echo = Echo::start();
    let log = std::env::temp_dir().join(format!(
        "ballast-proxy-log-{}-{}.txt",
        std::process::id(),
        args.join("").len() + env.len() * 7
    ));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ballast-proxy"));
    cmd.args(["-host", "127.0.0.1", "-port", "0"])
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("LOG_LEVEL")
        .env_remove("BALLAST_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ballast-proxy");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("ready line");
    let api = line
        .split_whitespace()
        .nth(3)
        .expect("api address")
        .to_string();
    let body = format!(
        r#"{{"name":"db","listen":"127.0.0.1:0","upstream":"{}"}}"#,
        echo.addr
    );
    let (status, proxy) = call(
        &agent(),
        "POST",
        &format!("http://{api}/proxies"),
        Some(&body),
    );
    assert_eq!(status, 201, "{proxy}");
    let listen = proxy["listen"]
        .as_str()
        .expect("listen address")
        .to_string();
    let mut s = TcpStream::connect(&listen).expect("connect through the proxy");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"ping").unwrap();
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).unwrap();
    drop(s);
    // Every line asserted on was written before the answer that follows
    // it came back (the ready line, the API response, the echo).
    std::thread::sleep(Duration::from_millis(50));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    text
}

#[test]
fn json_logs_follow_a_connection_by_its_span_and_honour_log_level() {
    let text = run_proxy(&["-log-format", "json"], &[("LOG_LEVEL", "debug")]);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "listening" && l["level"] == "INFO"),
        "{text}"
    );
    let accepted = lines
        .iter()
        .find(|l| l["fields"]["message"] == "accepted")
        .unwrap_or_else(|| panic!("a debug line per connection under LOG_LEVEL=debug:\n{text}"));
    assert_eq!(accepted["level"], "DEBUG");
    assert_eq!(accepted["span"]["name"], "connection");
    assert_eq!(accepted["span"]["proxy"], "db");
    assert!(
        accepted["span"]["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.1:")),
        "{accepted}"
    );
}

#[test]
fn rust_log_wins_over_log_level_and_text_is_the_default() {
    let text = run_proxy(&[], &[("LOG_LEVEL", "debug"), ("RUST_LOG", "warn")]);
    assert!(
        !text.contains("accepted"),
        "RUST_LOG=warn hides debug lines:\n{text}"
    );
    assert!(!text.contains("listening"), "and info lines:\n{text}");
    let text = run_proxy(&[], &[]);
    assert!(
        text.contains("INFO") && text.contains("listening"),
        "{text}"
    );
    assert!(
        !text.trim_start().starts_with('{'),
        "text, not JSON:\n{text}"
    );
}
