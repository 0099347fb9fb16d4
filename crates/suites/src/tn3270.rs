//! The TN3270 system under test: the embedded [`HostSimulator`] (demo
//! application, its record store as the final state) as a [`Target`], and
//! terminal users who sign on, store records and read them back as a
//! [`Workload`], connecting through [`Retry`] behind a [`CircuitBreaker`].

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use ballast_chaos::history::Op;
use ballast_chaos::scenario::Scenario;
use ballast_chaos::suite::{ClientContext, Link, SuiteError, Target, Workload};
use ballast_resilience::{
    Backoff, BreakerConfig, CircuitBreaker, Jitter, Retry, RetryConfig, SeededRng,
};
use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Aid, Client, Condition, SessionConfig};

/// How long one screen may take to arrive.
pub const STEP_TIMEOUT: Duration = Duration::from_millis(1_500);

/// The name of the host's link (the proxy in front of it).
pub const HOST_LINK: &str = "host";

/// A fresh demo host per scenario; its records are the final state.
#[derive(Debug, Default)]
pub struct Tn3270Target {
    host: Option<HostSimulator>,
}

impl Tn3270Target {
    /// A target that starts nothing until [`Target::start`].
    pub fn new() -> Self {
        Self::default()
    }
}

impl Target for Tn3270Target {
    type Key = String;
    type Value = u64;

    fn start(&mut self) -> Result<Vec<Link>, SuiteError> {
        self.stop();
        let host = HostSimulator::start(HostConfig::default(), DemoApp::default())
            .map_err(|e| SuiteError::Target(format!("host simulator: {e}")))?;
        let link = Link::new(HOST_LINK, host.local_addr());
        self.host = Some(host);
        Ok(vec![link])
    }

    fn stop(&mut self) {
        if let Some(host) = self.host.take() {
            host.stop();
        }
    }

    fn final_state(&mut self) -> Result<HashMap<String, u64>, SuiteError> {
        let host = self
            .host
            .as_ref()
            .ok_or_else(|| SuiteError::Target("host not running".into()))?;
        Ok(host
            .records()
            .into_iter()
            .map(|r| (r.name, r.amount))
            .collect())
    }
}

/// Workload settings a scenario (`[workload.settings]`) or `--grid` may
/// set, with their defaults: sign-on attempts through the retry, failures
/// in a row that open the breaker, and how long it stays open.
pub const SETTINGS: &[(&str, u64)] = &[
    ("retry_max_attempts", 4),
    ("breaker_consecutive_failures", 3),
    ("breaker_open_ms", 250),
];

/// Terminal users storing and reading records; one breaker for all of
/// them (per scenario), one retry policy for signing on.
#[derive(Debug)]
pub struct Tn3270Workload {
    breaker: CircuitBreaker,
    seed: u64,
    retry_max_attempts: u32,
}

/// Setting `name` of `settings`, or its default from [`SETTINGS`].
fn setting(settings: &BTreeMap<String, String>, name: &str) -> Result<u64, SuiteError> {
    let default = SETTINGS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(0, |(_, d)| *d);
    settings.get(name).map_or(Ok(default), |v| {
        v.parse().map_err(|_| SuiteError::Workload {
            process: 0,
            reason: format!("setting {name} = {v:?} is not a whole number"),
        })
    })
}

impl Tn3270Workload {
    /// A workload for one run of `scenario`, seeded with `seed`, with the
    /// scenario's [`SETTINGS`].
    ///
    /// # Errors
    ///
    /// [`SuiteError::Workload`] for a setting that is not a number or that
    /// the breaker or retry refuses.
    pub fn new(scenario: &Scenario, seed: u64) -> Result<Self, SuiteError> {
        let settings = &scenario.workload.settings;
        let refused = |what: &str, e: &dyn std::fmt::Display| SuiteError::Workload {
            process: 0,
            reason: format!("{what}: {e}"),
        };
        let failures = u32::try_from(setting(settings, "breaker_consecutive_failures")?)
            .map_err(|e| refused("breaker_consecutive_failures", &e))?;
        let breaker = CircuitBreaker::new(BreakerConfig {
            name: format!("host/{}", scenario.name),
            minimum_calls: 5,
            consecutive_failures: Some(failures),
            open_backoff: Backoff::fixed(Duration::from_millis(setting(
                settings,
                "breaker_open_ms",
            )?)),
            seed,
            ..BreakerConfig::default()
        })
        .map_err(|e| refused("breaker", &e))?;
        let retry_max_attempts = u32::try_from(setting(settings, "retry_max_attempts")?)
            .map_err(|e| refused("retry_max_attempts", &e))?;
        Ok(Self {
            breaker,
            seed,
            retry_max_attempts,
        })
    }
}

impl Workload<String, u64> for Tn3270Workload {
    fn client(&self, ctx: &ClientContext<String, u64>) -> Result<(), SuiteError> {
        let addr =
            ctx.addr(HOST_LINK)
                .or(ctx.first_addr())
                .ok_or_else(|| SuiteError::Workload {
                    process: ctx.process,
                    reason: format!("the target has no link {HOST_LINK:?}"),
                })?;
        let retry = Retry::new(RetryConfig {
            max_attempts: self.retry_max_attempts,
            backoff: Backoff::exponential(Duration::from_millis(50), Duration::from_millis(400))
                .with_jitter(Jitter::Full),
            seed: self.seed ^ ctx.process,
            ..RetryConfig::default()
        })
        .map_err(|e| SuiteError::Workload {
            process: ctx.process,
            reason: format!("retry: {e}"),
        })?;
        let mut user = User {
            ctx,
            addr,
            breaker: &self.breaker,
            retry,
            rng: SeededRng::new(ctx.seed),
            client: None,
            acked: Vec::new(),
        };
        user.work();
        Ok(())
    }
}

pub(crate) type Step<T> = Result<T, String>;

fn step<T>(what: &str, r: ballast_session::Result<T>) -> Step<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// One terminal user.
struct User<'a> {
    ctx: &'a ClientContext<String, u64>,
    addr: SocketAddr,
    breaker: &'a CircuitBreaker,
    retry: Retry,
    rng: SeededRng,
    client: Option<Client>,
    /// Records stored and acknowledged: (name, transaction id).
    acked: Vec<(String, String)>,
}

impl User<'_> {
    fn work(&mut self) {
        // Bounded by the run: `running()` turns false at its end.
        let mut seq = 0u64;
        while self.ctx.running() {
            let ok = if !self.acked.is_empty() && seq % 3 == 2 {
                self.read_back()
            } else {
                self.store(seq)
            };
            if !ok {
                // A failed operation costs the session; the next one signs
                // on again through the retry and the breaker.
                self.client = None;
            }
            self.ctx.think();
            seq += 1;
        }
        if let Some(client) = self.client.take() {
            let _ = client.disconnect();
        }
    }

    /// A signed-on session on the main menu.
    fn session(&mut self) -> Step<&mut Client> {
        if self.client.is_none() {
            let (addr, breaker) = (self.addr, self.breaker);
            let client = self.retry.call(|_attempt| {
                let permit = breaker
                    .try_acquire()
                    .map_err(|e| format!("breaker: {e:?}"))?;
                match sign_on(addr) {
                    Ok(c) => {
                        permit.success();
                        Ok(c)
                    }
                    Err(e) => {
                        permit.failure();
                        Err(e)
                    }
                }
            })?;
            self.client = Some(client);
        }
        self.client.as_mut().ok_or_else(|| "no session".to_string())
    }

    /// Stores one record; true when the host acknowledged it.
    fn store(&mut self, seq: u64) -> bool {
        let name = format!("W{}R{seq}", self.ctx.process);
        let amount = 1 + self.rng.next_u64() % 99_999;
        let op = self.ctx.history.invoke(
            self.ctx.process,
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
        match confirm(c) {
            Ok(txid) => {
                op.ok(None);
                self.acked.push((name, txid));
                // Back to the menu; a failure here costs the session, not the record.
                let back = c
                    .press(Aid::Enter)
                    .and_then(|()| c.wait_for(Condition::Text("MAIN MENU".into()), STEP_TIMEOUT));
                if back.is_err() {
                    self.client = None;
                }
                true
            }
            Err(e) => {
                op.info(e);
                false
            }
        }
    }

    /// Reads one of our acknowledged records back; true when answered.
    fn read_back(&mut self) -> bool {
        let pick = (self.rng.next_u64() % self.acked.len() as u64) as usize;
        let Some((name, txid)) = self.acked.get(pick).cloned() else {
            return false;
        };
        let op = self
            .ctx
            .history
            .invoke(self.ctx.process, Op::Read { key: name.clone() });
        let answer = self.session().and_then(|c| query(c, &txid));
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

/// Sends the storing Enter and waits for the transaction id; any failure
/// from here on leaves the store's outcome unknown.
fn confirm(c: &mut Client) -> Step<String> {
    step("store", c.press(Aid::Enter))?;
    step(
        "confirmation",
        c.wait_for(Condition::Text("TRANSACTION ID".into()), STEP_TIMEOUT),
    )?;
    let row = step("confirmation row", c.screen().row(2))?;
    let txid = row
        .split(": ")
        .nth(1)
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    if txid.is_empty() {
        Err("confirmation without a transaction id".into())
    } else {
        Ok(txid)
    }
}

/// Queries a record by transaction id and returns the answer row.
pub(crate) fn query(c: &mut Client, txid: &str) -> Step<String> {
    step("type option", c.type_text("2"))?;
    step("press enter", c.press(Aid::Enter))?;
    step(
        "query screen",
        c.wait_for(Condition::Text("RECORD QUERY".into()), STEP_TIMEOUT),
    )?;
    step("type txid", c.type_text(txid))?;
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
}

/// `FOUND T0000001 NAME: X AMOUNT: 42` → Some(42) when the name is ours
/// (another record's amount under our name is an impossible value, kept
/// visible to the checker as `u64::MAX`); `NOT FOUND: T…` → None.
fn parse_found(row: &str, name: &str) -> Option<u64> {
    let row = row.trim();
    if row.starts_with("NOT FOUND") {
        return None;
    }
    let found_name = row.split("NAME: ").nth(1)?.split(" AMOUNT:").next()?.trim();
    let amount = row.split("AMOUNT: ").nth(1)?.trim().parse().ok()?;
    if found_name == name {
        Some(amount)
    } else {
        Some(u64::MAX)
    }
}

pub(crate) fn sign_on(addr: SocketAddr) -> Step<Client> {
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
    fn query_rows_parse_into_what_the_checker_needs() {
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
