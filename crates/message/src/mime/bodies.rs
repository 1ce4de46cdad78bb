//! Which parts are the text body, the HTML body and the attachments: RFC 8621 section
//! 4.1.4 (the JMAP `parseStructure` algorithm), walked with an explicit stack.
//!
//! ```text
//! isInline = part.disposition != "attachment" &&
//!     (part.type == "text/plain" || part.type == "text/html" || isInlineMediaType(part.type)) &&
//!     (i === 0 || (multipartType != "related" && (isInlineMediaType(part.type) || !part.name)))
//! ```

use std::borrow::Cow;

use super::tree::Part;

/// The three lists of RFC 8621 section 4.1.4, as indices into the message's parts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Bodies {
    pub(crate) text: Vec<usize>,
    pub(crate) html: Vec<usize>,
    pub(crate) attachments: Vec<usize>,
}

/// `image/*`, `audio/*` or `video/*`.
fn is_inline_media(p: &Part<'_>) -> bool {
    matches!(p.content_type().main_type(), "image" | "audio" | "video")
}

/// One call of `parseStructure`: a multipart's children and the call's variables.
struct Frame<'p> {
    children: &'p [usize],
    next: usize,
    /// The multipart's subtype (`mixed` for the top call).
    subtype: &'p str,
    in_alternative: bool,
    /// `textBody` / `htmlBody` are not null in this call.
    text_on: bool,
    html_on: bool,
    /// Their lengths when the call began (-1 for null).
    text_len: Option<usize>,
    html_len: Option<usize>,
}

/// Runs RFC 8621's `parseStructure([root], "mixed", false, [], [], [])` over the parts
/// of a message in pre-order (index 0 is the message).
pub(crate) fn parse_structure(parts: &[Part<'_>]) -> Bodies {
    const ROOT: [usize; 1] = [0];
    let mut b = Bodies::default();
    if parts.is_empty() {
        return b;
    }
    let mut stack = vec![Frame {
        children: &ROOT,
        next: 0,
        subtype: "mixed",
        in_alternative: false,
        text_on: true,
        html_on: true,
        text_len: Some(0),
        html_len: Some(0),
    }];
    while let Some(f) = stack.last_mut() {
        let Some(&index) = f.children.get(f.next) else {
            // End of the call: in an alternative, a body found only in one format fills
            // the other list too.
            if f.subtype == "alternative" && f.text_on && f.html_on {
                let (tl, hl) = (f.text_len.unwrap_or(0), f.html_len.unwrap_or(0));
                if tl == b.text.len() && hl != b.html.len() {
                    let extra: Vec<usize> = b.html.get(hl..).unwrap_or_default().to_vec();
                    b.text.extend(extra);
                }
                if hl == b.html.len() && tl != b.text.len() {
                    let extra: Vec<usize> = b.text.get(tl..).unwrap_or_default().to_vec();
                    b.html.extend(extra);
                }
            }
            stack.pop();
            continue;
        };
        let i = f.next;
        f.next += 1;
        let Some(part) = parts.get(index) else {
            continue;
        };
        let ct = part.content_type();
        let is_text_or_html = ct.is("text", "plain") || ct.is("text", "html");
        let is_inline = !part
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
            && (is_text_or_html || is_inline_media(part))
            && (i == 0
                || (f.subtype != "related"
                    && (is_inline_media(part) || part.filename().is_none())));
        if part.is_multipart() {
            let sub = ct.subtype();
            let frame = Frame {
                children: part.children(),
                next: 0,
                subtype: sub,
                in_alternative: f.in_alternative || sub == "alternative",
                text_on: f.text_on,
                html_on: f.html_on,
                text_len: f.text_on.then_some(b.text.len()),
                html_len: f.html_on.then_some(b.html.len()),
            };
            stack.push(frame);
            continue;
        }
        if !is_inline {
            b.attachments.push(index);
            continue;
        }
        if f.subtype == "alternative" {
            if ct.is("text", "plain") {
                b.text.push(index);
            } else if ct.is("text", "html") {
                b.html.push(index);
            } else {
                b.attachments.push(index);
            }
            continue;
        }
        if f.in_alternative {
            if ct.is("text", "plain") {
                f.html_on = false;
            }
            if ct.is("text", "html") {
                f.text_on = false;
            }
        }
        if f.text_on {
            b.text.push(index);
        }
        if f.html_on {
            b.html.push(index);
        }
        if (!f.text_on || !f.html_on) && is_inline_media(part) {
            b.attachments.push(index);
        }
    }
    b
}

/// The text of body parts joined by line breaks: plain text as it is, HTML rendered as
/// plain text, other parts (inline images) skipped. `None` when there is no text.
pub(crate) fn join_text<'a, 'p>(parts: impl Iterator<Item = &'p Part<'a>>) -> Option<Cow<'a, str>>
where
    'a: 'p,
{
    let mut out: Option<Cow<'a, str>> = None;
    for p in parts {
        let ct = p.content_type();
        let text = if ct.is("text", "html") {
            Cow::Owned(html_to_text(&p.decoded_text().unwrap_or_default()))
        } else if ct.main_type() == "text" {
            p.decoded_text().unwrap_or_default()
        } else {
            continue;
        };
        out = Some(match out {
            None => text,
            Some(prev) => {
                let mut s = prev.into_owned();
                if !s.ends_with('\n') {
                    s.push('\n');
                }
                s.push_str(&text);
                Cow::Owned(s)
            }
        });
    }
    out.filter(|t| !t.trim().is_empty())
}

/// The elements whose content is never text.
const HIDDEN: [&str; 4] = ["script", "style", "head", "title"];

/// Tags after which a line ends.
const BLOCK: [&str; 20] = [
    "br",
    "p",
    "div",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "table",
    "blockquote",
    "pre",
    "hr",
    "dt",
    "dd",
    "section",
];

/// A plain rendering of HTML: tags removed (line breaks at block elements), `script`,
/// `style`, `head` and `title` content dropped, character references decoded, runs of
/// white space made one space and blank lines collapsed.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut hidden: Option<&str> = None;
    let mut space = false;
    while !rest.is_empty() {
        let lt = rest.find('<').unwrap_or(rest.len());
        let (text, tail) = rest.split_at(lt);
        if hidden.is_none() {
            push_text(&mut out, text, &mut space);
        }
        if tail.is_empty() {
            break;
        }
        // A comment, or a tag up to its `>`.
        if let Some(after) = tail.strip_prefix("<!--") {
            rest = after
                .find("-->")
                .and_then(|i| after.get(i + 3..))
                .unwrap_or("");
            continue;
        }
        let gt = tail.find('>').unwrap_or(tail.len());
        let tag = tail.get(1..gt).unwrap_or("");
        rest = tail.get(gt + 1..).unwrap_or("");
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Some(h) = hidden {
            if closing && name == h {
                hidden = None;
            }
            continue;
        }
        if !closing && let Some(h) = HIDDEN.iter().find(|h| **h == name) {
            if !tag.ends_with('/') {
                hidden = Some(h);
            }
            continue;
        }
        if BLOCK.contains(&name.as_str()) {
            while out.ends_with(' ') {
                out.pop();
            }
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            space = false;
        }
    }
    let trimmed = out.trim();
    trimmed.to_string()
}

/// Appends HTML text: white space collapsed, character references decoded.
fn push_text(out: &mut String, text: &str, space: &mut bool) {
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            *space = true;
            rest = rest.get(c.len_utf8()..).unwrap_or("");
            continue;
        }
        if *space && !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        *space = false;
        if c == '&'
            && let Some((decoded, len)) = entity(rest)
        {
            out.push(decoded);
            rest = rest.get(len..).unwrap_or("");
            continue;
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
}

/// A character reference at the start of `s` (`&amp;`, `&#233;`, `&#xe9;`, …): the
/// character and the length of the reference.
fn entity(s: &str) -> Option<(char, usize)> {
    let semi = s.get(..s.len().min(12))?.find(';')?;
    let body = s.get(1..semi)?;
    let c = if let Some(num) = body.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        char::from_u32(n).unwrap_or('\u{fffd}')
    } else {
        match body {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            "copy" => '©',
            "reg" => '®',
            "euro" => '€',
            "mdash" => '—',
            "ndash" => '–',
            "hellip" => '…',
            "ldquo" => '\u{201c}',
            "rdquo" => '\u{201d}',
            "lsquo" => '\u{2018}',
            "rsquo" => '\u{2019}',
            "laquo" => '«',
            "raquo" => '»',
            _ => return None,
        }
    };
    Some((c, semi + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_rendering() {
        assert_eq!(
            html_to_text(
                "<html><head><title>T</title><style>p{}</style></head><body>\
                 <p>Hello&nbsp;<b>World</b> &amp; you</p><p>Line&#32;2<br>Line 3</p>\
                 <!-- hidden --><script>x()</script>&#xe9;&bogus;</body></html>"
            ),
            "Hello\u{a0}World & you\nLine 2\nLine 3\né&bogus;"
        );
        assert_eq!(html_to_text("a <unclosed"), "a");
        assert_eq!(html_to_text("&#99999999;"), "\u{fffd}");
    }
}
