//! [`LoginScript`]: how a new session signs on: a sequence of waits,
//! typed text, secrets and keys, as the `screen` example's flags are.

use ballast_codec::tn3270::Aid;

use crate::secret::Secret;
use crate::terminal::{Condition, parse_key};

/// One step of a [`LoginScript`] (or of a navigation script).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginStep {
    /// Waits until the text is on the screen.
    WaitText(String),
    /// Waits until `condition` holds.
    Wait(Condition),
    /// Types text at the cursor, then tabs to the next input field.
    Type(String),
    /// Types the user id at the cursor, then tabs: as [`LoginStep::Type`],
    /// and the text is the [`LoginScript::user`] the audit log records.
    TypeUser(String),
    /// Types a secret at the cursor (a password into a non-display field),
    /// then tabs. It never reaches a log, the audit log or `Debug`.
    TypeSecret(Secret),
    /// Moves to the next input field.
    Tab,
    /// Presses the key and waits until the host unlocks the keyboard.
    Key(Aid),
}

/// The steps that sign a new session on, run by the manager before the
/// session is lent; an empty script lends the session at its first screen.
///
/// ```
/// use ballast_session::manager::LoginScript;
/// use ballast_session::{Aid, Secret};
///
/// let login = LoginScript::new()
///     .wait_text("PLEASE SIGN ON")
///     .type_text("DEMO")
///     .type_secret(Secret::from("SECRET"))
///     .key(Aid::Enter)
///     .wait_text("MAIN MENU");
/// assert_eq!(login.steps().len(), 5);
/// assert!(!format!("{login:?}").contains("SECRET"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginScript {
    steps: Vec<LoginStep>,
}

impl LoginScript {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a step.
    #[must_use]
    pub fn step(mut self, step: LoginStep) -> Self {
        self.steps.push(step);
        self
    }

    /// Adds [`LoginStep::WaitText`].
    #[must_use]
    pub fn wait_text(self, text: impl Into<String>) -> Self {
        self.step(LoginStep::WaitText(text.into()))
    }

    /// Adds [`LoginStep::Type`].
    #[must_use]
    pub fn type_text(self, text: impl Into<String>) -> Self {
        self.step(LoginStep::Type(text.into()))
    }

    /// Adds [`LoginStep::TypeUser`].
    #[must_use]
    pub fn type_user(self, user: impl Into<String>) -> Self {
        self.step(LoginStep::TypeUser(user.into()))
    }

    /// Adds [`LoginStep::TypeSecret`].
    #[must_use]
    pub fn type_secret(self, secret: Secret) -> Self {
        self.step(LoginStep::TypeSecret(secret))
    }

    /// Adds [`LoginStep::Key`].
    #[must_use]
    pub fn key(self, aid: Aid) -> Self {
        self.step(LoginStep::Key(aid))
    }

    /// The steps in order.
    pub fn steps(&self) -> &[LoginStep] {
        &self.steps
    }

    /// The user id this script signs on as: the first
    /// [`LoginStep::TypeUser`], or else the text typed just before the
    /// first secret (the user id field precedes the password field on a
    /// sign-on screen). Never the secret itself.
    ///
    /// ```
    /// use ballast_session::manager::LoginScript;
    /// use ballast_session::Secret;
    ///
    /// let login = LoginScript::new().type_text("DEMO").type_secret(Secret::from("PW"));
    /// assert_eq!(login.user(), Some("DEMO"));
    /// assert_eq!(LoginScript::new().type_user("OPS1").user(), Some("OPS1"));
    /// ```
    pub fn user(&self) -> Option<&str> {
        let explicit = self.steps.iter().find_map(|s| match s {
            LoginStep::TypeUser(u) => Some(u.as_str()),
            _ => None,
        });
        explicit
            .or_else(|| {
                let secret = self
                    .steps
                    .iter()
                    .position(|s| matches!(s, LoginStep::TypeSecret(_)))?;
                self.steps[..secret].iter().rev().find_map(|s| match s {
                    LoginStep::Type(t) => Some(t.as_str()),
                    LoginStep::Tab => None,
                    _ => Some(""),
                })
            })
            .filter(|u| !u.is_empty())
    }

    /// Parses the `screen` example's flags: `--wait-text T`, `--type T`,
    /// `--user U` ([`LoginScript::type_user`]), `--key K` (`enter`,
    /// `clear`, `pfN`, `paN`). Secrets are added with
    /// [`LoginScript::type_secret`], never parsed from text.
    pub fn from_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut script = Self::new();
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or(format!("{flag} needs a value"))?;
            script = match flag {
                "--wait-text" => script.wait_text(value),
                "--type" => script.type_text(value),
                "--user" => script.type_user(value),
                "--key" => script.key(parse_key(value).ok_or(format!("unknown key {value:?}"))?),
                _ => return Err(format!("unknown step {flag}")),
            };
        }
        Ok(script)
    }
}
