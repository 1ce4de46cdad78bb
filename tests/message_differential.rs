//! Differential check of postwerk-message against mail-parser and mailparse on the
//! real-world corpus in `benches/corpus/real/` (messages from other parsers' public test
//! suites, see its README; issue 11, first "Done when" bullet): every From / To / Cc
//! mailbox, Subject and Date that either peer reads must be read by postwerk's `Message`
//! accessors too, to the same value (names and subjects compared with white space
//! collapsed, addresses without regard to case, dates as Unix times), none lost and none
//! merged. Where the peer is wrong, the case is in [`ALLOWED`] with the reason.

use std::collections::BTreeSet;
use std::path::Path;

use mailparse::MailHeaderMap;
use postwerk::message::{Address, Mailbox, Message};

/// Differences that are the peer's mistakes, not postwerk's: `(peer, file, field, why)`.
/// Each entry must still occur (a stale entry fails the test too).
const ALLOWED: &[(&str, &str, &str, &str)] = &[
    // mail-parser
    (
        "mail-parser",
        "mail-gem-error_emails-bad_date_header2.eml",
        "Date",
        "`15 Dec 2010    59:10 -0500` has no hour; mail-parser takes 59 as hours, two days on",
    ),
    (
        "mail-parser",
        "mail-gem-error_emails-invalid_subject_characters.eml",
        "Subject",
        "raw Latin-1 bytes (`Forma\\xe7\\xe3o`): mail-parser gives U+FFFD, postwerk `Formação`",
    ),
    (
        "mail-parser",
        "mail-gem-mime_emails-raw_email_with_binary_encoded.eml",
        "Subject",
        "two Subject fields: singular fields come from the first, mail-parser takes the last",
    ),
    (
        "mail-parser",
        "mail-gem-mime_emails-raw_email_with_multipart_mixed_quoted_boundary.eml",
        "Subject",
        "two Subject fields: singular fields come from the first, mail-parser takes the last",
    ),
    (
        "mail-parser",
        "mail-gem-plain_emails-mix_caps_content_type.eml",
        "From",
        "`Big Bug bb@bug.com`: mail-parser makes all of it the address, postwerk Big Bug <bb@…>",
    ),
    (
        "mail-parser",
        "mail-gem-plain_emails-raw_email_multiple_from.eml",
        "From",
        "two addresses without a comma: mail-parser merges them into one address string",
    ),
    (
        "mail-parser",
        "mail-gem-plain_emails-raw_email_multiple_from.eml",
        "To",
        "two addresses without a comma: mail-parser merges them into one address string",
    ),
    (
        "mail-parser",
        "mail-gem-rfc2822-example10.eml",
        "From",
        "RFC 5322 A.5: comments are no part of the display name `Pete`; mail-parser appends them",
    ),
    (
        "mail-parser",
        "mail-gem-rfc2822-example10.eml",
        "To",
        "RFC 5322 A.5: `Chris Jones`, `John`; mail-parser appends the comments to the names",
    ),
    (
        "mail-parser",
        "mail-gem-rfc2822-example11.eml",
        "To",
        "RFC 5322 A.6.1/4.4: an obs-route and CFWS in the domain are no part of the address",
    ),
    (
        "mail-parser",
        "mail-gem-rfc2822-example13.eml",
        "From",
        "RFC 5322 A.6.3: `jdoe@machine(comment).  example` is jdoe@machine.example, name John Doe",
    ),
    (
        "mail-parser",
        "mail-gem-rfc2822-example13.eml",
        "Date",
        "RFC 5322 A.6.3: `09(comment):   55  :  06 -0600` is 15:55:06 UTC, mail-parser 15:06:00",
    ),
    (
        "mail-parser",
        "mail-parser-malformed-019.eml",
        "Date",
        "two Date fields: postwerk reads the first (broken `10:00:t`, 10:00), mail-parser the last",
    ),
    // mailparse
    (
        "mailparse",
        "mail-gem-error_emails-bad_date_header.eml",
        "Date",
        "the Date field is empty; mailparse's dateparse returns 0 (1970) instead of an error",
    ),
    (
        "mailparse",
        "mail-parser-rfc-001.eml",
        "Date",
        "`Date: Whenever` is no date; mailparse's dateparse returns 0 (1970) instead of an error",
    ),
    (
        "mailparse",
        "mail-gem-error_emails-bad_encoded_subject.eml",
        "Subject",
        "`=?NONE?B?VEVTVA=?=`: mailparse leaves the word encoded, postwerk reads `TEST` (lossy)",
    ),
    (
        "mailparse",
        "mail-gem-error_emails-weird_to_header.eml",
        "To",
        "`To: , a@…, b@…` (an empty element): mailparse makes `, a@…` the first address",
    ),
    (
        "mailparse",
        "mail-gem-plain_emails-mix_caps_content_type.eml",
        "From",
        "`Big Bug bb@bug.com`: mailparse makes all of it the address, postwerk Big Bug <bb@…>",
    ),
    (
        "mailparse",
        "mail-gem-plain_emails-raw_email_multiple_from.eml",
        "From",
        "two addresses without a comma: mailparse merges them into one address string",
    ),
    (
        "mailparse",
        "mail-gem-plain_emails-raw_email_multiple_from.eml",
        "To",
        "two addresses without a comma: mailparse merges them into one address string",
    ),
    (
        "mailparse",
        "mail-gem-rfc2822-example10.eml",
        "From",
        "RFC 5322 A.5: mailparse keeps the comments in the address (`pete(his account)@…`)",
    ),
    (
        "mailparse",
        "mail-gem-rfc2822-example11.eml",
        "To",
        "RFC 5322 A.6.1/4.4: an obs-route and CFWS in the domain are no part of the address",
    ),
];

/// One mailbox as compared: (display name, normalised whitespace; address, lower-cased).
type Mb = (Option<String>, String);

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pw_mailbox(m: &Mailbox<'_>) -> Mb {
    let spec = m.addr_spec();
    let addr = if spec.domain().is_empty() {
        spec.local_part().to_owned()
    } else {
        format!("{}@{}", spec.local_part(), spec.domain())
    };
    (
        m.display_name().map(norm).filter(|n| !n.is_empty()),
        addr.to_lowercase(),
    )
}

fn pw_list(list: &[Address<'_>]) -> Vec<Mb> {
    let mut out = Vec::new();
    for a in list {
        match a {
            Address::Mailbox(m) => out.push(pw_mailbox(m)),
            Address::Group(g) => out.extend(g.mailboxes().iter().map(pw_mailbox)),
        }
    }
    out
}

fn mp_list(a: Option<&mail_parser::Address<'_>>) -> Vec<Mb> {
    let Some(a) = a else { return Vec::new() };
    a.iter()
        .filter_map(|x| {
            let addr = x.address.as_deref()?.trim();
            if addr.is_empty() {
                return None;
            }
            Some((
                x.name.as_deref().map(norm).filter(|n| !n.is_empty()),
                addr.to_lowercase(),
            ))
        })
        .collect()
}

/// What one message yields: (field, description of the difference).
/// The values a peer read from one message.
struct Values {
    from: Vec<Mb>,
    to: Vec<Mb>,
    cc: Vec<Mb>,
    subject: Option<String>,
    date: Option<i64>,
}

fn mail_parser_values(raw: &[u8], parser: &mail_parser::MessageParser) -> Option<Values> {
    let mp = parser.parse(raw)?;
    Some(Values {
        from: mp_list(mp.from()),
        to: mp_list(mp.to()),
        cc: mp_list(mp.cc()),
        subject: mp.subject().map(str::to_owned),
        date: mp.date().map(mail_parser::DateTime::to_timestamp),
    })
}

fn ms_list(headers: &[mailparse::MailHeader<'_>], name: &str) -> Vec<Mb> {
    let Some(list) = headers
        .get_first_header(name)
        .and_then(|h| mailparse::addrparse_header(h).ok())
    else {
        return Vec::new();
    };
    let single = |s: &mailparse::SingleInfo| {
        (
            s.display_name
                .as_deref()
                .map(norm)
                .filter(|n| !n.is_empty()),
            s.addr.trim().to_lowercase(),
        )
    };
    let mut out = Vec::new();
    for a in list.iter() {
        match a {
            mailparse::MailAddr::Single(s) => out.push(single(s)),
            mailparse::MailAddr::Group(g) => out.extend(g.addrs.iter().map(single)),
        }
    }
    out.retain(|m| !m.1.is_empty());
    out
}

fn mailparse_values(raw: &[u8]) -> Option<Values> {
    let (headers, _) = mailparse::parse_headers(raw).ok()?;
    Some(Values {
        from: ms_list(&headers, "From"),
        to: ms_list(&headers, "To"),
        cc: ms_list(&headers, "Cc"),
        subject: headers.get_first_value("Subject"),
        date: headers
            .get_first_value("Date")
            .and_then(|d| mailparse::dateparse(&d).ok()),
    })
}

/// Where postwerk loses or merges a value the peer read; `compared` counts the values.
fn differences(
    raw: &[u8],
    theirs: Option<Values>,
    compared: &mut usize,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let Some(theirs) = theirs else {
        return out;
    };
    let pw = match Message::parse(raw) {
        Ok(m) => m,
        Err(e) => {
            out.push(("message", format!("postwerk cannot parse: {e}")));
            return out;
        }
    };
    for (field, mine, theirs) in [
        ("From", pw.from(), theirs.from),
        ("To", pw.to(), theirs.to),
        ("Cc", pw.cc(), theirs.cc),
    ] {
        let mine = match mine {
            Ok(list) => pw_list(&list),
            Err(e) => {
                if !theirs.is_empty() {
                    out.push((field, format!("postwerk error {e}, peer {theirs:?}")));
                }
                continue;
            }
        };
        *compared += theirs.len();
        for mb in &theirs {
            // Read when postwerk has the address with the same display name, or with a
            // name where the peer has none (`a@x (Name)` names the mailbox in postwerk).
            let read = mine
                .iter()
                .any(|m| m.1 == mb.1 && (m.0 == mb.0 || mb.0.is_none()));
            if !read {
                out.push((field, format!("lost {mb:?}; postwerk has {mine:?}")));
            }
        }
        if !theirs.is_empty() && mine.len() > theirs.len() {
            out.push((field, format!("merged: postwerk {mine:?}, peer {theirs:?}")));
        }
    }
    if let Some(theirs) = theirs.subject {
        *compared += 1;
        let mine = pw.subject().map(|s| norm(&s));
        if mine.as_deref() != Some(norm(&theirs).as_str()) {
            out.push(("Subject", format!("postwerk {mine:?}, peer {theirs:?}")));
        }
    }
    if let Some(theirs) = theirs.date {
        *compared += 1;
        let mine = pw.date().and_then(Result::ok).map(|d| d.to_unix());
        if mine != Some(theirs) {
            out.push(("Date", format!("postwerk {mine:?}, peer {theirs}")));
        }
    }
    out
}

#[test]
fn every_value_mail_parser_reads_postwerk_reads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus/real");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("benches/corpus/real exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 100,
        "real corpus has {} messages",
        files.len()
    );

    let parser = mail_parser::MessageParser::default();
    let mut unexplained = Vec::new();
    let mut used = BTreeSet::new();
    let mut compared = 0;
    let mut values_compared = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(path).unwrap();
        compared += 1;
        for (peer, values) in [
            ("mail-parser", mail_parser_values(&raw, &parser)),
            ("mailparse", mailparse_values(&raw)),
        ] {
            for (field, what) in differences(&raw, values, &mut values_compared) {
                match ALLOWED
                    .iter()
                    .position(|(p, f, fld, _)| *p == peer && *f == name && *fld == field)
                {
                    Some(i) => {
                        used.insert(i);
                    }
                    None => unexplained.push(format!("{peer}: {name}: {field}: {what}")),
                }
            }
        }
    }
    let stale: Vec<_> = (0..ALLOWED.len())
        .filter(|i| !used.contains(i))
        .map(|i| ALLOWED[i])
        .collect();
    eprintln!(
        "{compared} messages, {values_compared} peer values, {} allowed",
        used.len()
    );
    // 158 messages; the peers read about 950 From/To/Cc/Subject/Date values between them.
    assert!(
        values_compared > 800,
        "only {values_compared} values compared"
    );
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences over {compared} messages ({values_compared} values):\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "allow-list entries no longer needed: {stale:?}"
    );
}

fn real(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/corpus/real")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The values postwerk got wrong before the real-world corpus was added, asserted exactly.
#[test]
fn values_fixed_on_the_real_world_corpus() {
    use postwerk::message::RepairKind;

    // `addr (Full Name)`: the comment names a bare addr-spec.
    let raw = real("mail-gem-multipart_report_emails-multi_address_bounce1.eml");
    let msg = Message::parse(&raw).unwrap();
    let from = msg.from().unwrap();
    let m = from[0].as_mailbox().unwrap();
    assert_eq!(m.display_name(), Some("Mail Delivery System"));
    assert_eq!(m.addr_spec().to_string(), "MAILER-DAEMON@lvmail01.LL.com");

    // An encoded word in an unknown charset (`NONE`) is lossy UTF-8, and reported.
    let raw = real("mail-gem-error_emails-bad_encoded_subject.eml");
    let msg = Message::parse(&raw).unwrap();
    assert_eq!(msg.subject().unwrap(), "TEST");
    assert!(
        msg.repairs()
            .iter()
            .any(|r| r.kind() == RepairKind::UnknownCharset && r.field() == Some("Subject"))
    );

    // Adjacent ISO-2022-JP words are decoded one by one (no U+FFFD between them).
    let raw = real("mail-gem-rfc2822-example14.eml");
    let msg = Message::parse(&raw).unwrap();
    assert_eq!(
        norm(&msg.subject().unwrap()),
        "Re: TEST \u{30c6}\u{30b9}\u{30c8}\u{30c6}\u{30b9}\u{30c8}"
    );

    // An unreadable zone (`H0500`) is -0000; the rest of the date stands.
    let raw = real("mail-gem-error_emails-trademark_character_in_subject.eml");
    let msg = Message::parse(&raw).unwrap();
    let date = msg.date().unwrap().unwrap();
    assert_eq!(date.to_unix(), 1_286_900_465);
    assert!(
        msg.repairs()
            .iter()
            .any(|r| r.kind() == RepairKind::LenientDate)
    );
}
