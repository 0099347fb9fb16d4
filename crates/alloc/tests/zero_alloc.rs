//! Steady-state operation allocates nothing: proved with CountingAlloc.
// Under `--cfg loom` the lock-free types run on loom's atomics, which only
// work inside `loom::model`; these tests run in the ordinary build.
#![cfg(not(loom))]

use ballast_alloc::{CountingAlloc, FixedPool, RingBuffer, Scratch, SpscRing, SyncPool};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

#[test]
fn ring_buffer_moves_bytes_without_allocating() {
    let mut ring = RingBuffer::with_capacity(64 * 1024).unwrap();
    let chunk = vec![7u8; 1500];
    let mut sink = vec![0u8; 1500];
    let ((), delta) = ALLOC.measure(|| {
        for _ in 0..10_000 {
            ring.push_slice(&chunk);
            let mut src: &[u8] = &chunk;
            ring.read_from(&mut src).unwrap();
            ring.pop_slice(&mut sink);
            ring.consume(ring.len()).unwrap();
        }
    });
    assert!(delta.is_zero(), "{delta:?}");
}

#[test]
fn spsc_ring_and_pools_run_without_allocating() {
    let (mut tx, mut rx) = SpscRing::<u64>::new(256).unwrap();
    let pool = FixedPool::<[u8; 64]>::new(64).unwrap();
    let sync_pool = SyncPool::<[u8; 64]>::new(64).unwrap();
    let ((), delta) = ALLOC.measure(|| {
        for i in 0..10_000u64 {
            tx.push(i).unwrap();
            assert_eq!(rx.pop(), Some(i));
            let a = pool.alloc([1; 64]).unwrap();
            let b = sync_pool.alloc([2; 64]).unwrap();
            assert_eq!(a[0] + b[0], 3);
        }
    });
    assert!(delta.is_zero(), "{delta:?}");
}

#[test]
fn scratch_frames_stop_allocating_once_warm() {
    let mut scratch = Scratch::new();
    let frame = |s: &mut Scratch| {
        s.frame(|f| {
            for i in 0..100u32 {
                f.alloc_slice_copy(&[i; 16]).unwrap();
            }
        })
    };
    // Warm-up: bumpalo grows its chunk over the first frames, then keeps it.
    let warm = (0..8).any(|_| ALLOC.measure(|| frame(&mut scratch)).1.is_zero());
    assert!(
        warm,
        "scratch kept allocating after 8 frames: {:?}",
        scratch.stats()
    );
    let ((), delta) = ALLOC.measure(|| {
        for _ in 0..1000 {
            frame(&mut scratch);
        }
    });
    assert!(delta.is_zero(), "{delta:?}");
}

#[test]
fn measure_sees_an_allocation_when_there_is_one() {
    let (v, delta) = ALLOC.measure(|| Vec::<u8>::with_capacity(4096));
    assert_eq!((delta.allocations, delta.bytes_allocated), (1, 4096));
    drop(v);
}

#[test]
fn thread_churn_keeps_totals_exact() {
    let before = ALLOC.snapshot();
    for _ in 0..50 {
        // More threads over time than there are tracked slots at once.
        let threads: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 100]))))
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
    let after = ALLOC.snapshot();
    assert!(after.allocations - before.allocations >= 400);
    assert!(after.deallocations - before.deallocations >= 400);
}
