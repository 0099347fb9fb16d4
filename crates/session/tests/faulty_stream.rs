//! `Client` runs over `ballast_chaos::FaultyStream` against an in-memory
//! host: no socket, no thread, a fixed seed and a manual clock, so a run
//! under sliced, delayed, short reads and partial writes is the same run
//! every time.
#![cfg(feature = "host")]

use std::time::Duration;

use ballast_chaos::{Clock, FaultConfig, FaultyStream, ManualClock, Stream, Toxic, ToxicKind};
use ballast_session::host::{DemoApp, HostConfig, InMemoryHost};
use ballast_session::{Aid, Client, Condition, Error, SessionConfig};

/// Wall-clock bound of every wait; the faults cost virtual time only.
const T: Duration = Duration::from_secs(10);

/// Partial writes of at most 3 bytes up; down, the host's answers arrive
/// sliced into pieces of 2–12 bytes, 30–50 ms late.
fn faults(seed: u64) -> FaultConfig {
    FaultConfig::new(seed)
        .toxic(Toxic::new(ToxicKind::PartialIo { max_op_size: 3 }).stream(Stream::Upstream))
        .toxic(Toxic::new(ToxicKind::Slicer {
            average_size: 7,
            size_variation: 5,
            delay_us: 500,
        }))
        .toxic(Toxic::new(ToxicKind::Latency {
            latency_ms: 40,
            jitter_ms: 10,
        }))
}

type FaultyClient = Client<FaultyStream<InMemoryHost, ManualClock>>;

fn connect(seed: u64, config: SessionConfig) -> (FaultyClient, ManualClock) {
    let host = InMemoryHost::new(&HostConfig::default(), DemoApp::default()).unwrap();
    let clock = ManualClock::new();
    let stream = faults(seed).wrap_with_clock(host, clock.clone());
    let mut c = Client::new(stream, config).unwrap();
    c.handshake(T).unwrap();
    (c, clock)
}

/// Signs on as DEMO and stores a record of `amount`; returns the
/// transaction id the host showed.
fn sign_on_and_store(c: &mut FaultyClient, amount: &str) -> String {
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    c.type_text("DEMO").unwrap();
    c.tab();
    c.type_text("SECRET").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("MAIN MENU"), "{}", c.screen().text());
    c.fill_input(0, "1").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.fill_input(0, "ACME").unwrap();
    c.fill_input(1, amount).unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    let row = c.screen().row(2).unwrap();
    let txid = row.split(": ").nth(1).unwrap_or_default().trim().to_owned();
    assert!(txid.starts_with('T'), "{}", c.screen().text());
    txid
}

#[test]
fn client_signs_on_and_stores_a_record_through_faults_without_a_socket() {
    let (mut c, clock) = connect(7, SessionConfig::default());
    assert!(c.session().is_tn3270e());
    let txid = sign_on_and_store(&mut c, "42");
    let record = c.get_ref().get_ref().store().get(&txid);
    assert_eq!(
        record.map(|r| (r.name, r.amount)),
        Some(("ACME".to_owned(), 42))
    );
    // Every answer came through the latency toxic: virtual time moved by
    // at least one latency per screen (negotiation, sign-on, menu, entry,
    // confirmation), none of it wall time.
    assert!(
        clock.now() >= Duration::from_millis(5 * 30),
        "{:?}",
        clock.now()
    );
}

#[test]
fn plain_tn3270_through_faults_stores_the_record_too() {
    let config = SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    };
    let (mut c, _) = connect(8, config);
    assert!(!c.session().is_tn3270e());
    let txid = sign_on_and_store(&mut c, "7");
    let record = c.get_ref().get_ref().store().get(&txid);
    assert_eq!(record.map(|r| r.amount), Some(7));
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = |seed| {
        let (mut c, clock) = connect(seed, SessionConfig::default());
        sign_on_and_store(&mut c, "1");
        clock.now()
    };
    assert_eq!(run(11), run(11), "same faults, same virtual time");
}

#[test]
fn a_wait_for_text_that_never_comes_times_out_over_an_idle_stream() {
    let (mut c, _) = connect(9, SessionConfig::default());
    let e = c
        .wait_for(
            Condition::Text("NEVER THERE".into()),
            Duration::from_millis(20),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    // The terminal is still usable after a timed-out wait.
    assert!(c.screen().contains("PLEASE SIGN ON"));
}
