//! One terminal user: signs on (through the retry and the endpoints'
//! breakers, failing over in preference order), stores records and reads
//! them back, recording every operation in the history.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ballast_chaos::history::Op;
use ballast_chaos::suite::{ClientContext, SuiteError};
use ballast_resilience::{Backoff, CircuitBreaker, Jitter, Retry, RetryConfig, SeededRng};
use ballast_session::client::TlsStream;
use ballast_session::{Aid, Client, Condition, SessionConfig};

use super::{ClientKind, HOST_LINKS, NAIVE_STEP_TIMEOUT, STEP_TIMEOUT, Tn3270Workload};

pub(crate) type Step<T> = Result<T, String>;

/// Reads a logged-off session may take before it is dropped unclosed.
const MAX_DRAIN_READS: usize = 64;

fn step<T>(what: &str, r: ballast_session::Result<T>) -> Step<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

/// Opens a session to an endpoint (plain or TLS).
type Connect<S> = Box<dyn Fn(SocketAddr, Duration) -> Step<Client<S>> + Send + Sync>;

/// Runs one client of `w` until the run ends.
pub(super) fn run(w: &Tn3270Workload, ctx: &ClientContext<String, u64>) -> Result<(), SuiteError> {
    let mut addrs = Vec::new();
    for link in HOST_LINKS.iter().take(w.setup.hosts) {
        let addr = ctx
            .addr(link)
            .or(if addrs.is_empty() {
                ctx.first_addr()
            } else {
                None
            })
            .ok_or_else(|| SuiteError::Workload {
                process: ctx.process,
                reason: format!("the target has no link {link:?}"),
            })?;
        addrs.push(addr);
    }
    if w.setup.tls {
        let config = super::tls::client_config().map_err(|reason| SuiteError::Workload {
            process: ctx.process,
            reason,
        })?;
        let connect: Connect<TlsStream> = Box::new(move |addr, timeout| {
            step(
                "connect",
                Client::connect_tls(
                    addr,
                    "localhost",
                    config.clone(),
                    SessionConfig::default(),
                    timeout,
                ),
            )
        });
        User::new(w, ctx, addrs, connect)?.work();
    } else {
        let connect: Connect<TcpStream> = Box::new(|addr, timeout| {
            step(
                "connect",
                Client::connect(addr, SessionConfig::default(), timeout),
            )
        });
        User::new(w, ctx, addrs, connect)?.work();
    }
    Ok(())
}

/// One terminal user.
struct User<'a, S> {
    ctx: &'a ClientContext<String, u64>,
    /// Endpoints in this user's preference order, with their breakers.
    endpoints: Vec<(SocketAddr, &'a CircuitBreaker)>,
    connect: Connect<S>,
    kind: ClientKind,
    timeout: Duration,
    /// The resilient client's sign-on retry; the naive client has none.
    retry: Option<Retry>,
    w: &'a Tn3270Workload,
    rng: SeededRng,
    client: Option<Client<S>>,
    /// Records stored and acknowledged: (name, transaction id).
    acked: Vec<(String, String)>,
}

impl<'a, S: Read + Write> User<'a, S> {
    fn new(
        w: &'a Tn3270Workload,
        ctx: &'a ClientContext<String, u64>,
        addrs: Vec<SocketAddr>,
        connect: Connect<S>,
    ) -> Result<Self, SuiteError> {
        let naive = w.setup.client == ClientKind::Naive;
        let retry = Retry::new(RetryConfig {
            max_attempts: w.retry_max_attempts,
            backoff: Backoff::exponential(Duration::from_millis(50), Duration::from_millis(400))
                .with_jitter(Jitter::Full),
            seed: w.seed ^ ctx.process,
            ..RetryConfig::default()
        })
        .map_err(|e| SuiteError::Workload {
            process: ctx.process,
            reason: format!("retry: {e}"),
        })?;
        // Users spread over the endpoints; each fails over to the next.
        let n = addrs.len().max(1);
        let first = usize::try_from(ctx.process).unwrap_or(0) % n;
        let mut endpoints: Vec<(SocketAddr, &CircuitBreaker)> = (0..n)
            .filter_map(|i| {
                let k = (first + i) % n;
                Some((*addrs.get(k)?, w.breakers.get(k)?))
            })
            .collect();
        if naive {
            // The naive client knows one endpoint.
            endpoints.truncate(1);
        }
        Ok(Self {
            ctx,
            endpoints,
            connect,
            kind: w.setup.client,
            timeout: if naive {
                NAIVE_STEP_TIMEOUT
            } else {
                STEP_TIMEOUT
            },
            retry: (!naive).then_some(retry),
            w,
            rng: SeededRng::new(ctx.seed),
            client: None,
            acked: Vec::new(),
        })
    }

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
                // on again through the retry and the breakers.
                self.client = None;
            }
            seq += 1;
            if self.w.logoff_every > 0 && seq.is_multiple_of(self.w.logoff_every) {
                self.log_off();
            }
            self.ctx.think();
        }
        self.client = None;
    }

    /// Signs off (PF3 on the menu, PF3 on the logon screen: the host ends
    /// the session) and reads the connection to its close, bounded by the
    /// step timeout, counting what arrives after the host was told to end
    /// it: late data is drained (or refused as malformed) and dropped with
    /// the session, never taken as an answer.
    fn log_off(&mut self) {
        let Some(mut c) = self.client.take() else {
            return;
        };
        let timeout = self.timeout;
        let signed_off = c.press(Aid::Pf(3)).and_then(|()| {
            c.wait_for(Condition::Text("SIGNED OFF".into()), timeout)?;
            c.press(Aid::Pf(3))
        });
        if signed_off.is_err() {
            return;
        }
        self.w.logoffs.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + timeout;
        // Bounded by the deadline, and by a count in case reads keep coming.
        for _ in 0..MAX_DRAIN_READS {
            match c.poll(deadline) {
                Ok(true) => {
                    self.w.late_reads.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) if Instant::now() < deadline => {}
                // Late bytes that are no record of this session (a 3270
                // record without its TN3270E header): refused, not shown.
                Err(ballast_session::Error::Codec(_)) => {
                    self.w.late_reads.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // Closed, timed out or failed: the session is over either way.
                _ => break,
            }
        }
    }

    /// Signs on at the first endpoint whose breaker lets it through and
    /// that answers, in preference order.
    fn sign_on_anywhere(&self) -> Step<Client<S>> {
        let mut last = String::from("no endpoint");
        for (addr, breaker) in &self.endpoints {
            let permit = if self.kind == ClientKind::Naive {
                None
            } else {
                match breaker.try_acquire() {
                    Ok(p) => Some(p),
                    Err(e) => {
                        last = format!("{addr}: breaker: {e:?}");
                        continue;
                    }
                }
            };
            match sign_on_with(&self.connect, *addr, self.timeout) {
                Ok(c) => {
                    if let Some(p) = permit {
                        p.success();
                    }
                    return Ok(c);
                }
                Err(e) => {
                    if let Some(p) = permit {
                        p.failure();
                    }
                    last = format!("{addr}: {e}");
                }
            }
        }
        Err(last)
    }

    /// A signed-on session on the main menu.
    fn session(&mut self) -> Step<&mut Client<S>> {
        if self.client.is_none() {
            let client = match &self.retry {
                Some(retry) => retry.call(|_attempt| self.sign_on_anywhere())?,
                // The naive client tries once.
                None => self.sign_on_anywhere()?,
            };
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
        let timeout = self.timeout;
        // Until the storing Enter is sent, a failure means nothing was stored.
        let prepared = self.session().and_then(|c| {
            step("type option", c.type_text("1"))?;
            step("press enter", c.press(Aid::Enter))?;
            step(
                "entry screen",
                c.wait_for(Condition::Text("RECORD ENTRY".into()), timeout),
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
        match confirm(c, timeout) {
            Ok(txid) => {
                op.ok(None);
                self.acked.push((name, txid));
                // Back to the menu; a failure here costs the session, not the record.
                let back = c
                    .press(Aid::Enter)
                    .and_then(|()| c.wait_for(Condition::Text("MAIN MENU".into()), timeout));
                if back.is_err() {
                    self.client = None;
                }
                true
            }
            // The host said it could not store it (its disk failed): the
            // record may still be half-written, so its outcome is unknown.
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
        let timeout = self.timeout;
        let answer = self.session().and_then(|c| query_within(c, &txid, timeout));
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
fn confirm<S: Read + Write>(c: &mut Client<S>, timeout: Duration) -> Step<String> {
    step("store", c.press(Aid::Enter))?;
    step("confirmation", c.wait_for(Condition::Unlocked, timeout))?;
    if c.screen().contains("STORE FAILED") {
        return Err("the host could not store the record (STORE FAILED)".into());
    }
    step(
        "confirmation",
        c.wait_for(Condition::Text("TRANSACTION ID".into()), timeout),
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
    query_within(c, txid, STEP_TIMEOUT)
}

fn query_within<S: Read + Write>(c: &mut Client<S>, txid: &str, timeout: Duration) -> Step<String> {
    step("type option", c.type_text("2"))?;
    step("press enter", c.press(Aid::Enter))?;
    step(
        "query screen",
        c.wait_for(Condition::Text("RECORD QUERY".into()), timeout),
    )?;
    step("type txid", c.type_text(txid))?;
    step("press enter", c.press(Aid::Enter))?;
    step(
        "answer",
        c.wait_for(Condition::Text("FOUND".into()), timeout),
    )?;
    let row = step("answer row", c.screen().row(4))?;
    step("pf3", c.press(Aid::Pf(3)))?;
    step(
        "menu",
        c.wait_for(Condition::Text("MAIN MENU".into()), timeout),
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

/// Signs on at `addr` over plain TCP, within [`STEP_TIMEOUT`] per step.
pub(crate) fn sign_on(addr: SocketAddr) -> Step<Client> {
    let mut c = step(
        "connect",
        Client::connect(addr, SessionConfig::default(), STEP_TIMEOUT),
    )?;
    sign_on_screens(&mut c, STEP_TIMEOUT)?;
    Ok(c)
}

fn sign_on_with<S: Read + Write>(
    connect: &Connect<S>,
    addr: SocketAddr,
    timeout: Duration,
) -> Step<Client<S>> {
    let mut c = connect(addr, timeout)?;
    sign_on_screens(&mut c, timeout)?;
    Ok(c)
}

/// From the logon screen to the main menu.
fn sign_on_screens<S: Read + Write>(c: &mut Client<S>, timeout: Duration) -> Step<()> {
    step(
        "logon screen",
        c.wait_for(Condition::Text("PLEASE SIGN ON".into()), timeout),
    )?;
    step("type user", c.type_text("DEMO"))?;
    c.tab();
    step("type password", c.type_text("SECRET"))?;
    step("sign on", c.press(Aid::Enter))?;
    step(
        "menu",
        c.wait_for(Condition::Text("MAIN MENU".into()), timeout),
    )
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
