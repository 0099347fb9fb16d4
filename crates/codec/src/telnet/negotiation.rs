//! RFC 1143 "Q method" telnet option negotiation, for either end.
//!
//! [`OptionTable`] keeps, for every option, the state on our side ("us":
//! WILL/WONT we send) and on the peer's side ("him": DO/DONT we send), with
//! the one-bit queue RFC 1143 uses to avoid negotiation loops. Feed every
//! received WILL/WONT/DO/DONT to [`OptionTable::receive`] and send the verb it
//! returns; call `request_*` when the application wants a change.
//!
//! ```
//! use ballast_codec::telnet::{Verb, option};
//! use ballast_codec::telnet::negotiation::OptionTable;
//!
//! // A TN3270 client accepts BINARY both ways.
//! let mut client = OptionTable::new();
//! client.accept_local(option::BINARY, true);
//! client.accept_remote(option::BINARY, true);
//! assert_eq!(client.receive(Verb::Do, option::BINARY), Some(Verb::Will));
//! assert_eq!(client.receive(Verb::Do, option::BINARY), None, "no loop");
//! assert!(client.local_enabled(option::BINARY));
//! ```

use super::Verb;

/// Negotiation state of one option on one side (RFC 1143 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QState {
    /// Disabled.
    #[default]
    No,
    /// Enabled.
    Yes,
    /// We asked to disable and wait for the answer.
    WantNo {
        /// The application asked to re-enable meanwhile.
        opposite: bool,
    },
    /// We asked to enable and wait for the answer.
    WantYes {
        /// The application asked to disable meanwhile.
        opposite: bool,
    },
}

/// Per-option negotiation state for both sides of a connection.
#[derive(Debug, Clone)]
pub struct OptionTable {
    us: [QState; 256],
    him: [QState; 256],
    accept_us: [bool; 256],
    accept_him: [bool; 256],
}

impl Default for OptionTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Which pair of verbs applies to a side.
#[derive(Clone, Copy)]
struct Verbs {
    enable: Verb,
    disable: Verb,
}

const US: Verbs = Verbs {
    enable: Verb::Will,
    disable: Verb::Wont,
};
const HIM: Verbs = Verbs {
    enable: Verb::Do,
    disable: Verb::Dont,
};

impl OptionTable {
    /// Every option disabled and refused.
    pub fn new() -> Self {
        Self {
            us: [QState::No; 256],
            him: [QState::No; 256],
            accept_us: [false; 256],
            accept_him: [false; 256],
        }
    }

    /// Whether to agree when the peer asks us (DO) to enable `option`.
    pub fn accept_local(&mut self, option: u8, accept: bool) {
        self.accept_us[usize::from(option)] = accept;
    }

    /// Whether to agree when the peer offers (WILL) to enable `option`.
    pub fn accept_remote(&mut self, option: u8, accept: bool) {
        self.accept_him[usize::from(option)] = accept;
    }

    /// True when `option` is enabled on our side.
    pub fn local_enabled(&self, option: u8) -> bool {
        self.us[usize::from(option)] == QState::Yes
    }

    /// True when `option` is enabled on the peer's side.
    pub fn remote_enabled(&self, option: u8) -> bool {
        self.him[usize::from(option)] == QState::Yes
    }

    /// Our side's state for `option`.
    pub fn local_state(&self, option: u8) -> QState {
        self.us[usize::from(option)]
    }

    /// The peer side's state for `option`.
    pub fn remote_state(&self, option: u8) -> QState {
        self.him[usize::from(option)]
    }

    /// Handles a received negotiation; returns the verb to send back for the
    /// same option, if any.
    pub fn receive(&mut self, verb: Verb, option: u8) -> Option<Verb> {
        let i = usize::from(option);
        match verb {
            Verb::Will => receive_enable(&mut self.him[i], self.accept_him[i], HIM),
            Verb::Wont => receive_disable(&mut self.him[i], HIM),
            Verb::Do => receive_enable(&mut self.us[i], self.accept_us[i], US),
            Verb::Dont => receive_disable(&mut self.us[i], US),
        }
    }

    /// We want to enable `option` on our side; returns WILL to send, if any.
    pub fn request_local_enable(&mut self, option: u8) -> Option<Verb> {
        self.accept_us[usize::from(option)] = true;
        request_enable(&mut self.us[usize::from(option)], US)
    }

    /// We want to disable `option` on our side; returns WONT to send, if any.
    pub fn request_local_disable(&mut self, option: u8) -> Option<Verb> {
        request_disable(&mut self.us[usize::from(option)], US)
    }

    /// We want the peer to enable `option`; returns DO to send, if any.
    pub fn request_remote_enable(&mut self, option: u8) -> Option<Verb> {
        self.accept_him[usize::from(option)] = true;
        request_enable(&mut self.him[usize::from(option)], HIM)
    }

    /// We want the peer to disable `option`; returns DONT to send, if any.
    pub fn request_remote_disable(&mut self, option: u8) -> Option<Verb> {
        request_disable(&mut self.him[usize::from(option)], HIM)
    }
}

fn receive_enable(q: &mut QState, accept: bool, v: Verbs) -> Option<Verb> {
    match *q {
        QState::No if accept => {
            *q = QState::Yes;
            Some(v.enable)
        }
        QState::No => Some(v.disable),
        QState::Yes => None,
        // Our disable request was answered with an enable: RFC 1143 calls
        // this an error by the peer; accept the peer's word.
        QState::WantNo { opposite: false } => {
            *q = QState::No;
            None
        }
        QState::WantNo { opposite: true } | QState::WantYes { opposite: false } => {
            *q = QState::Yes;
            None
        }
        QState::WantYes { opposite: true } => {
            *q = QState::WantNo { opposite: false };
            Some(v.disable)
        }
    }
}

fn receive_disable(q: &mut QState, v: Verbs) -> Option<Verb> {
    match *q {
        QState::No => None,
        QState::Yes => {
            *q = QState::No;
            Some(v.disable)
        }
        QState::WantNo { opposite: false } | QState::WantYes { .. } => {
            *q = QState::No;
            None
        }
        QState::WantNo { opposite: true } => {
            *q = QState::WantYes { opposite: false };
            Some(v.enable)
        }
    }
}

fn request_enable(q: &mut QState, v: Verbs) -> Option<Verb> {
    match *q {
        QState::No => {
            *q = QState::WantYes { opposite: false };
            Some(v.enable)
        }
        QState::Yes | QState::WantYes { opposite: false } | QState::WantNo { opposite: true } => {
            None
        }
        QState::WantNo { opposite: false } => {
            *q = QState::WantNo { opposite: true };
            None
        }
        QState::WantYes { opposite: true } => {
            *q = QState::WantYes { opposite: false };
            None
        }
    }
}

fn request_disable(q: &mut QState, v: Verbs) -> Option<Verb> {
    match *q {
        QState::No | QState::WantNo { opposite: false } | QState::WantYes { opposite: true } => {
            None
        }
        QState::Yes => {
            *q = QState::WantNo { opposite: false };
            Some(v.disable)
        }
        QState::WantNo { opposite: true } => {
            *q = QState::WantNo { opposite: false };
            None
        }
        QState::WantYes { opposite: false } => {
            *q = QState::WantYes { opposite: true };
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telnet::option;

    #[test]
    fn refused_option_is_answered_once_with_dont() {
        let mut t = OptionTable::new();
        assert_eq!(t.receive(Verb::Will, option::ECHO), Some(Verb::Dont));
        assert!(!t.remote_enabled(option::ECHO));
    }

    #[test]
    fn request_then_agreement_enables_without_reply() {
        let mut t = OptionTable::new();
        assert_eq!(
            t.request_remote_enable(option::END_OF_RECORD),
            Some(Verb::Do)
        );
        assert_eq!(t.receive(Verb::Will, option::END_OF_RECORD), None);
        assert!(t.remote_enabled(option::END_OF_RECORD));
    }

    #[test]
    fn disable_queued_while_enabling_is_sent_after_the_answer() {
        let mut t = OptionTable::new();
        assert_eq!(t.request_local_enable(option::BINARY), Some(Verb::Will));
        assert_eq!(
            t.request_local_disable(option::BINARY),
            None,
            "queued, not sent"
        );
        assert_eq!(t.receive(Verb::Do, option::BINARY), Some(Verb::Wont));
        assert_eq!(t.receive(Verb::Dont, option::BINARY), None);
        assert!(!t.local_enabled(option::BINARY));
    }

    /// Two tables talking to each other settle without a loop, whatever
    /// both ask at the same time.
    #[test]
    fn client_and_host_tables_settle_without_loops() {
        let mut client = OptionTable::new();
        let mut host = OptionTable::new();
        client.accept_local(option::TERMINAL_TYPE, true);
        host.accept_remote(option::TERMINAL_TYPE, true);
        let mut to_client = vec![host.request_remote_enable(option::TERMINAL_TYPE)];
        let mut to_host = vec![client.request_local_enable(option::TERMINAL_TYPE)];
        for _ in 0..8 {
            let next_host: Vec<_> = to_host
                .drain(..)
                .flatten()
                .map(|v| host.receive(v, 24))
                .collect();
            let next_client: Vec<_> = to_client
                .drain(..)
                .flatten()
                .map(|v| client.receive(v, 24))
                .collect();
            to_host = next_client;
            to_client = next_host;
        }
        assert!(
            to_host.iter().chain(&to_client).all(Option::is_none),
            "still talking"
        );
        assert!(client.local_enabled(option::TERMINAL_TYPE));
        assert!(host.remote_enabled(option::TERMINAL_TYPE));
    }
}
