//! Wire pieces shared by XOAUTH2 and OAUTHBEARER (RFC 7628).
//!
//! ```text
//! kvsep          = %x01
//! key            = 1*(ALPHA)
//! value          = *(VCHAR / SP / HTAB / CR / LF )
//! kvpair         = key "=" value kvsep
//! client-resp    = (gs2-header kvsep *kvpair kvsep) / kvsep
//! ```

/// The `%x01` separator.
pub(crate) const KVSEP: u8 = 0x01;

/// Parses `key=value\x01key=value\x01\x01` (the part after the gs2 header's trailing kvsep
/// for OAUTHBEARER; the whole message for XOAUTH2). `None` if it is not well formed.
pub(crate) fn kvpairs(msg: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let body = msg.strip_suffix(&[KVSEP])?;
    if body.is_empty() {
        return Some(Vec::new());
    }
    let body = body.strip_suffix(&[KVSEP])?;
    body.split(|&b| b == KVSEP)
        .map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            let key_ok = !key.is_empty() && key.iter().all(u8::is_ascii_alphabetic);
            let value_ok = value
                .iter()
                .all(|&b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'));
            (key_ok && value_ok).then_some((key, value))
        })
        .collect()
}

/// The bearer token of an `auth` value: `"Bearer" 1*SP b64token` (scheme case-insensitive).
pub(crate) fn bearer_token(auth: &[u8]) -> Option<&[u8]> {
    let scheme = auth.get(..6)?;
    if !scheme.eq_ignore_ascii_case(b"Bearer") {
        return None;
    }
    let rest = auth.get(6..)?;
    let token_start = rest.iter().position(|&b| b != b' ')?;
    if token_start == 0 {
        return None;
    }
    let token = &rest[token_start..];
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let ok = token
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    ok.then_some(token)
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Builds the OAUTHBEARER server error challenge (RFC 7628 section 3.2.2):
///
/// ```text
/// {"status":"invalid_token","scope":"example_scope",
///  "openid-configuration":"https://example.com/.well-known/openid-configuration"}
/// ```
///
/// Pass it as [`Answer::RejectWith`](crate::server::Answer::RejectWith). For XOAUTH2, Google
/// sends `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`; use
/// `oauth_error_json("401", ..)` or any JSON of your own.
///
/// ```
/// let json = postwerk_sasl::oauth_error_json("invalid_token", Some("example_scope"), None);
/// assert_eq!(json, br#"{"status":"invalid_token","scope":"example_scope"}"#);
/// ```
pub fn oauth_error_json(
    status: &str,
    scope: Option<&str>,
    openid_configuration: Option<&str>,
) -> Vec<u8> {
    let mut out = String::from("{\"status\":");
    json_string(&mut out, status);
    if let Some(scope) = scope {
        out.push_str(",\"scope\":");
        json_string(&mut out, scope);
    }
    if let Some(config) = openid_configuration {
        out.push_str(",\"openid-configuration\":");
        json_string(&mut out, config);
    }
    out.push('}');
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvpairs_parse() {
        assert_eq!(
            kvpairs(b"a=1\x01bb=x y\x01\x01"),
            Some(vec![(&b"a"[..], &b"1"[..]), (&b"bb"[..], &b"x y"[..])])
        );
        assert_eq!(kvpairs(b"\x01"), Some(vec![]));
        assert_eq!(kvpairs(b"a=1\x01"), None);
        assert_eq!(kvpairs(b"a=1"), None);
        assert_eq!(kvpairs(b"=1\x01\x01"), None);
        assert_eq!(kvpairs(b"a=\x00\x01\x01"), None);
    }

    #[test]
    fn bearer() {
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bearer  abc="), Some(&b"abc="[..]));
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
    }

    #[test]
    fn json_escapes() {
        assert_eq!(
            oauth_error_json("a\"b\\\n", None, None),
            br#"{"status":"a\"b\\\u000a"}"#
        );
    }
}
