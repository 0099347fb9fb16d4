//! I3 packets: the six-field envelope and typed payloads.
//!
//! Every I3 packet is an LPC array
//! `({ type, ttl, originator mud, originator user, target mud, target user,
//! … })`; user and target fields are `0` when they do not apply. Known
//! types decode into a typed [`Payload`]; any other type is kept as
//! [`Payload::Unknown`] with its raw fields, never rejected.
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
        /// The packet that caused it (or `0`).
        packet: ValueRef<'a>,
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

    /// Any value; a missing one reads as `0`.
    fn value(&mut self) -> ValueRef<'a> {
        self.next().0.unwrap_or(ValueRef::NULL)
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

impl<'a> Packet<'a> {
    /// Reads a packet from a decoded value. Errors are [`Error::I3Field`],
    /// naming the index of the field that is missing or of the wrong kind.
    pub fn from_value(value: ValueRef<'a>) -> Result<Self> {
        let Some(fields) = value.as_array() else {
            return Err(field_error(0, "packet array expected"));
        };
        need(fields, ENVELOPE_FIELDS, 0)?;
        let mut f = Fields::new(fields, 0);
        let kind = f.text()?;
        Ok(Self {
            kind,
            ttl: f.int()?,
            originator_mud: f.text()?,
            originator_user: f.opt_text()?,
            target_mud: f.opt_text()?,
            target_user: f.opt_text()?,
            payload: Payload::decode(kind, fields.skip(ENVELOPE_FIELDS))?,
        })
    }

    /// Appends the packet as LPC text, `({"type",ttl,…,})`.
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
        self.payload.encode(out)?;
        out.extend_from_slice(b"})");
        Ok(())
    }
}

impl<'a> Payload<'a> {
    /// Decodes the fields after the envelope of a packet of type `kind`.
    /// Errors are [`Error::I3Field`], with indexes counted from the start of
    /// the packet.
    pub fn decode(kind: &[u8], fields: Array<'a>) -> Result<Self> {
        let mut f = Fields::new(fields, ENVELOPE_FIELDS);
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
            b"finger-reply" => Payload::FingerReply(fields),
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
            b"mudlist" => {
                let id = f.int()?;
                match f.next() {
                    (Some(v), i) => Payload::Mudlist {
                        id,
                        muds: v
                            .as_mapping()
                            .ok_or(field_error(i, "mudlist mapping expected"))?,
                    },
                    (None, i) => return Err(field_error(i, "mudlist mapping expected")),
                }
            }
            b"startup-req-3" => {
                need(fields, 14, ENVELOPE_FIELDS)?;
                Payload::StartupReq3(fields)
            }
            b"error" => Payload::Error {
                code: f.text()?,
                message: f.text()?,
                packet: f.value(),
            },
            _ => Payload::Unknown(fields),
        };
        Ok(p)
    }

    /// Appends the payload fields, each followed by `,`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let texts = |ts: &[Text<'_>], out: &mut Vec<u8>| {
            ts.iter().try_for_each(|t| {
                write_str(t, out)?;
                out.push(b',');
                Ok::<(), Error>(())
            })
        };
        let int = |i: i64, out: &mut Vec<u8>| {
            write_int(i, out);
            out.push(b',');
        };
        match *self {
            Payload::Tell { visname, message } | Payload::EmoteTo { visname, message } => {
                texts(&[visname, message], out)?;
            }
            Payload::WhoReq => {}
            Payload::WhoReply(users) => {
                users.0.encode(out)?;
                out.push(b',');
            }
            Payload::FingerReq { username } | Payload::LocateReq { username } => {
                texts(&[username], out)?;
            }
            Payload::LocateReply {
                mud,
                visname,
                idle,
                status,
            } => {
                texts(&[mud, visname], out)?;
                int(idle, out);
                match status {
                    Some(s) => texts(&[s], out)?,
                    None => int(0, out),
                }
            }
            Payload::ChannelM {
                channel,
                visname,
                message,
            } => texts(&[channel, visname, message], out)?,
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
                texts(&[code, message], out)?;
                packet.encode(out)?;
                out.push(b',');
            }
            Payload::FingerReply(f) | Payload::StartupReq3(f) | Payload::Unknown(f) => {
                for v in f {
                    v.encode(out)?;
                    out.push(b',');
                }
            }
        }
        Ok(())
    }
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
