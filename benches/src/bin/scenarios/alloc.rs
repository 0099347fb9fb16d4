//! ballast-alloc scenarios and their peers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use ballast_alloc::{CountingAlloc, FixedPool, RingBuffer, Scratch, SpscRing, SyncPool};

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[
    (
        "alloc/ring_push_pop_1byte/ballast_RingBuffer",
        ring_push_pop_ballast,
    ),
    (
        "alloc/ring_push_pop_1byte/ballast_SpscRing",
        spsc_push_pop_ballast,
    ),
    ("alloc/ring_push_pop_1byte/rtrb", ring_push_pop_rtrb),
    ("alloc/ring_push_pop_1byte/ringbuf", ring_push_pop_ringbuf),
    (
        "alloc/ring_copy_scan_1500/ballast_RingBuffer",
        copy_scan_ballast,
    ),
    ("alloc/ring_copy_scan_1500/rtrb", copy_scan_rtrb),
    ("alloc/ring_copy_scan_1500/ringbuf", copy_scan_ringbuf),
    ("alloc/pool_alloc_free_64B/ballast_FixedPool", pool_fixed),
    ("alloc/pool_alloc_free_64B/slab", pool_slab),
    ("alloc/pool_alloc_free_64B/Box_system_malloc", pool_box),
    ("alloc/pool_alloc_free_64B/ballast_SyncPool", pool_sync),
    ("alloc/pool_alloc_free_64B/sharded_slab", pool_sharded_slab),
    ("alloc/scratch_alloc_8B/ballast_Scratch", scratch_ballast),
    ("alloc/scratch_alloc_8B/bumpalo", scratch_bumpalo),
    (
        "alloc/counting_alloc_free_64B/ballast_CountingAlloc",
        counting_ballast,
    ),
    ("alloc/counting_alloc_free_64B/System", counting_system),
];

#[inline(never)]
fn ring_push_pop_ballast(n: u64) {
    let mut ring = RingBuffer::with_capacity(4096).expect("capacity");
    for i in 0..n {
        let _ = ring.push(black_box(i as u8));
        black_box(ring.pop());
    }
}

#[inline(never)]
fn spsc_push_pop_ballast(n: u64) {
    let (mut tx, mut rx) = SpscRing::<u8>::new(4096).expect("capacity");
    for i in 0..n {
        let _ = tx.push(black_box(i as u8));
        black_box(rx.pop());
    }
}

#[inline(never)]
fn ring_push_pop_rtrb(n: u64) {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u8>::new(4096);
    for i in 0..n {
        let _ = tx.push(black_box(i as u8));
        black_box(rx.pop().ok());
    }
}

#[inline(never)]
fn ring_push_pop_ringbuf(n: u64) {
    let mut rb = ringbuf::HeapRb::<u8>::new(4096);
    for i in 0..n {
        let _ = rb.try_push(black_box(i as u8));
        black_box(rb.try_pop());
    }
}

fn line_chunk() -> Vec<u8> {
    let mut data = vec![0u8; 1500];
    ballast_benches::InputRng::new(7).fill(&mut data);
    data.iter_mut()
        .filter(|b| **b == b'\n')
        .for_each(|b| *b = b' ');
    data
}

fn scan(a: &[u8], b: &[u8]) -> bool {
    memchr::memchr(b'\n', a).is_some() || memchr::memchr(b'\n', b).is_some()
}

#[inline(never)]
fn copy_scan_ballast(n: u64) {
    let data = line_chunk();
    let mut ring = RingBuffer::with_capacity(256 * 1024).expect("capacity");
    for _ in 0..n {
        ring.push_slice(black_box(&data));
        let (a, b) = ring.peek();
        black_box(scan(a, b));
        ring.consume(data.len()).expect("just pushed");
    }
}

#[inline(never)]
fn copy_scan_rtrb(n: u64) {
    let data = line_chunk();
    let (mut tx, mut rx) = rtrb::RingBuffer::<u8>::new(256 * 1024);
    for _ in 0..n {
        tx.push_entire_slice(black_box(&data)).expect("room");
        let chunk = rx.read_chunk(data.len()).expect("just pushed");
        let (a, b) = chunk.as_slices();
        black_box(scan(a, b));
        chunk.commit_all();
    }
}

#[inline(never)]
fn copy_scan_ringbuf(n: u64) {
    let data = line_chunk();
    let mut rb = ringbuf::HeapRb::<u8>::new(256 * 1024);
    for _ in 0..n {
        rb.push_slice(black_box(&data));
        let (a, b) = rb.as_slices();
        black_box(scan(a, b));
        rb.skip(data.len());
    }
}

/// A 64-byte object.
#[derive(Clone, Copy)]
struct Obj(#[allow(dead_code, reason = "payload only")] [u64; 8]);

#[inline(never)]
fn pool_fixed(n: u64) {
    let pool = FixedPool::<Obj>::new(1024).expect("capacity");
    for i in 0..n {
        drop(black_box(pool.alloc(Obj([i; 8])).ok()));
    }
}

#[inline(never)]
fn pool_slab(n: u64) {
    let mut slab = slab::Slab::<Obj>::with_capacity(1024);
    for i in 0..n {
        let key = slab.insert(Obj([i; 8]));
        black_box(slab.remove(black_box(key)));
    }
}

#[inline(never)]
fn pool_box(n: u64) {
    for i in 0..n {
        drop(black_box(Box::new(Obj([i; 8]))));
    }
}

#[inline(never)]
fn pool_sync(n: u64) {
    let pool = SyncPool::<Obj>::new(1024).expect("capacity");
    for i in 0..n {
        drop(black_box(pool.alloc(Obj([i; 8])).ok()));
    }
}

#[inline(never)]
fn pool_sharded_slab(n: u64) {
    let slab = sharded_slab::Slab::<Obj>::new();
    for i in 0..n {
        let key = slab.insert(Obj([i; 8])).expect("room");
        black_box(slab.take(black_box(key)));
    }
}

#[inline(never)]
fn scratch_ballast(n: u64) {
    let mut scratch = Scratch::with_capacity(64 * 1024);
    for _ in 0..n / 256 {
        scratch.frame(|f| {
            for i in 0..256u64 {
                black_box(f.alloc(black_box(i)).ok());
            }
        });
    }
}

#[inline(never)]
fn scratch_bumpalo(n: u64) {
    let mut bump = bumpalo::Bump::with_capacity(64 * 1024);
    for _ in 0..n / 256 {
        for i in 0..256u64 {
            black_box(bump.alloc(black_box(i)));
        }
        bump.reset();
    }
}

#[inline(never)]
fn counting_ballast(n: u64) {
    let counting = CountingAlloc::system();
    let layout = Layout::from_size_align(64, 8).expect("layout");
    for _ in 0..n {
        // SAFETY: each block is freed once with its own layout.
        unsafe {
            let p = counting.alloc(black_box(layout));
            counting.dealloc(black_box(p), layout);
        }
    }
}

#[inline(never)]
fn counting_system(n: u64) {
    let layout = Layout::from_size_align(64, 8).expect("layout");
    for _ in 0..n {
        // SAFETY: as above.
        unsafe {
            let p = System.alloc(black_box(layout));
            System.dealloc(black_box(p), layout);
        }
    }
}
