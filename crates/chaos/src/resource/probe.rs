//! Probes of what the process holds and what the machine allows.

use std::fs;
use std::io;

use super::{ResourceError, Result};

fn probe_err(what: &'static str) -> impl FnOnce(io::Error) -> ResourceError {
    move |source| ResourceError::Probe { what, source }
}

/// The number of file descriptors this process has open right now.
///
/// Counts `/proc/self/fd`, minus the descriptor the listing itself uses.
///
/// # Errors
///
/// [`ResourceError::Probe`] if `/proc/self/fd` cannot be read.
pub fn open_fd_count() -> Result<u64> {
    let entries = fs::read_dir("/proc/self/fd").map_err(probe_err("/proc/self/fd"))?;
    let listed = entries.filter(std::result::Result::is_ok).count() as u64;
    // The directory handle that lists the fds is itself one of them.
    Ok(listed.saturating_sub(1))
}

/// The soft and hard `RLIMIT_NOFILE` limits of this process.
///
/// # Errors
///
/// [`ResourceError::Probe`] if `getrlimit` fails.
pub fn nofile_limit() -> Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit, as getrlimit requires.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) };
    if rc != 0 {
        return Err(probe_err("RLIMIT_NOFILE")(io::Error::last_os_error()));
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// Sets the soft `RLIMIT_NOFILE`, keeping the hard limit.
pub(super) fn set_nofile_soft(soft: u64, hard: u64) -> Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit, read-only for setrlimit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) };
    if rc != 0 {
        return Err(probe_err("setrlimit(RLIMIT_NOFILE)")(
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// How many more descriptors this process can open before `EMFILE`: the
/// soft `RLIMIT_NOFILE` minus [`open_fd_count`].
///
/// # Errors
///
/// [`ResourceError::Probe`] if either probe fails.
pub fn free_fds() -> Result<u64> {
    let (soft, _) = nofile_limit()?;
    Ok(soft.saturating_sub(open_fd_count()?))
}

/// The memory page size in bytes.
#[must_use]
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// The resident set size of this process in bytes (`/proc/self/statm`).
///
/// # Errors
///
/// [`ResourceError::Probe`] if `/proc/self/statm` cannot be read or parsed.
pub fn rss_bytes() -> Result<u64> {
    let statm = fs::read_to_string("/proc/self/statm").map_err(probe_err("/proc/self/statm"))?;
    let pages = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse::<u64>().ok())
        .ok_or_else(|| {
            probe_err("/proc/self/statm")(io::Error::new(
                io::ErrorKind::InvalidData,
                "no resident field",
            ))
        })?;
    Ok(pages * page_size() as u64)
}

/// The anonymous resident memory of this process in bytes (`RssAnon:` in
/// `/proc/self/status`): the heap, stacks and anonymous mappings, without
/// the file-backed pages (code) that running new code paths faults in, so
/// it moves only with memory the process allocated.
///
/// # Errors
///
/// [`ResourceError::Probe`] if `/proc/self/status` cannot be read or parsed.
pub fn anon_rss_bytes() -> Result<u64> {
    let status = fs::read_to_string("/proc/self/status").map_err(probe_err("/proc/self/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| {
            probe_err("/proc/self/status")(io::Error::new(
                io::ErrorKind::InvalidData,
                "no RssAnon field",
            ))
        })
}

/// The number of threads of this process (`Threads:` in `/proc/self/status`).
///
/// # Errors
///
/// [`ResourceError::Probe`] if `/proc/self/status` cannot be read or parsed.
pub fn thread_count() -> Result<u64> {
    let status = fs::read_to_string("/proc/self/status").map_err(probe_err("/proc/self/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            probe_err("/proc/self/status")(io::Error::new(
                io::ErrorKind::InvalidData,
                "no Threads field",
            ))
        })
}
