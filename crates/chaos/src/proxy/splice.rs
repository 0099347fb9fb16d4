//! Linux zero-copy passthrough: `splice(2)` socket → pipe → socket, so bytes
//! never cross into user space when no toxic is active.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// Most bytes moved per splice call.
const SPLICE_CHUNK: usize = 1 << 20;

/// A non-blocking pipe holding bytes in flight between two sockets.
#[derive(Debug)]
pub(super) struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Bytes in the pipe, not yet spliced out.
    pub(super) buffered: usize,
}

impl Pipe {
    pub(super) fn new() -> io::Result<Self> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid, writable array of two ints, as pipe2 requires.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // A bigger pipe means fewer wake-ups; failure only costs speed.
        // SAFETY: F_SETPIPE_SZ on a pipe descriptor we own takes an int size.
        let _ = unsafe {
            libc::fcntl(
                write.as_raw_fd(),
                libc::F_SETPIPE_SZ,
                SPLICE_CHUNK as libc::c_int,
            )
        };
        Ok(Self {
            read,
            write,
            buffered: 0,
        })
    }
}

/// Idle pipes a proxy keeps for reuse.
const MAX_IDLE_PIPES: usize = 64;

/// A proxy's idle pipes. Pipes are lent per transfer rather than owned per
/// connection: a connection owning two pipes would cost four descriptors
/// more than its two sockets (ten thousand connections: 60 000 descriptors
/// instead of 20 000). The pool is the proxy's, and is emptied when its
/// last connection ends, so an idle proxy holds no pipe.
#[derive(Debug, Default)]
pub(super) struct PipePool {
    idle: std::sync::Mutex<Vec<Pipe>>,
}

impl PipePool {
    /// An empty pipe: an idle one, else a new one.
    pub(super) fn take(&self) -> io::Result<Pipe> {
        match self.lock().pop() {
            Some(pipe) => Ok(pipe),
            None => Pipe::new(),
        }
    }

    /// Returns an empty pipe (a pipe still holding bytes is closed instead).
    pub(super) fn give_back(&self, pipe: Pipe) {
        if pipe.buffered != 0 {
            return;
        }
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE_PIPES {
            idle.push(pipe);
        }
    }

    /// Closes every idle pipe.
    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pipe>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
    // SAFETY: both descriptors are open for the duration of the call; null
    // offsets are allowed for sockets and pipes.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            flags,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Moves what the socket has into the pipe. `Ok(0)` is end of stream;
/// `WouldBlock` means nothing was ready after all.
pub(super) fn fill(src: &TcpStream, pipe: &mut Pipe) -> io::Result<usize> {
    let n = src.try_io(Interest::READABLE, || {
        splice(src.as_raw_fd(), pipe.write.as_raw_fd(), SPLICE_CHUNK)
    })?;
    pipe.buffered += n;
    Ok(n)
}

/// Writes everything in the pipe to `dst`, waiting for the socket as needed.
pub(super) async fn drain(dst: &TcpStream, pipe: &mut Pipe) -> io::Result<()> {
    while pipe.buffered > 0 {
        dst.writable().await?;
        match dst.try_io(Interest::WRITABLE, || {
            splice(pipe.read.as_raw_fd(), dst.as_raw_fd(), pipe.buffered)
        }) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => pipe.buffered -= n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
