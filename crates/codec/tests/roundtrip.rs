//! decode(encode(x)) == x for every encoder/decoder pair.

use std::borrow::Cow;

use ballast_codec::frame::{Endian, FrameConfig, FrameDecoder, LengthWidth};
use ballast_codec::mudmode::i3::Payload;
use ballast_codec::mudmode::lpc::{self, Limits, Value, decode};
use ballast_codec::mudmode::{MudModeDecoder, encode_i3_packet, encode_owned_packet};
use ballast_codec::stream::{Decode, StreamBuffer};
use ballast_codec::telnet::{self, RecordDecoder, RecordItem, TelnetEvent, TelnetParser};
use ballast_codec::tn3270::ebcdic::ScreenChar;
use ballast_codec::tn3270::tn3270e::{DataType, Header, Message};
use ballast_codec::tn3270::{
    AddressMode, CodePage, Command, ExtendedAttribute, FieldAttribute, Order, Outbound,
    OutboundParser, RecordBuilder, ScreenSize, Wcc, decode_address, encode_address,
};
use proptest::prelude::*;

fn lpc_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        proptest::collection::vec(1u8..=255, 0..12).prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((inner.clone(), inner), 0..4).prop_map(Value::Mapping),
        ]
    })
}

/// The I3 packet types `i3::Payload` reads into typed fields or keeps as
/// its own raw array.
const KNOWN_I3_KINDS: [&str; 12] = [
    "tell",
    "emoteto",
    "who-req",
    "who-reply",
    "finger-req",
    "finger-reply",
    "locate-req",
    "locate-reply",
    "channel-m",
    "mudlist",
    "startup-req-3",
    "error",
];

fn lpc_text() -> impl Strategy<Value = Value> + Clone {
    proptest::collection::vec(1u8..=255, 0..12).prop_map(Value::Str)
}

fn lpc_int() -> impl Strategy<Value = Value> + Clone {
    any::<i64>().prop_map(Value::Int)
}

/// A type and the fields after the envelope of a valid I3 packet: every
/// known type (the error packet's last field sometimes absent), or a type
/// no one knows with any fields.
fn i3_payload() -> impl Strategy<Value = (String, Vec<Value>)> {
    let t = lpc_text;
    let typed = |kind: &'static str, fields: BoxedStrategy<Vec<Value>>| {
        fields.prop_map(move |f| (kind.to_owned(), f)).boxed()
    };
    let who_user =
        (t(), lpc_int(), proptest::option::of(lpc_value())).prop_map(|(name, idle, extra)| {
            Value::Array([name, idle].into_iter().chain(extra).collect())
        });
    let mud = (t(), prop_oneof![Just(Value::Int(0)), lpc_value()]);
    proptest::strategy::Union::new([
        typed("tell", (t(), t()).prop_map(|(v, m)| vec![v, m]).boxed()),
        typed("emoteto", (t(), t()).prop_map(|(v, m)| vec![v, m]).boxed()),
        typed("who-req", Just(vec![]).boxed()),
        typed(
            "who-reply",
            proptest::collection::vec(who_user, 0..4)
                .prop_map(|u| vec![Value::Array(u)])
                .boxed(),
        ),
        typed("finger-req", t().prop_map(|u| vec![u]).boxed()),
        typed(
            "finger-reply",
            proptest::collection::vec(prop_oneof![t(), lpc_int()], 9).boxed(),
        ),
        typed("locate-req", t().prop_map(|u| vec![u]).boxed()),
        typed(
            "locate-reply",
            (t(), t(), lpc_int(), prop_oneof![t(), Just(Value::Int(0))])
                .prop_map(|(m, v, i, s)| vec![m, v, i, s])
                .boxed(),
        ),
        typed(
            "channel-m",
            (t(), t(), t()).prop_map(|(c, v, m)| vec![c, v, m]).boxed(),
        ),
        typed(
            "mudlist",
            (lpc_int(), proptest::collection::vec(mud, 0..4))
                .prop_map(|(id, muds)| vec![id, Value::Mapping(muds)])
                .boxed(),
        ),
        typed(
            "startup-req-3",
            proptest::collection::vec(lpc_value(), 14).boxed(),
        ),
        typed(
            "error",
            (t(), t(), proptest::option::of(lpc_value()))
                .prop_map(|(c, m, p)| [c, m].into_iter().chain(p).collect())
                .boxed(),
        ),
        (
            "[a-z-]{1,12}"
                .prop_filter("an unknown type", |k| !KNOWN_I3_KINDS.contains(&k.as_str())),
            proptest::collection::vec(lpc_value(), 0..4),
        )
            .boxed(),
    ])
}

proptest! {
    #[test]
    fn telnet_record_round_trips(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut wire = Vec::new();
        telnet::encode_record(&data, &mut wire);
        let (item, used) = RecordDecoder::default().decode_frame(&wire).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(item, RecordItem::Record(Cow::Owned(data)));
    }

    #[test]
    fn telnet_data_round_trips_through_events(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut wire = Vec::new();
        telnet::encode_data(&data, &mut wire);
        let mut back = Vec::new();
        for ev in TelnetParser::default().events(&wire) {
            match ev.unwrap() {
                TelnetEvent::Data(d) => back.extend_from_slice(d),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(back, data);
    }

    #[test]
    fn telnet_subnegotiation_round_trips(option: u8, body in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut wire = Vec::new();
        telnet::encode_subnegotiation(option, &body, &mut wire);
        let (ev, used) = TelnetParser::default().next_event(&wire).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(ev, TelnetEvent::Subnegotiation { option, body: Cow::Owned(body) });
    }

    #[test]
    fn frame_round_trips_for_any_layout(
        width in prop_oneof![Just(LengthWidth::U8), Just(LengthWidth::U16), Just(LengthWidth::U32), Just(LengthWidth::U64)],
        little: bool,
        adjustment in -8i64..8,
        prefix in proptest::collection::vec(any::<u8>(), 0..4),
        trailer in prop_oneof![Just(&b""[..]), Just(&b"\0"[..]), Just(&b"\r\n"[..])],
        payload in proptest::collection::vec(any::<u8>(), 1..200),
    ) {
        let cfg = FrameConfig {
            length_width: width,
            endian: if little { Endian::Little } else { Endian::Big },
            length_adjustment: adjustment,
            header_offset: prefix.len(),
            trailer,
            ..FrameConfig::default()
        };
        let mut wire = Vec::new();
        if cfg.encode(&prefix, &payload, &mut wire).is_ok() {
            let (frame, used) = FrameDecoder::new(cfg).decode_frame(&wire).unwrap();
            prop_assert_eq!(frame, &payload[..]);
            prop_assert_eq!(used, wire.len());
        }
    }

    #[test]
    fn stream_buffer_yields_the_same_frames_whatever_the_split(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..50), 1..8),
        chunk in 1usize..20,
    ) {
        let cfg = FrameConfig::default();
        let mut wire = Vec::new();
        for p in &payloads {
            cfg.encode(&[], p, &mut wire).unwrap();
        }
        let mut stream = StreamBuffer::new(FrameDecoder::new(cfg));
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            stream.feed(piece).unwrap();
            while let Some(f) = stream.next_frame().unwrap() {
                got.push(f.to_vec());
            }
        }
        prop_assert_eq!(got, payloads);
        prop_assert_eq!(stream.buffered(), 0);
    }

    #[test]
    fn lpc_value_round_trips(v in lpc_value()) {
        let mut text = Vec::new();
        v.encode(&mut text).unwrap();
        let back = decode(&text, Limits::default()).unwrap();
        prop_assert_eq!(&back, &v);
        let mut wire = Vec::new();
        encode_owned_packet(&v, &mut wire).unwrap();
        let mut dec = MudModeDecoder::default();
        let (decoded, used) = dec.decode_packet(&wire).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(decoded.to_owned_value(), v.clone());
        let mut again = Vec::new();
        decoded.encode(&mut again).unwrap();
        prop_assert_eq!(again, text, "the view encodes like the owned value");
    }

    #[test]
    fn a_reused_decoder_reads_every_packet_of_a_chunked_stream(
        values in proptest::collection::vec(lpc_value(), 1..8),
        chunk in 1usize..64,
    ) {
        let mut wire = Vec::new();
        for v in &values {
            encode_owned_packet(v, &mut wire).unwrap();
        }
        let mut stream = StreamBuffer::new(MudModeDecoder::default());
        let mut values_decoder = lpc::Decoder::default();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            stream.feed(piece).unwrap();
            while let Some(body) = stream.next_frame().unwrap() {
                got.push(values_decoder.decode(body).unwrap().to_owned_value());
            }
        }
        prop_assert_eq!(got, values);
    }

    /// Routers forward packets they decode; every packet, of a known type
    /// or not, with or without fields a newer driver added, must re-encode
    /// to the frame it came in.
    #[test]
    fn i3_packets_re_encode_to_the_same_frame(
        (kind, payload) in i3_payload(),
        ttl in 0i64..10,
        user in proptest::option::of("[a-z]{1,8}"),
        target_user in proptest::option::of("[a-z]{1,8}"),
        extra in proptest::collection::vec(lpc_value(), 0..3),
    ) {
        let opt = |u: Option<String>| u.map_or(Value::Int(0), |u| Value::from(u.as_str()));
        let mut items = vec![Value::from(kind.as_str()), Value::Int(ttl), Value::from("A"), opt(user), Value::from("B"), opt(target_user)];
        // Fields the typed payload reads; the error packet's last one may
        // be absent, and then an extra field takes its place.
        let read = match kind.as_str() {
            "error" => 3,
            "finger-reply" | "startup-req-3" => payload.len() + extra.len(),
            k if KNOWN_I3_KINDS.contains(&k) => payload.len(),
            _ => payload.len() + extra.len(),
        };
        let extra_fields = (payload.len() + extra.len()).saturating_sub(read);
        items.extend(payload);
        items.extend(extra);
        let mut wire = Vec::new();
        encode_owned_packet(&Value::Array(items), &mut wire).unwrap();
        let mut dec = MudModeDecoder::default();
        let (packet, used) = dec.decode_i3(&wire).unwrap();
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(packet.kind, kind.as_bytes());
        prop_assert_eq!(
            matches!(packet.payload, Payload::Unknown(_)),
            !KNOWN_I3_KINDS.contains(&kind.as_str())
        );
        prop_assert_eq!(packet.extra_fields.len(), extra_fields);
        let mut again = Vec::new();
        encode_i3_packet(&packet, &mut again).unwrap();
        prop_assert_eq!(again.escape_ascii().to_string(), wire.escape_ascii().to_string());
    }

    #[test]
    fn ebcdic_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..256), p1047: bool) {
        let page = if p1047 { CodePage::Cp1047 } else { CodePage::Cp037 };
        prop_assert_eq!(page.encode_str(&page.decode_str(&bytes)), bytes);
    }

    #[test]
    fn latin1_text_round_trips(chars in proptest::collection::vec(0u32..256, 0..64), p1047: bool) {
        let page = if p1047 { CodePage::Cp1047 } else { CodePage::Cp037 };
        let s: String = chars.into_iter().filter_map(char::from_u32).collect();
        prop_assert_eq!(page.decode_str(&page.encode_str(&s)), s);
    }

    #[test]
    fn addresses_round_trip(a in 0u16..0x4000, sixteen: bool, b in any::<u16>()) {
        prop_assert_eq!(decode_address(encode_address(a, AddressMode::TwelveFourteen).unwrap(), AddressMode::TwelveFourteen), a);
        if sixteen {
            prop_assert_eq!(decode_address(encode_address(b, AddressMode::Sixteen).unwrap(), AddressMode::Sixteen), b);
        }
    }

    #[test]
    fn tn3270e_header_round_trips(dt in 0u8..9, req: u8, resp: u8, seq: u16) {
        let h = Header { data_type: DataType::from_byte(dt).unwrap(), request_flag: req, response_flag: resp, seq_number: seq };
        let bytes = h.to_bytes();
        prop_assert_eq!(Header::parse(&bytes).unwrap(), (h, &[][..]));
    }

    #[test]
    fn tn3270e_device_type_round_trips(ty in "[A-Z0-9-]{1,20}", lu in proptest::option::of("[A-Z0-9]{1,8}")) {
        let m = Message::DeviceTypeRequest { device_type: ty.as_bytes(), connect: lu.as_deref().map(str::as_bytes), associate: None };
        let mut body = Vec::new();
        m.encode(&mut body);
        prop_assert_eq!(Message::decode(&body).unwrap(), m);
    }
}

/// One host-side builder step and the order it must parse back to.
#[derive(Debug, Clone)]
enum Step {
    Sba(u16, u16),
    Sf(u8),
    Sfe(u8, u8, u8),
    Sa(u8, u8),
    Text(Vec<u8>),
    Ic,
    Pt,
    Ra(u16, u16, u8),
    Eua(u16, u16),
    Ge(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u16..24, 0u16..80).prop_map(|(r, c)| Step::Sba(r, c)),
        (0u8..64).prop_map(Step::Sf),
        (0u8..64, 0x41u8..0x47, any::<u8>()).prop_map(|(a, k, v)| Step::Sfe(a, k, v)),
        (0x41u8..0x47, any::<u8>()).prop_map(|(k, v)| Step::Sa(k, v)),
        proptest::collection::vec(0x40u8..=0xFF, 1..40).prop_map(Step::Text),
        Just(Step::Ic),
        Just(Step::Pt),
        (0u16..24, 0u16..80, 0x40u8..=0xFF).prop_map(|(r, c, ch)| Step::Ra(r, c, ch)),
        (0u16..24, 0u16..80).prop_map(|(r, c)| Step::Eua(r, c)),
        any::<u8>().prop_map(Step::Ge),
    ]
}

fn expected(steps: &[Step]) -> Vec<Order<'_>> {
    let s = ScreenSize::MODEL_2;
    let addr = |r: u16, c: u16| s.address(r, c).unwrap();
    let mut out: Vec<Order<'_>> = Vec::new();
    for st in steps {
        out.push(match st {
            Step::Sba(r, c) => Order::SetBufferAddress(addr(*r, *c)),
            Step::Sf(a) => Order::StartField(FieldAttribute::from_byte(*a)),
            Step::Sfe(..) => continue,
            Step::Sa(k, v) => Order::SetAttribute(ExtendedAttribute::from_pair(*k, *v)),
            Step::Text(t) => Order::Text(t),
            Step::Ic => Order::InsertCursor,
            Step::Pt => Order::ProgramTab,
            Step::Ra(r, c, ch) => Order::RepeatToAddress {
                address: addr(*r, *c),
                ch: ScreenChar::Base(*ch),
            },
            Step::Eua(r, c) => Order::EraseUnprotectedToAddress(addr(*r, *c)),
            Step::Ge(b) => Order::GraphicEscape(*b),
        });
    }
    out
}

proptest! {
    #[test]
    fn record_builder_output_parses_back(steps in proptest::collection::vec(step(), 0..30)) {
        // Adjacent text steps merge into one run; keep them apart with IC.
        let mut separated = Vec::new();
        for s in steps {
            if matches!((&s, separated.last()), (Step::Text(_), Some(Step::Text(_)))) {
                separated.push(Step::Ic);
            }
            separated.push(s);
        }
        let mut b = RecordBuilder::new(Command::Write, Wcc(0xC3), ScreenSize::MODEL_2);
        for s in &separated {
            b = match s {
                Step::Sba(r, c) => b.sba(*r, *c),
                Step::Sf(a) => b.start_field(FieldAttribute::from_byte(*a)),
                Step::Sfe(a, k, v) => b.start_field_extended(FieldAttribute::from_byte(*a), &[ExtendedAttribute::from_pair(*k, *v)]),
                Step::Sa(k, v) => b.set_attribute(ExtendedAttribute::from_pair(*k, *v)),
                Step::Text(t) => b.text(t),
                Step::Ic => b.insert_cursor(),
                Step::Pt => b.program_tab(),
                Step::Ra(r, c, ch) => b.repeat_to(*r, *c, ScreenChar::Base(*ch)),
                Step::Eua(r, c) => b.erase_unprotected_to(*r, *c),
                Step::Ge(g) => b.graphic_escape(*g),
            };
        }
        let rec = b.finish().unwrap();
        let Outbound::Write { orders, .. } = OutboundParser::default().parse(&rec).unwrap() else {
            panic!("write expected");
        };
        let got: Vec<Order<'_>> = orders
            .map(Result::unwrap)
            .filter(|o| !matches!(o, Order::StartFieldExtended(_)))
            .collect();
        prop_assert_eq!(got, expected(&separated));
    }
}
