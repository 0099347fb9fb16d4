//! The demo host as a child process (`ballast-suite host`), so that a
//! `kill` fault is a real SIGKILL mid-transaction and a restart recovers
//! only what the journal holds.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator, RecordStore};

/// The hidden subcommand that runs a child host.
pub const HOST_SUBCOMMAND: &str = "host";

/// The line a child host prints once it listens: `listening on ADDR`.
const READY: &str = "listening on ";

/// How long a child host may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running child host; dropping it kills it.
#[derive(Debug)]
pub(super) struct ChildHost {
    child: Child,
    addr: SocketAddr,
    /// Held open: the child exits when it reads EOF, so a parent that dies
    /// takes its child host with it.
    _stdin: Option<std::process::ChildStdin>,
}

impl ChildHost {
    /// Starts `exe host --listen ADDR --journal PATH [--tls-cert C --tls-key K]`
    /// and waits (bounded) for it to listen.
    pub(super) fn spawn(
        exe: &Path,
        listen: SocketAddr,
        journal: &Path,
        tls: Option<&(PathBuf, PathBuf)>,
    ) -> Result<Self, String> {
        let mut cmd = Command::new(exe);
        cmd.arg(HOST_SUBCOMMAND)
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--journal")
            .arg(journal);
        if let Some((cert, key)) = tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("child host {}: {e}", exe.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("child host: no stdout".into());
        };
        // The first line names the address; a reader thread keeps the
        // wait bounded even if the child never prints it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let started = Instant::now();
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let addr = line.trim().strip_prefix(READY).and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => {
                let stdin = child.stdin.take();
                Ok(Self {
                    child,
                    addr,
                    _stdin: stdin,
                })
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "child host did not listen within {:?} (printed {line:?})",
                    started.elapsed()
                ))
            }
        }
    }

    /// Where it listens.
    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// SIGKILL, then reap it.
    pub(super) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildHost {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `ballast-suite host --listen ADDR --journal PATH [--tls-cert C --tls-key K]`:
/// serves the demo application, journaling every record before it
/// acknowledges it and recovering the journal at start, until killed.
/// Returns an exit code for a usage or start error.
pub fn host_main(args: impl IntoIterator<Item = String>, out: &mut dyn Write) -> i32 {
    match serve(args, out) {
        Ok(never) => match never {},
        Err(e) => {
            let _ = writeln!(out, "ballast-suite host: {e}");
            2
        }
    }
}

enum Never {}

fn serve(args: impl IntoIterator<Item = String>, out: &mut dyn Write) -> Result<Never, String> {
    let mut listen: Option<SocketAddr> = None;
    let mut journal: Option<PathBuf> = None;
    let mut cert: Option<PathBuf> = None;
    let mut key: Option<PathBuf> = None;
    let mut args = args.into_iter();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--listen" => {
                let v = value()?;
                listen = Some(
                    v.parse()
                        .map_err(|_| format!("--listen {v:?}: not ADDR:PORT"))?,
                );
            }
            "--journal" => journal = Some(value()?.into()),
            "--tls-cert" => cert = Some(value()?.into()),
            "--tls-key" => key = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let listen = listen.ok_or("--listen is required")?;
    let journal = journal.ok_or("--journal is required")?;
    let recovered = match std::fs::File::open(&journal) {
        Ok(f) => RecordStore::read_journal(BufReader::new(f)).map_err(|e| e.to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", journal.display())),
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&journal)
        .map_err(|e| format!("{}: {e}", journal.display()))?;
    let store = RecordStore::journaled(recovered, Box::new(file));
    let tls = match (cert, key) {
        (Some(c), Some(k)) => {
            let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
            Some(
                ballast_session::tls::server_config(&read(&c)?, &read(&k)?)
                    .map_err(|e| e.to_string())?,
            )
        }
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let config = HostConfig {
        listen,
        tls,
        ..HostConfig::default()
    };
    let host = HostSimulator::start_shared(config, std::sync::Arc::new(DemoApp::default()), store)
        .map_err(|e| e.to_string())?;
    writeln!(out, "{READY}{}", host.local_addr()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    // Until SIGKILL, or EOF on stdin (the parent ended): the journal is
    // the only state.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    loop {
        std::thread::park();
    }
}
