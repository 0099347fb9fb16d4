//! Threads and the stop flag they share: what every thread-running
//! injector (CPU hog, lock contention, starvation hogs, load storms) holds
//! and joins when it heals.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::{ResourceError, Result};

/// Named threads that run until [`Workers::stop`].
#[derive(Debug, Default)]
pub(crate) struct Workers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts thread `name` running `f` with the shared stop flag.
    pub(crate) fn spawn(
        &mut self,
        name: String,
        f: impl FnOnce(&AtomicBool) + Send + 'static,
    ) -> Result<()> {
        let stop = Arc::clone(&self.stop);
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || f(&stop))
            .map_err(ResourceError::Spawn)?;
        self.handles.push(handle);
        Ok(())
    }

    /// Threads running.
    pub(crate) fn len(&self) -> usize {
        self.handles.len()
    }

    /// Sets the stop flag and joins every thread.
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            // A worker that panicked is gone all the same.
            let _ = h.join();
        }
    }
}
