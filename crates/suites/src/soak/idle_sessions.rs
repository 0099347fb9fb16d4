//! The idle-sessions soak: a `SessionManager` holding TN3270 sessions open
//! and idle against the embedded host simulator, probing each with a
//! keepalive (telnet TIMING-MARK) on every upkeep pass.

use std::sync::Arc;
use std::time::Duration;

use ballast_clock::{ManualClock, SharedClock};
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::manager::{EndpointConfig, ManagerConfig, NetConnector, SessionManager};

use super::workloads::budget;
use super::{Budget, Soak};

/// Sessions kept idle (the manager's `min_idle`) unless
/// [`IDLE_SESSIONS_ENV`] says otherwise.
pub(super) const IDLE_SESSIONS: usize = 32;

/// Environment variable setting the number of idle sessions (1..=4096), to
/// measure memory per session for capacity planning.
pub(super) const IDLE_SESSIONS_ENV: &str = "BALLAST_SOAK_IDLE_SESSIONS";

fn idle_sessions() -> usize {
    std::env::var(IDLE_SESSIONS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(IDLE_SESSIONS, |n: usize| n.clamp(1, 4096))
}

/// Every iteration lets a keepalive interval pass on the manager's manual
/// clock and runs one upkeep pass: each idle session is probed over its
/// socket and must answer; none may be retired, found dead or replaced.
/// The host keeps its per-session state for all of them meanwhile.
pub(super) struct IdleSessions {
    sessions: usize,
    time: Arc<ManualClock>,
    manager: SessionManager,
    interval: Duration,
    // Dropped after the manager, so the sessions close before the host.
    _host: HostSimulator,
}

impl IdleSessions {
    pub(super) fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let host = HostSimulator::start(HostConfig::default(), DemoApp::default())
            .map_err(|e| format!("host simulator: {e}"))?;
        let sessions = idle_sessions();
        let mut endpoint = EndpointConfig::new("host", host.local_addr().to_string());
        endpoint.min_idle = sessions;
        endpoint.max_sessions = sessions;
        let config = ManagerConfig {
            endpoints: vec![endpoint],
            max_sessions: sessions,
            // Idle for ever: only the keepalive may touch the sessions.
            idle_timeout: Duration::from_secs(365 * 86_400),
            max_lifetime: Duration::from_secs(365 * 86_400),
            keepalive_timeout: Duration::from_secs(5),
            ..ManagerConfig::default()
        };
        let interval = config.keepalive_interval;
        let time = Arc::new(ManualClock::new());
        let clock: SharedClock = time.clone();
        let manager = SessionManager::with_clock(config, NetConnector, clock, None)
            .map_err(|e| format!("session manager: {e}"))?;
        let opened = manager.maintain().opened;
        if opened != sessions {
            return Err(format!(
                "upkeep opened {opened} of {sessions} idle sessions"
            ));
        }
        let soak = Self {
            sessions,
            time,
            manager,
            interval,
            _host: host,
        };
        Ok((Box::new(soak), budget(quick, 5, 400, 10_000_000)))
    }
}

impl Soak for IdleSessions {
    fn name(&self) -> &'static str {
        "idle-sessions"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        self.time.advance(self.interval + Duration::from_secs(1));
        let report = self.manager.maintain();
        if report.probed != self.sessions || report.dead != 0 || report.opened != 0 {
            return Err(format!(
                "an upkeep pass over {} idle sessions probed {}, found {} dead and opened {}",
                self.sessions, report.probed, report.dead, report.opened
            ));
        }
        Ok(self.sessions as u64)
    }
}
