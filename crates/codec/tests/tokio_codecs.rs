//! `tokio_util::codec` impls (feature `tokio`).
#![cfg(feature = "tokio")]

use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::mudmode::MudModeDecoder;
use ballast_codec::mudmode::lpc::Value;
use ballast_codec::telnet::{EventDecoder, OwnedRecordItem, OwnedTelnetEvent, RecordDecoder, Verb};
use ballast_codec::tn3270::tn3270e::{DataType, Header, Tn3270eCodec, Tn3270eItem};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

#[test]
fn frame_codec_splits_payload_off_without_copying_and_waits_for_more() {
    let mut codec = FrameDecoder::new(FrameConfig::default());
    let mut buf = BytesMut::new();
    codec
        .encode(Bytes::from_static(b"hello"), &mut buf)
        .unwrap();
    let tail = buf.split_off(6);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    buf.unsplit(tail);
    assert_eq!(
        codec.decode(&mut buf).unwrap().as_deref(),
        Some(&b"hello"[..])
    );
    assert!(buf.is_empty());
}

#[test]
fn frame_codec_rejects_oversized_header_as_invalid_data() {
    let mut codec = FrameDecoder::new(FrameConfig {
        max_frame_len: 8,
        ..FrameConfig::default()
    });
    let mut buf = BytesMut::from(&[0u8, 0, 0, 9][..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        buf.capacity() < 1024,
        "nothing reserved for the declared length"
    );
}

#[test]
fn record_codec_yields_records_and_commands() {
    let mut codec = RecordDecoder::default();
    let mut buf = BytesMut::from(&b"\xff\xfb\x19\x7d\xff\xff\xff\xef"[..]);
    assert!(matches!(
        codec.decode(&mut buf).unwrap(),
        Some(OwnedRecordItem::Telnet(_))
    ));
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(OwnedRecordItem::Record(Bytes::from_static(b"\x7d\xff")))
    );
    let mut out = BytesMut::new();
    codec.encode(&b"\x7d\xff"[..], &mut out).unwrap();
    assert_eq!(&out[..], b"\x7d\xff\xff\xff\xef");
}

#[test]
fn mudmode_codec_round_trips_owned_values() {
    let mut codec = MudModeDecoder::default();
    let v = Value::Array(vec![Value::from("tell"), Value::from(5)]);
    let mut buf = BytesMut::new();
    codec.encode(&v, &mut buf).unwrap();
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(v));
}

#[test]
fn event_codec_round_trips_data_commands_and_subnegotiations() {
    let events = [
        OwnedTelnetEvent::Data(Bytes::from_static(b"hi")),
        OwnedTelnetEvent::Negotiate {
            verb: Verb::Do,
            option: 24,
        },
        OwnedTelnetEvent::Subnegotiation {
            option: 24,
            body: Bytes::from_static(b"\x00IBM\xff"),
        },
        OwnedTelnetEvent::Data(Bytes::from_static(b"\xffx")),
    ];
    let mut codec = EventDecoder::default();
    let mut buf = BytesMut::new();
    for ev in &events {
        codec.encode(ev, &mut buf).unwrap();
    }
    let mut back = Vec::new();
    while let Some(ev) = codec.decode(&mut buf).unwrap() {
        back.push(ev);
    }
    assert_eq!(back, events);
}

#[test]
fn tn3270e_codec_round_trips_header_and_data_with_iac_bytes() {
    let mut codec = Tn3270eCodec::default();
    // A sequence number of 0xFFFF and an IAC in the data: both doubled on
    // the wire, both restored.
    let header = Header {
        data_type: DataType::Data3270,
        request_flag: 0,
        response_flag: 0x02,
        seq_number: 0xffff,
    };
    let data = [0xf5, 0xc3, 0xff, 0x11, 0x40, 0x40];
    let mut buf = BytesMut::new();
    codec.encode((header, &data[..]), &mut buf).unwrap();
    assert_eq!(
        &buf[..],
        &[
            0x00, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0xf5, 0xc3, 0xff, 0xff, 0x11, 0x40, 0x40,
            0xff, 0xef
        ][..]
    );
    let tail = buf.split_off(10);
    assert_eq!(codec.decode(&mut buf).unwrap(), None, "waits for IAC EOR");
    buf.unsplit(tail);
    let item = codec.decode(&mut buf).unwrap();
    assert_eq!(
        item,
        Some(Tn3270eItem::Record {
            header,
            data: Bytes::copy_from_slice(&data)
        })
    );
    assert!(buf.is_empty());
}

#[test]
fn tn3270e_codec_passes_telnet_commands_and_rejects_a_short_header() {
    let mut codec = Tn3270eCodec::default();
    let mut buf = BytesMut::from(&[0xff, 0xf1, 0x00, 0x00, 0xff, 0xef][..]);
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Tn3270eItem::Telnet(Bytes::from_static(&[0xff, 0xf1])))
    );
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().contains("tn3270e header cut short"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn tn3270e_codec_round_trips_any_record(
        dt in prop::sample::select(vec![0x00u8, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]),
        req: u8,
        resp: u8,
        seq: u16,
        data in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let (header, _) = Header::parse(&[dt, req, resp, (seq >> 8) as u8, seq as u8]).unwrap();
        let mut codec = Tn3270eCodec::default();
        let mut buf = BytesMut::new();
        codec.encode((header, &data[..]), &mut buf).unwrap();
        let item = codec.decode(&mut buf).unwrap();
        prop_assert_eq!(item, Some(Tn3270eItem::Record { header, data: Bytes::from(data) }));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn tn3270e_codec_never_panics_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut codec = Tn3270eCodec::default();
        let mut buf = BytesMut::from(&input[..]);
        // Bounded: every item consumes bytes; stop at the first error or wait.
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }
}
