//! `into_owned`: a message (and each value it holds) outlives its input buffer and every
//! accessor gives the same values as on the borrowed message. Checked on the crate's
//! real-world messages, the bench corpus, hand-written MIME trees and random input.

use std::fmt::Write as _;

use postwerk_message::{Message, Part};
use proptest::prelude::*;

/// Everything the accessors of a part say, as text.
fn part_snapshot(p: &Part<'_>, depth: usize, out: &mut String) {
    let _ = writeln!(
        out,
        "part @{} body@{} depth {}",
        p.offset(),
        p.body_offset(),
        p.depth()
    );
    for h in p.headers() {
        let _ = writeln!(out, "  {h:?} {:?} {:?}", h.unfolded(), h.decoded());
    }
    let _ = writeln!(
        out,
        "  {:?} {:?} {:?} {:?} {:?} {:?}",
        p.content_type(),
        p.content_disposition(),
        p.filename(),
        p.content_transfer_encoding(),
        p.parent(),
        p.children()
    );
    let _ = writeln!(
        out,
        "  raw {:?}\n  body {:?}\n  pre {:?} epi {:?}",
        p.raw(),
        p.raw_body(),
        p.preamble(),
        p.epilogue()
    );
    let _ = writeln!(
        out,
        "  decoded {:?} {:?}",
        p.decoded_body(),
        p.decoded_text()
    );
    if let Some(inner) = p.message()
        && depth < 4
    {
        let _ = writeln!(out, "  attached:");
        snapshot_into(&inner, depth + 1, out);
    }
}

fn snapshot_into(m: &Message<'_>, depth: usize, out: &mut String) {
    for h in m.headers() {
        let _ = writeln!(out, "{h:?} {:?} {:?}", h.unfolded(), h.decoded());
    }
    let _ = writeln!(out, "from {:?}", m.from());
    let _ = writeln!(out, "sender {:?}", m.sender());
    let _ = writeln!(out, "reply-to {:?}", m.reply_to());
    let _ = writeln!(out, "to {:?}", m.to());
    let _ = writeln!(out, "cc {:?}", m.cc());
    let _ = writeln!(out, "bcc {:?}", m.bcc());
    let _ = writeln!(out, "subject {:?}", m.subject());
    let _ = writeln!(out, "date {:?}", m.date());
    let _ = writeln!(out, "message-id {:?}", m.message_id());
    let _ = writeln!(out, "in-reply-to {:?}", m.in_reply_to());
    let _ = writeln!(out, "references {:?}", m.references());
    let received: Vec<_> = m.received().collect();
    let _ = writeln!(out, "received {received:?}");
    let _ = writeln!(out, "repairs {:?}", m.repairs());
    let _ = writeln!(out, "raw {:?}\nbody {:?}", m.raw(), m.body());
    let _ = writeln!(out, "tree {:?}", m.try_parts().err());
    for p in m.parts() {
        part_snapshot(p, depth, out);
    }
    let ids = |it: &mut dyn Iterator<Item = &Part<'_>>| it.map(Part::offset).collect::<Vec<_>>();
    let _ = writeln!(
        out,
        "text {:?} html {:?} attachments {:?} has {} leaves {}",
        ids(&mut m.text_body()),
        ids(&mut m.html_body()),
        ids(&mut m.attachments()),
        m.has_attachment(),
        m.leaves().count()
    );
    let _ = writeln!(out, "body_text {:?}", m.body_text());
}

fn snapshot(m: &Message<'_>) -> String {
    let mut out = String::new();
    snapshot_into(m, 0, &mut out);
    out
}

/// Parses a copy of `bytes`, makes it owned (with the MIME tree built first when
/// `tree_first`), drops the copy and checks that nothing changed.
fn check(bytes: &[u8], tree_first: bool) {
    let buf = bytes.to_vec();
    let msg = Message::parse(&buf).expect("parses");
    if tree_first {
        let _ = msg.parts();
    }
    let before = snapshot(&msg);
    let parts: Vec<Part<'static>> = msg.parts().iter().cloned().map(Part::into_owned).collect();
    let part_before: Vec<String> = msg
        .parts()
        .iter()
        .map(|p| {
            let mut s = String::new();
            part_snapshot(p, 0, &mut s);
            s
        })
        .collect();
    let owned: Message<'static> = msg.into_owned();
    drop(buf);
    assert_eq!(snapshot(&owned), before);
    let part_after: Vec<String> = parts
        .iter()
        .map(|p| {
            let mut s = String::new();
            part_snapshot(p, 0, &mut s);
            s
        })
        .collect();
    assert_eq!(part_after, part_before);
    // Owning an owned message again changes nothing either.
    let again = owned.clone().into_owned();
    assert_eq!(snapshot(&again), before);
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut out = Vec::new();
    for dir in ["tests/data/realworld", "../../benches/corpus"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "eml") {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const NESTED: &[u8] = b"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>\r\n\
To: team: alice@example.com, bob@example.com;\r\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n again\r\n\
Date: Tue Apr  7 10:00:00 2026\r\n\
Message-ID: 1234@example.com\r\n\
In-Reply-To: <a@x>\r\n\
References: <a@x> <b (c)@y>\r\n\
Received: from a.example (a.example [192.0.2.1]) by mx.example; Tue Apr  7 10:00:00 2026\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
preamble\r\n\
--b\r\n\
Content-Type: multipart/alternative; boundary=c\r\n\
\r\n\
--c\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Gr=FC=DFe\r\n\
--c\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Hi</p>\r\n\
--c--\r\n\
--b\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: inner\r\n\
From: Inner <inner@example.org>\r\n\
Content-Type: multipart/mixed; boundary=d\r\n\
\r\n\
--d\r\n\
Content-Type: text/plain\r\n\
\r\n\
inner text\r\n\
--d--\r\n\
--b\r\n\
Content-Type: application/pdf; name*0*=utf-8''r%C3%A9; name*1*=sum%C3%A9.pdf\r\n\
Content-Disposition: attachment\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0x\r\n\
--b--\r\n\
epilogue\r\n";

#[test]
fn every_corpus_message_outlives_its_buffer() {
    let corpus = corpus();
    assert!(corpus.len() >= 6, "corpus found: {}", corpus.len());
    for (name, bytes) in &corpus {
        for tree_first in [false, true] {
            let r = std::panic::catch_unwind(|| check(bytes, tree_first));
            assert!(r.is_ok(), "{name} (tree first: {tree_first})");
        }
    }
}

#[test]
fn a_nested_message_outlives_its_buffer() {
    check(NESTED, false);
    check(NESTED, true);
    let buf = NESTED.to_vec();
    let owned = Message::parse(&buf).unwrap().into_owned();
    drop(buf);
    assert_eq!(owned.subject().unwrap(), "Grüße again");
    assert_eq!(owned.references().unwrap().len(), 2);
    assert_eq!(
        owned.message_id().unwrap().unwrap().as_str(),
        "1234@example.com"
    );
    assert_eq!(owned.body_text().unwrap(), "Grüße");
    let attached = owned.attachments().find_map(Part::message).unwrap();
    assert_eq!(attached.subject().unwrap(), "inner");
    assert_eq!(attached.body_text().unwrap(), "inner text");
    let pdf = owned
        .attachments()
        .find(|p| p.content_type().subtype() == "pdf")
        .unwrap();
    assert_eq!(pdf.filename().unwrap(), "résumé.pdf");
    assert_eq!(pdf.decoded_body().as_ref(), b"%PDF-1");
    let received = owned.received().next().unwrap();
    assert_eq!(received.from(), Some("a.example"));
    assert_eq!(
        received.date().unwrap().as_ref().unwrap().to_unix(),
        1_775_556_000
    );
}

/// A value that must live longer than the buffer it was parsed from.
fn keep(buf: Vec<u8>) -> Message<'static> {
    Message::parse(&buf).unwrap().into_owned()
}

#[test]
fn owned_messages_can_be_stored_and_sent() {
    let msgs: Vec<Message<'static>> = (0..3)
        .map(|i| keep(format!("Subject: number {i}\r\n\r\nbody {i}").into_bytes()))
        .collect();
    let handle = std::thread::spawn(move || {
        msgs.iter()
            .map(|m| (m.subject().unwrap().into_owned(), m.body().to_vec()))
            .collect::<Vec<_>>()
    });
    let got = handle.join().unwrap();
    assert_eq!(got[2], ("number 2".to_string(), b"body 2".to_vec()));
}

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"From: Heinz M\xfcller <m@example.com>\r\n".to_vec()),
        Just(b"To: a@b c@d; g: x@y;\n".to_vec()),
        Just(b"Subject: =?iso-8859-1?q?Fr=F6sche?= \xe4\r\n".to_vec()),
        Just(b"Date: 7 Apr 2026 10:00\r\n".to_vec()),
        Just(b"Content-Type: multipart/mixed; boundary=z\r\n".to_vec()),
        Just(b"Content-Type: message/rfc822\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"--z\r\n".to_vec()),
        Just(b"--z--\r\n".to_vec()),
        Just(b"Content-Transfer-Encoding: base64\r\n".to_vec()),
        Just(b"aGVsbG8=\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_messages_outlive_their_buffer(
        pieces in proptest::collection::vec(fragment(), 0..24),
        tree_first in any::<bool>(),
    ) {
        let bytes: Vec<u8> = pieces.concat();
        if Message::parse(&bytes).is_ok() {
            check(&bytes, tree_first);
        }
    }
}
