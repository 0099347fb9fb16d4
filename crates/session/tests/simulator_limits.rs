//! Per-session limits of the host simulator: idle timeout, record size,
//! pending input and output, session cap; and what an idle session costs.
#![cfg(feature = "host")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ballast_session::host::{DemoApp, HostConfig, HostSimulator, MIN_PENDING_OUTPUT};
use ballast_session::{Aid, Client, Condition, Error, Session, SessionConfig};

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
fn client_that_never_finishes_negotiation_is_closed_despite_nops() {
    let config = HostConfig {
        idle_timeout: Duration::from_millis(200),
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut s = TcpStream::connect(host.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    // Answers none of the host's options, but sends IAC NOP every 50 ms
    // (bounded by `T`), which would re-arm an idle timer forever.
    let deadline = Instant::now() + T;
    let mut buf = [0u8; 4096];
    let mut closed = false;
    while !closed && Instant::now() < deadline {
        let write_failed = s.write_all(&[0xff, 0xf1]).is_err();
        closed = write_failed
            || match s.read(&mut buf) {
                Ok(n) => n == 0,
                Err(e) => !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
            };
    }
    assert!(
        closed,
        "a session still negotiating outlived the idle timeout"
    );
    host.stop();
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

/// A plain TN3270 session negotiated over `tcp` up to the first screen.
fn negotiate(tcp: &mut TcpStream) -> Session {
    negotiate_as(tcp, false)
}

/// A session (TN3270E when `tn3270e`) negotiated over `tcp` up to the
/// first screen.
fn negotiate_as(tcp: &mut TcpStream, tn3270e: bool) -> Session {
    let config = SessionConfig {
        tn3270e,
        ..SessionConfig::default()
    };
    let mut s = Session::new(config).unwrap();
    tcp.set_read_timeout(Some(T)).unwrap();
    let mut buf = [0u8; 4096];
    while s.writes() == 0 {
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "host closed during negotiation");
        s.receive(&buf[..n]).unwrap();
        tcp.write_all(s.output()).unwrap();
        let sent = s.output().len();
        s.consume_output(sent);
    }
    s
}

#[test]
fn client_that_never_reads_stops_being_read_and_is_closed_when_idle() {
    let config = HostConfig {
        tn3270e: false,
        max_pending_output: MIN_PENDING_OUTPUT,
        idle_timeout: Duration::from_millis(300),
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let session = negotiate(&mut tcp);
    // Each Clear makes the host send the whole screen again; never read it.
    let chunk = common::clears(&session, 1000);
    tcp.set_write_timeout(Some(T)).unwrap();
    let mut written = 0usize;
    // Once its answers are unread, the host takes no more input: the
    // kernel's buffers fill and the writes stop (they block, or fail once
    // the idle timeout has ended the session). A host that kept reading
    // would take all 64 MiB, and its idle timer would never fire.
    let refused = loop {
        if written > (64 << 20) {
            break false;
        }
        match tcp.write(&chunk) {
            Ok(n) => written += n,
            Err(_) => break true,
        }
    };
    assert!(refused, "the host kept reading {written} bytes of input");
    assert!(
        common::sessions_become(&host, T, 0),
        "the idle timeout did not end it"
    );
    host.stop();
}

#[test]
fn pipelined_clears_from_a_slow_reader_all_get_answers_at_the_default_limit() {
    // 5000 Clears in one write: about 700 KiB of answers, well over the
    // default `max_pending_output` (256 KiB), read 4 KiB at a time with a
    // pause every 64 KiB.
    const CLEARS: u64 = 5000;
    let config = HostConfig {
        tn3270e: false,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut session = negotiate(&mut tcp);
    let got = common::pipelined_clears_read_slowly(&mut tcp, &mut session, CLEARS);
    assert_eq!(got, CLEARS, "the host answered {got} of {CLEARS} Clears");
    assert_eq!(host.active_sessions(), 1, "the session is still open");
    host.stop();
}

#[cfg(target_os = "linux")]
fn threads_in_process() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

#[cfg(target_os = "linux")]
#[test]
fn idle_sessions_cost_no_thread_each() {
    const SESSIONS: usize = 200;
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let before = threads_in_process();
    let conns: Vec<TcpStream> = (0..SESSIONS)
        .map(|_| TcpStream::connect(host.local_addr()).unwrap())
        .collect();
    assert!(common::sessions_become(&host, T, SESSIONS));
    // Other tests of this binary may run threads meanwhile; far fewer
    // than one per session.
    assert!(threads_in_process() < before + SESSIONS / 2);
    drop(conns);
    assert!(common::sessions_become(&host, T, 0));
    host.stop();
}

#[test]
fn stop_ends_open_sessions() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let _session = negotiate(&mut tcp);
    host.stop();
    assert!(closed_by_server(&mut tcp));
}

#[test]
fn client_that_half_closes_still_gets_its_answer() {
    let config = HostConfig {
        tn3270e: false,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut session = negotiate(&mut tcp);
    let screens = session.writes();
    tcp.write_all(&session.frame_record(&[Aid::Clear.byte().unwrap()]))
        .unwrap();
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    tcp.read_to_end(&mut rest).unwrap();
    session.receive(&rest).unwrap();
    assert_eq!(session.writes(), screens + 1, "the screen is shown again");
}

#[test]
fn idle_timeout_too_long_for_a_clock_means_never() {
    let config = HostConfig {
        idle_timeout: Duration::MAX,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    for _ in 0..2 {
        let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
        c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
            .unwrap();
    }
    host.stop();
}

/// Shows the sign-on screen, then panics on any key.
struct PanicsOnInput;

impl ballast_session::host::Application for PanicsOnInput {
    fn start(&self, ctx: &mut ballast_session::host::AppContext) -> ballast_session::host::Reply {
        DemoApp::default().start(ctx)
    }

    fn on_input(
        &self,
        _: &mut ballast_session::host::AppContext,
        _: &ballast_session::host::Input,
    ) -> ballast_session::host::Reply {
        panic!("application bug (expected by the test)");
    }
}

#[test]
fn application_panic_ends_only_its_session() {
    let host = HostSimulator::start(HostConfig::default(), PanicsOnInput).unwrap();
    let mut other = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    let e = c.press_and_wait(Aid::Enter, T).unwrap_err();
    assert!(matches!(e, Error::Closed), "{e}");
    assert!(common::sessions_become(&host, T, 1));
    other
        .wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    let third = Client::connect(host.local_addr(), SessionConfig::default(), T);
    assert!(third.is_ok(), "the simulator still accepts");
    host.stop();
}

#[test]
fn keepalives_never_end_a_session() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    // More NOPs than the host's negotiation limit: a long-lived session
    // sends one every few minutes.
    for _ in 0..1000 {
        c.keepalive().unwrap();
    }
    c.press_and_wait(Aid::Clear, T).unwrap();
    assert!(c.screen().contains("PLEASE SIGN ON"));
    host.stop();
}

/// Feeds what `tcp` reads to `session` until it has shown `screens`
/// screens; false when the host goes quiet for `T` or closes first.
fn read_screens(tcp: &mut TcpStream, session: &mut Session, screens: u64) -> bool {
    tcp.set_read_timeout(Some(T)).unwrap();
    let mut buf = [0u8; 16 << 10];
    // Bounded: each turn reads at least one byte or gives up.
    while session.writes() < screens {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => session.receive(&buf[..n]).unwrap(),
        }
        while session.poll_event().is_some() {}
    }
    true
}

/// Plain TN3270 with small input limits and the smallest output limit,
/// so a pipelining client soon meets all three.
fn tight_plain_limits() -> HostConfig {
    HostConfig {
        tn3270e: false,
        max_record_len: 1024,
        max_pending_input: 4096,
        max_pending_output: MIN_PENDING_OUTPUT,
        ..HostConfig::default()
    }
}

#[test]
fn pipelined_records_are_not_pending_input() {
    // 8000 complete records (3 bytes each) in one write, more bytes than
    // the pending input limit, none of them waiting for IAC EOR; the
    // output limit makes the host hold most of them back until the
    // answers are read, which does not count either. More than one 16 KiB
    // read: the rest waits in the kernel, and the host must take it
    // without a new readable event.
    const CLEARS: u64 = 8000;
    let config = tight_plain_limits();
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut session = negotiate(&mut tcp);
    let burst = common::clears(&session, CLEARS);
    assert!(burst.len() > 4096);
    tcp.write_all(&burst).unwrap();
    let screens = session.writes() + CLEARS;
    assert!(read_screens(&mut tcp, &mut session, screens));
    host.stop();
}

#[test]
fn endless_subnegotiation_is_dropped() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let mut s = TcpStream::connect(host.local_addr()).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    // IAC SB TERMINAL-TYPE, then 1 MiB with no IAC SE.
    let _ = s.write_all(&[255, 250, 24]);
    let _ = s.write_all(&vec![0x40; 1 << 20]);
    assert!(closed_by_server(&mut s));
    assert!(common::sessions_become(&host, T, 0));
}

/// Shows one screen larger than `MIN_PENDING_OUTPUT` on its own: 96
/// labels of 78 characters, four over every row.
struct HugeScreen;

impl ballast_session::host::Application for HugeScreen {
    fn start(&self, _: &mut ballast_session::host::AppContext) -> ballast_session::host::Reply {
        let screen = (0..96u16).fold(ballast_session::host::ScreenDef::new("huge"), |s, i| {
            s.text(i % 24, 0, "X".repeat(78))
        });
        ballast_session::host::Reply::Show(screen)
    }

    fn on_input(
        &self,
        ctx: &mut ballast_session::host::AppContext,
        _: &ballast_session::host::Input,
    ) -> ballast_session::host::Reply {
        self.start(ctx)
    }
}

#[test]
fn answer_larger_than_the_pending_output_limit_on_its_own_ends_the_session() {
    let small = HostConfig {
        max_pending_output: MIN_PENDING_OUTPUT,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(small, HugeScreen).unwrap();
    // `connect` waits for the first screen, which never comes.
    let e = Client::connect(host.local_addr(), SessionConfig::default(), T)
        .and_then(|mut c| c.wait_for(Condition::Text("XXXX".into()), T))
        .unwrap_err();
    assert!(matches!(e, Error::Closed), "{e}");
    assert!(common::sessions_become(&host, T, 0));
    host.stop();
    // The same screen fits the default limit.
    let host = HostSimulator::start(HostConfig::default(), HugeScreen).unwrap();
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    c.wait_for(Condition::Text("XXXX".into()), T).unwrap();
    host.stop();
}

#[test]
fn pipelined_logoff_still_sends_the_answers_held_before_it() {
    // 1000 Clears, PF3 (the demo's sign-on screen ends the session on it),
    // then 6000 bytes more, all in one write: the host holds most of it
    // back at its small output limit and decodes the rest as the client
    // reads. The bytes after PF3 are more than `max_pending_input`, but
    // they are not waiting for IAC EOR: the session has ended, and the
    // answers to the Clears before it are still owed.
    const CLEARS: u64 = 1000;
    let config = tight_plain_limits();
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut session = negotiate(&mut tcp);
    let mut burst = common::clears(&session, CLEARS);
    burst.extend(session.frame_record(&[Aid::Pf(3).byte().unwrap()]));
    burst.extend(common::clears(&session, 2000));
    tcp.write_all(&burst).unwrap();
    let screens = session.writes() + CLEARS;
    assert!(
        read_screens(&mut tcp, &mut session, screens),
        "answers lost: got {} of {CLEARS}",
        CLEARS + session.writes() - screens
    );
    assert!(closed_by_server(&mut tcp), "PF3 ended the session");
    host.stop();
}

#[test]
fn client_that_half_closes_while_held_back_gets_every_answer() {
    // 5000 Clears and the end of input in one go, at the smallest output
    // limit: the host holds most Clears back when the end arrives, and
    // must answer them all before it closes.
    const CLEARS: u64 = 5000;
    let config = HostConfig {
        tn3270e: false,
        max_pending_output: MIN_PENDING_OUTPUT,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut session = negotiate(&mut tcp);
    tcp.write_all(&common::clears(&session, CLEARS)).unwrap();
    tcp.shutdown(std::net::Shutdown::Write).unwrap();
    let got = common::read_screens_slowly(&mut tcp, &mut session, CLEARS);
    assert_eq!(got, CLEARS, "the host answered {got} of {CLEARS} Clears");
    assert!(
        closed_by_server(&mut tcp),
        "the host closed after answering"
    );
    assert!(common::sessions_become(&host, T, 0));
    host.stop();
}

#[test]
fn tn3270e_pipelined_clears_from_a_slow_reader_all_get_answers() {
    // As the plain test, in TN3270E (every record has a header, every
    // answer a sequence number), at the smallest output limit so most
    // Clears are held back.
    const CLEARS: u64 = 5000;
    let config = HostConfig {
        max_pending_output: MIN_PENDING_OUTPUT,
        ..HostConfig::default()
    };
    let host = HostSimulator::start(config, DemoApp::default()).unwrap();
    let mut tcp = TcpStream::connect(host.local_addr()).unwrap();
    let mut session = negotiate_as(&mut tcp, true);
    assert!(session.is_tn3270e());
    let got = common::pipelined_clears_read_slowly(&mut tcp, &mut session, CLEARS);
    assert_eq!(got, CLEARS, "the host answered {got} of {CLEARS} Clears");
    assert_eq!(host.active_sessions(), 1, "the session is still open");
    host.stop();
}
