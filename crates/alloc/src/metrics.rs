//! The allocators' figures as Prometheus text (`ballast_alloc_*`), for a
//! `MetricsRegistry` collector or any `/metrics` page. Each family is
//! labelled `name="…"` so several pools or arenas can share a page.

use std::fmt::Write as _;

use crate::{AllocStats, PoolStats, ScratchStats};

/// Writes one family: its HELP and TYPE lines and one sample.
fn family(out: &mut String, metric: &str, kind: &str, help: &str, name: &str, value: u64) {
    let name = name.replace(['\\', '"', '\n'], "_");
    let _ = writeln!(
        out,
        "# HELP ballast_alloc_{metric} {help}\n# TYPE ballast_alloc_{metric} {kind}\nballast_alloc_{metric}{{name=\"{name}\"}} {value}"
    );
}

impl PoolStats {
    /// Appends a pool's figures (`FixedPool`, `SyncPool`) as Prometheus
    /// text under `name`.
    pub fn render_prometheus(&self, name: &str, out: &mut String) {
        let rows: [(&str, &str, &str, u64); 6] = [
            (
                "pool_capacity",
                "gauge",
                "Slots in the pool.",
                self.capacity as u64,
            ),
            (
                "pool_in_use",
                "gauge",
                "Slots holding a value now.",
                self.in_use as u64,
            ),
            (
                "pool_peak_in_use",
                "gauge",
                "The most slots ever in use at once.",
                self.peak_in_use as u64,
            ),
            (
                "pool_allocations_total",
                "counter",
                "Successful allocations.",
                self.allocations,
            ),
            (
                "pool_reuses_total",
                "counter",
                "Allocations served by a slot used before.",
                self.reuses,
            ),
            (
                "pool_exhaustions_total",
                "counter",
                "Allocations refused: every slot in use.",
                self.exhaustions,
            ),
        ];
        for (metric, kind, help, value) in rows {
            family(out, metric, kind, help, name, value);
        }
    }
}

impl ScratchStats {
    /// Appends a scratch arena's figures as Prometheus text under `name`.
    pub fn render_prometheus(&self, name: &str, out: &mut String) {
        let rows: [(&str, &str, &str, u64); 6] = [
            (
                "scratch_current_bytes",
                "gauge",
                "Bytes handed out in the current frame.",
                self.current_bytes as u64,
            ),
            (
                "scratch_peak_bytes",
                "gauge",
                "The most bytes any frame has used.",
                self.peak_bytes as u64,
            ),
            (
                "scratch_reserved_bytes",
                "gauge",
                "Chunk memory the arena holds.",
                self.reserved_bytes as u64,
            ),
            (
                "scratch_chunks",
                "gauge",
                "Chunks the arena holds.",
                self.chunks as u64,
            ),
            (
                "scratch_frames_total",
                "counter",
                "Frames completed.",
                self.frames,
            ),
            (
                "scratch_limit_hits_total",
                "counter",
                "Allocations refused at the limit.",
                self.limit_hits,
            ),
        ];
        for (metric, kind, help, value) in rows {
            family(out, metric, kind, help, name, value);
        }
    }
}

impl AllocStats {
    /// Appends the counting allocator's figures as Prometheus text under
    /// `name` (the process heap, when it is the global allocator).
    pub fn render_prometheus(&self, name: &str, out: &mut String) {
        let rows: [(&str, &str, &str, u64); 6] = [
            (
                "heap_allocations_total",
                "counter",
                "Heap allocations.",
                self.allocations,
            ),
            (
                "heap_deallocations_total",
                "counter",
                "Heap deallocations.",
                self.deallocations,
            ),
            (
                "heap_allocated_bytes_total",
                "counter",
                "Bytes allocated.",
                self.bytes_allocated,
            ),
            (
                "heap_live_bytes",
                "gauge",
                "Bytes allocated and not yet freed.",
                self.live_bytes,
            ),
            (
                "heap_live_allocations",
                "gauge",
                "Allocations not yet freed.",
                self.live_allocations,
            ),
            (
                "heap_peak_bytes",
                "gauge",
                "The most live bytes since the last reset.",
                self.peak_bytes,
            ),
        ];
        for (metric, kind, help, value) in rows {
            family(out, metric, kind, help, name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{FixedPool, Scratch};

    #[test]
    fn pool_and_scratch_figures_after_known_use() {
        let pool = FixedPool::new(4).unwrap();
        let a = pool.alloc(1u64).unwrap();
        let b = pool.alloc(2u64).unwrap();
        drop(a);
        let _c = pool.alloc(3u64).unwrap();
        let mut page = String::new();
        pool.stats().render_prometheus("records", &mut page);
        for line in [
            "ballast_alloc_pool_capacity{name=\"records\"} 4",
            "ballast_alloc_pool_in_use{name=\"records\"} 2",
            "ballast_alloc_pool_allocations_total{name=\"records\"} 3",
            "ballast_alloc_pool_reuses_total{name=\"records\"} 1",
            "# TYPE ballast_alloc_pool_exhaustions_total counter",
        ] {
            assert!(page.contains(line), "{line}\n{page}");
        }
        drop(b);
        let mut scratch = Scratch::new();
        scratch.frame(|f| {
            let _ = f.alloc_str("0123456789").unwrap();
        });
        let mut page = String::new();
        scratch.stats().render_prometheus("frames", &mut page);
        assert!(
            page.contains("ballast_alloc_scratch_frames_total{name=\"frames\"} 1"),
            "{page}"
        );
        assert!(
            page.contains("ballast_alloc_scratch_peak_bytes{name=\"frames\"} 1"),
            "{page}"
        );
    }
}
