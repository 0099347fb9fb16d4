//! Bytes through each proxy, as Toxiproxy counts them: received from and
//! sent to each side, per direction, labelled `proxy`, `listener` and
//! `upstream`; counters live as long as the `ChaosProxy` (deleting a proxy
//! and creating it again continues its counts, as Toxiproxy's do).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::toxic::Stream;

/// One direction's two counters.
#[derive(Debug, Default)]
pub(super) struct Flow {
    received: AtomicU64,
    sent: AtomicU64,
}

impl Flow {
    pub(super) fn received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(super) fn sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// (proxy, listener, upstream, direction).
type Key = (String, String, String, &'static str);

/// Every proxy's byte counters.
#[derive(Debug, Default)]
pub(super) struct ByteCounters {
    flows: std::sync::Mutex<BTreeMap<Key, Arc<Flow>>>,
}

fn direction(stream: Stream) -> &'static str {
    match stream {
        Stream::Upstream => "upstream",
        Stream::Downstream => "downstream",
    }
}

impl ByteCounters {
    /// The counters of one direction of a proxy (created at zero).
    pub(super) fn flow(
        &self,
        proxy: &str,
        listener: &str,
        upstream: &str,
        stream: Stream,
    ) -> Arc<Flow> {
        let key = (
            proxy.to_owned(),
            listener.to_owned(),
            upstream.to_owned(),
            direction(stream),
        );
        let mut flows = self
            .flows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(flows.entry(key).or_default())
    }

    /// Toxiproxy's proxy metric families, in Prometheus text.
    pub(super) fn render(&self, out: &mut String) {
        let flows = self
            .flows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (metric, help, pick) in [
            (
                "toxiproxy_proxy_received_bytes_total",
                "The total bytes received",
                (|f: &Flow| f.received.load(Ordering::Relaxed)) as fn(&Flow) -> u64,
            ),
            (
                "toxiproxy_proxy_sent_bytes_total",
                "The total bytes sent",
                |f: &Flow| f.sent.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} counter");
            for ((proxy, listener, upstream, dir), flow) in flows.iter() {
                let _ = writeln!(
                    out,
                    "{metric}{{direction=\"{dir}\",listener=\"{}\",proxy=\"{}\",upstream=\"{}\"}} {}",
                    escape(listener),
                    escape(proxy),
                    escape(upstream),
                    pick(flow)
                );
            }
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
