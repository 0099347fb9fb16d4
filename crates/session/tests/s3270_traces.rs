//! Our session replays exchanges recorded from s3270 traces
//! (`tests/fixtures/s3270-*.hex`): it decodes what the host sent to s3270,
//! and answers the same keystrokes with the same bytes s3270 sent.

use ballast_session::{Aid, Model, Session, SessionConfig};

/// One direction's chunk of a trace.
#[derive(Debug)]
struct Chunk {
    from_host: bool,
    bytes: Vec<u8>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("fixture is hex"))
        .collect()
}

fn chunks(fixture: &str) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    for line in fixture.lines().filter(|l| !l.starts_with('#')) {
        let mut parts = line.split_whitespace();
        let (Some(dir), Some(offset), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if offset == "0x0" {
            out.push(Chunk {
                from_host: dir == "<",
                bytes: Vec::new(),
            });
        }
        out.last_mut()
            .expect("a chunk starts at 0x0")
            .bytes
            .extend(hex(data));
    }
    out
}

/// Replays a trace; returns (our bytes, s3270's bytes) for every 3270
/// record s3270 sent, plus all negotiation bytes of both.
fn replay(fixture: &str, config: SessionConfig) -> (Vec<u8>, Vec<u8>, Session) {
    let mut s = Session::new(config).unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for c in chunks(fixture) {
        if c.from_host {
            s.receive(&c.bytes).unwrap();
            continue;
        }
        if c.bytes.first() != Some(&0xFF) && s.output().is_empty() {
            // s3270 sent a 3270 record: the keys the fixture header names.
            let screen = s.screen_mut();
            screen.type_text("DEMO").unwrap();
            screen.tab();
            screen.type_text("SECRET").unwrap();
            s.press(Aid::Enter).unwrap();
        }
        theirs.extend_from_slice(&c.bytes);
        let n = s.output().len().min(c.bytes.len());
        ours.extend_from_slice(&s.output()[..n]);
        s.consume_output(n);
    }
    (ours, theirs, s)
}

#[test]
fn plain_tn3270_trace_replays_byte_for_byte() {
    let config = SessionConfig {
        terminal_type: Some("IBM-3279-2-E".into()),
        tn3270e: false,
        ..SessionConfig::default()
    };
    let (ours, theirs, s) = replay(include_str!("fixtures/s3270-plain.hex"), config);
    assert_eq!(
        ours, theirs,
        "negotiation replies and the Enter record match s3270"
    );
    assert!(s.screen().contains("MAIN MENU"));
    assert!(s.screen().contains("USER DEMO"));
    assert!(!s.screen().is_locked());
}

#[test]
fn tn3270e_trace_decodes_and_sends_the_same_enter_record() {
    let config = SessionConfig {
        model: Model::Model4,
        ..SessionConfig::default()
    };
    let fixture = include_str!("fixtures/s3270-tn3270e.hex");
    let (ours, theirs, s) = replay(fixture, config);
    assert!(s.is_tn3270e());
    assert_eq!(s.lu(), Some("BLST0001"));
    // Compare the 3270 data records (header type 0, after the negotiation):
    // s3270 also asks for BIND-IMAGE and SYSREQ, which we decline.
    let record = |b: &[u8]| {
        let at = b
            .windows(6)
            .position(|w| w == [0, 0, 0, 0, 0, 0x7D])
            .expect("enter record");
        b[at..].to_vec()
    };
    assert_eq!(record(&ours), record(&theirs));
    assert!(s.screen().contains("MAIN MENU"));
}
