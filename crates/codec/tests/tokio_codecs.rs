//! `tokio_util::codec` impls (feature `tokio`).
#![cfg(feature = "tokio")]

use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::mudmode::MudModeDecoder;
use ballast_codec::mudmode::lpc::Value;
use ballast_codec::telnet::{EventDecoder, OwnedRecordItem, OwnedTelnetEvent, RecordDecoder, Verb};
use bytes::{Bytes, BytesMut};
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
