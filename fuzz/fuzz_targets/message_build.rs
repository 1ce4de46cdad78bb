#![no_main]
//! `build::MessageBuilder` with fuzzer-chosen values and parts: building never panics; a
//! built message has CRLF lines of at most 998 octets, only the header fields asked for,
//! and reads back through `Message::parse` to the same subject, addresses, bodies,
//! attachment bytes and file names. A value with CR, LF or NUL is always refused.

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use postwerk_message::build::{Attachment, MessageBuilder};
use postwerk_message::{AddrSpec, Address, Mailbox, Message};

/// Reads length-prefixed chunks from the fuzzer's bytes.
struct Input<'d> {
    data: &'d [u8],
}

impl<'d> Input<'d> {
    fn byte(&mut self) -> u8 {
        let (b, rest) = self
            .data
            .split_first()
            .map_or((0, &[][..]), |(b, r)| (*b, r));
        self.data = rest;
        b
    }

    fn bytes(&mut self) -> &'d [u8] {
        let len = usize::from(self.byte()) * 8 + usize::from(self.byte() % 8);
        let len = len.min(self.data.len());
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        head
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }
}

const TYPES: [&str; 5] = [
    "application/octet-stream",
    "image/png",
    "text/plain",
    "text/csv; charset=utf-8",
    "application/pdf",
];

fn canonical(text: &str) -> String {
    let mut out = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    if !out.is_empty() && !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out
}

fn hostile(s: &str) -> bool {
    s.contains(['\r', '\n', '\0'])
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input { data };
    let flags = input.byte();
    let subject = input.text();
    let name = input.text();
    let local = input.text();
    let domain = input.text();
    let text = (flags & 1 != 0).then(|| input.text());
    let html = (flags & 2 != 0).then(|| input.text());
    let custom = input.text();
    let n_parts = usize::from(input.byte() % 4);
    let mut parts = Vec::new();
    for _ in 0..n_parts {
        let t = TYPES[usize::from(input.byte()) % TYPES.len()];
        let filename = input.text();
        let cid = input.text();
        let bytes = input.bytes().to_vec();
        parts.push((t, filename, cid, bytes));
    }
    let inline = flags & 4 != 0 && html.is_some();

    let Ok(addr) = AddrSpec::new(local.as_str(), domain.as_str()) else {
        return;
    };
    let from = Mailbox::new(
        (!name.is_empty()).then(|| Cow::Borrowed(name.as_str())),
        addr,
    );
    let mut b = MessageBuilder::new()
        .from(from.clone())
        .to("rcpt@example.com")
        .subject(subject.as_str())
        .header("X-Fuzz", custom.as_str())
        .allow_8bit(flags & 8 != 0)
        .smtputf8(flags & 16 != 0);
    if let Some(t) = &text {
        b = b.text(t.as_str());
    }
    if let Some(h) = &html {
        b = b.html(h.as_str());
    }
    for (t, filename, cid, bytes) in &parts {
        let a = Attachment::new(*t, bytes.as_slice()).filename(filename.as_str());
        b = if inline {
            b.attach_inline(a.content_id(cid.as_str()))
        } else {
            b.attach(a)
        };
    }
    let Ok(out) = b.build() else {
        return;
    };
    // Values with line breaks are never written.
    assert!(!hostile(&subject) && !hostile(&name) && !hostile(&custom));
    assert!(parts.iter().all(|p| !hostile(&p.1)));

    // CRLF lines within 998 octets.
    for line in out.split_inclusive(|&b| b == b'\n') {
        assert!(line.ends_with(b"\r\n"), "bare LF");
        assert!(line.len() <= 1000, "line over 998 octets");
        assert!(!line[..line.len() - 2].contains(&b'\r'), "bare CR");
    }

    let msg = Message::parse(&out).expect("parses");
    let names: Vec<String> = msg
        .headers()
        .iter()
        .map(|h| h.name().to_ascii_lowercase())
        .collect();
    let allowed = [
        "from",
        "to",
        "subject",
        "x-fuzz",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    ];
    assert!(
        names.iter().all(|n| allowed.contains(&n.as_str())),
        "{names:?}"
    );
    assert_eq!(msg.subject().as_deref(), Some(subject.as_str()));
    assert_eq!(
        msg.header("x-fuzz").map(|h| h.decoded().into_owned()),
        Some(custom.clone())
    );
    assert_eq!(msg.from().expect("from"), vec![Address::Mailbox(from)]);
    if let Some(t) = &text {
        let got = msg
            .text_body()
            .next()
            .and_then(|p| p.decoded_text())
            .map(Cow::into_owned);
        assert_eq!(got, Some(canonical(t)));
    }
    if let Some(h) = &html {
        let got = msg
            .html_body()
            .next()
            .and_then(|p| p.decoded_text())
            .map(Cow::into_owned);
        assert_eq!(got, Some(canonical(h)));
    }
    let attachments: Vec<_> = msg.attachments().collect();
    assert_eq!(attachments.len(), parts.len());
    for (got, (_, filename, _, bytes)) in attachments.iter().zip(&parts) {
        assert_eq!(got.decoded_body().as_ref(), bytes.as_slice());
        let want = (!filename.is_empty()).then_some(filename.as_str());
        assert_eq!(got.filename().as_deref(), want);
    }
});
