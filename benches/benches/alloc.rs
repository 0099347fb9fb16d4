//! ballast-alloc against its peers, each pair in the same group on the same
//! input: `rtrb` and `ringbuf` for the rings, `slab`, `sharded-slab` and the
//! system allocator for the pools, raw `bumpalo` for the scratch arena, and
//! the system allocator for the counting allocator's overhead.
//!
//! Run: `cargo bench -p ballast-benches --bench alloc`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::Duration;

use ballast_alloc::{CountingAlloc, FixedPool, RingBuffer, Scratch, SpscRing, SyncPool};
use ballast_benches::InputRng;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn one_byte_push_pop(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring/push_pop_1byte");
    g.throughput(Throughput::Elements(1));
    let mut ring = RingBuffer::with_capacity(4096).expect("capacity");
    g.bench_function("ballast_RingBuffer", |b| {
        b.iter(|| {
            let _ = ring.push(black_box(7));
            black_box(ring.pop())
        })
    });
    let (mut tx, mut rx) = SpscRing::<u8>::new(4096).expect("capacity");
    g.bench_function("ballast_SpscRing", |b| {
        b.iter(|| {
            let _ = tx.push(black_box(7));
            black_box(rx.pop())
        })
    });
    let (mut ptx, mut prx) = rtrb::RingBuffer::<u8>::new(4096);
    g.bench_function("rtrb", |b| {
        b.iter(|| {
            let _ = ptx.push(black_box(7));
            black_box(prx.pop().ok())
        })
    });
    let mut rb = ringbuf::HeapRb::<u8>::new(4096);
    g.bench_function("ringbuf", |b| {
        b.iter(|| {
            let _ = rb.try_push(black_box(7));
            black_box(rb.try_pop())
        })
    });
    g.finish();
}

/// Bytes that look like a line protocol with no newline inside a chunk, so
/// the scan reads every byte.
fn chunk(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    InputRng::new(0x0B41_1A57).fill(&mut data);
    for b in &mut data {
        if *b == b'\n' {
            *b = b' ';
        }
    }
    data
}

fn scan(a: &[u8], b: &[u8]) -> bool {
    memchr::memchr(b'\n', a).is_some() || memchr::memchr(b'\n', b).is_some()
}

fn chunked_copy_scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring/chunked_copy_scan");
    for len in [1500usize, 64 * 1024] {
        let data = chunk(len);
        g.throughput(Throughput::Bytes(len as u64));
        let mut ring = RingBuffer::with_capacity(256 * 1024).expect("capacity");
        g.bench_with_input(
            BenchmarkId::new("ballast_RingBuffer", len),
            &data,
            |b, data| {
                b.iter(|| {
                    ring.push_slice(data);
                    let (x, y) = ring.peek();
                    black_box(scan(x, y));
                    ring.consume(data.len()).expect("just pushed");
                })
            },
        );
        let (mut tx, mut rx) = rtrb::RingBuffer::<u8>::new(256 * 1024);
        g.bench_with_input(BenchmarkId::new("rtrb", len), &data, |b, data| {
            b.iter(|| {
                tx.push_entire_slice(data).expect("room");
                let chunk = rx.read_chunk(data.len()).expect("just pushed");
                let (x, y) = chunk.as_slices();
                black_box(scan(x, y));
                chunk.commit_all();
            })
        });
        let mut rb = ringbuf::HeapRb::<u8>::new(256 * 1024);
        g.bench_with_input(BenchmarkId::new("ringbuf", len), &data, |b, data| {
            b.iter(|| {
                rb.push_slice(data);
                let (x, y) = rb.as_slices();
                black_box(scan(x, y));
                rb.skip(data.len());
            })
        });
    }
    g.finish();
}

/// Copy-in throughput for chunk sizes × destination placements. `resident`
/// bytes stay in the ring, so the destination sits that far past the
/// 4096-aligned source modulo 4096: 1–31 is glibc `rep movsb`'s slow case.
/// `single_memcpy` does the same copies without pieces, for contrast.
fn placement_sweep(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring/placement_sweep");
    const CAP: usize = 1 << 20;
    for len in [1500usize, 4096, 16 * 1024, 64 * 1024] {
        let data = chunk(len);
        g.throughput(Throughput::Bytes(len as u64));
        for resident in [0usize, 1, 16, 31] {
            let mut ring = RingBuffer::with_capacity(CAP).expect("capacity");
            ring.push_slice(&data[..resident]);
            let id = format!("{len}B/+{resident}");
            g.bench_with_input(
                BenchmarkId::new("ballast_RingBuffer", &id),
                &data,
                |b, data| {
                    b.iter(|| {
                        ring.push_slice(data);
                        ring.consume(data.len()).expect("just pushed");
                    })
                },
            );
            let mut dst = vec![0u8; CAP + len];
            let mut at = resident;
            g.bench_with_input(BenchmarkId::new("single_memcpy", &id), &data, |b, data| {
                b.iter(|| {
                    dst[at..at + data.len()].copy_from_slice(black_box(data));
                    at = (at + data.len()) % CAP;
                })
            });
        }
    }
    g.finish();
}

/// A 64-byte object, as a connection's small state might be.
#[derive(Clone, Copy)]
struct Obj(#[allow(dead_code, reason = "payload only")] [u64; 8]);

fn pool_alloc_free(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool/alloc_free_64B");
    g.throughput(Throughput::Elements(1));
    let obj = Obj([7; 8]);
    let pool = FixedPool::<Obj>::new(1024).expect("capacity");
    g.bench_function("ballast_FixedPool_handle", |b| {
        b.iter(|| drop(black_box(pool.alloc(black_box(obj)).ok())))
    });
    let mut keyed = FixedPool::<Obj>::new(1024).expect("capacity");
    g.bench_function("ballast_FixedPool_key", |b| {
        b.iter(|| {
            let key = keyed
                .insert(black_box(obj))
                .map_err(|_| "exhausted")
                .expect("room");
            black_box(keyed.remove(key))
        })
    });
    let mut slab = slab::Slab::<Obj>::with_capacity(1024);
    g.bench_function("slab", |b| {
        b.iter(|| {
            let key = slab.insert(black_box(obj));
            black_box(slab.remove(key))
        })
    });
    g.bench_function("Box_system_malloc", |b| {
        b.iter(|| drop(black_box(Box::new(black_box(obj)))))
    });
    let sync = SyncPool::<Obj>::new(1024).expect("capacity");
    g.bench_function("ballast_SyncPool", |b| {
        b.iter(|| drop(black_box(sync.alloc(black_box(obj)).ok())))
    });
    let sharded = sharded_slab::Slab::<Obj>::new();
    g.bench_function("sharded_slab", |b| {
        b.iter(|| {
            let key = sharded.insert(black_box(obj)).expect("room");
            black_box(sharded.take(key))
        })
    });
    g.finish();
}

fn scratch_small_allocs(c: &mut Criterion) {
    const N: u64 = 256;
    let mut g = c.benchmark_group("scratch/small_alloc");
    g.throughput(Throughput::Elements(N));
    let mut scratch = Scratch::with_capacity(64 * 1024);
    g.bench_function("ballast_Scratch", |b| {
        b.iter(|| {
            scratch.frame(|f| {
                for i in 0..N {
                    black_box(f.alloc(black_box(i)).ok());
                }
            })
        })
    });
    let mut bump = bumpalo::Bump::with_capacity(64 * 1024);
    g.bench_function("bumpalo", |b| {
        b.iter(|| {
            for i in 0..N {
                black_box(bump.alloc(black_box(i)));
            }
            bump.reset();
        })
    });
    g.finish();
}

fn counting_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("counting/alloc_free_pair_64B");
    g.throughput(Throughput::Elements(1));
    let layout = Layout::from_size_align(64, 8).expect("layout");
    let counting = CountingAlloc::system();
    g.bench_function("ballast_CountingAlloc", |b| {
        // SAFETY: each block is freed once with its own layout.
        b.iter(|| unsafe {
            let p = counting.alloc(black_box(layout));
            counting.dealloc(black_box(p), layout);
        })
    });
    g.bench_function("System", |b| {
        // SAFETY: as above.
        b.iter(|| unsafe {
            let p = System.alloc(black_box(layout));
            System.dealloc(black_box(p), layout);
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = one_byte_push_pop, chunked_copy_scan, placement_sweep, pool_alloc_free,
        scratch_small_allocs, counting_overhead
}
criterion_main!(benches);
