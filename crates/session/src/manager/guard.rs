//! [`SessionGuard`]: a lent session. Its I/O goes through the manager's
//! bookkeeping: stats, breaker, audit, failover errors.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ballast_codec::tn3270::Aid;
use ballast_resilience::InFlightGuard;

use super::connector::{Connector, Metered, NetConnector};
use super::error::{ManagerError, ManagerResult, is_connection_error};
use super::login::LoginStep;
use super::open::{modified_fields, run_step};
use super::pool::Slot;
use super::{Inner, endpoint_up};
use crate::audit::AuditEvent;
use crate::client::Client;
use crate::error::Result;
use crate::terminal::{Condition, Terminal};

/// A session lent by [`SessionManager::acquire`](super::SessionManager::acquire);
/// it goes back to the pool when dropped (or is closed, if it broke).
///
/// It dereferences to the session's [`Terminal`] (screen, typing, fields);
/// keys and waits are its own methods, so every command is counted, timed,
/// audited and checked against the endpoint's breaker. A command that
/// fails on the connection retires the session and returns a
/// [retryable](ballast_error::Coded::is_retryable) error.
pub struct SessionGuard<C: Connector = NetConnector> {
    inner: Arc<Inner<C>>,
    slot: Option<Box<Slot<C::Stream>>>,
    broken: bool,
    _in_flight: InFlightGuard,
}

impl<C: Connector> std::fmt::Debug for SessionGuard<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGuard")
            .field("session", &self.id())
            .field("endpoint", &self.endpoint())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl<C: Connector> SessionGuard<C> {
    pub(crate) fn new(
        inner: Arc<Inner<C>>,
        slot: Box<Slot<C::Stream>>,
        in_flight: InFlightGuard,
    ) -> Self {
        Self {
            inner,
            slot: Some(slot),
            broken: false,
            _in_flight: in_flight,
        }
    }

    fn slot(&self) -> &Slot<C::Stream> {
        // Invariant: `slot` is only taken in `drop`.
        self.slot.as_ref().expect("slot present until drop")
    }

    fn slot_mut(&mut self) -> &mut Slot<C::Stream> {
        self.slot.as_mut().expect("slot present until drop")
    }

    /// The session id (as in stats and the audit log).
    pub fn id(&self) -> u64 {
        self.slot().id
    }

    /// The endpoint's name.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoints[self.slot().endpoint].config.name
    }

    /// The LU the session asked for, if any.
    pub fn lu(&self) -> Option<&str> {
        self.slot().lu.as_deref()
    }

    /// The client, for what the guard does not wrap. Its commands bypass
    /// the manager's stats, audit and breaker.
    pub fn client_mut(&mut self) -> &mut Client<Metered<C::Stream>> {
        &mut self.slot_mut().client
    }

    /// Closes the session instead of returning it to the pool.
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Presses `aid` and waits until the host unlocks the keyboard.
    pub fn press_and_wait(&mut self, aid: Aid) -> ManagerResult<()> {
        self.audit_aid(aid);
        self.command("press_and_wait", |c, t| c.press_and_wait(aid, t))?;
        self.audit_screen();
        Ok(())
    }

    /// Presses `aid` without waiting for the answer.
    pub fn press(&mut self, aid: Aid) -> ManagerResult<()> {
        self.audit_aid(aid);
        self.command("press", |c, _| c.press(aid))
    }

    /// Waits until `condition` holds, within the command timeout.
    pub fn wait_for(&mut self, condition: Condition) -> ManagerResult<()> {
        self.command("wait_for", |c, t| c.wait_for(condition, t))?;
        self.audit_screen();
        Ok(())
    }

    /// Runs one script step (navigation after login, a transaction).
    pub fn run_step(&mut self, step: &LoginStep) -> ManagerResult<()> {
        if let LoginStep::Key(aid) = step {
            self.audit_aid(*aid);
        }
        self.command("step", |c, t| run_step(c, step, t))?;
        if matches!(step, LoginStep::Key(_)) {
            self.audit_screen();
        }
        Ok(())
    }

    /// Runs one command on the client: checks the drain and the breaker,
    /// times it, counts it, and maps failures (see the type docs).
    fn command<T>(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Client<Metered<C::Stream>>, Duration) -> Result<T>,
    ) -> ManagerResult<T> {
        let inner = Arc::clone(&self.inner);
        if inner.cancelled.load(Ordering::Acquire) {
            self.broken = true;
            return Err(ManagerError::Cancelled);
        }
        let ep = &inner.endpoints[self.slot().endpoint];
        if !endpoint_up(&ep.breaker) {
            self.broken = true;
            return Err(ManagerError::EndpointDown {
                endpoint: ep.config.name.clone(),
            });
        }
        let span = tracing::debug_span!(parent: &self.slot().span, "tn3270_command", what);
        let _entered = span.enter();
        let timeout = inner.config.command_timeout;
        let start = Instant::now();
        let result = f(&mut self.slot_mut().client, timeout);
        let elapsed = start.elapsed();
        ep.counters.latency.record(elapsed);
        ep.counters.commands.fetch_add(1, Ordering::Relaxed);
        let counters = &self.slot().counters;
        counters.latency.record(elapsed);
        counters.commands.fetch_add(1, Ordering::Relaxed);
        let outcome = self.outcome(result);
        tracing::debug!(
            elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            outcome = outcome.as_ref().map_or_else(ManagerError::kind, |_| "ok"),
            "command done"
        );
        if let Ok(p) = ep.breaker.try_acquire() {
            match &outcome {
                Err(ManagerError::SessionLost { .. }) => p.failure(),
                _ => p.success(),
            }
        }
        outcome
    }

    fn outcome<T>(&mut self, result: Result<T>) -> ManagerResult<T> {
        let e = match result {
            Ok(v) => {
                let now = self.inner.clock.now();
                self.slot_mut().last_alive = now;
                return Ok(v);
            }
            Err(e) => e,
        };
        let (id, ep) = (self.id(), self.slot().endpoint);
        self.slot().counters.error(&e);
        self.inner.endpoints[ep].counters.error(&e);
        let kind = super::stats::ERROR_KINDS[super::stats::error_kind(&e)];
        if !is_connection_error(&e) {
            self.inner.audit(
                id,
                ep,
                &AuditEvent::Error {
                    kind,
                    message: None,
                },
            );
            return Err(ManagerError::Session(e));
        }
        self.broken = true;
        let message = e.to_string();
        self.inner.audit(
            id,
            ep,
            &AuditEvent::Error {
                kind,
                message: Some(&message),
            },
        );
        Err(ManagerError::SessionLost {
            endpoint: self.endpoint().to_owned(),
            session: id,
            source: e,
        })
    }

    fn audit_aid(&self, aid: Aid) {
        if self.inner.audit.is_some() {
            let modified = modified_fields(self.slot().client.screen());
            self.inner.audit(
                self.id(),
                self.slot().endpoint,
                &AuditEvent::AidSent {
                    aid,
                    modified: &modified,
                },
            );
        }
    }

    fn audit_screen(&self) {
        if self.inner.audit.is_some() {
            self.inner.audit(
                self.id(),
                self.slot().endpoint,
                &AuditEvent::ScreenReceived {
                    screen: self.slot().client.screen(),
                },
            );
        }
    }
}

impl<C: Connector> Deref for SessionGuard<C> {
    type Target = Terminal;

    fn deref(&self) -> &Terminal {
        self.slot().client.terminal()
    }
}

impl<C: Connector> DerefMut for SessionGuard<C> {
    fn deref_mut(&mut self) -> &mut Terminal {
        &mut self.slot_mut().client
    }
}

impl<C: Connector> Drop for SessionGuard<C> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.inner.release(slot, self.broken);
        }
    }
}
