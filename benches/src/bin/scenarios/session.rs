//! ballast-session scenarios: applying host writes to a connected session,
//! connecting to an in-process host; and recording a chaos `History`.

use std::hint::black_box;

use ballast_benches::codec_corpus as corpus;
use ballast_codec::telnet::{self, DO, IAC, WILL, option};
use ballast_codec::tn3270::{Aid, Wcc};
use std::sync::Arc;
use std::time::Duration;

use ballast_chaos::history::{History, Op};
use ballast_resilience::ManualClock;
use ballast_session::{
    Client, Condition, DemoApp, HostConfig, InMemoryHost, Session, SessionConfig,
};

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[
    (
        "session/apply_full_screen_erase_write/ballast",
        apply_full_screen,
    ),
    (
        "session/connect_to_first_screen/ballast_InMemoryHost",
        connect_to_first_screen,
    ),
    ("chaos/history_record_write/ballast", history_record),
    (
        "session/key_press_enter_read_modified/ballast",
        key_press_enter,
    ),
];

/// How long a step may take; the in-memory host answers inside `write`.
const STEP: Duration = Duration::from_secs(5);

/// A client on a fresh in-process host: TN3270E negotiation, then the
/// sign-on screen, no socket and no thread.
#[inline(never)]
fn connect_to_first_screen(n: u64) {
    for _ in 0..n {
        let clock = ManualClock::new();
        let Ok(host) = InMemoryHost::new(&HostConfig::default(), DemoApp::default()) else {
            return;
        };
        let host = host.with_clock(Arc::new(clock));
        let Ok(mut client) = Client::new(host, SessionConfig::default()) else {
            return;
        };
        let shown = client
            .handshake(STEP)
            .and_then(|()| client.wait_for(Condition::Text("PLEASE SIGN ON".into()), STEP));
        // A scenario that stopped reaching the screen would count less
        // and pass the gate: fail loudly instead.
        if let Err(e) = shown {
            panic!("the in-memory host did not show the sign-on screen: {e}");
        }
        black_box(client.screen());
    }
}

/// One write invoked and acknowledged in a chaos `History` (room for
/// every entry, a manual clock: no OS clock read per operation).
#[inline(never)]
fn history_record(n: u64) {
    let history = History::<String, u64>::with_clock(
        usize::try_from(n).unwrap_or(usize::MAX).saturating_add(1),
        ballast_chaos::ManualClock::new(),
    );
    let key = String::from("k");
    for i in 0..n {
        let op = history.invoke(
            i % 8,
            Op::Write {
                key: key.clone(),
                value: i,
            },
        );
        op.ok(None);
    }
    black_box(&history);
}

/// One full-screen Erase/Write (IAC EOR framed) received and applied by a
/// negotiated plain-TN3270 session, events drained.
#[inline(never)]
fn apply_full_screen(n: u64) {
    let screens: Vec<Vec<u8>> = corpus::tn3270_screens(64)
        .iter()
        .map(|r| {
            let mut w = Vec::new();
            telnet::encode_record(r, &mut w);
            w
        })
        .collect();
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .expect("default config is valid");
    s.receive(&NEGOTIATION).expect("negotiation");
    s.consume_output(usize::MAX);
    while s.poll_event().is_some() {}
    for i in 0..n {
        let wire = &screens[(i % 64) as usize];
        if s.receive(black_box(wire)).is_err() {
            return;
        }
        while s.poll_event().is_some() {}
        s.consume_output(usize::MAX);
    }
}

/// A plain-TN3270 session, negotiated, showing corpus screen `screen`.
fn session_showing(screen: &[u8]) -> Session {
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .expect("default config is valid");
    s.receive(&NEGOTIATION).expect("negotiation");
    s.receive(screen).expect("a corpus screen");
    s.consume_output(usize::MAX);
    while s.poll_event().is_some() {}
    s
}

/// IAC DO/WILL EOR, IAC DO/WILL BINARY: plain TN3270 negotiation.
const NEGOTIATION: [u8; 12] = [
    IAC,
    DO,
    option::END_OF_RECORD,
    IAC,
    WILL,
    option::END_OF_RECORD,
    IAC,
    DO,
    option::BINARY,
    IAC,
    WILL,
    option::BINARY,
];

/// The operator types into the first input field of a full corpus screen
/// and presses Enter: the session builds and queues the Read Modified
/// record; then the host's keyboard-restore Write (W, WCC restore) unlocks
/// the keyboard for the next press, as a host answering would.
#[inline(never)]
fn key_press_enter(n: u64) {
    let (screen, field) = corpus::tn3270_screens(64)
        .iter()
        .find_map(|r| {
            let mut w = Vec::new();
            telnet::encode_record(r, &mut w);
            let s = session_showing(&w);
            let field = s
                .screen()
                .fields()
                .iter()
                .position(|f| f.is_input() && f.len >= 8)?;
            Some((w, field))
        })
        .expect("the corpus has a screen with an input field");
    let mut s = session_showing(&screen);
    let mut restore = Vec::new();
    telnet::encode_record(&[0xF1, Wcc::KEYBOARD_RESTORE], &mut restore);
    for _ in 0..n {
        if s.screen_mut().fill_field(field, "T9999999").is_err() {
            return;
        }
        if s.press(black_box(Aid::Enter)).is_err() {
            return;
        }
        black_box(s.output().len());
        s.consume_output(usize::MAX);
        if s.receive(&restore).is_err() {
            return;
        }
        while s.poll_event().is_some() {}
    }
}
