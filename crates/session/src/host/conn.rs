//! The host side of one connection, without I/O: negotiation (plain
//! TN3270 and TN3270E), inbound records, and the application's screens.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use ballast_codec::stream::StreamBuffer;
use ballast_codec::telnet::negotiation::OptionTable;
use ballast_codec::telnet::{
    self, RecordDecoder, RecordItem, TelnetEvent, TelnetParser, Verb, option,
};
use ballast_codec::tn3270::tn3270e::{self, DataType, Header, Message, function};
use ballast_codec::tn3270::{AddressMode, Aid, CodePage, Inbound, ScreenSize};

use super::app::{AppContext, Application, Input, Reply, ScreenDef};
use crate::error::{Error, Result};

/// Functions the simulator agrees to in TN3270E.
const HOST_FUNCTIONS: [u8; 1] = [function::RESPONSES];
/// Longest subnegotiation body accepted from a client: 1 KiB.
const MAX_HOST_SUBNEGOTIATION_LEN: usize = 1024;
/// Negotiations and subnegotiations accepted per connection (telnet
/// commands such as NOP keepalives are not counted).
const MAX_HOST_NEGOTIATIONS: u32 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Negotiating,
    Plain,
    Extended,
    Closed,
}

/// One simulated host connection.
pub(crate) struct HostConn {
    app: Arc<dyn Application>,
    ctx: AppContext,
    phase: Phase,
    /// Negotiation finished at some point (the phase forgets it on close).
    negotiated: bool,
    options: OptionTable,
    /// Output high-water mark: decoding stops while `out` holds this much.
    max_pending_output: usize,
    /// Input not decoded yet: an unfinished record waiting for IAC EOR
    /// (at most `max_pending_input` bytes), or, while `out` is at the
    /// high-water mark, records held back until the client reads its
    /// answers.
    input: StreamBuffer<RecordDecoder>,
    /// Bytes for the client; the owner takes them and drains what it sent.
    pub(crate) out: Vec<u8>,
    terminal_type: String,
    screen: Option<ScreenDef>,
    seq: u16,
    negotiations: u32,
    lu_name: String,
}

impl HostConn {
    /// A connection that starts negotiating at once (see `out`).
    pub(crate) fn new(
        app: Arc<dyn Application>,
        ctx: AppContext,
        tn3270e: bool,
        max_record_len: usize,
        max_pending_input: usize,
        max_pending_output: usize,
        lu_name: String,
    ) -> Self {
        let mut options = OptionTable::new();
        for o in [option::TERMINAL_TYPE, option::END_OF_RECORD, option::BINARY] {
            options.accept_remote(o, true);
        }
        options.accept_remote(option::TN3270E, tn3270e);
        for o in [option::END_OF_RECORD, option::BINARY] {
            options.accept_local(o, true);
        }
        let mut me = Self {
            app,
            ctx,
            phase: Phase::Negotiating,
            negotiated: false,
            options,
            max_pending_output,
            input: StreamBuffer::with_max_buffered(
                RecordDecoder {
                    max_record_len,
                    parser: TelnetParser {
                        max_subnegotiation_len: MAX_HOST_SUBNEGOTIATION_LEN,
                    },
                },
                max_pending_input,
            ),
            out: Vec::new(),
            terminal_type: String::new(),
            screen: None,
            seq: 0,
            negotiations: 0,
            lu_name,
        };
        let first = if tn3270e {
            option::TN3270E
        } else {
            option::TERMINAL_TYPE
        };
        me.request_remote(first);
        me
    }

    fn request_remote(&mut self, o: u8) {
        if let Some(v) = self.options.request_remote_enable(o) {
            telnet::encode_negotiation(v, o, &mut self.out);
        }
    }

    fn request_local(&mut self, o: u8) {
        if let Some(v) = self.options.request_local_enable(o) {
            telnet::encode_negotiation(v, o, &mut self.out);
        }
    }

    /// True once the application asked to end the session (or an error did).
    pub(crate) fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Ends the session now (the idle timeout passed): pending output and
    /// held input are dropped, no more input is decoded.
    pub(crate) fn close(&mut self) {
        self.phase = Phase::Closed;
        self.out = Vec::new();
        self.input.clear();
        self.input.release_if_empty();
    }

    /// True until telnet (and TN3270E) negotiation has finished.
    pub(crate) fn is_negotiating(&self) -> bool {
        self.phase == Phase::Negotiating
    }

    /// Negotiation finished at some point of the session.
    pub(crate) fn negotiated(&self) -> bool {
        self.negotiated
    }

    /// The terminal type the client announced.
    pub(crate) fn terminal_type(&self) -> &str {
        &self.terminal_type
    }

    /// Processes received bytes; an error closes the connection.
    ///
    /// Complete records are decoded straight from `bytes` (by the codec's
    /// `StreamBuffer`); only what is left is kept, and the buffer holding
    /// it is released once it is decoded, so an idle connection holds no
    /// input buffer. Decoding stops while `out` is at the high-water mark
    /// ([`HostConn::output_full`]): the rest is held, and
    /// [`HostConn::resume`] decodes it once the owner has sent enough. The
    /// owner reads no more input meanwhile, so held input is at most one
    /// `bytes` plus an unfinished record; bytes that still arrive while
    /// the output is full are held only within `max_pending_input`. An
    /// unfinished record may not exceed `max_pending_input` (memory stays
    /// below it plus one `bytes`); complete records are never counted.
    pub(crate) fn receive(&mut self, bytes: &[u8]) -> Result<()> {
        let result = self.receive_inner(bytes);
        if result.is_err() {
            self.phase = Phase::Closed;
        }
        // Input after the session ended (the application disconnected) is
        // never decoded: drop it rather than keep it.
        if self.phase == Phase::Closed {
            self.input.clear();
        }
        self.input.release_if_empty();
        result
    }

    fn receive_inner(&mut self, bytes: &[u8]) -> Result<()> {
        if self.phase == Phase::Closed {
            return Ok(());
        }
        if self.output_full() {
            // A writer that ignores the backpressure (the in-memory host's
            // client): hold the bytes, within the input limit.
            return self.input.feed(bytes).map_err(input_limit);
        }
        // The handler borrows `self`: lend it the buffer (an empty
        // `StreamBuffer` allocates nothing).
        let placeholder = StreamBuffer::with_max_buffered(RecordDecoder::default(), 0);
        let mut input = std::mem::replace(&mut self.input, placeholder);
        let result = input.receive(bytes, |item| {
            let before = self.out.len();
            match item {
                RecordItem::Telnet(ev) => self.telnet(ev),
                RecordItem::Record(rec) => self.record(&rec),
            }?;
            self.answer_fits(before)?;
            Ok::<_, Error>(if self.phase == Phase::Closed || self.output_full() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        });
        self.input = input;
        result.map_err(|e| match e {
            Error::Codec(e) => input_limit(e),
            e => e,
        })
    }

    /// Decodes input held back by [`HostConn::output_full`] (the owner has
    /// since sent some output, see `out`); true when some was decoded.
    pub(crate) fn resume(&mut self) -> Result<bool> {
        let held = self.input.buffered();
        if held == 0 || self.output_full() {
            return Ok(false);
        }
        self.receive(&[])?;
        Ok(self.input.buffered() < held)
    }

    /// True while `out` is at the high-water mark (`max_pending_output`):
    /// take no more input until the client has read some of it.
    pub(crate) fn output_full(&self) -> bool {
        self.out.len() >= self.max_pending_output
    }

    /// The output high-water mark, `max_pending_output`.
    pub(crate) fn high_water(&self) -> usize {
        self.max_pending_output
    }

    /// Errors when the answer to one item (what `out` gained past
    /// `before`) is larger than `max_pending_output` on its own: pending
    /// output stays below twice the limit.
    fn answer_fits(&self, before: usize) -> Result<()> {
        let answer = self.out.len().saturating_sub(before);
        if answer > self.max_pending_output {
            return Err(Error::Limit {
                what: "answer bytes",
                limit: self.max_pending_output as u64,
                value: answer as u64,
            });
        }
        Ok(())
    }

    fn telnet(&mut self, ev: TelnetEvent<'_>) -> Result<()> {
        // Commands (a NOP keepalive, Attn) cost nothing and get no answer;
        // only what the host answers counts towards the limit.
        if matches!(ev, TelnetEvent::Data(_) | TelnetEvent::Command(_)) {
            return Ok(());
        }
        // A TIMING-MARK probe (a client's keepalive) is answered every time
        // and changes no option state, so it is not counted either; the
        // output high-water mark bounds a client that floods them.
        if let TelnetEvent::Negotiate {
            verb: Verb::Do,
            option: crate::session::TIMING_MARK,
        } = ev
        {
            telnet::encode_negotiation(Verb::Will, crate::session::TIMING_MARK, &mut self.out);
            return Ok(());
        }
        self.negotiations += 1;
        if self.negotiations > MAX_HOST_NEGOTIATIONS {
            return Err(Error::Limit {
                what: "telnet negotiations",
                limit: MAX_HOST_NEGOTIATIONS.into(),
                value: self.negotiations.into(),
            });
        }
        match ev {
            TelnetEvent::Negotiate { verb, option } => self.negotiate(verb, option),
            TelnetEvent::Subnegotiation { option, body } => match option {
                option::TERMINAL_TYPE => self.terminal_type_is(&body),
                option::TN3270E => self.tn3270e_sub(&body),
                _ => Ok(()),
            },
            TelnetEvent::Data(_) | TelnetEvent::Command(_) => Ok(()),
        }
    }

    fn negotiate(&mut self, verb: Verb, o: u8) -> Result<()> {
        if let Some(reply) = self.options.receive(verb, o) {
            telnet::encode_negotiation(reply, o, &mut self.out);
        }
        match (o, verb) {
            (option::TN3270E, Verb::Will) if self.options.remote_enabled(o) => {
                let mut body = Vec::new();
                Message::SendDeviceType.encode(&mut body);
                telnet::encode_subnegotiation(option::TN3270E, &body, &mut self.out);
            }
            (option::TN3270E, Verb::Wont) => self.request_remote(option::TERMINAL_TYPE),
            (option::TERMINAL_TYPE, Verb::Will) if self.options.remote_enabled(o) => {
                telnet::encode_subnegotiation(
                    option::TERMINAL_TYPE,
                    &[telnet::TTYPE_SEND],
                    &mut self.out,
                );
            }
            _ => {}
        }
        self.start_plain_when_ready()
    }

    /// Starts plain TN3270 once the terminal type is known and EOR and
    /// BINARY are on both ways, whichever of them came last (a client may
    /// offer EOR and BINARY before it names its terminal).
    fn start_plain_when_ready(&mut self) -> Result<()> {
        let o = &self.options;
        let plain = [option::END_OF_RECORD, option::BINARY]
            .into_iter()
            .all(|x| o.local_enabled(x) && o.remote_enabled(x));
        if plain && self.phase == Phase::Negotiating && !self.terminal_type.is_empty() {
            self.phase = Phase::Plain;
            self.negotiated = true;
            return self.start_app();
        }
        Ok(())
    }

    fn terminal_type_is(&mut self, body: &[u8]) -> Result<()> {
        let [telnet::TTYPE_IS, name @ ..] = body else {
            return Ok(());
        };
        if name.is_empty() || name.len() > tn3270e::MAX_NAME_LEN {
            return Err(Error::Protocol("terminal type name length"));
        }
        self.terminal_type = String::from_utf8_lossy(name).into_owned();
        for o in [option::END_OF_RECORD, option::BINARY] {
            self.request_remote(o);
            self.request_local(o);
        }
        self.start_plain_when_ready()
    }

    fn send_sub(&mut self, m: &Message<'_>) {
        let mut body = Vec::new();
        m.encode(&mut body);
        telnet::encode_subnegotiation(option::TN3270E, &body, &mut self.out);
    }

    fn tn3270e_sub(&mut self, body: &[u8]) -> Result<()> {
        match Message::decode(body)? {
            Message::DeviceTypeRequest {
                device_type,
                connect,
                ..
            } => {
                self.terminal_type = String::from_utf8_lossy(device_type).into_owned();
                let lu = connect.map_or_else(
                    || self.lu_name.clone(),
                    |l| String::from_utf8_lossy(l).into_owned(),
                );
                self.ctx.lu = Some(lu.clone());
                self.send_sub(&Message::DeviceTypeIs {
                    device_type,
                    lu: lu.as_bytes(),
                });
            }
            Message::FunctionsRequest(list) => {
                let agreed: Vec<u8> = list
                    .iter()
                    .copied()
                    .filter(|f| HOST_FUNCTIONS.contains(f))
                    .collect();
                if agreed.len() == list.len() {
                    self.send_sub(&Message::FunctionsIs(&agreed));
                    return self.enter_extended();
                }
                self.send_sub(&Message::FunctionsRequest(&agreed));
            }
            Message::FunctionsIs(_) => return self.enter_extended(),
            _ => {
                return Err(Error::Protocol(
                    "unexpected tn3270e subnegotiation from client",
                ));
            }
        }
        Ok(())
    }

    fn enter_extended(&mut self) -> Result<()> {
        if self.phase != Phase::Negotiating {
            return Ok(());
        }
        self.phase = Phase::Extended;
        self.negotiated = true;
        self.start_app()
    }

    fn size(&self) -> ScreenSize {
        ScreenSize::MODEL_2
    }

    fn start_app(&mut self) -> Result<()> {
        tracing::debug!(terminal_type = %self.terminal_type, "simulated session started");
        let reply = self.app.start(&mut self.ctx);
        self.apply(reply)
    }

    fn apply(&mut self, reply: Reply) -> Result<()> {
        match reply {
            Reply::Show(screen) => {
                let extended = self.phase == Phase::Extended
                    || self.terminal_type.ends_with("-E")
                    || self.terminal_type.starts_with("IBM-DYNAMIC");
                let rec = screen.render(self.size(), &self.ctx.vars, extended)?;
                self.send_record(&rec);
                self.screen = Some(screen);
                Ok(())
            }
            Reply::Disconnect => {
                self.phase = Phase::Closed;
                Ok(())
            }
        }
    }

    fn send_record(&mut self, body: &[u8]) {
        if self.phase == Phase::Extended {
            tn3270e::encode_record(Header::data_3270(self.seq), body, &mut self.out);
            self.seq = self.seq.wrapping_add(1);
        } else {
            telnet::encode_record(body, &mut self.out);
        }
    }

    fn record(&mut self, rec: &[u8]) -> Result<()> {
        let body = match self.phase {
            Phase::Plain => rec,
            Phase::Extended => {
                let (h, data) = Header::parse(rec)?;
                if h.data_type != DataType::Data3270 {
                    return Ok(());
                }
                data
            }
            Phase::Negotiating if rec.is_empty() => return Ok(()),
            _ => return Err(Error::Protocol("record before negotiation finished")),
        };
        if body.is_empty() {
            return Ok(());
        }
        let inbound = Inbound::parse(body, self.size(), AddressMode::TwelveFourteen)?;
        let input = self.decode_input(&inbound)?;
        tracing::trace!(?input, "simulated host input");
        if input.aid == Aid::Clear {
            let reply = match &self.screen {
                Some(s) => Reply::Show(s.clone()),
                None => self.app.start(&mut self.ctx),
            };
            return self.apply(reply);
        }
        let reply = self.app.on_input(&mut self.ctx, &input);
        self.apply(reply)
    }

    fn decode_input(&self, inbound: &Inbound<'_>) -> Result<Input> {
        let mut fields = HashMap::new();
        let map = self
            .screen
            .as_ref()
            .map(|s| s.input_map(self.size()))
            .unwrap_or_default();
        for f in inbound.fields() {
            let (address, data) = f?;
            if let Some((name, _, len)) = map.iter().find(|(_, a, _)| *a == address) {
                let take = data.len().min(usize::from(*len));
                let text = CodePage::Cp037.decode_str(&data[..take]);
                let text = text.trim_end_matches(['\0', ' ']).to_owned();
                fields.insert(name.clone(), text);
            }
        }
        Ok(Input {
            aid: inbound.aid,
            fields,
        })
    }
}

/// The host's limit error for an unfinished record over
/// `max_pending_input`; other codec errors as they are.
fn input_limit(e: ballast_codec::Error) -> Error {
    match e {
        ballast_codec::Error::BufferFull { len, limit } => Error::Limit {
            what: "pending input bytes",
            limit: limit as u64,
            value: len as u64,
        },
        e => Error::Codec(e),
    }
}
