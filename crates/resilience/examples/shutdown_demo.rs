//! A service that shuts down gracefully on SIGTERM / SIGINT / SIGHUP.
//!
//! Run it, press Ctrl-C once to drain and exit cleanly (the JSON report is
//! printed), twice to force an immediate exit. With the argument `stuck`
//! its one request never finishes, so only a second signal ends it quickly.
//! The crate's `shutdown_signal` test drives it with real signals.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use ballast_resilience::{HealthRegistry, Shutdown, ShutdownConfig};

fn main() -> std::io::Result<()> {
    let stuck = std::env::args().nth(1).as_deref() == Some("stuck");
    let health = Arc::new(HealthRegistry::new());
    let config = ShutdownConfig {
        cleanup: Duration::from_millis(300),
        ..ShutdownConfig::default()
    };
    let shutdown = Shutdown::new(config, Some(Arc::clone(&health))).expect("valid shutdown config");
    let _signals = shutdown.install_signal_handlers()?;

    // One request in flight: it finishes once shutdown starts (or never).
    let request = shutdown.enter().expect("not shutting down yet");
    let worker = {
        let shutdown = shutdown.clone();
        std::thread::spawn(move || {
            shutdown.wait();
            if stuck {
                std::thread::park();
            }
            drop(request);
        })
    };
    shutdown.on_closing("close-listener", || {});
    shutdown.on_cleanup("hung-flush", std::thread::park);

    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    shutdown.wait();
    writeln!(out, "draining ready={}", health.readiness_status())?;
    out.flush()?;
    let report = shutdown.run();
    writeln!(out, "{}", report.to_json())?;
    out.flush()?;
    drop(worker);
    Ok(())
}
