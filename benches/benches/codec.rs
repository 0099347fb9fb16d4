//! ballast-codec benchmarks, each peer in the same group on the same input.
//!
//! Inputs come from `ballast_benches::codec_corpus` (fixed seed). Run:
//! `cargo bench -p ballast-benches --bench codec -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use ballast_benches::codec_corpus as corpus;
use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::mudmode::MudModeDecoder;
use ballast_codec::mudmode::lpc::{self, Limits};
use ballast_codec::stream::Decode;
use ballast_codec::telnet::{TelnetEvent, TelnetParser};
use ballast_codec::tn3270::{Order, Outbound, OutboundParser};
use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

/// Parses every record and walks every order; returns the text bytes seen.
#[inline(never)]
fn parse_screens(records: &[Vec<u8>]) -> usize {
    let parser = OutboundParser::default();
    let mut text = 0;
    for rec in records {
        if let Ok(Outbound::Write { orders, .. }) = parser.parse(rec) {
            for order in orders {
                match order {
                    Ok(Order::Text(t)) => text += t.len(),
                    Ok(_) => {}
                    Err(_) => return 0,
                }
            }
        }
    }
    text
}

fn tn3270(c: &mut Criterion) {
    let records = corpus::tn3270_screens(256);
    let bytes: usize = records.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("tn3270");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse_erase_write_full_screens", |b| {
        b.iter(|| parse_screens(black_box(&records)))
    });
    g.finish();
}

#[inline(never)]
fn scan_telnet(wire: &[u8]) -> usize {
    let mut data = 0;
    for ev in TelnetParser::default().events(wire) {
        if let Ok(TelnetEvent::Data(d)) = ev {
            data += d.len();
        }
    }
    data
}

/// The floor: memchr counting IAC bytes over the same input.
#[inline(never)]
fn memchr_floor(wire: &[u8]) -> usize {
    memchr::memchr_iter(0xFF, wire).count()
}

fn telnet(c: &mut Criterion) {
    let mut g = c.benchmark_group("telnet");
    for (name, per_mille) in [("scan_no_iac", 0), ("scan_1pct_iac", 10)] {
        let wire = corpus::telnet_stream(1 << 20, per_mille);
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function(name, |b| b.iter(|| scan_telnet(black_box(&wire))));
        g.bench_function(format!("{name}_memchr_floor"), |b| {
            b.iter(|| memchr_floor(black_box(&wire)))
        });
    }
    g.finish();
}

/// Decodes every packet with one reused decoder (its tape warm after the
/// first iteration, as on a long-lived connection).
#[inline(never)]
fn decode_stream(dec: &mut MudModeDecoder, wire: &[u8]) -> usize {
    let mut rest = wire;
    let mut n = 0;
    while let Ok((v, used)) = dec.decode_packet(rest) {
        n += usize::from(!v.is_null());
        rest = &rest[used..];
    }
    n
}

/// The same packets decoded one-shot into owned `Value` trees: what
/// decoding cost when every array and mapping was a `Vec`.
#[inline(never)]
fn decode_stream_owned(wire: &[u8]) -> usize {
    let frames = MudModeDecoder::default();
    let mut rest = wire;
    let mut n = 0;
    while let Ok((body, used)) = frames.body(rest) {
        n += usize::from(lpc::decode(body, Limits::default()).is_ok());
        rest = &rest[used..];
    }
    n
}

fn mudmode(c: &mut Criterion) {
    let wire = corpus::mudlist_packets(64, 32);
    let mut g = c.benchmark_group("mudmode");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("decode_mudlist", |b| {
        let mut dec = MudModeDecoder::default();
        b.iter(|| decode_stream(&mut dec, black_box(&wire)))
    });
    g.bench_function("decode_mudlist_to_owned_values", |b| {
        b.iter(|| decode_stream_owned(black_box(&wire)))
    });
    g.throughput(Throughput::Elements(1));
    let limits = Limits {
        max_depth: 128,
        ..Limits::default()
    };
    for (name, value) in [
        ("array_10000", corpus::wide_array(10_000)),
        ("nesting_100", corpus::deep_nesting(100)),
    ] {
        let mut text = Vec::new();
        value.encode(&mut text).expect("finite values encode");
        g.bench_function(format!("{name}_decode"), |b| {
            let mut dec = lpc::Decoder::new(limits).expect("limits under the ceiling");
            b.iter(|| dec.decode(black_box(&text)).map(|v| v.is_null()))
        });
        g.bench_function(format!("{name}_encode"), |b| {
            let mut out = Vec::with_capacity(text.len());
            b.iter(|| {
                out.clear();
                black_box(&value).encode(&mut out).map(|()| out.len())
            })
        });
    }
    g.finish();
}

#[inline(never)]
fn ballast_frames(wire: &[u8]) -> usize {
    let mut dec = FrameDecoder::new(FrameConfig::default());
    let mut rest = wire;
    let mut n = 0;
    while let Ok((payload, used)) = dec.decode_frame(rest) {
        n += payload.len();
        rest = &rest[used..];
    }
    n
}

fn frames(c: &mut Criterion) {
    const COUNT: usize = 4096;
    let wire = corpus::frames_64(COUNT);
    let mut g = c.benchmark_group("frames_64B");
    g.throughput(Throughput::Elements(COUNT as u64));
    g.bench_function("ballast_slice_decoder", |b| {
        b.iter(|| ballast_frames(black_box(&wire)))
    });
    g.bench_function("ballast_tokio_decoder", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut dec = FrameDecoder::new(FrameConfig::default());
                let mut n = 0;
                while let Ok(Some(f)) = dec.decode(&mut buf) {
                    n += f.len();
                }
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("tokio_util_length_delimited", |b| {
        b.iter_batched(
            || BytesMut::from(&wire[..]),
            |mut buf| {
                let mut dec = LengthDelimitedCodec::new();
                let mut n = 0;
                while let Ok(Some(f)) = dec.decode(&mut buf) {
                    n += f.len();
                }
                n
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(codec, tn3270, telnet, mudmode, frames);
criterion_main!(codec);
