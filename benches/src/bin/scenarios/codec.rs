//! ballast-codec scenarios (and tokio-util's length-delimited codec as the
//! frame peer), on the seeded corpora of `ballast_benches::codec_corpus`.

use std::hint::black_box;

use ballast_benches::codec_corpus as corpus;
use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::mudmode::lpc::Limits;
use ballast_codec::mudmode::{MAX_RECEIVE_LEN, MudModeDecoder, encode_owned_packet};
use ballast_codec::stream::Decode;
use ballast_codec::telnet::{TelnetEvent, TelnetParser};
use ballast_codec::tn3270::{Order, Outbound, OutboundParser};
use bytes::BytesMut;
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

use crate::Scenario;

pub(crate) const SCENARIOS: &[Scenario] = &[
    ("codec/tn3270_parse_full_screen/ballast", tn3270_parse),
    ("codec/telnet_scan_4KiB_no_iac/ballast", telnet_scan),
    (
        "codec/mudmode_decode_mudlist_packet/ballast",
        mudmode_decode,
    ),
    (
        "codec/mudmode_encode_10000_element_array/ballast",
        mudmode_encode_wide,
    ),
    (
        "codec/mudmode_encode_100_level_nesting/ballast",
        mudmode_encode_deep,
    ),
    (
        "codec/mudmode_decode_10000_element_array/ballast",
        mudmode_decode_wide,
    ),
    (
        "codec/mudmode_decode_100_level_nesting/ballast",
        mudmode_decode_deep,
    ),
    ("codec/frame_decode_64B/ballast", frames_ballast),
    (
        "codec/frame_decode_64B/tokio_util_LengthDelimitedCodec",
        frames_tokio_util,
    ),
];

/// One full-screen Erase/Write record parsed, every order walked.
#[inline(never)]
fn tn3270_parse(n: u64) {
    let records = corpus::tn3270_screens(64);
    let parser = OutboundParser::default();
    for i in 0..n {
        let rec = &records[(i % 64) as usize];
        if let Ok(Outbound::Write { orders, .. }) = parser.parse(black_box(rec)) {
            for order in orders {
                if let Ok(Order::Text(t)) = order {
                    black_box(t.len());
                }
            }
        }
    }
}

/// 4 KiB of telnet data without IAC split into events.
#[inline(never)]
fn telnet_scan(n: u64) {
    let wire = corpus::telnet_stream(4096, 0);
    for _ in 0..n {
        for ev in TelnetParser::default().events(black_box(&wire)) {
            if let Ok(TelnetEvent::Data(d)) = ev {
                black_box(d.len());
            }
        }
    }
}

/// One I3 mudlist packet (32 muds) decoded from its MudMode frame by a
/// reused decoder, its tape warmed by the first packets.
#[inline(never)]
fn mudmode_decode(n: u64) {
    let wire = corpus::mudlist_packets(64, 32);
    let mut offsets = Vec::new();
    let mut dec = MudModeDecoder::default();
    let mut at = 0;
    while let Ok((_, used)) = dec.decode_packet(&wire[at..]) {
        offsets.push(at);
        at += used;
    }
    for i in 0..n {
        let start = offsets[(i as usize) % offsets.len()];
        black_box(dec.decode_packet(black_box(&wire[start..])).is_ok());
    }
}

/// A 10 000-element array (ints and strings) encoded as one MudMode packet
/// into a reused buffer.
#[inline(never)]
fn mudmode_encode_wide(n: u64) {
    let value = corpus::wide_array(10_000);
    let mut out = Vec::new();
    for _ in 0..n {
        out.clear();
        black_box(encode_owned_packet(black_box(&value), &mut out).is_ok());
    }
}

/// 100 nested arrays encoded as one MudMode packet into a reused buffer.
#[inline(never)]
fn mudmode_encode_deep(n: u64) {
    let value = corpus::deep_nesting(100);
    let mut out = Vec::new();
    for _ in 0..n {
        out.clear();
        black_box(encode_owned_packet(black_box(&value), &mut out).is_ok());
    }
}

/// One packet holding `value` decoded per operation by a reused decoder
/// whose depth limit admits 128 levels (the default is 64).
fn mudmode_decode_value(value: &ballast_codec::mudmode::lpc::Value, n: u64) {
    let mut wire = Vec::new();
    encode_owned_packet(value, &mut wire).expect("the corpus value fits a packet");
    let limits = Limits {
        max_depth: 128,
        ..Limits::default()
    };
    let mut dec = MudModeDecoder::new(limits, MAX_RECEIVE_LEN).expect("valid limits");
    for _ in 0..n {
        let decoded = dec.decode_packet(black_box(&wire));
        assert!(decoded.is_ok(), "the corpus value decodes");
        black_box(decoded.is_ok());
    }
}

/// The 10 000-element array (ints and strings) decoded from its packet.
#[inline(never)]
fn mudmode_decode_wide(n: u64) {
    mudmode_decode_value(&corpus::wide_array(10_000), n);
}

/// The 100 nested arrays decoded from their packet.
#[inline(never)]
fn mudmode_decode_deep(n: u64) {
    mudmode_decode_value(&corpus::deep_nesting(100), n);
}

const FRAMES: usize = 4096;

/// One 64-byte length-prefixed frame per iteration; both sides refill the
/// same kind of buffer when it runs dry, so the setup is equal.
#[inline(never)]
fn frames_ballast(n: u64) {
    let wire = corpus::frames_64(FRAMES);
    let mut buf = BytesMut::with_capacity(wire.len());
    let mut dec = FrameDecoder::new(FrameConfig::default());
    let mut at = 0;
    for _ in 0..n {
        if at == buf.len() {
            buf.clear();
            buf.extend_from_slice(&wire);
            at = 0;
        }
        match dec.decode_frame(black_box(&buf[at..])) {
            Ok((payload, used)) => {
                black_box(payload.len());
                at += used;
            }
            Err(_) => at = buf.len(),
        }
    }
}

#[inline(never)]
fn frames_tokio_util(n: u64) {
    let wire = corpus::frames_64(FRAMES);
    let mut buf = BytesMut::with_capacity(wire.len());
    let mut dec = LengthDelimitedCodec::new();
    for _ in 0..n {
        if buf.is_empty() {
            buf.extend_from_slice(&wire);
        }
        match dec.decode(black_box(&mut buf)) {
            Ok(Some(f)) => drop(black_box(f)),
            _ => buf.clear(),
        }
    }
}
