//! Per-session limits of the host simulator: idle timeout, record size,
//! session cap.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Client, Condition, Error, SessionConfig};

const T: Duration = Duration::from_secs(5);

/// Reads until EOF or `T`; true when the server closed the connection.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + T;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn idle_session_is_closed_after_the_idle_timeout() {
    let config = HostConfig {
        idle_timeout: Duration::from_millis(200),
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    let e = c.wait_for(Condition::Text("NEVER".into()), T).unwrap_err();
    assert!(matches!(e, Error::Closed), "{e}");
}

#[test]
fn client_sending_more_than_the_pending_input_limit_is_dropped() {
    let config = HostConfig {
        max_record_len: 1024,
        max_pending_input: 4096,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut s = TcpStream::connect(host.local_addr()).unwrap();
    // 64 KiB with no IAC EOR; the server stops reading at its limit.
    let _ = s.write_all(&vec![0x40; 64 << 10]);
    assert!(closed_by_server(&mut s));
}

#[test]
fn connections_over_max_sessions_are_refused() {
    let config = HostConfig {
        max_sessions: 2,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let a = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    let b = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    let third = Client::connect(host.local_addr(), SessionConfig::default(), T);
    assert!(third.is_err(), "the third session is refused");
    assert_eq!(host.active_sessions(), 2);
    drop((a, b));
}

#[test]
fn invalid_host_config_names_the_field() {
    let config = HostConfig {
        max_sessions: 0,
        ..HostConfig::default()
    };
    let e = HostSimulator::start(config, DemoApp::default()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Config {
                field: "max_sessions",
                ..
            }
        ),
        "{e}"
    );
}
