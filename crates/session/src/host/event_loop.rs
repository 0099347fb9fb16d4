//! The simulator's one poller thread: accepts connections, drives every
//! session's non-blocking socket from `mio` readiness events, and closes
//! idle sessions from an [`IdleList`]. A session costs its [`Peer`] (the
//! sans-IO host state plus buffers that are released when empty), a slot
//! and an idle link; no thread, no stack.

use std::io::ErrorKind;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::conn::HostConn;
use super::idle::IdleList;
use super::peer::{Peer, ReadTurn};
use super::stats::Counters;
use super::{AppContext, Application, HostConfig, Shared};
use crate::error::{Error, Result};

/// Token of the listening socket.
const LISTENER: Token = Token(usize::MAX - 1);
/// Token of the waker `HostSimulator::stop` uses.
pub(super) const WAKER: Token = Token(usize::MAX);
/// Readiness events taken per poll.
const EVENTS_CAPACITY: usize = 1024;
/// The read buffer every session shares: 16 KiB.
const READ_BUF_BYTES: usize = 16 << 10;
/// Most bytes read from one session per turn before the others get theirs:
/// 64 KiB.
const READ_BUDGET_BYTES: usize = 64 << 10;
/// Wait before accepting again after a failed accept (descriptors
/// exhausted, …): 50 ms.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);
/// Most connections accepted per turn before the sessions get theirs:
/// a flood of connects cannot starve the open sessions.
const MAX_ACCEPTS_PER_TURN: usize = 256;

/// The event loop's state; [`EventLoop::run`] owns it on the poller thread.
pub(super) struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    config: HostConfig,
    app: Arc<dyn Application>,
    shared: Arc<Shared>,
    /// Sessions by token; `None` slots are on `free`.
    slots: Vec<Option<Box<Peer>>>,
    free: Vec<usize>,
    idle: IdleList,
    /// Sessions whose read budget ran out, or whose output drained below
    /// the high-water mark, to read again before sleeping.
    again: Vec<usize>,
    buf: Box<[u8]>,
    next_lu: u32,
    /// When to accept again without a listener event: after a failed
    /// accept, or at once after a turn that hit `MAX_ACCEPTS_PER_TURN`.
    accept_retry_at: Option<Instant>,
}

impl EventLoop {
    /// Registers `listener` with a new poller.
    pub(super) fn new(
        listener: std::net::TcpListener,
        config: HostConfig,
        app: Arc<dyn Application>,
        shared: Arc<Shared>,
    ) -> Result<Self> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        Ok(Self {
            poll,
            listener,
            config,
            app,
            shared,
            slots: Vec::new(),
            free: Vec::new(),
            idle: IdleList::new(),
            again: Vec::new(),
            buf: vec![0; READ_BUF_BYTES].into_boxed_slice(),
            next_lu: 0,
            accept_retry_at: None,
        })
    }

    /// A waker that interrupts the poll (for stop).
    pub(super) fn waker(&self) -> Result<mio::Waker> {
        Ok(mio::Waker::new(self.poll.registry(), WAKER)?)
    }

    /// Serves until `Shared::stop` is set and the waker fires, then closes
    /// every session.
    pub(super) fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        while !self.shared.stop.load(Ordering::Acquire) {
            let timeout = if self.again.is_empty() {
                self.timeout(Instant::now())
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(error = %e, "host simulator poll failed, stopping");
                break;
            }
            let now = Instant::now();
            for ev in &events {
                match ev.token() {
                    WAKER => {}
                    LISTENER => self.accept_all(now),
                    Token(i) => {
                        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                        self.ready(i, readable, now);
                    }
                }
            }
            self.read_again(now);
            self.expire(now);
            if self.accept_retry_at.is_some_and(|t| t <= now) {
                self.accept_all(now);
            }
        }
        self.close_all();
    }

    /// How long the poll may sleep: until the next idle deadline or accept
    /// retry, forever when there is neither.
    fn timeout(&self, now: Instant) -> Option<Duration> {
        let idle = self
            .idle
            .oldest()
            .and_then(|(_, since)| since.checked_add(self.config.idle_timeout));
        let next = match (idle, self.accept_retry_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        next.map(|t| t.saturating_duration_since(now))
    }

    /// Accepts waiting connections, at most [`MAX_ACCEPTS_PER_TURN`].
    fn accept_all(&mut self, now: Instant) {
        for _ in 0..MAX_ACCEPTS_PER_TURN {
            match self.listener.accept() {
                Ok((sock, _)) => self.admit(sock, now),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    self.accept_retry_at = None;
                    return;
                }
                // Reset before it was accepted: the next one may be fine.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    self.accept_retry_at = Some(now + ACCEPT_RETRY);
                    return;
                }
            }
        }
        // More may be waiting, and edge-triggered readiness will not say so
        // again: come back after this turn without sleeping.
        self.accept_retry_at = Some(now);
    }

    /// Starts a session on `sock`, or drops it when the cap is reached.
    fn admit(&mut self, sock: TcpStream, now: Instant) {
        if self.shared.active.load(Ordering::Acquire) >= self.config.max_sessions {
            Counters::add(&self.shared.counters.refused, 1);
            tracing::warn!("session limit reached, connection refused");
            return;
        }
        let _ = sock.set_nodelay(true);
        let mut peer = match self.new_peer(sock) {
            Ok(p) => Box::new(p),
            Err(e) => {
                tracing::warn!(error = %e, "could not start a session");
                return;
            }
        };
        let i = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(peer.socket(), Token(i), interest)
        {
            tracing::warn!(error = %e, "could not register a session");
            self.free.push(i);
            return;
        }
        self.slots[i] = Some(peer);
        self.shared.active.fetch_add(1, Ordering::AcqRel);
        self.shared.accepted.fetch_add(1, Ordering::AcqRel);
        self.idle.touch(i, now);
        // The host speaks first: send its opening negotiation now.
        self.ready(i, false, now);
    }

    fn new_peer(&mut self, sock: TcpStream) -> Result<Peer> {
        self.next_lu = self.next_lu.wrapping_add(1);
        let cfg = &self.config;
        let ctx = AppContext {
            store: self.shared.store.clone(),
            ..AppContext::default()
        };
        let host = HostConn::new(
            Arc::clone(&self.app),
            ctx,
            cfg.tn3270e,
            cfg.max_record_len,
            cfg.max_pending_input,
            cfg.max_pending_output,
            assigned_lu_name(self.next_lu),
        );
        // The current config: `HostSimulator::set_tls_config` may have
        // swapped the one the host started with.
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.shared.tls {
            let tls = Arc::clone(&tls.lock());
            return Peer::with_tls(sock, host, &tls);
        }
        Ok(Peer::new(sock, host))
    }

    /// Serves a readiness event on slot `i`: reads (when `readable`), lets
    /// the host answer, writes what the socket takes.
    fn ready(&mut self, i: usize, readable: bool, now: Instant) {
        let Some(peer) = self.slots.get_mut(i).and_then(Option::as_mut) else {
            return; // a stale event for a session closed in this turn
        };
        let turn = if readable {
            // The application runs inside `read`; if it panics, only its
            // session ends (its state is dropped with it).
            let buf = &mut self.buf;
            match std::panic::catch_unwind(AssertUnwindSafe(|| peer.read(buf, READ_BUDGET_BYTES))) {
                Ok(Ok(turn)) => turn,
                Ok(Err(e)) => return self.close(i, Some(&e)),
                Err(_) => {
                    Counters::add(&self.shared.counters.panics, 1);
                    tracing::error!("host application panicked, its session is closed");
                    return self.close(i, None);
                }
            }
        } else {
            ReadTurn::default()
        };
        let flushed = peer.flush();
        let (bytes_in, bytes_out) = peer.take_bytes();
        Counters::add(&self.shared.counters.bytes_in, bytes_in);
        Counters::add(&self.shared.counters.bytes_out, bytes_out);
        if let Err(e) = flushed {
            return self.close(i, Some(&e));
        }
        if peer.finished() {
            return self.close(i, None);
        }
        // Backpressure: a session that stopped reading at its output
        // high-water mark reads again once the client has taken enough
        // (on this writable event or right after its read); its input is
        // already in the kernel, so no readable event would say so.
        if (turn.more || peer.resumable()) && !peer.queued {
            peer.queued = true;
            self.again.push(i);
        }
        // Input re-arms the idle timer only once negotiation is done, so a
        // client that keeps sending NOPs or stray options without ever
        // finishing negotiation is still closed one idle timeout after it
        // connected.
        if turn.input && !peer.negotiating() {
            self.idle.touch(i, now);
        }
    }

    /// Gives sessions whose read budget ran out, or whose output drained,
    /// their next turn.
    fn read_again(&mut self, now: Instant) {
        for i in std::mem::take(&mut self.again) {
            if let Some(peer) = self.slots.get_mut(i).and_then(Option::as_mut) {
                peer.queued = false;
                self.ready(i, true, now);
            }
        }
    }

    /// Closes every session quiet for the idle timeout.
    fn expire(&mut self, now: Instant) {
        while let Some((i, since)) = self.idle.oldest() {
            // A timeout too long for `Instant` never expires.
            match since.checked_add(self.config.idle_timeout) {
                Some(deadline) if deadline <= now => {}
                _ => break,
            }
            tracing::debug!("idle session closed");
            Counters::add(&self.shared.counters.closed_idle, 1);
            self.close_quietly(i);
        }
    }

    /// Closes session `i`, counting it as ended normally or by `error`.
    fn close(&mut self, i: usize, error: Option<&Error>) {
        let c = &self.shared.counters;
        match (error, self.slots.get(i).and_then(Option::as_ref)) {
            (_, None) => return,
            (Some(e), Some(peer)) => {
                tracing::debug!(error = %e, "simulated session ended with an error");
                Counters::add(&c.closed_error, 1);
                if !peer.negotiated() {
                    Counters::add(&c.negotiation_failures, 1);
                }
            }
            (None, Some(_)) => Counters::add(&c.closed_normal, 1),
        }
        self.close_quietly(i);
    }

    /// Closes session `i` (its reason already counted).
    fn close_quietly(&mut self, i: usize) {
        self.idle.unlink(i);
        let Some(mut peer) = self.slots.get_mut(i).and_then(Option::take) else {
            return;
        };
        let (bytes_in, bytes_out) = peer.take_bytes();
        Counters::add(&self.shared.counters.bytes_in, bytes_in);
        Counters::add(&self.shared.counters.bytes_out, bytes_out);
        self.free.push(i);
        // Uncounted before the socket closes: a client that sees the close
        // sees `active_sessions` without it.
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        let _ = self.poll.registry().deregister(peer.socket());
        peer.close();
    }

    fn close_all(&mut self) {
        for i in 0..self.slots.len() {
            self.close(i, None);
        }
    }
}

/// Distinct LU names handed out before they repeat: 36^4.
const ASSIGNED_LU_NAMES: u32 = 36 * 36 * 36 * 36;

/// The LU name given to the `n`th session that did not ask for one:
/// `BLST` and four base-36 digits, so 8 characters (an SNA name's limit)
/// and unique for 1 679 616 sessions, more than `MAX_SESSIONS`.
fn assigned_lu_name(n: u32) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = n % ASSIGNED_LU_NAMES;
    let mut name = *b"BLST0000";
    for slot in name[4..].iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_lu_names_are_eight_characters_and_unique_past_ten_thousand() {
        assert_eq!(assigned_lu_name(1), "BLST0001");
        assert_eq!(assigned_lu_name(10_000), "BLST07PS");
        let names: std::collections::HashSet<String> = (0..20_000).map(assigned_lu_name).collect();
        assert_eq!(names.len(), 20_000);
        assert!(names.iter().all(|n| n.len() == 8));
        const _: () = assert!(ASSIGNED_LU_NAMES as usize > super::super::MAX_SESSIONS);
    }
}
