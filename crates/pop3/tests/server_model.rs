//! A reference model of the POP3 server session (DESIGN.md: "a reference
//! model of the session"), and the bounded-output property of both machines.
//!
//! The model is a few lines of plain state: AUTHORIZATION (with or without a
//! `USER` given), TRANSACTION over a maildrop of messages with sizes, unique
//! ids and a deleted set, and closed. For every command it says which octets
//! the server must send and which events it must raise. Random command
//! sequences (logins good and bad, every TRANSACTION command with numbers in
//! range, out of range and deleted, commands in the wrong state, unknown
//! commands and syntax errors) drive the real machine, answered the way an
//! application answers (credentials checked, message bytes supplied in
//! chunks, deletions committed), and each reply is compared with the
//! model's, octet for octet.
//!
//! The bounded-output properties feed the same sessions pipelined, split at
//! random points, with the caller draining output only at random moments
//! and by random amounts, and a small `max_pending_output`: after every step
//! the pending output stays within the mark plus one unit, and once drained
//! the transcript is the model's (server) or the unbounded run's (client).

use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_pop3::client;
use postwerk_pop3::codec::{Command, CommandError, Response, encode_plain, wire_size};
use postwerk_pop3::server::{
    ApopTimestamp, Config, Connection, Credentials, Event, LoginDecision, MessageInfo, RequestId,
    SessionState,
};
use proptest::prelude::*;

const GOOD_PASS: &str = "secret";
const BAD_PASS: &str = "wrong pass";
const GOOD_DIGEST: &str = "0123456789abcdef0123456789abcdef";
const BAD_DIGEST: &str = "ffffffffffffffffffffffffffffffff";
const TIMESTAMP: &str = "<42.17@model.example>";

/// Octets of listing lines the server produces per step (LISTING_CHUNK in
/// `server/mod.rs`).
const LISTING_CHUNK: usize = 4096;
/// Longest listing line: a 10-digit number, a space, a 70-octet uid, CRLF.
const LONGEST_LISTING_LINE: usize = 10 + 1 + 70 + 2;
/// Longest status line the server sends (the too-many-errors pair included).
const LONGEST_STATUS: usize = 128;

// ----- the maildrop -----

/// A stored message, as lines (no CR in the text).
#[derive(Debug, Clone)]
struct Message {
    /// Lines and whether each ends with CRLF (`true`) or a bare LF.
    lines: Vec<(String, bool)>,
    /// Text after the last line end, without one (never empty).
    tail: Option<String>,
    uid: String,
    /// The application cannot read it (answers `message_unavailable`).
    unreadable: bool,
}

impl Message {
    /// The bytes as stored (what the application supplies).
    fn stored(&self) -> Bytes {
        let mut out = Vec::new();
        for (text, crlf) in &self.lines {
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        }
        if let Some(t) = &self.tail {
            out.extend_from_slice(t.as_bytes());
        }
        Bytes::from(out)
    }

    fn all_lines(&self) -> Vec<&str> {
        self.lines
            .iter()
            .map(|(t, _)| t.as_str())
            .chain(self.tail.as_deref())
            .collect()
    }

    /// Size as sent: every line ends in CRLF, no stuffing.
    fn size(&self) -> u64 {
        self.all_lines().iter().map(|l| l.len() as u64 + 2).sum()
    }

    /// The body as sent after the `+OK` of RETR (`None`) or TOP (`Some(k)`):
    /// stuffed lines and the terminator.
    fn wire(&self, top: Option<u32>) -> Vec<u8> {
        let lines = self.all_lines();
        let take = match top {
            None => lines.len(),
            Some(k) => match lines.iter().position(|l| l.is_empty()) {
                None => lines.len(),
                Some(blank) => (blank + 1).saturating_add(k as usize).min(lines.len()),
            },
        };
        let mut out = Vec::new();
        for l in &lines[..take] {
            if l.starts_with('.') {
                out.push(b'.');
            }
            out.extend_from_slice(l.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }
}

fn line_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z .]{0,10}",
        1 => "\\.[a-z.]{0,4}",
        1 => Just(String::new()),
    ]
}

fn message_parts(
    max_lines: usize,
) -> impl Strategy<Value = (Vec<(String, bool)>, Option<String>, bool)> {
    (
        proptest::collection::vec((line_text(), prop::bool::weighted(0.7)), 0..max_lines),
        proptest::option::weighted(0.2, "[a-z.]{1,5}"),
        prop::bool::weighted(0.08),
    )
}

/// A maildrop: usually a few messages with varied contents, sometimes
/// hundreds (listings longer than one chunk). Unique ids are padded to a
/// random length, up to the 70 octets RFC 1939 allows.
fn maildrop() -> impl Strategy<Value = Vec<Message>> {
    let parts = prop_oneof![
        4 => proptest::collection::vec(message_parts(10), 0..7),
        1 => proptest::collection::vec(message_parts(3), 60..400),
    ];
    (parts, 0usize..66).prop_map(|(parts, pad)| {
        parts
            .into_iter()
            .enumerate()
            .map(|(i, (lines, tail, unreadable))| Message {
                lines,
                tail,
                uid: format!("{i}-{}", "u".repeat(pad)),
                unreadable,
            })
            .collect()
    })
}

// ----- commands -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Good credentials open the maildrop.
    Alice,
    /// Maildrop locked elsewhere: `[IN-USE]`.
    Busy,
    /// `[LOGIN-DELAY]`.
    Early,
    /// `[SYS/TEMP]`.
    Broken,
    /// No such user: rejected whatever the password.
    Nobody,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Alice => "alice",
            Who::Busy => "busy",
            Who::Early => "early",
            Who::Broken => "broken",
            Who::Nobody => "nobody",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Accept,
    Reject,
    InUse,
    LoginDelay,
    SysTemp,
}

/// What the application decides for `user` with good or bad credentials.
fn decide(user: &str, good: bool) -> Decision {
    match (user, good) {
        (_, false) => Decision::Reject,
        ("alice", true) => Decision::Accept,
        ("busy", true) => Decision::InUse,
        ("early", true) => Decision::LoginDelay,
        ("broken", true) => Decision::SysTemp,
        _ => Decision::Reject,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    User(Who),
    /// `PASS` with the good or a bad password.
    Pass(bool),
    Apop(Who, bool),
    /// `AUTH PLAIN` with an initial response.
    AuthPlain(Who, bool),
    Stat,
    List(Option<u32>),
    Uidl(Option<u32>),
    Retr(u32),
    Top(u32, u32),
    Dele(u32),
    Rset,
    Noop,
    Quit,
    Capa,
    /// A line the parser refuses, and how.
    Bad(&'static str, CommandError),
    /// A line over the 255-octet limit.
    Long,
}

const BAD_LINES: &[(&str, CommandError)] = &[
    ("XYZZY", CommandError::UnknownCommand),
    ("", CommandError::UnknownCommand),
    ("LAST", CommandError::UnknownCommand),
    ("STAT 1", CommandError::TooManyArguments),
    ("RSET now", CommandError::TooManyArguments),
    ("QUIT x", CommandError::TooManyArguments),
    ("UIDL 1 2", CommandError::TooManyArguments),
    ("RETR", CommandError::MissingArgument),
    ("TOP 1", CommandError::MissingArgument),
    ("USER", CommandError::MissingArgument),
    ("RETR x", CommandError::InvalidNumber),
    ("LIST 0", CommandError::InvalidNumber),
    ("LIST -1", CommandError::InvalidNumber),
    ("DELE 99999999999", CommandError::InvalidNumber),
    ("TOP 1 x", CommandError::InvalidNumber),
    ("NOOP\tx", CommandError::InvalidArgument),
    ("APOP alice short", CommandError::InvalidArgument),
];

impl Op {
    /// The command line, CRLF included; keywords in lower case if `lower`.
    fn line(&self, lower: bool) -> Vec<u8> {
        let text = match self {
            Op::User(w) => format!("USER {}", w.name()),
            Op::Pass(good) => format!("PASS {}", if *good { GOOD_PASS } else { BAD_PASS }),
            Op::Apop(w, good) => format!(
                "APOP {} {}",
                w.name(),
                if *good { GOOD_DIGEST } else { BAD_DIGEST }
            ),
            Op::AuthPlain(w, good) => format!(
                "AUTH PLAIN {}",
                encode_plain("", w.name(), if *good { GOOD_PASS } else { BAD_PASS })
            ),
            Op::Stat => "STAT".to_owned(),
            Op::List(None) => "LIST".to_owned(),
            Op::List(Some(n)) => format!("LIST {n}"),
            Op::Uidl(None) => "UIDL".to_owned(),
            Op::Uidl(Some(n)) => format!("UIDL {n}"),
            Op::Retr(n) => format!("RETR {n}"),
            Op::Top(n, k) => format!("TOP {n} {k}"),
            Op::Dele(n) => format!("DELE {n}"),
            Op::Rset => "RSET".to_owned(),
            Op::Noop => "NOOP".to_owned(),
            Op::Quit => "QUIT".to_owned(),
            Op::Capa => "CAPA".to_owned(),
            Op::Bad(line, _) => (*line).to_owned(),
            Op::Long => format!("NOOP {}", "x".repeat(300)),
        };
        let mut line = text.into_bytes();
        if lower && !matches!(self, Op::Bad(..)) {
            let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
            line[..end].make_ascii_lowercase();
        }
        line.extend_from_slice(b"\r\n");
        line
    }
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => Just(Who::Alice),
        1 => Just(Who::Busy),
        1 => Just(Who::Early),
        1 => Just(Who::Broken),
        1 => Just(Who::Nobody),
    ]
}

fn msg_number() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => 1u32..9,
        2 => 1u32..420,
        1 => Just(u32::MAX),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => who().prop_map(Op::User),
        3 => prop::bool::weighted(0.7).prop_map(Op::Pass),
        1 => (who(), any::<bool>()).prop_map(|(w, g)| Op::Apop(w, g)),
        1 => (who(), any::<bool>()).prop_map(|(w, g)| Op::AuthPlain(w, g)),
        3 => Just(Op::Stat),
        3 => proptest::option::of(msg_number()).prop_map(Op::List),
        3 => proptest::option::of(msg_number()).prop_map(Op::Uidl),
        4 => msg_number().prop_map(Op::Retr),
        3 => (msg_number(), prop_oneof![0u32..4, Just(u32::MAX)]).prop_map(|(n, k)| Op::Top(n, k)),
        5 => msg_number().prop_map(Op::Dele),
        2 => Just(Op::Rset),
        1 => Just(Op::Noop),
        1 => Just(Op::Quit),
        1 => Just(Op::Capa),
        2 => proptest::sample::select(BAD_LINES).prop_map(|(l, e)| Op::Bad(l, e)),
        1 => Just(Op::Long),
    ]
}

/// How the session ends once every command is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The client stays connected.
    Stay,
    /// The client closes its side.
    Eof,
    /// The autologout timer runs out.
    Idle,
}

/// One generated session: configuration, maildrop, commands, ending.
#[derive(Debug, Clone)]
struct Case {
    messages: Vec<Message>,
    ops: Vec<(Op, bool)>,
    apop: bool,
    max_errors: u32,
    max_auth_failures: u32,
    failure_delay: Duration,
    commit_ok: bool,
    ending: Ending,
}

impl Case {
    fn config(&self) -> Config {
        let mut config = Config::default();
        config.allow_plaintext_auth = true;
        config.max_errors = self.max_errors;
        config.max_auth_failures = self.max_auth_failures;
        config.auth_failure_delay = self.failure_delay;
        if self.apop {
            config.apop = Some(ApopTimestamp::new(TIMESTAMP).unwrap());
        }
        config
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        maildrop(),
        prop::bool::weighted(0.8),
        proptest::collection::vec((op(), prop::bool::weighted(0.1)), 0..40),
        any::<bool>(),
        prop_oneof![Just(u32::MAX), 2u32..30],
        1u32..5,
        prop_oneof![Just(Duration::ZERO), Just(Duration::from_secs(2))],
        prop::bool::weighted(0.8),
        prop_oneof![Just(Ending::Stay), Just(Ending::Eof), Just(Ending::Idle)],
    )
        .prop_map(
            |(
                messages,
                login_first,
                rest,
                apop,
                max_errors,
                max_failed,
                delay,
                commit_ok,
                ending,
            )| {
                let mut ops = Vec::new();
                if login_first {
                    ops.push((Op::User(Who::Alice), false));
                    ops.push((Op::Pass(true), false));
                }
                ops.extend(rest);
                Case {
                    messages,
                    ops,
                    apop,
                    max_errors,
                    max_auth_failures: max_failed,
                    failure_delay: delay,
                    commit_ok,
                    ending,
                }
            },
        )
}

// ----- the model -----

#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelState {
    Authorization { user: Option<String> },
    Transaction,
    Closed,
}

/// The reference model: what the server must answer.
struct Model<'a> {
    case: &'a Case,
    state: ModelState,
    deleted: Vec<bool>,
    errors: u32,
    failed_logins: u32,
}

/// What one command must produce.
#[derive(Debug, Default, PartialEq, Eq)]
struct Expect {
    output: Vec<u8>,
    events: Vec<String>,
}

impl Expect {
    fn line(&mut self, r: &Response) {
        r.encode(&mut self.output);
    }
}

impl<'a> Model<'a> {
    fn new(case: &'a Case) -> Model<'a> {
        Model {
            case,
            state: ModelState::Authorization { user: None },
            deleted: vec![false; case.messages.len()],
            errors: 0,
            failed_logins: 0,
        }
    }

    fn greeting(&self) -> Vec<u8> {
        let ts = self.case.apop.then_some(TIMESTAMP);
        Response::greeting("POP3 server ready", ts).to_line()
    }

    fn session_state(&self) -> SessionState {
        match self.state {
            ModelState::Authorization { .. } => SessionState::Authorization,
            ModelState::Transaction => SessionState::Transaction,
            ModelState::Closed => SessionState::Closed,
        }
    }

    fn close(&mut self, e: &mut Expect, committed: bool) {
        self.state = ModelState::Closed;
        e.events.push(format!("closed {committed}"));
    }

    /// A protocol error: counted, and the session ends at the limit.
    fn error(&mut self, e: &mut Expect, r: Response) {
        e.line(&r);
        self.errors += 1;
        if self.errors >= self.case.max_errors {
            e.line(&Response::too_many_errors());
            self.close(e, false);
        }
    }

    /// Index of message `n` if it exists and is not deleted.
    fn live(&self, n: u32) -> Option<usize> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        (i < self.case.messages.len() && !self.deleted[i]).then_some(i)
    }

    fn totals(&self) -> (usize, u64) {
        self.case
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d)
            .fold((0, 0), |(c, o), (m, _)| (c + 1, o + m.size()))
    }

    fn capa(&self, e: &mut Expect, authorization: bool) {
        e.line(&Response::capa_follows());
        let mut lines = vec!["TOP", "UIDL"];
        if authorization {
            lines.push("USER");
        }
        lines.extend(["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]);
        if authorization {
            lines.push("SASL PLAIN");
        }
        lines.push("LANG");
        for l in lines {
            e.output.extend_from_slice(l.as_bytes());
            e.output.extend_from_slice(b"\r\n");
        }
        e.output.extend_from_slice(b".\r\n");
    }

    fn login(&mut self, e: &mut Expect, event: String, user: &str, good: bool) {
        e.events.push(event);
        match decide(user, good) {
            Decision::Accept => {
                self.state = ModelState::Transaction;
                self.deleted.iter_mut().for_each(|d| *d = false);
                let (count, octets) = self.totals();
                e.line(&Response::logged_in(count, octets));
            }
            Decision::Reject => {
                self.failed_logins += 1;
                if self.failed_logins >= self.case.max_auth_failures {
                    e.line(&Response::too_many_failures());
                    self.close(e, false);
                } else {
                    e.line(&Response::auth_failed());
                }
            }
            Decision::InUse => e.line(&Response::in_use()),
            Decision::LoginDelay => e.line(&Response::login_delay()),
            Decision::SysTemp => e.line(&Response::sys_temp()),
        }
    }

    fn step(&mut self, op: &Op) -> Expect {
        let mut e = Expect::default();
        match (&mut self.state, op) {
            (ModelState::Closed, _) => {}
            (_, Op::Bad(_, err)) => self.error(&mut e, Response::syntax_error(*err)),
            (_, Op::Long) => self.error(&mut e, Response::line_too_long()),
            (ModelState::Authorization { user }, op) => match op {
                Op::Capa => self.capa(&mut e, true),
                Op::Quit => {
                    e.line(&Response::bye());
                    self.close(&mut e, false);
                }
                Op::User(w) => {
                    *user = Some(w.name().to_owned());
                    e.line(&Response::user_accepted());
                }
                Op::Pass(good) => match user.take() {
                    None => self.error(&mut e, Response::user_first()),
                    Some(u) => {
                        let pw = if *good { GOOD_PASS } else { BAD_PASS };
                        self.login(&mut e, format!("login user {u} {pw}"), &u, *good);
                    }
                },
                Op::Apop(w, good) => {
                    if self.case.apop {
                        let d = if *good { GOOD_DIGEST } else { BAD_DIGEST };
                        let ev = format!("login apop {} {d}", w.name());
                        self.login(&mut e, ev, w.name(), *good);
                    } else {
                        self.error(&mut e, Response::apop_unavailable());
                    }
                }
                Op::AuthPlain(w, good) => {
                    let pw = if *good { GOOD_PASS } else { BAD_PASS };
                    let ev = format!("login plain {} {pw}", w.name());
                    self.login(&mut e, ev, w.name(), *good);
                }
                _ => self.error(&mut e, Response::wrong_state()),
            },
            (ModelState::Transaction, op) => self.transaction(&mut e, op),
        }
        e
    }

    fn transaction(&mut self, e: &mut Expect, op: &Op) {
        let messages = &self.case.messages;
        match op {
            Op::Capa => self.capa(e, false),
            Op::Noop => e.line(&Response::done()),
            Op::Stat => {
                let (count, octets) = self.totals();
                e.line(&Response::stat(count, octets));
            }
            Op::List(None) | Op::Uidl(None) => {
                let uids = matches!(op, Op::Uidl(_));
                if uids {
                    e.line(&Response::unique_ids_follow());
                } else {
                    let (count, octets) = self.totals();
                    e.line(&Response::listing_follows(count, octets));
                }
                for (i, m) in messages.iter().enumerate() {
                    if !self.deleted[i] {
                        let line = if uids {
                            format!("{} {}\r\n", i + 1, m.uid)
                        } else {
                            format!("{} {}\r\n", i + 1, m.size())
                        };
                        e.output.extend_from_slice(line.as_bytes());
                    }
                }
                e.output.extend_from_slice(b".\r\n");
            }
            Op::List(Some(n)) => match self.live(*n) {
                Some(i) => e.line(&Response::scan_listing(*n, messages[i].size())),
                None => self.error(e, Response::no_such_message()),
            },
            Op::Uidl(Some(n)) => match self.live(*n) {
                Some(i) => e.line(&Response::unique_id_listing(*n, &messages[i].uid)),
                None => self.error(e, Response::no_such_message()),
            },
            Op::Retr(n) | Op::Top(n, _) => {
                let top = match op {
                    Op::Top(_, k) => Some(*k),
                    _ => None,
                };
                let Some(i) = self.live(*n) else {
                    return self.error(e, Response::no_such_message());
                };
                let m = &messages[i];
                e.events.push(format!("message {i} {} {top:?}", m.uid));
                if m.unreadable {
                    e.line(&Response::message_unavailable());
                    return;
                }
                e.line(&match top {
                    None => Response::message_follows(m.size()),
                    Some(_) => Response::top_follows(),
                });
                e.output.extend_from_slice(&m.wire(top));
            }
            Op::Dele(n) => {
                let index = usize::try_from(*n).ok().and_then(|n| n.checked_sub(1));
                match index.filter(|&i| i < messages.len()) {
                    None => self.error(e, Response::no_such_message()),
                    Some(i) if self.deleted[i] => self.error(e, Response::already_deleted()),
                    Some(i) => {
                        self.deleted[i] = true;
                        e.line(&Response::deleted(*n));
                    }
                }
            }
            Op::Rset => {
                self.deleted.iter_mut().for_each(|d| *d = false);
                let (count, octets) = self.totals();
                e.line(&Response::reset(count, octets));
            }
            Op::Quit => {
                let deletions: Vec<String> = (0..messages.len())
                    .filter(|&i| self.deleted[i])
                    .map(|i| format!("{i}:{}", messages[i].uid))
                    .collect();
                e.events.push(format!("commit [{}]", deletions.join(" ")));
                let ok = self.case.commit_ok;
                e.line(&if ok {
                    Response::bye()
                } else {
                    Response::commit_failed()
                });
                self.close(e, ok);
            }
            Op::User(_) | Op::Pass(_) | Op::Apop(..) | Op::AuthPlain(..) => {
                self.error(e, Response::wrong_state())
            }
            Op::Bad(..) | Op::Long => unreachable!("handled in every state"),
        }
    }

    /// The session end after all commands: what it must produce.
    fn end(&mut self, ending: Ending) -> Expect {
        let mut e = Expect::default();
        if self.state != ModelState::Closed && ending != Ending::Stay {
            self.close(&mut e, false);
        }
        e
    }
}

// ----- the application -----

/// Answers the server's events the way an application does, and records
/// them in the model's format.
struct App<'a> {
    case: &'a Case,
    /// Size of the message chunks supplied.
    chunk: usize,
    /// Supply chunks only while output is not full, and check this bound on
    /// pending output after every call.
    bound: Option<usize>,
    streaming: Option<(RequestId, Bytes, usize)>,
    /// Whether the message being streamed is for TOP (it may end early).
    streaming_top: bool,
    events: Vec<String>,
    /// Events the documented driver loop would have left unanswered.
    stranded: usize,
}

impl<'a> App<'a> {
    fn new(case: &'a Case, chunk: usize, bound: Option<usize>) -> App<'a> {
        App {
            case,
            chunk: chunk.max(1),
            bound,
            streaming: None,
            streaming_top: false,
            events: Vec::new(),
            stranded: 0,
        }
    }

    fn check(&self, conn: &Connection, what: &str) {
        if let Some(bound) = self.bound {
            assert!(
                conn.pending_output() <= bound,
                "pending output {} > bound {bound} after {what}",
                conn.pending_output()
            );
        }
    }

    fn listing(&self) -> Vec<MessageInfo> {
        self.case
            .messages
            .iter()
            .map(|m| {
                let stored = m.stored();
                assert_eq!(wire_size(&stored), m.size(), "wire_size of {m:?}");
                (m.size(), m.uid.clone()).into()
            })
            .collect()
    }

    fn decision(&self, user: &str, good: bool) -> LoginDecision {
        match decide(user, good) {
            Decision::Accept => LoginDecision::Accept(self.listing()),
            Decision::Reject => LoginDecision::Reject,
            Decision::InUse => LoginDecision::InUse,
            Decision::LoginDelay => LoginDecision::LoginDelay,
            Decision::SysTemp => LoginDecision::SysTemp,
        }
    }

    /// Answer every event and supply message chunks, until the machine
    /// asks for nothing more.
    fn answer(&mut self, conn: &mut Connection) {
        loop {
            while let Some(ev) = conn.poll_event() {
                self.event(conn, ev);
                self.check(conn, "an answer");
            }
            let Some((id, data, at)) = self.streaming.as_mut() else {
                return;
            };
            if self.bound.is_some() && conn.is_output_full() {
                assert_eq!(conn.wants_message_chunk(), None);
                return;
            }
            assert_eq!(conn.wants_message_chunk(), Some(*id));
            if *at >= data.len() {
                let id = *id;
                self.streaming = None;
                conn.finish_message(id).unwrap();
            } else {
                let end = data.len().min(*at + self.chunk);
                conn.supply_message_chunk(*id, data.slice(*at..end))
                    .unwrap();
                *at = end;
            }
            self.check(conn, "a message chunk");
        }
    }

    fn event(&mut self, conn: &mut Connection, ev: Event) {
        match ev {
            Event::Login { id, credentials } => {
                let (text, user, good) = match &credentials {
                    Credentials::User { user, password } => (
                        format!("login user {user} {password}"),
                        user.clone(),
                        password == GOOD_PASS,
                    ),
                    Credentials::Apop {
                        user,
                        digest,
                        timestamp,
                    } => {
                        assert_eq!(timestamp, TIMESTAMP);
                        (
                            format!("login apop {user} {digest}"),
                            user.clone(),
                            digest == GOOD_DIGEST,
                        )
                    }
                    Credentials::Sasl {
                        mechanism,
                        authcid,
                        authzid,
                    } => {
                        // Verified (and logged) at the SaslVerify event.
                        assert_eq!(mechanism, "PLAIN");
                        assert_eq!(authzid, &None);
                        (String::new(), authcid.clone(), true)
                    }
                    other => panic!("unexpected credentials {other:?}"),
                };
                assert_eq!(conn.state(), SessionState::Authorization);
                if !text.is_empty() {
                    self.events.push(text);
                }
                let decision = self.decision(&user, good);
                conn.answer_login(id, decision).unwrap();
            }
            Event::SaslVerify { id, request } => {
                use postwerk_pop3::sasl::server::{Answer, Verify};
                let Verify::Password {
                    mechanism,
                    authcid,
                    authzid,
                    password,
                } = request
                else {
                    panic!("unexpected verification {request:?}");
                };
                assert_eq!(mechanism, "PLAIN");
                assert_eq!(authzid, None);
                assert_eq!(conn.state(), SessionState::Authorization);
                let pw = password.expose();
                self.events.push(format!("login plain {authcid} {pw}"));
                // Credentials that do not verify are refused inside SASL;
                // the maildrop decision comes with the Login event.
                let answer = match decide(&authcid, pw == GOOD_PASS) {
                    Decision::Reject => Answer::Reject,
                    _ => Answer::Accept,
                };
                conn.answer_sasl(id, answer).unwrap();
            }
            Event::MessageDone { id } => {
                // TOP ended as soon as the lines asked for were out.
                let streaming = self.streaming.take().map(|s| s.0);
                assert_eq!(streaming, Some(id));
                assert!(self.streaming_top, "only TOP ends early");
                assert_ne!(conn.wants_message_chunk(), Some(id));
                // A late finish is accepted and ignored (while the session
                // lasts: pipelined errors after the TOP may have closed it).
                let late = conn.finish_message(id);
                assert!(late.is_ok() || conn.is_closed(), "{late:?}");
            }
            Event::MessageRequest {
                id,
                index,
                uid,
                top_lines,
            } => {
                assert!(self.streaming.is_none(), "a second message request");
                assert_eq!(conn.state(), SessionState::Transaction);
                let m = &self.case.messages[index];
                assert_eq!(uid, m.uid);
                self.events
                    .push(format!("message {index} {uid} {top_lines:?}"));
                if m.unreadable {
                    conn.message_unavailable(id).unwrap();
                } else {
                    self.streaming = Some((id, m.stored(), 0));
                    self.streaming_top = top_lines.is_some();
                }
            }
            Event::Commit { id, deletions } => {
                assert_eq!(conn.state(), SessionState::Update);
                let d: Vec<String> = deletions
                    .iter()
                    .map(|d| format!("{}:{}", d.index, d.uid))
                    .collect();
                self.events.push(format!("commit [{}]", d.join(" ")));
                conn.answer_commit(id, self.case.commit_ok).unwrap();
            }
            Event::Closed { committed } => {
                assert!(conn.is_closed());
                self.events.push(format!("closed {committed}"));
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
}

/// Move time to a delayed reply's release, if one is held (a deadline
/// within a minute: the idle deadline is ten minutes away).
fn release_held(conn: &mut Connection, now: &mut Instant) -> bool {
    match conn.poll_timeout() {
        Some(t) if t <= *now + Duration::from_secs(60) => {
            *now = t.max(*now);
            conn.handle_timeout(*now);
            true
        }
        _ => false,
    }
}

/// The documented driver loop: answer events, take output until
/// `poll_transmit` returns `None`. An event raised by that last call would
/// be left unanswered by the documented loop (the caller goes on to wait
/// for input); it is counted in `App::stranded` and answered anyway, so the
/// other properties can still be checked.
fn drain(conn: &mut Connection, app: &mut App<'_>, out: &mut Vec<u8>) {
    loop {
        app.answer(conn);
        match conn.poll_transmit() {
            Some(b) => out.extend_from_slice(&b),
            None => match conn.poll_event() {
                None => return,
                Some(ev) => {
                    app.stranded += 1;
                    app.event(conn, ev);
                }
            },
        }
        app.check(conn, "poll_transmit");
    }
}

/// Apply the case's ending to the machine and check the final state.
fn finish(conn: &mut Connection, app: &mut App<'_>, model: &mut Model<'_>, now: Instant) {
    let want = model.end(app.case.ending);
    let mut out = Vec::new();
    match app.case.ending {
        Ending::Stay => {}
        Ending::Eof => conn.handle_eof(now),
        Ending::Idle => {
            if !conn.is_closed() {
                let t = conn.poll_timeout().expect("an idle deadline");
                assert!(t > now, "idle deadline already passed");
                conn.handle_timeout(t - Duration::from_millis(1));
                assert!(!conn.is_closed(), "closed before the idle deadline");
                conn.handle_timeout(t);
            }
        }
    }
    drain(conn, app, &mut out);
    let events = std::mem::take(&mut app.events);
    assert_eq!(
        Expect {
            output: out,
            events
        },
        want,
        "after {:?}",
        app.case.ending
    );
    assert_eq!(conn.state(), model.session_state());
    assert_eq!(conn.is_closed(), model.state == ModelState::Closed);
    if conn.is_closed() {
        assert_eq!(conn.poll_timeout(), None);
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run `case` one command at a time (each line split at `cuts`), comparing
/// every reply with the model's.
fn run_stepwise(case: &Case, cuts: &[usize], chunk: usize) {
    let mut now = Instant::now();
    let mut conn = Connection::new(case.config(), now);
    let mut model = Model::new(case);
    let mut app = App::new(case, chunk, None);
    let mut out = Vec::new();
    drain(&mut conn, &mut app, &mut out);
    assert_eq!(show(&out), show(&model.greeting()));
    let mut cut = cuts.iter().cycle();
    for (i, (op, lower)) in case.ops.iter().enumerate() {
        let want = model.step(op);
        let line = op.line(*lower);
        let mut at = 0;
        while at < line.len() {
            let n = (*cut.next().unwrap_or(&usize::MAX)).clamp(1, line.len() - at);
            conn.handle_input(&line[at..at + n], now);
            app.answer(&mut conn);
            at += n;
        }
        let mut out = Vec::new();
        drain(&mut conn, &mut app, &mut out);
        while release_held(&mut conn, &mut now) {
            drain(&mut conn, &mut app, &mut out);
        }
        let events = std::mem::take(&mut app.events);
        assert_eq!(
            show(&out),
            show(&want.output),
            "reply to command {i} {op:?} ({})",
            show(&line).trim_end()
        );
        assert_eq!(events, want.events, "events of command {i} {op:?}");
        assert_eq!(
            conn.state(),
            model.session_state(),
            "after command {i} {op:?}"
        );
    }
    finish(&mut conn, &mut app, &mut model, now);
}

// ----- the bounded-output property -----

/// The bound on the server's pending output: the mark plus one unit, the
/// largest of a listing chunk (with its status line, one line over the
/// chunk and the terminator), a status line, and a message chunk the test
/// supplies (stuffing can double it) with the `+OK` before it and the line
/// end and terminator after it.
fn server_bound(mark: usize, chunk: usize) -> usize {
    let listing = LONGEST_STATUS + LISTING_CHUNK + LONGEST_LISTING_LINE + 3;
    let message = LONGEST_STATUS + 2 * chunk + 5;
    mark + listing.max(message)
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Feed the next `n` octets of the pipelined input.
    Feed(usize),
    /// Take up to `n` chunks from `poll_transmit`.
    Drain(usize),
    /// Let time pass to a held reply's release.
    Wait,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        prop_oneof![
            3 => (1usize..120).prop_map(Step::Feed),
            3 => (0usize..4).prop_map(Step::Drain),
            1 => Just(Step::Wait),
        ],
        0..120,
    )
}

/// Run `case` pipelined under `steps` with a small mark: asserts the bound
/// throughout and the model's transcript at the end; returns how many
/// events the documented driver loop would have left unanswered.
fn run_bounded(case: &Case, steps: &[Step], mark: usize, chunk: usize) -> usize {
    let mut now = Instant::now();
    let mut config = case.config();
    config.max_pending_output = mark;
    let bound = server_bound(mark, chunk);
    let mut conn = Connection::new(config, now);
    let mut model = Model::new(case);
    let mut app = App::new(case, chunk, Some(bound));
    let mut want = Expect {
        output: model.greeting(),
        events: Vec::new(),
    };
    let mut input = Vec::new();
    for (op, lower) in &case.ops {
        let e = model.step(op);
        want.output.extend_from_slice(&e.output);
        want.events.extend(e.events);
        input.extend_from_slice(&op.line(*lower));
    }
    let mut out = Vec::new();
    let mut fed = 0;
    for step in steps {
        match *step {
            Step::Feed(n) => {
                let n = n.min(input.len() - fed);
                conn.handle_input(&input[fed..fed + n], now);
                fed += n;
            }
            Step::Drain(n) => {
                for _ in 0..n {
                    app.answer(&mut conn);
                    let Some(b) = conn.poll_transmit() else {
                        break;
                    };
                    out.extend_from_slice(&b);
                    app.check(&conn, "poll_transmit");
                }
            }
            Step::Wait => {
                release_held(&mut conn, &mut now);
            }
        }
        app.check(&conn, "a step");
        app.answer(&mut conn);
    }
    // The caller now feeds the rest and drains everything.
    conn.handle_input(&input[fed..], now);
    app.check(&conn, "the rest of the input");
    drain(&mut conn, &mut app, &mut out);
    while release_held(&mut conn, &mut now) {
        app.check(&conn, "a held reply");
        drain(&mut conn, &mut app, &mut out);
    }
    assert_eq!(show(&out), show(&want.output), "the transcript");
    assert_eq!(app.events, want.events, "the events");
    app.events.clear();
    assert_eq!(conn.pending_output(), 0);
    assert_eq!(conn.state(), model.session_state());
    finish(&mut conn, &mut app, &mut model, now);
    app.stranded
}

// ----- the client -----

#[derive(Debug, Clone, Copy)]
enum ClientOp {
    Stat,
    List(Option<u32>),
    Uidl(Option<u32>),
    Retr(u32),
    Top(u32, u32),
    Dele(u32),
    Rset,
    Noop,
    Capa,
}

fn client_op() -> impl Strategy<Value = ClientOp> {
    prop_oneof![
        1 => Just(ClientOp::Stat),
        1 => proptest::option::of(msg_number()).prop_map(ClientOp::List),
        1 => proptest::option::of(msg_number()).prop_map(ClientOp::Uidl),
        2 => msg_number().prop_map(ClientOp::Retr),
        1 => (msg_number(), 0u32..4).prop_map(|(n, k)| ClientOp::Top(n, k)),
        2 => msg_number().prop_map(ClientOp::Dele),
        1 => Just(ClientOp::Rset),
        1 => Just(ClientOp::Noop),
        1 => Just(ClientOp::Capa),
    ]
}

/// Issue the session's commands; returns the longest command line.
fn issue(c: &mut client::Connection, ops: &[ClientOp], quit: bool) -> usize {
    c.capa().unwrap();
    c.user("alice").unwrap();
    c.pass(GOOD_PASS).unwrap();
    let mut lines = vec![
        Command::Capa,
        Command::User("alice".to_owned()),
        Command::Pass(GOOD_PASS.to_owned()),
    ];
    for op in ops {
        let command = match *op {
            ClientOp::Stat => Command::Stat,
            ClientOp::List(n) => Command::List(n),
            ClientOp::Uidl(n) => Command::Uidl(n),
            ClientOp::Retr(n) => Command::Retr(n),
            ClientOp::Top(msg, lines) => Command::Top { msg, lines },
            ClientOp::Dele(n) => Command::Dele(n),
            ClientOp::Rset => Command::Rset,
            ClientOp::Noop => Command::Noop,
            ClientOp::Capa => Command::Capa,
        };
        match command {
            Command::Stat => c.stat(),
            Command::List(n) => c.list(n),
            Command::Uidl(n) => c.uidl(n),
            Command::Retr(n) => c.retr(n),
            Command::Top { msg, lines } => c.top(msg, lines),
            Command::Dele(n) => c.dele(n),
            Command::Rset => c.rset(),
            Command::Noop => c.noop(),
            _ => c.capa(),
        }
        .unwrap();
        lines.push(command);
    }
    if quit {
        c.quit().unwrap();
        lines.push(Command::Quit);
    }
    lines.iter().map(|l| l.to_line().len()).max().unwrap_or(0)
}

/// Client events with consecutive message data of one command merged (its
/// chunking follows the input split).
fn merged(events: Vec<client::Event>) -> Vec<client::Event> {
    let mut out: Vec<client::Event> = Vec::new();
    for ev in events {
        if let (
            Some(client::Event::MessageData { id: last, chunk }),
            client::Event::MessageData { id, chunk: more },
        ) = (out.last_mut(), &ev)
            && last == id
        {
            let mut joined = chunk.to_vec();
            joined.extend_from_slice(more);
            *chunk = Bytes::from(joined);
            continue;
        }
        out.push(ev);
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum PairStep {
    /// Move up to `n` chunks from the client to the server.
    ToServer(usize),
    /// Move up to `n` chunks from the server to the client, each split in
    /// pieces of `k` octets.
    ToClient(usize, usize),
}

fn pair_steps() -> impl Strategy<Value = Vec<PairStep>> {
    proptest::collection::vec(
        prop_oneof![
            (0usize..4).prop_map(PairStep::ToServer),
            (0usize..4, 1usize..200).prop_map(|(n, k)| PairStep::ToClient(n, k)),
        ],
        0..150,
    )
}

/// A client and a server in memory. With `marks`, both run with those
/// marks and bytes move only as `steps` say (then everything is drained);
/// without, both are unbounded and everything moves at once. Returns the
/// client's events and the server's.
fn run_pair(
    case: &Case,
    ops: &[ClientOp],
    quit: bool,
    marks: Option<(usize, usize)>,
    steps: &[PairStep],
    chunk: usize,
) -> (Vec<client::Event>, Vec<String>) {
    let now = Instant::now();
    let mut sconfig = case.config();
    let mut cconfig = client::Config::default();
    if let Some((s, c)) = marks {
        sconfig.max_pending_output = s;
        cconfig.max_pending_output = c;
    } else {
        sconfig.max_pending_output = usize::MAX;
        cconfig.max_pending_output = usize::MAX;
    }
    let mut server = Connection::new(sconfig, now);
    let mut client = client::Connection::new(cconfig, now);
    let longest = issue(&mut client, ops, quit);
    let bounds = marks.map(|(s, c)| (server_bound(s, chunk), c + longest));
    let mut app = App::new(case, chunk, bounds.map(|b| b.0));
    let mut events = Vec::new();
    let check = |server: &Connection, client: &client::Connection| {
        if let Some((s, c)) = bounds {
            assert!(server.pending_output() <= s, "server pending output");
            assert!(
                client.pending_output() <= c,
                "client pending output {} > {c}",
                client.pending_output()
            );
        }
    };
    // The client's documented loop: events first, then `poll_transmit`; an
    // event raised by a `poll_transmit` that returns `None` would be left
    // unread by that loop, and is counted.
    let mut client_stranded = 0;
    let mut to_server = |server: &mut Connection,
                         client: &mut client::Connection,
                         events: &mut Vec<client::Event>,
                         n: usize| {
        let mut moved = false;
        for _ in 0..n {
            events.extend(std::iter::from_fn(|| client.poll_event()));
            let Some(b) = client.poll_transmit() else {
                if let Some(ev) = client.poll_event() {
                    client_stranded += 1;
                    events.push(ev);
                }
                break;
            };
            moved = true;
            server.handle_input(&b, now);
        }
        moved
    };
    let to_client = |server: &mut Connection,
                     client: &mut client::Connection,
                     app: &mut App<'_>,
                     n: usize,
                     k: usize| {
        let mut moved = false;
        for _ in 0..n {
            app.answer(server);
            let Some(b) = server.poll_transmit() else {
                break;
            };
            moved = true;
            for piece in b.chunks(k) {
                client.handle_input(piece, now);
            }
        }
        moved
    };
    let mut progress = |server: &mut Connection,
                        client: &mut client::Connection,
                        app: &mut App<'_>,
                        events: &mut Vec<client::Event>,
                        step: PairStep| {
        let moved = match step {
            PairStep::ToServer(n) => to_server(server, client, events, n),
            PairStep::ToClient(n, k) => to_client(server, client, app, n, k),
        };
        app.answer(server);
        events.extend(std::iter::from_fn(|| client.poll_event()));
        if server.is_closed() && !client.is_closed() && server.pending_output() == 0 {
            client.handle_eof(now);
        }
        check(server, client);
        moved
    };
    for step in steps {
        progress(&mut server, &mut client, &mut app, &mut events, *step);
    }
    loop {
        let a = progress(
            &mut server,
            &mut client,
            &mut app,
            &mut events,
            PairStep::ToServer(usize::MAX),
        );
        let b = progress(
            &mut server,
            &mut client,
            &mut app,
            &mut events,
            PairStep::ToClient(usize::MAX, 97),
        );
        // (An event answered after the last `poll_transmit` may have queued
        // more output: see `driver_loop_leaves_no_event_unanswered`.)
        if !a && !b && server.pending_output() == 0 && client.pending_output() == 0 {
            break;
        }
    }
    assert_eq!(
        client_stranded, 0,
        "client events left unread by the documented loop"
    );
    (merged(events), app.events)
}

// ----- the tests -----

/// `n` cases, or `PROPTEST_CASES` when set (for long runs).
fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
}

/// Only the clean parts of `case` for the client pair: good login, no
/// parse errors (the client machine refuses to send those), enough errors
/// allowed, no delay.
fn pair_case(messages: Vec<Message>) -> Case {
    Case {
        messages,
        ops: Vec::new(),
        apop: false,
        max_errors: u32::MAX,
        max_auth_failures: 3,
        failure_delay: Duration::ZERO,
        commit_ok: true,
        ending: Ending::Stay,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(384),
        // Failures print their minimal input; no seed files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every reply of random sessions, command by command, against the model.
    #[test]
    fn server_matches_model(
        case in case(),
        cuts in proptest::collection::vec(1usize..12, 1..6),
        chunk in prop_oneof![1usize..8, 8usize..400],
    ) {
        run_stepwise(&case, &cuts, chunk);
    }

    /// The same sessions pipelined, split at random points, drained at
    /// random moments by random amounts, with a small mark: pending output
    /// stays within the mark plus one unit, and the drained transcript is
    /// the model's.
    #[test]
    fn server_output_bounded_pipelined(
        case in case(),
        steps in steps(),
        mark in prop_oneof![Just(0usize), 1usize..1024, Just(512)],
        chunk in prop_oneof![1usize..8, 8usize..400],
    ) {
        let stranded = run_bounded(&case, &steps, mark, chunk);
        // See `driver_loop_leaves_no_event_unanswered`.
        prop_assert_eq!(stranded, 0, "events left unanswered by the documented loop");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(192),
        // Failures print their minimal input; no seed files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A pipelining client and the server with small marks on both sides,
    /// bytes moved at random moments and in random pieces: both stay
    /// within their bounds, and the client sees the same replies, in the
    /// same order, as an unbounded run; the server the same events.
    #[test]
    fn client_output_bounded_pipelined(
        messages in maildrop(),
        ops in proptest::collection::vec(client_op(), 0..30),
        quit in any::<bool>(),
        server_mark in prop_oneof![Just(0usize), 1usize..1024],
        client_mark in prop_oneof![Just(0usize), 1usize..64],
        steps in pair_steps(),
        chunk in 1usize..300,
    ) {
        let case = pair_case(messages);
        let reference = run_pair(&case, &ops, quit, None, &[], chunk);
        let replies = reference
            .0
            .iter()
            .filter(|e| matches!(e, client::Event::Reply { .. }))
            .count();
        // CAPA, USER, PASS and every command answered, QUIT included.
        prop_assert_eq!(replies, 3 + ops.len() + usize::from(quit));
        let bounded = run_pair(
            &case,
            &ops,
            quit,
            Some((server_mark, client_mark)),
            &steps,
            chunk,
        );
        prop_assert_eq!(bounded, reference);
    }
}

// ----- fixed cases -----

/// The model itself: a hand-written session, so a model bug shows as a
/// plain failure here rather than as a puzzling disagreement.
#[test]
fn model_sanity() {
    let msg = |lines: &[&str], uid: &str| Message {
        lines: lines.iter().map(|l| ((*l).to_owned(), true)).collect(),
        tail: None,
        uid: uid.to_owned(),
        unreadable: false,
    };
    let case = Case {
        messages: vec![
            msg(&["Subject: a", "", ".dot", "body"], "a"),
            msg(&["x"], "b"),
        ],
        ops: vec![],
        apop: false,
        max_errors: 10,
        max_auth_failures: 3,
        failure_delay: Duration::ZERO,
        commit_ok: true,
        ending: Ending::Stay,
    };
    let mut m = Model::new(&case);
    let out = |m: &mut Model<'_>, op: Op| show(&m.step(&op).output);
    assert_eq!(
        out(&mut m, Op::Stat),
        "-ERR command not valid in this state\r\n"
    );
    assert_eq!(out(&mut m, Op::Pass(true)), "-ERR USER first\r\n");
    assert_eq!(out(&mut m, Op::User(Who::Alice)), "+OK send PASS\r\n");
    assert_eq!(
        out(&mut m, Op::Pass(true)),
        "+OK maildrop has 2 messages (29 octets)\r\n"
    );
    assert_eq!(
        out(&mut m, Op::Top(1, 1)),
        "+OK top of message follows\r\nSubject: a\r\n\r\n..dot\r\n.\r\n"
    );
    assert_eq!(out(&mut m, Op::Dele(1)), "+OK message 1 deleted\r\n");
    assert_eq!(out(&mut m, Op::Retr(1)), "-ERR no such message\r\n");
    assert_eq!(out(&mut m, Op::Dele(1)), "-ERR message already deleted\r\n");
    assert_eq!(
        out(&mut m, Op::List(None)),
        "+OK 1 messages (3 octets)\r\n2 3\r\n.\r\n"
    );
    assert_eq!(
        out(&mut m, Op::Rset),
        "+OK maildrop has 2 messages (29 octets)\r\n"
    );
    m.step(&Op::Dele(2));
    let e = m.step(&Op::Quit);
    assert_eq!(e.events, vec!["commit [1:b]", "closed true"]);
}

/// A session with every kind of command, one at a time and pipelined.
#[test]
fn fixed_session() {
    let m = |lines: &[&str], uid: &str| Message {
        lines: lines.iter().map(|l| ((*l).to_owned(), false)).collect(),
        tail: Some("end".to_owned()),
        uid: uid.to_owned(),
        unreadable: uid == "c",
    };
    let ops = [
        Op::Capa,
        Op::User(Who::Busy),
        Op::Pass(true),
        Op::Pass(true),
        Op::User(Who::Alice),
        Op::Pass(false),
        Op::User(Who::Alice),
        Op::Pass(true),
        Op::Capa,
        Op::Stat,
        Op::List(None),
        Op::Uidl(Some(2)),
        Op::Retr(1),
        Op::Retr(3),
        Op::Top(2, 0),
        Op::Dele(2),
        Op::Uidl(None),
        Op::Dele(2),
        Op::Rset,
        Op::Dele(1),
        Op::Bad("XYZZY", CommandError::UnknownCommand),
        Op::Long,
        Op::Quit,
    ];
    let case = Case {
        messages: vec![
            m(&["H: 1", "", ".x", ""], "a"),
            m(&[".H: 2"], "b"),
            m(&[], "c"),
        ],
        ops: ops.into_iter().map(|o| (o, false)).collect(),
        apop: true,
        max_errors: 20,
        max_auth_failures: 3,
        failure_delay: Duration::from_secs(2),
        commit_ok: true,
        ending: Ending::Eof,
    };
    run_stepwise(&case, &[3, 1, 7], 2);
    let steps = [Step::Feed(40), Step::Drain(1), Step::Wait, Step::Feed(200)];
    run_bounded(&case, &steps, 0, 2);
    run_bounded(&case, &steps, 512, 2);
}

/// The documented driver loop (crate docs, "Driver loop"): answer events,
/// take output until `poll_transmit` returns `None`, then wait for input.
/// Returns whether it saw a message request.
fn documented_loop(conn: &mut Connection) -> bool {
    let mut requested = false;
    loop {
        while let Some(ev) = conn.poll_event() {
            match ev {
                Event::Login { id, .. } => conn.accept_login(id, Vec::new()).unwrap(),
                Event::MessageRequest { id, .. } => {
                    requested = true;
                    conn.supply_message(id, Bytes::from_static(b"x\r\n"))
                        .unwrap();
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        if conn.poll_transmit().is_none() {
            return requested;
        }
    }
}

/// Found by `server_output_bounded_pipelined`: a pipelined command that
/// raises an event, held while output was full, is resumed by the
/// `poll_transmit` call that finds the output drained, and that call
/// returns `None`. The documented loop then waits for input with the event
/// unanswered, and `poll_timeout` is `None` while the machine waits for the
/// application: the session hangs for good (the client waits for the reply).
/// Here: `UIDL` over 2,820 messages with 40-octet uids (a listing of about
/// 130 KiB, just over the default mark) pipelined with `RETR 1`; and with
/// a mark of 0, a pipelined `USER`/`PASS`.
#[test]
fn driver_loop_leaves_no_event_unanswered() {
    let now = Instant::now();
    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    let mut conn = Connection::new(config, now);
    conn.handle_input(b"USER u\r\nPASS p\r\n", now);
    let Some(Event::Login { id, .. }) = conn.poll_event() else {
        panic!("no login")
    };
    let listing: Vec<MessageInfo> = (0..2820)
        .map(|i| (1000u64, format!("{i:0>40}")).into())
        .collect();
    conn.accept_login(id, listing).unwrap();
    while conn.poll_transmit().is_some() {}
    conn.handle_input(b"UIDL\r\nRETR 1\r\n", now);
    let requested = documented_loop(&mut conn);
    let stranded = conn.poll_event();
    assert!(
        requested && stranded.is_none(),
        "RETR 1 left unanswered after the driver loop: {stranded:?}"
    );

    let mut config = Config::default();
    config.allow_plaintext_auth = true;
    config.max_pending_output = 0;
    let mut conn = Connection::new(config, now);
    conn.handle_input(b"USER u\r\nPASS p\r\nSTAT\r\n", now);
    documented_loop(&mut conn);
    let stranded = conn.poll_event();
    assert!(
        stranded.is_none(),
        "PASS left unanswered after the driver loop: {stranded:?}"
    );
}

/// The same for the client machine (found by
/// `client_output_bounded_pipelined`): a reply that arrived while the
/// client's output was over the mark is processed by the `poll_transmit`
/// call that finds the output drained; when that call returns `None` (no
/// command left to send), the documented loop goes back to waiting for
/// input with the reply unread. It surfaces only with the next reply.
#[test]
fn client_driver_loop_leaves_no_event_unread() {
    let now = Instant::now();
    let mut config = client::Config::default();
    config.max_pending_output = 0;
    let mut conn = client::Connection::new(config, now);
    conn.capa().unwrap();
    conn.handle_input(b"+OK ready\r\n", now);
    while conn.poll_transmit().is_some() {}
    conn.handle_input(b"+OK\r\nPIPELINING\r\n.\r\n", now);
    let noop = conn.noop().unwrap();
    assert_eq!(conn.poll_transmit().as_deref(), Some(&b"NOOP\r\n"[..]));
    conn.stat().unwrap();
    // The caller reads before it takes the STAT line (its socket was not
    // writable): the NOOP reply waits while output is full.
    conn.handle_input(b"+OK\r\n", now);
    let mut events: Vec<client::Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    // The documented loop: events, then output until `None`.
    loop {
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        if conn.poll_transmit().is_none() {
            break;
        }
    }
    let answered = events
        .iter()
        .any(|e| matches!(e, client::Event::Reply { id, .. } if *id == noop));
    let stranded = conn.poll_event();
    assert!(
        answered && stranded.is_none(),
        "NOOP reply left unread after the driver loop: {stranded:?}"
    );
}
