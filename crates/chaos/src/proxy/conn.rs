//! One proxied connection: two pumps (client → upstream, upstream → client)
//! polled together, each running the fault engine for its direction.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

use super::conns::{ConnRecord, Registration};
use super::tls::{Side, TlsSettings};
use super::{ListenCtx, ProxyState};
use crate::chunk::ChunkSlab;
use crate::clock::{Clock, TokioClock};
use crate::engine::{DirectionEngine, EngineContext, Piece};
use crate::toxic::Stream;

/// Largest read on the scheduled path: bounds what one chunk can expand to
/// (a slicer turns each byte into a piece) before backpressure applies.
const FAULTY_READ_MAX: usize = 64 * 1024;

/// Largest read on the scheduled path under `limits`.
fn faulty_read_max(limits: &super::ProxyLimits) -> usize {
    FAULTY_READ_MAX.min(limits.buffer_size.max(1))
}

/// How a connection ends when a toxic, an error or the API ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// FIN both ways.
    Close,
    /// RST both ways.
    Reset,
}

enum Step {
    Continue,
    Done,
    End(End),
}

/// Bytes a small passthrough transfer copies through the stack.
#[cfg(target_os = "linux")]
const SMALL_COPY: usize = 8 * 1024;

/// What one synchronous small copy did.
#[cfg(target_os = "linux")]
enum SmallCopy {
    /// Spurious readiness: nothing to read.
    NotReady,
    /// The source ended.
    Eof,
    /// A read or write failed (a read error resets, a write error closes).
    Failed { reset: bool },
    /// `n` bytes read and written; `bulk` when the read filled the buffer.
    Written { n: usize, bulk: bool },
    /// `n` bytes read, `rest` of them not yet written.
    Partial { n: usize, rest: Vec<u8>, bulk: bool },
}

/// Reads what `src` has (up to [`SMALL_COPY`]) and writes it to `dst`
/// without waiting. A plain function: the buffer lives on this stack frame
/// only, never in the pump's future.
#[cfg(target_os = "linux")]
fn copy_small(src: &TcpStream, dst: &TcpStream) -> SmallCopy {
    let mut buf = [0u8; SMALL_COPY];
    let n = match src.try_read(&mut buf) {
        Ok(0) => return SmallCopy::Eof,
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return SmallCopy::NotReady,
        Err(_) => return SmallCopy::Failed { reset: true },
    };
    let bulk = n == SMALL_COPY;
    match dst.try_write(&buf[..n]) {
        Ok(m) if m == n => SmallCopy::Written { n, bulk },
        Ok(m) => SmallCopy::Partial {
            n,
            rest: buf[m..n].to_vec(),
            bulk,
        },
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => SmallCopy::Partial {
            n,
            rest: buf[..n].to_vec(),
            bulk,
        },
        Err(_) => SmallCopy::Failed { reset: false },
    }
}

/// Writes all of `data` to a socket, unless the connection is ended first.
#[cfg(target_os = "linux")]
async fn write_tcp_or_end(
    dst: &TcpStream,
    mut data: &[u8],
    end_rx: &mut watch::Receiver<Option<End>>,
) -> Step {
    while !data.is_empty() {
        tokio::select! {
            r = dst.writable() => if r.is_err() {
                return Step::End(End::Close);
            },
            _ = end_rx.changed() => return Step::End(end_rx.borrow().unwrap_or(End::Close)),
        }
        match dst.try_write(data) {
            Ok(0) => return Step::End(End::Close),
            Ok(m) => data = &data[m..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return Step::End(End::Close),
        }
    }
    Step::Continue
}

/// Half-closes the write side of a socket the splice path writes to (a
/// plain FIN; the splice path never holds a TLS stream).
#[cfg(target_os = "linux")]
fn shutdown_write(dst: &TcpStream) {
    let _ = socket2::SockRef::from(dst).shutdown(std::net::Shutdown::Write);
}

fn set_reset(stream: &TcpStream) {
    // SO_LINGER 0: closing sends RST instead of FIN.
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Runs one accepted client connection to its end.
/// Serves one client connection. `span` names it (proxy, client, ordinal)
/// in its log lines; it is not entered on every poll, which would cost the
/// data path a span enter and exit per wake-up under a subscriber.
pub(super) async fn run(
    client: TcpStream,
    ctx: Arc<ListenCtx>,
    registration: Registration,
    span: tracing::Span,
) {
    let rec = Arc::clone(registration.record());
    let _ = client.set_nodelay(true);
    let Some(upstream) = dial(&ctx, &client, &span).await else {
        return;
    };
    let Some(tls) = &ctx.tls else {
        let (mut cr, mut cw) = client.into_split();
        let (mut ur, mut uw) = upstream.into_split();
        let ended = pump_both(&ctx, &rec, (&mut cr, &mut cw), (&mut ur, &mut uw)).await;
        tracing::debug!(parent: &span, reset = ended == Some(End::Reset), "closed");
        if ended == Some(End::Reset) {
            set_reset(cr.as_ref());
            set_reset(ur.as_ref());
            // Dropping a write half sends FIN; forget them so the close is a bare RST.
            cw.forget();
            uw.forget();
        }
        return;
    };
    let Some((client, upstream)) = handshake(tls, client, upstream, &ctx, &span).await else {
        return;
    };
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let ended = pump_both(&ctx, &rec, (&mut cr, &mut cw), (&mut ur, &mut uw)).await;
    tracing::debug!(parent: &span, reset = ended == Some(End::Reset), "closed");
    if ended == Some(End::Reset) {
        let (client, upstream) = (cr.unsplit(cw), ur.unsplit(uw));
        // SO_LINGER 0, then drop: the close is a bare RST, no close_notify.
        set_reset(client.tcp());
        set_reset(upstream.tcp());
    }
}

/// Dials the upstream; on failure the client is reset.
async fn dial(ctx: &ListenCtx, client: &TcpStream, span: &tracing::Span) -> Option<TcpStream> {
    let dial = tokio::time::timeout(
        ctx.limits.connect_timeout,
        TcpStream::connect(&*ctx.upstream),
    );
    match dial.await {
        Ok(Ok(s)) => {
            let _ = s.set_nodelay(true);
            Some(s)
        }
        Ok(Err(e)) => {
            tracing::debug!(parent: span, error = %e, "upstream refused; resetting client");
            set_reset(client);
            None
        }
        Err(_) => {
            tracing::debug!(parent: span, "upstream connect timed out; resetting client");
            set_reset(client);
            None
        }
    }
}

/// The TLS handshakes the proxy's settings ask for, each within the
/// connect timeout; a failed one closes both sides.
async fn handshake(
    tls: &TlsSettings,
    client: TcpStream,
    upstream: TcpStream,
    ctx: &ListenCtx,
    span: &tracing::Span,
) -> Option<(Side, Side)> {
    let limit = ctx.limits.connect_timeout;
    let client = match &tls.acceptor {
        Some(acceptor) => match tokio::time::timeout(limit, acceptor.accept(client)).await {
            Ok(Ok(s)) => Side::Server(Box::new(s)),
            Ok(Err(e)) => {
                tracing::debug!(parent: span, error = %e, "client TLS handshake failed");
                return None;
            }
            Err(_) => {
                tracing::debug!(parent: span, "client TLS handshake timed out");
                return None;
            }
        },
        None => Side::Plain(client),
    };
    let upstream = match &tls.connector {
        Some((connector, name)) => {
            match tokio::time::timeout(limit, connector.connect(name.clone(), upstream)).await {
                Ok(Ok(s)) => Side::Client(Box::new(s)),
                Ok(Err(e)) => {
                    tracing::debug!(parent: span, error = %e, "upstream TLS handshake failed");
                    return None;
                }
                Err(_) => {
                    tracing::debug!(parent: span, "upstream TLS handshake timed out");
                    return None;
                }
            }
        }
        None => Side::Plain(upstream),
    };
    Some((client, upstream))
}

/// Runs both directions to their end; how the connection ended.
async fn pump_both<CR, CW, UR, UW>(
    ctx: &ListenCtx,
    rec: &ConnRecord,
    (cr, cw): (&mut CR, &mut CW),
    (ur, uw): (&mut UR, &mut UW),
) -> Option<End>
where
    CR: AsyncRead + Unpin + Spliceable,
    CW: AsyncWrite + Unpin + Spliceable,
    UR: AsyncRead + Unpin + Spliceable,
    UW: AsyncWrite + Unpin + Spliceable,
{
    let clock = TokioClock::new();
    let up = Pump::new(ctx, rec, Stream::Upstream, clock);
    let down = Pump::new(ctx, rec, Stream::Downstream, clock);
    tokio::join!(up.run(cr, uw), down.run(ur, cw));
    *rec.end().borrow()
}

/// A half a pump may splice: the plain TCP halves can, TLS halves cannot.
trait Spliceable {
    fn tcp(&self) -> Option<&TcpStream>;
}

impl Spliceable for OwnedReadHalf {
    fn tcp(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }
}

impl Spliceable for OwnedWriteHalf {
    fn tcp(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }
}

impl Spliceable for tokio::io::ReadHalf<Side> {
    fn tcp(&self) -> Option<&TcpStream> {
        None
    }
}

impl Spliceable for tokio::io::WriteHalf<Side> {
    fn tcp(&self) -> Option<&TcpStream> {
        None
    }
}

struct Pump<'a> {
    /// This direction's byte counters (received from the source, sent to
    /// the destination), for the proxy's metrics.
    flow: Arc<super::metrics::Flow>,
    /// The connection's entry in the table the API lists.
    rec: &'a ConnRecord,
    /// The proxy's connection table (and its pipe pool).
    table: &'a super::conns::ConnTable,
    stream: Stream,
    engine: DirectionEngine,
    state: watch::Receiver<ProxyState>,
    end_tx: &'a watch::Sender<Option<End>>,
    end_rx: watch::Receiver<Option<End>>,
    epoch: u64,
    clock: TokioClock,
    /// Passthrough copy buffer, allocated on first use (the splice path
    /// never needs it). A plain `Vec`: each read is written before the next.
    buf: Vec<u8>,
    buf_size: usize,
    /// Scheduled path: chunks outlive the read, so they are cut from a slab.
    slab: ChunkSlab,
    src_eof: bool,
    /// Splice the passthrough path (Linux), through pipes from a pool.
    #[cfg(target_os = "linux")]
    splice: bool,
    /// The last passthrough transfer was bulk (it filled the copy buffer):
    /// splice, else copy.
    #[cfg(target_os = "linux")]
    bulk: bool,
}

impl<'a> Pump<'a> {
    fn new(ctx: &'a ListenCtx, rec: &'a ConnRecord, stream: Stream, clock: TokioClock) -> Self {
        let end_tx = rec.end();
        let ectx = EngineContext {
            seed: ctx.seed,
            proxy: Arc::clone(&ctx.name),
            stream,
            ordinal: rec.id(),
            client: Some(rec.client().ip()),
        };
        let flow = ctx
            .bytes
            .flow(&ctx.name, &ctx.listen, &ctx.upstream, stream);
        let mut state = ctx.state.subscribe();
        let mut engine =
            DirectionEngine::new(ectx).with_max_queued_bytes(ctx.limits.max_queued_bytes);
        engine.update(&state.borrow_and_update().toxics, clock.now());
        rec.direction(stream).set_toxics(engine.active_toxics());
        Self {
            flow,
            rec,
            table: &ctx.conns,
            stream,
            engine,
            state,
            end_tx,
            end_rx: end_tx.subscribe(),
            epoch: ctx.epoch,
            clock,
            buf: Vec::new(),
            buf_size: ctx.limits.buffer_size.max(1),
            slab: ChunkSlab::new(ctx.limits.buffer_size.max(2 * faulty_read_max(&ctx.limits))),
            src_eof: false,
            #[cfg(target_os = "linux")]
            splice: true,
            #[cfg(target_os = "linux")]
            bulk: false,
        }
    }

    async fn run<R, W>(mut self, src: &mut R, dst: &mut W)
    where
        R: AsyncRead + Unpin + Spliceable,
        W: AsyncWrite + Unpin + Spliceable,
    {
        loop {
            let ended = *self.end_rx.borrow();
            if let Some(end) = ended {
                finish(dst, end).await;
                return;
            }
            let step = if self.engine.is_passthrough() && !self.src_eof {
                self.passthrough_step(src, dst).await
            } else {
                self.faulty_step(src, dst).await
            };
            match step {
                Step::Continue => {}
                Step::Done => return,
                Step::End(end) => {
                    self.end_tx.send_replace(Some(end));
                    finish(dst, end).await;
                    return;
                }
            }
        }
    }

    /// Takes the new toxic chain; a new epoch (disabled, deleted) ends the connection.
    fn refresh(&mut self, changed: Result<(), watch::error::RecvError>) -> Step {
        if changed.is_err() {
            return Step::End(End::Close);
        }
        let state = self.state.borrow_and_update().clone();
        if state.epoch != self.epoch {
            return Step::End(End::Close);
        }
        self.engine.update(&state.toxics, self.clock.now());
        self.rec
            .direction(self.stream)
            .set_toxics(self.engine.active_toxics());
        Step::Continue
    }

    fn received(&self, n: usize) {
        self.flow.received(n);
        self.rec.direction(self.stream).received(n);
    }

    fn sent(&self, n: usize) {
        self.flow.sent(n);
        self.rec.direction(self.stream).sent(n);
    }

    /// No active toxic: splice through a kernel pipe on Linux (bytes never
    /// enter user space), else copy through one reused buffer. Either way
    /// nothing is allocated per chunk.
    async fn passthrough_step<R, W>(&mut self, src: &mut R, dst: &mut W) -> Step
    where
        R: AsyncRead + Unpin + Spliceable,
        W: AsyncWrite + Unpin + Spliceable,
    {
        #[cfg(target_os = "linux")]
        if self.splice
            && let (Some(src), Some(dst)) = (src.tcp(), dst.tcp())
        {
            tokio::select! {
                biased;
                _ = self.end_rx.changed() => return Step::Continue,
                r = self.state.changed() => return self.refresh(r),
                r = src.readable() => {
                    if r.is_err() {
                        return Step::End(End::Reset);
                    }
                }
            }
            if !self.bulk {
                return self.small_step(src, dst).await;
            }
            // A pipe is borrowed only while bytes are in flight, so idle
            // connections hold none; without one (out of descriptors) this
            // step copies instead.
            if let Ok(pipe) = self.table.pipes().take() {
                return self.splice_step(src, dst, pipe).await;
            }
        }
        self.ensure_buf();
        tokio::select! {
            biased;
            _ = self.end_rx.changed() => Step::Continue,
            r = self.state.changed() => self.refresh(r),
            r = src.read(&mut self.buf) => match r {
                Ok(0) => {
                    let _ = dst.shutdown().await;
                    Step::Done
                }
                Ok(n) => {
                    self.received(n);
                    let step = write_or_end(dst, &self.buf[..n], &mut self.end_rx).await;
                    if matches!(step, Step::Continue) {
                        self.sent(n);
                    }
                    step
                }
                Err(_) => Step::End(End::Reset),
            },
        }
    }

    /// Small transfers (a request, a reply) copy through a stack buffer:
    /// one read and one write cost less than two splices through a pipe. A
    /// read that fills the buffer means a bulk transfer, for which splice
    /// wins; the pump splices until a transfer is small again.
    #[cfg(target_os = "linux")]
    async fn small_step(&mut self, src: &TcpStream, dst: &TcpStream) -> Step {
        match copy_small(src, dst) {
            SmallCopy::NotReady => Step::Continue,
            SmallCopy::Eof => {
                shutdown_write(dst);
                Step::Done
            }
            SmallCopy::Failed { reset } => Step::End(if reset { End::Reset } else { End::Close }),
            SmallCopy::Written { n, bulk } => {
                self.received(n);
                self.sent(n);
                self.bulk = bulk;
                Step::Continue
            }
            SmallCopy::Partial { n, rest, bulk } => {
                // The destination is slow: the unwritten tail waits here
                // (the one allocation of this path, only when a write is
                // short).
                self.received(n);
                self.bulk = bulk;
                let step = write_tcp_or_end(dst, &rest, &mut self.end_rx).await;
                if matches!(step, Step::Continue) {
                    self.sent(n);
                }
                step
            }
        }
    }

    /// Moves what the source has through `pipe`; the pipe goes back to the
    /// pool once empty.
    #[cfg(target_os = "linux")]
    async fn splice_step(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        mut pipe: super::splice::Pipe,
    ) -> Step {
        match super::splice::fill(src, &mut pipe) {
            Ok(0) => {
                self.table.pipes().give_back(pipe);
                shutdown_write(dst);
                Step::Done
            }
            Ok(n) => {
                self.received(n);
                // A short transfer: back to copying.
                self.bulk = n >= SMALL_COPY;
                tokio::select! {
                    r = super::splice::drain(dst, &mut pipe) => match r {
                        Ok(()) => {
                            self.sent(n);
                            self.table.pipes().give_back(pipe);
                            Step::Continue
                        }
                        Err(_) => Step::End(End::Close),
                    },
                    _ = self.end_rx.changed() => Step::End(self.end_rx.borrow().unwrap_or(End::Close)),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.table.pipes().give_back(pipe);
                Step::Continue
            }
            Err(_) => Step::End(End::Reset),
        }
    }

    fn ensure_buf(&mut self) {
        if self.buf.is_empty() {
            self.buf = vec![0; self.buf_size];
        }
    }

    async fn faulty_step<R, W>(&mut self, src: &mut R, dst: &mut W) -> Step
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let next = self.engine.next_at().map(|at| self.clock.instant_at(at));
        let can_read = !self.src_eof && self.engine.wants_input();
        let read_max = FAULTY_READ_MAX.min(self.buf_size);
        let slab = &mut self.slab;
        // Room is made only when the read is polled, i.e. after every due
        // piece went out: then the slab is usually free to be reclaimed.
        let read = async move {
            slab.reserve(read_max);
            src.read_buf(&mut slab.room(read_max)).await
        };
        let sleep = async move {
            match next {
                Some(at) => sleep_precise(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = self.end_rx.changed() => Step::Continue,
            r = self.state.changed() => self.refresh(r),
            () = sleep => self.release_due(dst).await,
            r = read, if can_read => {
                let now = self.clock.now();
                match r {
                    Ok(0) => {
                        self.src_eof = true;
                        self.engine.on_eof(now);
                        Step::Continue
                    }
                    Ok(n) => {
                        self.received(n);
                        self.engine.on_data(now, self.slab.cut());
                        Step::Continue
                    }
                    Err(_) => Step::End(End::Reset),
                }
            }
        }
    }

    async fn release_due<W: AsyncWrite + Unpin>(&mut self, dst: &mut W) -> Step {
        let now = self.clock.now();
        while let Some(piece) = self.engine.pop_due(now) {
            match piece {
                Piece::Data(d) => {
                    if let Step::End(e) = write_or_end(dst, &d, &mut self.end_rx).await {
                        return Step::End(e);
                    }
                    self.sent(d.len());
                }
                Piece::Eof => {
                    let _ = dst.shutdown().await;
                    return Step::Done;
                }
                Piece::Close => return Step::End(End::Close),
                Piece::Reset => return Step::End(End::Reset),
            }
        }
        Step::Continue
    }
}

/// tokio's timer fires on 1 ms ticks, rounding every delay up by up to
/// 1 ms. Sleep on the timer until 1 ms before the deadline, then yield until
/// the wall clock reaches it, so latency toxics are accurate to well under a
/// millisecond. The spin is bounded by wall time, so it also ends under
/// paused tokio time.
async fn sleep_precise(deadline: tokio::time::Instant) {
    const TICK: Duration = Duration::from_millis(1);
    if let Some(early) = deadline.checked_sub(TICK) {
        tokio::time::sleep_until(early).await;
    }
    let rest = deadline.saturating_duration_since(tokio::time::Instant::now());
    let spin_until = std::time::Instant::now() + rest;
    while std::time::Instant::now() < spin_until {
        tokio::task::yield_now().await;
    }
}

async fn write_or_end<W: AsyncWrite + Unpin>(
    dst: &mut W,
    data: &[u8],
    end_rx: &mut watch::Receiver<Option<End>>,
) -> Step {
    tokio::select! {
        r = dst.write_all(data) => match r {
            Ok(()) => Step::Continue,
            Err(_) => Step::End(End::Close),
        },
        _ = end_rx.changed() => Step::End(end_rx.borrow().unwrap_or(End::Close)),
    }
}

async fn finish<W: AsyncWrite + Unpin>(dst: &mut W, end: End) {
    if end == End::Close {
        let _ = tokio::time::timeout(Duration::from_secs(1), dst.shutdown()).await;
    }
}
