//! Property tests: RingBuffer, SpscRing and FixedPool against simple models
//! over random operation sequences.
// Under `--cfg loom` the lock-free types run on loom's atomics, which only
// work inside `loom::model`; these tests run in the ordinary build.
#![cfg(not(loom))]

use std::collections::{HashMap, VecDeque};

use ballast_alloc::{Error, FixedPool, RingBuffer, SpscRing};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum RingOp {
    Push(u8),
    Pop,
    PushSlice(Vec<u8>),
    PopSlice(usize),
    Consume(usize),
    WriteThenCommit { bytes: Vec<u8>, commit: usize },
    ReadFrom(Vec<u8>),
    WriteTo(usize),
}

fn ring_op() -> impl Strategy<Value = RingOp> {
    prop_oneof![
        any::<u8>().prop_map(RingOp::Push),
        Just(RingOp::Pop),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(RingOp::PushSlice),
        (0usize..40).prop_map(RingOp::PopSlice),
        (0usize..40).prop_map(RingOp::Consume),
        (prop::collection::vec(any::<u8>(), 0..40), 0usize..45)
            .prop_map(|(bytes, commit)| RingOp::WriteThenCommit { bytes, commit }),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(RingOp::ReadFrom),
        (0usize..40).prop_map(RingOp::WriteTo),
    ]
}

/// A writer that accepts at most `limit` bytes per call.
struct Limited {
    out: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.limit);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn apply_ring(ring: &mut RingBuffer, model: &mut VecDeque<u8>, cap: usize, op: RingOp) {
    match op {
        RingOp::Push(b) => match ring.push(b) {
            Ok(()) => model.push_back(b),
            Err(Error::Full { capacity }) => assert_eq!((model.len(), capacity), (cap, cap)),
            Err(e) => panic!("unexpected {e}"),
        },
        RingOp::Pop => assert_eq!(ring.pop(), model.pop_front()),
        RingOp::PushSlice(bytes) => {
            let n = ring.push_slice(&bytes);
            assert_eq!(n, bytes.len().min(cap - model.len()));
            model.extend(&bytes[..n]);
        }
        RingOp::PopSlice(len) => {
            let mut out = vec![0; len];
            let n = ring.pop_slice(&mut out);
            let expected: Vec<u8> = model.drain(..len.min(model.len())).collect();
            assert_eq!(&out[..n], &expected[..]);
        }
        RingOp::Consume(n) => match ring.consume(n) {
            Ok(()) => drop(model.drain(..n)),
            Err(Error::ConsumePastLen { requested, len }) => {
                assert_eq!((requested, len), (n, model.len()));
                assert!(n > model.len());
            }
            Err(e) => panic!("unexpected {e}"),
        },
        RingOp::WriteThenCommit { bytes, commit } => {
            let (a, b) = ring.writable();
            assert_eq!(a.len() + b.len(), cap - model.len());
            let in_a = bytes.len().min(a.len());
            a[..in_a].copy_from_slice(&bytes[..in_a]);
            let in_b = (bytes.len() - in_a).min(b.len());
            b[..in_b].copy_from_slice(&bytes[in_a..in_a + in_b]);
            let written = in_a + in_b;
            match ring.commit(commit) {
                Ok(()) => {
                    // Bytes past what we wrote are whatever the slot held;
                    // mirror them from the ring to keep the model exact.
                    let (p, q) = ring.peek();
                    let all: Vec<u8> = p.iter().chain(q).copied().collect();
                    let start = model.len();
                    model.extend(&all[start..start + commit]);
                    assert_eq!(
                        &all[start..start + commit.min(written)],
                        &bytes[..commit.min(written)]
                    );
                }
                Err(Error::CommitPastFree { free, .. }) => {
                    assert_eq!(free, cap - model.len());
                    assert!(commit > free);
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        RingOp::ReadFrom(bytes) => {
            let mut src: &[u8] = &bytes;
            match ring.read_from(&mut src) {
                Ok(n) => model.extend(&bytes[..n]),
                Err(Error::Full { .. }) => assert_eq!(model.len(), cap),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        RingOp::WriteTo(limit) => {
            let mut w = Limited {
                out: Vec::new(),
                limit,
            };
            let n = ring.write_to(&mut w).expect("in-memory writer");
            let expected: Vec<u8> = model.drain(..n).collect();
            assert_eq!(w.out, expected);
        }
    }
}

proptest! {
    #[test]
    fn ring_buffer_behaves_like_a_bounded_vecdeque(
        cap in 1usize..48,
        ops in prop::collection::vec(ring_op(), 0..200),
    ) {
        let mut ring = RingBuffer::with_capacity(cap).unwrap();
        let mut model = VecDeque::new();
        for op in ops {
            apply_ring(&mut ring, &mut model, cap, op);
            prop_assert_eq!(ring.len(), model.len());
            prop_assert_eq!(ring.is_full(), model.len() == cap);
            let (a, b) = ring.peek();
            let seen: Vec<u8> = a.iter().chain(b).copied().collect();
            let expected: Vec<u8> = model.iter().copied().collect();
            prop_assert_eq!(seen, expected);
        }
    }

    #[test]
    fn spsc_ring_behaves_like_a_bounded_vecdeque(
        cap in 1usize..20,
        ops in prop::collection::vec((0u8..4, any::<u32>(), 0usize..8), 0..200),
    ) {
        let (mut tx, mut rx) = SpscRing::new(cap).unwrap();
        let mut model = VecDeque::new();
        for (kind, value, n) in ops {
            match kind {
                0 => match tx.push(value) {
                    Ok(()) => model.push_back(value),
                    Err(v) => { prop_assert_eq!(v, value); prop_assert_eq!(model.len(), cap); }
                },
                1 => prop_assert_eq!(rx.pop(), model.pop_front()),
                2 => {
                    let items: Vec<u32> = (0..n as u32).map(|i| value.wrapping_add(i)).collect();
                    let pushed = tx.push_slice(&items);
                    prop_assert_eq!(pushed, n.min(cap - model.len()));
                    model.extend(&items[..pushed]);
                }
                _ => {
                    let mut got = Vec::new();
                    let popped = rx.pop_batch(n, |v| got.push(v));
                    let expected: Vec<u32> = model.drain(..n.min(model.len())).collect();
                    prop_assert_eq!(popped, expected.len());
                    prop_assert_eq!(got, expected);
                }
            }
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(tx.slots(), cap - model.len());
        }
    }

    #[test]
    fn fixed_pool_keys_behave_like_a_map(
        cap in 1usize..16,
        ops in prop::collection::vec((any::<bool>(), any::<u64>(), any::<prop::sample::Index>()), 0..200),
    ) {
        let mut pool = FixedPool::new(cap).unwrap();
        let mut live: HashMap<ballast_alloc::PoolKey, u64> = HashMap::new();
        let mut dead = Vec::new();
        for (insert, value, pick) in ops {
            if insert {
                match pool.insert(value) {
                    Ok(key) => { prop_assert!(live.insert(key, value).is_none()); }
                    Err(e) => { prop_assert_eq!(live.len(), cap); prop_assert_eq!(e.into_inner(), value); }
                }
            } else if !live.is_empty() {
                let key = *live.keys().nth(pick.index(live.len())).unwrap();
                prop_assert_eq!(pool.remove(key), live.remove(&key));
                dead.push(key);
            }
            for key in &dead {
                if !live.contains_key(key) {
                    prop_assert_eq!(pool.get(*key), None, "stale key found a value");
                }
            }
            for (key, value) in &live {
                prop_assert_eq!(pool.get(*key), Some(value));
            }
            prop_assert_eq!(pool.in_use(), live.len());
        }
    }
}
