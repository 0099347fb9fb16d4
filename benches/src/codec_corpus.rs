//! Inputs for `benches/codec.rs`: 3270 screens, telnet streams, MudMode
//! mudlists, deep and wide LPC values and 64-byte frames, all generated from
//! fixed seeds.

use ballast_codec::frame::FrameConfig;
use ballast_codec::mudmode::encode_owned_packet;
use ballast_codec::mudmode::lpc::Value;
use ballast_codec::telnet;
use ballast_codec::tn3270::{
    Color, Command, ExtendedAttribute, FieldAttribute, Highlight, RecordBuilder, ScreenSize, Wcc,
};

use crate::InputRng;

/// Seed of every codec corpus.
pub const SEED: u64 = 0x3270_1143_0885;

const WORDS: [&str; 16] = [
    "ACCOUNT", "BALANCE", "CUSTOMER", "DATE", "ENTER", "FUNCTION", "HOLD", "INQUIRY", "LEDGER",
    "NUMBER", "OPTION", "PF3=EXIT", "QUANTITY", "STATUS", "TRANSFER", "USERID",
];

fn words(rng: &mut InputRng, width: usize) -> String {
    let mut s = String::with_capacity(width);
    while s.len() < width {
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    s.truncate(width);
    s
}

/// One full-screen Erase/Write record: every row has a protected label
/// field with color and highlighting, and an input field; the cursor is set.
pub fn tn3270_screen(rng: &mut InputRng) -> Vec<u8> {
    let colors = [
        Color::BLUE,
        Color::GREEN,
        Color::TURQUOISE,
        Color::YELLOW,
        Color::RED,
    ];
    let mut b = RecordBuilder::new(Command::EraseWrite, Wcc(0xC3), ScreenSize::MODEL_2);
    for row in 0..24u16 {
        let split = 10 + rng.below(30) as u16;
        let color = colors[rng.below(colors.len() as u64) as usize];
        b = b
            .sba(row, 0)
            .start_field_extended(
                FieldAttribute::new().protect(),
                &[
                    ExtendedAttribute::Foreground(color),
                    ExtendedAttribute::Highlight(Highlight::NORMAL),
                ],
            )
            .text_str(&words(rng, usize::from(split) - 1))
            .sba(row, split)
            .start_field(FieldAttribute::new())
            .text_str(&words(rng, usize::from(79 - split)));
    }
    b.sba(2, 16)
        .insert_cursor()
        .finish()
        .expect("the generated screen fits 24x80")
}

/// `count` full-screen records.
pub fn tn3270_screens(count: usize) -> Vec<Vec<u8>> {
    let mut rng = InputRng::new(SEED);
    (0..count).map(|_| tn3270_screen(&mut rng)).collect()
}

/// `len` bytes of telnet data where `iac_per_mille` of the data bytes are
/// 0xFF (sent doubled); 0 gives a stream without any IAC.
pub fn telnet_stream(len: usize, iac_per_mille: u64) -> Vec<u8> {
    let mut rng = InputRng::new(SEED ^ iac_per_mille);
    let mut data = vec![0u8; len];
    rng.fill(&mut data);
    for b in &mut data {
        if *b == 0xFF || (iac_per_mille > 0 && rng.below(1000) < iac_per_mille) {
            *b = if iac_per_mille > 0 { 0xFF } else { 0x20 };
        }
    }
    let mut wire = Vec::with_capacity(len + len / 50);
    telnet::encode_data(&data, &mut wire);
    wire
}

fn mud_info(rng: &mut InputRng, i: usize) -> Value {
    let port = 4000 + rng.below(2000) as i64;
    let services = ["tell", "who", "finger", "locate", "channel", "emoteto"]
        .iter()
        .map(|s| (Value::from(*s), Value::Int(1)))
        .collect();
    Value::Array(vec![
        Value::Int(-1),
        Value::from(format!("10.{}.{}.{}", i % 256, rng.below(256), rng.below(256)).as_str()),
        Value::Int(port),
        Value::Int(port + 1),
        Value::Int(port + 2),
        Value::from("Dead Souls 3.9"),
        Value::from("Dead Souls 3.9"),
        Value::from("FluffOS v2019"),
        Value::from("LP"),
        Value::from("mudlib development"),
        Value::from(format!("admin@mud{i}.example.org").as_str()),
        Value::Mapping(services),
        Value::Int(0),
    ])
}

/// MudMode frames of mudlist packets, `muds_per_packet` muds each.
pub fn mudlist_packets(packets: usize, muds_per_packet: usize) -> Vec<u8> {
    let mut rng = InputRng::new(SEED);
    let mut wire = Vec::new();
    for p in 0..packets {
        let muds = (0..muds_per_packet)
            .map(|m| {
                let i = p * muds_per_packet + m;
                (
                    Value::from(format!("Mud {i}").as_str()),
                    mud_info(&mut rng, i),
                )
            })
            .collect();
        let packet = Value::Array(vec![
            Value::from("mudlist"),
            Value::Int(5),
            Value::from("*i4"),
            Value::Int(0),
            Value::from("MyMud"),
            Value::Int(0),
            Value::Int(p as i64),
            Value::Mapping(muds),
        ]);
        encode_owned_packet(&packet, &mut wire).expect("a mudlist packet stays under 256 KiB");
    }
    wire
}

/// An array of `n` small values (ints and short strings, alternating).
pub fn wide_array(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    Value::Int(i as i64)
                } else {
                    Value::from("element")
                }
            })
            .collect(),
    )
}

/// `depth` arrays nested in one another, a string at the bottom.
pub fn deep_nesting(depth: usize) -> Value {
    (0..depth).fold(Value::from("bottom"), |v, _| {
        Value::Array(vec![v, Value::Int(1)])
    })
}

/// `count` frames of a 64-byte payload, 4-byte big-endian length.
pub fn frames_64(count: usize) -> Vec<u8> {
    let mut rng = InputRng::new(SEED);
    let mut wire = Vec::with_capacity(count * 68);
    let mut payload = [0u8; 64];
    for _ in 0..count {
        rng.fill(&mut payload);
        FrameConfig::default()
            .encode(&[], &payload, &mut wire)
            .expect("64 bytes fit");
    }
    wire
}
