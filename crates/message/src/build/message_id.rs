//! The `Message-ID:` field (RFC 5322 section 3.6.4).

use super::{BuildError, is_dot_atom};
use crate::MessageId;

/// A message identifier `<token@domain>` from a caller-provided unique token (for example
/// a queue id, a timestamp and random bytes) and the host's domain. Both must be
/// dot-atoms (a domain literal such as `[192.0.2.1]` is allowed too).
///
/// ```
/// use postwerk_message::build::message_id;
/// assert_eq!(message_id("20261128.abc", "mx.example").unwrap().to_string(), "<20261128.abc@mx.example>");
/// assert!(message_id("a b", "mx.example").is_err());
/// ```
pub fn message_id(token: &str, domain: &str) -> Result<MessageId<'static>, BuildError> {
    if !is_dot_atom(token) {
        return Err(BuildError::InvalidToken);
    }
    let literal = domain.starts_with('[')
        && domain.ends_with(']')
        && domain.len() > 2
        && domain.get(1..domain.len() - 1).is_some_and(|d| {
            d.chars()
                .all(|c| c.is_ascii_graphic() && !"[]\\".contains(c))
        });
    if !is_dot_atom(domain) && !literal {
        return Err(BuildError::InvalidDomain);
    }
    let id = format!("<{token}@{domain}>");
    crate::MessageId::parse(id.as_bytes())
        .map(MessageId::into_owned)
        .map_err(|_| BuildError::InvalidToken)
}

/// `Message-ID: <token@domain>` with CRLF; see [`message_id`].
pub fn message_id_field(token: &str, domain: &str) -> Result<String, BuildError> {
    Ok(format!("Message-ID: {}\r\n", message_id(token, domain)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(
            message_id_field("q1", "[192.0.2.1]").unwrap(),
            "Message-ID: <q1@[192.0.2.1]>\r\n"
        );
        assert_eq!(message_id("q1", "a..b"), Err(BuildError::InvalidDomain));
        assert_eq!(message_id(".q", "a.b"), Err(BuildError::InvalidToken));
        let f = message_id_field("x.y", "h.example").unwrap();
        let m = crate::Message::parse(f.as_bytes()).unwrap();
        assert_eq!(m.message_id().unwrap().unwrap().as_str(), "x.y@h.example");
    }
}
