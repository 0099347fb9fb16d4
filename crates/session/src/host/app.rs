//! What a simulated host shows: screens, fields, and the application
//! callbacks that choose the next screen.

use std::collections::HashMap;

use ballast_codec::tn3270::codes::Display;
use ballast_codec::tn3270::{
    Aid, Color, Command, ExtendedAttribute, FieldAttribute, RecordBuilder, ScreenSize, Wcc,
};
use serde::Deserialize;

use super::store::RecordStore;
use crate::error::Result;

/// A screen a host application shows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ScreenDef {
    /// Name used by transitions and in [`AppContext::screen`].
    pub name: String,
    /// Labels and input fields.
    #[serde(default)]
    pub items: Vec<Item>,
    /// Input field that gets the cursor (the first one when `None`).
    #[serde(default)]
    pub cursor: Option<String>,
}

/// One item of a [`ScreenDef`]. The field attribute takes the cell at
/// `row`, `col`; the text or input starts one cell to the right.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Item {
    /// A protected label.
    Text {
        /// Row of the attribute cell.
        row: u16,
        /// Column of the attribute cell.
        col: u16,
        /// The text; `{name}` is replaced by the session variable `name`.
        text: String,
        /// Color name (blue, red, pink, green, turquoise, yellow, white).
        #[serde(default)]
        color: Option<String>,
        /// Intensified display.
        #[serde(default)]
        bright: bool,
    },
    /// An unprotected input field, closed by a protected attribute.
    Input {
        /// Name under which the typed value reaches the application.
        name: String,
        /// Row of the attribute cell.
        row: u16,
        /// Column of the attribute cell.
        col: u16,
        /// Number of data cells.
        len: u16,
        /// Digits only.
        #[serde(default)]
        numeric: bool,
        /// Non-display (password).
        #[serde(default)]
        hidden: bool,
        /// Color name.
        #[serde(default)]
        color: Option<String>,
    },
}

impl ScreenDef {
    /// A screen with no items.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            items: Vec::new(),
            cursor: None,
        }
    }

    /// Adds a label.
    pub fn text(mut self, row: u16, col: u16, text: impl Into<String>) -> Self {
        self.items.push(Item::Text {
            row,
            col,
            text: text.into(),
            color: None,
            bright: false,
        });
        self
    }

    /// Adds an intensified, colored label.
    pub fn title(mut self, row: u16, col: u16, text: impl Into<String>, color: &str) -> Self {
        self.items.push(Item::Text {
            row,
            col,
            text: text.into(),
            color: Some(color.to_owned()),
            bright: true,
        });
        self
    }

    /// Adds an input field.
    pub fn input(mut self, name: &str, row: u16, col: u16, len: u16) -> Self {
        self.items.push(Item::Input {
            name: name.to_owned(),
            row,
            col,
            len,
            numeric: false,
            hidden: false,
            color: None,
        });
        self
    }

    /// Adds a numeric input field.
    pub fn numeric(mut self, name: &str, row: u16, col: u16, len: u16) -> Self {
        self.items.push(Item::Input {
            name: name.to_owned(),
            row,
            col,
            len,
            numeric: true,
            hidden: false,
            color: None,
        });
        self
    }

    /// Adds a non-display (password) input field.
    pub fn hidden(mut self, name: &str, row: u16, col: u16, len: u16) -> Self {
        self.items.push(Item::Input {
            name: name.to_owned(),
            row,
            col,
            len,
            numeric: false,
            hidden: true,
            color: None,
        });
        self
    }

    /// The input fields: (name, address of the first data cell, length).
    pub(crate) fn input_map(&self, size: ScreenSize) -> Vec<(String, u16, u16)> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Input {
                    name,
                    row,
                    col,
                    len,
                    ..
                } => size
                    .address(*row, *col + 1)
                    .map(|a| (name.clone(), a, *len)),
                Item::Text { .. } => None,
            })
            .collect()
    }

    /// Builds the Erase/Write record showing this screen, with the keyboard
    /// restored and MDTs reset; `extended` allows SFE (color).
    pub fn render(
        &self,
        size: ScreenSize,
        vars: &HashMap<String, String>,
        extended: bool,
    ) -> Result<Vec<u8>> {
        let wcc = Wcc::from_flags(Wcc::RESET | Wcc::KEYBOARD_RESTORE | Wcc::RESET_MDT);
        let mut b = RecordBuilder::new(Command::EraseWrite, wcc, size);
        let cursor_name = self.cursor.clone().or_else(|| {
            self.items.iter().find_map(|i| match i {
                Item::Input { name, .. } => Some(name.clone()),
                Item::Text { .. } => None,
            })
        });
        let mut cursor_at = None;
        for item in &self.items {
            match item {
                Item::Text {
                    row,
                    col,
                    text,
                    color,
                    bright,
                } => {
                    let mut attr = FieldAttribute::new().protect();
                    if *bright {
                        attr = attr.display(Display::Intensified);
                    }
                    b = field(b.sba(*row, *col), attr, color.as_deref(), extended)
                        .text_str(&substitute(text, vars));
                }
                Item::Input {
                    name,
                    row,
                    col,
                    len,
                    numeric,
                    hidden,
                    color,
                } => {
                    let mut attr = FieldAttribute::new();
                    if *numeric {
                        attr = attr.numeric();
                    }
                    if *hidden {
                        attr = attr.display(Display::Hidden);
                    }
                    b = field(b.sba(*row, *col), attr, color.as_deref(), extended);
                    if cursor_name.as_deref() == Some(name) {
                        cursor_at = Some((*row, *col + 1));
                    }
                    let end = size.address(*row, *col).map_or(0, |a| {
                        (u32::from(a) + 1 + u32::from(*len)) % size.buffer_len()
                    });
                    let (r, c) = size.row_col(end as u16).unwrap_or((0, 0));
                    b = b.sba(r, c).start_field(FieldAttribute::new().protect());
                }
            }
        }
        if let Some((r, c)) = cursor_at {
            b = b.sba(r, c).insert_cursor();
        }
        Ok(b.finish()?)
    }
}

fn field(
    b: RecordBuilder,
    attr: FieldAttribute,
    color: Option<&str>,
    extended: bool,
) -> RecordBuilder {
    match color.and_then(color_by_name) {
        Some(c) if extended => b.start_field_extended(attr, &[ExtendedAttribute::Foreground(c)]),
        _ => b.start_field(attr),
    }
}

/// A color by its lower-case name.
pub fn color_by_name(name: &str) -> Option<Color> {
    Some(match name {
        "blue" => Color::BLUE,
        "red" => Color::RED,
        "pink" => Color::PINK,
        "green" => Color::GREEN,
        "turquoise" => Color::TURQUOISE,
        "yellow" => Color::YELLOW,
        "white" => Color::NEUTRAL_WHITE,
        _ => return None,
    })
}

/// Replaces every `{name}` in `text` by `vars[name]` (empty when unset).
fn substitute(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push_str(vars.get(&after[..close]).map_or("", String::as_str));
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the operator sent: the key and the typed values by field name.
#[derive(Clone, PartialEq, Eq)]
pub struct Input {
    /// The AID key.
    pub aid: Aid,
    /// Field values (trailing nulls and spaces removed) by name; only
    /// fields the terminal sent (modified ones).
    pub fields: HashMap<String, String>,
}

impl Drop for Input {
    /// Field values may be passwords: their bytes are wiped (`zeroize`).
    fn drop(&mut self) {
        for value in self.fields.values_mut() {
            zeroize::Zeroize::zeroize(value);
        }
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be passwords: names only.
        let mut names: Vec<&String> = self.fields.keys().collect();
        names.sort();
        f.debug_struct("Input")
            .field("aid", &self.aid)
            .field("fields", &names)
            .finish()
    }
}

impl Input {
    /// The value of field `name`, "" when not sent.
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// What the application does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Show this screen.
    Show(ScreenDef),
    /// End the session.
    Disconnect,
}

/// Per-session state an application keeps.
#[derive(Clone, Default)]
pub struct AppContext {
    /// Name of the screen on display.
    pub screen: String,
    /// Session variables, used for `{name}` substitution.
    pub vars: HashMap<String, String>,
    /// The signed-on user, if any.
    pub user: Option<String>,
    /// The LU of the session (TN3270E), if any.
    pub lu: Option<String>,
    /// The records of the simulator.
    pub store: RecordStore,
}

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppContext")
            .field("screen", &self.screen)
            .field("user", &self.user)
            .field("lu", &self.lu)
            .finish_non_exhaustive()
    }
}

/// A host application: picks screens in answer to keys.
pub trait Application: Send + Sync + 'static {
    /// The first screen of a new session.
    fn start(&self, ctx: &mut AppContext) -> Reply;
    /// The operator pressed a key.
    fn on_input(&self, ctx: &mut AppContext, input: &Input) -> Reply;
}
