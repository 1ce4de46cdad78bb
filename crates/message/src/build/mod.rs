//! Builders for the fields and messages a mail server writes: trace fields
//! (`Received:`, `Return-Path:`), `Date:`, `Message-ID:` and delivery status
//! notifications (RFC 3464).
//!
//! Everything returns bytes or strings ready to be written, with CRLF line ends. No clock
//! and no random source is used: the caller passes the current time and unique tokens.
//! Values that come from peers (HELO names, paths, reply texts) are sanitised so that they
//! cannot break out of the field they are written into.

mod date;
mod dsn;
mod message_id;
mod received;
mod return_path;

pub use date::date_field;
pub use dsn::{Action, DsnBuilder, DsnRecipient};
pub use message_id::{message_id, message_id_field};
pub use received::{Protocol, ReceivedBuilder};
pub use return_path::return_path_field;

/// Why a builder refused its input.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A unique token for a message identifier or boundary that is not a dot-atom.
    #[error("invalid unique token")]
    InvalidToken,
    /// A domain that is not a dot-atom or a domain literal.
    #[error("invalid domain")]
    InvalidDomain,
    /// A status code that is not `class.subject.detail` (RFC 3463).
    #[error("invalid status code")]
    InvalidStatus,
    /// A delivery status notification without any recipient.
    #[error("no recipients")]
    NoRecipients,
    /// A delivery status notification addressed to the null reverse path `<>`, which
    /// must never receive one (RFC 5321 section 6.1).
    #[error("null reverse path")]
    NullReversePath,
}

/// Whether `c` is `atext` (RFC 5322 section 3.2.3), ASCII only.
pub(crate) fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Whether `s` is a non-empty `dot-atom-text`.
pub(crate) fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|w| !w.is_empty() && w.chars().all(is_atext))
}

/// Replaces characters that could break a structured field (controls, white space,
/// parentheses, backslash, `;`, `<`, `>`, `"`) with `?` and bounds the length.
pub(crate) fn clean_word(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| {
            if c.is_control() || c.is_whitespace() || "()\\;<>\"".contains(c) {
                '?'
            } else {
                c
            }
        })
        .collect();
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

/// Replaces control characters (CR and LF included) with spaces and bounds the length.
pub(crate) fn clean_text(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes `name: ` followed by the words, separated by spaces, folding with CRLF TAB
/// before a word that would take the line past 78 characters; ends with CRLF.
pub(crate) fn fold_words<'w>(name: &str, words: impl IntoIterator<Item = &'w str>) -> String {
    let mut out = String::with_capacity(128);
    out.push_str(name);
    out.push(':');
    let mut line_len = out.len();
    for w in words {
        let wl = w.chars().count();
        if line_len + 1 + wl > 78 && line_len > 1 {
            out.push_str("\r\n\t");
            line_len = 1;
        } else {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(w);
        line_len += wl;
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        let words: Vec<String> = (0..30).map(|i| format!("word{i}")).collect();
        let f = fold_words("X-Test", words.iter().map(String::as_str));
        assert!(f.ends_with("\r\n"));
        for line in f.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        let unfolded = f.replace("\r\n\t", " ");
        assert_eq!(unfolded.trim_end(), format!("X-Test: {}", words.join(" ")));
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean_word("a b\r\n(c);<>", 100), "a?b???c????");
        assert_eq!(clean_word("", 10), "unknown");
        assert_eq!(clean_text("a\r\nb", 10), "a  b");
        assert!(is_dot_atom("a.b-c"));
        assert!(!is_dot_atom("a..b"));
        assert!(!is_dot_atom(""));
    }
}
