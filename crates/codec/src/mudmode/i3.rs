//! I3 packets: the six-field envelope and typed payloads.
//!
//! Every I3 packet is an LPC array
//! `({ type, ttl, originator mud, originator user, target mud, target user,
//! … })`; user and target fields are `0` when they do not apply. Known
//! types decode into a typed [`Payload`]; any other type is kept as
//! [`Payload::Unknown`] with its raw fields, never rejected.
//!
//! Routers relay packets between muds, and newer drivers add fields, so a
//! decoded packet re-encodes with the fields it was read from: fields after
//! those its type defines are kept in [`Packet::extra_fields`], and an
//! optional field that was absent ([`Payload::Error`]'s `packet`) stays
//! absent. A packet you build from a typed payload (with
//! [`Array::EMPTY`] as its extra fields) encodes canonically.
//!
//! ```
//! use ballast_codec::mudmode::{lpc::Decoder, i3::Packet};
//!
//! let mut decoder = Decoder::default();
//! let body = br#"({"tell",5,"A","bob","B","carol","Bob","hi","added later",})"#;
//! let mut packet = Packet::from_value(decoder.decode(body)?)?;
//! assert_eq!(packet.extra_fields.len(), 1);
//! packet.ttl -= 1; // forward it one hop on
//! let mut out = Vec::new();
//! packet.encode(&mut out)?;
//! assert_eq!(out, br#"({"tell",4,"A","bob","B","carol","Bob","hi","added later",})"#);
//! # Ok::<(), ballast_codec::Error>(())
//! ```
//!
//! A [`Packet`] is a view like the [`ValueRef`] it was read from: strings
//! are byte slices, lists are [`Array`]/[`Mapping`] views, and reading one
//! allocates nothing.

use super::lpc::{Array, ArrayIter, Mapping, ValueRef, write_int, write_str};
use crate::error::{Error, Result};

/// A string field: a slice of the input, or of the decoder's scratch
/// buffer when the string had escapes or newlines.
pub type Text<'a> = &'a [u8];

/// The envelope and payload of one packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packet<'a> {
    /// Packet type, e.g. `tell`.
    pub kind: Text<'a>,
    /// Hops left.
    pub ttl: i64,
    /// Sending mud.
    pub originator_mud: Text<'a>,
    /// Sending user (`0` → `None`).
    pub originator_user: Option<Text<'a>>,
    /// Target mud (`0` → `None`, broadcast).
    pub target_mud: Option<Text<'a>>,
    /// Target user (`0` → `None`).
    pub target_user: Option<Text<'a>>,
    /// The fields after the envelope.
    pub payload: Payload<'a>,
    /// Fields after the ones [`payload`](Self::payload) reads, in wire
    /// order: what a newer driver added. [`encode`](Self::encode) writes
    /// them back after the payload, so a forwarded packet keeps them. Empty
    /// for payloads kept as raw arrays (they hold every field) and for
    /// packets you build ([`Array::EMPTY`]).
    pub extra_fields: Array<'a>,
}

/// One user in a who-reply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhoUser<'a> {
    /// Visible name.
    pub visname: Text<'a>,
    /// Idle seconds.
    pub idle: i64,
    /// Extra information (usually a string; `0` when absent).
    pub extra: ValueRef<'a>,
}

/// The users of a who-reply, each entry checked when the packet was read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WhoList<'a>(Array<'a>);

/// Typed packet payloads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Payload<'a> {
    /// `tell`: visible name of the sender, message.
    Tell {
        /// Sender's visible name.
        visname: Text<'a>,
        /// Message.
        message: Text<'a>,
    },
    /// `emoteto`: like tell, `$N` in the message is the sender.
    EmoteTo {
        /// Sender's visible name.
        visname: Text<'a>,
        /// Message.
        message: Text<'a>,
    },
    /// `who-req`.
    WhoReq,
    /// `who-reply`.
    WhoReply(WhoList<'a>),
    /// `finger-req`.
    FingerReq {
        /// Who to finger.
        username: Text<'a>,
    },
    /// `finger-reply`: visname, title, real name, e-mail, login time, idle,
    /// ip, level, extra. Fields a mud leaves as `0` are kept as values.
    FingerReply(Array<'a>),
    /// `locate-req`.
    LocateReq {
        /// Who to locate.
        username: Text<'a>,
    },
    /// `locate-reply`.
    LocateReply {
        /// Mud the user is on.
        mud: Text<'a>,
        /// Visible name.
        visname: Text<'a>,
        /// Idle seconds.
        idle: i64,
        /// Status (`0` → `None`).
        status: Option<Text<'a>>,
    },
    /// `channel-m`.
    ChannelM {
        /// Channel name.
        channel: Text<'a>,
        /// Sender's visible name.
        visname: Text<'a>,
        /// Message.
        message: Text<'a>,
    },
    /// `mudlist`: list id and (mud name, info array or `0` if gone).
    Mudlist {
        /// Mudlist id.
        id: i64,
        /// Muds in wire order.
        muds: Mapping<'a>,
    },
    /// `startup-req-3`: password, old mudlist id, old chanlist id, player
    /// port, tcp port, udp port, mudlib, base mudlib, driver, mud type, open
    /// status, admin e-mail, services, other data.
    StartupReq3(Array<'a>),
    /// `error`.
    Error {
        /// Error code, e.g. `unk-user`.
        code: Text<'a>,
        /// Human-readable message.
        message: Text<'a>,
        /// The packet that caused it, often `0`; `None` when the field is
        /// absent, and then [`Packet::encode`] writes none (or `0`, to keep
        /// its place, when extra fields follow).
        packet: Option<ValueRef<'a>>,
    },
    /// Any other type: the fields after the envelope, raw.
    Unknown(Array<'a>),
}

fn field_error(index: usize, expected: &'static str) -> Error {
    Error::I3Field {
        index,
        reason: expected,
    }
}

/// Reads fields in order; errors name the field's index in the packet.
struct Fields<'a> {
    it: ArrayIter<'a>,
    index: usize,
}

impl<'a> Fields<'a> {
    fn new(fields: Array<'a>, first_index: usize) -> Self {
        Self {
            it: fields.iter(),
            index: first_index,
        }
    }

    fn next(&mut self) -> (Option<ValueRef<'a>>, usize) {
        let at = self.index;
        self.index += 1;
        (self.it.next(), at)
    }

    fn text(&mut self) -> Result<Text<'a>> {
        match self.next() {
            (Some(v), i) => v.as_bytes().ok_or(field_error(i, "string expected")),
            (None, i) => Err(field_error(i, "string expected")),
        }
    }

    fn opt_text(&mut self) -> Result<Option<Text<'a>>> {
        match self.next() {
            (Some(v), _) if v.is_null() => Ok(None),
            (Some(v), i) => v
                .as_bytes()
                .map(Some)
                .ok_or(field_error(i, "string expected")),
            (None, i) => Err(field_error(i, "string expected")),
        }
    }

    fn int(&mut self) -> Result<i64> {
        let (v, i) = self.next();
        v.and_then(|v| v.as_int())
            .ok_or(field_error(i, "int expected"))
    }

    /// Any value, `None` when there are no fields left.
    fn opt_value(&mut self) -> Option<ValueRef<'a>> {
        self.next().0
    }

    /// Every field not read yet; the reader is left at the end.
    fn take_rest(&mut self) -> Array<'a> {
        let rest = self.it.as_array();
        self.index += rest.len();
        self.it = Array::EMPTY.iter();
        rest
    }
}

fn need(f: Array<'_>, n: usize, base: usize) -> Result<()> {
    if f.len() < n {
        Err(field_error(base + f.len(), "missing (too few fields)"))
    } else {
        Ok(())
    }
}

/// Number of envelope fields before the payload.
const ENVELOPE_FIELDS: usize = 6;
/// Fields a `startup-req-3` payload has at least (password … other data).
const STARTUP_REQ_3_FIELDS: usize = 14;

impl<'a> Packet<'a> {
    /// Reads a packet from a decoded value. Errors are [`Error::I3Field`],
    /// naming the index of the field that is missing or of the wrong kind.
    /// Fields after those the packet's type defines are kept in
    /// [`extra_fields`](Self::extra_fields), not rejected.
    pub fn from_value(value: ValueRef<'a>) -> Result<Self> {
        let Some(fields) = value.as_array() else {
            return Err(field_error(0, "packet array expected"));
        };
        need(fields, ENVELOPE_FIELDS, 0)?;
        let mut f = Fields::new(fields, 0);
        let kind = f.text()?;
        // Fields are read in the order written here, which is wire order.
        Ok(Self {
            kind,
            ttl: f.int()?,
            originator_mud: f.text()?,
            originator_user: f.opt_text()?,
            target_mud: f.opt_text()?,
            target_user: f.opt_text()?,
            payload: Payload::read(kind, &mut f)?,
            extra_fields: f.take_rest(),
        })
    }

    /// Appends the packet as LPC text, `({"type",ttl,…,})`: the envelope,
    /// the payload, then [`extra_fields`](Self::extra_fields). A packet
    /// read by [`from_value`](Self::from_value) and not changed is written
    /// with the same fields it was read from, so a router can forward it
    /// (with its `ttl` lowered) without dropping what it does not know.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let opt = |t: Option<Text<'_>>, out: &mut Vec<u8>| match t {
            Some(t) => write_str(t, out),
            None => {
                out.push(b'0');
                Ok(())
            }
        };
        out.extend_from_slice(b"({");
        write_str(self.kind, out)?;
        out.push(b',');
        write_int(self.ttl, out);
        out.push(b',');
        write_str(self.originator_mud, out)?;
        out.push(b',');
        opt(self.originator_user, out)?;
        out.push(b',');
        opt(self.target_mud, out)?;
        out.push(b',');
        opt(self.target_user, out)?;
        out.push(b',');
        self.payload.encode(self.extra_fields, out)?;
        out.extend_from_slice(b"})");
        Ok(())
    }
}

impl<'a> Payload<'a> {
    /// Decodes the fields after the envelope of a packet of type `kind`.
    /// Errors are [`Error::I3Field`], with indexes counted from the start of
    /// the packet. Fields after those the type defines are ignored here;
    /// [`Packet::from_value`] keeps them in [`Packet::extra_fields`].
    pub fn decode(kind: &[u8], fields: Array<'a>) -> Result<Self> {
        Self::read(kind, &mut Fields::new(fields, ENVELOPE_FIELDS))
    }

    /// Reads the fields of a `kind` payload from `f`, leaving any extra
    /// fields unread (payloads kept as raw arrays take them all).
    fn read(kind: &[u8], f: &mut Fields<'a>) -> Result<Self> {
        let p = match kind {
            b"tell" => Payload::Tell {
                visname: f.text()?,
                message: f.text()?,
            },
            b"emoteto" => Payload::EmoteTo {
                visname: f.text()?,
                message: f.text()?,
            },
            b"who-req" => Payload::WhoReq,
            b"who-reply" => Payload::WhoReply(WhoList::read(f.next())?),
            b"finger-req" => Payload::FingerReq {
                username: f.text()?,
            },
            b"finger-reply" => Payload::FingerReply(f.take_rest()),
            b"locate-req" => Payload::LocateReq {
                username: f.text()?,
            },
            b"locate-reply" => Payload::LocateReply {
                mud: f.text()?,
                visname: f.text()?,
                idle: f.int()?,
                status: f.opt_text()?,
            },
            b"channel-m" => Payload::ChannelM {
                channel: f.text()?,
                visname: f.text()?,
                message: f.text()?,
            },
            b"mudlist" => Payload::Mudlist {
                id: f.int()?,
                muds: match f.next() {
                    (Some(v), i) => v
                        .as_mapping()
                        .ok_or(field_error(i, "mudlist mapping expected"))?,
                    (None, i) => return Err(field_error(i, "mudlist mapping expected")),
                },
            },
            b"startup-req-3" => {
                let fields = f.take_rest();
                need(fields, STARTUP_REQ_3_FIELDS, ENVELOPE_FIELDS)?;
                Payload::StartupReq3(fields)
            }
            b"error" => Payload::Error {
                code: f.text()?,
                message: f.text()?,
                packet: f.opt_value(),
            },
            _ => Payload::Unknown(f.take_rest()),
        };
        Ok(p)
    }

    /// Appends the payload fields, then `extra` ones, each followed by `,`.
    fn encode(&self, extra: Array<'_>, out: &mut Vec<u8>) -> Result<()> {
        let text = |t: Text<'_>, out: &mut Vec<u8>| {
            write_str(t, out)?;
            out.push(b',');
            Ok::<(), Error>(())
        };
        let int = |i: i64, out: &mut Vec<u8>| {
            write_int(i, out);
            out.push(b',');
        };
        match *self {
            Payload::Tell { visname, message } | Payload::EmoteTo { visname, message } => {
                text(visname, out)?;
                text(message, out)?;
            }
            Payload::WhoReq => {}
            Payload::WhoReply(users) => {
                users.0.encode(out)?;
                out.push(b',');
            }
            Payload::FingerReq { username } | Payload::LocateReq { username } => {
                text(username, out)?;
            }
            Payload::LocateReply {
                mud,
                visname,
                idle,
                status,
            } => {
                text(mud, out)?;
                text(visname, out)?;
                int(idle, out);
                match status {
                    Some(s) => text(s, out)?,
                    None => int(0, out),
                }
            }
            Payload::ChannelM {
                channel,
                visname,
                message,
            } => {
                text(channel, out)?;
                text(visname, out)?;
                text(message, out)?;
            }
            Payload::Mudlist { id, muds } => {
                int(id, out);
                muds.encode(out)?;
                out.push(b',');
            }
            Payload::Error {
                code,
                message,
                packet,
            } => {
                text(code, out)?;
                text(message, out)?;
                // An absent packet is written as `0` only to keep its
                // place before extra fields.
                let place = (!extra.is_empty()).then_some(ValueRef::NULL);
                if let Some(p) = packet.or(place) {
                    write_fields(std::iter::once(p), out)?;
                }
            }
            Payload::FingerReply(f) | Payload::StartupReq3(f) | Payload::Unknown(f) => {
                write_fields(f, out)?;
            }
        }
        write_fields(extra, out)
    }
}

/// Appends each value followed by `,`.
fn write_fields<'v>(
    values: impl IntoIterator<Item = ValueRef<'v>>,
    out: &mut Vec<u8>,
) -> Result<()> {
    values.into_iter().try_for_each(|v| {
        v.encode(out)?;
        out.push(b',');
        Ok(())
    })
}

impl<'a> WhoList<'a> {
    /// Checks every entry is `({ visname, idle, … })`.
    fn read((field, index): (Option<ValueRef<'a>>, usize)) -> Result<Self> {
        let list = field
            .and_then(|v| v.as_array())
            .ok_or(field_error(index, "who list expected"))?;
        for entry in list {
            WhoUser::read(entry).ok_or(field_error(index, "who entry expected"))?;
        }
        Ok(Self(list))
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no user is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The users in wire order.
    pub fn iter(&self) -> impl Iterator<Item = WhoUser<'a>> + 'a {
        // Every entry was checked by `read`, so none is skipped.
        self.0.iter().filter_map(WhoUser::read)
    }

    /// The list as the raw LPC array.
    pub fn as_array(&self) -> Array<'a> {
        self.0
    }
}

impl<'a> WhoUser<'a> {
    fn read(entry: ValueRef<'a>) -> Option<Self> {
        let mut e = entry.as_array()?.iter();
        Some(Self {
            visname: e.next()?.as_bytes()?,
            idle: e.next()?.as_int()?,
            extra: e.next().unwrap_or(ValueRef::NULL),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mudmode::lpc::{Decoder, Limits};

    /// Decodes `body` as a packet, checks it encodes back to `body`, and
    /// hands it to `check`.
    fn round_trip(body: &[u8], check: impl FnOnce(Packet<'_>)) {
        let mut d = Decoder::new(Limits::default()).unwrap();
        let p = Packet::from_value(d.decode(body).unwrap()).unwrap();
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        assert_eq!(
            out.escape_ascii().to_string(),
            body.escape_ascii().to_string(),
            "encode(decode(x)) == x"
        );
        check(p);
    }

    #[test]
    fn tell_decodes_to_typed_fields() {
        round_trip(
            br#"({"tell",5,"MudA","bob","MudB","alice","Bob","hi there",})"#,
            |p| {
                assert_eq!(p.originator_user, Some(&b"bob"[..]));
                assert_eq!(
                    p.payload,
                    Payload::Tell {
                        visname: b"Bob",
                        message: b"hi there"
                    }
                );
            },
        );
    }

    #[test]
    fn broadcast_target_zero_is_none() {
        round_trip(
            br#"({"channel-m",5,"MudA","bob",0,0,"chat","Bob","hello",})"#,
            |p| {
                assert_eq!((p.target_mud, p.target_user), (None, None));
                assert!(matches!(p.payload, Payload::ChannelM { .. }));
            },
        );
    }

    #[test]
    fn every_typed_payload_round_trips() {
        let bodies: [&[u8]; 8] = [
            br#"({"emoteto",5,"A","b","B","c","Bob","$N waves",})"#,
            br#"({"who-req",5,"A","b","B",0,})"#,
            br#"({"who-reply",5,"B",0,"A","b",({({"Carol",30,"extra",}),}),})"#,
            br#"({"finger-req",5,"A","b","B",0,"carol",})"#,
            br#"({"locate-req",5,"A","b",0,0,"carol",})"#,
            br#"({"locate-reply",5,"B",0,"A","b","B","Carol",12,0,})"#,
            br#"({"mudlist",5,"*i4",0,"A",0,7,(["A":({-1,"1.2.3.4",4000,}),"Gone":0,]),})"#,
            br#"({"error",5,"*i4",0,"A","b","unk-user","no such user",0,})"#,
        ];
        for b in bodies {
            round_trip(b, |p| {
                assert!(!matches!(p.payload, Payload::Unknown(_)), "{p:?}");
            });
        }
    }

    /// Newer drivers add fields to known packets; a router forwarding a
    /// tell must not drop them.
    #[test]
    fn tell_with_an_extra_trailing_field_re_encodes_it() {
        round_trip(
            br#"({"tell",5,"A","bob","B","carol","Bob","hi",(["lang":"en",]),})"#,
            |p| {
                assert!(matches!(p.payload, Payload::Tell { message: b"hi", .. }));
                assert_eq!(p.extra_fields.len(), 1);
                let extra = p.extra_fields.get(0).and_then(|v| v.as_mapping());
                assert_eq!(
                    extra
                        .and_then(|m| m.get(b"lang"))
                        .and_then(|v| v.as_bytes()),
                    Some(&b"en"[..])
                );
            },
        );
    }

    #[test]
    fn who_req_with_an_extra_field_re_encodes_it() {
        round_trip(br#"({"who-req",5,"A","bob","B",0,"verbose",})"#, |p| {
            assert_eq!(p.payload, Payload::WhoReq);
            assert_eq!(
                p.extra_fields.get(0).and_then(|v| v.as_bytes()),
                Some(&b"verbose"[..])
            );
        });
    }

    #[test]
    fn error_without_its_packet_field_re_encodes_without_one() {
        round_trip(
            br#"({"error",5,"*i4",0,"A","b","unk-user","no such user",})"#,
            |p| {
                let Payload::Error { code, packet, .. } = p.payload else {
                    panic!("error expected: {p:?}")
                };
                assert_eq!((code, packet), (&b"unk-user"[..], None));
                assert!(p.extra_fields.is_empty());
            },
        );
        round_trip(
            br#"({"error",5,"*i4",0,"A","b","unk-user","gone",0,})"#,
            |p| {
                assert!(matches!(
                    p.payload,
                    Payload::Error { packet: Some(v), .. } if v.is_null()
                ));
            },
        );
    }

    #[test]
    fn a_forwarded_packet_with_a_lower_ttl_keeps_its_extra_fields() {
        let mut d = Decoder::default();
        let body = br#"({"channel-m",5,"A","bob",0,0,"chat","Bob","hi",7,"x",})"#;
        let mut p = Packet::from_value(d.decode(body).unwrap()).unwrap();
        p.ttl -= 1;
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"({"channel-m",4,"A","bob",0,0,"chat","Bob","hi",7,"x",})"#
        );
    }

    #[test]
    fn a_packet_built_from_a_typed_payload_encodes_canonically() {
        let mut p = Packet {
            kind: b"error",
            ttl: 5,
            originator_mud: b"A",
            originator_user: None,
            target_mud: Some(b"B"),
            target_user: Some(b"bob"),
            payload: Payload::Error {
                code: b"unk-user",
                message: b"no such user",
                packet: Some(ValueRef::NULL),
            },
            extra_fields: Array::EMPTY,
        };
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"({"error",5,"A",0,"B","bob","unk-user","no such user",0,})"#
        );
        // Extra fields after an absent packet: `0` keeps the packet's place.
        let mut d = Decoder::default();
        p.payload = Payload::Error {
            code: b"c",
            message: b"m",
            packet: None,
        };
        p.extra_fields = d.decode(b"({7,})").unwrap().as_array().unwrap();
        out.clear();
        p.encode(&mut out).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"({"error",5,"A",0,"B","bob","c","m",0,7,})"#
        );
    }

    #[test]
    fn who_reply_lists_its_users() {
        round_trip(
            br#"({"who-reply",5,"B",0,"A","b",({({"Carol",30,"extra",}),({"Dan",0,}),}),})"#,
            |p| {
                let Payload::WhoReply(users) = p.payload else {
                    panic!("who-reply expected: {p:?}")
                };
                let names: Vec<_> = users.iter().map(|u| (u.visname, u.idle)).collect();
                assert_eq!(names, [(&b"Carol"[..], 30), (&b"Dan"[..], 0)]);
                assert!(users.iter().nth(1).is_some_and(|u| u.extra.is_null()));
            },
        );
    }

    #[test]
    fn unknown_type_is_kept_raw_not_rejected() {
        round_trip(br#"({"auth-mud-req",5,"A",0,"B",0,42,})"#, |p| {
            let Payload::Unknown(fields) = p.payload else {
                panic!("unknown expected: {p:?}")
            };
            assert_eq!(fields.len(), 1);
            assert_eq!(fields.get(0).and_then(|v| v.as_int()), Some(42));
        });
    }

    #[test]
    fn known_type_with_wrong_field_is_an_error_naming_the_field() {
        let mut d = Decoder::default();
        let v = d
            .decode(br#"({"tell",5,"A","b","B","c",7,"msg",})"#)
            .unwrap();
        let err = Packet::from_value(v).unwrap_err();
        assert_eq!(
            err,
            Error::I3Field {
                index: 6,
                reason: "string expected"
            }
        );
        let v = d.decode(br#"({"tell",5,"A",})"#).unwrap();
        assert!(matches!(
            Packet::from_value(v).unwrap_err(),
            Error::I3Field { index: 3, .. }
        ));
        let v = d
            .decode(br#"({"who-reply",5,"B",0,"A","b",({({30,"Carol",}),}),})"#)
            .unwrap();
        assert!(matches!(
            Packet::from_value(v).unwrap_err(),
            Error::I3Field { index: 6, .. }
        ));
    }
}
