//! Client transcripts (`tests/transcripts/client/*.txt`) replayed through the client
//! machine, with the server's bytes split at every byte boundary: the client's output and
//! events must be the same for every split.
//!
//! Transcript lines:
//!
//! ```text
//! # comment
//! config: ehlo=NAME tls=opportunistic|required|disabled tls_active user=U pass=P token=T
//!         auth_without_tls lmtp chunking no_pipelining normalise max_line=N max_lines=N
//! tx: from=<...> to=<...> [notify=success,failure] [orcpt=rfc822;addr] ... [ret=full|hdrs] [envid=X]
//!     [mparam=KEY[=VALUE]] [fmparam=..] (forced) [rparam=..] [frparam=..] (last recipient)
//!     [requiretls] [8bit] [smtputf8] [size=N] [later] (sent by `DO: send`, not at the start)
//! body: escaped text (\r \n \\ \xHH), for the last tx
//! chunks: escaped|chunks   the last tx is streamed: each BodyWanted gets the next chunk,
//!                      then the end (`chunks:` alone: no chunk, just the end)
//! chunks!: a|b         the same, but each BodyWanted waits for a `DO: body` step
//! quit                 the driver asks for QUIT after the transactions
//! S: text              a server line (CRLF added); consecutive S:/R: lines are one segment
//! R: escaped           raw server bytes
//! C: text              a line the client must send (CRLF added)
//! E: description       an event the client must emit
//! T: +SECONDS          the clock advances; handle_timeout
//! CLOSE                the server closes the connection
//! TLS                  the driver finishes the TLS handshake
//! DO: noop|rset|send   the driver calls noop, rset, or sends the next `later` tx
//! DO: body             the driver answers the BodyWanted it held (`chunks!:`)
//! ```

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_smtp::client::{
    BareLineEndings, Config, Connection, Credentials, EsmtpParam, Event, Recipient, TlsPolicy,
    Transaction, TransactionId,
};
use postwerk_smtp::codec::params::{Notify, Ret};
use postwerk_smtp::codec::path::{PathOptions, parse_forward_path, parse_reverse_path};

#[derive(Debug, Clone)]
enum Step {
    Feed(Vec<u8>),
    Timeout(u64),
    Close,
    Tls,
    Noop,
    Rset,
    Send,
    Body,
    /// A client line or event: ends the server's current segment.
    Barrier,
}

struct Script {
    config: Config,
    txs: Vec<Transaction>,
    /// Per tx: sent at the start (false: by `DO: send`).
    at_start: Vec<bool>,
    /// Per tx: the chunks of a streamed body.
    chunks: Vec<Option<Vec<Vec<u8>>>>,
    /// Per tx: its BodyWanted events wait for `DO: body`.
    manual: Vec<bool>,
    quit: bool,
    steps: Vec<Step>,
    expected_out: Vec<u8>,
    expected_events: Vec<String>,
}

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                other => panic!("bad escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn param(value: &str, forced: bool) -> EsmtpParam {
    let (k, v) = match value.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (value, None),
    };
    let p = EsmtpParam::new(k, v).unwrap();
    if forced { p.forced() } else { p }
}

/// How a transaction's body is given.
enum BodySpec {
    Whole(Vec<u8>),
    Streamed,
}

fn parse_tx(spec: &str, body: BodySpec) -> (Transaction, bool) {
    let utf8 = PathOptions {
        utf8: true,
        ..PathOptions::default()
    };
    let mut from = None;
    let mut recipients: Vec<Recipient> = Vec::new();
    let mut ret = None;
    let mut envid = None;
    let mut mparams = Vec::new();
    let mut flags = Vec::new();
    let mut size = None;
    for word in spec.split_whitespace() {
        if matches!(word, "requiretls" | "8bit" | "smtputf8" | "later") {
            flags.push(word);
            continue;
        }
        let (key, value) = word.split_once('=').expect("key=value");
        match key {
            "mparam" => mparams.push(param(value, false)),
            "fmparam" => mparams.push(param(value, true)),
            "rparam" | "frparam" => {
                let r = recipients.pop().unwrap();
                recipients.push(r.with_param(param(value, key == "frparam")).unwrap());
            }
            "size" => size = Some(value.parse().unwrap()),
            "from" => from = Some(parse_reverse_path(value.as_bytes(), utf8).unwrap().0),
            "to" => recipients.push(Recipient::new(
                parse_forward_path(value.as_bytes(), utf8).unwrap().0,
            )),
            "notify" => {
                let notify = if value == "never" {
                    Notify::Never
                } else {
                    Notify::On {
                        success: value.contains("success"),
                        failure: value.contains("failure"),
                        delay: value.contains("delay"),
                    }
                };
                recipients.last_mut().unwrap().notify = Some(notify);
            }
            "orcpt" => {
                let (ty, addr) = value.split_once(';').unwrap();
                recipients.last_mut().unwrap().orcpt = Some((ty.into(), addr.into()));
            }
            "ret" => {
                ret = Some(if value == "full" {
                    Ret::Full
                } else {
                    Ret::Hdrs
                })
            }
            "envid" => envid = Some(value.to_owned()),
            _ => panic!("unknown tx key {key}"),
        }
    }
    let from = from.expect("from=");
    let mut tx = match body {
        BodySpec::Whole(body) => Transaction::new(from, Bytes::from(body)),
        BodySpec::Streamed => Transaction::streaming(from),
    };
    for r in recipients {
        tx = tx.with_recipient(r);
    }
    if let Some(ret) = ret {
        tx = tx.with_ret(ret);
    }
    if let Some(envid) = envid {
        tx = tx.with_envid(envid);
    }
    for p in mparams {
        tx = tx.with_mail_param(p).unwrap();
    }
    if let Some(size) = size {
        tx = tx.with_size(size);
    }
    for flag in &flags {
        tx = match *flag {
            "requiretls" => tx.with_require_tls(),
            "8bit" => tx.with_8bit(),
            "smtputf8" => tx.with_smtputf8(),
            _ => tx,
        };
    }
    (tx, !flags.contains(&"later"))
}

fn parse_config(spec: &str) -> Config {
    let mut config = Config::new("client.example");
    let mut user = None;
    let mut pass = None;
    let mut token = None;
    for word in spec.split_whitespace() {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        match key {
            "ehlo" => config.ehlo_name = value.into(),
            "tls" => {
                config.tls = match value {
                    "required" => TlsPolicy::Required,
                    "disabled" => TlsPolicy::Disabled,
                    _ => TlsPolicy::Opportunistic,
                }
            }
            "tls_active" => config.tls_active = true,
            "user" => user = Some(value.to_owned()),
            "pass" => pass = Some(value.to_owned()),
            "token" => token = Some(value.to_owned()),
            "auth_without_tls" => config.allow_plaintext_auth = true,
            "lmtp" => config.lmtp = true,
            "chunking" => config.chunking = true,
            "no_pipelining" => config.pipelining = false,
            "normalise" => config.bare_line_endings = BareLineEndings::Normalize,
            "max_line" => config.reply_limits.max_line_len = value.parse().unwrap(),
            "max_lines" => config.reply_limits.max_lines = value.parse().unwrap(),
            _ => panic!("unknown config key {key}"),
        }
    }
    match (user, pass, token) {
        (Some(u), Some(p), None) => config.credentials = Some(Credentials::new(u, p)),
        (Some(u), None, Some(t)) => {
            config.sasl_credentials = Some(postwerk_smtp::sasl::Credentials::oauth(u, t));
        }
        _ => {}
    }
    config
}

fn parse_script(text: &str) -> Script {
    let mut spec = String::new();
    let mut script = Script {
        config: Config::new("client.example"),
        txs: Vec::new(),
        at_start: Vec::new(),
        chunks: Vec::new(),
        manual: Vec::new(),
        quit: false,
        steps: Vec::new(),
        expected_out: Vec::new(),
        expected_events: Vec::new(),
    };
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("config: ") {
            script.config = parse_config(rest);
        } else if let Some(rest) = line.strip_prefix("tx: ") {
            spec = rest.to_owned();
            let (tx, at_start) = parse_tx(rest, BodySpec::Whole(Vec::new()));
            script.txs.push(tx);
            script.at_start.push(at_start);
            script.chunks.push(None);
            script.manual.push(false);
        } else if let Some(rest) = line.strip_prefix("body: ") {
            script.txs.pop().expect("body after tx");
            let (tx, _) = parse_tx(&spec, BodySpec::Whole(unescape(rest)));
            script.txs.push(tx);
        } else if let Some(rest) = line
            .strip_prefix("chunks:")
            .or_else(|| line.strip_prefix("chunks!:"))
        {
            *script.manual.last_mut().unwrap() = line.starts_with("chunks!:");
            script.txs.pop().expect("chunks after tx");
            let (tx, _) = parse_tx(&spec, BodySpec::Streamed);
            script.txs.push(tx);
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let chunks = if rest.is_empty() {
                Vec::new()
            } else {
                rest.split('|').map(unescape).collect()
            };
            *script.chunks.last_mut().unwrap() = Some(chunks);
        } else if let Some(rest) = line.strip_prefix("DO: ") {
            script.steps.push(match rest {
                "noop" => Step::Noop,
                "rset" => Step::Rset,
                "send" => Step::Send,
                "body" => Step::Body,
                _ => panic!("bad DO: {rest}"),
            });
        } else if line == "quit" {
            script.quit = true;
        } else if let Some(rest) = line.strip_prefix("S: ").or(line.strip_prefix("S:")) {
            let mut bytes = rest.as_bytes().to_vec();
            bytes.extend_from_slice(b"\r\n");
            script.steps.push(Step::Feed(bytes));
        } else if let Some(rest) = line.strip_prefix("R: ") {
            script.steps.push(Step::Feed(unescape(rest)));
        } else if let Some(rest) = line.strip_prefix("C: ").or(line.strip_prefix("C:")) {
            script.expected_out.extend_from_slice(rest.as_bytes());
            script.expected_out.extend_from_slice(b"\r\n");
            script.steps.push(Step::Barrier);
        } else if let Some(rest) = line.strip_prefix("E: ") {
            script.expected_events.push(rest.to_owned());
            script.steps.push(Step::Barrier);
        } else if let Some(rest) = line.strip_prefix("T: +") {
            script.steps.push(Step::Timeout(rest.parse().unwrap()));
        } else if line == "CLOSE" {
            script.steps.push(Step::Close);
        } else if line == "TLS" {
            script.steps.push(Step::Tls);
        } else {
            panic!("bad transcript line {line:?}");
        }
    }
    script
}

fn describe(event: &Event) -> String {
    match event {
        Event::Reply(r) => format!("Reply {r}"),
        Event::StartTls => "StartTls".into(),
        Event::NoopReply(r) => format!("Noop {}", r.code()),
        Event::RsetReply(r) => format!("Rset {}", r.code()),
        Event::Closed { error: None } => "Closed".into(),
        Event::Closed { error: Some(e) } => format!("Closed error={e}"),
        Event::TransactionDone(result) => {
            let mut s = format!("Done #{}", result.id().get());
            if let Some(r) = result.mail_reply() {
                s += &format!(" mail={}", r.code());
            }
            if let Some(r) = result.data_reply() {
                s += &format!(" data={}", r.code());
            }
            if let Some(e) = result.error() {
                s += &format!(" error={e}");
            }
            for r in result.recipients() {
                let code = |r: Option<&postwerk_smtp::codec::reply::Reply>| {
                    r.map_or("-".to_owned(), |r| r.code().to_string())
                };
                s += &format!(
                    " | {} rcpt={} data={} {:?}",
                    r.path(),
                    code(r.rcpt_reply()),
                    code(r.data_reply()),
                    r.delivery()
                );
                if let (Some(e), None) = (r.error(), result.error()) {
                    s += &format!(" error={e}");
                }
            }
            s
        }
        other => format!("{other:?}"),
    }
}

/// A streamed body the driver supplies.
struct Body {
    id: TransactionId,
    chunks: std::collections::VecDeque<Vec<u8>>,
    /// Wait for `DO: body` to answer a BodyWanted.
    manual: bool,
    /// A BodyWanted waits for `DO: body`.
    held: bool,
}

impl Body {
    fn supply(&mut self, conn: &mut Connection, now: Instant) {
        match self.chunks.pop_front() {
            Some(c) => conn.body_chunk(self.id, Bytes::from(c), now).unwrap(),
            None => conn.body_end(self.id, now).unwrap(),
        }
    }
}

/// Runs the script; `split` cuts the server bytes at that global offset (0: no cut);
/// `bytewise` feeds one byte at a time.
fn run(script: &Script, split: usize, bytewise: bool) -> (Vec<u8>, Vec<String>) {
    let start = Instant::now();
    let mut now = start;
    let mut conn = Connection::new(script.config.clone(), now);
    // Streamed bodies still to supply, by transaction id.
    let mut bodies: Vec<Body> = Vec::new();
    let mut later: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let send = |conn: &mut Connection, bodies: &mut Vec<Body>, i: usize, now: Instant| {
        let id = conn.send(script.txs[i].clone(), now).unwrap();
        if let Some(chunks) = &script.chunks[i] {
            bodies.push(Body {
                id,
                chunks: chunks.iter().cloned().collect(),
                manual: script.manual[i],
                held: false,
            });
        }
    };
    for i in 0..script.txs.len() {
        if script.at_start[i] {
            send(&mut conn, &mut bodies, i, now);
        } else {
            later.push_back(i);
        }
    }
    if script.quit && later.is_empty() {
        conn.quit(now);
    }
    let mut out = Vec::new();
    let mut events = Vec::new();
    // A driver reports what it wrote (the end-of-data timer starts from there), and
    // answers each BodyWanted with the next chunk or the end.
    let drain = |conn: &mut Connection,
                 bodies: &mut Vec<Body>,
                 out: &mut Vec<u8>,
                 events: &mut Vec<String>,
                 now: Instant| loop {
        while let Some(chunk) = conn.poll_transmit() {
            out.extend_from_slice(&chunk);
            conn.handle_written(now);
        }
        let mut any = false;
        while let Some(e) = conn.poll_event() {
            any = true;
            match e {
                Event::BodyWanted { id } => {
                    let body = bodies.iter_mut().find(|b| b.id == id).unwrap();
                    if body.manual {
                        body.held = true;
                    } else {
                        body.supply(conn, now);
                    }
                }
                e => events.push(describe(&e)),
            }
        }
        if !any {
            break;
        }
    };
    drain(&mut conn, &mut bodies, &mut out, &mut events, now);
    let mut offset = 0;
    for step in &script.steps {
        match step {
            Step::Feed(bytes) => {
                if bytewise {
                    for b in bytes {
                        conn.handle_input(std::slice::from_ref(b), now);
                        drain(&mut conn, &mut bodies, &mut out, &mut events, now);
                    }
                } else if split > offset && split < offset + bytes.len() {
                    let (a, b) = bytes.split_at(split - offset);
                    conn.handle_input(a, now);
                    drain(&mut conn, &mut bodies, &mut out, &mut events, now);
                    conn.handle_input(b, now);
                } else {
                    conn.handle_input(bytes, now);
                }
                offset += bytes.len();
            }
            Step::Timeout(secs) => {
                now += Duration::from_secs(*secs);
                conn.handle_timeout(now);
            }
            Step::Close => conn.handle_eof(now),
            Step::Tls => conn.tls_established(now),
            Step::Body => {
                let body = bodies
                    .iter_mut()
                    .find(|b| b.held)
                    .expect("a held BodyWanted");
                body.held = false;
                body.supply(&mut conn, now);
            }
            Step::Noop => conn.noop(now).unwrap(),
            Step::Rset => conn.rset(now).unwrap(),
            Step::Send => {
                let i = later.pop_front().expect("a later tx");
                send(&mut conn, &mut bodies, i, now);
                if script.quit && later.is_empty() {
                    conn.quit(now);
                }
            }
            Step::Barrier => {}
        }
        drain(&mut conn, &mut bodies, &mut out, &mut events, now);
    }
    (out, events)
}

/// Merges consecutive Feed steps: the server's lines between two client actions arrive as
/// one segment, which the splits then cut.
fn coalesce(steps: Vec<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for step in steps {
        match (out.last_mut(), step) {
            (Some(Step::Feed(prev)), Step::Feed(more)) => prev.extend_from_slice(&more),
            (_, step) => out.push(step),
        }
    }
    out
}

fn check(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let mut script = parse_script(&text);
    script.steps = coalesce(std::mem::take(&mut script.steps));
    let name = path.file_name().unwrap().to_string_lossy();
    let (out, events) = run(&script, 0, false);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&script.expected_out),
        "{name}: client output"
    );
    assert_eq!(events, script.expected_events, "{name}: events");
    let total: usize = script
        .steps
        .iter()
        .map(|s| match s {
            Step::Feed(b) => b.len(),
            _ => 0,
        })
        .sum();
    for split in 1..total {
        let got = run(&script, split, false);
        assert_eq!(
            got,
            (out.clone(), events.clone()),
            "{name}: split at {split}"
        );
    }
    assert_eq!(
        run(&script, 0, true),
        (out, events),
        "{name}: byte at a time"
    );
}

#[test]
fn client_transcripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/client");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    let failed: Vec<String> = paths
        .iter()
        .filter_map(|path| {
            std::panic::catch_unwind(|| check(path))
                .err()
                .map(|_| path.display().to_string())
        })
        .collect();
    assert!(failed.is_empty(), "failed transcripts: {failed:#?}");
    assert!(paths.len() >= 30, "expected the full set of transcripts");
}
