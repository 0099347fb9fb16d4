//! Screen scripts: an application described in TOML or JSON.
//!
//! ```toml
//! start = "hello"
//!
//! [[screens]]
//! name = "hello"
//! items = [
//!   { kind = "text", row = 0, col = 0, text = "HELLO", color = "blue" },
//!   { kind = "input", name = "who", row = 2, col = 0, len = 8 },
//! ]
//!
//! [[screens]]
//! name = "bye"
//! items = [{ kind = "text", row = 0, col = 0, text = "BYE {who}" }]
//!
//! [[transitions]]
//! from = "hello"
//! key = "enter"
//! to = "bye"
//! ```
//!
//! A transition fires when the key matches and every `when` field equals
//! the typed value; the first match wins. With no match the current screen
//! is shown again. Every typed value becomes a variable for `{name}`.

use std::collections::HashMap;

use ballast_codec::tn3270::ScreenSize;
use serde::Deserialize;

use super::app::{AppContext, Application, Input, Reply, ScreenDef};
use crate::error::{Error, Result};
use crate::terminal::parse_key;

/// Most screens a script may hold: 1000.
pub const MAX_SCRIPT_SCREENS: usize = 1000;

/// A transition between screens.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transition {
    /// Screen it applies to.
    pub from: String,
    /// Key name: `enter`, `clear`, `pf1`–`pf24`, `pa1`–`pa3`.
    pub key: String,
    /// Field values that must match.
    #[serde(default)]
    pub when: HashMap<String, String>,
    /// Next screen; the special name `disconnect` ends the session.
    pub to: String,
}

/// A scripted application.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScriptApp {
    /// The first screen.
    pub start: String,
    /// Every screen.
    pub screens: Vec<ScreenDef>,
    /// The transitions.
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

impl ScriptApp {
    /// Parses a JSON script and checks it.
    pub fn from_json(text: &str) -> Result<Self> {
        let app: Self = serde_json::from_str(text).map_err(|e| Error::Script(e.to_string()))?;
        app.check()?;
        Ok(app)
    }

    /// Parses a TOML script and checks it.
    pub fn from_toml(text: &str) -> Result<Self> {
        let app: Self = toml::from_str(text).map_err(|e| Error::Script(e.to_string()))?;
        app.check()?;
        Ok(app)
    }

    fn check(&self) -> Result<()> {
        if self.screens.len() > MAX_SCRIPT_SCREENS {
            return Err(Error::Script(format!(
                "{} screens over the limit of {MAX_SCRIPT_SCREENS}",
                self.screens.len()
            )));
        }
        let known = |n: &str| self.screens.iter().any(|s| s.name == n);
        if !known(&self.start) {
            return Err(Error::Script(format!(
                "start screen {:?} is not defined",
                self.start
            )));
        }
        for screen in &self.screens {
            screen
                .render(ScreenSize::MODEL_2, &HashMap::new(), true)
                .map_err(|e| {
                    Error::Script(format!("screen {:?} does not fit 24x80: {e}", screen.name))
                })?;
        }
        for t in &self.transitions {
            if parse_key(&t.key).is_none() {
                return Err(Error::Script(format!("unknown key {:?}", t.key)));
            }
            if !known(&t.from) || !(known(&t.to) || t.to == "disconnect") {
                return Err(Error::Script(format!(
                    "transition {:?} -> {:?} names an undefined screen",
                    t.from, t.to
                )));
            }
        }
        Ok(())
    }

    fn show(&self, ctx: &mut AppContext, name: &str) -> Reply {
        match self.screens.iter().find(|s| s.name == name) {
            Some(s) => {
                ctx.screen = s.name.clone();
                Reply::Show(s.clone())
            }
            None => Reply::Disconnect,
        }
    }
}

impl Application for ScriptApp {
    fn start(&self, ctx: &mut AppContext) -> Reply {
        self.show(ctx, &self.start)
    }

    fn on_input(&self, ctx: &mut AppContext, input: &Input) -> Reply {
        for (k, v) in &input.fields {
            ctx.vars.insert(k.clone(), v.clone());
        }
        let hit = self.transitions.iter().find(|t| {
            t.from == ctx.screen
                && parse_key(&t.key) == Some(input.aid)
                && t.when.iter().all(|(k, v)| input.get(k) == v)
        });
        match hit {
            Some(t) if t.to == "disconnect" => Reply::Disconnect,
            Some(t) => {
                let to = t.to.clone();
                self.show(ctx, &to)
            }
            None => {
                let current = ctx.screen.clone();
                self.show(ctx, &current)
            }
        }
    }
}
