//! loom model tests: every interleaving of the lock-free structures, with
//! loom checking each slot access for data races.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p ballast-alloc --release --test loom`.
#![cfg(loom)]

use ballast_alloc::{SpscRing, SyncPool};
use loom::thread;

#[test]
fn spsc_ring_hands_over_items_in_order_without_races() {
    loom::model(|| {
        let (mut tx, mut rx) = SpscRing::new(2).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3u32 {
                while tx.push(i).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut expected = 0;
        while expected < 3 {
            match rx.pop() {
                Some(v) => {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                None => thread::yield_now(),
            }
        }
        producer.join().unwrap();
    });
}

#[test]
fn spsc_ring_batches_publish_whole_and_drop_leftovers() {
    loom::model(|| {
        let item = std::sync::Arc::new(());
        let (mut tx, mut rx) = SpscRing::new(3).unwrap();
        let shared = item.clone();
        let producer = thread::spawn(move || {
            let mut items = vec![shared.clone(), shared.clone(), shared].into_iter();
            tx.push_iter(&mut items)
        });
        let mut got = 0;
        rx.pop_batch(1, |_| got += 1);
        assert_eq!(producer.join().unwrap(), 3);
        drop(rx);
        // Whatever was not popped is dropped with the queue.
        assert_eq!(std::sync::Arc::strong_count(&item), 1);
        assert!(got <= 1);
    });
}

#[test]
fn sync_pool_lends_each_slot_to_one_thread_at_a_time() {
    loom::model(|| {
        let pool = loom::sync::Arc::new(SyncPool::new(1).unwrap());
        let threads: Vec<_> = (0..2u32)
            .map(|t| {
                let pool = pool.clone();
                thread::spawn(move || {
                    if let Ok(mut v) = pool.alloc(t) {
                        *v += 10;
                        assert_eq!(*v, t + 10, "another thread wrote into our slot");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(pool.stats().in_use, 0);
        assert!(
            pool.alloc(7).is_ok(),
            "the slot must be back on the free list"
        );
    });
}

#[test]
fn sync_pool_free_list_survives_aba() {
    // Thread A pops slot 0 while B pops 0, pops 1, pushes 0 back: without
    // the tag A's stale CAS would install slot 1 as the head while B holds it.
    loom::model(|| {
        let pool = loom::sync::Arc::new(SyncPool::new(2).unwrap());
        {
            // Put both slots on the free list: 0 on top, then 1.
            let a = pool.alloc(0u8).unwrap();
            let b = pool.alloc(1u8).unwrap();
            drop(b);
            drop(a);
        }
        let p2 = pool.clone();
        let other = thread::spawn(move || {
            // The second alloc may find the pool exhausted (main holds a slot).
            let x = p2.alloc(1).ok();
            let y = p2.alloc(2).ok();
            drop(x);
            if let Some(y) = y {
                assert_eq!(*y, 2, "another thread wrote into our slot");
            }
        });
        if let Ok(mut v) = pool.alloc(9) {
            *v = 3;
            assert_eq!(*v, 3);
        }
        other.join().unwrap();
        let all = (pool.alloc(0).unwrap(), pool.alloc(0).unwrap());
        assert!(
            pool.alloc(0).is_err(),
            "a slot was duplicated on the free list"
        );
        drop(all);
    });
}
