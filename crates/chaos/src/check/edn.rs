//! A reader for the subset of EDN that Jepsen writes in `history.edn`: nil,
//! booleans, integers, floats, strings, characters, keywords, symbols,
//! vectors, lists, maps, sets, tagged values (`#inst "…"`, tag dropped),
//! `#_` discards, `;` comments and commas as whitespace.
//!
//! Hand-written rather than taken from a crate: the checker needs only this
//! subset, column-exact errors, a nesting limit (nothing a file holds can
//! overflow the stack) and speed on million-line histories.

use std::fmt;

/// Deepest nesting accepted (Jepsen histories nest four levels).
pub const MAX_DEPTH: usize = 64;

/// An EDN value.
#[derive(Debug, Clone, PartialEq)]
pub enum Edn {
    /// `nil`
    Nil,
    /// `true` / `false`
    Bool(bool),
    /// An integer (an `N` suffix is accepted; it must fit in 64 bits).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (escapes resolved) or a character (`\a`).
    Str(String),
    /// A keyword, without its colon (`:append` → `append`).
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// `[...]` or `(...)`.
    Vector(Vec<Edn>),
    /// `#{...}`
    Set(Vec<Edn>),
    /// `{...}` in file order.
    Map(Vec<(Edn, Edn)>),
}

impl Edn {
    /// The name of a keyword, symbol or string.
    pub fn name(&self) -> Option<&str> {
        match self {
            Edn::Keyword(s) | Edn::Symbol(s) | Edn::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value under keyword `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Edn> {
        match self {
            Edn::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Edn::Nil => "nil",
            Edn::Bool(_) => "a boolean",
            Edn::Int(_) => "an integer",
            Edn::Float(_) => "a float",
            Edn::Str(_) => "a string",
            Edn::Keyword(_) => "a keyword",
            Edn::Symbol(_) => "a symbol",
            Edn::Vector(_) => "a vector",
            Edn::Set(_) => "a set",
            Edn::Map(_) => "a map",
        }
    }
}

/// Why a text is not EDN, and where (1-based column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnError {
    /// 1-based column (in bytes) where the problem is.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for EdnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// Parses one EDN value that must fill `text` (trailing whitespace and
/// comments allowed).
pub fn parse(text: &str) -> Result<Edn, EdnError> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < p.s.len() {
        return Err(p.err("text after the value"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, message: impl Into<String>) -> EdnError {
        EdnError {
            column: self.pos + 1,
            message: message.into(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(&c) = self.s.get(self.pos) {
            match c {
                c if c.is_ascii_whitespace() || c == b',' => self.pos += 1,
                b';' => {
                    while self.s.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Edn, EdnError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.skip_ws();
        let Some(&c) = self.s.get(self.pos) else {
            return Err(self.err("unexpected end of line (a value was expected)"));
        };
        match c {
            b'[' | b'(' => {
                self.pos += 1;
                let close = if c == b'[' { b']' } else { b')' };
                Ok(Edn::Vector(self.seq(close, depth)?))
            }
            b'{' => {
                self.pos += 1;
                self.map(depth)
            }
            b'#' => self.dispatch(depth),
            b'"' => self.string(),
            b':' => {
                self.pos += 1;
                let t = self.token();
                if t.is_empty() {
                    return Err(self.err("a keyword needs a name after ':'"));
                }
                Ok(Edn::Keyword(t.to_string()))
            }
            b'\\' => {
                self.pos += 1;
                let t = self.token().to_string();
                let ch = match t.as_str() {
                    "newline" => "\n".to_string(),
                    "space" => " ".to_string(),
                    "tab" => "\t".to_string(),
                    _ if t.chars().count() == 1 => t.clone(),
                    _ => return Err(self.err(format!("unknown character \\{t}"))),
                };
                Ok(Edn::Str(ch))
            }
            b']' | b')' | b'}' => Err(self.err(format!("unexpected '{}'", c as char))),
            _ => self.atom(),
        }
    }

    fn dispatch(&mut self, depth: usize) -> Result<Edn, EdnError> {
        self.pos += 1;
        match self.s.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                Ok(Edn::Set(self.seq(b'}', depth)?))
            }
            Some(b'_') => {
                self.pos += 1;
                self.value(depth + 1)?;
                self.value(depth)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                self.token();
                self.value(depth + 1)
            }
            _ => Err(self.err("unknown '#' form")),
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> Result<Vec<Edn>, EdnError> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            match self.s.get(self.pos) {
                None => {
                    return Err(
                        self.err(format!("unclosed collection: '{}' expected", close as char))
                    );
                }
                Some(&c) if c == close => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'#') if self.s.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    self.value(depth + 1)?;
                }
                Some(_) => out.push(self.value(depth + 1)?),
            }
        }
    }

    fn map(&mut self, depth: usize) -> Result<Edn, EdnError> {
        let items = self.seq(b'}', depth)?;
        if items.len() % 2 != 0 {
            return Err(self.err("a map needs an even number of forms (a key without a value)"));
        }
        let mut it = items.into_iter();
        let mut entries = Vec::with_capacity(it.len() / 2);
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            entries.push((k, v));
        }
        Ok(Edn::Map(entries))
    }

    fn string(&mut self) -> Result<Edn, EdnError> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        b'"' | b'\\' => e,
                        _ => return Err(self.err(format!("unknown escape \\{}", e as char))),
                    });
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out)
            .map(Edn::Str)
            .map_err(|_| self.err("string is not UTF-8"))
    }

    fn token(&mut self) -> &'a str {
        let s: &'a [u8] = self.s;
        let start = self.pos;
        while let Some(&c) = self.s.get(self.pos) {
            if c.is_ascii_whitespace()
                || matches!(
                    c,
                    b',' | b'[' | b']' | b'(' | b')' | b'{' | b'}' | b'"' | b';'
                )
            {
                break;
            }
            self.pos += 1;
        }
        // Empty when the bytes are not UTF-8 (the caller reports it).
        std::str::from_utf8(&s[start..self.pos]).unwrap_or("")
    }

    fn atom(&mut self) -> Result<Edn, EdnError> {
        let start = self.pos;
        let t = self.token();
        match t {
            "nil" => return Ok(Edn::Nil),
            "true" => return Ok(Edn::Bool(true)),
            "false" => return Ok(Edn::Bool(false)),
            _ => {}
        }
        let b = t.as_bytes();
        if b.is_empty() {
            // Not a delimiter, yet no token: bytes that are not UTF-8.
            return Err(self.err("not UTF-8 text".to_string()));
        }
        let numeric = b[0].is_ascii_digit()
            || (b.len() > 1 && matches!(b[0], b'-' | b'+') && b[1].is_ascii_digit());
        if !numeric {
            return Ok(Edn::Symbol(t.to_string()));
        }
        let digits = t.strip_suffix('N').unwrap_or(t);
        if let Ok(i) = digits.parse::<i64>() {
            return Ok(Edn::Int(i));
        }
        let float = t.strip_suffix('M').unwrap_or(t);
        if let Ok(f) = float.parse::<f64>() {
            if digits
                .bytes()
                .all(|c| c.is_ascii_digit() || c == b'-' || c == b'+')
            {
                self.pos = start;
                return Err(self.err(format!("integer {t} does not fit in 64 bits")));
            }
            return Ok(Edn::Float(f));
        }
        self.pos = start;
        Err(self.err(format!("'{t}' is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_jepsen_operation() {
        let v = parse(
            "{:type :ok, :f :txn, :value [[:append 1 2] [:r 1 [1 2]] [:r 3 nil]], :process 0, :time 12, :index 0}",
        )
        .unwrap();
        assert_eq!(v.get("type"), Some(&Edn::Keyword("ok".into())));
        assert_eq!(v.get("time"), Some(&Edn::Int(12)));
        let Some(Edn::Vector(mops)) = v.get("value") else {
            panic!("value is a vector")
        };
        assert_eq!(mops.len(), 3);
        assert_eq!(
            mops[1],
            Edn::Vector(vec![
                Edn::Keyword("r".into()),
                Edn::Int(1),
                Edn::Vector(vec![Edn::Int(1), Edn::Int(2)])
            ])
        );
    }

    #[test]
    fn reads_sets_tags_discards_comments_and_strings() {
        let v = parse(r#"{:value #{1 2}, :ts #inst "2020-01-01", #_ :gone :e "a \"b\""} ; done"#)
            .unwrap();
        assert_eq!(
            v.get("value"),
            Some(&Edn::Set(vec![Edn::Int(1), Edn::Int(2)]))
        );
        assert_eq!(v.get("ts"), Some(&Edn::Str("2020-01-01".into())));
        assert_eq!(v.get("e"), Some(&Edn::Str("a \"b\"".into())));
    }

    #[test]
    fn errors_name_the_column() {
        let e = parse("{:type :ok, :value [1 2}").unwrap_err();
        assert_eq!(e.column, 24, "{e}");
        assert!(parse("{:a}").unwrap_err().message.contains("even number"));
        assert!(
            parse("99999999999999999999")
                .unwrap_err()
                .message
                .contains("64 bits")
        );
        assert!(
            parse("[1] 2")
                .unwrap_err()
                .message
                .contains("after the value")
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
    }

    #[test]
    fn a_form_feed_is_whitespace_like_any_other() {
        assert_eq!(parse("{:a\x0c1}").unwrap().get("a"), Some(&Edn::Int(1)));
    }

    proptest::proptest! {
        /// Any text parses or fails with a column inside it (or just past
        /// its end), never a panic; EDN-ish text exercises the branches.
        #[test]
        fn any_text_parses_or_fails_with_a_column(
            text in "([{}\\[\\]()#_:;,\\\\\" 0-9a-z+\\-.NM/éλ\u{1F600}\n]{0,40}|.{0,40})",
        ) {
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(e.column >= 1 && e.column <= text.len() + 1, "{e:?} in {text:?}");
            }
        }
    }
}
