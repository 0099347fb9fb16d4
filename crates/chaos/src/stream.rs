//! [`FaultyStream`]: the fault engine around any `Read + Write` or tokio
//! `AsyncRead + AsyncWrite`, so a protocol client can be tested under faults
//! without sockets.
//!
//! Writes go through the `upstream` toxics, reads through the `downstream`
//! toxics. On the blocking side time comes from a [`Clock`]: with
//! [`ManualClock`](crate::ManualClock) a 10 s latency costs no wall time. On
//! the async side time is tokio's, virtual under `tokio::time::pause`.
//!
//! Delivery rules: a blocking write returns once its bytes were released to
//! the inner stream (sleeping on the clock as needed). An async write queues
//! and returns; queued bytes are delivered by later writes, `flush`,
//! `shutdown`, and by reads (so a request/response client needs no explicit
//! flush). A blocking read that could never complete (a black hole with no
//! pending close) returns `TimedOut` instead of hanging the test.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::chunk::ChunkSlab;
use crate::clock::{Clock, SystemClock, TokioClock};
use crate::engine::{DEFAULT_MAX_QUEUED_BYTES, DirectionEngine, EngineContext, Piece, ToxicEntry};
use crate::toxic::{Stream, Toxic};

/// Size of the buffer used to read from the inner stream.
pub const READ_CHUNK: usize = 16 * 1024;

/// Size of the slab each direction cuts its chunks from (see
/// `crate::chunk`): chunks share it instead of allocating one each.
const SLAB_BYTES: usize = 4 * READ_CHUNK;

/// Seed, identity and toxics of [`FaultyStream`]s; cheap to reuse across
/// iterations (vary [`FaultConfig::ordinal`] or the seed).
#[derive(Debug, Clone)]
pub struct FaultConfig {
    seed: u64,
    name: Arc<str>,
    ordinal: u64,
    toxics: Vec<ToxicEntry>,
    max_queued_bytes: usize,
}

impl FaultConfig {
    /// No toxics, name `stream`, ordinal 0.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            name: Arc::from("stream"),
            ordinal: 0,
            toxics: Vec::new(),
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
        }
    }
    /// Name used in RNG derivation (as a proxy name is).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Arc::from(name);
        self
    }
    /// Connection ordinal used in RNG derivation and connection conditions.
    pub fn ordinal(mut self, ordinal: u64) -> Self {
        self.ordinal = ordinal;
        self
    }
    /// Adds a toxic (upstream = writes, downstream = reads).
    pub fn toxic(mut self, toxic: Toxic) -> Self {
        let id = self.toxics.len() as u64 + 1;
        self.toxics.push(ToxicEntry {
            id,
            toxic: Arc::new(toxic),
        });
        self
    }
    /// Bound on bytes held per direction.
    pub fn max_queued_bytes(mut self, max: usize) -> Self {
        self.max_queued_bytes = max.max(1);
        self
    }
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn engine(&self, stream: Stream, now: Duration) -> DirectionEngine {
        let ctx = EngineContext {
            seed: self.seed,
            proxy: Arc::clone(&self.name),
            stream,
            ordinal: self.ordinal,
            client: None,
        };
        let mut e = DirectionEngine::new(ctx).with_max_queued_bytes(self.max_queued_bytes);
        e.update(&self.toxics, now);
        e
    }

    /// Wraps a blocking stream on wall-clock time.
    pub fn wrap<S: Read + Write>(&self, inner: S) -> FaultyStream<S, SystemClock> {
        self.wrap_with_clock(inner, SystemClock::new())
    }

    /// Wraps a blocking stream on the given clock.
    pub fn wrap_with_clock<S, C: Clock>(&self, inner: S, clock: C) -> FaultyStream<S, C> {
        let now = clock.now();
        FaultyStream {
            inner,
            writes: self.engine(Stream::Upstream, now),
            reads: self.engine(Stream::Downstream, now),
            clock,
            read_buf: Bytes::new(),
            scratch: vec![0; READ_CHUNK],
            read_slab: ChunkSlab::new(SLAB_BYTES),
            write_slab: ChunkSlab::new(SLAB_BYTES),
            inner_eof: false,
            eof_delivered: false,
            write_eof_sent: false,
            dead: None,
            pending_write: None,
            read_sleep: None,
            write_sleep: None,
        }
    }

    /// Wraps a tokio stream on tokio's clock (virtual under paused time).
    /// Call inside a tokio runtime.
    pub fn wrap_async<S>(&self, inner: S) -> FaultyStream<S, TokioClock>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.wrap_with_clock(inner, TokioClock::new())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dead {
    Closed,
    Reset,
}

/// A stream with faults injected in both directions. See the module docs.
#[derive(Debug)]
pub struct FaultyStream<S, C = SystemClock> {
    inner: S,
    clock: C,
    writes: DirectionEngine,
    reads: DirectionEngine,
    read_buf: Bytes,
    /// Blocking reads land here first (`Read` needs initialised memory).
    scratch: Vec<u8>,
    read_slab: ChunkSlab,
    write_slab: ChunkSlab,
    inner_eof: bool,
    eof_delivered: bool,
    write_eof_sent: bool,
    dead: Option<Dead>,
    pending_write: Option<Bytes>,
    read_sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    write_sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S, C: Clock> FaultyStream<S, C> {
    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
    /// Unwraps, dropping anything still scheduled.
    pub fn into_inner(self) -> S {
        self.inner
    }
    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn dead_write_error(&self) -> Option<io::Error> {
        match self.dead? {
            Dead::Reset => Some(io::ErrorKind::ConnectionReset.into()),
            Dead::Closed => Some(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Applies a control piece or stashes data for the reader.
    fn apply_read_piece(&mut self, piece: Piece) {
        match piece {
            Piece::Data(d) => self.read_buf = d,
            Piece::Eof => self.eof_delivered = true,
            Piece::Close => self.dead = Some(Dead::Closed),
            Piece::Reset => self.dead = Some(Dead::Reset),
        }
    }

    fn take_read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf
            .len()
            .min(self.read_buf.len())
            .min(self.reads.max_op_size());
        buf[..n].copy_from_slice(&self.read_buf[..n]);
        self.read_buf.advance(n);
        if self.read_buf.is_empty() {
            // Let go of the slab this chunk was cut from, so it can be reclaimed.
            self.read_buf = Bytes::new();
        }
        n
    }

    fn read_finished(&self) -> Option<io::Result<usize>> {
        match self.dead {
            Some(Dead::Reset) => Some(Err(io::ErrorKind::ConnectionReset.into())),
            Some(Dead::Closed) => Some(Ok(0)),
            None if self.eof_delivered => Some(Ok(0)),
            None => None,
        }
    }
}

impl<S: Write, C: Clock> FaultyStream<S, C> {
    /// Delivers every scheduled write that came from data (sleeping on the
    /// clock), and any timer that is already due.
    fn drain_writes(&mut self) -> io::Result<()> {
        while let Some(at) = self.writes.next_at() {
            if self.dead.is_some() || (at > self.clock.now() && !self.writes.has_flow()) {
                break;
            }
            self.clock.sleep_until(at);
            match self.writes.pop_due(at) {
                Some(Piece::Data(d)) => self.inner.write_all(&d)?,
                Some(Piece::Eof) => self.inner.flush()?,
                Some(Piece::Close) => self.dead = Some(Dead::Closed),
                Some(Piece::Reset) => self.dead = Some(Dead::Reset),
                None => break,
            }
        }
        Ok(())
    }
}

impl<S: Read + Write, C: Clock> Read for FaultyStream<S, C> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.read_buf.is_empty() {
                return Ok(self.take_read(buf));
            }
            if let Some(r) = self.read_finished() {
                return r;
            }
            if let Some(at) = self.reads.next_at()
                && (at <= self.clock.now() || self.reads.has_flow() || self.inner_eof)
            {
                self.clock.sleep_until(at);
                if let Some(piece) = self.reads.pop_due(at) {
                    self.apply_read_piece(piece);
                }
                continue;
            }
            if self.inner_eof {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "read from a black hole",
                ));
            }
            let max = self.scratch.len().min(self.reads.max_op_size());
            let n = self.inner.read(&mut self.scratch[..max])?;
            let now = self.clock.now();
            if n == 0 {
                self.inner_eof = true;
                self.reads.on_eof(now);
            } else {
                let chunk = self.read_slab.copy(&self.scratch[..n]);
                self.reads.on_data(now, chunk);
            }
        }
    }
}

impl<S: Write, C: Clock> Write for FaultyStream<S, C> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.drain_writes()?;
        if let Some(e) = self.dead_write_error() {
            return Err(e);
        }
        let now = self.clock.now();
        if buf.is_empty() || self.writes.roll_zero_write(now) {
            return Ok(0);
        }
        let n = buf.len().min(self.writes.max_op_size());
        let chunk = self.write_slab.copy(&buf[..n]);
        self.writes.on_data(now, chunk);
        self.drain_writes()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain_writes()?;
        match self.dead_write_error() {
            Some(e) => Err(e),
            None => self.inner.flush(),
        }
    }
}

fn poll_sleep(
    slot: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    deadline: tokio::time::Instant,
    cx: &mut Context<'_>,
) -> Poll<()> {
    match slot {
        Some(s) => {
            if s.deadline() != deadline {
                s.as_mut().reset(deadline);
            }
        }
        None => *slot = Some(Box::pin(tokio::time::sleep_until(deadline))),
    }
    match slot {
        Some(s) => s.as_mut().poll(cx),
        None => Poll::Pending,
    }
}

use std::future::Future;

impl<S: AsyncWrite + Unpin> FaultyStream<S, TokioClock> {
    /// Delivers scheduled writes until none that came from data remain.
    fn poll_drive_writes(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(cur) = self.pending_write.as_mut() {
                let n = ready!(Pin::new(&mut self.inner).poll_write(cx, cur))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                cur.advance(n);
                if cur.is_empty() {
                    self.pending_write = None;
                }
                continue;
            }
            let Some(at) = self.writes.next_at() else {
                return Poll::Ready(Ok(()));
            };
            let now = self.clock.now();
            if self.dead.is_some() || (at > now && !self.writes.has_flow()) {
                return Poll::Ready(Ok(()));
            }
            if at > now {
                ready!(poll_sleep(
                    &mut self.write_sleep,
                    self.clock.instant_at(at),
                    cx
                ));
            }
            match self.writes.pop_due(at) {
                Some(Piece::Data(d)) => self.pending_write = Some(d),
                Some(Piece::Eof) => ready!(Pin::new(&mut self.inner).poll_shutdown(cx))?,
                Some(Piece::Close) => self.dead = Some(Dead::Closed),
                Some(Piece::Reset) => self.dead = Some(Dead::Reset),
                None => {}
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for FaultyStream<S, TokioClock> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Queued writes move on while the caller waits for an answer.
        if let Poll::Ready(Err(e)) = this.poll_drive_writes(cx) {
            return Poll::Ready(Err(e));
        }
        loop {
            if !this.read_buf.is_empty() {
                let n = this.take_read(buf.initialize_unfilled());
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some(r) = this.read_finished() {
                return Poll::Ready(r.map(|_| ()));
            }
            if let Some(at) = this.reads.next_at() {
                let due = at <= this.clock.now();
                let deadline = this.clock.instant_at(at);
                if due || poll_sleep(&mut this.read_sleep, deadline, cx).is_ready() {
                    if let Some(piece) = this.reads.pop_due(at) {
                        this.apply_read_piece(piece);
                    }
                    continue;
                }
                if this.reads.has_flow() || this.inner_eof {
                    return Poll::Pending;
                }
            }
            if this.inner_eof {
                return Poll::Pending;
            }
            let max = READ_CHUNK.min(this.reads.max_op_size());
            this.read_slab.reserve(max);
            // Straight into the slab: no scratch copy, no zeroing.
            let n = {
                let mut room = this.read_slab.room(max);
                let read = std::pin::pin!(this.inner.read_buf(&mut room));
                ready!(read.poll(cx))?
            };
            let now = this.clock.now();
            if n == 0 {
                this.inner_eof = true;
                this.reads.on_eof(now);
            } else {
                let chunk = this.read_slab.cut();
                this.reads.on_data(now, chunk);
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FaultyStream<S, TokioClock> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let drive = this.poll_drive_writes(cx)?;
        if let Some(e) = this.dead_write_error() {
            return Poll::Ready(Err(e));
        }
        if !this.writes.wants_input() {
            ready!(drive);
            if !this.writes.wants_input() {
                return Poll::Pending;
            }
        }
        let now = this.clock.now();
        if buf.is_empty() || this.writes.roll_zero_write(now) {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(this.writes.max_op_size());
        let chunk = this.write_slab.copy(&buf[..n]);
        this.writes.on_data(now, chunk);
        if let Poll::Ready(Err(e)) = this.poll_drive_writes(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drive_writes(cx))?;
        if let Some(e) = this.dead_write_error() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.write_eof_sent {
            this.write_eof_sent = true;
            let now = this.clock.now();
            this.writes.on_eof(now);
        }
        ready!(this.poll_drive_writes(cx))?;
        match this.dead {
            Some(Dead::Reset) => Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
            _ => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests;
