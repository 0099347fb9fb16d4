//! Interoperability with a real 3270 emulator: s3270 (x3270 suite) connects
//! over loopback to a host made of this crate's pieces — the RFC 1143 table
//! for negotiation, the telnet parser and record decoder, the record builder
//! and the query-reply decoder — and we check what each side sees.
//!
//! Needs `s3270` (Debian package `s3270`). Skipped when missing, unless
//! `CI` is set, where a missing tool fails the test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command as Process, Stdio};
use std::time::Duration;

use ballast_codec::stream::Decode;
use ballast_codec::telnet::negotiation::OptionTable;
use ballast_codec::telnet::{
    self, RecordDecoder, RecordItem, TTYPE_IS, TTYPE_SEND, TelnetEvent, TelnetParser, option,
};
use ballast_codec::tn3270::query::{QueryReply, qcode};
use ballast_codec::tn3270::tn3270e::{self, DataType, Header, Message, Response};
use ballast_codec::tn3270::{
    AddressMode, Aid, Command, Display, FieldAttribute, Inbound, RecordBuilder, ScreenSize, Wcc,
};

/// The emulator, killed when dropped.
struct S3270 {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl S3270 {
    fn start(port: u16) -> Option<Self> {
        let spawned = Process::new("s3270")
            .args(["-model", "3279-2", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "s3270 is required under CI: {e}"
                );
                eprintln!("skipped: s3270 not available ({e})");
                return None;
            }
        };
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout was piped"));
        Some(Self {
            child,
            stdin,
            stdout,
        })
    }

    /// Runs one action; returns its `data:` lines, panics on `error`.
    fn run(&mut self, action: &str) -> Vec<String> {
        self.send(action);
        self.result(action)
    }

    /// Starts an action without waiting for it (AID keys complete only
    /// when the host unlocks the keyboard).
    fn send(&mut self, action: &str) {
        writeln!(self.stdin, "{action}").expect("s3270 reads actions");
    }

    /// Waits for the result of the action started last.
    fn result(&mut self, action: &str) -> Vec<String> {
        let mut data = Vec::new();
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).expect("s3270 output") > 0,
                "s3270 exited"
            );
            let line = line.trim_end_matches(['\r', '\n']);
            match line {
                "ok" => return data,
                "error" => panic!("s3270 action {action} failed: {data:?}"),
                // A blank screen row is `data: ` plus spaces, or just `data:`.
                l => {
                    if let Some(d) = l.strip_prefix("data:") {
                        data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                    }
                }
            }
        }
    }
}

impl Drop for S3270 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The host end of the connection.
struct Host {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Host {
    fn read_more(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self
            .sock
            .read(&mut chunk)
            .expect("read from s3270 within the timeout");
        assert!(n > 0, "s3270 closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Negotiates TERMINAL-TYPE, EOR and BINARY; returns the terminal type.
    fn negotiate(&mut self) -> Vec<u8> {
        let mut table = OptionTable::new();
        let mut out = Vec::new();
        for opt in [option::TERMINAL_TYPE, option::END_OF_RECORD, option::BINARY] {
            if let Some(v) = table.request_remote_enable(opt) {
                telnet::encode_negotiation(v, opt, &mut out);
            }
        }
        for opt in [option::END_OF_RECORD, option::BINARY] {
            if let Some(v) = table.request_local_enable(opt) {
                telnet::encode_negotiation(v, opt, &mut out);
            }
        }
        self.sock.write_all(&out).unwrap();
        let mut terminal_type = None;
        for _ in 0..50 {
            self.read_more();
            let mut used = 0;
            let mut reply = Vec::new();
            while let Ok((ev, n)) = TelnetParser::default().next_event(&self.buf[used..]) {
                used += n;
                match ev {
                    TelnetEvent::Negotiate { verb, option } => {
                        if let Some(v) = table.receive(verb, option) {
                            telnet::encode_negotiation(v, option, &mut reply);
                        }
                        if verb == telnet::Verb::Will && option == option::TERMINAL_TYPE {
                            telnet::encode_subnegotiation(option, &[TTYPE_SEND], &mut reply);
                        }
                    }
                    TelnetEvent::Subnegotiation {
                        option: option::TERMINAL_TYPE,
                        body,
                    } => {
                        assert_eq!(body[0], TTYPE_IS);
                        terminal_type = Some(body[1..].to_vec());
                    }
                    other => panic!("unexpected during negotiation: {other:?}"),
                }
            }
            self.buf.drain(..used);
            self.sock.write_all(&reply).unwrap();
            let binary =
                table.local_enabled(option::BINARY) && table.remote_enabled(option::BINARY);
            let eor = table.local_enabled(option::END_OF_RECORD)
                && table.remote_enabled(option::END_OF_RECORD);
            if let (true, true, Some(tt)) = (binary, eor, &terminal_type) {
                return tt.clone();
            }
        }
        panic!("negotiation did not finish")
    }

    /// Negotiates TN3270E (RFC 2355) as far as the RESPONSES function;
    /// returns the device type the emulator asked for.
    fn negotiate_tn3270e(&mut self) -> Vec<u8> {
        let mut table = OptionTable::new();
        let mut out = Vec::new();
        if let Some(v) = table.request_remote_enable(option::TN3270E) {
            telnet::encode_negotiation(v, option::TN3270E, &mut out);
        }
        self.sock.write_all(&out).unwrap();
        let mut device_type = None;
        for _ in 0..50 {
            self.read_more();
            let mut used = 0;
            let mut reply = Vec::new();
            while let Ok((ev, n)) = TelnetParser::default().next_event(&self.buf[used..]) {
                used += n;
                if let Some(done) = on_tn3270e_event(ev, &mut table, &mut device_type, &mut reply) {
                    self.buf.drain(..used);
                    self.sock.write_all(&reply).unwrap();
                    return done;
                }
            }
            self.buf.drain(..used);
            self.sock.write_all(&reply).unwrap();
        }
        panic!("tn3270e negotiation did not finish")
    }

    fn send_record(&mut self, record: &[u8]) {
        let mut wire = Vec::new();
        telnet::encode_record(record, &mut wire);
        self.sock.write_all(&wire).unwrap();
    }

    /// The next record's wire bytes (with IAC EOR) and its content.
    fn next_record(&mut self) -> (Vec<u8>, Vec<u8>) {
        loop {
            match RecordDecoder::default().decode_frame(&self.buf) {
                Ok((RecordItem::Record(r), used)) => {
                    let out = (self.buf[..used].to_vec(), r.into_owned());
                    self.buf.drain(..used);
                    return out;
                }
                Ok((RecordItem::Telnet(ev), used)) => {
                    eprintln!("ignoring {ev:?} between records");
                    self.buf.drain(..used);
                }
                Err(e) if e.is_incomplete() => self.read_more(),
                Err(e) => panic!("bad record from s3270: {e}"),
            }
        }
    }
}

/// Host side of RFC 2355 negotiation; returns the device type once the
/// functions are agreed.
fn on_tn3270e_event(
    ev: TelnetEvent<'_>,
    table: &mut OptionTable,
    device_type: &mut Option<Vec<u8>>,
    reply: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    let sub = |m: Message<'_>, reply: &mut Vec<u8>| {
        let mut body = Vec::new();
        m.encode(&mut body);
        telnet::encode_subnegotiation(option::TN3270E, &body, reply);
    };
    match ev {
        TelnetEvent::Negotiate { verb, option } => {
            if let Some(v) = table.receive(verb, option) {
                telnet::encode_negotiation(v, option, reply);
            }
            if table.remote_enabled(option::TN3270E) && option == option::TN3270E {
                sub(Message::SendDeviceType, reply);
            }
        }
        TelnetEvent::Subnegotiation {
            option: option::TN3270E,
            body,
        } => match Message::decode(&body).expect("valid tn3270e message from s3270") {
            Message::DeviceTypeRequest {
                device_type: dt, ..
            } => {
                *device_type = Some(dt.to_vec());
                sub(
                    Message::DeviceTypeIs {
                        device_type: dt,
                        lu: b"TESTLU01",
                    },
                    reply,
                );
            }
            Message::FunctionsRequest(list) if list == [tn3270e::function::RESPONSES] => {
                sub(Message::FunctionsIs(list), reply);
                return device_type.clone();
            }
            Message::FunctionsRequest(_) => {
                sub(
                    Message::FunctionsRequest(&[tn3270e::function::RESPONSES]),
                    reply,
                );
            }
            Message::FunctionsIs(list) => {
                assert_eq!(list, [tn3270e::function::RESPONSES]);
                return device_type.clone();
            }
            other => panic!("unexpected tn3270e message {other:?}"),
        },
        other => panic!("unexpected during tn3270e negotiation: {other:?}"),
    }
    None
}

fn login_screen() -> Vec<u8> {
    RecordBuilder::new(Command::EraseWrite, Wcc(0xC3), ScreenSize::MODEL_2)
        .sba(0, 30)
        .start_field(
            FieldAttribute::new()
                .protect()
                .display(Display::Intensified),
        )
        .text_str("BALLAST TEST HOST")
        .sba(2, 0)
        .start_field(FieldAttribute::new().protect())
        .text_str("NAME:")
        .sba(2, 10)
        .start_field(FieldAttribute::new())
        .insert_cursor()
        .sba(2, 30)
        .start_field(FieldAttribute::new().protect())
        .finish()
        .expect("screen fits")
}

#[test]
fn s3270_answers_query_renders_screen_and_sends_enter_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let Some(mut emulator) = S3270::start(port) else {
        return;
    };
    let (sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut host = Host {
        sock,
        buf: Vec::new(),
    };

    let terminal_type = host.negotiate();
    assert_eq!(terminal_type, b"IBM-3279-2-E");

    // Read Partition Query: the emulator answers with query replies.
    host.send_record(&[0xF3, 0x00, 0x05, 0x01, 0xFF, 0x02]);
    let (_, answer) = host.next_record();
    let inbound = Inbound::parse(&answer, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
    assert_eq!(inbound.aid, Aid::StructuredField);
    let replies: Vec<QueryReply<'_>> = inbound
        .structured_fields()
        .map(|sf| QueryReply::decode(sf.unwrap()).unwrap())
        .collect();
    let QueryReply::Summary(codes) = &replies[0] else {
        panic!("summary first: {replies:?}")
    };
    for code in [
        qcode::USABLE_AREA,
        qcode::COLOR,
        qcode::HIGHLIGHT,
        qcode::IMPLICIT_PARTITION,
    ] {
        assert!(codes.contains(&code), "summary lists {code:#x}: {codes:?}");
    }
    let usable = replies.iter().find_map(|r| match r {
        QueryReply::UsableArea(u) => Some(*u),
        _ => None,
    });
    assert_eq!(usable.map(|u| u.size), Some(ScreenSize::MODEL_2));

    // The screen as the emulator shows it.
    host.send_record(&login_screen());
    emulator.run("Wait(10,InputField)");
    let rows = emulator.run("Ascii()");
    assert!(rows[0].contains("BALLAST TEST HOST"), "{rows:?}");
    assert!(rows[2].trim_start().starts_with("NAME:"), "{rows:?}");

    // Typing "hello" and pressing Enter gives the known wire bytes.
    emulator.run("String(hello)");
    emulator.send("Enter");
    let (wire, record) = host.next_record();
    let unlock = RecordBuilder::new(Command::Write, Wcc(0xC3), ScreenSize::MODEL_2)
        .finish()
        .unwrap();
    host.send_record(&unlock);
    emulator.result("Enter");
    assert_eq!(
        wire,
        [
            0x7d, 0xc2, 0xf0, 0x11, 0xc2, 0x6b, 0x88, 0x85, 0x93, 0x93, 0x96, 0xff, 0xef
        ]
    );
    let enter = Inbound::parse(&record, ScreenSize::MODEL_2, AddressMode::default()).unwrap();
    assert_eq!((enter.aid, enter.cursor), (Aid::Enter, Some(2 * 80 + 16)));
}

#[test]
fn s3270_speaks_tn3270e_headers_responses_and_device_type() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let Some(mut emulator) = S3270::start(port) else {
        return;
    };
    let (sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut host = Host {
        sock,
        buf: Vec::new(),
    };

    // RFC 2355: color terminals still ask for a 3278 type in TN3270E.
    assert_eq!(host.negotiate_tn3270e(), b"IBM-3278-2-E");

    // A screen that asks for a response.
    let header = Header {
        data_type: DataType::Data3270,
        request_flag: 0,
        response_flag: tn3270e::RESPONSE_ALWAYS,
        seq_number: 7,
    };
    let mut record = header.to_bytes().to_vec();
    record.extend_from_slice(&login_screen());
    host.send_record(&record);
    let (_, response) = host.next_record();
    let (h, data) = Header::parse(&response).unwrap();
    assert_eq!((h.data_type, h.seq_number), (DataType::Response, 7));
    assert_eq!(Response::decode(&h, data).unwrap(), Response::Positive);

    emulator.run("Wait(10,InputField)");
    let rows = emulator.run("Ascii()");
    assert!(rows[2].trim_start().starts_with("NAME:"), "{rows:?}");
    emulator.run("String(hello)");
    emulator.send("Enter");
    let (_, answer) = host.next_record();
    let (h, data) = Header::parse(&answer).unwrap();
    assert_eq!(h.data_type, DataType::Data3270);
    assert_eq!(
        data,
        [
            0x7d, 0xc2, 0xf0, 0x11, 0xc2, 0x6b, 0x88, 0x85, 0x93, 0x93, 0x96
        ]
    );
    let mut unlock = Header {
        response_flag: 0,
        seq_number: 8,
        ..header
    }
    .to_bytes()
    .to_vec();
    unlock.extend_from_slice(&[0xF1, 0xC3]);
    host.send_record(&unlock);
    emulator.result("Enter");
}
