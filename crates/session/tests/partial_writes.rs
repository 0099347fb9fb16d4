//! A stream that takes a few bytes per write and often none at all
//! (`WouldBlock`): the client sends every byte of every answer exactly
//! once, across as many writes and waits as it takes.
#![cfg(feature = "host")]

use std::io::{self, Read, Write};
use std::time::Duration;

use ballast_session::host::{DemoApp, HostConfig, InMemoryHost};
use ballast_session::{Aid, Client, Condition, SessionConfig};

const T: Duration = Duration::from_secs(10);

/// Writes take at most 3 bytes, and every other write takes none
/// (`WouldBlock`), as a non-blocking socket with a full send buffer does.
struct Choppy {
    host: InMemoryHost,
    writes: u64,
}

impl Read for Choppy {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.host.read(buf)
    }
}

impl Write for Choppy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes += 1;
        if self.writes.is_multiple_of(2) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.host.write(&buf[..buf.len().min(3)])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.host.flush()
    }
}

#[test]
fn answers_cut_by_would_block_writes_reach_the_host_whole_and_once() {
    let host = InMemoryHost::new(&HostConfig::default(), DemoApp::default()).unwrap();
    let stream = Choppy { host, writes: 0 };
    let mut c = Client::new(stream, SessionConfig::default()).unwrap();
    c.handshake(T).unwrap();
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    c.type_text("DEMO").unwrap();
    c.tab();
    c.type_text("SECRET").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("MAIN MENU"), "{}", c.screen().text());
    c.fill_input(0, "1").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.fill_input(0, "ACME").unwrap();
    c.fill_input(1, "42").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    let row = c.screen().row(2).unwrap();
    let txid = row.split(": ").nth(1).unwrap_or_default().trim().to_owned();
    let record = c.get_ref().host.store().get(&txid);
    assert_eq!(
        record.map(|r| (r.name, r.amount)),
        Some(("ACME".to_owned(), 42)),
        "{}",
        c.screen().text()
    );
    assert!(c.get_ref().writes > 20, "the answers took many writes");
}
