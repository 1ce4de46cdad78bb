//! RFC 8621 section 4.1.4: which parts are `textBody`, `htmlBody` and `attachments`,
//! one test per rule of the `parseStructure` algorithm.

use postwerk_message::{Message, Part};

/// A MIME entity: a `Content-Type` (and any further header lines) and a body; each part
/// is labelled with `X-Label` so the tests can name it.
enum E<'s> {
    Leaf(&'s str, &'s str, &'s str),
    Multi(&'s str, Vec<E<'s>>),
}

fn write(e: &E<'_>, out: &mut String, depth: &mut usize) {
    match e {
        E::Leaf(label, headers, body) => {
            out.push_str(&format!("X-Label: {label}\r\n{headers}\r\n\r\n{body}"));
        }
        E::Multi(sub, parts) => {
            *depth += 1;
            let b = format!("b{depth}");
            out.push_str(&format!(
                "Content-Type: multipart/{sub}; boundary={b}\r\n\r\n"
            ));
            for p in parts {
                out.push_str(&format!("--{b}\r\n"));
                write(p, out, depth);
                out.push_str("\r\n");
            }
            out.push_str(&format!("--{b}--\r\n"));
        }
    }
}

fn message(e: &E<'_>) -> String {
    let mut out = String::from("From: a@example.com\r\n");
    write(e, &mut out, &mut 0);
    out
}

fn labels<'p>(parts: impl Iterator<Item = &'p Part<'p>>) -> Vec<String> {
    parts
        .map(|p| p.header("x-label").unwrap().unfolded().into_owned())
        .collect()
}

/// (textBody, htmlBody, attachments) as labels.
fn structure(e: &E<'_>) -> (Vec<String>, Vec<String>, Vec<String>) {
    let raw = message(e);
    let m = Message::parse(raw.as_bytes()).unwrap();
    (
        labels(m.text_body()),
        labels(m.html_body()),
        labels(m.attachments()),
    )
}

const PLAIN: &str = "Content-Type: text/plain";
const HTML: &str = "Content-Type: text/html";
const PNG: &str = "Content-Type: image/png";
const PDF: &str = "Content-Type: application/pdf";

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn single_text_part_is_both_bodies() {
    assert_eq!(
        structure(&E::Leaf("t", PLAIN, "hi")),
        (v(&["t"]), v(&["t"]), v(&[]))
    );
}

#[test]
fn alternative_splits_plain_and_html() {
    let e = E::Multi(
        "alternative",
        vec![E::Leaf("t", PLAIN, "hi"), E::Leaf("h", HTML, "<p>hi</p>")],
    );
    assert_eq!(structure(&e), (v(&["t"]), v(&["h"]), v(&[])));
}

#[test]
fn alternative_with_html_only_fills_text_body() {
    let e = E::Multi("alternative", vec![E::Leaf("h", HTML, "<p>hi</p>")]);
    assert_eq!(structure(&e), (v(&["h"]), v(&["h"]), v(&[])));
}

#[test]
fn alternative_with_plain_only_fills_html_body() {
    let e = E::Multi("alternative", vec![E::Leaf("t", PLAIN, "hi")]);
    assert_eq!(structure(&e), (v(&["t"]), v(&["t"]), v(&[])));
}

#[test]
fn non_text_part_in_alternative_is_an_attachment() {
    let e = E::Multi(
        "alternative",
        vec![E::Leaf("t", PLAIN, "hi"), E::Leaf("p", PNG, "x")],
    );
    assert_eq!(structure(&e), (v(&["t"]), v(&["t"]), v(&["p"])));
}

#[test]
fn related_keeps_only_its_first_part_inline() {
    let e = E::Multi(
        "related",
        vec![
            E::Leaf("h", HTML, "<img src=cid:i>"),
            E::Leaf("i", "Content-Type: image/png\r\nContent-ID: <i>", "x"),
        ],
    );
    assert_eq!(structure(&e), (v(&["h"]), v(&["h"]), v(&["i"])));
    let raw = message(&e);
    // An image the HTML shows is no attachment to offer for download.
    assert!(!Message::parse(raw.as_bytes()).unwrap().has_attachment());
}

#[test]
fn alternative_of_plain_and_related_html() {
    let e = E::Multi(
        "alternative",
        vec![
            E::Leaf("t", PLAIN, "hi"),
            E::Multi(
                "related",
                vec![
                    E::Leaf("h", HTML, "<img src=cid:i>"),
                    E::Leaf("i", "Content-Type: image/png\r\nContent-ID: <i>", "x"),
                ],
            ),
        ],
    );
    assert_eq!(structure(&e), (v(&["t"]), v(&["h"]), v(&["i"])));
}

#[test]
fn inline_media_in_mixed_is_in_both_bodies() {
    let e = E::Multi(
        "mixed",
        vec![
            E::Leaf("t1", PLAIN, "a"),
            E::Leaf("img", PNG, "x"),
            E::Leaf("t2", PLAIN, "b"),
        ],
    );
    assert_eq!(
        structure(&e),
        (v(&["t1", "img", "t2"]), v(&["t1", "img", "t2"]), v(&[]))
    );
}

#[test]
fn inline_media_inside_one_alternative_is_also_an_attachment() {
    let e = E::Multi(
        "alternative",
        vec![
            E::Multi(
                "mixed",
                vec![E::Leaf("t", PLAIN, "a"), E::Leaf("img", PNG, "x")],
            ),
            E::Leaf("h", HTML, "<p>a</p>"),
        ],
    );
    assert_eq!(structure(&e), (v(&["t", "img"]), v(&["h"]), v(&["img"])));
}

#[test]
fn attachment_disposition_wins_over_type() {
    let e = E::Multi(
        "mixed",
        vec![
            E::Leaf("t", PLAIN, "a"),
            E::Leaf(
                "a",
                "Content-Type: text/plain\r\nContent-Disposition: attachment",
                "b",
            ),
            E::Leaf(
                "img",
                "Content-Type: image/png\r\nContent-Disposition: attachment",
                "x",
            ),
        ],
    );
    assert_eq!(structure(&e), (v(&["t"]), v(&["t"]), v(&["a", "img"])));
    let raw = message(&e);
    assert!(Message::parse(raw.as_bytes()).unwrap().has_attachment());
}

#[test]
fn named_text_part_after_the_first_is_an_attachment() {
    let e = E::Multi(
        "mixed",
        vec![
            E::Leaf("first", "Content-Type: text/plain; name=a.txt", "a"),
            E::Leaf("named", "Content-Type: text/plain; name=notes.txt", "b"),
            E::Leaf("named-img", "Content-Type: image/png; name=x.png", "x"),
        ],
    );
    assert_eq!(
        structure(&e),
        (
            v(&["first", "named-img"]),
            v(&["first", "named-img"]),
            v(&["named"])
        )
    );
}

#[test]
fn other_types_and_attached_messages_are_attachments() {
    let e = E::Multi(
        "mixed",
        vec![
            E::Leaf("t", PLAIN, "a"),
            E::Leaf("pdf", PDF, "%PDF"),
            E::Leaf(
                "msg",
                "Content-Type: message/rfc822",
                "Subject: inner\r\nX-Label: inner\r\n\r\ninner body",
            ),
        ],
    );
    assert_eq!(structure(&e), (v(&["t"]), v(&["t"]), v(&["pdf", "msg"])));
    let raw = message(&e);
    let m = Message::parse(raw.as_bytes()).unwrap();
    let inner = m.attachments().nth(1).unwrap().message().unwrap();
    assert_eq!(inner.subject().unwrap(), "inner");
    assert_eq!(inner.body_text().unwrap(), "inner body");
    assert!(m.attachments().next().unwrap().message().is_none());
}

#[test]
fn body_text_joins_text_parts_and_falls_back_to_html() {
    let e = E::Multi(
        "mixed",
        vec![E::Leaf("t1", PLAIN, "one"), E::Leaf("t2", PLAIN, "two")],
    );
    let raw = message(&e);
    assert_eq!(
        Message::parse(raw.as_bytes()).unwrap().body_text().unwrap(),
        "one\ntwo"
    );
    let e = E::Multi(
        "alternative",
        vec![E::Leaf(
            "h",
            HTML,
            "<p>Hello &amp; <b>bye</b></p><script>x</script>",
        )],
    );
    let raw = message(&e);
    assert_eq!(
        Message::parse(raw.as_bytes()).unwrap().body_text().unwrap(),
        "Hello & bye"
    );
    let raw = message(&E::Leaf("p", PDF, "%PDF"));
    assert!(
        Message::parse(raw.as_bytes())
            .unwrap()
            .body_text()
            .is_none()
    );
}

#[test]
fn plain_body_text_is_borrowed() {
    let raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n";
    let m = Message::parse(raw).unwrap();
    assert!(matches!(
        m.body_text().unwrap(),
        std::borrow::Cow::Borrowed("Grüße\r\n")
    ));
}

#[test]
fn unknown_charset_is_lossy_and_reported() {
    let raw = b"Subject: x\r\nContent-Type: text/plain; charset=x-martian\r\n\r\nok \xff\r\n";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.body_text().unwrap(), "ok \u{fffd}\r\n");
    let r = m.repairs();
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].kind(), r[0].field(), r[0].offset()),
        (
            postwerk_message::RepairKind::UnknownCharset,
            Some("Content-Type"),
            12
        )
    );
    let known = b"Content-Type: text/plain; charset=koi8-r\r\n\r\n\xf0\xd2\xc9\xd7\xc5\xd4";
    let m = Message::parse(known).unwrap();
    assert_eq!(
        m.body_text().unwrap(),
        "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}"
    );
    assert!(m.repairs().is_empty());
}
