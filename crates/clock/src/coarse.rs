//! The process-wide coarse tick: a number that changes at least every
//! [`COARSE_TICK`] while anyone asks for it, so "the tick is still the one
//! I saw when I read the clock" means "that reading is at most one tick
//! old". One thread (`ballast-clock`) advances it; the thread starts on the
//! first request. After [`COARSE_IDLE_TICKS`] ticks without a request it
//! withdraws the tick (callers read their clocks) and only looks for
//! requests every [`COARSE_IDLE_POLL`], resuming on the first; after
//! [`COARSE_IDLE_POLLS`] polls without one it exits. So sparse requests
//! never pay for spawning a thread, and an idle process keeps no 1 kHz
//! thread.
//!
//! ballast-resilience's open breaker uses it to reuse one clock reading for
//! up to a tick instead of reading its clock on every rejection (only for
//! clocks whose [`Clock::follows_real_time`](crate::Clock::follows_real_time)
//! is true).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Period of the coarse tick: a decision reused within one tick is at most
/// this old, plus however long the operating system delays the thread that
/// advances the tick.
pub const COARSE_TICK: Duration = Duration::from_millis(1);

/// The ticker withdraws the tick after this many ticks nobody asked for it
/// (one second).
pub const COARSE_IDLE_TICKS: u32 = 1000;
/// How often a withdrawn ticker looks for requests.
pub const COARSE_IDLE_POLL: Duration = Duration::from_millis(100);
/// A withdrawn ticker exits after this many polls without a request (one
/// minute).
pub const COARSE_IDLE_POLLS: u32 = 600;

/// The current tick; 0 while no thread advances it.
static CURRENT: AtomicU64 = AtomicU64::new(0);
/// Source of tick values, never reset, so a value is never reused across
/// ticker restarts.
static NEXT: AtomicU64 = AtomicU64::new(0);
/// Set by readers, cleared by the ticker each tick.
static WANTED: AtomicBool = AtomicBool::new(false);
/// Held from the moment a reader claims the right to spawn the ticker until
/// the ticker has withdrawn its tick.
static RUNNING: AtomicBool = AtomicBool::new(false);
/// Set when spawning failed: callers always read their clock from then on.
static FAILED: AtomicBool = AtomicBool::new(false);

/// The current tick, or 0 when the caller must read its clock (the ticker
/// is starting, stopped or could not be spawned). Asking starts the ticker
/// if it is not running and keeps it running.
#[inline]
pub fn tick() -> u64 {
    if !WANTED.load(Ordering::Relaxed) {
        // Store only when clear, so readers on several cores keep the line
        // shared.
        WANTED.store(true, Ordering::Relaxed);
    }
    let tick = CURRENT.load(Ordering::Acquire);
    if tick == 0 {
        start();
    }
    tick
}

#[cold]
fn start() {
    // A plain load first: while a withdrawn ticker still runs, every
    // open-state call comes here, and a failing compare-and-swap would still
    // take the line exclusive on each of them.
    if FAILED.load(Ordering::Relaxed)
        || RUNNING.load(Ordering::Relaxed)
        || RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    if !forget_in_fork_children() {
        FAILED.store(true, Ordering::Relaxed);
        RUNNING.store(false, Ordering::Release);
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("ballast-clock".into())
        .spawn(run);
    if spawned.is_err() {
        FAILED.store(true, Ordering::Relaxed);
        RUNNING.store(false, Ordering::Release);
    }
}

/// A child forked from this process has no ticker thread but would inherit
/// a non-zero tick that never moves again (and `RUNNING`, so it could never
/// start one): open breakers there would trust one reading for up to
/// `OPEN_RECHECK_REJECTIONS` (ballast-resilience) rejections per thread,
/// however long that takes. So the child withdraws the tick first thing.
/// False if the handler could not be registered (the caller then never uses
/// the tick).
#[cfg(unix)]
#[allow(unsafe_code)]
fn forget_in_fork_children() -> bool {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *REGISTERED.get_or_init(|| {
        // SAFETY: `forget_ticker` is a plain `extern "C" fn` that only
        // stores to atomics, which is async-signal-safe as a fork child
        // handler must be; pthread_atfork has no other precondition.
        unsafe { libc::pthread_atfork(None, None, Some(forget_ticker)) == 0 }
    })
}

#[cfg(not(unix))]
fn forget_in_fork_children() -> bool {
    true
}

/// Runs in a forked child, where only the forking thread exists.
#[cfg(unix)]
extern "C" fn forget_ticker() {
    CURRENT.store(0, Ordering::SeqCst);
    WANTED.store(false, Ordering::Relaxed);
    RUNNING.store(false, Ordering::SeqCst);
}

/// The published tick, without asking for one.
#[cfg(test)]
fn published() -> u64 {
    CURRENT.load(Ordering::Acquire)
}

fn run() {
    loop {
        tick_while_wanted();
        // Withdraw the tick: callers read their clocks until it resumes.
        CURRENT.store(0, Ordering::SeqCst);
        if !wait_for_request() {
            break;
        }
    }
    // The tick is withdrawn; release the right to spawn a new ticker.
    RUNNING.store(false, Ordering::SeqCst);
}

/// Advances the tick every [`COARSE_TICK`] until nobody asked for it for
/// [`COARSE_IDLE_TICKS`] ticks.
fn tick_while_wanted() {
    let mut idle = 0;
    while idle < COARSE_IDLE_TICKS {
        let next = NEXT.fetch_add(1, Ordering::Relaxed) + 1;
        debug_assert_ne!(next, 0, "a published tick is never 0");
        CURRENT.store(next, Ordering::Release);
        std::thread::sleep(COARSE_TICK);
        idle = if WANTED.swap(false, Ordering::Relaxed) {
            0
        } else {
            idle + 1
        };
    }
}

/// Polls for a request every [`COARSE_IDLE_POLL`]; false after
/// [`COARSE_IDLE_POLLS`] polls without one.
fn wait_for_request() -> bool {
    (0..COARSE_IDLE_POLLS).any(|_| {
        std::thread::sleep(COARSE_IDLE_POLL);
        WANTED.swap(false, Ordering::Relaxed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_tick_starts_on_demand_and_advances() {
        let first = tick();
        let mut seen = first;
        // The ticker publishes within a tick or two of being asked; wait
        // (bounded) for two distinct non-zero values.
        for _ in 0..10_000 {
            let t = tick();
            if t != 0 && seen != 0 && t != seen {
                return;
            }
            if t != 0 {
                seen = t;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("coarse tick never advanced (first {first}, last {seen})");
    }

    #[cfg(unix)]
    #[test]
    #[allow(unsafe_code)]
    fn a_forked_child_does_not_inherit_a_tick_nobody_advances() {
        let running = (0..10_000).any(|_| {
            if tick() != 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
            false
        });
        assert!(running, "the coarse tick never started");
        // SAFETY: the child only loads an atomic and calls `_exit`, both
        // async-signal-safe, so forking a multithreaded test is sound.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let stale = published() != 0;
            // SAFETY: `_exit` ends the child without running the parent's
            // atexit handlers or destructors.
            unsafe { libc::_exit(i32::from(stale)) };
        }
        let mut status = 0;
        // SAFETY: `pid` is our child and `status` a valid out-pointer.
        let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(waited, pid, "waitpid failed");
        assert!(libc::WIFEXITED(status), "child did not exit: {status}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the forked child saw the parent's tick, which no thread there advances"
        );
    }
}
