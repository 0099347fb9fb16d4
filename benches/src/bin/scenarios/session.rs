//! ballast-session scenarios: applying host writes to a connected session.

use std::hint::black_box;

use ballast_benches::codec_corpus as corpus;
use ballast_codec::telnet::{self, DO, IAC, WILL, option};
use ballast_session::{Session, SessionConfig};

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[(
    "session/apply_full_screen_erase_write/ballast",
    apply_full_screen,
)];

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
    let negotiation = [
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
    s.receive(&negotiation).expect("negotiation");
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
