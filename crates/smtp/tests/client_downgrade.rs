//! The 8BITMIME → 7bit downgrade (RFC 6152 3) as a property: for any 8-bit text in the
//! parts of a multipart message, the downgraded message is 7-bit with quoted-printable
//! lines of at most 76 characters, and decoding it (with postwerk-message, an independent
//! MIME reader) gives back the original text; parts already encoded pass unchanged; and
//! the same holds through the client machine, streamed in any split, to a server without
//! 8BITMIME.

use std::time::Instant;

use bytes::Bytes;
use postwerk_message::{Message, decode_quoted_printable};
use postwerk_smtp::client::{self, Event, Recipient, Transaction, downgrade_to_7bit};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
use proptest::prelude::*;

const BOUNDARY: &str = "=_b0undary";

fn text_line() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'a'),
            Just(b' '),
            Just(b'\t'),
            Just(b'='),
            Just(b'.'),
            Just(b'-'),
            Just(0xC3u8),
            Just(0xA9u8),
            Just(0xFFu8),
            Just(0x00u8),
        ],
        0..160,
    )
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(text_line(), 1..6).prop_map(|lines| lines.join(&b"\r\n"[..]))
}

/// A multipart/mixed message of 8-bit text parts and one base64 part.
fn message(texts: &[Vec<u8>]) -> Vec<u8> {
    let mut m = format!(
        "From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\r\npreamble\r\n"
    )
    .into_bytes();
    for (i, t) in texts.iter().enumerate() {
        m.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        if i % 2 == 0 {
            m.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        } else {
            // No header at all: text/plain by default (RFC 2046 5.1).
            m.extend_from_slice(b"\r\n");
        }
        m.extend_from_slice(t);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--{BOUNDARY}--\r\n").as_bytes());
    m
}

fn check(texts: &[Vec<u8>], out: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(out.is_ascii());
    let msg = Message::parse(out).expect("the downgraded message parses");
    let leaves: Vec<_> = msg.parts().iter().filter(|p| !p.is_multipart()).collect();
    prop_assert_eq!(leaves.len(), texts.len() + 1);
    for (part, original) in leaves.iter().zip(texts) {
        let raw = part.raw_body();
        for line in raw.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            prop_assert!(line.len() <= 76, "QP line of {} characters", line.len());
            prop_assert!(!line.ends_with(b" ") && !line.ends_with(b"\t"));
        }
        prop_assert_eq!(
            part.header("Content-Transfer-Encoding")
                .map(|h| h.unfolded().trim().to_ascii_lowercase()),
            Some("quoted-printable".to_owned())
        );
        let decoded = decode_quoted_printable(raw).into_owned();
        prop_assert_eq!(&decoded, original);
    }
    let attachment = leaves.last().unwrap();
    let data = attachment.decoded_body().into_owned();
    prop_assert_eq!(data, vec![0u8, 1, 2, 3, 4, 5]);
    Ok(())
}

/// The message sent through the client machine, streamed in `cuts`, to a server
/// without 8BITMIME: the DATA it writes, unstuffed; `None` when the client abandoned the
/// data (the message cannot be downgraded).
fn through_client(message: &[u8], cuts: &[usize]) -> Option<Vec<u8>> {
    let now = Instant::now();
    let mut conn = client::Connection::new(client::Config::new("client.example"), now);
    let from = ReversePath::Mailbox(Mailbox::new("a", "example.org").unwrap());
    let to = Recipient::new(ForwardPath::Mailbox(
        Mailbox::new("b", "example.net").unwrap(),
    ));
    let tx = Transaction::streaming(from).with_8bit().with_recipient(to);
    conn.send(tx, now).unwrap();
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let end = cut.clamp(start, message.len());
        chunks.push(Bytes::copy_from_slice(&message[start..end]));
        start = end;
    }
    chunks.push(Bytes::copy_from_slice(&message[start..]));
    let mut chunks = chunks.into_iter();
    let mut out = Vec::new();
    for input in [
        &b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n"[..],
        b"250 ok\r\n250 ok\r\n354 go\r\n",
    ] {
        conn.handle_input(input, now);
        loop {
            while let Some(b) = conn.poll_transmit() {
                out.extend_from_slice(&b);
            }
            let mut any = false;
            while let Some(e) = conn.poll_event() {
                if let Event::BodyWanted { id } = e {
                    any = true;
                    match chunks.next() {
                        Some(c) => conn.body_chunk(id, c, now).unwrap(),
                        None => conn.body_end(id, now).unwrap(),
                    }
                }
            }
            if !any {
                break;
            }
        }
    }
    let text = out;
    let start = text.windows(6).position(|w| w == b"DATA\r\n").unwrap() + 6;
    let body = &text[start..];
    if !body.ends_with(b".\r\n") {
        assert!(conn.is_closed(), "an unended DATA closes the connection");
        return None;
    }
    let body = &body[..body.len() - 3];
    // Undo dot-stuffing.
    let mut plain = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        plain.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    assert!(!text.windows(8).any(|w| w == b"8BITMIME"));
    Some(plain)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn downgrade_decodes_back_to_the_original(texts in proptest::collection::vec(text(), 1..4)) {
        let msg = message(&texts);
        let out = downgrade_to_7bit(&msg).unwrap();
        check(&texts, &out)?;
    }

    #[test]
    fn streamed_downgrade_in_any_split(
        texts in proptest::collection::vec(text(), 1..3),
        cuts in proptest::collection::vec(0usize..600, 0..8),
    ) {
        let msg = message(&texts);
        let mut cuts = cuts;
        cuts.sort_unstable();
        let sent = through_client(&msg, &cuts).expect("downgraded");
        prop_assert_eq!(&sent, &downgrade_to_7bit(&msg).unwrap());
        check(&texts, &sent)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Hostile structure (the post office downgrades what others send): any bytes in any
    /// split never panic, give the same answer as in one piece, and a success is 7-bit.
    #[test]
    fn downgrade_never_panics_and_is_7bit(
        parts in proptest::collection::vec(prop_oneof![
            Just(&b"Content-Type: multipart/mixed; boundary=b\r\n"[..]),
            Just(&b"Content-Type: message/rfc822\r\n"[..]),
            Just(&b"Content-Type: text/plain\r\n"[..]),
            Just(&b"Content-Type: multipart/digest; boundary=\"c\"\r\n"[..]),
            Just(&b"Content-Transfer-Encoding: 8bit\r\n"[..]),
            Just(&b"Content-Transfer-Encoding: base64\r\n"[..]),
            Just(&b" folded\r\n"[..]),
            Just(&b"\r\n"[..]),
            Just(&b"--b\r\n"[..]),
            Just(&b"--b--\r\n"[..]),
            Just(&b"--c\r\n"[..]),
            Just(&b"\xc3\xa9 \r\n"[..]),
            Just(&b"x=y\t"[..]),
        ], 0..40),
        cut in 0usize..2000,
    ) {
        let mut msg: Vec<u8> = parts.concat();
        let cut = cut.min(msg.len());
        let sent = through_client(&msg, &[cut]);
        // The client ends the body with CRLF, as for any message.
        if !msg.is_empty() && !msg.ends_with(b"\r\n") {
            msg.extend_from_slice(b"\r\n");
        }
        let whole = downgrade_to_7bit(&msg);
        if let Ok(out) = &whole {
            prop_assert!(out.is_ascii());
        }
        prop_assert_eq!(whole.ok(), sent);
    }
}
