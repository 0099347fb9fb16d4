//! Waits on the connect helpers' sockets end with a typed timeout when
//! the host stays silent, and the client keeps working after one.

use std::net::TcpListener;
use std::time::Duration;

use ballast_session::{Client, Error, SessionConfig};

#[test]
fn connecting_to_a_host_that_never_negotiates_times_out() {
    // The kernel completes the TCP handshake from the backlog; nothing is
    // ever accepted, so no byte comes back.
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback listener");
    let addr = listener.local_addr().expect("bound address");
    let e = Client::connect(addr, SessionConfig::default(), Duration::from_millis(300))
        .expect_err("a silent host cannot complete the handshake");
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
}

#[cfg(feature = "host")]
#[test]
fn a_wait_that_times_out_leaves_the_client_usable() {
    use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
    use ballast_session::{Aid, Condition};

    let host = HostSimulator::start(HostConfig::default(), DemoApp::default())
        .expect("simulator starts on loopback");
    let long = Duration::from_secs(10);
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), long).unwrap();
    let e = c
        .wait_for(Condition::Text("NEVER".into()), Duration::from_millis(300))
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    // The next wait still gets the host's answer.
    c.type_text("demo").unwrap();
    c.tab();
    c.type_text("WRONG").unwrap();
    c.press(Aid::Enter).unwrap();
    c.wait_for(Condition::Text("INVALID".into()), long).unwrap();
}
