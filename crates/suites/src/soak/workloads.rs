//! The built-in soaks: TN3270 sessions against the embedded host
//! simulator over loopback (busy, churning, idle under keepalives, and
//! through the chaos proxy with toxics coming and going), the session's
//! parsers over generated and malformed input, and the resilience
//! primitives under churn and expiry.

use ballast_resilience::SeededRng;
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Client, Session, SessionConfig};

use super::idle_sessions::IdleSessions;
use super::pool_expiry::PoolExpiry;
use super::proxy_churn::ProxyChurn;
use super::resilience_churn::ResilienceChurn;
use super::{Budget, Soak};
use crate::tn3270::{query, sign_on};

/// Builds a soak (quick or full) and its default budget.
pub type MakeSoak = fn(bool) -> Result<(Box<dyn Soak>, Budget), String>;

/// Every built-in soak by name, in the order `ballast-suite soak` runs them.
pub fn catalog() -> &'static [(&'static str, MakeSoak)] {
    &[
        ("tn3270-session", Tn3270Session::make),
        ("session-churn", SessionChurn::make),
        ("parser", ParserSoak::make),
        ("resilience-churn", ResilienceChurn::make),
        ("idle-sessions", IdleSessions::make),
        ("proxy-churn", ProxyChurn::make),
        ("pool-expiry", PoolExpiry::make),
    ]
}

pub(super) fn budget(quick: bool, warmup: u64, quick_iterations: u64, iterations: u64) -> Budget {
    Budget {
        warmup,
        iterations: if quick { quick_iterations } else { iterations },
        seconds: if quick { 10.0 } else { 120.0 },
    }
}

fn start_host() -> Result<HostSimulator, String> {
    HostSimulator::start(HostConfig::default(), DemoApp::default())
        .map_err(|e| format!("host simulator: {e}"))
}

/// One signed-on session asking the host one query after another: three
/// commands (option, transaction id, PF3 back) per iteration.
struct Tn3270Session {
    client: Option<Client>,
    host: HostSimulator,
}

impl Tn3270Session {
    fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let host = start_host()?;
        let client = sign_on(host.local_addr())?;
        let soak = Self {
            client: Some(client),
            host,
        };
        Ok((Box::new(soak), budget(quick, 500, 3_500, 100_000)))
    }
}

impl Soak for Tn3270Session {
    fn name(&self) -> &'static str {
        "tn3270-session"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let client = self.client.as_mut().ok_or("the session is gone")?;
        query(client, "T9999999").map(|_| 3)
    }
}

impl Drop for Tn3270Session {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = c.disconnect();
        }
        let _ = &self.host;
    }
}

/// Concurrent users each connecting, negotiating, signing on, asking one
/// query and disconnecting, per iteration.
struct SessionChurn {
    host: HostSimulator,
}

/// Sessions at once in a churn iteration.
const CHURN_USERS: usize = 4;

impl SessionChurn {
    fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        Ok((
            Box::new(Self {
                host: start_host()?,
            }),
            budget(quick, 10, 300, 20_000),
        ))
    }
}

impl Soak for SessionChurn {
    fn name(&self) -> &'static str {
        "session-churn"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let addr = self.host.local_addr();
        std::thread::scope(|s| {
            let users: Vec<_> = (0..CHURN_USERS)
                .map(|_| {
                    s.spawn(move || {
                        let mut c = sign_on(addr)?;
                        query(&mut c, "T9999999")?;
                        c.disconnect().map_err(|e| format!("disconnect: {e}"))
                    })
                })
                .collect();
            for u in users {
                u.join()
                    .map_err(|_| "a churn user panicked".to_string())??;
            }
            Ok(CHURN_USERS as u64)
        })
    }
}

/// The session's telnet, TN3270 and 3270 parsers over generated screens,
/// telnet streams with commands, and random (malformed) bytes, on fresh
/// sessions negotiated both ways.
struct ParserSoak {
    rng: SeededRng,
    screens: Vec<Vec<u8>>,
}

impl ParserSoak {
    fn make(quick: bool) -> Result<(Box<dyn Soak>, Budget), String> {
        let screens = ballast_benches::codec_corpus::tn3270_screens(64)
            .iter()
            .map(|r| frame_record(r))
            .collect();
        let soak = Self {
            rng: SeededRng::new(15),
            screens,
        };
        Ok((Box::new(soak), budget(quick, 20, 2_000, 200_000)))
    }

    fn feed(s: &mut Session, bytes: &[u8]) -> u64 {
        // Malformed input may be refused: that is the parser doing its job.
        let _ = s.receive(bytes);
        while s.poll_event().is_some() {}
        s.consume_output(usize::MAX);
        1
    }
}

impl Soak for ParserSoak {
    fn name(&self) -> &'static str {
        "parser"
    }

    fn iterate(&mut self) -> Result<u64, String> {
        let tn3270e = self.rng.next_u64().is_multiple_of(2);
        let mut s = Session::new(SessionConfig {
            tn3270e,
            ..SessionConfig::default()
        })
        .map_err(|e| e.to_string())?;
        let mut ops = Self::feed(&mut s, &NEGOTIATION);
        for screen in self.screens.iter().take(16) {
            ops += Self::feed(&mut s, screen);
        }
        ops += Self::feed(
            &mut s,
            &ballast_benches::codec_corpus::telnet_stream(2_048, 20),
        );
        let garbage: Vec<u8> = (0..512)
            .map(|_| (self.rng.next_u64() & 0xff) as u8)
            .collect();
        ops += Self::feed(&mut s, &garbage);
        let mut truncated = self.screens[0].clone();
        truncated.truncate(truncated.len() / 2);
        ops += Self::feed(&mut s, &truncated);
        Ok(ops)
    }
}

/// IAC DO/WILL EOR, IAC DO/WILL BINARY: plain TN3270 negotiation.
const NEGOTIATION: [u8; 12] = [255, 253, 25, 255, 251, 25, 255, 253, 0, 255, 251, 0];

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
