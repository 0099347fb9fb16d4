//! Session configuration: terminal model, type, LU, TN3270E and limits.

use ballast_codec::tn3270::{CodePage, ScreenSize};

use crate::error::{Error, Result};
use crate::screen::MAX_BUFFER_LEN;

/// Default limit on bytes buffered while a record is incomplete: 1 MiB.
pub const DEFAULT_MAX_RECORD_LEN: usize = 1 << 20;
/// Default limit on one telnet subnegotiation body: 4 KiB.
pub const DEFAULT_MAX_SUBNEGOTIATION_LEN: usize = 4 << 10;
/// Default limit on negotiation commands and subnegotiations received
/// before the session reaches 3270 mode: 256.
pub const DEFAULT_MAX_NEGOTIATIONS: u32 = 256;
/// Default limit on queued, unread events: 1024.
pub const DEFAULT_MAX_EVENTS: usize = 1024;

/// A 3270 terminal model (screen size).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "ModelSetting", into = "ModelSetting")]
pub enum Model {
    /// 24 × 80.
    #[default]
    Model2,
    /// 32 × 80.
    Model3,
    /// 43 × 80.
    Model4,
    /// 27 × 132.
    Model5,
    /// Any size up to 16 383 cells (terminal type `IBM-DYNAMIC`).
    Custom {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
}

impl Model {
    /// The model's full screen size (the alternate size; EW uses the
    /// 24 × 80 [`Model::primary`] size, EWA this one).
    pub fn size(self) -> ScreenSize {
        match self {
            Model::Model2 => ScreenSize::MODEL_2,
            Model::Model3 => ScreenSize::MODEL_3,
            Model::Model4 => ScreenSize::MODEL_4,
            Model::Model5 => ScreenSize::MODEL_5,
            Model::Custom { rows, cols } => ScreenSize { rows, cols },
        }
    }

    /// The default (EW) size: 24 × 80 for models 2–5, the custom size
    /// otherwise.
    pub fn primary(self) -> ScreenSize {
        match self {
            Model::Custom { rows, cols } => ScreenSize { rows, cols },
            _ => ScreenSize::MODEL_2,
        }
    }

    /// The model digit used in terminal type names (`None` for custom).
    pub fn number(self) -> Option<u8> {
        match self {
            Model::Model2 => Some(2),
            Model::Model3 => Some(3),
            Model::Model4 => Some(4),
            Model::Model5 => Some(5),
            Model::Custom { .. } => None,
        }
    }

    /// The model a terminal type names (`IBM-3278-4-E` → model 4,
    /// `IBM-DYNAMIC` and unknown types → model 2).
    pub fn from_terminal_type(terminal_type: &str) -> Self {
        let base = terminal_type.split('@').next().unwrap_or("");
        let parts: Vec<&str> = base.split('-').collect();
        match parts.get(2).copied() {
            Some("3") => Model::Model3,
            Some("4") => Model::Model4,
            Some("5") => Model::Model5,
            _ => Model::Model2,
        }
    }
}

/// The limits a session enforces on what a peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest record (and bytes buffered waiting for IAC EOR).
    pub max_record_len: usize,
    /// Largest telnet subnegotiation body.
    pub max_subnegotiation_len: usize,
    /// Negotiations accepted before 3270 mode is reached, and in total per
    /// session for subnegotiations.
    pub max_negotiations: u32,
    /// Unread events kept; the oldest is dropped beyond this.
    pub max_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            max_subnegotiation_len: DEFAULT_MAX_SUBNEGOTIATION_LEN,
            max_negotiations: DEFAULT_MAX_NEGOTIATIONS,
            max_events: DEFAULT_MAX_EVENTS,
        }
    }
}

/// How a terminal session presents itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Screen model.
    pub model: Model,
    /// Terminal type sent to the host; `None` derives `IBM-3278-N-E` from
    /// the model (`IBM-DYNAMIC` for a custom size). A `@LU` suffix asks a
    /// plain TN3270 host for that LU.
    pub terminal_type: Option<String>,
    /// LU to CONNECT to in TN3270E.
    pub lu: Option<String>,
    /// Accept TN3270E when the host offers it.
    pub tn3270e: bool,
    /// Code page for text.
    #[serde(with = "code_page")]
    pub code_page: CodePage,
    /// Limits on what the host sends.
    pub limits: Limits,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            model: Model::Model2,
            terminal_type: None,
            lu: None,
            tn3270e: true,
            code_page: CodePage::Cp037,
            limits: Limits::default(),
        }
    }
}

impl SessionConfig {
    /// The terminal type to send.
    pub fn terminal_type(&self) -> String {
        match (&self.terminal_type, self.model.number()) {
            (Some(t), _) => t.clone(),
            (None, Some(n)) => format!("IBM-3278-{n}-E"),
            (None, None) => "IBM-DYNAMIC".to_owned(),
        }
    }

    /// Checks sizes and names; the error names the field at fault.
    pub fn validate(&self) -> Result<()> {
        let size = self.model.size();
        if size.rows == 0 || size.cols == 0 {
            return Err(Error::Config {
                field: "model",
                reason: "has no rows or no columns",
            });
        }
        if size.buffer_len() > MAX_BUFFER_LEN {
            return Err(Error::Config {
                field: "model",
                reason: "has more than 16383 cells",
            });
        }
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= ballast_codec::tn3270::tn3270e::MAX_NAME_LEN
                && s.bytes().all(|b| b.is_ascii_graphic())
        };
        if !name_ok(&self.terminal_type()) {
            return Err(Error::Config {
                field: "terminal_type",
                reason: "must be 1 to 64 printable ascii characters",
            });
        }
        if self.lu.as_deref().is_some_and(|lu| !name_ok(lu)) {
            return Err(Error::Config {
                field: "lu",
                reason: "must be 1 to 64 printable ascii characters",
            });
        }
        let l = &self.limits;
        if l.max_record_len < 64
            || l.max_subnegotiation_len < 64
            || l.max_negotiations == 0
            || l.max_events == 0
        {
            return Err(Error::Config {
                field: "limits",
                reason: "are too small to run a session",
            });
        }
        Ok(())
    }
}

/// A model in a configuration file: `2` to `5`, or `{ rows = 32, cols =
/// 100 }`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum ModelSetting {
    Number(u8),
    Custom { rows: u16, cols: u16 },
}

impl TryFrom<ModelSetting> for Model {
    type Error = String;

    fn try_from(m: ModelSetting) -> std::result::Result<Self, String> {
        match m {
            ModelSetting::Number(2) => Ok(Model::Model2),
            ModelSetting::Number(3) => Ok(Model::Model3),
            ModelSetting::Number(4) => Ok(Model::Model4),
            ModelSetting::Number(5) => Ok(Model::Model5),
            ModelSetting::Number(n) => Err(format!(
                "model {n}: a model is 2, 3, 4 or 5, or {{ rows, cols }}"
            )),
            ModelSetting::Custom { rows, cols } => Ok(Model::Custom { rows, cols }),
        }
    }
}

impl From<Model> for ModelSetting {
    fn from(m: Model) -> Self {
        match (m.number(), m) {
            (Some(n), _) => ModelSetting::Number(n),
            (None, Model::Custom { rows, cols }) => ModelSetting::Custom { rows, cols },
            (None, _) => ModelSetting::Number(2),
        }
    }
}

/// A code page in a configuration file: `"cp037"` or `"cp1047"`.
mod code_page {
    use ballast_codec::tn3270::CodePage;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(c: &CodePage, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match c {
            CodePage::Cp1047 => "cp1047",
            _ => "cp037",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CodePage, D::Error> {
        match String::deserialize(d)?.to_ascii_lowercase().as_str() {
            "cp037" | "037" => Ok(CodePage::Cp037),
            "cp1047" | "1047" => Ok(CodePage::Cp1047),
            other => Err(serde::de::Error::custom(format!(
                "code page {other:?}: cp037 or cp1047"
            ))),
        }
    }
}
