//! TN3270E (RFC 2355): the 5-byte record header, record framing, DEVICE-TYPE
//! and FUNCTIONS subnegotiation, and response records.
//!
//! [`encode_record`] frames a record in both directions (terminal answers
//! and host writes alike); a received record is cut by
//! [`crate::telnet::RecordDecoder`] and split by [`Header::parse`].

use bytes::BufMut;

use crate::error::{Error, Result};
use crate::telnet::{self, EOR, IAC};

/// Length of the TN3270E header.
pub const HEADER_LEN: usize = 5;

/// Longest device type or LU name accepted: 64 bytes.
pub const MAX_NAME_LEN: usize = 64;

/// The data type of a TN3270E record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// 3270 data stream.
    Data3270,
    /// SCS printer data.
    ScsData,
    /// A response to a record.
    Response,
    /// An SNA BIND image.
    BindImage,
    /// UNBIND.
    Unbind,
    /// NVT (line mode) data.
    NvtData,
    /// A request (ERR-COND-CLEARED).
    Request,
    /// SSCP-LU data.
    SscpLuData,
    /// End of a print job.
    PrintEoj,
}

const DATA_TYPES: [DataType; 9] = [
    DataType::Data3270,
    DataType::ScsData,
    DataType::Response,
    DataType::BindImage,
    DataType::Unbind,
    DataType::NvtData,
    DataType::Request,
    DataType::SscpLuData,
    DataType::PrintEoj,
];

impl DataType {
    /// The wire byte.
    pub fn byte(self) -> u8 {
        DATA_TYPES
            .iter()
            .position(|&d| d == self)
            .map_or(0, |i| i as u8)
    }

    /// From a wire byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        DATA_TYPES.get(usize::from(b)).copied()
    }
}

/// Response flag: no response wanted (3270-DATA), or positive (RESPONSE).
pub const RESPONSE_NO_OR_POSITIVE: u8 = 0x00;
/// Response flag: error response wanted (3270-DATA), or negative (RESPONSE).
pub const RESPONSE_ERROR_OR_NEGATIVE: u8 = 0x01;
/// Response flag: always respond (3270-DATA).
pub const RESPONSE_ALWAYS: u8 = 0x02;

/// The header in front of every record once TN3270E is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// What the record holds.
    pub data_type: DataType,
    /// Request flag (0x01 ERR-COND-CLEARED for REQUEST records).
    pub request_flag: u8,
    /// Response flag, see the `RESPONSE_*` constants.
    pub response_flag: u8,
    /// Sequence number (meaningful with the RESPONSES function).
    pub seq_number: u16,
}

impl Header {
    /// The header of a 3270-DATA record: no response asked for, flags 0.
    pub const fn data_3270(seq_number: u16) -> Self {
        Self {
            data_type: DataType::Data3270,
            request_flag: 0,
            response_flag: RESPONSE_NO_OR_POSITIVE,
            seq_number,
        }
    }

    /// Splits `record` into its header and data.
    pub fn parse(record: &[u8]) -> Result<(Self, &[u8])> {
        let [dt, req, resp, s0, s1, ref data @ ..] = *record else {
            return Err(Error::Invalid {
                offset: record.len(),
                byte: 0,
                reason: "tn3270e header cut short",
            });
        };
        let data_type = DataType::from_byte(dt).ok_or(Error::Invalid {
            offset: 0,
            byte: dt,
            reason: "unknown tn3270e data type",
        })?;
        let header = Self {
            data_type,
            request_flag: req,
            response_flag: resp,
            seq_number: u16::from_be_bytes([s0, s1]),
        };
        Ok((header, data))
    }

    /// The five header bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let [s0, s1] = self.seq_number.to_be_bytes();
        [
            self.data_type.byte(),
            self.request_flag,
            self.response_flag,
            s0,
            s1,
        ]
    }
}

/// Appends one TN3270E record as it goes on the wire: `header`, then
/// `data`, both with every 0xFF doubled (a sequence number can hold one),
/// then IAC EOR. The same framing serves both directions; the plain TN3270
/// framing is [`crate::telnet::encode_record`].
pub fn encode_record<B: BufMut>(header: Header, data: &[u8], out: &mut B) {
    telnet::encode_data(&header.to_bytes(), out);
    telnet::encode_data(data, out);
    out.put_slice(&[IAC, EOR]);
}

/// Reason codes of a negative response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NegativeReason {
    /// 0x00 COMMAND-REJECT.
    CommandReject,
    /// 0x01 INTERVENTION-REQUIRED.
    InterventionRequired,
    /// 0x02 OPERATION-CHECK.
    OperationCheck,
    /// 0x03 COMPONENT-DISCONNECTED.
    ComponentDisconnected,
}

const NEGATIVE: [NegativeReason; 4] = [
    NegativeReason::CommandReject,
    NegativeReason::InterventionRequired,
    NegativeReason::OperationCheck,
    NegativeReason::ComponentDisconnected,
];

/// A RESPONSE record's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Response {
    /// Positive: DEVICE-END.
    Positive,
    /// Negative with a reason.
    Negative(NegativeReason),
}

impl Response {
    /// The header of the RESPONSE record answering `seq_number`.
    pub fn header(self, seq_number: u16) -> Header {
        let response_flag = match self {
            Response::Positive => RESPONSE_NO_OR_POSITIVE,
            Response::Negative(_) => RESPONSE_ERROR_OR_NEGATIVE,
        };
        Header {
            data_type: DataType::Response,
            request_flag: 0,
            response_flag,
            seq_number,
        }
    }

    /// The data byte: 0x00 DEVICE-END, or the negative reason code.
    pub fn code(self) -> u8 {
        match self {
            Response::Positive => 0x00,
            Response::Negative(r) => NEGATIVE.iter().position(|&x| x == r).map_or(0, |i| i as u8),
        }
    }

    /// The whole record (header + one byte) answering `seq_number`; on
    /// the wire it is `encode_record(self.header(seq), &[self.code()], ..)`.
    pub fn encode(self, seq_number: u16) -> [u8; HEADER_LEN + 1] {
        let [a, b, c, d, e] = self.header(seq_number).to_bytes();
        [a, b, c, d, e, self.code()]
    }

    /// Reads the response carried by a RESPONSE record.
    pub fn decode(header: &Header, data: &[u8]) -> Result<Self> {
        let bad = |byte, reason| Error::Invalid {
            offset: HEADER_LEN,
            byte,
            reason,
        };
        if header.data_type != DataType::Response {
            return Err(bad(header.data_type.byte(), "response record expected"));
        }
        let &code = data.first().ok_or(bad(0, "response code missing"))?;
        match header.response_flag {
            RESPONSE_NO_OR_POSITIVE if code == 0 => Ok(Response::Positive),
            RESPONSE_ERROR_OR_NEGATIVE => NEGATIVE
                .get(usize::from(code))
                .map(|&r| Response::Negative(r))
                .ok_or(bad(code, "unknown negative response reason")),
            _ => Err(bad(code, "unknown response")),
        }
    }
}

/// Subnegotiation codes.
pub mod code {
    /// ASSOCIATE.
    pub const ASSOCIATE: u8 = 0;
    /// CONNECT.
    pub const CONNECT: u8 = 1;
    /// DEVICE-TYPE.
    pub const DEVICE_TYPE: u8 = 2;
    /// FUNCTIONS.
    pub const FUNCTIONS: u8 = 3;
    /// IS.
    pub const IS: u8 = 4;
    /// REASON.
    pub const REASON: u8 = 5;
    /// REJECT.
    pub const REJECT: u8 = 6;
    /// REQUEST.
    pub const REQUEST: u8 = 7;
    /// SEND.
    pub const SEND: u8 = 8;
}

/// TN3270E functions.
pub mod function {
    /// BIND-IMAGE.
    pub const BIND_IMAGE: u8 = 0;
    /// DATA-STREAM-CTL.
    pub const DATA_STREAM_CTL: u8 = 1;
    /// RESPONSES.
    pub const RESPONSES: u8 = 2;
    /// SCS-CTL-CODES.
    pub const SCS_CTL_CODES: u8 = 3;
    /// SYSREQ.
    pub const SYSREQ: u8 = 4;
}

/// A TN3270E subnegotiation body (between IAC SB 40 and IAC SE, telnet
/// escaping already removed). Names and lists are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Host: SEND DEVICE-TYPE.
    SendDeviceType,
    /// Client: DEVICE-TYPE REQUEST type [CONNECT lu | ASSOCIATE lu].
    DeviceTypeRequest {
        /// Terminal type, e.g. `IBM-3278-2-E`.
        device_type: &'a [u8],
        /// LU to CONNECT to.
        connect: Option<&'a [u8]>,
        /// Device name to ASSOCIATE with.
        associate: Option<&'a [u8]>,
    },
    /// Host: DEVICE-TYPE IS type CONNECT lu.
    DeviceTypeIs {
        /// Accepted terminal type.
        device_type: &'a [u8],
        /// LU assigned.
        lu: &'a [u8],
    },
    /// Host: DEVICE-TYPE REJECT REASON code.
    DeviceTypeReject {
        /// Reason code (0 CONN-PARTNER … 7 UNSUPPORTED-REQ).
        reason: u8,
    },
    /// FUNCTIONS REQUEST list.
    FunctionsRequest(&'a [u8]),
    /// FUNCTIONS IS list.
    FunctionsIs(&'a [u8]),
}

impl<'a> Message<'a> {
    /// Parses a subnegotiation body.
    pub fn decode(body: &'a [u8]) -> Result<Self> {
        use code::*;
        let bad = |offset: usize, reason| Error::Invalid {
            offset,
            byte: body.get(offset).copied().unwrap_or(0),
            reason,
        };
        match body {
            [SEND, DEVICE_TYPE] => Ok(Self::SendDeviceType),
            [DEVICE_TYPE, REQUEST, rest @ ..] => {
                let end = rest
                    .iter()
                    .position(|&b| b == CONNECT || b == ASSOCIATE)
                    .unwrap_or(rest.len());
                let device_type = name(&rest[..end], 2)?;
                let (connect, associate) = match rest.get(end) {
                    None => (None, None),
                    Some(&CONNECT) => (Some(name(&rest[end + 1..], end + 3)?), None),
                    Some(_) => (None, Some(name(&rest[end + 1..], end + 3)?)),
                };
                Ok(Self::DeviceTypeRequest {
                    device_type,
                    connect,
                    associate,
                })
            }
            [DEVICE_TYPE, IS, rest @ ..] => {
                let end =
                    memchr::memchr(CONNECT, rest).ok_or(bad(body.len(), "connect expected"))?;
                Ok(Self::DeviceTypeIs {
                    device_type: name(&rest[..end], 2)?,
                    lu: name(&rest[end + 1..], end + 3)?,
                })
            }
            [DEVICE_TYPE, REJECT, REASON, reason] => Ok(Self::DeviceTypeReject { reason: *reason }),
            [FUNCTIONS, REQUEST, list @ ..] => Ok(Self::FunctionsRequest(list)),
            [FUNCTIONS, IS, list @ ..] => Ok(Self::FunctionsIs(list)),
            _ => Err(bad(0, "unknown tn3270e subnegotiation")),
        }
    }

    /// Appends the body (without telnet framing; see
    /// [`crate::telnet::encode_subnegotiation`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        use code::*;
        match *self {
            Self::SendDeviceType => out.extend_from_slice(&[SEND, DEVICE_TYPE]),
            Self::DeviceTypeRequest {
                device_type,
                connect,
                associate,
            } => {
                out.extend_from_slice(&[DEVICE_TYPE, REQUEST]);
                out.extend_from_slice(device_type);
                if let Some(lu) = connect {
                    out.push(CONNECT);
                    out.extend_from_slice(lu);
                } else if let Some(dev) = associate {
                    out.push(ASSOCIATE);
                    out.extend_from_slice(dev);
                }
            }
            Self::DeviceTypeIs { device_type, lu } => {
                out.extend_from_slice(&[DEVICE_TYPE, IS]);
                out.extend_from_slice(device_type);
                out.push(CONNECT);
                out.extend_from_slice(lu);
            }
            Self::DeviceTypeReject { reason } => {
                out.extend_from_slice(&[DEVICE_TYPE, REJECT, REASON, reason]);
            }
            Self::FunctionsRequest(list) => {
                out.extend_from_slice(&[FUNCTIONS, REQUEST]);
                out.extend_from_slice(list);
            }
            Self::FunctionsIs(list) => {
                out.extend_from_slice(&[FUNCTIONS, IS]);
                out.extend_from_slice(list);
            }
        }
    }
}

/// A device type or LU name: 1 to [`MAX_NAME_LEN`] printable ASCII bytes.
fn name(bytes: &[u8], offset: usize) -> Result<&[u8]> {
    if bytes.is_empty() {
        return Err(Error::Invalid {
            offset,
            byte: 0,
            reason: "empty name",
        });
    }
    if bytes.len() > MAX_NAME_LEN {
        return Err(Error::FrameTooLong {
            len: bytes.len() as u64,
            limit: MAX_NAME_LEN as u64,
        });
    }
    match bytes.iter().position(|b| !b.is_ascii_graphic()) {
        Some(i) => Err(Error::Invalid {
            offset: offset + i,
            byte: bytes[i],
            reason: "name byte",
        }),
        None => Ok(bytes),
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_codec::{Tn3270eCodec, Tn3270eItem};

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
mod tokio_codec {
    use bytes::{Buf, Bytes, BytesMut};
    use tokio_util::codec::{Decoder, Encoder};

    use super::{HEADER_LEN, Header, encode_record};
    use crate::telnet::{OwnedRecordItem, RecordDecoder};

    /// One item of a TN3270E stream, for `tokio_util::codec`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Tn3270eItem {
        /// A record: its header and the data after it, unescaped (a slice
        /// of the read buffer unless the record held an escaped IAC).
        Record {
            /// The five-byte TN3270E header.
            header: Header,
            /// What follows the header (3270 data, a response, …).
            data: Bytes,
        },
        /// Raw bytes of a telnet command between records.
        Telnet(Bytes),
    }

    /// `tokio_util::codec` for a TN3270E session once negotiated: records
    /// delimited by IAC EOR, each opened by a [`Header`]. Decoding checks
    /// the header (a record shorter than it, or of an unknown data type,
    /// is `InvalidData`); encoding writes header and data as one record,
    /// doubling IAC bytes in both (a sequence number can hold 0xFF).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Tn3270eCodec {
        /// The record layer (its `max_record_len` bounds a record).
        pub records: RecordDecoder,
    }

    impl Decoder for Tn3270eCodec {
        type Item = Tn3270eItem;
        type Error = std::io::Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Tn3270eItem>, Self::Error> {
            let item = match self.records.decode(src)? {
                None => return Ok(None),
                Some(OwnedRecordItem::Telnet(raw)) => Tn3270eItem::Telnet(raw),
                Some(OwnedRecordItem::Record(mut record)) => {
                    let (header, _) = Header::parse(&record)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
                    record.advance(HEADER_LEN);
                    Tn3270eItem::Record {
                        header,
                        data: record,
                    }
                }
            };
            Ok(Some(item))
        }
    }

    impl Encoder<(Header, &[u8])> for Tn3270eCodec {
        type Error = std::io::Error;

        fn encode(
            &mut self,
            (header, data): (Header, &[u8]),
            dst: &mut BytesMut,
        ) -> Result<(), Self::Error> {
            encode_record(header, data, dst);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_keeps_sequence_number() {
        let h = Header {
            data_type: DataType::Data3270,
            request_flag: 0,
            response_flag: RESPONSE_ALWAYS,
            seq_number: 0x01FF,
        };
        let mut rec = h.to_bytes().to_vec();
        rec.extend_from_slice(&[0xF5, 0xC3]);
        assert_eq!(&rec[..5], [0x00, 0x00, 0x02, 0x01, 0xFF]);
        assert_eq!(Header::parse(&rec).unwrap(), (h, &[0xF5, 0xC3][..]));
    }

    #[test]
    fn records_are_framed_with_doubled_ff_in_header_and_data() {
        let mut wire = Vec::new();
        encode_record(Header::data_3270(0x00FF), &[0xF1, 0xFF, 0xC3], &mut wire);
        assert_eq!(
            wire,
            [0, 0, 0, 0x00, 0xFF, 0xFF, 0xF1, 0xFF, 0xFF, 0xC3, IAC, EOR]
        );
        let (item, used) = crate::stream::Decode::decode_frame(
            &mut crate::telnet::RecordDecoder::default(),
            &wire,
        )
        .unwrap();
        assert_eq!(used, wire.len());
        let crate::telnet::RecordItem::Record(record) = item else {
            panic!("a record was framed")
        };
        assert_eq!(
            Header::parse(&record).unwrap(),
            (Header::data_3270(0x00FF), &[0xF1, 0xFF, 0xC3][..])
        );
    }

    #[test]
    fn short_or_unknown_header_is_rejected() {
        assert!(Header::parse(&[0, 0, 0, 0]).is_err());
        assert!(matches!(
            Header::parse(&[9, 0, 0, 0, 0]),
            Err(Error::Invalid { byte: 9, .. })
        ));
    }

    #[test]
    fn positive_and_negative_responses_round_trip() {
        for r in [
            Response::Positive,
            Response::Negative(NegativeReason::OperationCheck),
        ] {
            let rec = r.encode(42);
            let (h, data) = Header::parse(&rec).unwrap();
            assert_eq!(h.seq_number, 42);
            assert_eq!(Response::decode(&h, data).unwrap(), r);
        }
        assert_eq!(
            Response::Negative(NegativeReason::CommandReject).encode(1),
            [2, 0, 1, 0, 1, 0]
        );
    }

    #[test]
    fn a_framed_response_is_its_record_framed() {
        let r = Response::Negative(NegativeReason::InterventionRequired);
        let (mut framed, mut plain) = (Vec::new(), Vec::new());
        encode_record(r.header(0x12FF), &[r.code()], &mut framed);
        crate::telnet::encode_record(&r.encode(0x12FF), &mut plain);
        assert_eq!(framed, plain);
        assert_eq!(framed, [2, 0, 1, 0x12, 0xFF, 0xFF, 1, IAC, EOR]);
    }

    #[test]
    fn device_type_request_with_connect_matches_rfc_2355() {
        let m = Message::DeviceTypeRequest {
            device_type: b"IBM-3278-2-E",
            connect: Some(b"LU01"),
            associate: None,
        };
        let mut body = Vec::new();
        m.encode(&mut body);
        assert_eq!(body, b"\x02\x07IBM-3278-2-E\x01LU01");
        assert_eq!(Message::decode(&body).unwrap(), m);
    }

    #[test]
    fn host_messages_round_trip() {
        let msgs = [
            Message::SendDeviceType,
            Message::DeviceTypeIs {
                device_type: b"IBM-3278-2-E",
                lu: b"TCP00042",
            },
            Message::DeviceTypeReject { reason: 4 },
            Message::FunctionsRequest(&[function::BIND_IMAGE, function::RESPONSES]),
            Message::FunctionsIs(&[function::RESPONSES]),
        ];
        for m in msgs {
            let mut body = Vec::new();
            m.encode(&mut body);
            assert_eq!(Message::decode(&body).unwrap(), m);
        }
    }

    #[test]
    fn overlong_or_unprintable_names_are_rejected() {
        let mut body = b"\x02\x07".to_vec();
        body.extend_from_slice(&[b'A'; 65]);
        assert!(matches!(
            Message::decode(&body),
            Err(Error::FrameTooLong { len: 65, limit: 64 })
        ));
        assert!(Message::decode(b"\x02\x07IBM 3278").is_err());
    }
}
