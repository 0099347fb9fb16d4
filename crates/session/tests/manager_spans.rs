//! Every managed session has one long-lived `tn3270_session` span (session
//! id, endpoint, LU; never a secret) that its open span and its command
//! spans are children of, so one session's events can be followed in a
//! log. Its own test binary: it installs a thread-scoped subscriber.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::manager::{
    EndpointConfig, LoginScript, ManagerConfig, SessionManager, Target,
};
use ballast_session::{Aid, Secret};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span's name and fields as text.
#[derive(Debug, Clone)]
struct SpanInfo {
    name: &'static str,
    fields: String,
}

/// An event's message and the spans it is in, innermost first.
#[derive(Debug, Clone)]
struct Seen {
    message: String,
    scope: Vec<SpanInfo>,
}

#[derive(Default)]
struct Capture {
    spans: Mutex<HashMap<u64, SpanInfo>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = String::new();
        attrs.record(&mut Text(&mut fields));
        let info = SpanInfo {
            name: attrs.metadata().name(),
            fields,
        };
        self.spans
            .lock()
            .expect("spans")
            .insert(id.into_u64(), info);
    }

    fn on_record(&self, id: &Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        if let Some(info) = self.spans.lock().expect("spans").get_mut(&id.into_u64()) {
            values.record(&mut Text(&mut info.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut message = String::new();
        event.record(&mut Text(&mut message));
        let spans = self.spans.lock().expect("spans");
        let scope = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .filter_map(|s| spans.get(&s.id().into_u64()).cloned())
                    .collect()
            })
            .unwrap_or_default();
        self.events
            .lock()
            .expect("events")
            .push(Seen { message, scope });
    }
}

#[test]
fn command_and_open_events_carry_the_long_lived_session_span() {
    let capture = Capture::default();
    let events = Arc::clone(&capture.events);
    let subscriber = tracing_subscriber::registry().with(capture);
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("host");
    let mut endpoint = EndpointConfig::new("mvs1", host.local_addr().to_string());
    endpoint.lu_pool = vec!["LU01".into()];
    let config = ManagerConfig {
        endpoints: vec![endpoint],
        login: LoginScript::new()
            .wait_text("PLEASE SIGN ON")
            .type_text("DEMO")
            .type_secret(Secret::from("SECRET"))
            .key(Aid::Enter)
            .wait_text("MAIN MENU"),
        ..ManagerConfig::default()
    };
    let id = tracing::subscriber::with_default(subscriber, || {
        let m = SessionManager::new(config).expect("valid config");
        let mut s = m.acquire(Target::Any).expect("signed on");
        s.press_and_wait(Aid::Pf(3)).expect("a command");
        let id = s.id();
        s.mark_broken();
        drop(s);
        id
    });
    let events = events.lock().expect("events").clone();
    let session_of = |e: &Seen| e.scope.iter().find(|s| s.name == "tn3270_session").cloned();

    let command: Vec<&Seen> = events
        .iter()
        .filter(|e| e.scope.first().is_some_and(|s| s.name == "tn3270_command"))
        .collect();
    assert!(!command.is_empty(), "a command event: {events:#?}");
    for e in &command {
        let session = session_of(e).unwrap_or_else(|| panic!("no session span: {e:#?}"));
        assert!(
            session.fields.contains(&format!("session={id} ")),
            "{session:?}"
        );
        assert!(session.fields.contains("endpoint=mvs1 "), "{session:?}");
        assert!(session.fields.contains("lu=\"LU01\""), "{session:?}");
    }
    let opening = events
        .iter()
        .find(|e| e.scope.iter().any(|s| s.name == "tn3270_open"))
        .expect("an event while opening");
    assert!(
        session_of(opening).is_some(),
        "the open span is a child of the session span: {opening:#?}"
    );
    let retired = events
        .iter()
        .find(|e| e.message.contains("session retired"))
        .expect("the retirement is logged");
    assert!(session_of(retired).is_some(), "{retired:#?}");
    let all = format!("{events:?}");
    assert!(!all.contains("SECRET"), "no secret in spans or events");
}
