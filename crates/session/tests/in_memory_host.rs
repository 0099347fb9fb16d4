//! `InMemoryHost` keeps the stream contract its docs promise: the host
//! speaks first, an empty read is `WouldBlock`, and a session the host
//! ended reads as end of stream and refuses writes; its idle timeout runs
//! on the clock it is given.
#![cfg(feature = "host")]

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use ballast_clock::ManualClock;
use ballast_codec::telnet::{DO, IAC, NOP, option};
use ballast_session::host::{DemoApp, HostConfig, InMemoryHost};
use ballast_session::{Aid, Session, SessionConfig};

/// Reads everything the host has ready, until it would block or ends.
fn drain(host: &mut InMemoryHost) -> (Vec<u8>, std::io::Result<usize>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match host.read(&mut buf) {
            Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
            last => return (got, last),
        }
    }
}

#[test]
fn the_host_speaks_first_then_reads_would_block() {
    let mut host = InMemoryHost::new(&HostConfig::default(), DemoApp::default()).unwrap();
    let (opening, last) = drain(&mut host);
    assert_eq!(opening, [IAC, DO, option::TN3270E], "DO TN3270E first");
    assert_eq!(last.unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(!host.is_closed());
}

#[test]
fn an_ended_session_reads_as_end_of_stream_and_refuses_writes() {
    let config = HostConfig {
        tn3270e: false,
        ..HostConfig::default()
    };
    let mut host = InMemoryHost::new(&config, DemoApp::default()).unwrap();
    let mut session = Session::new(SessionConfig::default()).unwrap();
    sign_on_screen(&mut host, &mut session);
    assert_eq!(host.terminal_type(), "IBM-3278-2-E");
    // PF3 on the sign-on screen: the demo app ends the session.
    session.press(Aid::Pf(3)).unwrap();
    host.write_all(session.output()).unwrap();
    assert!(host.is_closed());
    let (_, last) = drain(&mut host);
    assert_eq!(last.unwrap(), 0, "end of stream");
    let e = host.write(b"more").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
}

/// Runs the plain TN3270 negotiation between `session` and `host` until
/// the sign-on screen arrives.
fn sign_on_screen(host: &mut InMemoryHost, session: &mut Session) {
    for _ in 0..16 {
        let (bytes, _) = drain(host);
        session.receive(&bytes).unwrap();
        host.write_all(session.output()).unwrap();
        let n = session.output().len();
        session.consume_output(n);
        if session.writes() > 0 {
            break;
        }
    }
    assert!(session.screen().contains("PLEASE SIGN ON"));
}

#[test]
fn a_session_idle_for_the_idle_timeout_on_the_hosts_clock_is_ended() {
    let config = HostConfig {
        tn3270e: false,
        idle_timeout: Duration::from_secs(60),
        ..HostConfig::default()
    };
    let clock = ManualClock::new();
    let mut host = InMemoryHost::new(&config, DemoApp::default())
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let mut session = Session::new(SessionConfig::default()).unwrap();
    sign_on_screen(&mut host, &mut session);

    // Input re-arms the timer: 59 s, a keepalive, 59 s more is not idle.
    clock.advance(Duration::from_secs(59));
    session.keepalive();
    host.write_all(session.output()).unwrap();
    session.consume_output(usize::MAX);
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        drain(&mut host).1.unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert!(!host.is_closed());

    // A full minute without input ends it.
    clock.advance(Duration::from_secs(1));
    assert_eq!(drain(&mut host).1.unwrap(), 0, "end of stream");
    assert!(host.is_closed());
    let e = host.write(b"late").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
}

#[test]
fn a_negotiation_that_never_finishes_is_ended_after_the_idle_timeout() {
    let clock = ManualClock::new();
    let mut host = InMemoryHost::new(&HostConfig::default(), DemoApp::default())
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let (opening, _) = drain(&mut host);
    assert!(!opening.is_empty(), "the host opened the negotiation");
    // Bytes that negotiate nothing do not re-arm the timer.
    clock.advance(HostConfig::default().idle_timeout / 2);
    host.write_all(&[IAC, NOP]).unwrap();
    clock.advance(HostConfig::default().idle_timeout / 2);
    assert_eq!(drain(&mut host).1.unwrap(), 0, "end of stream");
    assert!(host.is_closed());
}

#[test]
fn a_host_with_answers_at_the_output_mark_takes_no_input_until_they_are_read() {
    let config = HostConfig {
        tn3270e: false,
        max_pending_output: 4096,
        ..HostConfig::default()
    };
    let mut host = InMemoryHost::new(&config, DemoApp::default()).unwrap();
    let mut session = Session::new(SessionConfig::default()).unwrap();
    sign_on_screen(&mut host, &mut session);
    session.press(Aid::Enter).unwrap();
    let enter = session.output().to_vec();
    // Pipelined Enters, never reading: each is answered with a screen until
    // the answers reach the mark; then writes would block, as on a socket,
    // instead of piling input up against the input limit.
    let mut taken = 0;
    let blocked = (0..64).find_map(|_| match host.write(&enter) {
        Ok(_) => {
            taken += 1;
            None
        }
        Err(e) => Some(e.kind()),
    });
    assert_eq!(
        blocked,
        Some(ErrorKind::WouldBlock),
        "after {taken} records"
    );
    assert!(!host.is_closed(), "backpressure, not a limit error");
    let (answers, _) = drain(&mut host);
    assert!(answers.len() >= 4096, "{} bytes of answers", answers.len());
    assert_eq!(
        host.write(&enter).unwrap(),
        enter.len(),
        "taken again once read"
    );
}

#[test]
fn a_cloned_session_is_a_snapshot_and_encodes_what_press_sends() {
    let config = HostConfig {
        tn3270e: false,
        ..HostConfig::default()
    };
    let mut host = InMemoryHost::new(&config, DemoApp::default()).unwrap();
    let mut session = Session::new(SessionConfig::default()).unwrap();
    sign_on_screen(&mut host, &mut session);
    let snapshot = session.clone();
    session.screen_mut().type_text("ZQXJ").unwrap();
    assert!(session.screen().contains("ZQXJ"));
    assert!(
        !snapshot.screen().contains("ZQXJ"),
        "the clone kept its screen"
    );
    let mut body = Vec::new();
    session
        .encode_read_modified(Aid::Enter, false, &mut body)
        .unwrap();
    let mut framed = Vec::new();
    ballast_codec::telnet::encode_record(&body, &mut framed);
    session.press(Aid::Enter).unwrap();
    assert_eq!(session.output(), framed, "press sends the codec's record");
    assert_eq!(session.last_aid(), Aid::Enter);
    let mut read_buffer = Vec::new();
    snapshot.encode_read_buffer(&mut read_buffer).unwrap();
    // AID, cursor address, every cell, plus an SF order per field.
    let screen = snapshot.screen();
    assert_eq!(read_buffer.len(), 3 + screen.len() + screen.fields().len());
}
