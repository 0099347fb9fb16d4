//! The built-in soaks: TN3270 sessions against the embedded host
//! simulator over loopback (busy, churning, idle under keepalives, and
//! through the chaos proxy with toxics coming and going), the session's
//! parsers over generated and malformed input, and the resilience
//! primitives under churn and expiry.

use ballast_session::Client;
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};

use super::alloc_rounds::AllocRounds;
use super::idle_sessions::IdleSessions;
use super::parser::ParserSoak;
use super::pool_expiry::PoolExpiry;
use super::proxy_churn::ProxyChurn;
use super::resilience_churn::ResilienceChurn;
use super::{Budget, Soak};
use crate::tn3270::{query, sign_on};

/// Builds a soak (quick or full) and its default budget.
pub type MakeSoak = fn(bool) -> Result<(Box<dyn Soak>, Budget), String>;

/// Every built-in soak by name, in the order `ballast-suite soak` runs them.
pub fn catalog() -> &'static [(&'static str, MakeSoak)] {
    &[
        ("tn3270-session", Tn3270Session::make),
        ("session-churn", SessionChurn::make),
        ("parser", ParserSoak::make),
        ("resilience-churn", ResilienceChurn::make),
        ("idle-sessions", IdleSessions::make),
        ("proxy-churn", ProxyChurn::make),
        ("pool-expiry", PoolExpiry::make),
        ("alloc", AllocRounds::make),
    ]
}

/// Seconds a soak runs at most with `--quick`.
pub const QUICK_SECONDS: f64 = 10.0;

/// Seconds a soak runs at most by default: the eight soaks then take
/// about 10 minutes together (`cargo xtask test-stability`), setup and
/// settling included.
pub const DEFAULT_SECONDS: f64 = 70.0;

/// Commands the `tn3270-session` soak must reach in default mode before
/// its time cap (a slow machine that cannot is a breach, not a pass).
pub const TN3270_MIN_COMMANDS: u64 = 10_000;

pub(super) fn budget(quick: bool, warmup: u64, quick_iterations: u64, iterations: u64) -> Budget {
    Budget {
        warmup,
        iterations: if quick { quick_iterations } else { iterations },
        seconds: if quick {
            QUICK_SECONDS
        } else {
            DEFAULT_SECONDS
        },
        min_operations: 0,
    }
}

fn start_host() -> Result<HostSimulator, String> {
    HostSimulator::start(HostConfig::default(), DemoApp::default())
        .map_err(|e| format!("host simulator: {e}"))
}

/// One signed-on session asking the host one query after another: three
/// commands (option, transaction id, PF3 back) per iteration. In default
/// mode fewer than [`TN3270_MIN_COMMANDS`] before the time cap is a breach.
struct Tn3270Session {
    client: Option<Client>,
    host: HostSimulator,
}

impl Tn3270Session {
    fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let host = start_host()?;
        let client = sign_on(host.local_addr())?;
        let soak = Self {
            client: Some(client),
            host,
        };
        let mut budget = budget(quick, 500, 30_000, 10_000_000);
        if !quick {
            budget.min_operations = TN3270_MIN_COMMANDS;
        }
        Ok((Box::new(soak), budget))
    }
}

impl Soak for Tn3270Session {
    fn name(&self) -> &'static str {
        "tn3270-session"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let client = self.client.as_mut().ok_or("the session is gone")?;
        query(client, "T9999999").map(|_| 3)
    }
}

impl Drop for Tn3270Session {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.disconnect();
        }
        let _ = &self.host;
    }
}

/// Concurrent users each connecting, negotiating, signing on, asking one
/// query and disconnecting, per iteration.
struct SessionChurn {
    host: HostSimulator,
}

/// Sessions at once in a churn iteration.
const CHURN_USERS: usize = 4;

impl SessionChurn {
    fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        Ok((
            Box::new(Self {
                host: start_host()?,
            }),
            budget(quick, 10, 1_500, 1_000_000),
        ))
    }
}

impl Soak for SessionChurn {
    fn name(&self) -> &'static str {
        "session-churn"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let addr = self.host.local_addr();
        std::thread::scope(|s| {
            let users: Vec<_> = (0..CHURN_USERS)
                .map(|_| {
                    s.spawn(move || {
                        let mut c = sign_on(addr)?;
                        query(&mut c, "T9999999")?;
                        c.disconnect().map_err(|e| format!("disconnect: {e}"))
                    })
                })
                .collect();
            for u in users {
                u.join()
                    .map_err(|_| "a churn user panicked".to_string())??;
            }
            Ok(CHURN_USERS as u64)
        })
    }
}
