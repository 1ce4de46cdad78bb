//! The MIME tree: multipart splitting, nesting, message/rfc822, defaults, parameters and
//! transfer decoding.

use std::borrow::Cow;

use postwerk_message::{Message, TransferEncoding};

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

const NESTED: &str = "From: a@example.com
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"outer\"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe, soft=
 break
--inner
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

<p>caf\u{e9}</p>
--inner--
--outer
Content-Type: application/octet-stream; name=\"data.bin\"
Content-Disposition: attachment; filename=\"report.pdf\"
Content-Transfer-Encoding: base64

SGVs bG8s
IHdvcmxk
IQ
--outer
Content-Type: message/rfc822

From: inner@example.org
Subject: inner message
Content-Type: multipart/mixed; boundary=deep

--deep

implicit text/plain
--deep--

--outer--
This is the epilogue.
";

#[test]
fn nested_multipart_tree() {
    let raw = crlf(NESTED);
    let m = Message::parse(&raw).unwrap();
    let kinds: Vec<String> = m
        .parts()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p.content_type().main_type(),
                p.content_type().subtype()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "application/octet-stream",
            "message/rfc822",
            "multipart/mixed",
            "text/plain",
        ]
    );
    let parents: Vec<Option<usize>> = m.parts().iter().map(|p| p.parent()).collect();
    assert_eq!(
        parents,
        [
            None,
            Some(0),
            Some(1),
            Some(1),
            Some(0),
            Some(0),
            Some(5),
            Some(6)
        ]
    );
    assert_eq!(m.parts()[0].children(), [1, 4, 5]);
    assert_eq!(m.parts()[1].children(), [2, 3]);
    assert_eq!(m.parts()[5].children(), [6]);
    let depths: Vec<usize> = m.parts().iter().map(|p| p.depth()).collect();
    assert_eq!(depths, [0, 1, 2, 2, 1, 1, 2, 3]);
    assert!(m.parts()[0].is_multipart());
    assert_eq!(m.parts()[0].preamble(), Some(&b"This is the preamble."[..]));
    assert_eq!(
        m.parts()[0].epilogue(),
        Some(&b"This is the epilogue.\r\n"[..])
    );

    let leaves: Vec<usize> = m
        .leaves()
        .map(|l| m.parts().iter().position(|p| std::ptr::eq(p, l)).unwrap())
        .collect();
    assert_eq!(leaves, [2, 3, 4, 7]);

    let plain = &m.parts()[2];
    assert_eq!(
        plain.content_transfer_encoding(),
        TransferEncoding::QuotedPrintable
    );
    assert_eq!(plain.decoded_text().unwrap(), "Grüße, soft break");

    let html = &m.parts()[3];
    assert_eq!(html.raw_body(), "<p>café</p>".as_bytes());
    // Declared ISO-8859-1 but the bytes are UTF-8: decoded as Latin-1, as declared.
    assert_eq!(html.decoded_text().unwrap(), "<p>cafÃ©</p>");

    let att = &m.parts()[4];
    assert_eq!(att.decoded_body().as_ref(), b"Hello, world!");
    assert!(att.decoded_text().is_none());
    assert_eq!(att.filename().unwrap(), "report.pdf");
    assert!(att.content_disposition().unwrap().is_attachment());

    let inner = &m.parts()[6];
    assert_eq!(inner.header("subject").unwrap().decoded(), "inner message");
    let deep = &m.parts()[7];
    assert_eq!(deep.content_type().charset(), None);
    assert_eq!(deep.decoded_text().unwrap(), "implicit text/plain");
    assert!(matches!(deep.decoded_body(), Cow::Borrowed(_)));
}

#[test]
fn lf_only_multipart() {
    let raw = NESTED.as_bytes();
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.parts().len(), 8);
    assert_eq!(m.parts()[4].decoded_body().as_ref(), b"Hello, world!");
    assert_eq!(m.parts()[2].decoded_text().unwrap(), "Grüße, soft break");
}

#[test]
fn digest_defaults_to_message_rfc822() {
    let raw = crlf(
        "Content-Type: multipart/digest; boundary=d

--d

From: one@example.com
Subject: first

one
--d
Content-Type: text/plain

not a message
--d--
",
    );
    let m = Message::parse(&raw).unwrap();
    let p1 = &m.parts()[1];
    assert!(p1.content_type().is("message", "rfc822"));
    assert_eq!(p1.children(), [2]);
    assert_eq!(
        m.parts()[2].header("subject").unwrap().raw_value(),
        b"first"
    );
    assert_eq!(m.parts()[2].raw_body(), b"one");
    assert!(m.parts()[3].content_type().is("text", "plain"));
    assert_eq!(m.parts().len(), 4);
}

#[test]
fn default_content_type_outside_digest() {
    let m = Message::parse(b"Subject: x\r\n\r\nhi").unwrap();
    let ct = m.parts()[0].content_type();
    assert!(ct.is("text", "plain"));
    assert_eq!(m.parts()[0].decoded_text().unwrap(), "hi");
    let m = Message::parse(b"Content-Type: garbage\r\n\r\nhi").unwrap();
    assert!(m.parts()[0].content_type().is("text", "plain"));
}

#[test]
fn rfc2231_continuations_and_charset() {
    let raw = crlf(
        "Content-Type: application/x-stuff;
 title*0*=us-ascii'en'This%20is%20even%20more%20;
 title*1*=%2A%2A%2Afun%2A%2A%2A%20;
 title*2=\"isn't it!\"
Content-Disposition: attachment; filename*0*=UTF-8''%E2%82%AC%20;
 filename*1=rates.pdf

x",
    );
    let m = Message::parse(&raw).unwrap();
    let p = &m.parts()[0];
    assert_eq!(
        p.content_type().param("title"),
        Some("This is even more ***fun*** isn't it!")
    );
    assert_eq!(p.filename().unwrap(), "€ rates.pdf");
}

#[test]
fn rfc2231_charset_of_the_first_section_applies_to_the_later_ones() {
    let param = |v: &[u8]| {
        postwerk_message::ContentType::parse(v)
            .unwrap()
            .param("title")
            .map(str::to_string)
    };
    // The Latin-1 of section 0 decodes the bytes of sections 1 and 2.
    assert_eq!(
        param(b"text/plain; title*0*=iso-8859-1''a%E9; title*1*=%E9b; title*2=\"c d\"").unwrap(),
        "a\u{e9}\u{e9}bc d"
    );
    // A UTF-8 character split across sections, and sections out of order.
    assert_eq!(
        param(b"text/plain; title*1*=%AC%20x; title*0*=utf-8''%E2%82").unwrap(),
        "\u{20ac} x"
    );
    assert_eq!(
        param(b"text/plain; title*0*=utf-8''%E2%82; title*1*=%AC").unwrap(),
        "\u{20ac}"
    );
    // A later section that names a charset does not change it: its text is literal.
    assert_eq!(
        param(b"text/plain; title*0*=iso-8859-1''%E9; title*1*=utf-8''%E9").unwrap(),
        "\u{e9}utf-8''\u{e9}"
    );
    // Without a charset: UTF-8 where valid, else Windows-1252.
    assert_eq!(
        param(b"text/plain; title*0=\"abc\"; title*1*=%E9%80").unwrap(),
        "abc\u{e9}\u{20ac}"
    );
    assert_eq!(
        param(b"text/plain; title*0=\"abc\"; title*1*=%C3%A9").unwrap(),
        "abc\u{e9}"
    );
    // A gap ends the value.
    assert_eq!(
        param(b"text/plain; title*0*=utf-8''a; title*2*=c").unwrap(),
        "a"
    );
}

#[test]
fn encoded_word_filenames() {
    let raw = crlf(
        "Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/pdf; name=\"=?UTF-8?B?0J/RgNC40LLQtdGCLnBkZg==?=\"
Content-Transfer-Encoding: base64

AAEC
--b
Content-Type: image/png
Content-Disposition: inline; filename==?iso-8859-1?Q?bild_=FC.png?=

--b--
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.parts()[1].filename().unwrap(), "Привет.pdf");
    assert_eq!(m.parts()[1].decoded_body().as_ref(), [0u8, 1, 2]);
    assert_eq!(m.parts()[2].filename().unwrap(), "bild ü.png");
    assert_eq!(m.parts()[2].raw_body(), b"");
}

#[test]
fn base64_with_junk_whitespace() {
    let raw = crlf(
        "Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: BASE64

  w6nDqSDD
\t qcOp
!!!IMOpw6k=
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.parts()[0].decoded_text().unwrap(), "éé éé éé");
}

#[test]
fn quoted_printable_soft_breaks_and_invalid_escapes() {
    let raw = crlf(
        "Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

price =80 10, 100% =ZZ sure=
 and a soft break=  
done =3D end=
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(
        m.parts()[0].decoded_text().unwrap(),
        "price € 10, 100% =ZZ sure and a soft breakdone = end"
    );
}

#[test]
fn boundary_rules() {
    // Transport padding after the delimiter, a prefix-sharing line, and a missing close
    // delimiter.
    let raw = crlf(
        "Content-Type: multipart/mixed; boundary=\"abc\"

--abc \t
Content-Type: text/plain

one
--abcdef is not a delimiter
 --abc neither
--abc
Content-Type: text/plain

two",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.parts().len(), 3);
    assert_eq!(
        m.parts()[1].raw_body(),
        b"one\r\n--abcdef is not a delimiter\r\n --abc neither"
    );
    assert_eq!(m.parts()[2].raw_body(), b"two");
    assert_eq!(m.parts()[0].epilogue(), None);
    assert_eq!(m.parts()[0].preamble(), Some(&b""[..]));
}

#[test]
fn multipart_without_delimiters_is_a_leaf() {
    let m =
        Message::parse(b"Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts here").unwrap();
    assert_eq!(m.parts().len(), 1);
    assert!(m.parts()[0].is_multipart());
    assert_eq!(m.leaves().count(), 1);
    assert_eq!(m.parts()[0].preamble(), Some(&b"no parts here"[..]));
    let m = Message::parse(b"Content-Type: multipart/mixed\r\n\r\n--\r\n").unwrap();
    assert_eq!(m.parts().len(), 1);
}

#[test]
fn base64_message_rfc822_is_a_leaf() {
    let raw = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5\r\n";
    let m = Message::parse(raw).unwrap();
    assert_eq!(m.parts().len(), 1);
    assert_eq!(m.parts()[0].decoded_body().as_ref(), b"Subject: x\r\n\r\ny");
    let inner_bytes = m.parts()[0].decoded_body().into_owned();
    let inner = Message::parse(&inner_bytes).unwrap();
    assert_eq!(inner.subject().unwrap(), "x");
}

#[test]
fn part_offsets_point_into_input() {
    let raw = crlf(NESTED);
    let m = Message::parse(&raw).unwrap();
    for p in m.parts() {
        assert_eq!(&raw[p.offset()..p.offset() + p.raw().len()], p.raw());
        assert_eq!(
            &raw[p.body_offset()..p.body_offset() + p.raw_body().len()],
            p.raw_body()
        );
        for h in p.headers() {
            assert_eq!(
                &raw[h.value_offset()..h.value_offset() + h.raw_value().len()],
                h.raw_value()
            );
        }
    }
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(String),
    Multi(Vec<Node>),
    Encapsulated(Box<Node>),
}

fn node() -> impl proptest::strategy::Strategy<Value = Node> {
    use proptest::prelude::*;
    let leaf = "[a-z ]{0,20}".prop_map(Node::Leaf);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Node::Multi),
            inner.prop_map(|n| Node::Encapsulated(Box::new(n))),
        ]
    })
}

/// Writes `n` as a MIME entity (headers, blank line, body); records the expected pre-order
/// walk as (kind, leaf text).
fn write_node(n: &Node, out: &mut String, counter: &mut u32, walk: &mut Vec<(String, String)>) {
    match n {
        Node::Leaf(text) => {
            out.push_str("Content-Type: text/plain\r\n\r\n");
            out.push_str(text);
            walk.push(("text/plain".into(), text.clone()));
        }
        Node::Multi(children) => {
            *counter += 1;
            let b = format!("b{counter}");
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\npreamble"
            ));
            walk.push(("multipart/mixed".into(), String::new()));
            for c in children {
                out.push_str(&format!("\r\n--{b}\r\n"));
                write_node(c, out, counter, walk);
            }
            out.push_str(&format!("\r\n--{b}--\r\nepilogue"));
        }
        Node::Encapsulated(inner) => {
            out.push_str("Content-Type: message/rfc822\r\n\r\n");
            walk.push(("message/rfc822".into(), String::new()));
            write_node(inner, out, counter, walk);
        }
    }
}

proptest::proptest! {
    #[test]
    fn generated_trees_parse_back(tree in node()) {
        let mut raw = String::new();
        let mut walk = Vec::new();
        write_node(&tree, &mut raw, &mut 0, &mut walk);
        let m = Message::parse(raw.as_bytes()).unwrap();
        let got: Vec<(String, String)> = m
            .parts()
            .iter()
            .map(|p| {
                let ct = p.content_type();
                let kind = format!("{}/{}", ct.main_type(), ct.subtype());
                let text = if p.children().is_empty() {
                    String::from_utf8(p.raw_body().to_vec()).unwrap()
                } else {
                    String::new()
                };
                (kind, text)
            })
            .collect();
        proptest::prop_assert_eq!(got, walk);
    }
}
