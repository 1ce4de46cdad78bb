//! Message parsing benchmarks: postwerk-message side by side with mail-parser and mailparse
//! (messages) and with mailparse's `addrparse` and email_address (addresses), on two
//! corpora: the generated one in `benches/corpus/` (regenerate it with
//! `python3 benches/corpus/generate.py`) and the real-world one in `benches/corpus/real/`
//! (messages from other parsers' public test suites, see its README). The message
//! workloads run on both (`headers`/`full` and `real-headers`/`real-full`); the address
//! workloads on the generated corpus.
//!
//! ```text
//! cargo bench --bench message                          # all groups
//! cargo bench --bench message -- real-full             # one group
//! POSTWERK_BENCH_PARITY=1 cargo bench --bench message -- parity   # where the parsers disagree
//! POSTWERK_BENCH_ONESHOT=full/postwerk POSTWERK_BENCH_ITERS=2 valgrind --tool=callgrind \
//!     target/release/deps/message-HASH --bench        # one row n times, for instruction counts
//! ```
//!
//! Every parser does the same work in a group, and lazy parsers are made to do it:
//!
//! - `headers`: parse the message, walk the From, To and Cc address lists touching every
//!   display name, local part and domain (or whole address string, where the parser gives
//!   only that), read the decoded Subject and the Date as a typed value. mail-parser decodes
//!   every body while parsing and cannot be told not to, so it also appears with
//!   `parse_headers`, which does exactly the header work.
//! - `full`: the headers work, plus every leaf part's body in its final form: text parts as
//!   decoded text (transfer encoding and charset undone), every other leaf as decoded bytes.
//!   message/rfc822 parts are descended into, as postwerk's `Message::leaves` does.
//! - `addresses`: address lists alone (the From/To/Cc values of the corpus, unfolded, plus
//!   synthetic lists) with postwerk's `parse_address_list` and mailparse's `addrparse`; then
//!   the single addresses of those lists, as addr-specs and as mailboxes, with postwerk's
//!   `parse_addr_spec`/`parse_mailbox` and email_address.
//!
//! Throughput is reported in input bytes, so the figures are MiB/s of mail.

use std::hint::black_box;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailparse::{MailAddr, MailHeaderMap, ParsedMail};
use postwerk::message::{self as pm, Address, Mailbox, Message};

/// The corpus, loaded once: (file name, bytes), sorted by name.
struct Corpus {
    messages: Vec<(String, Vec<u8>)>,
    bytes: u64,
}

/// The `.eml` files directly in `benches/<sub>` (not in its subdirectories).
fn load_corpus(sub: &str) -> Corpus {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(sub);
    let mut messages = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus directory exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_some_and(|e| e == "eml") {
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            messages.push((name, std::fs::read(&path).expect("readable corpus file")));
        }
    }
    messages.sort();
    assert!(
        messages.len() >= 50,
        "corpus {sub} has {} messages",
        messages.len()
    );
    let bytes = messages.iter().map(|(_, m)| m.len() as u64).sum();
    Corpus { messages, bytes }
}

// ---------------------------------------------------------------------------------------
// postwerk-message

fn pw_mailbox(m: &Mailbox<'_>) -> usize {
    let spec = m.addr_spec();
    black_box(m.display_name()).map_or(0, str::len)
        + black_box(spec.local_part()).len()
        + black_box(spec.domain()).len()
}

fn pw_address_list(list: &[Address<'_>]) -> usize {
    list.iter()
        .map(|a| match a {
            Address::Mailbox(m) => pw_mailbox(m),
            Address::Group(g) => {
                black_box(g.display_name()).len()
                    + g.mailboxes().iter().map(pw_mailbox).sum::<usize>()
            }
        })
        .sum()
}

fn pw_headers(msg: &Message<'_>) -> usize {
    let mut n = 0;
    for list in [msg.from(), msg.to(), msg.cc()].into_iter().flatten() {
        n += pw_address_list(&list);
    }
    if let Some(subject) = msg.subject() {
        n += black_box(subject).len();
    }
    if let Some(Ok(date)) = msg.date() {
        black_box(&date);
        n += 1;
    }
    n
}

fn pw_leaves(msg: &Message<'_>) -> usize {
    let mut n = 0;
    for part in msg.leaves() {
        // `decoded_text` is `Some` exactly for text/* parts.
        n += match part.decoded_text() {
            Some(text) => black_box(text).len(),
            None => black_box(part.decoded_body()).len(),
        };
    }
    n
}

fn postwerk_headers(raw: &[u8]) -> usize {
    match Message::parse(raw) {
        Ok(msg) => pw_headers(&msg),
        Err(e) => black_box(e.offset()),
    }
}

fn postwerk_full(raw: &[u8]) -> usize {
    match Message::parse(raw) {
        Ok(msg) => pw_headers(&msg) + pw_leaves(&msg),
        Err(e) => black_box(e.offset()),
    }
}

// ---------------------------------------------------------------------------------------
// mail-parser

fn mp_address(a: Option<&mail_parser::Address<'_>>) -> usize {
    let addr = |x: &mail_parser::Addr<'_>| {
        black_box(x.name.as_deref()).map_or(0, str::len)
            + black_box(x.address.as_deref()).map_or(0, str::len)
    };
    match a {
        None => 0,
        Some(mail_parser::Address::List(list)) => list.iter().map(addr).sum(),
        Some(mail_parser::Address::Group(groups)) => groups
            .iter()
            .map(|g| {
                black_box(g.name.as_deref()).map_or(0, str::len)
                    + g.addresses.iter().map(addr).sum::<usize>()
            })
            .sum(),
    }
}

fn mp_headers(msg: &mail_parser::Message<'_>) -> usize {
    let mut n = mp_address(msg.from()) + mp_address(msg.to()) + mp_address(msg.cc());
    if let Some(subject) = msg.subject() {
        n += black_box(subject).len();
    }
    if let Some(date) = msg.date() {
        black_box(date);
        n += 1;
    }
    n
}

fn mp_leaves(msg: &mail_parser::Message<'_>) -> usize {
    use mail_parser::PartType;
    let mut n = 0;
    for part in &msg.parts {
        n += match &part.body {
            PartType::Text(t) | PartType::Html(t) => black_box(t).len(),
            PartType::Binary(b) | PartType::InlineBinary(b) => black_box(b).len(),
            PartType::Message(inner) => mp_leaves(inner),
            PartType::Multipart(_) => 0,
        };
    }
    n
}

fn mail_parser_headers(parser: &mail_parser::MessageParser, raw: &[u8]) -> usize {
    parser.parse(raw).map_or(0, |m| mp_headers(&m))
}

fn mail_parser_headers_only(parser: &mail_parser::MessageParser, raw: &[u8]) -> usize {
    parser.parse_headers(raw).map_or(0, |m| mp_headers(&m))
}

fn mail_parser_full(parser: &mail_parser::MessageParser, raw: &[u8]) -> usize {
    parser
        .parse(raw)
        .map_or(0, |m| mp_headers(&m) + mp_leaves(&m))
}

// ---------------------------------------------------------------------------------------
// mailparse

fn ms_address_list(list: &[MailAddr]) -> usize {
    let single = |s: &mailparse::SingleInfo| {
        black_box(s.display_name.as_deref()).map_or(0, str::len) + black_box(&s.addr).len()
    };
    list.iter()
        .map(|a| match a {
            MailAddr::Single(s) => single(s),
            MailAddr::Group(g) => {
                black_box(&g.group_name).len() + g.addrs.iter().map(single).sum::<usize>()
            }
        })
        .sum()
}

fn ms_headers<H: MailHeaderMap + ?Sized>(headers: &H) -> usize {
    let mut n = 0;
    for name in ["From", "To", "Cc"] {
        if let Some(h) = headers.get_first_header(name)
            && let Ok(list) = mailparse::addrparse_header(h)
        {
            n += ms_address_list(&list);
        }
    }
    if let Some(subject) = headers.get_first_value("Subject") {
        n += black_box(subject).len();
    }
    if let Some(date) = headers.get_first_value("Date")
        && let Ok(t) = mailparse::dateparse(&date)
    {
        black_box(t);
        n += 1;
    }
    n
}

fn ms_leaves(mail: &ParsedMail<'_>) -> usize {
    if !mail.subparts.is_empty() {
        return mail.subparts.iter().map(ms_leaves).sum();
    }
    let mime = mail.ctype.mimetype.as_str();
    if mime.starts_with("text/") {
        mail.get_body().map_or(0, |b| black_box(b).len())
    } else if mime.eq_ignore_ascii_case("message/rfc822") {
        // mailparse leaves an encapsulated message unparsed: parse it to reach its leaves.
        match mail.get_body_raw() {
            Ok(inner) => mailparse::parse_mail(&inner).map_or(0, |m| ms_leaves(&m)),
            Err(_) => 0,
        }
    } else {
        mail.get_body_raw().map_or(0, |b| black_box(b).len())
    }
}

fn mailparse_headers(raw: &[u8]) -> usize {
    mailparse::parse_headers(raw).map_or(0, |(headers, _)| ms_headers(headers.as_slice()))
}

fn mailparse_full(raw: &[u8]) -> usize {
    mailparse::parse_mail(raw).map_or(0, |m| ms_headers(m.headers.as_slice()) + ms_leaves(&m))
}

// ---------------------------------------------------------------------------------------
// Address workloads

/// Unfolded values of the From, To and Cc fields of a message's header (own minimal scan,
/// so that no parser under test decides what the input is).
fn address_fields(raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in raw.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line));
        let line = line.as_ref();
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(v) = current.as_mut() {
                v.push_str(line);
            }
            continue;
        }
        out.extend(current.take());
        if let Some((name, value)) = line.split_once(':')
            && ["from", "to", "cc"].contains(&name.trim().to_ascii_lowercase().as_str())
        {
            current = Some(value.trim_start().to_owned());
        }
    }
    out.extend(current);
    out
}

/// Deterministic synthetic lists: long plain lists, quoted names with commas, comments.
fn synthetic_lists() -> Vec<String> {
    const FIRST: [&str; 8] = [
        "ada", "bert", "cora", "dirk", "edda", "fynn", "gesa", "hauke",
    ];
    const LAST: [&str; 8] = [
        "abel", "brandt", "claus", "dahl", "ernst", "frank", "graf", "hahn",
    ];
    const DOMAINS: [&str; 4] = ["example.com", "example.org", "mail.example.net", "x.test"];
    let mut state: u32 = 0x2545_f491;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let mut lists = Vec::new();
    for style in 0..4 {
        let mut items = Vec::new();
        for _ in 0..250 {
            let (f, l, d) = (FIRST[next() % 8], LAST[next() % 8], DOMAINS[next() % 4]);
            let n = next() % 1000;
            items.push(match style {
                0 => format!("{f}.{l}{n}@{d}"),
                1 => format!("\"{l}, {f}\" <{f}{n}@{d}>"),
                2 => format!("{f} {l} <{f}.{l}+tag{n}@{d}> (desk {n})"),
                _ => format!("=?utf-8?Q?{f}_M=C3=BCller?= <{f}{n}@{d}>"),
            });
        }
        lists.push(items.join(", "));
    }
    lists
}

struct AddressInput {
    lists: Vec<String>,
    addr_specs: Vec<String>,
    mailboxes: Vec<String>,
}

fn address_input(corpus: &Corpus) -> AddressInput {
    let mut lists: Vec<String> = corpus
        .messages
        .iter()
        .flat_map(|(_, m)| address_fields(m))
        .collect();
    lists.extend(synthetic_lists());
    // The single addresses of the same lists, split with mailparse (a parser other than the
    // one being timed for postwerk's single rows): `local@domain` and `"name" <local@domain>`.
    let mut addr_specs = Vec::new();
    let mut mailboxes = Vec::new();
    let mut push = |s: &mailparse::SingleInfo| {
        addr_specs.push(s.addr.clone());
        mailboxes.push(s.to_string());
    };
    for list in &lists {
        if let Ok(parsed) = mailparse::addrparse(list) {
            for a in parsed.iter() {
                match a {
                    MailAddr::Single(s) => push(s),
                    MailAddr::Group(g) => g.addrs.iter().for_each(&mut push),
                }
            }
        }
    }
    AddressInput {
        lists,
        addr_specs,
        mailboxes,
    }
}

fn total_len(items: &[String]) -> u64 {
    items.iter().map(|s| s.len() as u64).sum()
}

// ---------------------------------------------------------------------------------------
// Parity: where do the parsers disagree with postwerk? (printed with POSTWERK_BENCH_PARITY=1)

fn count_pw(list: Result<Vec<Address<'_>>, pm::ParseError>) -> Option<usize> {
    list.ok().map(|l| {
        l.iter()
            .map(|a| match a {
                Address::Mailbox(_) => 1,
                Address::Group(g) => g.mailboxes().len(),
            })
            .sum()
    })
}

fn count_mp(a: Option<&mail_parser::Address<'_>>) -> Option<usize> {
    Some(a.map_or(0, |a| a.iter().count()))
}

fn count_ms(headers: &[mailparse::MailHeader<'_>], name: &str) -> Option<usize> {
    match headers.get_first_header(name) {
        None => Some(0),
        Some(h) => mailparse::addrparse_header(h).ok().map(|l| l.count_addrs()),
    }
}

fn fmt_counts(c: &[Option<usize>]) -> String {
    c.iter()
        .map(|x| x.map_or_else(|| "err".to_owned(), |n| n.to_string()))
        .collect::<Vec<_>>()
        .join("/")
}

fn parity_report(corpus: &Corpus) {
    let parser = mail_parser::MessageParser::default();
    let (mut pw_fail, mut mp_diff, mut ms_diff, mut leaf_diff) = (0, 0, 0, 0);
    let (mut subj_diff, mut subj_diff_ms, mut date_diff, mut date_diff_ms) = (0, 0, 0, 0);
    let (mut bytes_diff, mut bytes_diff_ms) = (0, 0);
    eprintln!("parity: From/To/Cc address counts and leaf counts, postwerk vs peers");
    for (name, raw) in &corpus.messages {
        let Ok(pw) = Message::parse(raw) else {
            pw_fail += 1;
            eprintln!(
                "  {name}: postwerk failed to parse: {}",
                Message::parse(raw)
                    .err()
                    .map_or(String::new(), |e| e.to_string())
            );
            continue;
        };
        let pw_counts = [count_pw(pw.from()), count_pw(pw.to()), count_pw(pw.cc())];
        let pw_subject = pw.subject().map(|s| s.into_owned());
        let pw_leaf_count = pw.leaves().count();
        let pw_date = pw.date().and_then(Result::ok).map(|d| d.to_unix());
        let pw_bytes = pw_leaves(&pw);
        if let Ok(ms) = mailparse::parse_mail(raw) {
            let ms_bytes = ms_leaves(&ms);
            if ms_bytes != pw_bytes {
                bytes_diff_ms += 1;
                eprintln!("  {name}: decoded leaf bytes postwerk {pw_bytes} mailparse {ms_bytes}");
            }
        }
        if let Some(mp) = parser.parse(raw) {
            let mp_counts = [count_mp(mp.from()), count_mp(mp.to()), count_mp(mp.cc())];
            if mp_counts != pw_counts {
                mp_diff += 1;
                eprintln!(
                    "  {name}: addresses postwerk {} mail-parser {}",
                    fmt_counts(&pw_counts),
                    fmt_counts(&mp_counts)
                );
            }
            let mp_subject = mp.subject().map(str::to_owned);
            if mp_subject != pw_subject {
                subj_diff += 1;
                eprintln!("  {name}: subject postwerk {pw_subject:?} mail-parser {mp_subject:?}");
            }
            let mp_date = mp.date().map(mail_parser::DateTime::to_timestamp);
            if mp_date != pw_date {
                date_diff += 1;
                eprintln!("  {name}: date postwerk {pw_date:?} mail-parser {mp_date:?}");
            }
            let mp_bytes = mp_leaves(&mp);
            if mp_bytes != pw_bytes {
                bytes_diff += 1;
                eprintln!(
                    "  {name}: decoded leaf bytes postwerk {pw_bytes} mail-parser {mp_bytes}"
                );
            }
            let mp_leaves = count_mp_leaves(&mp);
            if mp_leaves != pw_leaf_count {
                leaf_diff += 1;
                eprintln!("  {name}: leaves postwerk {pw_leaf_count} mail-parser {mp_leaves}");
            }
        } else {
            mp_diff += 1;
            eprintln!("  {name}: mail-parser failed to parse");
        }
        match mailparse::parse_headers(raw) {
            Ok((headers, _)) => {
                let ms_counts = [
                    count_ms(&headers, "From"),
                    count_ms(&headers, "To"),
                    count_ms(&headers, "Cc"),
                ];
                if ms_counts != pw_counts {
                    ms_diff += 1;
                    eprintln!(
                        "  {name}: addresses postwerk {} mailparse {}",
                        fmt_counts(&pw_counts),
                        fmt_counts(&ms_counts)
                    );
                }
                let ms_subject = headers.get_first_value("Subject");
                if ms_subject != pw_subject {
                    subj_diff_ms += 1;
                    eprintln!("  {name}: subject postwerk {pw_subject:?} mailparse {ms_subject:?}");
                }
                let ms_date = headers
                    .get_first_value("Date")
                    .and_then(|d| mailparse::dateparse(&d).ok());
                if ms_date != pw_date {
                    date_diff_ms += 1;
                    eprintln!("  {name}: date postwerk {pw_date:?} mailparse {ms_date:?}");
                }
            }
            Err(e) => {
                ms_diff += 1;
                eprintln!("  {name}: mailparse failed: {e}");
            }
        }
    }
    eprintln!(
        "parity summary over {} messages: postwerk parse failures {pw_fail}; address-count \
         differences vs mail-parser {mp_diff}, vs mailparse {ms_diff}; subject differences vs \
         mail-parser {subj_diff}, vs mailparse {subj_diff_ms}; date differences vs mail-parser \
         {date_diff}, vs mailparse {date_diff_ms}; leaf-count differences vs mail-parser \
         {leaf_diff}; decoded-leaf-byte differences vs mail-parser {bytes_diff}, vs mailparse \
         {bytes_diff_ms}",
        corpus.messages.len()
    );
}

fn count_mp_leaves(msg: &mail_parser::Message<'_>) -> usize {
    use mail_parser::PartType;
    msg.parts
        .iter()
        .map(|p| match &p.body {
            PartType::Message(inner) => count_mp_leaves(inner),
            PartType::Multipart(_) => 0,
            _ => 1,
        })
        .sum()
}

// ---------------------------------------------------------------------------------------

/// One benchmark: its group, its name within the group, the input bytes one run reads,
/// and the run itself (the whole workload once; returns a checksum of what it touched).
struct Row<'a> {
    group: &'static str,
    name: &'static str,
    bytes: u64,
    run: Box<dyn Fn() -> usize + 'a>,
}

/// The message rows (headers and full workloads) over one corpus, in the groups named.
fn message_rows<'a>(
    corpus: &'a Corpus,
    parser: &'a mail_parser::MessageParser,
    (headers, full): (&'static str, &'static str),
) -> Vec<Row<'a>> {
    let messages = &corpus.messages;
    let each = move |f: fn(&[u8]) -> usize| -> Box<dyn Fn() -> usize + 'a> {
        Box::new(move || messages.iter().map(|(_, m)| f(black_box(m))).sum())
    };
    let each_mp =
        move |f: fn(&mail_parser::MessageParser, &[u8]) -> usize| -> Box<dyn Fn() -> usize + 'a> {
            Box::new(move || messages.iter().map(|(_, m)| f(parser, black_box(m))).sum())
        };
    let row = |group, name, run| Row {
        group,
        name,
        bytes: corpus.bytes,
        run,
    };
    vec![
        row(headers, "postwerk", each(postwerk_headers)),
        row(headers, "mail-parser", each_mp(mail_parser_headers)),
        row(
            headers,
            "mail-parser-parse_headers",
            each_mp(mail_parser_headers_only),
        ),
        row(headers, "mailparse", each(mailparse_headers)),
        row(full, "postwerk", each(postwerk_full)),
        row(full, "mail-parser", each_mp(mail_parser_full)),
        row(full, "mailparse", each(mailparse_full)),
    ]
}

fn rows<'a>(
    corpus: &'a Corpus,
    real: &'a Corpus,
    input: &'a AddressInput,
    parser: &'a mail_parser::MessageParser,
) -> Vec<Row<'a>> {
    let mut rows = message_rows(corpus, parser, ("headers", "full"));
    rows.extend(message_rows(real, parser, ("real-headers", "real-full")));
    rows.extend(address_rows(input));
    rows
}

/// The address rows, over the address lists of the generated corpus.
fn address_rows<'a>(input: &'a AddressInput) -> Vec<Row<'a>> {
    let lists = |f: fn(&str) -> usize| -> Box<dyn Fn() -> usize + 'a> {
        Box::new(move || input.lists.iter().map(|l| f(black_box(l))).sum())
    };
    let specs = |f: fn(&str) -> usize| -> Box<dyn Fn() -> usize + 'a> {
        Box::new(move || input.addr_specs.iter().map(|l| f(black_box(l))).sum())
    };
    let mailboxes = |f: fn(&str) -> usize| -> Box<dyn Fn() -> usize + 'a> {
        Box::new(move || input.mailboxes.iter().map(|l| f(black_box(l))).sum())
    };
    let row = |group, name, bytes, run| Row {
        group,
        name,
        bytes,
        run,
    };
    let (nl, ns, nm) = (
        total_len(&input.lists),
        total_len(&input.addr_specs),
        total_len(&input.mailboxes),
    );
    vec![
        row(
            "addresses",
            "lists/postwerk",
            nl,
            lists(|l| pm::parse_address_list(l.as_bytes()).map_or(0, |v| pw_address_list(&v))),
        ),
        row(
            "addresses",
            "lists/mailparse-addrparse",
            nl,
            lists(|l| mailparse::addrparse(l).map_or(0, |v| ms_address_list(&v))),
        ),
        row(
            "addresses",
            "addr-spec/postwerk",
            ns,
            specs(|s| {
                pm::parse_addr_spec(s.as_bytes()).map_or(0, |a| {
                    black_box(a.local_part()).len() + black_box(a.domain()).len()
                })
            }),
        ),
        row(
            "addresses",
            "addr-spec/email_address",
            ns,
            specs(|s| {
                email_address::EmailAddress::from_str(s).map_or(0, |a| {
                    black_box(a.local_part()).len() + black_box(a.domain()).len()
                })
            }),
        ),
        row(
            "addresses",
            "mailbox/postwerk",
            nm,
            mailboxes(|s| pm::parse_mailbox(s.as_bytes()).map_or(0, |m| pw_mailbox(&m))),
        ),
        row(
            "addresses",
            "mailbox/email_address",
            nm,
            mailboxes(|s| {
                email_address::EmailAddress::from_str(s).map_or(0, |a| {
                    black_box(a.display_part()).len()
                        + black_box(a.local_part()).len()
                        + black_box(a.domain()).len()
                })
            }),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let corpus = load_corpus("corpus");
    let real = load_corpus("corpus/real");
    if std::env::var_os("POSTWERK_BENCH_PARITY").is_some() {
        eprintln!("generated corpus:");
        parity_report(&corpus);
        eprintln!("real-world corpus:");
        parity_report(&real);
    }
    let input = address_input(&corpus);
    let parser = mail_parser::MessageParser::default();
    let rows = rows(&corpus, &real, &input, &parser);

    // `POSTWERK_BENCH_ONESHOT=group/name [POSTWERK_BENCH_ITERS=n]`: run one row n times
    // without criterion, for instruction counts under `valgrind --tool=callgrind` (a
    // measure that does not depend on how busy the machine is).
    if let Ok(which) = std::env::var("POSTWERK_BENCH_ONESHOT") {
        let iters: usize = std::env::var("POSTWERK_BENCH_ITERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let row = rows
            .iter()
            .find(|r| format!("{}/{}", r.group, r.name) == which)
            .unwrap_or_else(|| panic!("no row {which}"));
        let sum: usize = (0..iters).map(|_| (row.run)()).sum();
        eprintln!(
            "{which}: {iters} runs over {} bytes, checksum {sum}",
            row.bytes
        );
        return;
    }

    for name in ["headers", "full", "real-headers", "real-full", "addresses"] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        for row in rows.iter().filter(|r| r.group == name) {
            group.throughput(Throughput::Bytes(row.bytes));
            group.bench_function(row.name, |b| b.iter(&row.run));
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
