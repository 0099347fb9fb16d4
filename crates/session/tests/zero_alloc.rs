//! Applying a full-screen Erase/Write, and appending it to the audit log,
//! allocate nothing in steady state.

mod common;

use ballast_alloc::CountingAlloc;
use ballast_codec::telnet;
use ballast_codec::tn3270::codes::Display;
use ballast_codec::tn3270::{
    Color, Command, ExtendedAttribute, FieldAttribute, RecordBuilder, ScreenSize, Wcc,
};
use ballast_session::{Session, SessionConfig};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::system();

fn full_screen(seed: u8) -> Vec<u8> {
    let mut b = RecordBuilder::new(
        Command::EraseWrite,
        Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
        ScreenSize::MODEL_2,
    );
    for row in 0..24 {
        b = b
            .sba(row, 0)
            .start_field_extended(
                FieldAttribute::new()
                    .protect()
                    .display(Display::Intensified),
                &[ExtendedAttribute::Foreground(Color::TURQUOISE)],
            )
            .text(&[0xC1 + seed % 9; 38])
            .start_field(FieldAttribute::new())
            .text(&[0xF0 + row as u8 % 10; 39]);
    }
    let mut wire = Vec::new();
    telnet::encode_record(&b.insert_cursor().finish().unwrap(), &mut wire);
    wire
}

#[test]
fn applying_full_screen_erase_writes_allocates_nothing_in_steady_state() {
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .unwrap();
    common::negotiate_eor_binary(&mut s);
    s.consume_output(usize::MAX);
    let screens: Vec<Vec<u8>> = (0..8).map(full_screen).collect();
    let apply = |s: &mut Session| {
        for w in &screens {
            s.receive(w).unwrap();
            while s.poll_event().is_some() {}
        }
    };
    apply(&mut s); // warm-up: buffers reach their size
    let ((), delta) = GLOBAL.measure(|| apply(&mut s));
    assert!(
        delta.is_zero(),
        "steady-state screen application allocates: {delta:?}"
    );
    assert_eq!(s.screen().fields().len(), 48);
}

#[test]
fn audit_appends_allocate_nothing_in_steady_state() {
    use ballast_session::Aid;
    use ballast_session::audit::{AuditEvent, AuditLog};
    let mut s = Session::new(SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    })
    .unwrap();
    common::negotiate_eor_binary(&mut s);
    s.receive(&full_screen(3)).unwrap();
    while s.poll_event().is_some() {}
    let log = AuditLog::new(std::io::sink());
    let modified = [(4u16, 15u16), (5, 15)];
    let append = |log: &AuditLog| {
        let screen = AuditEvent::ScreenReceived { screen: s.screen() };
        log.record(7, "demo", &screen).unwrap();
        let aid = AuditEvent::AidSent {
            aid: Aid::Pf(3),
            modified: &modified,
        };
        log.record(7, "demo", &aid).unwrap();
    };
    append(&log); // warm-up: the line buffer reaches its size
    let ((), delta) = GLOBAL.measure(|| append(&log));
    assert!(delta.is_zero(), "an audit append allocates: {delta:?}");
    assert_eq!(log.entries(), 4);
}
