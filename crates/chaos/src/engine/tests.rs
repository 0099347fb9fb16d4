use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::toxic::{Condition, Stream, Toxic, ToxicKind};

fn ctx(seed: u64, ordinal: u64) -> EngineContext {
    EngineContext {
        seed,
        proxy: Arc::from("p"),
        stream: Stream::Downstream,
        ordinal,
        client: None,
    }
}

fn engine_with(seed: u64, ordinal: u64, toxics: &[Toxic]) -> DirectionEngine {
    let mut e = DirectionEngine::new(ctx(seed, ordinal));
    let entries: Vec<ToxicEntry> = toxics
        .iter()
        .enumerate()
        .map(|(i, t)| ToxicEntry {
            id: i as u64 + 1,
            toxic: Arc::new(t.clone()),
        })
        .collect();
    e.update(&entries, Duration::ZERO);
    e
}

/// Feeds `chunks` 1 ms apart, then EOF, and returns every piece with its time.
fn run(e: &mut DirectionEngine, chunks: &[Vec<u8>]) -> Vec<(Duration, Piece)> {
    let mut t = Duration::ZERO;
    for c in chunks {
        e.on_data(t, Bytes::from(c.clone()));
        t += Duration::from_millis(1);
    }
    e.on_eof(t);
    let mut out = Vec::new();
    while let Some(p) = e.pop_next() {
        out.push(p);
    }
    out
}

fn data_of(pieces: &[(Duration, Piece)]) -> Vec<u8> {
    pieces
        .iter()
        .filter_map(|(_, p)| match p {
            Piece::Data(d) => Some(d.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn latency(ms: u64, jitter: u64) -> Toxic {
    Toxic::new(ToxicKind::Latency {
        latency_ms: ms,
        jitter_ms: jitter,
    })
}

#[test]
fn latency_delays_every_chunk_and_never_reorders() {
    let mut e = engine_with(1, 0, &[latency(50, 40)]);
    let chunks: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i]).collect();
    let out = run(&mut e, &chunks);
    assert_eq!(data_of(&out), (0..100u8).collect::<Vec<_>>(), "order kept");
    let first = out[0].0;
    assert!(first >= Duration::from_millis(10) && first <= Duration::from_millis(90));
    assert!(
        out.windows(2).all(|w| w[0].0 <= w[1].0),
        "release times are monotonic"
    );
    assert_eq!(
        out.last().map(|p| &p.1),
        Some(&Piece::Eof),
        "eof after the data"
    );
}

#[test]
fn bandwidth_releases_bytes_at_the_configured_rate() {
    // 10 KB/s = 10 000 bytes/s: 5 000 bytes take 500 ms.
    let mut e = engine_with(
        1,
        0,
        &[Toxic::new(ToxicKind::Bandwidth {
            rate_kb_per_sec: 10,
        })],
    );
    let out = run(&mut e, &[vec![7u8; 5000]]);
    assert_eq!(data_of(&out).len(), 5000);
    let last_data = out
        .iter()
        .rev()
        .find(|(_, p)| matches!(p, Piece::Data(_)))
        .map(|p| p.0);
    assert_eq!(last_data, Some(Duration::from_millis(500)));
}

#[test]
fn limit_data_passes_exactly_n_bytes_then_closes() {
    let mut e = engine_with(1, 0, &[Toxic::new(ToxicKind::LimitData { bytes: 10 })]);
    let out = run(
        &mut e,
        &[vec![1u8; 4], vec![2u8; 4], vec![3u8; 4], vec![4u8; 4]],
    );
    assert_eq!(
        data_of(&out),
        [vec![1u8; 4], vec![2u8; 4], vec![3u8; 2]].concat()
    );
    assert_eq!(out.last().map(|p| &p.1), Some(&Piece::Close));
}

#[test]
fn timeout_drops_data_and_closes_after_the_timeout() {
    let mut e = engine_with(1, 0, &[Toxic::new(ToxicKind::Timeout { timeout_ms: 100 })]);
    let out = run(&mut e, &[b"hello".to_vec()]);
    assert!(data_of(&out).is_empty(), "data is swallowed");
    assert!(out.contains(&(Duration::from_millis(100), Piece::Close)));
}

#[test]
fn timeout_zero_is_a_black_hole_that_never_closes() {
    let mut e = engine_with(1, 0, &[Toxic::new(ToxicKind::Timeout { timeout_ms: 0 })]);
    e.on_data(Duration::ZERO, Bytes::from_static(b"x"));
    assert!(e.pop_next().is_none());
}

#[test]
fn reset_peer_resets_after_timeout_and_passes_data_before() {
    let mut e = engine_with(1, 0, &[Toxic::new(ToxicKind::ResetPeer { timeout_ms: 30 })]);
    e.on_data(Duration::ZERO, Bytes::from_static(b"ab"));
    assert_eq!(
        e.pop_next(),
        Some((Duration::ZERO, Piece::Data(Bytes::from_static(b"ab"))))
    );
    assert_eq!(
        e.pop_next(),
        Some((Duration::from_millis(30), Piece::Reset))
    );
}

#[test]
fn removing_a_toxic_cancels_its_pending_timer() {
    let mut e = engine_with(1, 0, &[Toxic::new(ToxicKind::ResetPeer { timeout_ms: 30 })]);
    e.update(&[], Duration::from_millis(1));
    assert!(e.pop_next().is_none());
    assert!(e.is_passthrough());
}

#[test]
fn removing_a_delay_never_lets_new_bytes_overtake_queued_ones() {
    let mut e = engine_with(1, 0, &[latency(100, 0)]);
    e.on_data(Duration::ZERO, Bytes::from_static(b"first"));
    e.update(&[], Duration::from_millis(1));
    e.on_data(Duration::from_millis(1), Bytes::from_static(b"second"));
    let order: Vec<Piece> = std::iter::from_fn(|| e.pop_next().map(|p| p.1)).collect();
    assert_eq!(
        order,
        [
            Piece::Data(Bytes::from_static(b"first")),
            Piece::Data(Bytes::from_static(b"second"))
        ]
    );
}

#[test]
fn slicer_splits_into_sizes_within_variation_spaced_by_delay() {
    let t = Toxic::new(ToxicKind::Slicer {
        average_size: 10,
        size_variation: 3,
        delay_us: 100,
    });
    let mut e = engine_with(9, 0, &[t]);
    let out = run(&mut e, &[vec![5u8; 1000]]);
    let sizes: Vec<usize> = out
        .iter()
        .filter_map(|(_, p)| {
            if let Piece::Data(d) = p {
                Some(d.len())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 1000);
    assert!(
        sizes[..sizes.len() - 1]
            .iter()
            .all(|s| (7..=13).contains(s)),
        "{sizes:?}"
    );
    assert_eq!(out[1].0 - out[0].0, Duration::from_micros(100));
}

#[test]
fn same_seed_replays_exactly_and_other_seed_differs() {
    let chunks: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 3]).collect();
    let toxics = [
        latency(10, 9),
        Toxic::new(ToxicKind::Corrupt {
            bit_flip_rate: 0.05,
        }),
    ];
    let a = run(&mut engine_with(42, 3, &toxics), &chunks);
    let b = run(&mut engine_with(42, 3, &toxics), &chunks);
    let c = run(&mut engine_with(43, 3, &toxics), &chunks);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn toxicity_is_decided_once_per_connection() {
    let t = latency(100, 0).toxicity(0.5);
    let mut delayed = 0;
    for ordinal in 0..200 {
        let out = run(
            &mut engine_with(5, ordinal, std::slice::from_ref(&t)),
            &[vec![1], vec![2]],
        );
        let hit: Vec<bool> = out
            .iter()
            .map(|(at, _)| *at >= Duration::from_millis(100))
            .collect();
        assert!(
            hit.iter().all(|h| *h) || hit.iter().all(|h| !*h),
            "all or nothing: {hit:?}"
        );
        delayed += usize::from(hit[0]);
    }
    assert!(
        (60..=140).contains(&delayed),
        "about half the connections: {delayed}"
    );
}

#[test]
fn first_connections_fails_the_first_n_then_recovers() {
    let t = Toxic::new(ToxicKind::ResetPeer { timeout_ms: 0 }).first_connections(2);
    let resets: Vec<bool> = (0..4)
        .map(|ordinal| {
            let out = run(
                &mut engine_with(1, ordinal, std::slice::from_ref(&t)),
                &[vec![1]],
            );
            out.iter().any(|(_, p)| *p == Piece::Reset)
        })
        .collect();
    assert_eq!(resets, [true, true, false, false]);
}

#[test]
fn pattern_condition_arms_only_from_the_matching_chunk_even_across_chunks() {
    let cond = Condition {
        pattern: Some(b"QUIT".to_vec()),
        ..Condition::default()
    };
    let t = Toxic::new(ToxicKind::LimitData { bytes: 0 }).when(cond);
    let out = run(
        &mut engine_with(1, 0, &[t]),
        &[b"hello QU".to_vec(), b"IT".to_vec(), b"x".to_vec()],
    );
    assert_eq!(data_of(&out), b"hello QU");
    assert!(out.iter().any(|(_, p)| *p == Piece::Close));
}

#[test]
fn after_bytes_condition_leaves_the_first_bytes_alone() {
    let cond = Condition {
        after_bytes: 4,
        ..Condition::default()
    };
    let t = Toxic::new(ToxicKind::Timeout { timeout_ms: 0 }).when(cond);
    let out = run(
        &mut engine_with(1, 0, &[t]),
        &[b"abcd".to_vec(), b"efgh".to_vec()],
    );
    assert_eq!(data_of(&out), b"abcd");
}

#[test]
fn schedule_condition_arms_only_inside_its_window() {
    let cond = Condition {
        start_ms: 2,
        active_ms: Some(2),
        ..Condition::default()
    };
    let t = Toxic::new(ToxicKind::Timeout { timeout_ms: 0 }).when(cond);
    let chunks: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i]).collect();
    let out = run(&mut engine_with(1, 0, &[t]), &chunks);
    assert_eq!(
        data_of(&out),
        [0, 1, 4, 5],
        "chunks at 2 ms and 3 ms dropped"
    );
}

#[test]
fn loss_delays_by_retransmission_or_drops_messages() {
    let t = Toxic::new(ToxicKind::Loss {
        probability: 1.0,
        retransmit_ms: 200,
        drop: false,
    });
    let out = run(&mut engine_with(1, 0, &[t]), &[vec![1]]);
    assert_eq!(
        out[0],
        (
            Duration::from_millis(200),
            Piece::Data(Bytes::from_static(&[1]))
        )
    );
    let t = Toxic::new(ToxicKind::Loss {
        probability: 1.0,
        retransmit_ms: 200,
        drop: true,
    });
    assert!(data_of(&run(&mut engine_with(1, 0, &[t]), &[vec![1]])).is_empty());
}

#[test]
fn corruption_flips_about_rate_times_bits() {
    let t = Toxic::new(ToxicKind::Corrupt {
        bit_flip_rate: 0.01,
    });
    let out = run(&mut engine_with(3, 0, &[t]), &[vec![0u8; 10_000]]);
    let flipped: u32 = data_of(&out).iter().map(|b| b.count_ones()).sum();
    assert!(
        (600..=1000).contains(&flipped),
        "expected ~800 flips, got {flipped}"
    );
}

#[test]
fn duplicate_and_half_open_and_partial_do_what_they_say() {
    let dup = Toxic::new(ToxicKind::Duplicate { probability: 1.0 });
    assert_eq!(
        data_of(&run(&mut engine_with(1, 0, &[dup]), &[b"ab".to_vec()])),
        b"abab"
    );
    let half = Toxic::new(ToxicKind::HalfOpen);
    assert!(
        run(&mut engine_with(1, 0, &[half]), &[b"ab".to_vec()]).is_empty(),
        "no eof either"
    );
    let part = Toxic::new(ToxicKind::PartialIo { max_op_size: 3 });
    let out = run(&mut engine_with(1, 0, &[part]), &[vec![1u8; 10]]);
    assert_eq!(
        out.iter()
            .filter(|(_, p)| matches!(p, Piece::Data(_)))
            .count(),
        4
    );
}

#[test]
fn reorder_lets_chunks_overtake_but_keeps_every_byte_and_eof_last() {
    let t = Toxic::new(ToxicKind::Reorder {
        window_ms: 50,
        gap: 0,
    });
    let chunks: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i]).collect();
    let out = run(&mut engine_with(1, 0, &[t]), &chunks);
    let mut got = data_of(&out);
    assert_ne!(
        got,
        (0..50u8).collect::<Vec<_>>(),
        "some reordering happened"
    );
    got.sort_unstable();
    assert_eq!(got, (0..50u8).collect::<Vec<_>>());
    assert_eq!(out.last().map(|p| &p.1), Some(&Piece::Eof));
}

#[test]
fn reorder_with_a_gap_sends_every_nth_chunk_ahead_of_the_held_ones() {
    // netem's `reorder … gap 3`: chunks 3, 6, 9 (1-based) go at once, the
    // others wait the whole 10 ms window; the same on every run.
    let t = Toxic::new(ToxicKind::Reorder {
        window_ms: 10,
        gap: 3,
    });
    let chunks: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i]).collect();
    for seed in [1, 2] {
        let out = run(&mut engine_with(seed, 0, std::slice::from_ref(&t)), &chunks);
        assert_eq!(data_of(&out), [2, 5, 8, 0, 1, 3, 4, 6, 7, 9], "seed {seed}");
    }
}

#[test]
fn schedule_is_bounded_by_max_queued_bytes() {
    let mut e = engine_with(1, 0, &[latency(1000, 0)]).with_max_queued_bytes(1000);
    e.on_data(Duration::ZERO, Bytes::from(vec![0u8; 400]));
    assert!(e.wants_input());
    e.on_data(Duration::ZERO, Bytes::from(vec![0u8; 600]));
    assert!(!e.wants_input(), "shell must stop reading");
}

#[test]
fn tiny_pieces_count_their_overhead_against_the_bound() {
    let t = Toxic::new(ToxicKind::Slicer {
        average_size: 1,
        size_variation: 0,
        delay_us: 1,
    });
    let mut e = engine_with(1, 0, &[t]).with_max_queued_bytes(64 * 1024);
    e.on_data(Duration::ZERO, Bytes::from(vec![0u8; 1024]));
    assert!(
        !e.wants_input(),
        "1 024 one-byte pieces cost more than 64 KiB of bookkeeping"
    );
}

fn arb_toxic() -> impl Strategy<Value = Toxic> {
    prop_oneof![
        (0u64..50, 0u64..20).prop_map(|(l, j)| latency(l, j)),
        (1u64..100).prop_map(|r| Toxic::new(ToxicKind::Bandwidth { rate_kb_per_sec: r })),
        (0u64..50).prop_map(|d| Toxic::new(ToxicKind::SlowClose { delay_ms: d })),
        (0u64..50).prop_map(|t| Toxic::new(ToxicKind::Timeout { timeout_ms: t })),
        (0u64..50).prop_map(|t| Toxic::new(ToxicKind::ResetPeer { timeout_ms: t })),
        (1u64..20, 0u64..10, 0u64..100).prop_map(|(a, v, d)| Toxic::new(ToxicKind::Slicer {
            average_size: a,
            size_variation: v,
            delay_us: d
        })),
        (0u64..100).prop_map(|b| Toxic::new(ToxicKind::LimitData { bytes: b })),
        (0.0f64..1.0).prop_map(|r| Toxic::new(ToxicKind::Corrupt { bit_flip_rate: r })),
        (0.0f64..1.0).prop_map(|p| Toxic::new(ToxicKind::Duplicate { probability: p })),
        (0u64..20).prop_map(|w| Toxic::new(ToxicKind::Reorder {
            window_ms: w,
            gap: 0
        })),
        Just(Toxic::new(ToxicKind::HalfOpen)),
    ]
}

proptest! {
    #[test]
    fn toxicity_zero_has_no_side_effect(
        seed in any::<u64>(),
        ordinal in 0u64..8,
        base in proptest::collection::vec(arb_toxic(), 0..3),
        zero in arb_toxic(),
        at in 0usize..3,
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..64), 0..16),
    ) {
        let base: Vec<Toxic> =
            base.into_iter().enumerate().map(|(i, t)| t.name(format!("t{i}"))).collect();
        let mut with_zero = base.clone();
        with_zero.insert(at.min(base.len()), zero.name("zero").toxicity(0.0));
        let expected = run(&mut engine_with(seed, ordinal, &base), &chunks);
        let got = run(&mut engine_with(seed, ordinal, &with_zero), &chunks);
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn no_toxic_passes_bytes_unchanged(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..64), 0..16),
    ) {
        let out = run(&mut engine_with(0, 0, &[]), &chunks);
        prop_assert_eq!(data_of(&out), chunks.concat());
    }
}

fn gilbert(p: f64, r: f64) -> Toxic {
    Toxic::new(ToxicKind::GilbertLoss {
        p,
        r,
        loss_good: 0.0,
        loss_bad: 1.0,
        retransmit_ms: 200,
        drop: true,
    })
}

/// Which of `n` one-byte chunks (numbered by their byte) got through.
fn delivered(t: Toxic, n: usize) -> Vec<bool> {
    let chunks: Vec<Vec<u8>> = (0..n).map(|i| vec![(i % 256) as u8]).collect();
    let got = data_of(&run(&mut engine_with(9, 0, &[t]), &chunks));
    let mut seen = vec![false; n];
    // Delivery keeps order, so walk the sent bytes against the received.
    let mut next = got.iter().peekable();
    for (i, slot) in seen.iter_mut().enumerate() {
        if next.peek() == Some(&&((i % 256) as u8)) {
            *slot = true;
            next.next();
        }
    }
    seen
}

#[test]
fn gilbert_loss_comes_in_bursts_at_the_chains_steady_rate() {
    // p = 0.05, r = 0.25: bad a fifth of the time (p / (p + r) ≈ 0.17),
    // bursts of mean length 1 / r = 4 — independent loss at that rate would
    // average bursts of about 1.2.
    let seen = delivered(gilbert(0.05, 0.25), 20_000);
    let lost = seen.iter().filter(|ok| !**ok).count();
    let bursts = seen.windows(2).filter(|w| w[0] && !w[1]).count().max(1);
    let rate = lost as f64 / seen.len() as f64;
    let mean_burst = lost as f64 / bursts as f64;
    assert!((0.12..=0.22).contains(&rate), "loss rate {rate}");
    assert!((3.0..=5.0).contains(&mean_burst), "mean burst {mean_burst}");
}

#[test]
fn gilbert_loss_that_never_leaves_the_good_state_loses_nothing() {
    let seen = delivered(gilbert(0.0, 0.5), 2_000);
    assert!(seen.iter().all(|ok| *ok));
}

#[test]
fn gilbert_loss_reads_netems_attributes_with_loss_bad_defaulting_to_one() {
    let attrs = serde_json::json!({"p": 0.1, "r": 0.4});
    let serde_json::Value::Object(attrs) = attrs else {
        unreachable!()
    };
    let kind = ToxicKind::from_json("gilbert_loss", &attrs).unwrap();
    assert_eq!(
        kind,
        ToxicKind::GilbertLoss {
            p: 0.1,
            r: 0.4,
            loss_good: 0.0,
            loss_bad: 1.0,
            retransmit_ms: 200,
            drop: false
        }
    );
    assert_eq!(kind.type_name(), "gilbert_loss");
    let back = ToxicKind::from_json("gilbert_loss", &kind.attributes_json()).unwrap();
    assert_eq!(back, kind);
}

/// The delays of `n` one-byte chunks sent 10 s apart (so none is held
/// back behind the one before), in ms.
fn delays(distribution: crate::toxic::DelayDistribution, n: usize) -> Vec<f64> {
    let t = Toxic::new(ToxicKind::Delay {
        latency_ms: 100,
        jitter_ms: 20,
        distribution,
    });
    let mut e = engine_with(5, 0, &[t]);
    let gap = Duration::from_secs(10);
    let mut sent = Duration::ZERO;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        e.on_data(sent, Bytes::from_static(&[7]));
        while let Some((at, _)) = e.pop_next() {
            out.push((at - sent).as_secs_f64() * 1000.0);
        }
        sent += gap;
    }
    out
}

fn mean_and_sd(xs: &[f64]) -> (f64, f64) {
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
    (mean, var.sqrt())
}

#[test]
fn delay_distributions_have_netems_shapes() {
    use crate::toxic::DelayDistribution::{Normal, Pareto, Uniform};
    let uniform = delays(Uniform, 5_000);
    assert_eq!(uniform.len(), 5_000, "every chunk delivered");
    assert!(uniform.iter().all(|d| (80.0..=120.0).contains(d)));

    let (mean, sd) = mean_and_sd(&delays(Normal, 5_000));
    assert!((98.0..=102.0).contains(&mean), "normal mean {mean}");
    assert!((18.0..=22.0).contains(&sd), "normal sd {sd}");

    let pareto = delays(Pareto, 5_000);
    assert!(
        pareto.iter().all(|d| *d >= 100.0),
        "never below the latency"
    );
    let mut sorted = pareto.clone();
    sorted.sort_by(f64::total_cmp);
    let (median, p999) = (sorted[2_500], sorted[4_995]);
    // Pareto(3): median 1.26, 99.9th percentile 10: a heavy tail.
    assert!((103.0..=108.0).contains(&median), "pareto median {median}");
    assert!(p999 > 250.0, "pareto p99.9 {p999}");
}

#[test]
fn delay_reads_its_distribution_by_name_and_refuses_others() {
    let attrs = |d: &str| match serde_json::json!({"latency": 10, "distribution": d}) {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let kind = ToxicKind::from_json("delay", &attrs("pareto")).unwrap();
    assert_eq!(
        kind,
        ToxicKind::Delay {
            latency_ms: 10,
            jitter_ms: 0,
            distribution: crate::toxic::DelayDistribution::Pareto
        }
    );
    assert_eq!(
        ToxicKind::from_json("delay", &kind.attributes_json()).unwrap(),
        kind
    );
    assert!(ToxicKind::from_json("delay", &attrs("gaussian")).is_err());
}

// ---- TN3270-aware protocol toxics ----

fn inject(hex: &str, position: &str, every: u64, repeat: u64) -> Toxic {
    let v = serde_json::json!({"type": "inject", "attributes":
        {"hex": hex, "position": position, "every": every, "repeat": repeat}});
    Toxic::from_json_value(&v).unwrap()
}

fn truncate(keep: u64, every: u64) -> Toxic {
    Toxic::new(ToxicKind::TruncateRecord { keep, every })
}

/// Records `r0..`, each `body` bytes then IAC EOR, as one stream.
fn records(bodies: &[&[u8]]) -> Vec<u8> {
    bodies
        .iter()
        .flat_map(|b| b.iter().copied().chain([0xFF, 0xEF]))
        .collect()
}

/// The stream cut at every position in `cuts` (chunks in order).
fn split_at(stream: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut from = 0;
    for &c in cuts {
        out.push(stream[from..c].to_vec());
        from = c;
    }
    out.push(stream[from..].to_vec());
    out.retain(|c| !c.is_empty());
    out
}

#[test]
fn inject_after_record_finds_a_boundary_split_between_iac_and_eor() {
    let stream = records(&[b"ab", b"cd"]);
    // "ab FF | EF cd FF EF": the first boundary is split across chunks.
    let chunks = split_at(&stream, &[3]);
    let got = data_of(&run(
        &mut engine_with(1, 0, &[inject("00", "after_record", 1, 1)]),
        &chunks,
    ));
    assert_eq!(
        got,
        [b'a', b'b', 0xFF, 0xEF, 0x00, b'c', b'd', 0xFF, 0xEF, 0x00]
    );
}

#[test]
fn an_escaped_iac_is_not_a_boundary_even_across_chunks() {
    // "a FF FF EF b FF EF": FF FF is a data byte, so EF after it is data too.
    let stream = [b'a', 0xFF, 0xFF, 0xEF, b'b', 0xFF, 0xEF];
    for cut in 1..stream.len() {
        let chunks = split_at(&stream, &[cut]);
        let got = data_of(&run(
            &mut engine_with(1, 0, &[inject("77", "after_record", 1, 1)]),
            &chunks,
        ));
        let mut expected = stream.to_vec();
        expected.push(0x77);
        assert_eq!(got, expected, "cut at {cut}");
    }
}

#[test]
fn inject_every_nth_record_with_repeats() {
    let stream = records(&[b"1", b"2", b"3", b"4"]);
    let got = data_of(&run(
        &mut engine_with(1, 0, &[inject("ab", "after_record", 2, 3)]),
        &[stream],
    ));
    let expected = [
        &b"1\xFF\xEF2\xFF\xEF"[..],
        &[0xAB; 3],
        b"3\xFF\xEF4\xFF\xEF",
        &[0xAB; 3],
    ]
    .concat();
    assert_eq!(got, expected);
}

#[test]
fn inject_first_comes_once_before_the_first_byte() {
    let chunks = vec![b"xy".to_vec(), b"z".to_vec()];
    let got = data_of(&run(
        &mut engine_with(1, 0, &[inject("0102", "first", 1, 1)]),
        &chunks,
    ));
    assert_eq!(got, [1, 2, b'x', b'y', b'z']);
}

#[test]
fn inject_after_close_is_late_data_before_the_close() {
    let out = run(
        &mut engine_with(1, 0, &[inject("99", "after_close", 1, 2)]),
        &[b"hi".to_vec()],
    );
    let pieces: Vec<&Piece> = out.iter().map(|(_, p)| p).collect();
    assert_eq!(
        pieces,
        [
            &Piece::Data(Bytes::from_static(b"hi")),
            &Piece::Data(Bytes::from_static(&[0x99, 0x99])),
            &Piece::Eof
        ]
    );
}

#[test]
fn truncate_record_keeps_the_head_and_the_terminator() {
    let stream = records(&[b"abcdef", b"ghijkl", b"mn"]);
    let got = data_of(&run(
        &mut engine_with(1, 0, &[truncate(2, 2)]),
        &split_at(&stream, &[7, 8, 11]),
    ));
    // Record 2 is cut to "gh"; records 1 and 3 pass whole.
    assert_eq!(got, records(&[b"abcdef", b"gh", b"mn"]));
    let all = data_of(&run(&mut engine_with(1, 0, &[truncate(0, 1)]), &[stream]));
    assert_eq!(all, records(&[b"", b"", b""]), "keep 0: only terminators");
}

#[test]
fn truncate_record_never_splits_an_escaped_iac() {
    // Record "a FF FF b": keeping 2 bytes keeps "a" and the whole FF FF pair.
    let stream = [b'a', 0xFF, 0xFF, b'b', 0xFF, 0xEF];
    for cut in 1..stream.len() {
        let got = data_of(&run(
            &mut engine_with(1, 0, &[truncate(2, 1)]),
            &split_at(&stream, &[cut]),
        ));
        assert_eq!(got, [b'a', 0xFF, 0xFF, 0xFF, 0xEF], "cut at {cut}");
    }
}

fn arb_tn3270_stream() -> impl Strategy<Value = (Vec<u8>, usize)> {
    // Record bodies of arbitrary bytes, IAC escaped, each ended by IAC EOR,
    // sometimes with a trailing unterminated tail.
    (
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..8),
        proptest::collection::vec(any::<u8>(), 0..6),
    )
        .prop_map(|(bodies, tail)| {
            let mut s = Vec::new();
            for b in &bodies {
                for &x in b {
                    s.push(x);
                    if x == 0xFF {
                        s.push(0xFF);
                    }
                }
                s.extend_from_slice(&[0xFF, 0xEF]);
            }
            // An unterminated tail is a record too (one in progress).
            let records = bodies.len() + usize::from(tail.iter().any(|&x| x != 0xFF));
            s.extend(tail.into_iter().filter(|&x| x != 0xFF));
            (s, records)
        })
}

proptest! {
    #[test]
    fn protocol_toxics_with_every_past_the_record_count_change_nothing(
        // `count`: records, a partial last one included.
        (stream, count) in arb_tn3270_stream(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        keep in 0u64..4,
        extra in 1u64..5,
    ) {
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let chunks = split_at(&stream, &cuts);
        let every = count as u64 + extra;
        let injected = data_of(&run(&mut engine_with(3, 0, &[inject("00", "after_record", every, 1)]), &chunks));
        prop_assert_eq!(&injected, &stream);
        let truncated = data_of(&run(&mut engine_with(3, 0, &[truncate(keep, every)]), &chunks));
        prop_assert_eq!(&truncated, &stream);
    }
}
