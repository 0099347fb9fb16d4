//! Applying a full-screen Erase/Write allocates nothing in steady state.

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
