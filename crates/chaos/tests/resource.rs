//! The resource injectors do what they say and heal completely.
//!
//! The tests share one process, whose descriptors, threads and RSS they
//! measure, so they run one at a time under [`SERIAL`].
#![cfg(target_os = "linux")]

use std::fs::File;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ballast_chaos::resource::{
    CpuHog, FdExhaustion, Fidelity, MemoryBalloon, ResourceError, free_fds, open_fd_count,
    rss_bytes, thread_count,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Iterations of a busy loop done in `window` of wall time.
fn busy_iterations(window: Duration) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    let mut x = 1u64;
    while start.elapsed() < window {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        n += 1;
    }
    n
}

/// Live threads of this process named by the CPU hog (`comm` keeps 15 bytes).
fn hog_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
        .filter(|comm| comm.starts_with("ballast-cpu-hog"))
        .count()
}

/// The best of three windows: robust to a one-off stall.
fn best_of_three(window: Duration) -> u64 {
    (0..3).map(|_| busy_iterations(window)).max().unwrap_or(0)
}

#[test]
fn cpu_hog_slows_a_busy_loop_on_the_same_cores_and_stops_on_heal() {
    let _serial = serial();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let window = Duration::from_millis(150);
    let alone = best_of_three(window);
    let hog = CpuHog::new(u32::try_from(cores * 3).unwrap(), 100)
        .inject()
        .unwrap();
    assert_eq!(hog.threads(), cores * 3);
    assert_eq!(hog.fidelity(), Fidelity::Exact);
    let hogged = best_of_three(window);
    // Each thread names itself when it starts: all have run by now.
    assert_eq!(hog_threads(), cores * 3);
    assert!(hog.busy_time() > Duration::ZERO, "the hog threads spun");
    hog.heal();
    let ratio = hogged as f64 / alone as f64;
    eprintln!("cpu hog: {alone} iterations alone, {hogged} hogged, ratio {ratio:.2}");
    assert!(
        ratio < 0.75,
        "hog ratio {ratio:.2} (alone {alone}, hogged {hogged})"
    );
    assert_eq!(hog_threads(), 0, "hog threads joined");
    assert!(thread_count().unwrap() >= 1);
}

/// CPU seconds (user + system) the hog threads of this process have used.
fn hog_cpu_seconds() -> f64 {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|c| c.starts_with("ballast-cpu-hog"))
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .map(|stat| {
            // Fields after the command: utime and stime are fields 14 and
            // 15 of proc(5), in USER_HZ (100) ticks.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (tick(11) + tick(12)) / 100.0
        })
        .sum()
}

#[test]
fn cpu_hog_below_full_duty_spins_only_its_share_of_each_slice() {
    let _serial = serial();
    let window = Duration::from_millis(1000);
    let hog = CpuHog::new(1, 30).inject().unwrap();
    std::thread::sleep(window);
    let cpu = hog_cpu_seconds();
    let spun = hog.busy_time();
    hog.heal();
    eprintln!("cpu hog at 30 %: {cpu:.2} s of CPU, {spun:?} spinning in {window:?}");
    // The CPU it takes is its duty at most (plus slack for the tick
    // rounding); on a loaded machine it may get less. Its spinning is
    // measured in wall time, which preemption stretches, so only the lower
    // bound holds there.
    assert!(cpu <= 0.45, "{cpu:.2} s of CPU at 30 % duty");
    assert!(spun >= window * 10 / 100, "spun {spun:?} of {window:?}");
    assert!(cpu >= 0.05, "{cpu:.2} s of CPU: the hog did not run");
    assert_eq!(hog_threads(), 0, "hog threads joined");
}

#[test]
fn cpu_hog_refuses_limits_out_of_range() {
    for (hog, name) in [
        (CpuHog::new(0, 50), "threads"),
        (CpuHog::new(1000, 50), "threads"),
        (CpuHog::new(1, 0), "duty_percent"),
        (CpuHog::new(1, 101), "duty_percent"),
        (CpuHog::new(1, 50).slice(Duration::ZERO), "slice_ms"),
    ] {
        match hog.inject() {
            Err(ResourceError::InvalidLimit { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{hog:?}: expected InvalidLimit {name}, got {other:?}"),
        }
    }
}

#[test]
fn fd_exhaustion_leaves_exactly_the_reserve_and_heals_to_the_baseline() {
    let _serial = serial();
    let baseline = open_fd_count().unwrap();
    let reserve = 8;
    let guard = FdExhaustion::new(reserve).inject().unwrap();
    assert!(guard.held() > 0);
    eprintln!(
        "fd hog: held {}, fidelity {:?}",
        guard.held(),
        guard.fidelity()
    );
    assert_eq!(guard.free().unwrap(), reserve);
    // The reserve can be opened, and not one more.
    let mut opened = Vec::new();
    for _ in 0..reserve {
        opened.push(File::open("/dev/null").expect("a reserved descriptor"));
    }
    let err = File::open("/dev/null").expect_err("the limit is reached");
    assert_eq!(err.raw_os_error(), Some(24), "EMFILE, got {err}");
    drop(opened);
    guard.heal();
    assert_eq!(open_fd_count().unwrap(), baseline, "every held fd closed");
    assert!(free_fds().unwrap() > reserve);
}

#[test]
fn fd_exhaustion_heals_when_a_test_panics() {
    let _serial = serial();
    let baseline = open_fd_count().unwrap();
    let (soft_before, _) = ballast_chaos::resource::nofile_limit().unwrap();
    let result = std::panic::catch_unwind(|| {
        let _guard = FdExhaustion::new(4).inject().unwrap();
        panic!("the code under test fails while the fault is active");
    });
    assert!(result.is_err());
    assert_eq!(open_fd_count().unwrap(), baseline);
    assert_eq!(
        ballast_chaos::resource::nofile_limit().unwrap().0,
        soft_before
    );
}

#[test]
fn memory_balloon_reaches_its_cap_and_rss_returns_after_heal() {
    let _serial = serial();
    let cap = 64 << 20;
    let before = rss_bytes().unwrap();
    let balloon = MemoryBalloon::from_mib(64, 512).inject().unwrap();
    assert_eq!(balloon.wait_inflated(Duration::from_secs(30)), cap);
    assert_eq!(balloon.fidelity(), Fidelity::Exact);
    let inflated = rss_bytes().unwrap();
    assert!(
        inflated >= before + cap * 95 / 100,
        "RSS grew by the cap: {before} -> {inflated}"
    );
    balloon.heal();
    let after = rss_bytes().unwrap();
    let diff = after.abs_diff(before);
    eprintln!("balloon: rss {before} -> {inflated} -> {after}");
    assert!(
        diff <= before / 20,
        "RSS back within 5 %: {before} -> {after}"
    );
}

#[test]
fn memory_balloon_grows_at_its_rate_not_at_once() {
    let _serial = serial();
    // 4 MiB at 16 MiB/s: the last MiB is not due before 250 ms.
    let start = Instant::now();
    let balloon = MemoryBalloon::from_mib(4, 16).inject().unwrap();
    assert_eq!(balloon.wait_inflated(Duration::from_secs(30)), 4 << 20);
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "paced, not at once"
    );
    balloon.heal();
}

#[test]
fn memory_balloon_refuses_limits_out_of_range() {
    for (balloon, name) in [
        (MemoryBalloon::from_mib(0, 1), "cap_bytes"),
        (MemoryBalloon::from_mib(1 << 20, 1), "cap_bytes"),
        (MemoryBalloon::from_mib(8, 0), "rate_bytes_per_sec"),
    ] {
        match balloon.inject() {
            Err(ResourceError::InvalidLimit { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{balloon:?}: expected InvalidLimit {name}, got {other:?}"),
        }
    }
}
