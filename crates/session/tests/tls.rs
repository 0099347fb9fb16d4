//! `Client` over TLS against a TLS `HostSimulator` (feature `tls`), with a
//! committed self-signed test certificate for `localhost` / 127.0.0.1.
#![cfg(all(feature = "host", feature = "tls"))]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Aid, Client, Condition, Error, SessionConfig, tls};

const CA: &[u8] = include_bytes!("fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("fixtures/tls/cert.pem");
const KEY: &[u8] = include_bytes!("fixtures/tls/key.pem");
const T: Duration = Duration::from_secs(10);

fn tls_host() -> HostSimulator {
    let config = HostConfig {
        tls: Some(tls::server_config(CERT, KEY).unwrap()),
        ..HostConfig::default()
    };
    HostSimulator::start(config, DemoApp::default()).unwrap()
}

#[test]
fn client_signs_on_over_tls() {
    let host = tls_host();
    let roots = tls::client_config(CA).unwrap();
    let mut c = Client::connect_tls(
        host.local_addr(),
        "localhost",
        roots,
        SessionConfig::default(),
        T,
    )
    .unwrap();
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    c.type_text("DEMO").unwrap();
    c.tab();
    c.type_text("SECRET").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("MAIN MENU"));
    c.disconnect().unwrap();
}

#[test]
fn tls_client_refuses_a_host_whose_name_does_not_match() {
    let host = tls_host();
    let roots = tls::client_config(CA).unwrap();
    let e = Client::connect_tls(
        host.local_addr(),
        "mainframe.example",
        roots,
        SessionConfig::default(),
        T,
    )
    .unwrap_err();
    let Error::Tls(why) = &e else { panic!("{e}") };
    assert!(why.contains("not valid for the name asked"), "{why}");
}

const EXPIRED_CA: &[u8] = include_bytes!("fixtures/tls/expired/ca.pem");
const EXPIRED_CERT: &[u8] = include_bytes!("fixtures/tls/expired/cert.pem");
const EXPIRED_KEY: &[u8] = include_bytes!("fixtures/tls/expired/key.pem");

#[test]
fn tls_client_refuses_an_expired_certificate_and_says_so() {
    let config = HostConfig {
        tls: Some(tls::server_config(EXPIRED_CERT, EXPIRED_KEY).unwrap()),
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let roots = tls::client_config(EXPIRED_CA).unwrap();
    let e = Client::connect_tls(
        host.local_addr(),
        "localhost",
        roots,
        SessionConfig::default(),
        T,
    )
    .unwrap_err();
    let Error::Tls(why) = &e else { panic!("{e}") };
    assert!(why.contains("has expired"), "{why}");
}

/// A host that speaks TLS 1.2 only (built with rustls directly: ballast's
/// configs never cap the newest version).
fn tls12_only_host() -> HostSimulator {
    use rustls::pki_types::pem::PemObject;
    let chain = rustls::pki_types::CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let config = HostConfig {
        tls: Some(std::sync::Arc::new(server)),
        ..HostConfig::default()
    };
    HostSimulator::start(config, DemoApp::default()).unwrap()
}

#[test]
fn the_minimum_tls_version_is_explicit_and_enforced() {
    let host = tls12_only_host();
    let connect = |roots| {
        Client::connect_tls(
            host.local_addr(),
            "localhost",
            roots,
            SessionConfig::default(),
            T,
        )
    };
    // The default minimum is TLS 1.2: a TLS 1.2 host is served.
    let c = connect(tls::client_config(CA).unwrap()).unwrap();
    c.disconnect().unwrap();
    // Asked for TLS 1.3 at least, the client refuses it, saying why.
    let strict = tls::client_config_with(CA, tls::MinTlsVersion::Tls13).unwrap();
    let e = connect(strict).unwrap_err();
    let Error::Tls(why) = &e else { panic!("{e}") };
    assert!(why.contains("tls handshake failed"), "{why}");
}

#[test]
fn bad_pem_is_a_typed_error() {
    assert!(matches!(tls::client_config(b"not pem"), Err(Error::Tls(_))));
    assert!(matches!(
        tls::server_config(CERT, b"not a key"),
        Err(Error::Tls(_))
    ));
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_client_signs_on_over_tls_and_checks_the_name() {
    use ballast_session::async_client::AsyncClient;
    let host = tls_host();
    let roots = tls::client_config(CA).unwrap();
    let mut c = AsyncClient::connect_tls(
        host.local_addr(),
        "localhost",
        roots.clone(),
        SessionConfig::default(),
        T,
    )
    .await
    .unwrap();
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .await
        .unwrap();
    c.type_text("DEMO").unwrap();
    c.tab();
    c.type_text("SECRET").unwrap();
    c.press_and_wait(Aid::Enter, T).await.unwrap();
    assert!(c.screen().contains("MAIN MENU"));
    c.disconnect().await.unwrap();
    let wrong = AsyncClient::connect_tls(
        host.local_addr(),
        "mainframe.example",
        roots,
        SessionConfig::default(),
        T,
    )
    .await
    .unwrap_err();
    assert!(matches!(wrong, Error::Tls(_)), "{wrong}");
}

#[test]
fn tls_handshake_that_never_finishes_is_closed_after_the_idle_timeout() {
    let config = HostConfig {
        tls: Some(tls::server_config(CERT, KEY).unwrap()),
        idle_timeout: Duration::from_millis(200),
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = std::net::TcpStream::connect(host.local_addr()).unwrap();
    // Half a TLS record header, then silence.
    tcp.write_all(&[0x16, 0x03]).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    // The host may send an alert (close_notify) before its FIN.
    let closed = tcp.read_to_end(&mut Vec::new()).is_ok() && host.active_sessions() == 0;
    assert!(closed, "the host still holds the session");
}

/// A TLS stream to `host` as a raw client (no `Client`), so a test can
/// pipeline records.
fn raw_tls_stream(
    host: &HostSimulator,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let roots = tls::client_config(CA).unwrap();
    let name = "localhost".try_into().unwrap();
    let conn = rustls::ClientConnection::new(roots, name).unwrap();
    let tcp = std::net::TcpStream::connect(host.local_addr()).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// Host settings of the raw-stream tests: TLS, plain TN3270.
fn plain_tls_config() -> HostConfig {
    HostConfig {
        tls: Some(tls::server_config(CERT, KEY).unwrap()),
        tn3270e: false,
        ..HostConfig::default()
    }
}

/// A plain TN3270 session fed from `stream` until the host's first screen.
fn first_plain_screen(stream: &mut (impl Read + Write)) -> ballast_session::Session {
    let config = SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    };
    let mut session = ballast_session::Session::new(config).unwrap();
    assert!(read_until(stream, &mut session, |s| s.writes() > 0));
    session
}

/// Feeds what `stream` reads to `session` (answering it) until `done`;
/// false when the host goes quiet for `T` or closes first.
fn read_until(
    stream: &mut (impl Read + Write),
    session: &mut ballast_session::Session,
    done: impl Fn(&ballast_session::Session) -> bool,
) -> bool {
    let mut buf = [0u8; 16 << 10];
    // Bounded: each turn reads at least one byte or gives up.
    while !done(session) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => session.receive(&buf[..n]).unwrap(),
        }
        stream.write_all(session.output()).unwrap();
        let sent = session.output().len();
        session.consume_output(sent);
        while session.poll_event().is_some() {}
    }
    true
}

#[test]
fn tls_answers_larger_than_the_tls_buffer_all_arrive() {
    // 1000 pipelined Clears make the host answer with 1000 screens (about
    // 140 KiB) at once, over rustls's 64 KiB send buffer, which a loopback
    // socket takes whole without ever blocking.
    const CLEARS: u64 = 1000;
    let config = HostConfig {
        max_pending_output: 4 << 20,
        ..plain_tls_config()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut stream = raw_tls_stream(&host);
    let mut session = first_plain_screen(&mut stream);
    let screens = session.writes();
    stream.write_all(&common::clears(&session, CLEARS)).unwrap();
    let all = read_until(&mut stream, &mut session, |s| {
        s.writes() == screens + CLEARS
    });
    assert!(
        all,
        "got {} of {CLEARS} screens",
        session.writes() - screens
    );
    host.stop();
}

#[test]
fn tls_pipelined_clears_from_a_slow_reader_all_get_answers_at_the_default_limit() {
    // 12000 Clears in one write: about 1.7 MiB of answers, well over the
    // default `max_pending_output` (256 KiB), read with a pause every 16
    // reads. They span several TLS records: while its output is at the
    // limit the host leaves them in the kernel, and must take them again
    // on its own (no readable event comes for them).
    const CLEARS: u64 = 12000;
    let config = plain_tls_config();
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut stream = raw_tls_stream(&host);
    let mut session = first_plain_screen(&mut stream);
    let got = common::pipelined_clears_read_slowly(&mut stream, &mut session, CLEARS);
    assert_eq!(got, CLEARS, "the host answered {got} of {CLEARS} Clears");
    assert_eq!(host.active_sessions(), 1, "the session is still open");
    host.stop();
}

#[test]
fn tls_client_that_half_closes_after_pipelining_gets_every_answer() {
    // 60000 Clears (about 8.4 MiB of answers: under this host's output
    // limit, so it takes them all at once, and more than loopback socket
    // buffers hold), then the client ends its TCP side without a TLS
    // close_notify and reads on, slowly. The host sees that end of input
    // while answers still wait for the socket; it must send them all
    // before it closes.
    const CLEARS: u64 = 60_000;
    let config = HostConfig {
        max_pending_output: 16 << 20,
        ..plain_tls_config()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut stream = raw_tls_stream(&host);
    // A small receive window (no autotuning), so the host's writes block
    // long before the answers are all sent.
    socket2::SockRef::from(&stream.sock)
        .set_recv_buffer_size(64 << 10)
        .unwrap();
    let mut session = first_plain_screen(&mut stream);
    stream.write_all(&common::clears(&session, CLEARS)).unwrap();
    stream.sock.shutdown(std::net::Shutdown::Write).unwrap();
    let got = common::read_screens_slowly(&mut stream, &mut session, CLEARS);
    assert_eq!(got, CLEARS, "the host answered {got} of {CLEARS} Clears");
    assert!(common::sessions_become(&host, T, 0), "the session ended");
    host.stop();
}

#[test]
fn tls_client_that_sends_close_notify_while_held_back_gets_every_answer() {
    // 12000 Clears then close_notify, at the default output limit: the
    // host holds most Clears back (some as plaintext inside rustls, some
    // in the kernel) when the close_notify arrives, and must answer them
    // all before it closes.
    const CLEARS: u64 = 12000;
    let config = plain_tls_config();
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut stream = raw_tls_stream(&host);
    let mut session = first_plain_screen(&mut stream);
    stream.write_all(&common::clears(&session, CLEARS)).unwrap();
    stream.conn.send_close_notify();
    stream.flush().unwrap();
    let got = common::read_screens_slowly(&mut stream, &mut session, CLEARS);
    assert_eq!(got, CLEARS, "the host answered {got} of {CLEARS} Clears");
    assert!(common::sessions_become(&host, T, 0), "the session ended");
    host.stop();
}

/// Connects and waits for the logon screen; the error of either step.
fn sign_on_screen(
    host: &HostSimulator,
    roots: &std::sync::Arc<rustls::ClientConfig>,
) -> Result<(), Error> {
    let mut c = Client::connect_tls(
        host.local_addr(),
        "localhost",
        std::sync::Arc::clone(roots),
        SessionConfig::default(),
        T,
    )?;
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)?;
    Ok(())
}

#[test]
fn set_tls_config_serves_new_connections_with_the_new_certificate() {
    let host = tls_host();
    // A client trusting both roots, so only the expiry can fail it.
    let roots = tls::client_config(&[CA, EXPIRED_CA].concat()).unwrap();
    sign_on_screen(&host, &roots).expect("the host's own certificate");
    let mut open = Client::connect_tls(
        host.local_addr(),
        "localhost",
        std::sync::Arc::clone(&roots),
        SessionConfig::default(),
        T,
    )
    .unwrap();
    open.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();

    host.set_tls_config(tls::server_config(EXPIRED_CERT, EXPIRED_KEY).unwrap())
        .unwrap();
    let e = sign_on_screen(&host, &roots).expect_err("an expired certificate");
    let Error::Tls(why) = &e else { panic!("{e}") };
    assert!(why.contains("has expired"), "{why}");
    // A session accepted before the swap keeps its config and goes on.
    open.type_text("DEMO").unwrap();
    open.tab();
    open.type_text("SECRET").unwrap();
    open.press_and_wait(Aid::Enter, T).unwrap();
    open.wait_for(Condition::Text("MAIN MENU".into()), T)
        .expect("the open session is untouched");

    host.set_tls_config(tls::server_config(CERT, KEY).unwrap())
        .unwrap();
    sign_on_screen(&host, &roots).expect("the good certificate again");
}

#[test]
fn set_tls_config_on_a_plain_host_is_a_typed_error() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let e = host
        .set_tls_config(tls::server_config(CERT, KEY).unwrap())
        .expect_err("a plain host has no TLS to swap");
    assert!(matches!(e, Error::Config { field: "tls", .. }), "{e}");
}
