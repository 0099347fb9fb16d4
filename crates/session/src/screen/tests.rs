use ballast_codec::tn3270::codes::Display;
use ballast_codec::tn3270::{
    Command, FieldAttribute, Outbound, OutboundParser, RecordBuilder, ScreenChar, ScreenSize, Wcc,
};

use super::*;

fn screen_from(record: &[u8]) -> Screen {
    let mut s = Screen::new(ScreenSize::MODEL_2, ScreenSize::MODEL_2, CodePage::Cp037);
    apply(&mut s, record);
    s
}

fn apply(s: &mut Screen, record: &[u8]) {
    let parser = OutboundParser::default();
    let Outbound::Write {
        command,
        wcc,
        orders,
    } = parser.parse(record).unwrap()
    else {
        panic!("test records are writes")
    };
    crate::apply::apply_write(s, command, wcc, orders).unwrap();
}

fn logon() -> Vec<u8> {
    RecordBuilder::new(
        Command::EraseWrite,
        Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
        ScreenSize::MODEL_2,
    )
    .sba(0, 0)
    .start_field(FieldAttribute::new().protect())
    .text_str("USER")
    .sba(0, 9)
    .start_field(FieldAttribute::new())
    .insert_cursor()
    .sba(0, 18)
    .start_field(FieldAttribute::new().protect())
    .sba(1, 9)
    .start_field(FieldAttribute::new().display(Display::Hidden))
    .sba(1, 18)
    .start_field(FieldAttribute::new().protect())
    .sba(2, 9)
    .start_field(FieldAttribute::new().numeric())
    .sba(2, 14)
    .start_field(FieldAttribute::new().protect())
    .finish()
    .unwrap()
}

#[test]
fn field_table_maps_every_cell_to_the_field_before_it_wrapping_around() {
    let s = screen_from(&logon());
    assert_eq!(s.fields().len(), 7);
    assert_eq!(s.field_at(0).unwrap().index(), 0);
    assert_eq!(s.field_at(10).unwrap().field().attribute_address, 9);
    // The last field wraps past the end of the screen up to address 0.
    let last = s.field_at(1919).unwrap().field();
    assert_eq!(last.attribute_address, 174);
    assert_eq!(u32::from(last.len), 1920 - 175);
    assert_eq!(s.field(1).unwrap().field().len, 8);
}

#[test]
fn typing_into_a_protected_field_fails_and_changes_nothing() {
    let mut s = screen_from(&logon());
    s.move_cursor(0, 1).unwrap();
    let e = s.type_text("X").unwrap_err();
    assert!(matches!(e, Error::ProtectedField { row: 0, col: 1 }));
    assert_eq!(s.row(0).unwrap().trim_end(), " USER");
}

#[test]
fn typing_sets_mdt_and_skips_to_the_next_input_field_when_full() {
    let mut s = screen_from(&logon());
    assert_eq!(s.cursor_position(), (0, 10));
    s.type_text("ABCDEFGH").unwrap();
    assert!(s.fields()[1].attribute.is_modified());
    assert_eq!(
        s.cursor_position(),
        (1, 10),
        "auto-skip to the password field"
    );
}

#[test]
fn numeric_field_refuses_letters() {
    let mut s = screen_from(&logon());
    s.move_cursor(2, 10).unwrap();
    s.type_text("12").unwrap();
    assert!(matches!(
        s.type_text("a"),
        Err(Error::NumericField { ch: 'a', .. })
    ));
}

#[test]
fn hidden_field_is_blank_in_text_and_debug_but_readable_on_request() {
    let mut s = screen_from(&logon());
    s.move_cursor(1, 10).unwrap();
    s.type_text("SECRET").unwrap();
    assert!(!s.text().contains("SECRET"));
    assert!(!format!("{s:?}").contains("SECRET"));
    assert!(!format!("{:?}", s.field(3).unwrap()).contains("SECRET"));
    assert!(s.text_with_hidden().contains("SECRET"));
    assert_eq!(s.field(3).unwrap().hidden_text().trim_end(), "SECRET");
}

#[test]
fn tab_backtab_and_home_visit_input_fields_in_order() {
    let mut s = screen_from(&logon());
    s.tab();
    assert_eq!(s.cursor_position(), (1, 10));
    s.tab();
    assert_eq!(s.cursor_position(), (2, 10));
    s.tab();
    assert_eq!(
        s.cursor_position(),
        (0, 10),
        "wraps to the first input field"
    );
    s.backtab();
    assert_eq!(s.cursor_position(), (2, 10));
    s.cursor_right();
    s.backtab();
    assert_eq!(
        s.cursor_position(),
        (2, 10),
        "back to the start of this field"
    );
    s.home();
    assert_eq!(s.cursor_position(), (0, 10));
}

#[test]
fn erase_eof_nulls_the_rest_of_the_field_and_sets_mdt() {
    let mut s = screen_from(&logon());
    s.type_text("ABCD").unwrap();
    s.move_cursor(0, 11).unwrap();
    s.reset_mdts();
    s.erase_eof().unwrap();
    assert_eq!(s.field(1).unwrap().text().trim_end(), "A");
    assert!(s.fields()[1].attribute.is_modified());
}

#[test]
fn modified_fields_are_read_with_nulls_removed() {
    let mut s = screen_from(&logon());
    s.type_text("AB").unwrap();
    let mut out = Vec::new();
    ballast_codec::tn3270::encode_read_modified(ballast_codec::tn3270::Aid::Enter, &s, &mut out)
        .unwrap();
    let cursor = ballast_codec::tn3270::encode_address(s.cursor(), s.address_mode()).unwrap();
    let sba = ballast_codec::tn3270::encode_address(10, s.address_mode()).unwrap();
    assert_eq!(
        out,
        [
            &[0x7D][..],
            &cursor,
            &[ballast_codec::tn3270::codes::order::SBA],
            &sba,
            &[0xC1, 0xC2]
        ]
        .concat()
    );
}

#[test]
fn write_with_reset_mdt_clears_tags_and_keyboard_restore_unlocks() {
    let mut s = screen_from(&logon());
    s.type_text("AB").unwrap();
    s.locked = true;
    let w = RecordBuilder::new(
        Command::Write,
        Wcc::from_flags(Wcc::RESET_MDT | Wcc::KEYBOARD_RESTORE),
        ScreenSize::MODEL_2,
    )
    .finish()
    .unwrap();
    apply(&mut s, &w);
    assert!(!s.fields()[1].attribute.is_modified());
    assert!(!s.is_locked());
    assert_eq!(
        s.field(1).unwrap().text().trim_end(),
        "AB",
        "W keeps the buffer"
    );
}

#[test]
fn repeat_to_address_and_erase_unprotected_fill_the_right_cells() {
    let rec = RecordBuilder::new(Command::EraseWrite, Wcc(0), ScreenSize::MODEL_2)
        .sba(3, 0)
        .repeat_to(3, 10, ScreenChar::Base(0x5C))
        .finish()
        .unwrap();
    let mut s = screen_from(&logon());
    apply(&mut s, &rec);
    assert_eq!(s.row(3).unwrap().trim_end(), "**********");
    assert!(s.fields().is_empty(), "erase/write dropped the fields");
    let mut s = screen_from(&logon());
    s.type_text("ABC").unwrap();
    let eua = RecordBuilder::new(Command::Write, Wcc(0), ScreenSize::MODEL_2)
        .sba(0, 0)
        .erase_unprotected_to(23, 79)
        .finish()
        .unwrap();
    apply(&mut s, &eua);
    assert_eq!(s.field(1).unwrap().text().trim(), "");
    assert_eq!(
        s.row(0).unwrap().trim_end(),
        " USER",
        "protected text stays"
    );
}

#[test]
fn program_tab_after_text_moves_to_the_next_unprotected_field() {
    let mut s = screen_from(&logon());
    let pt = RecordBuilder::new(Command::Write, Wcc(0), ScreenSize::MODEL_2)
        .sba(0, 1)
        .program_tab()
        .text_str("XY")
        .finish()
        .unwrap();
    apply(&mut s, &pt);
    assert_eq!(s.field(1).unwrap().text().trim_end(), "XY");
}

#[test]
fn colors_and_highlights_from_sfe_and_sa_are_kept_per_cell() {
    use ballast_codec::tn3270::{Color, ExtendedAttribute, Highlight};
    let rec = RecordBuilder::new(Command::EraseWrite, Wcc(0), ScreenSize::MODEL_2)
        .start_field_extended(
            FieldAttribute::new().protect(),
            &[
                ExtendedAttribute::Foreground(Color::RED),
                ExtendedAttribute::Highlight(Highlight::REVERSE),
            ],
        )
        .set_attribute(ExtendedAttribute::Foreground(Color::YELLOW))
        .set_attribute(ExtendedAttribute::Highlight(Highlight::UNDERSCORE))
        .text_str("Y")
        .set_attribute(ExtendedAttribute::Reset)
        .text_str("N")
        .finish()
        .unwrap();
    let s = screen_from(&rec);
    assert_eq!(
        (s.color_at(0), s.highlight_at(0)),
        (0xF2, 0xF2),
        "field attribute cell"
    );
    assert_eq!(
        (s.color_at(1), s.highlight_at(1)),
        (0xF6, 0xF4),
        "SA applies to text"
    );
    assert_eq!((s.color_at(2), s.highlight_at(2)), (0, 0), "SA reset");
}

#[test]
fn field_table_matches_attribute_cells_after_writes_and_input() {
    let mut s = screen_from(&logon());
    assert!(s.fields_consistent());
    s.type_text("DEMO").unwrap();
    s.tab();
    s.erase_eof().unwrap();
    assert!(s.fields_consistent());
    s.reset_mdts();
    assert!(s.fields_consistent());
}

/// The invariant checks catch a field table out of step with the cells
/// (debug builds, where they run).
#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "field table out of step")]
fn an_attribute_cell_the_table_does_not_know_trips_the_check() {
    let mut s = screen_from(&logon());
    let last = s.len() - 1;
    s.attrs[last] = FA_FLAG; // an attribute cell no host write made
    s.home();
}

#[cfg(debug_assertions)]
#[test]
#[should_panic(expected = "outside")]
fn a_cursor_outside_the_screen_trips_the_check() {
    let mut s = screen_from(&logon());
    s.set_cursor(s.len() as u16);
}

#[test]
fn whole_screen_text_matches_row_by_row_text_with_a_hidden_field_wrapping_around() {
    let record = RecordBuilder::new(
        Command::EraseWrite,
        Wcc::from_flags(Wcc::KEYBOARD_RESTORE),
        ScreenSize::MODEL_2,
    )
    .sba(0, 5)
    .start_field(FieldAttribute::new().protect())
    .text_str("HEAD")
    .sba(23, 70)
    .start_field(FieldAttribute::new().display(Display::Hidden))
    .text_str("PASSWORD12345")
    .finish()
    .unwrap();
    let s = screen_from(&record);
    for reveal in [false, true] {
        let rows: Vec<String> = (0..24).map(|r| s.row_text(r, reveal).unwrap()).collect();
        assert_eq!(s.dump(reveal), rows.join("\n"), "reveal {reveal}");
    }
    assert!(!s.text().contains("PASSWORD"), "hidden even where it wraps");
    assert!(
        !s.text().starts_with("PASS"),
        "the wrapped part is hidden too"
    );
    assert!(s.text_with_hidden().contains("PASSWORD1"));
    assert!(
        s.text_with_hidden().starts_with("2345"),
        "{}",
        &s.text_with_hidden()[..8]
    );
}
