//! [`Terminal`]: the operator surface that [`crate::Client`] and
//! `AsyncClient` share: the session, its screen, typing, fields, events and
//! the predicates the waits check. It does no I/O; the clients are thin
//! shells that move bytes between their stream and the terminal.

use ballast_codec::tn3270::Aid;

use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::screen::Screen;
use crate::session::{Event, Session};

/// Size of a client's read buffer: 2 KiB (reads are bounded by it). A full
/// model-2 screen (~4 KB) takes two reads; an idle client stays under 16 KiB.
pub(crate) const READ_CHUNK: usize = 2 << 10;

/// What a client's `wait_for` waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The text appears on the screen (within one row).
    Text(String),
    /// The keyboard is unlocked.
    Unlocked,
    /// The keyboard is unlocked and the cursor is in an input field.
    InputField,
    /// The keyboard is unlocked and the cursor is at (row, column).
    Cursor(u16, u16),
}

impl Condition {
    /// True when `screen` satisfies the condition.
    pub fn holds(&self, screen: &Screen) -> bool {
        match self {
            Condition::Text(t) => screen.contains(t),
            Condition::Unlocked => !screen.is_locked(),
            Condition::InputField => {
                !screen.is_locked()
                    && screen.field_at(screen.cursor()).is_some_and(|f| {
                        f.field().is_input() && !screen.is_attribute(screen.cursor())
                    })
            }
            Condition::Cursor(r, c) => !screen.is_locked() && screen.cursor_position() == (*r, *c),
        }
    }
}

/// What a wait learns from the session before it reads again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitState {
    /// The condition holds.
    Done,
    /// Not yet: read more.
    Pending,
}

/// The terminal behind a client: a [`Session`] plus the read buffer its
/// shell fills. Both clients dereference to it, so `screen()`,
/// `type_text()`, `tab()`, `fill_input()`, `poll_event()` … are written
/// once, here.
pub struct Terminal {
    session: Session,
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The read buffer may hold screen data: the session's redacted
        // Debug is all that is shown.
        f.debug_struct("Terminal")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Terminal {
    /// A terminal for `config`; nothing is sent until the host negotiates.
    pub fn new(config: SessionConfig) -> Result<Self> {
        Ok(Self {
            session: Session::new(config)?,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
        })
    }

    /// The session (screen, events, negotiated mode).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The screen.
    pub fn screen(&self) -> &Screen {
        self.session.screen()
    }

    /// The screen, for cursor moves and typing.
    pub fn screen_mut(&mut self) -> &mut Screen {
        self.session.screen_mut()
    }

    /// Types text at the cursor (see [`Screen::type_text`]).
    pub fn type_text(&mut self, text: &str) -> Result<()> {
        self.session.screen_mut().type_text(text)
    }

    /// Moves to the next input field.
    pub fn tab(&mut self) {
        self.session.screen_mut().tab();
    }

    /// Fills input field number `n` (0-based among input fields).
    pub fn fill_input(&mut self, n: usize, text: &str) -> Result<()> {
        let screen = self.session.screen();
        let i = screen
            .input_fields()
            .nth(n)
            .map(|f| f.index())
            .ok_or(Error::OutOfScreen {
                what: "field",
                value: n,
            })?;
        self.session.screen_mut().fill_field(i, text)
    }

    /// The next session event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.session.poll_event()
    }

    /// Queues the answer to `aid` (the shell sends it).
    pub(crate) fn press(&mut self, aid: Aid) -> Result<()> {
        self.session.press(aid)
    }

    /// Queues telnet IP (the shell sends it).
    pub(crate) fn attn(&mut self) -> Result<()> {
        self.session.attn()
    }

    /// Queues a telnet NOP (the shell sends it).
    pub(crate) fn keepalive(&mut self) {
        self.session.keepalive();
    }

    /// Queues a telnet `DO TIMING-MARK` probe (the shell sends it).
    pub(crate) fn timing_mark(&mut self) {
        self.session.timing_mark();
    }

    /// Bytes waiting to be sent.
    pub(crate) fn output(&self) -> &[u8] {
        self.session.output()
    }

    /// Forgets `n` sent bytes of [`Terminal::output`].
    pub(crate) fn consume_output(&mut self, n: usize) {
        self.session.consume_output(n);
    }

    /// The read buffer for the shell to fill.
    pub(crate) fn read_buf(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// Processes the first `n` bytes of [`Terminal::read_buf`].
    pub(crate) fn received(&mut self, n: usize) -> Result<()> {
        let n = n.min(self.buf.len());
        self.session.receive(&self.buf[..n])
    }

    /// Where a wait stands: done, pending, or an error when the session
    /// closed before `done` held.
    pub(crate) fn wait_state(&self, done: impl Fn(&Session) -> bool) -> Result<WaitState> {
        if done(&self.session) {
            return Ok(WaitState::Done);
        }
        if self.session.is_closed() {
            return Err(Error::Closed);
        }
        Ok(WaitState::Pending)
    }
}

/// The predicate of a handshake: negotiated and the first screen arrived.
pub(crate) fn first_screen(s: &Session) -> bool {
    s.is_connected() && s.writes() > 0
}

/// The AID for a key name (`enter`, `clear`, `pf1`–`pf24`, `pa1`–`pa3`,
/// `sysreq`), case-insensitive.
pub fn parse_key(name: &str) -> Option<Aid> {
    let n = name.to_ascii_lowercase();
    let numbered = |prefix: &str, max: u8| {
        n.strip_prefix(prefix)
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|d| (1..=max).contains(d))
    };
    match n.as_str() {
        "enter" => Some(Aid::Enter),
        "clear" => Some(Aid::Clear),
        "sysreq" => Some(Aid::SysReq),
        _ => numbered("pf", 24)
            .map(Aid::Pf)
            .or_else(|| numbered("pa", 3).map(Aid::Pa)),
    }
}
