//! The parser soak: the session's telnet, TN3270 and TN3270E parsers on
//! fresh sessions (plain and real TN3270E, option 40 negotiated with its
//! subnegotiation so records carry TN3270E data headers), the MudMode (I3
//! LPC) decoder and the length-prefixed frame decoder, each over the
//! benches' generated corpora and malformed variants of them.

use ballast_benches::codec_corpus as corpus;
use ballast_codec::frame::{FrameConfig, FrameDecoder};
use ballast_codec::mudmode::lpc::Limits;
use ballast_codec::mudmode::{MAX_RECEIVE_LEN, MudModeDecoder, encode_owned_packet};
use ballast_codec::stream::Decode;
use ballast_codec::telnet::{self, Verb, option};
use ballast_codec::tn3270::tn3270e::{self, DataType, Header, Message, RESPONSE_ALWAYS, function};
use ballast_resilience::SeededRng;
use ballast_session::{Session, SessionConfig};

use super::workloads::budget;
use super::{Budget, Soak};

/// Screens fed per session and iteration.
const SCREENS_PER_SESSION: usize = 8;
/// MudMode mudlist packets in the corpus (8 muds each).
const MUDLIST_PACKETS: usize = 8;
/// Frames of 64 bytes in the frame corpus.
const FRAMES: usize = 64;
/// Depth the soak's MudMode decoder allows: the 100-level value passes
/// here and is refused by a decoder with the default limit (64).
const DEEP_LIMIT: usize = 128;

/// What the soak parsed, by kind: a test reads it to prove every parser
/// was reached.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counts {
    /// Sessions that reached TN3270E mode.
    pub(super) tn3270e_sessions: u64,
    /// 3270 writes applied from records behind a TN3270E data header.
    pub(super) tn3270e_writes: u64,
    /// 3270 writes applied on plain TN3270 sessions.
    pub(super) plain_writes: u64,
    /// MudMode packets decoded (I3 mudlists, the wide and deep values).
    pub(super) mud_packets: u64,
    /// MudMode packets refused (malformed, or over a limit).
    pub(super) mud_rejected: u64,
    /// Length-prefixed frames decoded.
    pub(super) frames: u64,
    /// Length-prefixed frames refused.
    pub(super) frames_rejected: u64,
}

pub(super) struct ParserSoak {
    rng: SeededRng,
    /// Plain records, telnet-framed.
    screens: Vec<Vec<u8>>,
    /// The same records behind a TN3270E 3270-DATA header, telnet-framed.
    e_screens: Vec<Vec<u8>>,
    /// The host's side of a TN3270E negotiation, after the client's WILL.
    e_negotiation: Vec<u8>,
    mudlist: Vec<u8>,
    wide: Vec<u8>,
    deep: Vec<u8>,
    frames: Vec<u8>,
    mud: MudModeDecoder,
    mud_default: MudModeDecoder,
    frame: FrameDecoder,
    /// Malformed variants are built here (room reserved up front).
    scratch: Vec<u8>,
    pub(super) counts: Counts,
}

impl ParserSoak {
    pub(super) fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        Ok((
            Box::new(Self::new()?),
            budget(quick, 20, 20_000, 100_000_000),
        ))
    }

    pub(super) fn new() -> Result<Self, String> {
        let records = corpus::tn3270_screens(SCREENS_PER_SESSION);
        let e_screens = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut header = Header::data_3270(i as u16);
                if i % 2 == 0 {
                    header.response_flag = RESPONSE_ALWAYS;
                }
                let mut rec = Vec::with_capacity(r.len() + tn3270e::HEADER_LEN);
                rec.extend_from_slice(&header.to_bytes());
                rec.extend_from_slice(r);
                frame_record(&rec)
            })
            .collect();
        let encode = |v| {
            let mut out = Vec::new();
            encode_owned_packet(&v, &mut out).map(|()| out)
        };
        let e = |e: ballast_codec::Error| e.to_string();
        let deep_limits = Limits {
            max_depth: DEEP_LIMIT,
            ..Limits::default()
        };
        Ok(Self {
            rng: SeededRng::new(15),
            screens: records.iter().map(|r| frame_record(r)).collect(),
            e_screens,
            e_negotiation: tn3270e_negotiation(),
            mudlist: corpus::mudlist_packets(MUDLIST_PACKETS, 8),
            wide: encode(corpus::wide_array(10_000)).map_err(e)?,
            deep: encode(corpus::deep_nesting(100)).map_err(e)?,
            frames: corpus::frames_64(FRAMES),
            mud: MudModeDecoder::new(deep_limits, MAX_RECEIVE_LEN).map_err(e)?,
            mud_default: MudModeDecoder::default(),
            frame: FrameDecoder::new(FrameConfig::default()),
            scratch: Vec::with_capacity(64 * 1024),
            counts: Counts::default(),
        })
    }

    fn feed(s: &mut Session, bytes: &[u8]) -> u64 {
        // Malformed input may be refused: that is the parser doing its job.
        let _ = s.receive(bytes);
        while s.poll_event().is_some() {}
        s.consume_output(usize::MAX);
        1
    }

    /// A plain TN3270 session: negotiation, screens, a telnet stream with
    /// commands, random bytes and a truncated screen.
    fn plain_session(&mut self) -> Result<u64, String> {
        let mut s = session(false)?;
        let mut ops = Self::feed(&mut s, &NEGOTIATION);
        for screen in &self.screens {
            ops += Self::feed(&mut s, screen);
        }
        if s.is_tn3270e() || s.writes() != SCREENS_PER_SESSION as u64 {
            return Err(format!(
                "plain session applied {} of {SCREENS_PER_SESSION} screens",
                s.writes()
            ));
        }
        self.counts.plain_writes += s.writes();
        ops += Self::feed(&mut s, &corpus::telnet_stream(2_048, 20));
        let garbage: Vec<u8> = (0..512)
            .map(|_| (self.rng.next_u64() & 0xff) as u8)
            .collect();
        ops += Self::feed(&mut s, &garbage);
        let truncated = &self.screens[0][..self.screens[0].len() / 2];
        ops += Self::feed(&mut s, truncated);
        Ok(ops)
    }

    /// A TN3270E session: DO TN3270E, the device-type and functions
    /// subnegotiations, records behind data headers (half asking for a
    /// response), then one malformed variant.
    fn tn3270e_session(&mut self) -> Result<u64, String> {
        let mut s = session(true)?;
        let mut ops = Self::feed(&mut s, &self.e_negotiation);
        if !s.is_tn3270e() {
            return Err("the TN3270E negotiation did not reach TN3270E mode".into());
        }
        self.counts.tn3270e_sessions += 1;
        for screen in &self.e_screens {
            ops += Self::feed(&mut s, screen);
        }
        if s.writes() != SCREENS_PER_SESSION as u64 {
            return Err(format!(
                "TN3270E session applied {} of {SCREENS_PER_SESSION} records",
                s.writes()
            ));
        }
        self.counts.tn3270e_writes += s.writes();
        self.malformed_tn3270e();
        ops += Self::feed(&mut s, &self.scratch);
        Ok(ops)
    }

    /// One malformed TN3270E input in `scratch`, chosen at random.
    fn malformed_tn3270e(&mut self) {
        self.scratch.clear();
        let record = &self.e_screens[1];
        match self.rng.next_u64() % 5 {
            // A header cut short.
            0 => self.scratch.extend_from_slice(&[0, 0, IAC, EOR]),
            // An unknown data type.
            1 => {
                self.scratch.extend_from_slice(record);
                self.scratch[0] = 0x7f;
            }
            // A 3270 record cut in the middle of an order.
            2 => {
                let cut = &record[..record.len() / 3];
                self.scratch.extend_from_slice(cut);
                self.scratch.extend_from_slice(&[IAC, EOR]);
            }
            // An SCS record (not ours: ignored) then random data bytes.
            3 => {
                self.scratch.push(DataType::ScsData.byte());
                self.scratch.extend_from_slice(&[0, 0, 0, 1]);
                for _ in 0..256 {
                    self.scratch.push((self.rng.next_u64() % 255) as u8);
                }
                self.scratch.extend_from_slice(&[IAC, EOR]);
            }
            // A TN3270E subnegotiation with a junk body.
            _ => telnet::encode_subnegotiation(
                option::TN3270E,
                &[0x09, 0x42, 0x13],
                &mut self.scratch,
            ),
        }
    }

    /// The I3 mudlists, the 10 000-element and the 100-level values, the
    /// last refused by a decoder at the default depth limit, then a
    /// mudlist packet with one byte changed and one with a huge length.
    fn mudmode(&mut self) -> Result<u64, String> {
        let mut ops = 0;
        let mut at = 0;
        for _ in 0..MUDLIST_PACKETS {
            let (_, used) = self
                .mud
                .decode_i3(&self.mudlist[at..])
                .map_err(|e| format!("mudlist packet at {at}: {e}"))?;
            at += used;
            ops += 1;
        }
        for (what, wire) in [("wide", &self.wide), ("deep", &self.deep)] {
            self.mud
                .decode_packet(wire)
                .map_err(|e| format!("{what} value: {e}"))?;
            ops += 1;
        }
        self.counts.mud_packets += ops;
        if self.mud_default.decode_packet(&self.deep).is_ok() {
            return Err("the 100-level value passed the 64-level limit".into());
        }
        self.counts.mud_rejected += 1;
        let first = self.mud.body(&self.mudlist).map_err(|e| e.to_string())?.1;
        for variant in 0..2 {
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.mudlist[..first]);
            if variant == 0 {
                let i = 4 + (self.rng.next_u64() as usize) % (first - 4);
                self.scratch[i] = (self.rng.next_u64() & 0xff) as u8;
            } else {
                self.scratch[..4].copy_from_slice(&u32::MAX.to_be_bytes());
            }
            match self.mud.decode_i3(&self.scratch) {
                Ok(_) => self.counts.mud_packets += 1,
                Err(_) => self.counts.mud_rejected += 1,
            }
            ops += 1;
        }
        Ok(ops)
    }

    /// Every 64-byte frame, then an empty frame, one over the length limit
    /// and one cut short: all three refused.
    fn frames(&mut self) -> Result<u64, String> {
        let mut at = 0;
        for _ in 0..FRAMES {
            let (payload, used) = self
                .frame
                .decode_frame(&self.frames[at..])
                .map_err(|e| format!("frame at {at}: {e}"))?;
            if payload.len() != 64 {
                return Err(format!("frame at {at} has {} bytes", payload.len()));
            }
            at += used;
        }
        self.counts.frames += FRAMES as u64;
        let over = u32::try_from(FrameConfig::default().max_frame_len + 1).unwrap_or(u32::MAX);
        let cut = &self.frames[..40];
        for bad in [&[0, 0, 0, 0][..], &over.to_be_bytes()[..], cut] {
            if self.frame.decode_frame(bad).is_ok() {
                return Err(format!("a malformed frame {:?} decoded", &bad[..4]));
            }
            self.counts.frames_rejected += 1;
        }
        Ok(FRAMES as u64 + 3)
    }
}

impl Soak for ParserSoak {
    fn name(&self) -> &'static str {
        "parser"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let mut ops = self.plain_session()?;
        ops += self.tn3270e_session()?;
        ops += self.mudmode()?;
        ops += self.frames()?;
        Ok(ops)
    }
}

fn session(tn3270e: bool) -> Result<Session, String> {
    Session::new(SessionConfig {
        tn3270e,
        ..SessionConfig::default()
    })
    .map_err(|e| e.to_string())
}

/// IAC DO/WILL EOR, IAC DO/WILL BINARY: plain TN3270 negotiation.
const NEGOTIATION: [u8; 12] = [255, 253, 25, 255, 251, 25, 255, 253, 0, 255, 251, 0];

/// A host's TN3270E negotiation (RFC 2355): DO TN3270E, SEND DEVICE-TYPE,
/// DEVICE-TYPE IS with the LU, FUNCTIONS IS RESPONSES.
fn tn3270e_negotiation() -> Vec<u8> {
    let mut wire = Vec::new();
    telnet::encode_negotiation(Verb::Do, option::TN3270E, &mut wire);
    let mut body = Vec::new();
    for m in [
        Message::SendDeviceType,
        Message::DeviceTypeIs {
            device_type: b"IBM-3278-2-E",
            lu: b"LU0001",
        },
        Message::FunctionsIs(&[function::RESPONSES]),
    ] {
        body.clear();
        m.encode(&mut body);
        telnet::encode_subnegotiation(option::TN3270E, &body, &mut wire);
    }
    wire
}

/// A 3270 record as telnet sends it: IAC doubled, then IAC EOR.
fn frame_record(record: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(record.len() + 8);
    for &b in record {
        wire.push(b);
        if b == IAC {
            wire.push(IAC);
        }
    }
    wire.extend_from_slice(&[IAC, EOR]);
    wire
}

/// Telnet "interpret as command".
const IAC: u8 = 255;
/// Telnet end of record.
const EOR: u8 = 239;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_iteration_reaches_tn3270e_mudmode_and_frames_with_malformed_input() {
        let mut soak = ParserSoak::new().expect("the corpora build");
        for _ in 0..5 {
            soak.iterate().expect("an iteration passes");
        }
        let c = soak.counts;
        assert_eq!(c.tn3270e_sessions, 5, "{c:?}");
        assert_eq!(c.tn3270e_writes, 5 * SCREENS_PER_SESSION as u64, "{c:?}");
        assert_eq!(c.plain_writes, 5 * SCREENS_PER_SESSION as u64, "{c:?}");
        // 8 mudlists and the two large values each time, plus the
        // malformed variants that still decode.
        assert!(c.mud_packets >= 5 * 10, "{c:?}");
        // The deep value under the default limit and the huge length, at least.
        assert!(c.mud_rejected >= 5 * 2, "{c:?}");
        assert_eq!(c.frames, 5 * FRAMES as u64, "{c:?}");
        assert_eq!(c.frames_rejected, 5 * 3, "{c:?}");
    }
}
