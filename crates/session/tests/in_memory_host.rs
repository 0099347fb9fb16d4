//! `InMemoryHost` keeps the stream contract its docs promise: the host
//! speaks first, an empty read is `WouldBlock`, and a session the host
//! ended reads as end of stream and refuses writes.
#![cfg(feature = "host")]

use std::io::{ErrorKind, Read, Write};

use ballast_codec::telnet::{DO, IAC, option};
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
    // Negotiate plain TN3270 until the sign-on screen arrives.
    for _ in 0..16 {
        let (bytes, _) = drain(&mut host);
        session.receive(&bytes).unwrap();
        host.write_all(session.output()).unwrap();
        let n = session.output().len();
        session.consume_output(n);
        if session.writes() > 0 {
            break;
        }
    }
    assert!(session.screen().contains("PLEASE SIGN ON"));
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
