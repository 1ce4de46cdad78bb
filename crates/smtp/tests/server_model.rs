//! A reference model of the server machine (DESIGN.md: "a small model of the session
//! state, random command sequences, the machine's replies checked against the model"),
//! and the bounded-output property under random pipelining and random drain points.
//!
//! The model knows only what RFC 5321 and RFC 3030 say about sequencing: whether the
//! client said hello (and how), the transaction (recipients, BDAT started, octets), the
//! DATA body, the error count; it predicts the reply code of every command.

mod server_support;

use std::time::Instant;

use proptest::prelude::*;

use postwerk_smtp::codec::reply::{ReplyLimits, parse_reply};
use postwerk_smtp::server::{Config, Connection, Decision, Event};
use server_support::{App, Harness, test_config};

const MAX_RECIPIENTS: usize = 3;
const MAX_MESSAGE_SIZE: u64 = 96;
const MAX_ERRORS: u32 = 8;

/// One client step.
#[derive(Debug, Clone)]
enum Cmd {
    Helo,
    Ehlo,
    Mail,
    /// MAIL with a broken path: 501.
    BadMail,
    /// RCPT; `false` names the recipient the application refuses (550).
    Rcpt(bool),
    /// DATA, and when the model expects 354, these body lines and the final dot.
    Data(Vec<String>),
    /// BDAT with this chunk, LAST or not.
    Bdat(String, bool),
    Rset,
    Noop,
    Vrfy,
    Quit,
    Unknown,
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let line = "[a-z ]{0,12}";
    prop_oneof![
        1 => Just(Cmd::Helo),
        3 => Just(Cmd::Ehlo),
        4 => Just(Cmd::Mail),
        1 => Just(Cmd::BadMail),
        5 => any::<bool>().prop_map(Cmd::Rcpt),
        3 => proptest::collection::vec(line, 0..8).prop_map(Cmd::Data),
        3 => ("[a-zA-Z0-9\r\n.]{0,40}", any::<bool>()).prop_map(|(c, l)| Cmd::Bdat(c, l)),
        2 => Just(Cmd::Rset),
        1 => Just(Cmd::Noop),
        1 => Just(Cmd::Vrfy),
        1 => Just(Cmd::Quit),
        1 => Just(Cmd::Unknown),
    ]
}

/// The transaction as the model sees it.
#[derive(Debug, Clone, Default)]
struct Tx {
    recipients: usize,
    bdat: bool,
    bdat_size: u64,
}

/// The session as the model sees it.
#[derive(Debug, Clone, Default)]
struct Model {
    hello: Option<bool>,
    tx: Option<Tx>,
    errors: u32,
    closed: bool,
}

impl Model {
    /// A client error: the code, or 421 and close at the limit.
    fn error(&mut self, code: u16) -> u16 {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.closed = true;
            421
        } else {
            code
        }
    }

    /// The codes the machine must answer `cmd` with, and the wire bytes of `cmd` (DATA
    /// carries its body only when the model expects 354).
    fn step(&mut self, cmd: &Cmd) -> (Vec<u16>, Vec<u8>) {
        let mut wire = Vec::new();
        let codes = match cmd {
            Cmd::Helo | Cmd::Ehlo => {
                let extended = matches!(cmd, Cmd::Ehlo);
                wire.extend_from_slice(if extended {
                    b"EHLO c.example\r\n"
                } else {
                    b"HELO c.example\r\n"
                });
                self.hello = Some(extended);
                self.tx = None;
                vec![250]
            }
            Cmd::Mail => {
                wire.extend_from_slice(b"MAIL FROM:<a@c.example>\r\n");
                if self.hello.is_none() || self.tx.is_some() {
                    vec![self.error(503)]
                } else {
                    self.tx = Some(Tx::default());
                    vec![250]
                }
            }
            Cmd::BadMail => {
                wire.extend_from_slice(b"MAIL FROM:<a@@c.example>\r\n");
                vec![self.error(501)]
            }
            Cmd::Rcpt(ok) => {
                let to = if *ok { "b@mx.test" } else { "refused@mx.test" };
                wire.extend_from_slice(format!("RCPT TO:<{to}>\r\n").as_bytes());
                match &mut self.tx {
                    None => vec![self.error(503)],
                    Some(tx) if tx.bdat => vec![self.error(503)],
                    Some(tx) if tx.recipients >= MAX_RECIPIENTS => vec![452],
                    Some(tx) if *ok => {
                        tx.recipients += 1;
                        vec![250]
                    }
                    Some(_) => vec![550],
                }
            }
            Cmd::Data(lines) => {
                wire.extend_from_slice(b"DATA\r\n");
                match &self.tx {
                    None => vec![self.error(503)],
                    Some(tx) if tx.bdat => vec![self.error(503)],
                    Some(tx) if tx.recipients == 0 => vec![self.error(503)],
                    Some(_) => {
                        let mut size = 0u64;
                        for l in lines {
                            wire.extend_from_slice(l.as_bytes());
                            wire.extend_from_slice(b"\r\n");
                            size += l.len() as u64 + 2;
                        }
                        wire.extend_from_slice(b".\r\n");
                        self.tx = None;
                        vec![354, if size > MAX_MESSAGE_SIZE { 552 } else { 250 }]
                    }
                }
            }
            Cmd::Bdat(chunk, last) => {
                let size = chunk.len() as u64;
                let head = format!("BDAT {size}{}\r\n", if *last { " LAST" } else { "" });
                wire.extend_from_slice(head.as_bytes());
                wire.extend_from_slice(chunk.as_bytes());
                match (&mut self.tx, self.hello) {
                    (_, Some(false) | None) => vec![self.error(502)],
                    (None, _) => vec![self.error(503)],
                    (Some(tx), _) if tx.recipients == 0 => vec![self.error(503)],
                    (Some(tx), _) if tx.bdat_size + size > MAX_MESSAGE_SIZE => {
                        self.tx = None;
                        vec![552]
                    }
                    (Some(tx), _) => {
                        tx.bdat = true;
                        tx.bdat_size += size;
                        if *last {
                            self.tx = None;
                        }
                        vec![250]
                    }
                }
            }
            Cmd::Rset => {
                wire.extend_from_slice(b"RSET\r\n");
                self.tx = None;
                vec![250]
            }
            Cmd::Noop => {
                wire.extend_from_slice(b"NOOP\r\n");
                vec![250]
            }
            Cmd::Vrfy => {
                wire.extend_from_slice(b"VRFY someone\r\n");
                vec![252]
            }
            Cmd::Quit => {
                wire.extend_from_slice(b"QUIT\r\n");
                self.closed = true;
                vec![221]
            }
            Cmd::Unknown => {
                wire.extend_from_slice(b"FROB x\r\n");
                vec![self.error(500)]
            }
        };
        (codes, wire)
    }
}

fn config() -> Config {
    let mut c = test_config();
    c.limits.max_recipients = MAX_RECIPIENTS;
    c.limits.max_message_size = MAX_MESSAGE_SIZE;
    c.limits.max_errors = MAX_ERRORS;
    c.sasl = std::sync::Arc::new(postwerk_smtp::sasl::server::ServerMechanisms::new());
    c
}

fn app() -> App {
    App {
        reject_rcpt: vec!["refused@mx.test".into()],
        ..App::default()
    }
}

/// The reply codes in `out`, in order.
fn codes(mut out: &[u8]) -> Vec<u16> {
    let limits = ReplyLimits::default();
    let mut v = Vec::new();
    while let Ok(Some((reply, used))) = parse_reply(out, &limits) {
        v.push(reply.code());
        out = &out[used..];
    }
    assert!(
        out.is_empty(),
        "trailing output {:?}",
        String::from_utf8_lossy(out)
    );
    v
}

/// The model's codes (greeting first) and the client's byte stream.
fn predict(cmds: &[Cmd]) -> (Vec<u16>, Vec<u8>) {
    let mut model = Model::default();
    let mut expected = vec![220];
    let mut stream = Vec::new();
    for c in cmds {
        if model.closed {
            break;
        }
        let (codes, wire) = model.step(c);
        expected.extend(codes);
        stream.extend(wire);
    }
    (expected, stream)
}

/// The events a session must report: as many DataAborted as partial BDAT bodies reset.
fn check_events(h: &Harness) {
    let starts = h.events.iter().filter(|e| *e == "data-start").count();
    let ends = h
        .events
        .iter()
        .filter(|e| e.starts_with("data-end") || e.starts_with("data-aborted"))
        .count();
    // Every started body ends in DataEnd or DataAborted, except one still open.
    assert!(ends <= starts && starts <= ends + 1, "{:?}", h.events);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Commands one at a time, each answered before the next is sent.
    #[test]
    fn replies_follow_the_model(cmds in proptest::collection::vec(cmd(), 0..40)) {
        let (expected, _) = predict(&cmds);
        let mut model = Model::default();
        let mut h = Harness::new(config(), app());
        let mut got = codes(h.take_output().as_bytes());
        for c in &cmds {
            if model.closed {
                break;
            }
            let (want, wire) = model.step(c);
            h.feed(&wire);
            let now = codes(h.take_output().as_bytes());
            prop_assert_eq!(&now, &want, "after {:?}", c);
            got.extend(now);
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(h.conn.is_closed(), model.closed);
        check_events(&h);
    }

    /// The same commands pipelined in one stream, cut at random points: same codes.
    #[test]
    fn pipelined_replies_follow_the_model(
        cmds in proptest::collection::vec(cmd(), 0..40),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let (expected, stream) = predict(&cmds);
        let mut h = Harness::new(config(), app());
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.push(0);
        at.push(stream.len());
        at.sort_unstable();
        for w in at.windows(2) {
            h.feed(&stream[w[0]..w[1]]);
        }
        prop_assert_eq!(codes(h.take_output().as_bytes()), expected);
        check_events(&h);
    }

    /// SECURITY.md 41 as a property: random pipelined input, fed without draining at
    /// random points, keeps pending output within the mark plus one reply; and what the
    /// machine says is exactly what it says without a mark.
    #[test]
    fn pending_output_stays_within_mark_plus_one_reply(
        cmds in proptest::collection::vec(cmd(), 0..60),
        mark in 0usize..400,
        plan in proptest::collection::vec((1usize..200, 0usize..4), 1..40),
    ) {
        let (_, stream) = predict(&cmds);
        let reference = run_bounded(&stream, usize::MAX, &[(usize::MAX, 1)]);
        let mut c = config();
        c.max_pending_output = mark;
        let bound = mark + largest_reply(&c);
        let out = run_checked(&stream, c, &plan, bound);
        prop_assert_eq!(out, reference);
    }
}

/// The longest single reply of this configuration: the EHLO reply.
fn largest_reply(config: &Config) -> usize {
    let now = Instant::now();
    let mut conn = Connection::new(config.clone(), now);
    let greeting = conn.poll_transmit().map_or(0, |b| b.len());
    let _ = conn.handle_input(b"EHLO c.example\r\n", now);
    let ehlo = conn.poll_transmit().map_or(0, |b| b.len());
    greeting.max(ehlo).max(80)
}

/// Answers the application's events as `app()` does.
fn answer(conn: &mut Connection, now: Instant) {
    while let Some(ev) = conn.poll_event() {
        let decision = match &ev {
            Event::Rcpt { to, .. } if to.to_string().contains("refused@") => {
                Decision::Reject(postwerk_smtp::codec::reply::Reply::mailbox_unavailable())
            }
            _ => Decision::Accept,
        };
        match ev {
            Event::Mail { id, .. }
            | Event::Rcpt { id, .. }
            | Event::DataEnd { id, .. }
            | Event::Vrfy { id, .. } => conn.respond(id, decision, now).unwrap(),
            _ => {}
        }
    }
}

fn run_bounded(stream: &[u8], mark: usize, plan: &[(usize, usize)]) -> Vec<u8> {
    let mut c = config();
    c.max_pending_output = mark;
    run_checked(stream, c, plan, usize::MAX)
}

/// Feeds `stream` in pieces of the plan's sizes; after each piece takes only the plan's
/// number of chunks of output (a client that reads late), checking the bound after every
/// step; at the end reads everything.
fn run_checked(stream: &[u8], config: Config, plan: &[(usize, usize)], bound: usize) -> Vec<u8> {
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let mut out = Vec::new();
    out.extend_from_slice(&conn.poll_transmit().unwrap());
    let mut fed = 0;
    let mut steps = plan.iter().cycle();
    let mut guard = 0;
    while fed < stream.len() && !conn.is_closed() {
        guard += 1;
        assert!(guard < 100_000, "no progress");
        let &(size, reads) = steps.next().unwrap();
        let end = stream.len().min(fed.saturating_add(size));
        fed += conn.handle_input(&stream[fed..end], now);
        assert!(
            conn.pending_output() <= bound,
            "{} > {bound}",
            conn.pending_output()
        );
        answer(&mut conn, now);
        assert!(
            conn.pending_output() <= bound,
            "{} > {bound}",
            conn.pending_output()
        );
        // Read late: some chunks only; with none read, the machine may stop taking
        // input, so read at least one chunk when it took nothing.
        let reads = if fed < end { reads.max(1) } else { reads };
        for _ in 0..reads {
            let Some(chunk) = conn.poll_transmit() else {
                break;
            };
            assert!(chunk.len() <= bound);
            out.extend_from_slice(&chunk);
            answer(&mut conn, now);
            assert!(
                conn.pending_output() <= bound,
                "{} > {bound}",
                conn.pending_output()
            );
        }
    }
    loop {
        answer(&mut conn, now);
        let Some(chunk) = conn.poll_transmit() else {
            break;
        };
        assert!(conn.pending_output() <= bound);
        out.extend_from_slice(&chunk);
    }
    out
}
