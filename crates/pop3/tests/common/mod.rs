//! Shared helpers: the transcript format and its replay through the server
//! machine, and an in-memory server/client pair.
//!
//! Transcript lines:
//!
//! ```text
//! # comment
//! config: cleartext stls tls apop=<1.2@host> utf8 nosasl max_failed=N delay=SECS max_errors=N max_line=N
//!         sasl=builtin nonce=N expire=DAYS|NEVER login_delay=SECS per_user nolang langs=en:English,de:Deutsch
//! C: line        client bytes (CRLF appended)      C+: "raw\r\n"  (quoted, escapes)
//! S: line        server bytes (CRLF appended)      S+: "raw"      (quoted, escapes)
//! E: event       an event, formatted by `format_event`
//! A: answer      the application's answer to the next event needing one
//! --             segment break: what came before is fed and processed first
//! EOF            the client closes
//! IDLE           time jumps to the idle deadline
//! ```
#![allow(dead_code)]

pub mod pair;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_pop3::sasl::ScramCredentials;
use postwerk_pop3::sasl::server::{Answer, ServerMechanisms, Verify};
use postwerk_pop3::server::{
    ApopTimestamp, Config, Connection, Credentials, Event, Expire, Language, LoginDecision,
    MessageInfo,
};

/// SCRAM keys for a password and a base64 salt, derived once per process
/// (PBKDF2 is slow in debug builds, and replays split at every byte ask for
/// the same keys again and again).
pub fn scram_credentials(password: &str, salt: &str, iterations: u32) -> ScramCredentials {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Keys = HashMap<(String, String, u32), ScramCredentials>;
    static CACHE: OnceLock<Mutex<Keys>> = OnceLock::new();
    let key = (password.to_owned(), salt.to_owned(), iterations);
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    cache
        .entry(key)
        .or_insert_with(|| ScramCredentials::derive(password, &unbase64(salt), iterations).unwrap())
        .clone()
}

/// Decode standard base64.
pub fn unbase64(s: &str) -> Vec<u8> {
    postwerk_pop3::codec::decode_sasl(s).unwrap()
}

/// Decode a `"..."` string with `\r \n \t \\ \" \xHH` escapes.
pub fn unquote(s: &str) -> Vec<u8> {
    let s = s.trim();
    let inner = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not quoted: {s}"));
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 1;
            match b[i] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'x' => {
                    out.push(u8::from_str_radix(&inner[i + 1..i + 3], 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

/// Split a list of quoted strings: `"a" "b c"`.
pub fn quoted_list(s: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        assert!(rest.starts_with('"'), "expected quote in {rest}");
        let mut end = 1;
        let b = rest.as_bytes();
        while b[end] != b'"' {
            if b[end] == b'\\' {
                end += 1;
            }
            end += 1;
        }
        out.push(unquote(&rest[..=end]));
        rest = rest[end + 1..].trim_start();
    }
    out
}

/// Cuts one segment's input (at a stream offset) into the chunks fed.
pub type Splitter<'a> = dyn Fn(usize, &[u8]) -> Vec<Vec<u8>> + 'a;

#[derive(Debug, Clone)]
pub enum Action {
    Eof,
    Idle,
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub input: Vec<u8>,
    pub action: Option<Action>,
}

#[derive(Debug, Clone)]
pub struct Transcript {
    pub name: String,
    pub config: Config,
    pub segments: Vec<Segment>,
    pub expected_output: Vec<u8>,
    pub expected_events: Vec<String>,
    pub answers: Vec<String>,
}

pub fn parse_config(spec: &str) -> Config {
    let mut c = Config::default();
    for word in spec.split_whitespace() {
        let (k, v) = word.split_once('=').unwrap_or((word, ""));
        match k {
            "cleartext" => c.allow_plaintext_auth = true,
            "stls" => c.stls = true,
            "tls" => c.tls_active = true,
            "utf8" => c.utf8 = true,
            "nosasl" => c.sasl = Arc::new(ServerMechanisms::new()),
            "sasl" => {
                assert_eq!(v, "builtin");
                c.sasl = Arc::new(ServerMechanisms::builtin());
            }
            "nonce" => c.sasl_nonce = Some(v.to_owned()),
            "expire" => {
                c.expire = Some(match v {
                    "NEVER" => Expire::Never,
                    n => Expire::Days(n.parse().unwrap()),
                })
            }
            "login_delay" => c.login_delay = Some(v.parse().unwrap()),
            "per_user" => c.policies_per_user = true,
            "nolang" => c.languages.clear(),
            "langs" => {
                c.languages = v
                    .split(',')
                    .map(|l| {
                        let (tag, d) = l.split_once(':').unwrap();
                        Language::new(tag, d)
                    })
                    .collect()
            }
            "apop" => c.apop = Some(ApopTimestamp::new(v).unwrap()),
            "impl" => c.implementation = Some(v.to_owned()),
            "max_failed" => c.max_auth_failures = v.parse().unwrap(),
            "max_errors" => c.max_errors = v.parse().unwrap(),
            "max_line" => c.max_line = v.parse().unwrap(),
            "max_sasl_line" => c.max_sasl_line = v.parse().unwrap(),
            "delay" => c.auth_failure_delay = Duration::from_secs(v.parse().unwrap()),
            other => panic!("unknown config word {other}"),
        }
    }
    c
}

impl Transcript {
    pub fn parse(name: &str, text: &str) -> Transcript {
        let mut t = Transcript {
            name: name.to_owned(),
            config: Config::default(),
            segments: Vec::new(),
            expected_output: Vec::new(),
            expected_events: Vec::new(),
            answers: Vec::new(),
        };
        let mut current = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(spec) = line.strip_prefix("config:") {
                t.config = parse_config(spec);
            } else if let Some(c) = line.strip_prefix("C: ") {
                current.extend_from_slice(c.as_bytes());
                current.extend_from_slice(b"\r\n");
            } else if line == "C:" {
                current.extend_from_slice(b"\r\n");
            } else if let Some(c) = line.strip_prefix("C+: ") {
                current.extend(unquote(c));
            } else if let Some(s) = line.strip_prefix("S: ") {
                t.expected_output.extend_from_slice(s.as_bytes());
                t.expected_output.extend_from_slice(b"\r\n");
            } else if line == "S:" {
                t.expected_output.extend_from_slice(b"\r\n");
            } else if let Some(s) = line.strip_prefix("S+: ") {
                t.expected_output.extend(unquote(s));
            } else if let Some(e) = line.strip_prefix("E: ") {
                t.expected_events.push(e.to_owned());
            } else if let Some(a) = line.strip_prefix("A: ") {
                t.answers.push(a.to_owned());
            } else if line == "--" || line == "EOF" || line == "IDLE" {
                let action = match line {
                    "EOF" => Some(Action::Eof),
                    "IDLE" => Some(Action::Idle),
                    _ => None,
                };
                t.segments.push(Segment {
                    input: std::mem::take(&mut current),
                    action,
                });
            } else {
                panic!("{name}: bad transcript line {line:?}");
            }
        }
        t.segments.push(Segment {
            input: current,
            action: None,
        });
        t
    }

    /// Replay with the whole input split into the given chunk lengths per
    /// segment (`splitter` returns the chunks of one segment's input).
    pub fn replay(&self, splitter: &Splitter<'_>) -> Replayed {
        let mut now = Instant::now();
        let mut conn = Connection::new(self.config.clone(), now);
        let mut r = Replayed::default();
        let mut answers: VecDeque<String> = self.answers.iter().cloned().collect();
        let mut offset = 0;
        drive(&mut conn, &mut now, &mut answers, &mut r);
        for seg in &self.segments {
            let tls_before = conn.stls_accepted();
            for chunk in splitter(offset, &seg.input) {
                // Cleartext sent after STLS, read after the machine switched,
                // would go to the TLS handshake in a real driver: drop it.
                if conn.stls_accepted() != tls_before {
                    break;
                }
                conn.handle_input(&chunk, now);
                drive(&mut conn, &mut now, &mut answers, &mut r);
            }
            offset += seg.input.len();
            match seg.action {
                Some(Action::Eof) => conn.handle_eof(now),
                Some(Action::Idle) => {
                    now = conn.poll_timeout().expect("an idle deadline");
                    conn.handle_timeout(now);
                }
                None => {}
            }
            drive(&mut conn, &mut now, &mut answers, &mut r);
        }
        r.closed = conn.is_closed();
        assert!(
            answers.is_empty(),
            "{}: unused answers {answers:?}",
            self.name
        );
        r
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    pub output: Vec<u8>,
    pub events: Vec<String>,
    pub closed: bool,
}

/// Answer events, follow login delays, collect output.
fn drive(
    conn: &mut Connection,
    now: &mut Instant,
    answers: &mut VecDeque<String>,
    r: &mut Replayed,
) {
    loop {
        let mut progressed = false;
        while let Some(ev) = conn.poll_event() {
            progressed = true;
            r.events.push(format_event(&ev));
            answer(conn, &ev, answers);
        }
        while let Some(b) = conn.poll_transmit() {
            r.output.extend_from_slice(&b);
        }
        // A held reply (login failure delay) is due before the idle deadline.
        if let Some(t) = conn.poll_timeout()
            && t < *now + Duration::from_secs(300)
        {
            *now = t.max(*now);
            conn.handle_timeout(*now);
            progressed = true;
        }
        if !progressed {
            return;
        }
    }
}

pub fn format_event(ev: &Event) -> String {
    match ev {
        Event::Login { credentials, .. } => match credentials {
            Credentials::User { user, password } => format!("login user {user} {password}"),
            Credentials::Apop {
                user,
                digest,
                timestamp,
            } => format!("login apop {user} {digest} {timestamp}"),
            Credentials::Sasl {
                mechanism,
                authcid,
                authzid,
            } => format!(
                "login sasl {mechanism} {}|{authcid}",
                authzid.as_deref().unwrap_or("")
            ),
            other => format!("login {other:?}"),
        },
        Event::SaslVerify { request, .. } => match request {
            Verify::Password {
                mechanism,
                authcid,
                authzid,
                password,
            } => format!(
                "verify password {mechanism} {}|{authcid}|{}",
                authzid.as_deref().unwrap_or(""),
                password.expose()
            ),
            Verify::Token {
                mechanism,
                user,
                token,
                ..
            } => format!(
                "verify token {mechanism} {}|{}",
                user.as_deref().unwrap_or(""),
                token.expose()
            ),
            Verify::ScramCredentials {
                mechanism,
                authcid,
                authzid,
            } => format!(
                "verify scram {mechanism} {}|{authcid}",
                authzid.as_deref().unwrap_or("")
            ),
            other => format!("verify {other:?}"),
        },
        Event::MessageRequest {
            index,
            uid,
            top_lines,
            ..
        } => match top_lines {
            None => format!("message {index} {uid}"),
            Some(n) => format!("message {index} {uid} top {n}"),
        },
        Event::Commit { deletions, .. } => {
            let mut s = "commit".to_owned();
            for d in deletions {
                s.push_str(&format!(" {}:{}", d.index, d.uid));
            }
            s
        }
        Event::MessageDone { .. } => "message done".to_owned(),
        Event::StartTls => "starttls".to_owned(),
        Event::Closed { committed: true } => "closed committed".to_owned(),
        Event::Closed { committed: false } => "closed uncommitted".to_owned(),
        other => format!("{other:?}"),
    }
}

fn answer(conn: &mut Connection, ev: &Event, answers: &mut VecDeque<String>) {
    if let Event::SaslVerify { id, .. } = ev {
        let a = answers.pop_front().expect("an answer for the event");
        let (verb, rest) = a.split_once(' ').unwrap_or((&a, ""));
        let answer = match verb {
            "accept" => Answer::Accept,
            "accept-as" => Answer::AcceptAs(rest.to_owned()),
            "reject" => Answer::Reject,
            "reject-with" => Answer::RejectWith(rest.as_bytes().to_vec()),
            "unknown-user" => Answer::UnknownUser,
            "scram" => {
                // scram PASSWORD SALT ITERATIONS
                let mut w = rest.split(' ');
                let (pw, salt, it) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
                Answer::ScramCredentials(scram_credentials(pw, salt, it.parse().unwrap()))
            }
            other => panic!("unknown SASL answer {other}"),
        };
        conn.answer_sasl(*id, answer).unwrap();
        return;
    }
    let id = match ev {
        Event::Login { id, .. } | Event::MessageRequest { id, .. } | Event::Commit { id, .. } => {
            *id
        }
        _ => return,
    };
    let a = answers.pop_front().expect("an answer for the event");
    let (verb, rest) = a.split_once(' ').unwrap_or((&a, ""));
    match verb {
        "accept" => {
            let listing: Vec<MessageInfo> = rest
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    let (size, uid) = p.trim().split_once(' ').unwrap();
                    (size.parse::<u64>().unwrap(), uid).into()
                })
                .collect();
            conn.answer_login(id, LoginDecision::Accept(listing))
                .unwrap();
        }
        "reject" => conn.answer_login(id, LoginDecision::Reject).unwrap(),
        "in-use" => conn.answer_login(id, LoginDecision::InUse).unwrap(),
        "login-delay" => conn.answer_login(id, LoginDecision::LoginDelay).unwrap(),
        "sys-temp" => conn.answer_login(id, LoginDecision::SysTemp).unwrap(),
        "sys-perm" => conn.answer_login(id, LoginDecision::SysPerm).unwrap(),
        "accept-policies" => {
            // accept-policies EXPIRE LOGIN-DELAY: the user's own values,
            // set for the rest of the session, then an empty maildrop.
            let (expire, delay) = rest.split_once(' ').unwrap();
            conn.set_expire(Some(match expire {
                "NEVER" => Expire::Never,
                n => Expire::Days(n.parse().unwrap()),
            }));
            conn.set_login_delay(Some(delay.parse().unwrap()));
            conn.answer_login(id, LoginDecision::Accept(Vec::new()))
                .unwrap();
        }
        "message" => conn.supply_message(id, Bytes::from(unquote(rest))).unwrap(),
        "chunks" => {
            // Only while the machine asks (TOP stops asking once its lines
            // are out).
            for c in quoted_list(rest) {
                if conn.wants_message_chunk() != Some(id) {
                    break;
                }
                conn.supply_message_chunk(id, Bytes::from(c)).unwrap();
            }
            conn.finish_message(id).unwrap();
        }
        "unavailable" => conn.message_unavailable(id).unwrap(),
        "commit" => conn.answer_commit(id, rest == "ok").unwrap(),
        other => panic!("unknown answer {other}"),
    }
}

/// Feed all at once.
pub fn whole(_offset: usize, input: &[u8]) -> Vec<Vec<u8>> {
    if input.is_empty() {
        Vec::new()
    } else {
        vec![input.to_vec()]
    }
}

/// Feed one byte at a time.
pub fn bytewise(_offset: usize, input: &[u8]) -> Vec<Vec<u8>> {
    input.iter().map(|b| vec![*b]).collect()
}

/// Split the whole stream at global position `k`.
pub fn split_at(k: usize) -> impl Fn(usize, &[u8]) -> Vec<Vec<u8>> {
    move |offset, input| {
        if k > offset && k < offset + input.len() {
            let (a, b) = input.split_at(k - offset);
            vec![a.to_vec(), b.to_vec()]
        } else {
            whole(offset, input)
        }
    }
}
