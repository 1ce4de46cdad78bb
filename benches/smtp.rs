//! SMTP benchmarks: the postwerk-smtp server machine, command parser and DATA unstuffer,
//! side by side with smtp-proto 0.2 where it has the same piece.
//!
//! ```text
//! cargo bench --bench smtp -- --measurement-time 3 --warm-up-time 1
//! cargo bench --bench smtp -- parse          # one group
//! ```
//!
//! - `smtp_session`: one pipelined session of 10,000 transactions (MAIL, RCPT, RCPT, DATA,
//!   a 3-line body, the final dot; then QUIT) through `server::Connection`, input in 16 KiB
//!   segments, every decision answered Accept. Throughput: commands.
//! - `smtp_parse`: the same 1,000 command lines parsed by `Command::parse_ref` (borrowed,
//!   no allocation; `postwerk_ref_as_str` also turns every text field into `&str`), by
//!   `Command::parse` (owned) and by smtp-proto's `Request::parse` (borrowed `Cow`s).
//!   `postwerk_server_parse` is the parse the server machine runs (`parse_ref` with the
//!   server's options); `postwerk_server_parse_and_event_data` adds the conversions the
//!   machine's `dispatch_ref` makes on every line (`event_data` below), which build the
//!   owned values its events carry (names, mailboxes, parameters as `Text`: inline up to
//!   64 octets, no allocation, readable as `&str` for free). `TextRef::as_str` is free too:
//!   the parse validates UTF-8 once per line. `smtp_proto_into_owned` is smtp-proto's
//!   parse followed by its `Request::into_owned` (the same data as `String`s), the
//!   like-for-like peer of the event-data row. Throughput: lines.
//! - `smtp_unstuff`: a 10 MiB dot-stuffed body (78-octet lines, one in ten starting with a
//!   dot) through `DotUnstuffer` and smtp-proto's `DataReceiver`. Throughput: bytes.

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use postwerk::smtp::codec::command::{Command, ParseOptions};
use postwerk::smtp::codec::command_ref::CommandRef;
use postwerk::smtp::codec::data::DotUnstuffer;
use postwerk::smtp::codec::path::MailboxRef;
use postwerk::smtp::codec::sasl::Mechanism;
use postwerk::smtp::server::{Config, Connection, Decision, Event, PipeliningPolicy};

const TRANSACTIONS: usize = 10_000;

fn session_input() -> (Vec<u8>, u64) {
    let mut input = b"EHLO client.example\r\n".to_vec();
    let mut commands = 1;
    for i in 0..TRANSACTIONS {
        input.extend_from_slice(
            format!(
                "MAIL FROM:<sender{i}@client.example> SIZE=120 BODY=8BITMIME\r\n\
                 RCPT TO:<alice@mx.example>\r\nRCPT TO:<bob{i}@mx.example> NOTIFY=FAILURE\r\nDATA\r\n\
                 Subject: message {i}\r\n\r\n..a line with a leading dot\r\n.\r\n"
            )
            .as_bytes(),
        );
        commands += 5; // MAIL, RCPT, RCPT, DATA, end of data
    }
    input.extend_from_slice(b"QUIT\r\n");
    (input, commands + 1)
}

fn run_session(input: &[u8]) -> usize {
    let now = Instant::now();
    let mut config = Config::new("mx.example");
    // The input is one stream cut into 16 KiB segments, so the body follows DATA in the
    // same segment; the unauthorised-pipelining check would (rightly) refuse that.
    config.pipelining_policy = PipeliningPolicy::Allow;
    let mut conn = Connection::new(config, now);
    let mut accepted = 0;
    let mut out = 0;
    let mut body = 0;
    while let Some(b) = conn.poll_transmit() {
        out += b.len();
    }
    for segment in input.chunks(16 * 1024) {
        let mut rest = segment;
        while !rest.is_empty() {
            let n = conn.handle_input(rest, now);
            rest = &rest[n..];
            while let Some(ev) = conn.poll_event() {
                match ev {
                    Event::Mail { id, .. } | Event::Rcpt { id, .. } => {
                        conn.respond(id, Decision::Accept, now).unwrap();
                    }
                    Event::DataEnd { id, .. } => {
                        accepted += 1;
                        conn.respond(id, Decision::Accept, now).unwrap();
                    }
                    Event::BodyChunk(c) => body += c.len(),
                    _ => {}
                }
            }
            while let Some(b) = conn.poll_transmit() {
                out += b.len();
            }
        }
    }
    assert!(conn.is_closed());
    assert_eq!(accepted, TRANSACTIONS);
    out + body
}

fn command_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for i in 0..100 {
        lines.push(format!("EHLO client{i}.example.com\r\n"));
        lines.push(format!(
            "MAIL FROM:<sender.name{i}@example.com> SIZE={} BODY=8BITMIME\r\n",
            1000 + i
        ));
        lines.push(format!("RCPT TO:<recipient{i}@example.org>\r\n"));
        lines.push(format!(
            "RCPT TO:<user+tag{i}@mail.example.net> NOTIFY=SUCCESS,FAILURE\r\n"
        ));
        lines.push("DATA\r\n".into());
        lines.push(format!("BDAT {} LAST\r\n", 4096 + i));
        lines.push("RSET\r\n".into());
        lines.push("NOOP\r\n".into());
        lines.push("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n".into());
        lines.push("QUIT\r\n".into());
    }
    lines.into_iter().map(String::into_bytes).collect()
}

/// What the server machine's `dispatch_ref` does with a parsed line before it runs the
/// command: what the events carry (the EHLO/HELO/LHLO name, the MAIL and RCPT paths and
/// parameters, the VRFY argument, the AUTH mechanism and initial response) becomes owned
/// values, `Text` where it is text (inline up to 64 octets, no allocation, read as `&str`
/// for free); DATA, BDAT, RSET, NOOP, QUIT, STARTTLS, EXPN and HELP carry nothing. The
/// mechanism goes through the public `Mechanism::parse`, which checks the name again
/// (the machine's crate-private conversion does not).
#[inline(always)]
fn event_data(c: &CommandRef<'_>) {
    match c {
        CommandRef::Ehlo { domain } | CommandRef::Helo { domain } | CommandRef::Lhlo { domain } => {
            black_box(&domain.to_text());
        }
        CommandRef::Mail { from, params } => {
            black_box(&from.to_reverse_path());
            black_box(&params.to_owned());
        }
        CommandRef::Rcpt { to, params } => {
            black_box(&to.to_forward_path());
            black_box(&params.to_owned());
        }
        CommandRef::Vrfy { arg } => {
            black_box(&arg.to_text());
        }
        CommandRef::Auth {
            mechanism,
            initial_response,
        } => {
            black_box(&Mechanism::parse(mechanism.as_str()));
            black_box(&initial_response.map(|r| r.to_text()));
        }
        _ => {
            black_box(c);
        }
    }
}

/// Every text field of a borrowed command as `&str`; returns their total length.
fn as_strs(c: &CommandRef<'_>) -> usize {
    let mailbox = |m: Option<&MailboxRef<'_>>| {
        m.map_or(0, |m| m.local_part().len() + m.domain().as_str().len())
    };
    match c {
        CommandRef::Ehlo { domain } | CommandRef::Helo { domain } | CommandRef::Lhlo { domain } => {
            domain.as_str().len()
        }
        CommandRef::Mail { from, params } => {
            mailbox(from.mailbox())
                + params.auth.map_or(0, |a| a.as_str().len())
                + params.envid.map_or(0, |e| e.as_str().len())
                + params.other().count()
        }
        CommandRef::Rcpt { to, params } => {
            mailbox(to.mailbox())
                + params
                    .orcpt
                    .map_or(0, |(t, a)| t.as_str().len() + a.as_str().len())
                + params.other().count()
        }
        CommandRef::Vrfy { arg } | CommandRef::Expn { arg } => arg.as_str().len(),
        CommandRef::Help { topic } => topic.map_or(0, |t| t.as_str().len()),
        CommandRef::Auth {
            mechanism,
            initial_response,
        } => mechanism.as_str().len() + initial_response.map_or(0, |r| r.as_str().len()),
        _ => 0,
    }
}

fn stuffed_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(10 * 1024 * 1024 + 100);
    let mut i = 0u64;
    while body.len() < 10 * 1024 * 1024 {
        if i.is_multiple_of(10) {
            body.extend_from_slice(b"..");
        }
        let line = format!(
            "{i:08} The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet"
        );
        body.extend_from_slice(&line.as_bytes()[..76]);
        body.extend_from_slice(b"\r\n");
        i += 1;
    }
    body.extend_from_slice(b".\r\n");
    body
}

fn bench(c: &mut Criterion) {
    let (input, commands) = session_input();
    let mut g = c.benchmark_group("smtp_session");
    g.throughput(Throughput::Elements(commands));
    g.sample_size(10);
    g.bench_function("postwerk_server_10k_transactions", |b| {
        b.iter(|| black_box(run_session(black_box(&input))))
    });
    g.finish();

    let lines = command_lines();
    let mut g = c.benchmark_group("smtp_parse");
    g.throughput(Throughput::Elements(lines.len() as u64));
    let opts = ParseOptions::default();
    // Zero-allocation parse: the same grammar and checks as `Command::parse`, every name,
    // path and parameter borrowed from the line (as smtp-proto's `Cow`s are).
    g.bench_function("postwerk_ref", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                let l = &line[..line.len() - 2];
                if let Ok(c) = Command::parse_ref(black_box(l), &opts) {
                    black_box(&c);
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    // The same, then every text field turned into `&str` (smtp-proto hands out `&str`s,
    // and validates UTF-8 to build them; `parse_ref` validates once per line, so
    // `TextRef::as_str` is a field read).
    g.bench_function("postwerk_ref_as_str", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                let l = &line[..line.len() - 2];
                if let Ok(c) = Command::parse_ref(black_box(l), &opts) {
                    black_box(as_strs(&c));
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    // The owned `Command` (`Command::parse` = `parse_ref` + `to_owned`, with the default
    // options).
    g.bench_function("postwerk_owned", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                let l = &line[..line.len() - 2];
                if let Ok(c) = Command::parse(black_box(l), &opts) {
                    black_box(&c);
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    // The parse the server machine runs (`server::Connection` takes a command line with
    // `Command::parse_ref` and these options: the configured leniency, SMTPUTF8 after
    // EHLO when advertised, as with `Config::new`'s defaults).
    let config = Config::new("mx.example");
    let server_opts = ParseOptions {
        leniency: config.leniency,
        smtputf8: config.extensions.smtputf8,
    };
    g.bench_function("postwerk_server_parse", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                let l = &line[..line.len() - 2];
                if let Ok(c) = Command::parse_ref(black_box(l), &server_opts) {
                    black_box(&c);
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    // The same, then what the server machine runs next on every line: the conversions
    // its `dispatch_ref` makes (see `event_data`).
    g.bench_function("postwerk_server_parse_and_event_data", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                let l = &line[..line.len() - 2];
                if let Ok(c) = Command::parse_ref(black_box(l), &server_opts) {
                    event_data(&c);
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    g.bench_function("smtp_proto", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                if let Ok(r) = smtp_proto::Request::parse(&mut black_box(line).iter()) {
                    black_box(&r);
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    // smtp-proto's parse followed by its own `Request::into_owned` (`Cow`s turned into
    // `String`s): the same owned data `postwerk_server_parse_and_event_data` builds, for
    // a caller that keeps the command past its input buffer.
    g.bench_function("smtp_proto_into_owned", |b| {
        b.iter(|| {
            let mut ok = 0;
            for line in &lines {
                if let Ok(r) = smtp_proto::Request::parse(&mut black_box(line).iter()) {
                    black_box(&r.into_owned());
                    ok += 1;
                }
            }
            assert_eq!(ok, lines.len());
            ok
        })
    });
    g.finish();

    let body = stuffed_body();
    let mut g = c.benchmark_group("smtp_unstuff");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.sample_size(20);
    g.bench_function("postwerk", |b| {
        let mut out = BytesMut::with_capacity(body.len());
        b.iter(|| {
            out.clear();
            let mut u = DotUnstuffer::new(1000, false);
            let p = u.feed(black_box(&body), &mut out);
            assert!(p.done);
            out.len()
        })
    });
    g.bench_function("smtp_proto", |b| {
        let mut out = Vec::with_capacity(body.len());
        b.iter(|| {
            out.clear();
            let mut r = smtp_proto::request::receiver::DataReceiver::new();
            let done = r.ingest(&mut black_box(&body).iter(), &mut out);
            assert!(done);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
