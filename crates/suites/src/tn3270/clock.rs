//! The clock the target's hooks hand to `clock_jump` / `clock_skew`
//! faults and the users' breakers read: a [`SkewedClock`] over a system
//! clock that reads as if the machine had been up for 30 days. A fresh
//! `SystemClock` starts at zero, so a jump back of an hour would saturate
//! at zero and stand still for the hour — not what a stepped-back clock
//! does; with 30 days of "uptime" a step back keeps ticking from its new
//! value, as a real one does.

use std::sync::Arc;
use std::time::Duration;

use ballast_clock::{Clock, SkewedClock, SystemClock};

/// How far ahead of a fresh system clock the target's clock starts.
pub const UPTIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// A system clock that starts at [`UPTIME`].
#[derive(Debug)]
struct Uptime(SystemClock);

impl Clock for Uptime {
    fn now(&self) -> Duration {
        self.0.now() + UPTIME
    }

    fn sleep_until(&self, deadline: Duration) {
        self.0.sleep_until(deadline.saturating_sub(UPTIME));
    }
}

/// A new target clock (see the module docs).
pub fn target_clock() -> Arc<SkewedClock> {
    Arc::new(SkewedClock::new(Arc::new(Uptime(SystemClock::new()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_back_of_an_hour_keeps_the_clock_ticking() {
        let clock = target_clock();
        clock.jump(-3_600_000_000_000);
        let a = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert!(clock.now() > a, "the clock still moves after the step");
        assert!(a > UPTIME - Duration::from_secs(3601));
    }
}
