//! The protocol toxics (ballast extensions to Toxiproxy's vocabulary):
//! `inject` and `truncate_record`, aware of TN3270 records (a record ends
//! at IAC EOR, `FF EF`; `FF FF` is an escaped `FF` byte).

use serde_json::{Map, Value, json};

use super::{Attrs, ToxicKind, attr_err};
use crate::error::Result;

/// Most bytes one `inject` writes at a time (`hex` × `repeat`).
pub const MAX_INJECT_BYTES: u64 = 256 * 1024;

/// Largest `every` of a protocol toxic.
pub const MAX_EVERY: u64 = 1 << 32;

/// Where an `inject` toxic writes its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectPosition {
    /// `after_record`: after every `every`-th record's IAC EOR.
    AfterRecord,
    /// `first`: once, before the stream's first byte.
    First,
    /// `after_close`: once the source closed, then the close goes on
    /// ("late data").
    AfterClose,
}

impl InjectPosition {
    /// Every position with its attribute value.
    pub const ALL: [(&'static str, Self); 3] = [
        ("after_record", Self::AfterRecord),
        ("first", Self::First),
        ("after_close", Self::AfterClose),
    ];

    /// The attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Self::AfterRecord => "after_record",
            Self::First => "first",
            Self::AfterClose => "after_close",
        }
    }
}

/// `bytes` as lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Hex text (whitespace ignored) as bytes.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok()))
        .collect::<Option<_>>()?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    Some(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

fn every(a: &Attrs<'_>) -> Result<u64> {
    if !a.0.contains_key("every") {
        return Ok(1);
    }
    match a.int("every", MAX_EVERY)? {
        0 => Err(attr_err("every", "must be at least 1")),
        n => Ok(n),
    }
}

/// An `inject` from its attributes.
pub(super) fn inject(a: &Attrs<'_>) -> Result<ToxicKind> {
    let data = match a.0.get("hex") {
        Some(Value::String(s)) => from_hex(s)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| attr_err("hex", "must be an even number of hex digits, at least 2"))?,
        _ => return Err(attr_err("hex", "must be a string of hex digits")),
    };
    let position = match a.0.get("position") {
        None | Some(Value::Null) => InjectPosition::AfterRecord,
        Some(Value::String(s)) => InjectPosition::ALL
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, p)| *p)
            .ok_or_else(|| attr_err("position", "must be after_record, first or after_close"))?,
        Some(_) => {
            return Err(attr_err(
                "position",
                "must be after_record, first or after_close",
            ));
        }
    };
    let repeat = if a.0.contains_key("repeat") {
        a.int("repeat", MAX_INJECT_BYTES)?
    } else {
        1
    };
    if repeat == 0 {
        return Err(attr_err("repeat", "must be at least 1"));
    }
    if (data.len() as u64).saturating_mul(repeat) > MAX_INJECT_BYTES {
        return Err(attr_err(
            "repeat",
            "hex × repeat must be at most 262144 bytes",
        ));
    }
    Ok(ToxicKind::Inject {
        data: bytes::Bytes::from(data),
        position,
        every: every(a)?,
        repeat,
    })
}

/// A `truncate_record` from its attributes.
pub(super) fn truncate_record(a: &Attrs<'_>) -> Result<ToxicKind> {
    Ok(ToxicKind::TruncateRecord {
        keep: a.int("keep", super::MAX_SIZE_BYTES)?,
        every: every(a)?,
    })
}

/// The attributes of a protocol toxic, as the API shows them.
pub(super) fn attributes(kind: &ToxicKind) -> Map<String, Value> {
    let v = match kind {
        ToxicKind::Inject {
            data,
            position,
            every,
            repeat,
        } => json!({
            "hex": to_hex(data), "position": position.name(), "every": every, "repeat": repeat
        }),
        ToxicKind::TruncateRecord { keep, every } => json!({"keep": keep, "every": every}),
        _ => json!({}),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toxic::Toxic;

    #[test]
    fn inject_round_trips_through_json_with_defaults() {
        let t =
            Toxic::from_json_value(&json!({"type": "inject", "attributes": {"hex": "FF EF 00"}}))
                .unwrap();
        assert_eq!(
            t.kind,
            ToxicKind::Inject {
                data: bytes::Bytes::from_static(&[0xFF, 0xEF, 0x00]),
                position: InjectPosition::AfterRecord,
                every: 1,
                repeat: 1
            }
        );
        assert_eq!(Toxic::from_json_value(&t.to_json()).unwrap(), t);
        assert_eq!(t.to_json()["attributes"]["hex"], "ffef00");
    }

    #[test]
    fn bad_protocol_attributes_are_refused() {
        for attrs in [
            json!({}),
            json!({"hex": "f"}),
            json!({"hex": "zz"}),
            json!({"hex": ""}),
            json!({"hex": "00", "position": "middle"}),
            json!({"hex": "00", "every": 0}),
            json!({"hex": "00", "repeat": 0}),
            json!({"hex": "0000", "repeat": 200_000}),
        ] {
            let v = json!({"type": "inject", "attributes": attrs});
            assert!(Toxic::from_json_value(&v).is_err(), "{v}");
        }
        let v = json!({"type": "truncate_record", "attributes": {"keep": 3, "every": 0}});
        assert!(Toxic::from_json_value(&v).is_err());
        let v = json!({"type": "truncate_record", "attributes": {"keep": 3}});
        let t = Toxic::from_json_value(&v).unwrap();
        assert_eq!(t.kind, ToxicKind::TruncateRecord { keep: 3, every: 1 });
        assert_eq!(Toxic::from_json_value(&t.to_json()).unwrap(), t);
    }
}
