//! Balancing and LU pool bookkeeping.

use super::*;

type Stream = std::io::Cursor<Vec<u8>>;

fn opened_on(books: &mut Books<Stream>, limits: &PickLimits<'_>, n: usize) -> Vec<usize> {
    (0..n)
        .map(|_| match books.pick(0b111, 0b111, limits) {
            Pick::Open(i, _) => i,
            _ => usize::MAX,
        })
        .collect()
}

fn limits(balancing: Balancing, capacity: &'static [usize]) -> PickLimits<'static> {
    PickLimits {
        max_sessions: 100,
        capacity,
        weight: &[1, 1, 1],
        balancing,
    }
}

#[test]
fn round_robin_takes_each_endpoint_in_turn_and_skips_full_ones() {
    let mut books = Books::<Stream>::new((0..3).map(|_| Vec::new()));
    let l = limits(Balancing::RoundRobin, &[10, 1, 10]);
    assert_eq!(opened_on(&mut books, &l, 5), [0, 1, 2, 0, 2]);
}

#[test]
fn least_loaded_picks_the_endpoint_with_fewest_sessions_lent() {
    let mut books = Books::<Stream>::new((0..3).map(|_| Vec::new()));
    books.endpoints[0].in_use = 2;
    let l = limits(Balancing::LeastLoaded, &[10, 10, 10]);
    assert_eq!(opened_on(&mut books, &l, 4), [1, 2, 1, 2]);
}

#[test]
fn lu_pool_names_are_handed_out_in_order_and_bound_the_endpoint() {
    let mut books = Books::<Stream>::new(std::iter::once(vec!["LU1".into(), "LU2".into()]));
    let l = PickLimits {
        max_sessions: 100,
        capacity: &[2],
        weight: &[1],
        balancing: Balancing::RoundRobin,
    };
    let lu = |p: Pick<Stream>| match p {
        Pick::Open(_, lu) => lu,
        _ => None,
    };
    assert_eq!(lu(books.pick(1, 1, &l)).as_deref(), Some("LU1"));
    assert_eq!(lu(books.pick(1, 1, &l)).as_deref(), Some("LU2"));
    assert!(matches!(books.pick(1, 1, &l), Pick::Wait));
    books.unreserve(0, Some("LU1".into()));
    assert_eq!(lu(books.pick(1, 1, &l)).as_deref(), Some("LU1"));
    assert!(matches!(books.pick(1, 0, &l), Pick::NoEndpoint));
}
