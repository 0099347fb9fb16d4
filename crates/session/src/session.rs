//! The sans-IO terminal session: bytes in, events and bytes out.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use ballast_codec::stream::StreamBuffer;
use ballast_codec::telnet::negotiation::OptionTable;
use ballast_codec::telnet::{
    self, Command as TelnetCommand, RecordDecoder, RecordItem, TelnetEvent, TelnetParser, option,
};
use ballast_codec::tn3270::query::{
    self, OutboundField, QueryListRequest, QueryReply, SF_OUTBOUND_3270DS,
};
use ballast_codec::tn3270::tn3270e::{
    self, DataType, Header, Message, RESPONSE_ALWAYS, RESPONSE_ERROR_OR_NEGATIVE, Response,
    function,
};
use ballast_codec::tn3270::{
    Aid, Command, Outbound, OutboundParser, encode_read_modified, encode_read_reply,
    encode_short_read,
};

use crate::apply;
use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::screen::Screen;

/// Functions this terminal agrees to (BIND-IMAGE is declined).
const SUPPORTED_FUNCTIONS: [u8; 1] = [function::RESPONSES];
/// Telnet TIMING-MARK (RFC 860): a `DO` asks the peer to answer `WILL` or
/// `WONT` once it has processed everything before it, a round trip that
/// proves the connection alive. Answers are not negotiations: they are
/// counted apart and never change option state.
pub(crate) const TIMING_MARK: u8 = 6;
/// Depth of Outbound 3270DS structured fields nested in a WSF.
const MAX_WSF_DEPTH: u8 = 1;

/// Something the host made happen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Negotiation finished; the session speaks 3270.
    Connected {
        /// True in TN3270E mode.
        tn3270e: bool,
        /// The LU the host assigned (TN3270E only).
        lu: Option<String>,
    },
    /// A write changed the screen.
    ScreenChanged,
    /// The WCC restored the keyboard.
    KeyboardUnlocked,
    /// The WCC sounded the alarm.
    Alarm,
    /// The host asked for a read (answered already).
    ReadRequested(Command),
    /// The host asked for the query replies (answered already).
    QueryAnswered,
    /// The session closed after a protocol error or a limit.
    Disconnected(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Negotiating,
    Tn3270,
    Tn3270e,
    Closed,
}

/// A TN3270 / TN3270E terminal session without I/O.
///
/// Feed received bytes to [`Session::receive`], send what
/// [`Session::output`] holds (then [`Session::consume_output`]), read
/// [`Session::poll_event`]. Operator actions go through
/// [`Session::screen_mut`] and [`Session::press`].
///
/// A `Session` is `Clone`: a clone is an independent snapshot (screen,
/// negotiation state, queued output and any unfinished input).
#[derive(Clone)]
pub struct Session {
    config: SessionConfig,
    phase: Phase,
    options: OptionTable,
    /// Received bytes not decoded yet (an unfinished record).
    input: StreamBuffer<RecordDecoder>,
    out: Vec<u8>,
    scratch: Vec<u8>,
    events: VecDeque<Event>,
    screen: Screen,
    replies: Vec<QueryReply<'static>>,
    negotiations: u32,
    functions: Vec<u8>,
    lu: Option<String>,
    last_aid: Aid,
    writes: u64,
    timing_marks: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("phase", &self.phase)
            .field("terminal_type", &self.config.terminal_type())
            .field("lu", &self.lu)
            .field("screen", &self.screen)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session; nothing is sent until the host starts negotiating.
    pub fn new(config: SessionConfig) -> Result<Self> {
        config.validate()?;
        let mut options = OptionTable::new();
        for o in [option::TERMINAL_TYPE, option::END_OF_RECORD, option::BINARY] {
            options.accept_local(o, true);
        }
        for o in [option::END_OF_RECORD, option::BINARY] {
            options.accept_remote(o, true);
        }
        options.accept_local(option::TN3270E, config.tn3270e);
        let primary = config.model.primary();
        let alternate = config.model.size();
        let decoder = RecordDecoder {
            max_record_len: config.limits.max_record_len,
            parser: TelnetParser {
                max_subnegotiation_len: config.limits.max_subnegotiation_len,
            },
        };
        // The decoder already refuses records and subnegotiations over
        // their limits; this bounds whatever else could be left waiting.
        let max_input = config.limits.max_record_len + config.limits.max_subnegotiation_len;
        Ok(Self {
            screen: Screen::new(primary, alternate, config.code_page),
            replies: query::standard_replies(primary, alternate),
            config,
            phase: Phase::Negotiating,
            options,
            input: StreamBuffer::with_max_buffered(decoder, max_input),
            out: Vec::new(),
            scratch: Vec::new(),
            events: VecDeque::new(),
            negotiations: 0,
            functions: Vec::new(),
            lu: None,
            last_aid: Aid::NoAid,
            writes: 0,
            timing_marks: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The screen.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The screen, for operator input (typing, tabbing, cursor moves).
    pub fn screen_mut(&mut self) -> &mut Screen {
        &mut self.screen
    }

    /// True once negotiation finished and until the session closes.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Tn3270 | Phase::Tn3270e)
    }

    /// True after a protocol error or limit closed the session.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// True in TN3270E mode.
    pub fn is_tn3270e(&self) -> bool {
        self.phase == Phase::Tn3270e
    }

    /// The LU the host assigned in TN3270E.
    pub fn lu(&self) -> Option<&str> {
        self.lu.as_deref()
    }

    /// Number of host writes (W, EW, EWA, EAU) applied so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// The TN3270E functions agreed on.
    pub fn functions(&self) -> &[u8] {
        &self.functions
    }

    /// Bytes to send to the host.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Forgets the first `n` bytes of [`Session::output`] (they were sent).
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= self.config.limits.max_events {
            self.events.pop_front();
        }
        if e == Event::ScreenChanged && self.events.back() == Some(&Event::ScreenChanged) {
            return;
        }
        self.events.push_back(e);
    }

    /// Processes bytes received from the host. An error closes the
    /// session: nothing more is accepted and [`Event::Disconnected`] is
    /// queued.
    pub fn receive(&mut self, bytes: &[u8]) -> Result<()> {
        if self.phase == Phase::Closed {
            return Err(Error::NotConnected);
        }
        let result = self.receive_inner(bytes);
        if let Err(e) = &result {
            self.close(e.to_string());
        }
        result
    }

    /// Closes the session with a reason (also queued as an event).
    fn close(&mut self, reason: String) {
        tracing::debug!(%reason, "tn3270 session closed");
        self.phase = Phase::Closed;
        self.input.clear();
        self.input.release_if_empty();
        self.push_event(Event::Disconnected(reason));
    }

    /// Decodes `bytes` after what was left of the last call and handles
    /// every complete item; an unfinished record stays buffered within its
    /// limit.
    fn receive_inner(&mut self, bytes: &[u8]) -> Result<()> {
        // The handler borrows `self`: lend it the buffer (an empty
        // `StreamBuffer` allocates nothing).
        let placeholder = StreamBuffer::with_max_buffered(RecordDecoder::default(), 0);
        let mut input = std::mem::replace(&mut self.input, placeholder);
        let result = input.receive(bytes, |item| {
            self.handle_item(item)?;
            Ok::<_, Error>(if self.phase == Phase::Closed {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        });
        self.input = input;
        result.map_err(|e| match e {
            Error::Codec(ballast_codec::Error::BufferFull { len, limit }) => Error::Limit {
                what: "buffered input bytes",
                limit: limit as u64,
                value: len as u64,
            },
            e => e,
        })
    }

    fn handle_item(&mut self, item: RecordItem<'_>) -> Result<()> {
        match item {
            RecordItem::Telnet(ev) => self.handle_telnet(ev),
            RecordItem::Record(rec) => self.handle_record(&rec),
        }
    }

    fn count_negotiation(&mut self) -> Result<()> {
        self.negotiations += 1;
        let limit = self.config.limits.max_negotiations;
        if self.negotiations > limit {
            return Err(Error::Limit {
                what: "telnet negotiations",
                limit: limit.into(),
                value: self.negotiations.into(),
            });
        }
        Ok(())
    }

    fn handle_telnet(&mut self, ev: TelnetEvent<'_>) -> Result<()> {
        match ev {
            TelnetEvent::Negotiate {
                verb: telnet::Verb::Will | telnet::Verb::Wont,
                option: TIMING_MARK,
            } => {
                self.timing_marks += 1;
                Ok(())
            }
            TelnetEvent::Negotiate { verb, option } => {
                self.count_negotiation()?;
                if let Some(reply) = self.options.receive(verb, option) {
                    telnet::encode_negotiation(reply, option, &mut self.out);
                }
                self.check_plain_mode();
                Ok(())
            }
            TelnetEvent::Subnegotiation { option, body } => {
                self.count_negotiation()?;
                match option {
                    option::TERMINAL_TYPE => self.terminal_type_sub(&body),
                    option::TN3270E => self.tn3270e_sub(&body),
                    _ => Ok(()),
                }
            }
            TelnetEvent::Data(_) | TelnetEvent::Command(_) => Ok(()),
        }
    }

    fn terminal_type_sub(&mut self, body: &[u8]) -> Result<()> {
        if body != [telnet::TTYPE_SEND] {
            return Ok(());
        }
        let mut name = vec![telnet::TTYPE_IS];
        name.extend_from_slice(self.config.terminal_type().as_bytes());
        telnet::encode_subnegotiation(option::TERMINAL_TYPE, &name, &mut self.out);
        Ok(())
    }

    fn tn3270e_sub(&mut self, body: &[u8]) -> Result<()> {
        match Message::decode(body)? {
            Message::SendDeviceType => {
                // `IBM-3278-2-E@LU1` names the LU when `lu` is unset.
                let tt = self.config.terminal_type();
                let (device, suffix) = tt.split_once('@').unwrap_or((&tt, ""));
                let device = device.to_owned();
                let lu = self
                    .config
                    .lu
                    .clone()
                    .or_else(|| (!suffix.is_empty()).then(|| suffix.to_owned()));
                self.send_tn3270e(&Message::DeviceTypeRequest {
                    device_type: device.as_bytes(),
                    connect: lu.as_deref().map(str::as_bytes),
                    associate: None,
                });
            }
            Message::DeviceTypeIs { lu, .. } => {
                self.lu = Some(String::from_utf8_lossy(lu).into_owned());
                self.send_tn3270e(&Message::FunctionsRequest(&SUPPORTED_FUNCTIONS));
            }
            Message::DeviceTypeReject { reason } => {
                return Err(Error::DeviceTypeRejected { reason });
            }
            Message::FunctionsRequest(list) => {
                let agreed: Vec<u8> = list
                    .iter()
                    .copied()
                    .filter(|f| SUPPORTED_FUNCTIONS.contains(f))
                    .collect();
                if agreed.len() == list.len() {
                    self.send_tn3270e(&Message::FunctionsIs(&agreed));
                    self.enter_tn3270e(agreed);
                } else {
                    self.send_tn3270e(&Message::FunctionsRequest(&agreed));
                }
            }
            Message::FunctionsIs(list) => self.enter_tn3270e(list.to_vec()),
            Message::DeviceTypeRequest { .. } => {
                return Err(Error::Protocol("host sent a tn3270e device-type request"));
            }
        }
        Ok(())
    }

    fn send_tn3270e(&mut self, m: &Message<'_>) {
        self.scratch.clear();
        m.encode(&mut self.scratch);
        telnet::encode_subnegotiation(option::TN3270E, &self.scratch, &mut self.out);
    }

    fn enter_tn3270e(&mut self, functions: Vec<u8>) {
        self.functions = functions;
        if self.phase == Phase::Negotiating {
            self.phase = Phase::Tn3270e;
            tracing::debug!(lu = ?self.lu, "tn3270e session established");
            self.push_event(Event::Connected {
                tn3270e: true,
                lu: self.lu.clone(),
            });
        }
    }

    fn check_plain_mode(&mut self) {
        let o = &self.options;
        let ready = [option::END_OF_RECORD, option::BINARY]
            .into_iter()
            .all(|x| o.local_enabled(x) && o.remote_enabled(x))
            && !o.local_enabled(option::TN3270E);
        if ready && self.phase == Phase::Negotiating {
            self.phase = Phase::Tn3270;
            tracing::debug!("tn3270 session established");
            self.push_event(Event::Connected {
                tn3270e: false,
                lu: None,
            });
        }
    }

    fn handle_record(&mut self, rec: &[u8]) -> Result<()> {
        match self.phase {
            Phase::Tn3270 => self.handle_3270(rec, 0),
            Phase::Tn3270e => self.handle_tn3270e_record(rec),
            Phase::Negotiating if rec.is_empty() => Ok(()),
            Phase::Negotiating => Err(Error::Protocol("3270 record before negotiation finished")),
            Phase::Closed => Err(Error::NotConnected),
        }
    }

    fn handle_tn3270e_record(&mut self, rec: &[u8]) -> Result<()> {
        let (header, data) = Header::parse(rec)?;
        if header.data_type != DataType::Data3270 {
            // SCS, responses, BIND (declined), UNBIND, NVT, SSCP-LU: not ours.
            return Ok(());
        }
        let result = self.handle_3270(data, 0);
        let wants_response = self.functions.contains(&function::RESPONSES);
        let response = match (&result, header.response_flag) {
            (Ok(()), RESPONSE_ALWAYS) => Some(Response::Positive),
            (Err(_), RESPONSE_ALWAYS | RESPONSE_ERROR_OR_NEGATIVE) => {
                Some(Response::Negative(tn3270e::NegativeReason::CommandReject))
            }
            _ => None,
        };
        if let (true, Some(r)) = (wants_response, response) {
            tn3270e::encode_record(r.header(header.seq_number), &[r.code()], &mut self.out);
        }
        result
    }

    fn parser(&self) -> OutboundParser {
        let alt = self.screen.alternate_size();
        OutboundParser {
            primary: self.screen.primary_size(),
            alternate: alt,
            alternate_active: self.screen.size() == alt,
            address_mode: self.screen.address_mode(),
        }
    }

    fn handle_3270(&mut self, rec: &[u8], depth: u8) -> Result<()> {
        if rec.is_empty() {
            return Ok(());
        }
        match self.parser().parse(rec)? {
            Outbound::Write {
                command,
                wcc,
                orders,
            } => {
                let was_locked = self.screen.is_locked();
                let effect = apply::apply_write(&mut self.screen, command, wcc, orders);
                self.writes += 1;
                self.push_event(Event::ScreenChanged);
                let effect = effect?;
                if effect.unlocked && was_locked {
                    self.push_event(Event::KeyboardUnlocked);
                }
                if effect.alarm {
                    self.push_event(Event::Alarm);
                }
            }
            Outbound::Read(command) => {
                self.answer_read(command)?;
                self.push_event(Event::ReadRequested(command));
            }
            Outbound::EraseAllUnprotected => {
                let was_locked = self.screen.is_locked();
                apply::erase_all_unprotected(&mut self.screen);
                self.writes += 1;
                self.push_event(Event::ScreenChanged);
                if was_locked {
                    self.push_event(Event::KeyboardUnlocked);
                }
            }
            Outbound::WriteStructuredField(fields) => {
                for sf in fields {
                    self.structured_field(OutboundField::decode(sf?)?, depth)?;
                }
            }
        }
        Ok(())
    }

    fn structured_field(&mut self, f: OutboundField<'_>, depth: u8) -> Result<()> {
        match f {
            OutboundField::ReadPartitionQuery => self.answer_query(None)?,
            OutboundField::ReadPartitionQueryList(QueryListRequest::List(codes)) => {
                self.answer_query(Some(codes))?;
            }
            OutboundField::ReadPartitionQueryList(_) => self.answer_query(None)?,
            OutboundField::EraseReset { alternate } => {
                let size = if alternate {
                    self.screen.alternate_size()
                } else {
                    self.screen.primary_size()
                };
                self.screen.reset(size);
                self.push_event(Event::ScreenChanged);
            }
            OutboundField::Other(sf) if sf.id == SF_OUTBOUND_3270DS => {
                if depth >= MAX_WSF_DEPTH {
                    return Err(Error::Protocol("nested outbound 3270ds structured field"));
                }
                // Partition id, then a 3270 command with its data.
                if let [_partition, record @ ..] = sf.data {
                    if record.first() == Some(&Command::WriteStructuredField.sna_byte()) {
                        return Err(Error::Protocol("structured field inside outbound 3270ds"));
                    }
                    self.handle_3270(record, depth + 1)?;
                }
            }
            OutboundField::Other(_) => {}
        }
        Ok(())
    }

    fn answer_query(&mut self, wanted: Option<&[u8]>) -> Result<()> {
        let mut body = Vec::new();
        query::encode_query_response(&self.replies, wanted, &mut body)?;
        self.send_record(&body);
        self.push_event(Event::QueryAnswered);
        Ok(())
    }

    /// The inbound record answering Read Buffer for the current screen:
    /// the last AID, the cursor, then every cell (SF + attribute for
    /// attribute cells), as the codec's
    /// [`encode_read_buffer`](ballast_codec::tn3270::encode_read_buffer)
    /// writes it.
    pub fn encode_read_buffer(&self, out: &mut Vec<u8>) -> Result<()> {
        ballast_codec::tn3270::encode_read_buffer(self.last_aid, &self.screen, out)?;
        Ok(())
    }

    /// The inbound record for `aid`: Read Modified (the AID alone for
    /// Clear/PA keys), or Read Modified All when `all`, as the codec's
    /// [`encode_read_modified`] and
    /// [`encode_read_modified_all`](ballast_codec::tn3270::encode_read_modified_all)
    /// write them.
    pub fn encode_read_modified(&self, aid: Aid, all: bool, out: &mut Vec<u8>) -> Result<()> {
        if all {
            ballast_codec::tn3270::encode_read_modified_all(aid, &self.screen, out)?;
        } else {
            encode_read_modified(aid, &self.screen, out)?;
        }
        Ok(())
    }

    /// The AID of the last key pressed ([`Aid::NoAid`] before any): what
    /// a Read Buffer answer starts with.
    pub fn last_aid(&self) -> Aid {
        self.last_aid
    }

    fn answer_read(&mut self, command: Command) -> Result<()> {
        let mut body = Vec::new();
        encode_read_reply(command, self.last_aid, &self.screen, &mut body)?;
        self.send_record(&body);
        Ok(())
    }

    /// Frames a 3270 record for the host (with a TN3270E header in
    /// TN3270E mode) and queues it.
    fn send_record(&mut self, body: &[u8]) {
        frame(self.phase, body, &mut self.out);
    }

    /// Presses an AID key: sends the Read Modified answer (the AID alone
    /// for Clear and PA keys) and locks the keyboard. Clear also erases the
    /// screen. [`Aid::SysReq`] is sent as a short read; use
    /// [`Session::attn`] for Attn.
    pub fn press(&mut self, aid: Aid) -> Result<()> {
        if !self.is_connected() {
            return Err(Error::NotConnected);
        }
        if self.screen.is_locked() && aid != Aid::SysReq {
            return Err(Error::KeyboardLocked);
        }
        let mut body = Vec::new();
        if aid == Aid::SysReq {
            encode_short_read(aid, &mut body)?;
        } else {
            encode_read_modified(aid, &self.screen, &mut body)?;
        }
        if aid == Aid::Clear {
            let primary = self.screen.primary_size();
            self.screen.reset(primary);
        }
        self.send_record(&body);
        self.last_aid = aid;
        self.screen.lock_keyboard();
        Ok(())
    }

    /// Attn: sends telnet IAC IP (how TN3270 carries the Attention key).
    pub fn attn(&mut self) -> Result<()> {
        if !self.is_connected() {
            return Err(Error::NotConnected);
        }
        telnet::encode_command(TelnetCommand::InterruptProcess, &mut self.out);
        Ok(())
    }

    /// Queues a telnet NOP, a keepalive the host ignores.
    pub fn keepalive(&mut self) {
        telnet::encode_command(TelnetCommand::Nop, &mut self.out);
    }

    /// Queues telnet `DO TIMING-MARK`, a keepalive the host answers (with
    /// `WILL` or `WONT TIMING-MARK`): see [`Session::timing_marks`].
    pub fn timing_mark(&mut self) {
        telnet::encode_negotiation(telnet::Verb::Do, TIMING_MARK, &mut self.out);
    }

    /// TIMING-MARK answers received so far: a probe sent by
    /// [`Session::timing_mark`] is answered when this grows.
    pub fn timing_marks(&self) -> u64 {
        self.timing_marks
    }

    /// Wire bytes of one 3270 record as this session would frame it (used
    /// by tests and tools that replay recorded exchanges).
    pub fn frame_record(&self, body: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        frame(self.phase, body, &mut s);
        s
    }
}

/// Appends one 3270 record as the session sends it in `phase`: behind a
/// 3270-DATA header in TN3270E mode, bare otherwise.
fn frame(phase: Phase, body: &[u8], out: &mut Vec<u8>) {
    if phase == Phase::Tn3270e {
        tn3270e::encode_record(Header::data_3270(0), body, out);
    } else {
        telnet::encode_record(body, out);
    }
}
