//! Arbitrary bytes never make a decoder panic; each returns a value or a
//! typed error.

use ballast_codec::frame::{Endian, FrameConfig, FrameDecoder, LengthWidth};
use ballast_codec::mudmode::MudModeDecoder;
use ballast_codec::mudmode::i3::{Packet, Payload};
use ballast_codec::mudmode::lpc::{self, Limits};
use ballast_codec::stream::{Decode, StreamBuffer};
use ballast_codec::telnet::{RecordDecoder, TelnetParser};
use ballast_codec::tn3270::query::{OutboundField, QueryReply, StructuredFields};
use ballast_codec::tn3270::tn3270e::{Header, Message, Response};
use ballast_codec::tn3270::{AddressMode, Inbound, Outbound, OutboundParser, ScreenSize};
use std::ops::ControlFlow;

use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..512)
}

/// Bytes drawn mostly from the characters LPC text is made of, so the
/// decoder gets deep into its grammar.
fn lpc_like() -> impl Strategy<Value = Vec<u8>> {
    const ALPHABET: &[u8] = b"({[]})\",:\\-.e0123456789 ";
    proptest::collection::vec(any::<u8>(), 0..256).prop_map(|v| {
        v.into_iter()
            .map(|b| {
                if b < 224 {
                    ALPHABET[usize::from(b) % ALPHABET.len()]
                } else {
                    b
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn telnet_parser_never_panics(input in bytes()) {
        for ev in (TelnetParser { max_subnegotiation_len: 64 }).events(&input) {
            let _ = ev;
        }
        let _ = RecordDecoder::default().decode_frame(&input);
    }

    #[test]
    fn outbound_3270_parser_never_panics(input in bytes(), alt: bool, sixteen: bool) {
        let parser = OutboundParser {
            alternate_active: alt,
            address_mode: if sixteen { AddressMode::Sixteen } else { AddressMode::TwelveFourteen },
            alternate: ScreenSize::MODEL_5,
            ..OutboundParser::default()
        };
        match parser.parse(&input) {
            Ok(Outbound::Write { orders, .. }) => orders.for_each(drop),
            Ok(Outbound::WriteStructuredField(fields)) => {
                for sf in fields.flatten() {
                    let _ = OutboundField::decode(sf);
                    let _ = QueryReply::decode(sf);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn inbound_3270_and_query_replies_never_panic(input in bytes()) {
        if let Ok(inbound) = Inbound::parse(&input, ScreenSize::MODEL_2, AddressMode::default()) {
            inbound.fields().for_each(drop);
            for sf in inbound.structured_fields().flatten() {
                let _ = QueryReply::decode(sf);
            }
        }
        for sf in StructuredFields::new(&input, 0).flatten() {
            let _ = QueryReply::decode(sf);
        }
    }

    #[test]
    fn tn3270e_decoders_never_panic(input in bytes()) {
        if let Ok((h, data)) = Header::parse(&input) {
            let _ = Response::decode(&h, data);
        }
        let _ = Message::decode(&input);
    }

    #[test]
    fn lpc_decoder_never_panics(input in lpc_like(), depth in 0usize..80) {
        let limits = Limits { max_depth: depth, max_elements: 500 };
        let _ = lpc::decode(&input, limits);
        let mut dec = lpc::Decoder::new(limits).unwrap();
        if let Ok(v) = dec.decode(&input) {
            let mut out = Vec::new();
            let _ = v.encode(&mut out);
            let _ = format!("{v:?}");
            if let Some(m) = v.as_mapping() {
                let _ = m.get(b"k");
            }
            if let Ok(p) = Packet::from_value(v) {
                out.clear();
                let _ = p.encode(&mut out);
                if let Payload::WhoReply(users) = p.payload {
                    users.iter().for_each(drop);
                }
            }
        }
    }

    #[test]
    fn mudmode_decoder_never_panics(body in lpc_like(), len_delta in -3i64..3, raw in bytes()) {
        let mut wire = ((body.len() as i64 + 1 + len_delta).max(0) as u32).to_be_bytes().to_vec();
        wire.extend_from_slice(&body);
        wire.push(0);
        let mut dec = MudModeDecoder::default();
        let _ = dec.decode_frame(&wire);
        let _ = dec.decode_packet(&wire);
        let _ = dec.decode_i3(&raw);
    }

    #[test]
    fn frame_decoder_never_panics(
        input in bytes(),
        width in 0usize..4,
        little: bool,
        adjustment in any::<i64>(),
        header_offset in 0usize..4,
        max in 0usize..1024,
        chunk in 1usize..64,
    ) {
        let cfg = FrameConfig {
            length_width: [LengthWidth::U8, LengthWidth::U16, LengthWidth::U32, LengthWidth::U64][width],
            endian: if little { Endian::Little } else { Endian::Big },
            length_adjustment: adjustment,
            header_offset,
            trailer: b"\n",
            max_frame_len: max.max(1),
            allow_empty: little,
        };
        let _ = FrameDecoder::new(cfg.clone()).decode_frame(&input);
        let mut stream = StreamBuffer::with_max_buffered(FrameDecoder::new(cfg), 256);
        for piece in input.chunks(chunk) {
            if stream.feed(piece).is_err() {
                break;
            }
            while let Ok(Some(_)) = stream.next_frame() {}
        }
    }

    #[test]
    fn record_stream_never_panics_and_stays_bounded(
        input in record_like(),
        chunk in 1usize..64,
        max in 1usize..128,
        stop_every in 1usize..8,
    ) {
        let decoder = RecordDecoder { max_record_len: max, ..RecordDecoder::default() };
        let mut stream = StreamBuffer::with_max_buffered(decoder, max);
        let mut handled = 0usize;
        for piece in input.chunks(chunk) {
            let result = stream.receive(piece, |item| {
                handled += 1;
                let _ = item;
                Ok::<_, ballast_codec::Error>(if handled.is_multiple_of(stop_every) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                })
            });
            if result.is_err() {
                stream.clear();
                break;
            }
            // Held (stopped) input is drained before more is read.
            for _ in 0..input.len() {
                let before = stream.buffered();
                if stream.receive(&[], |_| Ok::<_, ballast_codec::Error>(ControlFlow::Continue(()))).is_err() {
                    stream.clear();
                    break;
                }
                if stream.buffered() == before {
                    break;
                }
            }
            prop_assert!(stream.buffered() <= max, "{} bytes buffered over {max}", stream.buffered());
        }
    }
}

/// Bytes with many IACs and EORs, so records and commands are cut often.
fn record_like() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just(0xFFu8), Just(0xEF), any::<u8>()], 0..512)
}
