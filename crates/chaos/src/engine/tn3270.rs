//! The TN3270-aware stages: `inject` and `truncate_record`. A record ends
//! at IAC EOR (`FF EF`); `FF FF` is an escaped data byte and any other
//! `FF x` a telnet command inside the record. The scanner's state (an IAC
//! seen at the end of a chunk, the record count, the position in the
//! record) is carried across chunks, so a boundary split between `FF` and
//! `EF` is still found.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::{Item, Piece, StageState, push_clamped};
use crate::toxic::{InjectPosition, ToxicKind};

/// Telnet IAC.
const IAC: u8 = 0xFF;
/// Telnet EOR (end of record, RFC 885).
const EOR: u8 = 0xEF;

/// The injected bytes: `data` repeated `repeat` times.
fn payload(data: &Bytes, repeat: u64) -> Bytes {
    if repeat <= 1 {
        return data.clone();
    }
    let n = usize::try_from(repeat).unwrap_or(1);
    Bytes::from(data.repeat(n))
}

/// A protocol toxic's stage on a data chunk.
pub(super) fn data_stage(
    st: &mut StageState,
    kind: &ToxicKind,
    at: Duration,
    d: Bytes,
    out: &mut Vec<Item>,
) {
    match kind {
        ToxicKind::Inject {
            data,
            position,
            every,
            repeat,
        } => inject_data(st, (data, *position, *every, *repeat), at, d, out),
        ToxicKind::TruncateRecord { keep, every } => {
            truncate_data(st, (*keep, *every), at, &d, out);
        }
        _ => push_clamped(st, at, Piece::Data(d), out),
    }
}

/// `inject` on a data chunk.
fn inject_data(
    st: &mut StageState,
    (data, position, every, repeat): (&Bytes, InjectPosition, u64, u64),
    at: Duration,
    mut d: Bytes,
    out: &mut Vec<Item>,
) {
    match position {
        InjectPosition::First => {
            if !st.done {
                st.done = true;
                push_clamped(st, at, Piece::Data(payload(data, repeat)), out);
            }
            push_clamped(st, at, Piece::Data(d), out);
        }
        InjectPosition::AfterClose => push_clamped(st, at, Piece::Data(d), out),
        InjectPosition::AfterRecord => {
            // `i` indexes the part of `d` not yet pushed.
            let mut i = 0;
            while i < d.len() {
                let b = d[i];
                i += 1;
                if !boundary(st, b) {
                    continue;
                }
                st.records += 1;
                if st.records.is_multiple_of(every) {
                    let head = d.split_to(i);
                    i = 0;
                    push_clamped(st, at, Piece::Data(head), out);
                    push_clamped(st, at, Piece::Data(payload(data, repeat)), out);
                }
            }
            if !d.is_empty() {
                push_clamped(st, at, Piece::Data(d), out);
            }
        }
    }
}

/// `inject` on a close (EOF): late data for `after_close`, and `first`
/// on a stream that closed before any byte.
pub(super) fn inject_control(
    st: &mut StageState,
    (data, position, repeat): (&Bytes, InjectPosition, u64),
    at: Duration,
    piece: Piece,
    out: &mut Vec<Item>,
) {
    let late = matches!(piece, Piece::Eof | Piece::Close)
        && (position == InjectPosition::AfterClose || position == InjectPosition::First);
    if late && !st.done {
        st.done = true;
        push_clamped(st, at, Piece::Data(payload(data, repeat)), out);
    }
    push_clamped(st, at, piece, out);
}

/// Feeds one byte to the record scanner; true when it ends a record.
fn boundary(st: &mut StageState, b: u8) -> bool {
    if st.iac {
        st.iac = false;
        b == EOR
    } else {
        st.iac = b == IAC;
        false
    }
}

/// `truncate_record` on a data chunk: bytes of a truncated record past
/// `keep` are dropped; an IAC is held until the next byte says what it is.
fn truncate_data(
    st: &mut StageState,
    (keep, every): (u64, u64),
    at: Duration,
    d: &Bytes,
    out: &mut Vec<Item>,
) {
    let mut kept = BytesMut::with_capacity(d.len() + 1);
    for &b in d {
        if !st.iac {
            if b == IAC {
                st.iac = true;
            } else {
                keep_bytes(st, keep, every, &[b], &mut kept);
            }
            continue;
        }
        st.iac = false;
        if b == EOR {
            // The terminator always passes; the next record starts.
            kept.extend_from_slice(&[IAC, EOR]);
            st.records += 1;
            st.record_pos = 0;
        } else {
            // An escaped FF or a command: kept or dropped whole.
            keep_bytes(st, keep, every, &[IAC, b], &mut kept);
        }
    }
    if !kept.is_empty() {
        push_clamped(st, at, Piece::Data(kept.freeze()), out);
    }
}

/// Appends `bytes` (one unit) when the record is not truncated or still
/// within `keep`.
fn keep_bytes(st: &mut StageState, keep: u64, every: u64, bytes: &[u8], kept: &mut BytesMut) {
    let truncated = (st.records + 1).is_multiple_of(every);
    if !truncated || st.record_pos < keep {
        kept.extend_from_slice(bytes);
    }
    st.record_pos += bytes.len() as u64;
}

/// `truncate_record` on a close: a held IAC goes out first (as it would
/// have, had the stream gone on).
pub(super) fn truncate_control(
    st: &mut StageState,
    (keep, every): (u64, u64),
    at: Duration,
    piece: Piece,
    out: &mut Vec<Item>,
) {
    if st.iac && matches!(piece, Piece::Eof | Piece::Close) {
        st.iac = false;
        let mut kept = BytesMut::new();
        keep_bytes(st, keep, every, &[IAC], &mut kept);
        if !kept.is_empty() {
            push_clamped(st, at, Piece::Data(kept.freeze()), out);
        }
    }
    push_clamped(st, at, piece, out);
}
