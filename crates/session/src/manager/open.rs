//! Opening a session: throttle, breaker, connect, negotiate, sign on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Inner;
use super::connector::{Connector, Metered};
use super::error::{ManagerError, ManagerResult};
use super::login::LoginStep;
use super::pool::Slot;
use super::stats::SessionCounters;
use crate::audit::AuditEvent;
use crate::client::Client;
use crate::error::Result;
use crate::screen::Screen;
use crate::terminal::Condition;

/// Opens a session on endpoint `ep` (whose place is reserved in the books)
/// with `lu`, before `deadline`. On failure the reservation is given back.
pub(crate) fn open_session<C: Connector>(
    inner: &Arc<Inner<C>>,
    ep: usize,
    lu: Option<String>,
    deadline: Instant,
) -> ManagerResult<Box<Slot<C::Stream>>> {
    let result = open_checked(inner, ep, lu.clone(), deadline);
    match result {
        Ok(slot) => {
            inner.books.lock().opened(&slot, true);
            Ok(slot)
        }
        Err(e) => {
            inner.books.lock().unreserve(ep, lu);
            inner.freed.notify_all();
            Err(e)
        }
    }
}

fn open_checked<C: Connector>(
    inner: &Arc<Inner<C>>,
    ep: usize,
    lu: Option<String>,
    deadline: Instant,
) -> ManagerResult<Box<Slot<C::Stream>>> {
    let e = &inner.endpoints[ep];
    let name = || e.config.name.clone();
    if let Some(limiter) = &e.limiter
        && let Err(ballast_resilience::Error::RateLimited { retry_after }) = limiter.try_acquire()
    {
        return Err(ManagerError::Throttled {
            endpoint: name(),
            retry_after,
        });
    }
    let permit = e
        .breaker
        .try_acquire()
        .map_err(|_| ManagerError::EndpointDown { endpoint: name() })?;
    let id = inner.next_id();
    // The session's own span, for as long as it lives: a root span, not a
    // child of whichever caller's work happened to open it.
    let span = tracing::info_span!(
        parent: None,
        "tn3270_session",
        session = id,
        endpoint = %e.config.name,
        lu = tracing::field::Empty,
    );
    let _open = tracing::info_span!(parent: &span, "tn3270_open").entered();
    match connect(inner, ep, id, lu, deadline, span) {
        Ok(slot) => {
            permit.success();
            e.counters.opened();
            tracing::debug!("session signed on");
            Ok(slot)
        }
        Err(source) => {
            permit.failure();
            e.counters
                .connect_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let message = source.to_string();
            inner.audit(
                id,
                ep,
                &AuditEvent::Error {
                    kind: "connect",
                    message: Some(&message),
                },
            );
            tracing::warn!(error = %source, "opening a session failed");
            Err(ManagerError::Connect {
                endpoint: name(),
                source,
            })
        }
    }
}

fn connect<C: Connector>(
    inner: &Arc<Inner<C>>,
    ep: usize,
    id: u64,
    lu: Option<String>,
    deadline: Instant,
    span: tracing::Span,
) -> Result<Box<Slot<C::Stream>>> {
    let e = &inner.endpoints[ep];
    inner.audit(
        id,
        ep,
        &AuditEvent::Connect {
            address: &e.config.address,
            lu: lu.as_deref(),
        },
    );
    let stream = inner.connector.connect(&e.config, deadline)?;
    let counters = Arc::new(SessionCounters::default());
    let metered = Metered::new(
        stream,
        Arc::clone(&counters.bytes),
        Arc::clone(&e.counters.bytes),
    );
    let mut session_config = inner.config.session.clone();
    if lu.is_some() {
        session_config.lu.clone_from(&lu);
    }
    let mut client = Client::new(metered, session_config)?;
    client.handshake(left(deadline))?;
    let s = client.session();
    if let Some(assigned) = s.lu().or(lu.as_deref()) {
        span.record("lu", assigned);
    }
    inner.audit(
        id,
        ep,
        &AuditEvent::Negotiated {
            tn3270e: s.is_tn3270e(),
            lu: s.lu(),
        },
    );
    let script = inner.config.login.steps().iter();
    for step in script.chain(inner.config.navigation.steps()) {
        if let LoginStep::Key(aid) = step {
            let modified = modified_fields(client.screen());
            inner.audit(
                id,
                ep,
                &AuditEvent::AidSent {
                    aid: *aid,
                    modified: &modified,
                },
            );
        }
        run_step(&mut client, step, left(deadline))?;
        if matches!(step, LoginStep::Key(_)) {
            inner.audit(
                id,
                ep,
                &AuditEvent::ScreenReceived {
                    screen: client.screen(),
                },
            );
        }
    }
    let now = inner.clock.now();
    Ok(Box::new(Slot {
        client,
        id,
        endpoint: ep,
        lu,
        created: now,
        last_used: now,
        last_alive: now,
        counters,
        span,
    }))
}

/// Time left until `deadline` (at least a millisecond, so a wait still
/// reads once).
fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// Runs one login or navigation step.
pub(crate) fn run_step<S: std::io::Read + std::io::Write>(
    client: &mut Client<S>,
    step: &LoginStep,
    timeout: Duration,
) -> Result<()> {
    match step {
        LoginStep::WaitText(text) => client.wait_for(Condition::Text(text.clone()), timeout),
        LoginStep::Wait(condition) => client.wait_for(condition.clone(), timeout),
        LoginStep::Type(text) | LoginStep::TypeUser(text) => {
            client.wait_for(Condition::Unlocked, timeout)?;
            client.type_text(text)?;
            client.tab();
            Ok(())
        }
        LoginStep::TypeSecret(secret) => {
            client.wait_for(Condition::Unlocked, timeout)?;
            client.type_text(secret.expose())?;
            client.tab();
            Ok(())
        }
        LoginStep::Tab => {
            client.tab();
            Ok(())
        }
        LoginStep::Key(aid) => {
            client.wait_for(Condition::Unlocked, timeout)?;
            client.press_and_wait(*aid, timeout)
        }
    }
}

/// Row and column of every modified input field: what an AID sends,
/// named by position only (their content may be secret).
pub(crate) fn modified_fields(screen: &Screen) -> Vec<(u16, u16)> {
    screen
        .input_fields()
        .filter(|f| f.field().attribute.is_modified())
        .map(|f| f.position())
        .collect()
}
