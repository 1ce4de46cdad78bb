//! The DKIM tag=value list (RFC 6376 section 3.2), shared by signatures and key records.
//!
//! ```text
//! tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
//! tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
//! tag-name  =  ALPHA *ALNUMPUNC
//! ```

use super::DkimError;

/// At most this many tags in one list; a signature has 14 defined tags.
const MAX_TAGS: usize = 64;

/// One parsed tag, borrowing from the input, with the offsets of its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tag<'a> {
    pub(crate) name: &'a [u8],
    pub(crate) value: &'a [u8],
    /// Offset just after the `=`: where `b=` removal starts.
    pub(crate) after_eq: usize,
    /// Offset just after the value (trailing FWS excluded).
    pub(crate) value_end: usize,
}

fn is_fws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim_start(s: &[u8], mut from: usize, to: usize) -> usize {
    while from < to && is_fws(s[from]) {
        from += 1;
    }
    from
}

fn trim_end(s: &[u8], from: usize, mut to: usize) -> usize {
    while to > from && is_fws(s[to - 1]) {
        to -= 1;
    }
    to
}

/// Parses a tag list. Duplicate tag names, a tag without `=`, a bad tag name and empty
/// segments other than one trailing `;` are errors.
pub(crate) fn parse(input: &[u8]) -> Result<Vec<Tag<'_>>, DkimError> {
    let mut tags: Vec<Tag<'_>> = Vec::with_capacity(16);
    let mut start = 0usize;
    let len = input.len();
    loop {
        let end = memchr_semicolon(input, start).unwrap_or(len);
        let s = trim_start(input, start, end);
        let e = trim_end(input, s, end);
        if s == e {
            // Empty segment: allowed only as the last one (a trailing `;` or empty list).
            if end != len {
                return Err(DkimError::TagSyntax);
            }
            break;
        }
        let eq = memchr::memchr(b'=', &input[s..e])
            .map(|p| p + s)
            .ok_or(DkimError::TagSyntax)?;
        let name_end = trim_end(input, s, eq);
        let name = &input[s..name_end];
        if !valid_name(name) {
            return Err(DkimError::TagSyntax);
        }
        let vs = trim_start(input, eq + 1, e);
        let tag = Tag {
            name,
            value: &input[vs..e],
            after_eq: eq + 1,
            value_end: e.max(eq + 1),
        };
        if tags.iter().any(|t| t.name == name) {
            return Err(DkimError::DuplicateTag(
                String::from_utf8_lossy(name).into_owned(),
            ));
        }
        if tags.len() >= MAX_TAGS {
            return Err(DkimError::TagSyntax);
        }
        tags.push(tag);
        if end == len {
            break;
        }
        start = end + 1;
    }
    Ok(tags)
}

fn memchr_semicolon(input: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(b';', input.get(from..)?).map(|p| p + from)
}

fn valid_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphabetic()
                && rest.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
        }
        None => false,
    }
}

/// Finds a tag by name.
pub(crate) fn get<'a>(tags: &[Tag<'a>], name: &str) -> Option<Tag<'a>> {
    tags.iter().find(|t| t.name == name.as_bytes()).copied()
}

/// Removes every FWS byte (for base64 values, which may be folded anywhere).
pub(crate) fn strip_fws(value: &[u8]) -> Vec<u8> {
    let mut out = value.to_vec();
    out.retain(|&b| !is_fws(b));
    out
}

/// Splits a colon-separated list (`h=`, key `h=`, `t=`, `s=`), trimming FWS.
pub(crate) fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b':').map(|item| {
        let s = trim_start(item, 0, item.len());
        let e = trim_end(item, s, item.len());
        &item[s..e]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_fws_and_trailing_semicolon() {
        let t = parse(b" v = 1 ;\r\n a=rsa-sha256;b= ab\r\n cd ;").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].name, b"v");
        assert_eq!(t[0].value, b"1");
        assert_eq!(t[2].value, b"ab\r\n cd");
    }

    #[test]
    fn rejects_duplicates_and_garbage() {
        assert!(matches!(
            parse(b"a=1; a=2"),
            Err(DkimError::DuplicateTag(_))
        ));
        assert!(parse(b"a=1;;b=2").is_err());
        assert!(parse(b"noequals").is_err());
        assert!(parse(b"1a=x").is_err());
        assert!(parse(b"").unwrap().is_empty());
    }

    #[test]
    fn empty_value_is_allowed() {
        let t = parse(b"p=; v=DKIM1").unwrap();
        assert_eq!(t[0].value, b"");
    }
}
