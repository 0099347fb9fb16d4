//! The record store's journal: what an insert acknowledges is in the
//! journal, a restart reads it back, and a journal that cannot be written
//! fails the insert (and the demo application says so).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ballast_session::host::{
    DemoApp, HostConfig, HostSimulator, MAX_JOURNAL_LINE, RecordStore, StoredRecord,
};
use ballast_session::{Aid, Client, Condition, Error, SessionConfig};

const T: Duration = Duration::from_secs(10);

/// A journal sink whose bytes the test can read.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How a [`FailingSink`] fails.
#[derive(Clone, Copy)]
enum Failure {
    /// Every write fails before taking a byte.
    Write,
    /// Writes take 10 bytes, then fail.
    Partway,
    /// Writes succeed, flushes fail.
    Flush,
}

struct FailingSink {
    failure: Failure,
    taken: SharedBuf,
}

impl Write for FailingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.failure {
            Failure::Write => Err(io::Error::other("disk full")),
            Failure::Partway if self.taken.bytes().len() >= 10 => {
                Err(io::Error::other("disk full"))
            }
            Failure::Partway => self.taken.write(&buf[..buf.len().min(10)]),
            Failure::Flush => self.taken.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.failure {
            Failure::Flush => Err(io::Error::other("flush failed")),
            Failure::Write | Failure::Partway => Ok(()),
        }
    }
}

fn failing(failure: Failure) -> (RecordStore, SharedBuf) {
    let taken = SharedBuf::default();
    let sink = FailingSink {
        failure,
        taken: taken.clone(),
    };
    (RecordStore::journaled(Vec::new(), Box::new(sink)), taken)
}

#[test]
fn journal_round_trips_records_with_any_characters_and_txids_continue() {
    let buf = SharedBuf::default();
    let store = RecordStore::journaled(Vec::new(), Box::new(buf.clone()));
    let names = [
        "ACME",
        "say \"hi\"\\",
        "two\nlines",
        "tab\there",
        "café ✓ {x}",
        "",
    ];
    for (i, name) in names.iter().enumerate() {
        let txid = store.insert("DEMO", name, i as u64).expect("stored");
        // Acknowledged means journaled: the line is there when insert returns.
        let journal = RecordStore::read_journal(&buf.bytes()[..]).expect("a clean journal");
        assert_eq!(journal.last().map(|r| &r.txid), Some(&txid));
    }
    let bytes = buf.bytes();
    assert_eq!(
        bytes.iter().filter(|&&b| b == b'\n').count(),
        names.len(),
        "one line per record"
    );
    let recovered = RecordStore::read_journal(&bytes[..]).expect("a clean journal");
    assert_eq!(recovered, store.all());

    let restarted = RecordStore::journaled(recovered, Box::new(SharedBuf::default()));
    assert_eq!(restarted.all(), store.all());
    let txid = restarted
        .insert("DEMO", "AFTER RESTART", 7)
        .expect("stored");
    assert_eq!(txid, format!("T{:07}", names.len() + 1));
    assert_eq!(
        restarted.get("T0000002").map(|r| r.name),
        Some(names[1].to_owned())
    );
}

#[test]
fn torn_last_line_is_dropped() {
    let buf = SharedBuf::default();
    let store = RecordStore::journaled(Vec::new(), Box::new(buf.clone()));
    store.insert("DEMO", "ONE", 1).expect("stored");
    store.insert("DEMO", "TWO", 2).expect("stored");
    let mut bytes = buf.bytes();
    // A crash in the middle of the third line.
    bytes.extend_from_slice(br#"{"txid":"T0000003","user":"DEMO","na"#);
    let recovered = RecordStore::read_journal(&bytes[..]).expect("torn tail dropped");
    assert_eq!(recovered, store.all());
    // Even a whole object without its newline was never acknowledged.
    let mut bytes = buf.bytes();
    bytes.extend_from_slice(br#"{"txid":"T0000003","user":"DEMO","name":"X","amount":3}"#);
    assert_eq!(RecordStore::read_journal(&bytes[..]).unwrap().len(), 2);
}

#[test]
fn corrupt_middle_line_is_an_error_naming_its_line() {
    let buf = SharedBuf::default();
    let store = RecordStore::journaled(Vec::new(), Box::new(buf.clone()));
    for name in ["ONE", "TWO", "THREE"] {
        store.insert("DEMO", name, 1).expect("stored");
    }
    let text = String::from_utf8(buf.bytes()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = r#"{"txid":"T0000002","user":"DEMO","name":"TWO","amou"#;
    let corrupt = lines.join("\n") + "\n";
    let err = RecordStore::read_journal(corrupt.as_bytes()).expect_err("corrupt");
    assert!(matches!(err, Error::Journal { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");

    lines[1] = r#"{"txid":"X2","user":"DEMO","name":"TWO","amount":1}"#;
    let bad_txid = lines.join("\n") + "\n";
    let err = RecordStore::read_journal(bad_txid.as_bytes()).expect_err("bad txid");
    assert!(matches!(err, Error::Journal { line: 2, .. }), "{err}");
}

#[test]
fn overlong_journal_line_is_an_error_not_a_buffer() {
    let line = vec![b'x'; MAX_JOURNAL_LINE + 10];
    let err = RecordStore::read_journal(&line[..]).expect_err("too long");
    assert!(matches!(err, Error::Journal { line: 1, .. }), "{err}");
    let store = RecordStore::journaled(Vec::new(), Box::new(SharedBuf::default()));
    let huge = "N".repeat(MAX_JOURNAL_LINE);
    let err = store
        .insert("DEMO", &huge, 1)
        .expect_err("line over the limit");
    assert!(matches!(err, Error::Limit { .. }), "{err}");
    assert!(store.all().is_empty());
    assert_eq!(store.insert("DEMO", "SMALL", 1).unwrap(), "T0000001");
}

#[test]
fn failing_journal_fails_the_insert_and_keeps_nothing() {
    for failure in [Failure::Write, Failure::Partway, Failure::Flush] {
        let (store, _) = failing(failure);
        let err = store
            .insert("DEMO", "ACME", 42)
            .expect_err("journal failed");
        assert!(matches!(err, Error::Io(_)), "{err}");
        assert!(store.all().is_empty(), "no record without its journal line");
        assert_eq!(store.get("T0000001"), None);
    }
}

#[test]
fn a_write_that_failed_partway_stops_later_inserts_a_clean_failure_does_not() {
    let (store, taken) = failing(Failure::Partway);
    store.insert("DEMO", "ACME", 42).expect_err("torn");
    let err = store.insert("DEMO", "ACME", 43).expect_err("journal torn");
    assert!(err.to_string().contains("torn"), "{err}");
    assert_eq!(
        taken.bytes().len(),
        10,
        "nothing written after the fragment"
    );

    // A flush failure leaves whole lines only: later inserts go on, and the
    // maybe-written record's id is not reused.
    let buf = SharedBuf::default();
    let flaky = Arc::new(Mutex::new(true));
    struct FlakyFlush(SharedBuf, Arc<Mutex<bool>>);
    impl Write for FlakyFlush {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            if std::mem::take(&mut *self.1.lock().unwrap()) {
                return Err(io::Error::other("flush failed once"));
            }
            Ok(())
        }
    }
    let store = RecordStore::journaled(
        Vec::new(),
        Box::new(FlakyFlush(buf.clone(), Arc::clone(&flaky))),
    );
    store.insert("DEMO", "LOST?", 1).expect_err("flush failed");
    assert_eq!(store.insert("DEMO", "NEXT", 2).unwrap(), "T0000002");
    let journal = RecordStore::read_journal(&buf.bytes()[..]).unwrap();
    let txids: Vec<&str> = journal.iter().map(|r| r.txid.as_str()).collect();
    assert_eq!(
        txids,
        ["T0000001", "T0000002"],
        "the journal stays readable"
    );
}

fn sign_on_and_enter(c: &mut Client<std::net::TcpStream>, name: &str, amount: &str) {
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();
    c.type_text("DEMO").unwrap();
    c.tab();
    c.type_text("SECRET").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.wait_for(Condition::Text("MAIN MENU".into()), T).unwrap();
    c.type_text("1").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.wait_for(Condition::Text("RECORD ENTRY".into()), T)
        .unwrap();
    c.type_text(name).unwrap();
    c.tab();
    c.type_text(amount).unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
}

#[test]
fn demo_app_shows_store_failed_when_the_journal_fails_and_the_session_goes_on() {
    let (store, _) = failing(Failure::Write);
    let host =
        HostSimulator::start_shared(HostConfig::default(), Arc::new(DemoApp::default()), store)
            .expect("host");
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).expect("client");
    sign_on_and_enter(&mut c, "ACME", "42");
    c.wait_for(Condition::Text("STORE FAILED".into()), T)
        .expect("the failure is shown");
    let text = c.screen().text();
    assert!(text.contains("RECORD NOT STORED"), "{text}");
    assert!(
        text.contains("DISK FULL") || text.contains("disk full"),
        "{text}"
    );
    assert!(!text.contains("TRANSACTION ID"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(host.records().is_empty());
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.wait_for(Condition::Text("MAIN MENU".into()), T)
        .expect("back to the menu");
    host.stop();
}

#[test]
fn journaled_host_acknowledges_only_what_its_journal_holds() {
    let buf = SharedBuf::default();
    let store = RecordStore::journaled(Vec::new(), Box::new(buf.clone()));
    let host =
        HostSimulator::start_shared(HostConfig::default(), Arc::new(DemoApp::default()), store)
            .expect("host");
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).expect("client");
    sign_on_and_enter(&mut c, "ACME \"EAST\"", "42");
    c.wait_for(Condition::Text("TRANSACTION ID".into()), T)
        .expect("stored");
    host.stop();
    let recovered: Vec<StoredRecord> = RecordStore::read_journal(&buf.bytes()[..]).unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].name, "ACME \"EAST\"");
    assert_eq!(recovered[0].amount, 42);
}

#[test]
fn hold_lock_makes_an_insert_from_another_thread_wait_for_the_hold() {
    use std::time::Instant;
    let hold = Duration::from_millis(200);
    // The holder may lose the race for the lock to the insert; retry a
    // few times rather than assert on the scheduler.
    let mut waits = Vec::new();
    for _ in 0..5 {
        let store = RecordStore::default();
        let (started, holding) = std::sync::mpsc::channel();
        let holder = {
            let store = store.clone();
            std::thread::spawn(move || {
                started.send(()).unwrap();
                store.hold_lock(hold);
            })
        };
        holding.recv().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        let txid = store
            .insert("DEMO", "WAITED", 1)
            .expect("stored after the hold");
        let waited = t0.elapsed();
        holder.join().unwrap();
        assert_eq!(store.get(&txid).map(|r| r.name), Some("WAITED".to_owned()));
        if waited >= Duration::from_millis(150) {
            return;
        }
        waits.push(waited);
    }
    panic!("the insert never waited for the held lock: {waits:?}");
}

/// From the menu: enters one record, returns its txid, back at the menu.
fn enter_from_menu(c: &mut Client<std::net::TcpStream>, name: &str, amount: u64) -> String {
    c.type_text("1").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.wait_for(Condition::Text("RECORD ENTRY".into()), T)
        .unwrap();
    c.type_text(name).unwrap();
    c.tab();
    c.type_text(&amount.to_string()).unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.wait_for(Condition::Text("TRANSACTION ID".into()), T)
        .unwrap();
    let row = c.screen().row(2).unwrap();
    let txid = row.split(": ").nth(1).unwrap_or_default().trim().to_owned();
    c.press_and_wait(Aid::Enter, T).unwrap();
    c.wait_for(Condition::Text("MAIN MENU".into()), T).unwrap();
    txid
}

#[test]
fn three_hosts_sharing_one_journaled_store_journal_every_record_once() {
    const PER_HOST: u64 = 5;
    let buf = SharedBuf::default();
    let store = RecordStore::journaled(Vec::new(), Box::new(buf.clone()));
    let app: Arc<DemoApp> = Arc::new(DemoApp::default());
    let hosts: Vec<HostSimulator> = (0..3)
        .map(|_| {
            HostSimulator::start_shared(HostConfig::default(), app.clone(), store.clone())
                .expect("host")
        })
        .collect();
    let acknowledged: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = hosts
            .iter()
            .enumerate()
            .map(|(h, host)| {
                let addr = host.local_addr();
                s.spawn(move || {
                    let mut c = Client::connect(addr, SessionConfig::default(), T).unwrap();
                    sign_on_and_enter(&mut c, &format!("HOST{h} 0"), "0");
                    c.wait_for(Condition::Text("TRANSACTION ID".into()), T)
                        .unwrap();
                    let row = c.screen().row(2).unwrap();
                    let mut txids = vec![row.split(": ").nth(1).unwrap().trim().to_owned()];
                    c.press_and_wait(Aid::Enter, T).unwrap();
                    for i in 1..PER_HOST {
                        txids.push(enter_from_menu(&mut c, &format!("HOST{h} {i}"), i));
                    }
                    txids
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    for host in hosts {
        assert_eq!(host.records().len(), 3 * PER_HOST as usize);
        host.stop();
    }
    let journal = RecordStore::read_journal(&buf.bytes()[..]).expect("a clean journal");
    assert_eq!(journal, store.all(), "journal order is memory order");
    let mut journaled: Vec<&str> = journal.iter().map(|r| r.txid.as_str()).collect();
    let expected: Vec<String> = (1..=3 * PER_HOST).map(|n| format!("T{n:07}")).collect();
    assert_eq!(journaled, expected, "consecutive ids, none twice");
    journaled.sort_unstable();
    let mut acknowledged = acknowledged;
    acknowledged.sort_unstable();
    assert_eq!(
        journaled, acknowledged,
        "every acknowledged id is journaled"
    );
}
