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

/// A client over faults over an in-memory host; one manual clock times
/// the faults and the host's idle timeout.
fn connect(seed: u64, config: SessionConfig) -> (FaultyClient, ManualClock) {
    let clock = ManualClock::new();
    let host = InMemoryHost::new(&HostConfig::default(), DemoApp::default())
        .unwrap()
        .with_clock(std::sync::Arc::new(clock.clone()));
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

#[test]
fn a_host_that_ends_the_session_is_a_closed_error_after_its_last_answer() {
    let (mut c, _) = connect(10, SessionConfig::default());
    // PF3 on the sign-on screen: the demo app disconnects.
    c.press(Aid::Pf(3)).unwrap();
    let e = c.wait_for(Condition::Unlocked, T).unwrap_err();
    assert!(matches!(e, Error::Closed), "{e}");
    assert!(c.get_ref().get_ref().is_closed());
}

/// The same over tokio: `AsyncClient` on a `FaultyStream` around one end
/// of an in-memory duplex pipe whose other end a task serves with an
/// `InMemoryHost`; tokio's paused clock makes the faults' delays virtual.
#[cfg(feature = "tokio")]
mod on_tokio {
    use std::io::{Read, Write};

    use ballast_session::AsyncClient;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    use super::*;

    /// Moves bytes between the pipe and the host until either side ends.
    async fn serve(mut end: DuplexStream, mut host: InMemoryHost) -> InMemoryHost {
        let mut buf = vec![0; 4096];
        loop {
            // The host speaks first; then it answers what came.
            while let Ok(n) = host.read(&mut buf) {
                if n == 0 || end.write_all(&buf[..n]).await.is_err() {
                    return host;
                }
            }
            match end.read(&mut buf).await {
                Ok(n) if n > 0 && host.write_all(&buf[..n]).is_ok() => {}
                _ => return host,
            }
        }
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn async_client_signs_on_and_stores_a_record_through_faults() {
        let host = InMemoryHost::new(&HostConfig::default(), DemoApp::default()).unwrap();
        let (near, far) = tokio::io::duplex(64 << 10);
        let server = tokio::spawn(serve(far, host));
        let mut c = AsyncClient::new(faults(7).wrap_async(near), SessionConfig::default()).unwrap();
        c.handshake(T).await.unwrap();
        c.wait_for(Condition::InputField, T).await.unwrap();
        c.fill_input(0, "DEMO").unwrap();
        c.fill_input(1, "SECRET").unwrap();
        c.press_and_wait(Aid::Enter, T).await.unwrap();
        c.fill_input(0, "1").unwrap();
        c.press_and_wait(Aid::Enter, T).await.unwrap();
        c.fill_input(0, "ASYNC").unwrap();
        c.fill_input(1, "5").unwrap();
        c.press_and_wait(Aid::Enter, T).await.unwrap();
        assert!(
            c.screen().contains("TRANSACTION ID: T0000001"),
            "{}",
            c.screen().text()
        );
        c.disconnect().await.unwrap();
        let host = server.await.unwrap();
        let record = host.store().get("T0000001");
        assert_eq!(
            record.map(|r| (r.name, r.amount)),
            Some(("ASYNC".to_owned(), 5))
        );
    }
}
