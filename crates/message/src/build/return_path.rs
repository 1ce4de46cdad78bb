//! The `Return-Path:` trace field (RFC 5321 section 4.4, RFC 5322 section 3.6.7).

/// `Return-Path: <path>` with CRLF, from the reverse path of `MAIL FROM` (with or without
/// angle brackets); an empty path gives the null path `<>`. Control characters, spaces and
/// angle brackets inside the path are replaced with `?`.
///
/// ```
/// use postwerk_message::build::return_path_field;
/// assert_eq!(return_path_field("alice@example.com"), "Return-Path: <alice@example.com>\r\n");
/// assert_eq!(return_path_field(""), "Return-Path: <>\r\n");
/// ```
pub fn return_path_field(path: &str) -> String {
    let inner = path.trim();
    let inner = inner
        .strip_prefix('<')
        .and_then(|p| p.strip_suffix('>'))
        .unwrap_or(inner);
    let clean: String = inner
        .chars()
        .take(1024)
        .map(|c| {
            if c.is_control() || c.is_whitespace() || c == '<' || c == '>' {
                '?'
            } else {
                c
            }
        })
        .collect();
    format!("Return-Path: <{clean}>\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(return_path_field("<a@b>"), "Return-Path: <a@b>\r\n");
        assert_eq!(return_path_field("<>"), "Return-Path: <>\r\n");
        assert_eq!(
            return_path_field("a@b>\r\nX: y"),
            "Return-Path: <a@b???X:?y>\r\n"
        );
        let field = return_path_field("\"a b\"@c");
        let parsed = crate::Message::parse(field.as_bytes()).unwrap();
        assert_eq!(
            parsed.header("return-path").unwrap().raw_value(),
            b"<\"a?b\"@c>"
        );
    }
}
