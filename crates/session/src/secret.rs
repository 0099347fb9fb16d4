//! [`Secret`]: a credential (a password, a PIN) that is wiped from memory
//! when dropped and never printed.

use std::fmt;

use zeroize::Zeroizing;

/// A secret string: its bytes are overwritten with zeros on drop
/// (`zeroize`), and `Debug` and `Display` print `[redacted]`.
///
/// Read it with [`Secret::expose`] only where it is sent (typed into a
/// non-display field, compared at logon). Clones are wiped too.
///
/// ```
/// use ballast_session::Secret;
///
/// let pw = Secret::from("SECRET");
/// assert_eq!(format!("{pw:?} {pw}"), "[redacted] [redacted]");
/// assert_eq!(pw.expose(), "SECRET");
/// ```
#[derive(Clone, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps `value`; the `String`'s buffer is wiped when the secret drops.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret text. Do not log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in time independent of where they differ
    /// (the lengths still show).
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other.expose())
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::from("hunter2");
        let shown = format!("{s} {s:?} {s:#?} {:?}", Some(s.clone()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn secret_matches_only_the_same_text() {
        let s = Secret::from("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abd"));
        assert!(!s.matches("ab"));
        assert_eq!(s, Secret::from("abc"));
    }
}
