//! Test support for the server machine: a scripted application, a fake clock, and the
//! transcript replayer with every split of the input.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::Arc;

use postwerk_smtp::codec::reply::Reply;
use postwerk_smtp::sasl::ScramCredentials;
use postwerk_smtp::sasl::server::{Answer, ServerMechanisms, Verify};
use postwerk_smtp::server::{
    BareLineEndings, Config, Connection, Decision, Event, ParamRule, ParamValue, PipeliningPolicy,
};

/// The scripted application: accepts everything except what the rules say.
#[derive(Debug, Clone, Default)]
pub struct App {
    /// Recipients (as `local@domain`) refused with 550 5.1.1.
    pub reject_rcpt: Vec<String>,
    /// Senders refused with 550 5.7.1.
    pub reject_mail: Vec<String>,
    /// The password that AUTH accepts.
    pub password: Option<String>,
    /// DataEnd is answered with this reply instead of the default.
    pub data_reply: Option<Reply>,
    /// LMTP: recipients whose DataEnd reply is 452 4.2.2.
    pub lmtp_full: Vec<String>,
    /// Leave decisions unanswered (tests answer by hand).
    pub manual: bool,
    /// Refuse the connection (with the Connect decision on).
    pub reject_connect: bool,
    /// HELO/EHLO names refused with 550 5.7.1 (with the hello decision on).
    pub reject_hello: Vec<String>,
    /// Refuse DATA/BDAT (with the data decision on).
    pub reject_data: bool,
    /// Refuse STARTTLS with 454 4.7.0 (with the STARTTLS decision on).
    pub reject_starttls: bool,
    /// The SIZE limit set after a successful login.
    pub size_after_login: Option<u64>,
    /// Extensions turned on at STARTTLS: REQUIRETLS, and this SIZE limit.
    pub size_after_tls: Option<u64>,
    /// AUTH offered only after STARTTLS: the session starts without mechanisms.
    pub auth_after_tls: bool,
    /// Channel binding data given after TLS.
    pub channel_binding: Option<Vec<u8>>,
    /// The session's SCRAM nonce.
    pub sasl_nonce: Option<String>,
}

/// A machine with its app and a fake clock, recording output and events.
pub struct Harness {
    pub conn: Connection,
    pub app: App,
    pub start: Instant,
    pub now: Instant,
    pub out: Vec<u8>,
    pub events: Vec<String>,
    pub body: Vec<u8>,
    pub pending: Vec<Event>,
    rcpts: Vec<String>,
    body_start: usize,
}

impl Harness {
    pub fn new(config: Config, app: App) -> Harness {
        let start = Instant::now();
        let mut conn = Connection::new(config, start);
        conn.settings_mut().sasl_nonce = app.sasl_nonce.clone();
        if app.auth_after_tls {
            conn.settings_mut().sasl = Arc::new(ServerMechanisms::new());
        }
        let mut h = Harness {
            conn,
            app,
            start,
            now: start,
            out: Vec::new(),
            events: Vec::new(),
            body: Vec::new(),
            pending: Vec::new(),
            rcpts: Vec::new(),
            body_start: 0,
        };
        h.drain();
        h
    }

    /// Feeds bytes (all of them) and runs the app.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        let mut guard = 0;
        while !rest.is_empty() {
            let n = self.conn.handle_input(rest, self.now);
            rest = &rest[n..];
            self.drain();
            guard += 1;
            assert!(guard < 1_000_000, "machine does not take input");
        }
        self.drain();
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.conn.handle_timeout(self.now);
        self.drain();
    }

    pub fn eof(&mut self) {
        self.conn.handle_eof(self.now);
        self.drain();
    }

    pub fn tls_established(&mut self) {
        self.conn
            .tls_established(self.now)
            .expect("tls_established");
        if let Some(cb) = &self.app.channel_binding {
            self.conn.set_channel_binding(cb.clone());
        }
        self.drain();
    }

    /// Takes the output produced so far as a string.
    pub fn take_output(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.out)).into_owned()
    }

    /// Polls events and output until both are empty, answering decisions.
    pub fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(ev) = self.conn.poll_event() {
                progressed = true;
                self.handle_event(ev);
            }
            while let Some(bytes) = self.conn.poll_transmit() {
                progressed = true;
                self.out.extend_from_slice(&bytes);
            }
            if !progressed {
                break;
            }
        }
    }

    fn handle_event(&mut self, ev: Event) {
        // Chunk boundaries depend on how input arrives; consecutive chunks count as one.
        let d = describe(&ev);
        if let Event::DataStart = ev {
            self.body_start = self.body.len();
        }
        if let Event::DataAborted(_) = ev {
            // The application drops what it got of this message: normalise it away.
            self.body.truncate(self.body_start);
            if self.events.last().is_some_and(|l| l == "chunk") {
                self.events.pop();
            }
        }
        if !(d == "chunk" && self.events.last().is_some_and(|l| l == "chunk")) {
            self.events.push(d);
        }
        if self.app.manual {
            match &ev {
                Event::BodyChunk(b) => self.body.extend_from_slice(b),
                Event::Mail { .. }
                | Event::Rcpt { .. }
                | Event::SaslVerify { .. }
                | Event::Login { .. }
                | Event::Connect { .. }
                | Event::HelloCommand { .. }
                | Event::DataCommand { .. }
                | Event::StartTlsCommand { .. }
                | Event::Vrfy { .. }
                | Event::DataEnd { .. } => self.pending.push(ev),
                _ => {}
            }
            return;
        }
        let now = self.now;
        match ev {
            Event::Mail { id, from, .. } => {
                let who = from.mailbox().map(ToString::to_string).unwrap_or_default();
                let d = if self.app.reject_mail.contains(&who) {
                    Decision::Reject(Reply::new(550, "5.7.1".parse().ok(), "Sender refused"))
                } else {
                    self.rcpts.clear();
                    Decision::Accept
                };
                self.conn.respond(id, d, now).unwrap();
            }
            Event::Rcpt { id, to, .. } => {
                let who = to
                    .mailbox()
                    .map(ToString::to_string)
                    .unwrap_or("Postmaster".into());
                let d = if self.app.reject_rcpt.contains(&who) {
                    Decision::Reject(Reply::mailbox_unavailable())
                } else {
                    self.rcpts.push(who);
                    Decision::Accept
                };
                self.conn.respond(id, d, now).unwrap();
            }
            Event::SaslVerify { id, request } => {
                let password = self.app.password.clone().unwrap_or_default();
                let answer = match request {
                    Verify::Password { password: p, .. } => {
                        if self.app.password.is_some() && p.expose() == password {
                            Answer::Accept
                        } else {
                            Answer::Reject
                        }
                    }
                    Verify::Token { token, user, .. } => {
                        if self.app.password.is_some() && token.expose() == password {
                            Answer::AcceptAs(user.unwrap_or_else(|| "token-user".into()))
                        } else {
                            Answer::RejectWith(
                                br#"{"status":"invalid_token","schemes":"bearer"}"#.to_vec(),
                            )
                        }
                    }
                    Verify::ScramCredentials { authcid, .. } => {
                        if self.app.password.is_some() && authcid == "user" {
                            Answer::ScramCredentials(
                                ScramCredentials::derive(&password, b"salt", 4096).unwrap(),
                            )
                        } else {
                            Answer::UnknownUser
                        }
                    }
                    _ => Answer::Reject,
                };
                self.conn.answer_sasl(id, answer, now).unwrap();
            }
            Event::Login { id, .. } => {
                if let Some(n) = self.app.size_after_login {
                    self.conn.settings_mut().max_message_size = n;
                }
                self.conn.respond(id, Decision::Accept, now).unwrap();
            }
            Event::Connect { id } => {
                let d = if self.app.reject_connect {
                    Decision::Reject(Reply::new(554, "5.7.1".parse().ok(), "Go away"))
                } else {
                    Decision::Accept
                };
                self.conn.respond(id, d, now).unwrap();
            }
            Event::HelloCommand { id, domain, .. } => {
                let d = if self.app.reject_hello.iter().any(|h| *h == domain) {
                    Decision::Reject(Reply::new(550, "5.7.1".parse().ok(), "Bad HELO name"))
                } else {
                    Decision::Accept
                };
                self.conn.respond(id, d, now).unwrap();
            }
            Event::DataCommand { id, .. } => {
                let d = if self.app.reject_data {
                    Decision::Reject(Reply::new(554, "5.7.1".parse().ok(), "Not taking messages"))
                } else {
                    Decision::Accept
                };
                self.conn.respond(id, d, now).unwrap();
            }
            Event::StartTlsCommand { id } => {
                let d = if self.app.reject_starttls {
                    Decision::Reject(Reply::tls_not_available())
                } else {
                    Decision::Accept
                };
                self.conn.respond(id, d, now).unwrap();
            }
            Event::StartTls => {
                if let Some(n) = self.app.size_after_tls {
                    let s = self.conn.settings_mut();
                    s.max_message_size = n;
                    s.extensions.requiretls = true;
                }
                if self.app.auth_after_tls {
                    let mut m = ServerMechanisms::new();
                    m.add_builtin(postwerk_smtp::sasl::Mechanism::Plain);
                    self.conn.settings_mut().sasl = Arc::new(m);
                }
            }
            Event::Vrfy { id, .. } => {
                self.conn.respond(id, Decision::Accept, now).unwrap();
            }
            Event::BodyChunk(b) => self.body.extend_from_slice(&b),
            Event::DataEnd { id, envelope, .. } => {
                if self.conn.config().lmtp {
                    let replies = envelope
                        .recipients
                        .iter()
                        .map(|(to, _)| {
                            let who = to.mailbox().map(ToString::to_string).unwrap_or_default();
                            if self.app.lmtp_full.contains(&who) {
                                Reply::new(452, "4.2.2".parse().ok(), format!("{who} mailbox full"))
                            } else {
                                Reply::new(250, "2.0.0".parse().ok(), format!("{who} delivered"))
                            }
                        })
                        .collect();
                    self.conn.respond_per_recipient(id, replies, now).unwrap();
                } else {
                    let d = match &self.app.data_reply {
                        Some(r) if r.code() < 400 => Decision::AcceptWith(r.clone()),
                        Some(r) => Decision::Reject(r.clone()),
                        None => Decision::Accept,
                    };
                    self.conn.respond(id, d, now).unwrap();
                }
            }
            _ => {}
        }
    }
}

/// A short, stable description of an event for comparisons.
pub fn describe(ev: &Event) -> String {
    match ev {
        Event::Helo { domain, extended } => format!("helo {domain} {extended}"),
        Event::Mail {
            from,
            params,
            extensions,
            ..
        } => {
            if *extensions == Default::default() {
                format!("mail {from} {params:?}")
            } else {
                format!("mail {from} {params:?} {extensions:?}")
            }
        }
        Event::Rcpt { to, params, .. } => format!("rcpt {to} {params:?}"),
        Event::SaslVerify { request, .. } => format!("sasl-verify {request:?}"),
        Event::Login { credentials, .. } => format!("login {credentials:?}"),
        Event::Connect { .. } => "connect".into(),
        Event::HelloCommand {
            domain, extended, ..
        } => format!("hello-command {domain} {extended}"),
        Event::DataCommand { bdat, .. } => format!("data-command bdat={bdat}"),
        Event::StartTlsCommand { .. } => "starttls-command".into(),
        Event::Vrfy { arg, .. } => format!("vrfy {arg}"),
        Event::DataStart => "data-start".into(),
        Event::BodyChunk(_) => "chunk".into(),
        Event::DataEnd { envelope, size, .. } => {
            format!(
                "data-end {} rcpts={} size={size}",
                envelope.from,
                envelope.recipients.len()
            )
        }
        Event::DataAborted(r) => format!("data-aborted {r:?}"),
        Event::StartTls => "starttls".into(),
        Event::Reset => "reset".into(),
        Event::Closing(r) => format!("closing {r:?}"),
        other => format!("{other:?}"),
    }
}

/// Transcript replay.
///
/// Format, one item per line:
/// - `# ...` comment; blank lines ignored
/// - `! directive [args]` configuration or app rule (before the first C:)
/// - `C: text` a client line (escapes `\r`, `\n`, `\0`, `\\`, `\xHH`), CRLF appended
/// - `R: text` raw client bytes (same escapes), nothing appended
/// - `S: text` an expected server line, CRLF appended
/// - `T:` the driver completes the TLS handshake
/// - `W: seconds` time passes (handle_timeout)
/// - `E:` the client closes its side
///
/// Consecutive C:/R: lines form one segment, fed at once; the replay is repeated with
/// every segment split at every byte boundary and byte by byte, and must produce the
/// same output and events each time.
#[derive(Debug, Clone)]
pub struct Transcript {
    pub name: String,
    pub config: Config,
    pub app: App,
    pub steps: Vec<Step>,
    pub expected: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Step {
    Input(Vec<u8>),
    Tls,
    Wait(u64),
    Eof,
}

pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'0' => out.push(0),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let h = u8::from_str_radix(&s[i + 2..i + 4], 16).expect("hex escape");
                    out.push(h);
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

pub fn test_config() -> Config {
    let mut c = Config::new("mx.test");
    c.pipelining_policy = PipeliningPolicy::Allow;
    c.timeouts.auth_failure_delay = Duration::ZERO;
    c
}

impl Transcript {
    pub fn load(path: &Path) -> Transcript {
        let text = std::fs::read_to_string(path).expect("read transcript");
        let mut config = test_config();
        let mut app = App::default();
        let mut steps = Vec::new();
        let mut expected = Vec::new();
        let mut segment: Option<Vec<u8>> = None;
        for (n, line) in text.lines().enumerate() {
            let ctx = || format!("{}:{}", path.display(), n + 1);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (tag, rest) = match line.split_once(':') {
                Some((t, r)) if t.len() == 1 => (t, r.strip_prefix(' ').unwrap_or(r)),
                _ if line.starts_with('!') => ("!", &line[1..]),
                _ => panic!("{}: bad line {line:?}", ctx()),
            };
            if tag != "C"
                && tag != "R"
                && let Some(seg) = segment.take()
            {
                steps.push(Step::Input(seg));
            }
            match tag {
                "C" => {
                    let seg = segment.get_or_insert_with(Vec::new);
                    seg.extend(unescape(rest));
                    seg.extend_from_slice(b"\r\n");
                }
                "R" => segment.get_or_insert_with(Vec::new).extend(unescape(rest)),
                "S" => {
                    expected.extend(unescape(rest));
                    expected.extend_from_slice(b"\r\n");
                }
                "T" => steps.push(Step::Tls),
                "W" => steps.push(Step::Wait(rest.trim().parse().expect("seconds"))),
                "E" => steps.push(Step::Eof),
                "!" => directive(rest.trim(), &mut config, &mut app, &ctx()),
                _ => panic!("{}: unknown tag {tag}", ctx()),
            }
        }
        if let Some(seg) = segment.take() {
            steps.push(Step::Input(seg));
        }
        Transcript {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            config,
            app,
            steps,
            expected,
        }
    }

    /// Runs with each input segment cut into the pieces `cut` gives.
    pub fn run(&self, cut: &dyn Fn(&[u8]) -> Vec<Vec<u8>>) -> (Vec<u8>, Vec<String>, Vec<u8>) {
        let mut h = Harness::new(self.config.clone(), self.app.clone());
        for step in &self.steps {
            match step {
                Step::Input(bytes) => {
                    for piece in cut(bytes) {
                        h.feed(&piece);
                    }
                }
                Step::Tls => h.tls_established(),
                Step::Wait(s) => h.advance(Duration::from_secs(*s)),
                Step::Eof => h.eof(),
            }
        }
        (h.out, h.events, h.body)
    }

    /// Replays whole, split at every boundary, and byte by byte; asserts the output.
    pub fn check(&self) {
        let (out, events, body) = self.run(&|b| vec![b.to_vec()]);
        if std::env::var_os("BLESS").is_some() {
            eprintln!("== {}\n{}", self.name, String::from_utf8_lossy(&out));
            eprintln!("events: {events:#?}");
        }
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&self.expected),
            "transcript {}",
            self.name
        );
        let total: usize = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Input(b) => b.len(),
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        for k in 0..=total {
            let split = self.run(&|b: &[u8]| {
                let k = k.min(b.len());
                vec![b[..k].to_vec(), b[k..].to_vec()]
            });
            assert!(
                split == (out.clone(), events.clone(), body.clone()),
                "{} split at {k}: {:?}",
                self.name,
                split.1
            );
        }
        let bytewise = self.run(&|b: &[u8]| b.iter().map(|&x| vec![x]).collect());
        assert!(
            bytewise == (out, events, body),
            "{} byte by byte",
            self.name
        );
    }
}

fn directive(d: &str, c: &mut Config, app: &mut App, ctx: &str) {
    let (name, arg) = d.split_once(' ').unwrap_or((d, ""));
    let num = || {
        arg.trim()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{ctx}: number"))
    };
    match name {
        "lmtp" => {
            c.lmtp = true;
            c.greeting = "LMTP postwerk".into();
        }
        "starttls" => c.extensions.starttls = true,
        "plaintext-auth" => c.allow_plaintext_auth = true,
        "auth-required" => c.auth_required = true,
        "no-auth" => c.sasl = Arc::new(ServerMechanisms::new()),
        "sasl-builtin" => c.sasl = Arc::new(ServerMechanisms::builtin()),
        "sasl-nonce" => app.sasl_nonce = Some(arg.to_string()),
        "channel-binding" => app.channel_binding = Some(arg.as_bytes().to_vec()),
        "decide-connect" => c.decisions.connect = true,
        "decide-hello" => c.decisions.hello = true,
        "decide-data" => c.decisions.data = true,
        "decide-starttls" => c.decisions.starttls = true,
        "reject-connect" => app.reject_connect = true,
        "reject-hello" => app.reject_hello.push(arg.to_string()),
        "reject-data" => app.reject_data = true,
        "reject-starttls" => app.reject_starttls = true,
        "size-after-login" => app.size_after_login = Some(num()),
        "size-after-tls" => app.size_after_tls = Some(num()),
        "auth-after-tls" => app.auth_after_tls = true,
        "binarymime" => c.extensions.binarymime = true,
        "requiretls" => c.extensions.requiretls = true,
        "mt-priority" => c.extensions.mt_priority = true,
        "deliver-by" => c.extensions.deliver_by = Some(num() as u32),
        "future-release" => {
            let (n, t) = arg.split_once(' ').unwrap();
            c.extensions.future_release = Some(postwerk_smtp::server::FutureReleaseLimits {
                max_interval: n.parse().unwrap(),
                max_date_time: postwerk_smtp::codec::DateTime3339::parse(t).unwrap(),
            });
        }
        "ehlo-keyword" => c.ehlo_keywords.push(arg.to_string()),
        "mail-param" | "rcpt-param" => {
            let (n, v) = arg.split_once(' ').unwrap_or((arg, "optional"));
            let v = match v {
                "none" => ParamValue::None,
                "required" => ParamValue::Required,
                _ => ParamValue::Optional,
            };
            if name == "mail-param" {
                c.mail_parameters.push(ParamRule::new(n, v));
            } else {
                c.rcpt_parameters.push(ParamRule::new(n, v));
            }
        }
        "no-pipelining" => c.extensions.pipelining = false,
        "no-enhanced" => c.extensions.enhanced_status_codes = false,
        "no-chunking" => c.extensions.chunking = false,
        "no-dsn" => c.extensions.dsn = false,
        "no-smtputf8" => c.extensions.smtputf8 = false,
        "pipelining-reject" => c.pipelining_policy = PipeliningPolicy::Reject,
        "lenient" => c.leniency = postwerk_smtp::codec::Leniency::all(),
        "vrfy-events" => c.vrfy_events = true,
        "bare" => {
            c.bare_line_endings = match arg {
                "reject" => BareLineEndings::Reject,
                "normalize" => BareLineEndings::Normalize,
                "close" => BareLineEndings::Close,
                _ => panic!("{ctx}: bare policy"),
            }
        }
        "max-recipients" => c.limits.max_recipients = num() as usize,
        "max-size" => c.limits.max_message_size = num(),
        "max-errors" => c.limits.max_errors = num() as u32,
        "max-auth-failures" => c.limits.max_auth_failures = num() as u32,
        "max-command-line" => c.limits.max_command_line = num() as usize,
        "max-text-line" => c.limits.max_text_line = num() as usize,
        "greeting-delay" => c.timeouts.greeting_delay = Duration::from_secs(num()),
        "password" => app.password = Some(arg.to_string()),
        "reject-rcpt" => app.reject_rcpt.push(arg.to_string()),
        "reject-mail" => app.reject_mail.push(arg.to_string()),
        "lmtp-full" => app.lmtp_full.push(arg.to_string()),
        "data-reply" => {
            let (code, text) = arg.split_once(' ').unwrap();
            let (enh, text) = text.split_once(' ').unwrap();
            app.data_reply = Some(Reply::new(code.parse().unwrap(), enh.parse().ok(), text));
        }
        _ => panic!("{ctx}: unknown directive {name}"),
    }
}
