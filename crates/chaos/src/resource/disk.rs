//! The disk shim: a file writer whose writes can be slowed, failed with
//! `EIO` or refused with `ENOSPC` ("disk full") while a fault is on.
//!
//! A target that writes through [`DiskFaults::open`] (rather than
//! `File::create`) hands the same [`DiskFaults`] to the harness in its
//! `TargetHooks`; the `disk_slow`, `disk_fail` and `disk_full` resource
//! faults turn its knobs and [`clear`](DiskFaults::clear) them on heal.
//! Works on every platform.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::seed::SeededRng;

/// Longest write delay [`DiskFaults::set_write_delay`] applies.
pub const MAX_DISK_DELAY: Duration = Duration::from_secs(60);

/// Seed of the failure draws of [`DiskFaults::new`].
pub const DEFAULT_DISK_SEED: u64 = 0xD15C;

#[derive(Debug)]
struct Knobs {
    delay: Duration,
    failure_probability: f64,
    capacity: Option<u64>,
    rng: SeededRng,
}

#[derive(Debug)]
struct Shared {
    knobs: Mutex<Knobs>,
    written: AtomicU64,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            knobs: Mutex::new(Knobs {
                delay: Duration::ZERO,
                failure_probability: 0.0,
                capacity: None,
                rng: SeededRng::new(DEFAULT_DISK_SEED),
            }),
            written: AtomicU64::new(0),
        }
    }
}

/// The shared knobs of a disk shim; clones share them. Every
/// [`FaultyFile`] opened through it obeys them on each write.
#[derive(Clone, Default, Debug)]
pub struct DiskFaults {
    shared: Arc<Shared>,
}

impl DiskFaults {
    /// A shim with no fault on (failure draws seeded with
    /// [`DEFAULT_DISK_SEED`]).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A shim whose failure draws use `seed`.
    #[must_use]
    pub fn with_seed(seed: u64) -> Self {
        let faults = Self::default();
        faults.knobs().rng = SeededRng::new(seed);
        faults
    }

    fn knobs(&self) -> MutexGuard<'_, Knobs> {
        // Plain numbers: valid even if a writer panicked holding them.
        self.shared
            .knobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens `path` for appending through the shim, creating it if needed.
    ///
    /// # Errors
    ///
    /// The OS error of opening the file.
    pub fn open(&self, path: &Path) -> io::Result<FaultyFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(FaultyFile {
            file,
            faults: self.clone(),
            sync: false,
        })
    }

    /// Each write first waits `delay` (at most [`MAX_DISK_DELAY`]).
    pub fn set_write_delay(&self, delay: Duration) {
        self.knobs().delay = delay.min(MAX_DISK_DELAY);
    }

    /// Each write fails with `EIO` with probability `p` (clamped to 0 ..= 1;
    /// not a number: 0), drawn from the shim's seeded generator.
    pub fn set_failure_probability(&self, p: f64) {
        self.knobs().failure_probability = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    }

    /// Total bytes that may be written through this shim (`None`: no
    /// limit); a write beyond it is cut short, and the next fails with
    /// `ENOSPC`, as on a full disk.
    pub fn set_capacity(&self, capacity: Option<u64>) {
        self.knobs().capacity = capacity;
    }

    /// Turns every fault off: no delay, no failures, no capacity.
    pub fn clear(&self) {
        let mut knobs = self.knobs();
        knobs.delay = Duration::ZERO;
        knobs.failure_probability = 0.0;
        knobs.capacity = None;
    }

    /// Whether no fault is on.
    #[must_use]
    pub fn is_clear(&self) -> bool {
        let knobs = self.knobs();
        knobs.delay.is_zero() && knobs.failure_probability == 0.0 && knobs.capacity.is_none()
    }

    /// Bytes written through this shim so far, by every file.
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.shared.written.load(Ordering::Acquire)
    }

    /// What a write of `len` bytes may do now: wait, then write how many
    /// bytes (reserved), or fail.
    fn admit(&self, len: usize) -> (Duration, io::Result<usize>) {
        let (delay, fails, capacity) = {
            let mut knobs = self.knobs();
            let p = knobs.failure_probability;
            let fails = p > 0.0 && knobs.rng.chance(p);
            (knobs.delay, fails, knobs.capacity)
        };
        if fails {
            return (delay, Err(errno_error(Errno::Io)));
        }
        let len = len as u64;
        let reserved =
            self.shared
                .written
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |written| {
                    let room = capacity.map_or(u64::MAX, |c| c.saturating_sub(written));
                    (room > 0 || len == 0).then(|| written + len.min(room))
                });
        match reserved {
            Ok(before) => {
                let room = capacity.map_or(u64::MAX, |c| c.saturating_sub(before));
                let granted = usize::try_from(len.min(room)).unwrap_or(usize::MAX);
                (delay, Ok(granted))
            }
            Err(_) => (delay, Err(errno_error(Errno::NoSpace))),
        }
    }

    /// Gives back bytes reserved for a write the file did not take.
    fn unreserve(&self, bytes: usize) {
        self.shared
            .written
            .fetch_sub(bytes as u64, Ordering::AcqRel);
    }
}

enum Errno {
    Io,
    NoSpace,
}

#[cfg(unix)]
fn errno_error(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(match e {
        Errno::Io => libc::EIO,
        Errno::NoSpace => libc::ENOSPC,
    })
}

#[cfg(not(unix))]
fn errno_error(e: Errno) -> io::Error {
    match e {
        Errno::Io => io::Error::other("injected I/O error"),
        Errno::NoSpace => io::Error::new(io::ErrorKind::StorageFull, "no space left on device"),
    }
}

/// A file opened through a [`DiskFaults`]: an appending writer whose writes
/// obey the shim's knobs.
#[derive(Debug)]
pub struct FaultyFile {
    file: File,
    faults: DiskFaults,
    sync: bool,
}

impl FaultyFile {
    /// Whether [`flush`](Write::flush) also syncs the data to the disk
    /// (`fdatasync`); off by default.
    #[must_use]
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    /// The file underneath.
    pub fn get_ref(&self) -> &File {
        &self.file
    }
}

impl Write for FaultyFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let (delay, admitted) = self.faults.admit(buf.len());
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let granted = admitted?;
        match self.file.write(&buf[..granted]) {
            Ok(n) => {
                self.faults.unreserve(granted - n);
                Ok(n)
            }
            Err(e) => {
                self.faults.unreserve(granted);
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Instant;

    use super::*;

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ballast-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    }

    #[test]
    fn a_clear_shim_writes_everything_and_counts_it() {
        let path = temp_file("clear");
        let disk = DiskFaults::new();
        let mut f = disk.open(&path).unwrap().with_sync(true);
        f.write_all(b"hello ").unwrap();
        f.write_all(b"world").unwrap();
        f.flush().unwrap();
        assert_eq!(disk.bytes_written(), 11);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
    }

    #[test]
    fn a_write_delay_slows_each_write() {
        let disk = DiskFaults::new();
        let mut f = disk.open(&temp_file("slow")).unwrap();
        disk.set_write_delay(Duration::from_millis(30));
        let start = Instant::now();
        for _ in 0..3 {
            f.write_all(b"x").unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "3 writes × 30 ms"
        );
        disk.clear();
        assert!(disk.is_clear());
    }

    #[test]
    fn certain_failure_is_eio_and_clear_restores_writes() {
        let path = temp_file("fail");
        let disk = DiskFaults::with_seed(9);
        let mut f = disk.open(&path).unwrap();
        disk.set_failure_probability(1.0);
        for _ in 0..10 {
            let e = f.write(b"lost").unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EIO));
        }
        disk.clear();
        f.write_all(b"kept").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
        assert_eq!(disk.bytes_written(), 4);
    }

    #[test]
    fn some_failure_fails_some_writes() {
        let disk = DiskFaults::with_seed(3);
        let mut f = disk.open(&temp_file("some")).unwrap();
        disk.set_failure_probability(0.5);
        let failed = (0..200).filter(|_| f.write(b"x").is_err()).count();
        assert!((40..=160).contains(&failed), "{failed} of 200 failed");
    }

    #[test]
    fn a_full_disk_cuts_the_write_short_then_refuses_with_enospc() {
        let path = temp_file("full");
        let disk = DiskFaults::new();
        let mut f = disk.open(&path).unwrap();
        f.write_all(b"0123").unwrap();
        disk.set_capacity(Some(6));
        assert_eq!(f.write(b"abcd").unwrap(), 2, "only the room left");
        let e = f.write(b"more").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(disk.bytes_written(), 6);
        disk.set_capacity(Some(disk.bytes_written()));
        assert!(f.write_all(b"z").is_err(), "no room: disk full");
        disk.clear();
        f.write_all(b"ok").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123abok");
    }

    #[test]
    fn clones_share_the_knobs() {
        let disk = DiskFaults::new();
        let other = disk.clone();
        other.set_failure_probability(1.0);
        let mut f = disk.open(&temp_file("clone")).unwrap();
        assert!(f.write(b"x").is_err());
        other.clear();
        assert!(f.write(b"x").is_ok());
    }
}
