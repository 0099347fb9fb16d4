//! Load faults against a target's upstream, straight to it (not through a
//! proxy): a reconnect storm, slowloris connections and a burst of
//! connections opened and never used. Each is bounded in count, loopback
//! only, and stopped (every socket closed, every thread joined) when its
//! guard heals or drops.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::workers::Workers;
use super::{ResourceError, Result};

/// Most threads of one [`ReconnectStorm`].
pub const MAX_STORM_THREADS: u32 = 32;
/// Most connections one [`ReconnectStorm`] makes in all.
pub const MAX_STORM_CONNECTIONS: u64 = 1_000_000;
/// Most connections one [`Slowloris`] holds.
pub const MAX_SLOWLORIS_CONNECTIONS: u32 = 1_024;
/// Most connections one [`SynBurst`] opens.
pub const MAX_SYN_BURST: u32 = 4_096;
/// Longest connect a load waits for.
pub const LOAD_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Sleeps are taken in slices this long, so a heal is seen promptly.
const SLICE: Duration = Duration::from_millis(10);

fn loopback(upstream: SocketAddr) -> Result<()> {
    if upstream.ip().is_loopback() {
        Ok(())
    } else {
        Err(ResourceError::Unavailable {
            reason: format!("load faults go to loopback addresses only, not {upstream}"),
        })
    }
}

fn limit(name: &'static str, value: u64, max: u64, reason: &'static str) -> Result<()> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(ResourceError::InvalidLimit {
            name,
            value,
            reason,
        })
    }
}

/// `threads` threads that connect to the upstream and close at once, as
/// fast as they can, at most `max_connections` connections in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectStorm {
    /// Connecting threads (1 ..= [`MAX_STORM_THREADS`]).
    pub threads: u32,
    /// Connections in all (1 ..= [`MAX_STORM_CONNECTIONS`]).
    pub max_connections: u64,
}

impl ReconnectStorm {
    /// Starts the storm against `upstream` (loopback only).
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidLimit`] for a limit out of range,
    /// [`ResourceError::Unavailable`] for a non-loopback upstream,
    /// [`ResourceError::Spawn`] if a thread cannot start.
    pub fn inject(&self, upstream: SocketAddr) -> Result<LoadGuard> {
        limit(
            "threads",
            u64::from(self.threads),
            u64::from(MAX_STORM_THREADS),
            "must be 1 ..= 32",
        )?;
        limit(
            "max_connections",
            self.max_connections,
            MAX_STORM_CONNECTIONS,
            "must be 1 ..= 1000000",
        )?;
        loopback(upstream)?;
        let mut guard = LoadGuard::default();
        let budget = Arc::new(AtomicU64::new(self.max_connections));
        for i in 0..self.threads {
            let (budget, made) = (Arc::clone(&budget), Arc::clone(&guard.connections));
            guard
                .workers
                .spawn(format!("ballast-storm-{i}"), move |stop| {
                    while !stop.load(Ordering::Relaxed)
                        && budget
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                            .is_ok()
                    {
                        if TcpStream::connect_timeout(&upstream, LOAD_CONNECT_TIMEOUT).is_ok() {
                            made.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })?;
        }
        Ok(guard)
    }
}

/// `connections` connections to the upstream, each sending one byte every
/// `interval` and nothing else: a slowloris.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slowloris {
    /// Connections held (1 ..= [`MAX_SLOWLORIS_CONNECTIONS`]).
    pub connections: u32,
    /// Gap between one connection's bytes (> 0).
    pub interval: Duration,
}

impl Slowloris {
    /// Opens the connections to `upstream` (loopback only) and starts
    /// dribbling; a connection the upstream closes is not replaced.
    ///
    /// # Errors
    ///
    /// As [`ReconnectStorm::inject`].
    pub fn inject(&self, upstream: SocketAddr) -> Result<LoadGuard> {
        limit(
            "connections",
            u64::from(self.connections),
            u64::from(MAX_SLOWLORIS_CONNECTIONS),
            "must be 1 ..= 1024",
        )?;
        if self.interval.is_zero() {
            return Err(ResourceError::InvalidLimit {
                name: "interval_ms",
                value: 0,
                reason: "must be at least 1",
            });
        }
        loopback(upstream)?;
        let mut guard = LoadGuard::default();
        let (n, interval) = (self.connections, self.interval);
        let (made, sent) = (Arc::clone(&guard.connections), Arc::clone(&guard.bytes));
        guard
            .workers
            .spawn("ballast-slowloris".into(), move |stop| {
                let mut conns: Vec<TcpStream> = (0..n)
                    .filter_map(|_| {
                        TcpStream::connect_timeout(&upstream, LOAD_CONNECT_TIMEOUT).ok()
                    })
                    .collect();
                made.fetch_add(conns.len() as u64, Ordering::Relaxed);
                while !stop.load(Ordering::Relaxed) && !conns.is_empty() {
                    conns.retain_mut(|c| c.write_all(b"x").is_ok());
                    sent.fetch_add(conns.len() as u64, Ordering::Relaxed);
                    nap(stop, interval);
                }
            })?;
        Ok(guard)
    }
}

/// Sleeps `d` in slices, returning early once `stop` is set.
fn nap(stop: &AtomicBool, d: Duration) {
    let mut left = d;
    for _ in 0..=d.as_millis() / SLICE.as_millis() {
        if stop.load(Ordering::Relaxed) || left.is_zero() {
            return;
        }
        let step = left.min(SLICE);
        std::thread::sleep(step);
        left -= step;
    }
}

/// `connections` connections opened to the upstream at once and never
/// used, closed on heal.
///
/// Without raw sockets this cannot send bare SYNs: the kernel completes
/// each handshake, so the connections are half-finished only at the
/// application level (they wait in the upstream's accept queue or sit
/// idle after being accepted), which is what fills a server's backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynBurst {
    /// Connections opened (1 ..= [`MAX_SYN_BURST`]).
    pub connections: u32,
}

impl SynBurst {
    /// Opens the connections to `upstream` (loopback only), without
    /// waiting for them to complete.
    ///
    /// # Errors
    ///
    /// As [`ReconnectStorm::inject`]; a socket the process cannot open
    /// (`EMFILE`) ends the burst early, keeping those already opened.
    pub fn inject(&self, upstream: SocketAddr) -> Result<LoadGuard> {
        limit(
            "connections",
            u64::from(self.connections),
            u64::from(MAX_SYN_BURST),
            "must be 1 ..= 4096",
        )?;
        loopback(upstream)?;
        let mut guard = LoadGuard::default();
        for _ in 0..self.connections {
            match half_open(upstream) {
                Ok(s) => guard.held.push(s),
                Err(_) => break,
            }
        }
        guard
            .connections
            .store(guard.held.len() as u64, Ordering::Relaxed);
        Ok(guard)
    }
}

/// A non-blocking connect to `upstream`, left in progress.
#[cfg(unix)]
fn half_open(upstream: SocketAddr) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let (family, addr, len) = sockaddr(upstream);
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket this function owns from here on.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: `addr` is a valid sockaddr of `len` bytes.
    let rc = unsafe { libc::connect(fd, (&raw const addr).cast(), len) };
    let err = std::io::Error::last_os_error();
    if rc == 0 || err.raw_os_error() == Some(libc::EINPROGRESS) {
        Ok(owned)
    } else {
        Err(err)
    }
}

/// `upstream` as a `sockaddr_storage`, with its family and length.
#[cfg(unix)]
fn sockaddr(upstream: SocketAddr) -> (libc::c_int, libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match upstream {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut storage).cast(), sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    let family = match upstream {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    (family, storage, libc::socklen_t::try_from(len).unwrap_or(0))
}

#[cfg(not(unix))]
fn half_open(upstream: SocketAddr) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(&upstream, LOAD_CONNECT_TIMEOUT)
}

/// A running load fault; stops its threads and closes its sockets when
/// healed or dropped.
#[derive(Debug, Default)]
pub struct LoadGuard {
    workers: Workers,
    connections: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    #[cfg(unix)]
    held: Vec<std::os::fd::OwnedFd>,
    #[cfg(not(unix))]
    held: Vec<TcpStream>,
}

impl LoadGuard {
    /// Connections made so far.
    #[must_use]
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Bytes sent so far (slowloris).
    #[must_use]
    pub fn bytes_sent(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Stops now: threads joined, sockets closed.
    pub fn heal(mut self) {
        self.release();
    }

    fn release(&mut self) {
        self.workers.stop();
        self.held.clear();
    }
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        self.release();
    }
}
