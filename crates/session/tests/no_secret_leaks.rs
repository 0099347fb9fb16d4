//! No password reaches a log line, a span, the audit log or a `Debug`
//! output while the manager signs on (once with a wrong password),
//! works, probes and drains. Every tracing event of the process is
//! captured (the host simulator's thread included).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast_session::audit::AuditLog;
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::manager::{
    EndpointConfig, LoginScript, ManagerConfig, SessionManager, Target,
};
use ballast_session::{Aid, Secret};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};

/// The password used everywhere in this test.
const PASSWORD: &str = "PW4LEAK";

/// Records every span and event field as text.
struct Capture {
    text: Arc<Mutex<String>>,
    next_id: AtomicU64,
}

struct Fields<'a>(&'a Mutex<String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = write!(s, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        span.record(&mut Fields(&self.text));
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Fields(&self.text));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        event.record(&mut Fields(&self.text));
        self.text
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn login(password: &str) -> LoginScript {
    LoginScript::new()
        .wait_text("PLEASE SIGN ON")
        .type_text("DEMO")
        .type_secret(Secret::from(password))
        .key(Aid::Enter)
        .wait_text("MAIN MENU")
}

#[test]
fn no_password_in_logs_spans_audit_or_debug() {
    let text = Arc::new(Mutex::new(String::new()));
    tracing::subscriber::set_global_default(Capture {
        text: Arc::clone(&text),
        next_id: AtomicU64::new(1),
    })
    .expect("the only subscriber of this test binary");
    let app = DemoApp {
        password: Secret::from(PASSWORD),
        ..DemoApp::default()
    };
    let host = HostSimulator::start(HostConfig::default(), app.clone()).expect("host");
    let audit = Arc::new(AuditLog::in_memory());
    let mut config = ManagerConfig {
        endpoints: vec![EndpointConfig::new("demo", host.local_addr().to_string())],
        login: login("WRONGPW1"),
        connect_timeout: Duration::from_millis(500),
        ..ManagerConfig::default()
    };
    let clock = ballast_clock::system_clock();
    let wrong = SessionManager::with_clock(
        config.clone(),
        ballast_session::manager::NetConnector,
        Arc::clone(&clock),
        Some(Arc::clone(&audit)),
    )
    .expect("valid config");
    let err = wrong
        .acquire(Target::Any)
        .expect_err("a wrong password never reaches MAIN MENU");
    config.login = login(PASSWORD);
    let m = SessionManager::with_clock(
        config.clone(),
        ballast_session::manager::NetConnector,
        clock,
        Some(Arc::clone(&audit)),
    )
    .expect("valid config");
    let mut s = m.acquire(Target::Any).expect("signed on");
    s.press_and_wait(Aid::Pf(3)).expect("sign off");
    let debug = format!(
        "{err:?} {err} {config:?} {m:?} {s:?} {:?} {:?} {app:?}",
        s.screen(),
        s.session()
    );
    drop(s);
    m.drain(Duration::from_secs(1));
    let logs = text.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let audit = String::from_utf8(audit.snapshot().expect("in memory")).expect("utf-8");
    assert!(
        logs.contains("session"),
        "the capture saw the manager's spans and events:\n{logs}"
    );
    assert!(audit.lines().count() > 5, "{audit}");
    for (what, out) in [("logs", &logs), ("audit", &audit), ("debug", &debug)] {
        assert!(!out.contains(PASSWORD), "password in {what}:\n{out}");
        assert!(
            !out.contains("WRONGPW1"),
            "wrong password in {what}:\n{out}"
        );
    }
}
