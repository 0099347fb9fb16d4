//! The client under test: a resilient TN3270 terminal user that signs on to
//! the demo host, stores records and reads them back, recording every
//! operation in the run's history.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ballast::chaos::history::{History, Op};
use ballast::chaos::sla::Sample;
use ballast::resilience::{Backoff, CircuitBreaker, Jitter, SeededRng};
use ballast::session::{Aid, Client, Condition, SessionConfig};

/// How long one screen may take to arrive.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_millis(1_500);
/// Pause between operations of one client (keeps the load human-sized).
const THINK_TIME: Duration = Duration::from_millis(20);

/// What a worker shares with the run.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) history: History<String, u64>,
    pub(crate) samples: Arc<Mutex<Vec<Sample>>>,
    pub(crate) breaker: Arc<CircuitBreaker>,
    pub(crate) start: Instant,
    pub(crate) deadline: Instant,
}

/// A record this worker stored and had acknowledged.
struct Acked {
    name: String,
    txid: String,
}

/// One simulated terminal user.
pub(crate) struct Worker {
    id: u64,
    shared: Shared,
    rng: SeededRng,
    backoff: Backoff,
    client: Option<Client>,
    acked: Vec<Acked>,
    failures_in_a_row: u32,
    previous_delay: Duration,
}

type StepResult<T> = Result<T, String>;

fn step<T>(what: &str, r: ballast::session::Result<T>) -> StepResult<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

impl Worker {
    pub(crate) fn new(id: u64, seed: u64, shared: Shared) -> Self {
        Self {
            id,
            shared,
            rng: SeededRng::new(seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            backoff: Backoff::exponential(Duration::from_millis(50), Duration::from_millis(400))
                .with_jitter(Jitter::Full),
            client: None,
            acked: Vec::new(),
            failures_in_a_row: 0,
            previous_delay: Duration::ZERO,
        }
    }

    /// Works until the run's deadline.
    pub(crate) fn run(mut self) {
        let mut seq = 0u64;
        while Instant::now() < self.shared.deadline {
            let began = Instant::now();
            let ok = if !self.acked.is_empty() && seq % 3 == 2 {
                self.read_back()
            } else {
                self.store(seq)
            };
            let sample = Sample {
                at: began - self.shared.start,
                latency: began.elapsed(),
                ok,
            };
            if let Ok(mut samples) = self.shared.samples.lock() {
                samples.push(sample);
            }
            if ok {
                self.failures_in_a_row = 0;
                std::thread::sleep(THINK_TIME);
            } else {
                // Start over on a fresh connection, after a jittered backoff.
                self.client = None;
                self.failures_in_a_row += 1;
                let delay =
                    self.backoff
                        .delay(self.failures_in_a_row, self.previous_delay, &mut self.rng);
                self.previous_delay = delay;
                std::thread::sleep(delay);
            }
            seq += 1;
        }
        if let Some(client) = self.client.take() {
            let _ = client.disconnect();
        }
    }

    /// A signed-on session on the main menu, through the circuit breaker.
    fn session(&mut self) -> StepResult<&mut Client> {
        if self.client.is_none() {
            let permit = self
                .shared
                .breaker
                .try_acquire()
                .map_err(|e| format!("breaker: {e:?}"))?;
            match sign_on(self.shared.addr) {
                Ok(client) => {
                    permit.success();
                    self.client = Some(client);
                }
                Err(e) => {
                    permit.failure();
                    return Err(e);
                }
            }
        }
        self.client.as_mut().ok_or_else(|| "no session".to_string())
    }

    /// Stores one record; true when the host acknowledged it.
    fn store(&mut self, seq: u64) -> bool {
        let name = format!("W{}R{seq}", self.id);
        let amount = 1 + self.rng.next_u64() % 99_999;
        let op = self.shared.history.invoke(
            self.id,
            Op::Write {
                key: name.clone(),
                value: amount,
            },
        );
        // Until the storing Enter is sent, a failure means nothing was stored.
        let prepared = self.session().and_then(|c| {
            step("type option", c.type_text("1"))?;
            step("press enter", c.press(Aid::Enter))?;
            step(
                "entry screen",
                c.wait_for(Condition::Text("RECORD ENTRY".into()), STEP_TIMEOUT),
            )?;
            step("type name", c.type_text(&name))?;
            c.tab();
            step("type amount", c.type_text(&amount.to_string()))
        });
        if let Err(e) = prepared {
            op.fail(e);
            return false;
        }
        let Some(c) = self.client.as_mut() else {
            op.fail("no session");
            return false;
        };
        if let Err(e) = c.press(Aid::Enter) {
            op.info(format!("store: {e}"));
            return false;
        }
        if let Err(e) = c.wait_for(Condition::Text("TRANSACTION ID".into()), STEP_TIMEOUT) {
            op.info(format!("confirmation: {e}"));
            return false;
        }
        let txid = c
            .screen()
            .row(2)
            .ok()
            .and_then(|row| row.split(": ").nth(1).map(|t| t.trim().to_string()));
        let Some(txid) = txid.filter(|t| !t.is_empty()) else {
            op.info("confirmation without a transaction id");
            return false;
        };
        op.ok(None);
        self.acked.push(Acked { name, txid });
        // Back to the menu; a failure here costs the session, not the record.
        let back = c
            .press(Aid::Enter)
            .and_then(|()| c.wait_for(Condition::Text("MAIN MENU".into()), STEP_TIMEOUT));
        if back.is_err() {
            self.client = None;
        }
        true
    }

    /// Reads one of our acknowledged records back; true when answered.
    fn read_back(&mut self) -> bool {
        let pick = (self.rng.next_u64() % self.acked.len() as u64) as usize;
        let (name, txid) = (self.acked[pick].name.clone(), self.acked[pick].txid.clone());
        let op = self
            .shared
            .history
            .invoke(self.id, Op::Read { key: name.clone() });
        let answer = self.session().and_then(|c| {
            step("type option", c.type_text("2"))?;
            step("press enter", c.press(Aid::Enter))?;
            step(
                "query screen",
                c.wait_for(Condition::Text("RECORD QUERY".into()), STEP_TIMEOUT),
            )?;
            step("type txid", c.type_text(&txid))?;
            step("press enter", c.press(Aid::Enter))?;
            step(
                "answer",
                c.wait_for(Condition::Text("FOUND".into()), STEP_TIMEOUT),
            )?;
            let row = step("answer row", c.screen().row(4))?;
            step("pf3", c.press(Aid::Pf(3)))?;
            step(
                "menu",
                c.wait_for(Condition::Text("MAIN MENU".into()), STEP_TIMEOUT),
            )?;
            Ok(row)
        });
        match answer {
            Ok(row) => {
                op.ok(parse_found(&row, &name));
                true
            }
            // A read changes nothing, so a failed read is only "unknown".
            Err(e) => {
                op.info(e);
                false
            }
        }
    }
}

/// `FOUND T0000001 NAME: X AMOUNT: 42` → Some(42) when the name is ours;
/// `NOT FOUND: T…` → None.
fn parse_found(row: &str, name: &str) -> Option<u64> {
    let row = row.trim();
    if row.starts_with("NOT FOUND") {
        return None;
    }
    let found_name = row.split("NAME: ").nth(1)?.split(" AMOUNT:").next()?.trim();
    let amount = row.split("AMOUNT: ").nth(1)?.trim().parse().ok()?;
    // Another record's amount under our name would be a phantom read: keep
    // it visible to the checker as an impossible value.
    if found_name == name {
        Some(amount)
    } else {
        Some(u64::MAX)
    }
}

fn sign_on(addr: SocketAddr) -> StepResult<Client> {
    let mut c = step(
        "connect",
        Client::connect(addr, SessionConfig::default(), STEP_TIMEOUT),
    )?;
    step(
        "logon screen",
        c.wait_for(Condition::Text("PLEASE SIGN ON".into()), STEP_TIMEOUT),
    )?;
    step("type user", c.type_text("DEMO"))?;
    c.tab();
    step("type password", c.type_text("SECRET"))?;
    step("sign on", c.press(Aid::Enter))?;
    step(
        "menu",
        c.wait_for(Condition::Text("MAIN MENU".into()), STEP_TIMEOUT),
    )?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::parse_found;

    #[test]
    fn query_rows_parse() {
        assert_eq!(
            parse_found("FOUND T0000001 NAME: W1R0 AMOUNT: 42", "W1R0"),
            Some(42)
        );
        assert_eq!(parse_found("NOT FOUND: T0000009", "W1R0"), None);
        assert_eq!(
            parse_found("FOUND T0000001 NAME: W2R0 AMOUNT: 42", "W1R0"),
            Some(u64::MAX)
        );
    }
}
