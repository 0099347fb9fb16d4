//! Helpers shared by the integration tests: a loopback echo server, the
//! `ballast-proxy` binary under a kill-on-drop guard, and a JSON HTTP client.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// Echo server on 127.0.0.1: one thread per connection, stopped on drop.
pub struct Echo {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind echo");
        let addr = listener.local_addr().expect("echo addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if conn.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `ballast-proxy` binary on a free port; killed on drop.
pub struct ProxyBin {
    pub child: Child,
    pub api: SocketAddr,
    pub seed: u64,
}

impl ProxyBin {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ballast-proxy"))
            .args(["-host", "127.0.0.1", "-port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ballast-proxy");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        let mut guard = Self {
            child,
            api: "127.0.0.1:1".parse().expect("addr"),
            seed: 0,
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words.get(1..3),
            Some(&["listening", "on"][..]),
            "ready line: {line:?}"
        );
        guard.api = words[3].parse().expect("api addr in ready line");
        guard.seed = words[5].parse().expect("seed in ready line");
        guard
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.api, path)
    }
}

impl Drop for ProxyBin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ureq agent that returns 4xx/5xx responses instead of failing.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// Sends a request and returns (status, parsed JSON body or Null).
pub fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let resp = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        ("POST", Some(b)) => agent
            .post(url)
            .header("content-type", "application/json")
            .send(b),
        ("POST", None) => agent.post(url).send_empty(),
        ("PATCH", Some(b)) => agent
            .patch(url)
            .header("content-type", "application/json")
            .send(b),
        _ => panic!("unsupported request {method} {url}"),
    };
    let mut resp = resp.expect("http request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// Creates proxy `name` → `upstream` and returns its resolved listen address.
pub fn create_proxy(
    agent: &ureq::Agent,
    base: &ProxyBin,
    name: &str,
    upstream: SocketAddr,
) -> SocketAddr {
    let body = serde_json::json!({"name": name, "upstream": upstream.to_string(), "listen": "127.0.0.1:0"});
    let (status, v) = call(
        agent,
        "POST",
        &base.url("/proxies"),
        Some(&body.to_string()),
    );
    assert_eq!(status, 201, "{v}");
    v["listen"]
        .as_str()
        .expect("listen")
        .parse()
        .expect("resolved listen")
}

/// Connects with a read timeout so a broken proxy fails the test instead of hanging it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect through proxy");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}
