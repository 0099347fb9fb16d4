//! I3 packets: the six-field envelope and typed payloads.
//!
//! Every I3 packet is an LPC array
//! `({ type, ttl, originator mud, originator user, target mud, target user,
//! … })`; user and target fields are `0` when they do not apply. Known
//! types decode into a typed [`Payload`]; any other type is kept as
//! [`Payload::Unknown`] with its raw fields, never rejected.

use std::borrow::Cow;

use super::lpc::ValueRef;
use crate::error::{Error, Result};

/// A string field, borrowed when the packet had no escapes.
pub type Text<'a> = Cow<'a, [u8]>;

/// The envelope and payload of one packet.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct WhoUser<'a> {
    /// Visible name.
    pub visname: Text<'a>,
    /// Idle seconds.
    pub idle: i64,
    /// Extra information (usually a string).
    pub extra: ValueRef<'a>,
}

/// Typed packet payloads.
#[derive(Debug, Clone, PartialEq)]
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
    WhoReply(Vec<WhoUser<'a>>),
    /// `finger-req`.
    FingerReq {
        /// Who to finger.
        username: Text<'a>,
    },
    /// `finger-reply`: visname, title, real name, e-mail, login time, idle,
    /// ip, level, extra. Fields a mud leaves as `0` are kept as values.
    FingerReply(Vec<ValueRef<'a>>),
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
        muds: Vec<(ValueRef<'a>, ValueRef<'a>)>,
    },
    /// `startup-req-3`: password, old mudlist id, old chanlist id, player
    /// port, tcp port, udp port, mudlib, base mudlib, driver, mud type, open
    /// status, admin e-mail, services, other data.
    StartupReq3(Vec<ValueRef<'a>>),
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
    Unknown(Vec<ValueRef<'a>>),
}

fn field_error(index: usize, expected: &'static str) -> Error {
    Error::Invalid {
        offset: index,
        byte: 0,
        reason: expected,
    }
}

fn text<'a>(f: &[ValueRef<'a>], i: usize) -> Result<Text<'a>> {
    match f.get(i) {
        Some(ValueRef::Str(s)) => Ok(s.clone()),
        _ => Err(field_error(i, "i3 field: string expected")),
    }
}

fn opt_text<'a>(f: &[ValueRef<'a>], i: usize) -> Result<Option<Text<'a>>> {
    match f.get(i) {
        Some(ValueRef::Int(0)) => Ok(None),
        _ => text(f, i).map(Some),
    }
}

fn int(f: &[ValueRef<'_>], i: usize) -> Result<i64> {
    f.get(i)
        .and_then(ValueRef::as_int)
        .ok_or(field_error(i, "i3 field: int expected"))
}

fn need(f: &[ValueRef<'_>], n: usize) -> Result<()> {
    if f.len() < n {
        Err(field_error(f.len(), "i3 packet: too few fields"))
    } else {
        Ok(())
    }
}

impl<'a> Packet<'a> {
    /// Reads a packet from a decoded value. Errors use the field index as
    /// offset.
    pub fn from_value(value: ValueRef<'a>) -> Result<Self> {
        let ValueRef::Array(fields) = value else {
            return Err(field_error(0, "i3 packet: array expected"));
        };
        need(&fields, 6)?;
        let payload = Payload::decode(text(&fields, 0)?.as_ref(), &fields[6..])?;
        Ok(Self {
            kind: text(&fields, 0)?,
            ttl: int(&fields, 1)?,
            originator_mud: text(&fields, 2)?,
            originator_user: opt_text(&fields, 3)?,
            target_mud: opt_text(&fields, 4)?,
            target_user: opt_text(&fields, 5)?,
            payload,
        })
    }

    /// The packet as an LPC array.
    pub fn to_value(&self) -> ValueRef<'a> {
        let opt = |t: &Option<Text<'a>>| t.clone().map_or(ValueRef::Int(0), ValueRef::Str);
        let mut fields = vec![
            ValueRef::Str(self.kind.clone()),
            ValueRef::Int(self.ttl),
            ValueRef::Str(self.originator_mud.clone()),
            opt(&self.originator_user),
            opt(&self.target_mud),
            opt(&self.target_user),
        ];
        self.payload.encode(&mut fields);
        ValueRef::Array(fields)
    }
}

impl<'a> Payload<'a> {
    /// Decodes the fields after the envelope of a packet of type `kind`.
    pub fn decode(kind: &[u8], f: &[ValueRef<'a>]) -> Result<Self> {
        // Field indexes in errors count from the start of the packet.
        let shift = |e: Error| e.shifted(6);
        let p = match kind {
            b"tell" | b"emoteto" => {
                let (visname, message) = (text(f, 0), text(f, 1));
                let (visname, message) = (visname.map_err(shift)?, message.map_err(shift)?);
                if kind == b"tell" {
                    Payload::Tell { visname, message }
                } else {
                    Payload::EmoteTo { visname, message }
                }
            }
            b"who-req" => Payload::WhoReq,
            b"who-reply" => Payload::WhoReply(who_users(f).map_err(shift)?),
            b"finger-req" => Payload::FingerReq {
                username: text(f, 0).map_err(shift)?,
            },
            b"finger-reply" => Payload::FingerReply(f.to_vec()),
            b"locate-req" => Payload::LocateReq {
                username: text(f, 0).map_err(shift)?,
            },
            b"locate-reply" => Payload::LocateReply {
                mud: text(f, 0).map_err(shift)?,
                visname: text(f, 1).map_err(shift)?,
                idle: int(f, 2).map_err(shift)?,
                status: opt_text(f, 3).map_err(shift)?,
            },
            b"channel-m" => Payload::ChannelM {
                channel: text(f, 0).map_err(shift)?,
                visname: text(f, 1).map_err(shift)?,
                message: text(f, 2).map_err(shift)?,
            },
            b"mudlist" => mudlist(f).map_err(shift)?,
            b"startup-req-3" => {
                need(f, 14).map_err(shift)?;
                Payload::StartupReq3(f.to_vec())
            }
            b"error" => Payload::Error {
                code: text(f, 0).map_err(shift)?,
                message: text(f, 1).map_err(shift)?,
                packet: f.get(2).cloned().unwrap_or(ValueRef::Int(0)),
            },
            _ => Payload::Unknown(f.to_vec()),
        };
        Ok(p)
    }

    fn encode(&self, out: &mut Vec<ValueRef<'a>>) {
        let s = |t: &Text<'a>| ValueRef::Str(t.clone());
        match self {
            Payload::Tell { visname, message } | Payload::EmoteTo { visname, message } => {
                out.extend([s(visname), s(message)]);
            }
            Payload::WhoReq => {}
            Payload::WhoReply(users) => out.push(ValueRef::Array(
                users
                    .iter()
                    .map(|u| {
                        ValueRef::Array(vec![s(&u.visname), ValueRef::Int(u.idle), u.extra.clone()])
                    })
                    .collect(),
            )),
            Payload::FingerReq { username } | Payload::LocateReq { username } => {
                out.push(s(username))
            }
            Payload::LocateReply {
                mud,
                visname,
                idle,
                status,
            } => out.extend([
                s(mud),
                s(visname),
                ValueRef::Int(*idle),
                status.as_ref().map_or(ValueRef::Int(0), s),
            ]),
            Payload::ChannelM {
                channel,
                visname,
                message,
            } => {
                out.extend([s(channel), s(visname), s(message)]);
            }
            Payload::Mudlist { id, muds } => {
                out.extend([ValueRef::Int(*id), ValueRef::Mapping(muds.clone())]);
            }
            Payload::Error {
                code,
                message,
                packet,
            } => {
                out.extend([s(code), s(message), packet.clone()]);
            }
            Payload::FingerReply(f) | Payload::StartupReq3(f) | Payload::Unknown(f) => {
                out.extend(f.iter().cloned());
            }
        }
    }
}

fn who_users<'a>(f: &[ValueRef<'a>]) -> Result<Vec<WhoUser<'a>>> {
    let Some(ValueRef::Array(list)) = f.first() else {
        return Err(field_error(0, "i3 field: who list expected"));
    };
    list.iter()
        .map(|u| match u {
            ValueRef::Array(e) => Ok(WhoUser {
                visname: text(e, 0)?,
                idle: int(e, 1)?,
                extra: e.get(2).cloned().unwrap_or(ValueRef::Int(0)),
            }),
            _ => Err(field_error(0, "i3 field: who entry expected")),
        })
        .collect()
}

fn mudlist<'a>(f: &[ValueRef<'a>]) -> Result<Payload<'a>> {
    let id = int(f, 0)?;
    match f.get(1) {
        Some(ValueRef::Mapping(m)) => Ok(Payload::Mudlist {
            id,
            muds: m.clone(),
        }),
        _ => Err(field_error(1, "i3 field: mudlist mapping expected")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mudmode::lpc::{Limits, decode};

    fn round_trip(body: &[u8]) -> Packet<'_> {
        let p = Packet::from_value(decode(body, Limits::default()).unwrap()).unwrap();
        let mut out = Vec::new();
        p.to_value().encode(&mut out).unwrap();
        assert_eq!(out, body, "encode(decode(x)) == x");
        p
    }

    #[test]
    fn tell_decodes_to_typed_fields() {
        let p = round_trip(br#"({"tell",5,"MudA","bob","MudB","alice","Bob","hi there",})"#);
        assert_eq!(p.originator_user.as_deref(), Some(&b"bob"[..]));
        assert_eq!(
            p.payload,
            Payload::Tell {
                visname: Cow::Borrowed(b"Bob"),
                message: Cow::Borrowed(b"hi there")
            }
        );
    }

    #[test]
    fn broadcast_target_zero_is_none() {
        let p = round_trip(br#"({"channel-m",5,"MudA","bob",0,0,"chat","Bob","hello",})"#);
        assert_eq!((p.target_mud, p.target_user), (None, None));
        assert!(matches!(p.payload, Payload::ChannelM { .. }));
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
            let p = round_trip(b);
            assert!(!matches!(p.payload, Payload::Unknown(_)), "{p:?}");
        }
    }

    #[test]
    fn unknown_type_is_kept_raw_not_rejected() {
        let p = round_trip(br#"({"auth-mud-req",5,"A",0,"B",0,42,})"#);
        assert_eq!(p.payload, Payload::Unknown(vec![ValueRef::Int(42)]));
    }

    #[test]
    fn known_type_with_wrong_field_is_an_error_naming_the_field() {
        let v = decode(
            br#"({"tell",5,"A","b","B","c",7,"msg",})"#,
            Limits::default(),
        )
        .unwrap();
        let err = Packet::from_value(v).unwrap_err();
        assert_eq!(err.offset(), Some(6));
        let v = decode(br#"({"tell",5,"A",})"#, Limits::default()).unwrap();
        assert!(Packet::from_value(v).is_err());
    }
}
