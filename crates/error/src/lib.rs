//! Stable error codes, retry classes and recovery guidance for every
//! ballast error.
//!
//! Each public error enum of the workspace implements [`Coded`]: every
//! variant has a code that never changes once released
//! (`BLST-SESSION-004`), a [`ErrorClass`] that says whether trying again
//! can help — the retry policies and the session manager go by it — and a
//! recovery step an operator can act on. The [`catalog!`] macro declares
//! a crate's entries next to its error type, and the compiler refuses a
//! variant without one; `docs/errors.md` is generated from the catalogs
//! and a test fails when a code is missing, changed or undocumented.
//!
//! ```
//! use ballast_error::{Coded, ErrorClass, catalog};
//!
//! #[derive(Debug)]
//! pub enum FetchError {
//!     Timeout { after_ms: u64 },
//!     NotFound(String),
//!     Closed,
//! }
//!
//! catalog! {
//!     FetchError => pub FETCH_CATALOG {
//!         Timeout { .. } => "DEMO-FETCH-001", Transient,
//!             "no answer in time", "Retry; if it persists, check the peer's load.";
//!         NotFound(_) => "DEMO-FETCH-002", Permanent,
//!             "no such item", "Check the name; retrying will not find it.";
//!         Closed => "DEMO-FETCH-003", Transient,
//!             "the connection closed", "Reconnect and retry.";
//!     }
//! }
//!
//! let e = FetchError::Timeout { after_ms: 500 };
//! assert_eq!(e.code(), "DEMO-FETCH-001");
//! assert!(e.is_retryable());
//! assert_eq!(FetchError::NotFound("x".into()).class(), ErrorClass::Permanent);
//! assert_eq!(FETCH_CATALOG.len(), 3);
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::fmt;

/// Whether an error can go away by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// A condition that may pass (a timeout, a reset, a full queue, an open
    /// breaker): trying again, later or elsewhere, can succeed.
    Transient,
    /// The peer or the data refuses it (a protocol violation, a rejected
    /// device type, a corrupt record): the same request will fail again.
    Permanent,
    /// The caller asked for something impossible (a bad configuration, a
    /// key on a protected field, an address off the screen): fix the call.
    Caller,
}

impl ErrorClass {
    /// `transient`, `permanent` or `caller`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Caller => "caller",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One variant's catalog entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The stable code (`BLST-CODEC-007`).
    pub code: &'static str,
    /// The variant, as `Type::Variant`.
    pub name: &'static str,
    /// Whether trying again can help.
    pub class: ErrorClass,
    /// What happened, in a few words.
    pub summary: &'static str,
    /// What to do about it.
    pub recovery: &'static str,
}

/// An error with a stable code, a class and recovery guidance.
pub trait Coded {
    /// The stable code of this error's variant.
    fn code(&self) -> &'static str;

    /// Every entry of this error type's catalog.
    fn catalog() -> &'static [CatalogEntry]
    where
        Self: Sized;

    /// This error's catalog entry.
    fn entry(&self) -> &'static CatalogEntry;

    /// Whether trying again can help.
    fn class(&self) -> ErrorClass {
        self.entry().class
    }

    /// True for [`ErrorClass::Transient`] errors: the ones a retry policy
    /// should retry.
    fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// What an operator should do about it.
    fn recovery(&self) -> &'static str {
        self.entry().recovery
    }
}

/// Finds the entry of `code` in `catalog` (the [`catalog!`] macro's
/// [`Coded::entry`]).
///
/// # Panics
///
/// When `code` is not in `catalog`, which the macro rules out: it builds
/// both from one table.
pub fn find(catalog: &'static [CatalogEntry], code: &str) -> &'static CatalogEntry {
    match catalog.iter().find(|e| e.code == code) {
        Some(e) => e,
        None => panic!("error code {code} is missing from its catalog"),
    }
}

/// Declares an error type's catalog: a `pub const` slice of
/// [`CatalogEntry`] and the [`Coded`] impl, from one table of
/// `Variant pattern => "CODE", Class, "summary", "recovery";` rows. The
/// generated `code()` is one `match` over the rows, so a variant without a
/// row does not compile.
#[macro_export]
macro_rules! catalog {
    (
        $ty:ident => $vis:vis $catalog:ident {
            $( $variant:ident $( ( $($tuple:tt)* ) )? $( { $($fields:tt)* } )?
                => $code:literal, $class:ident, $summary:literal, $recovery:literal; )+
        }
    ) => {
        /// The error catalog of this type: one entry per variant, with its
        /// stable code, class and recovery guidance.
        $vis const $catalog: &[$crate::CatalogEntry] = &[
            $( $crate::CatalogEntry {
                code: $code,
                name: concat!(stringify!($ty), "::", stringify!($variant)),
                class: $crate::ErrorClass::$class,
                summary: $summary,
                recovery: $recovery,
            }, )+
        ];

        impl $crate::Coded for $ty {
            fn code(&self) -> &'static str {
                match self {
                    $( $ty::$variant $( ( $($tuple)* ) )? $( { $($fields)* } )? => $code, )+
                }
            }

            fn catalog() -> &'static [$crate::CatalogEntry] {
                $catalog
            }

            fn entry(&self) -> &'static $crate::CatalogEntry {
                $crate::find($catalog, $crate::Coded::code(self))
            }
        }
    };
}

/// The catalog as the Markdown table `docs/errors.md` holds: one section
/// per crate, one row per code.
pub fn markdown(sections: &[(&str, &[CatalogEntry])]) -> String {
    let mut out = String::new();
    for (title, entries) in sections {
        out.push_str(&format!("\n## {title}\n\n"));
        out.push_str("| code | error | class | what happened | what to do |\n");
        out.push_str("|---|---|---|---|---|\n");
        for e in *entries {
            out.push_str(&format!(
                "| `{}` | `{}` | {} | {} | {} |\n",
                e.code,
                e.name,
                e.class,
                e.summary.replace('|', "\\|"),
                e.recovery.replace('|', "\\|")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)]
    enum Demo {
        A { x: u8 },
        B(u8),
        C,
    }

    catalog! {
        Demo => DEMO {
            A { .. } => "T-1", Transient, "a", "retry";
            B(_) => "T-2", Caller, "b | c", "fix";
            C => "T-3", Permanent, "c", "give up";
        }
    }

    #[test]
    fn every_variant_has_its_entry() {
        assert_eq!(Demo::A { x: 1 }.code(), "T-1");
        assert!(Demo::A { x: 1 }.is_retryable());
        assert_eq!(Demo::B(0).class(), ErrorClass::Caller);
        assert!(!Demo::C.is_retryable());
        assert_eq!(Demo::C.entry().name, "Demo::C");
        assert_eq!(Demo::catalog().len(), 3);
        assert_eq!(Demo::C.recovery(), "give up");
    }

    #[test]
    fn the_markdown_escapes_pipes() {
        let md = markdown(&[("demo", DEMO)]);
        assert!(
            md.contains("| `T-2` | `Demo::B` | caller | b \\| c | fix |"),
            "{md}"
        );
    }
}
