//! Client transcripts (`tests/transcripts/client/*.txt`) replayed through the client
//! machine, with the server's bytes split at every byte boundary: the client's output and
//! events must be the same for every split.
//!
//! Transcript lines:
//!
//! ```text
//! # comment
//! config: ehlo=NAME tls=opportunistic|required|disabled tls_active user=U pass=P
//!         auth_without_tls lmtp chunking no_pipelining normalise max_line=N max_lines=N
//! tx: from=<...> to=<...> [notify=success,failure] [orcpt=rfc822;addr] ... [ret=full|hdrs] [envid=X]
//! body: escaped text (\r \n \\ \xHH), for the last tx
//! quit                 the driver asks for QUIT after the transactions
//! S: text              a server line (CRLF added); consecutive S:/R: lines are one segment
//! R: escaped           raw server bytes
//! C: text              a line the client must send (CRLF added)
//! E: description       an event the client must emit
//! T: +SECONDS          the clock advances; handle_timeout
//! CLOSE                the server closes the connection
//! TLS                  the driver finishes the TLS handshake
//! ```

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_smtp::client::{
    BareLineEndings, Config, Connection, Credentials, Event, Recipient, TlsPolicy, Transaction,
};
use postwerk_smtp::codec::params::{Notify, Ret};
use postwerk_smtp::codec::path::{PathOptions, parse_forward_path, parse_reverse_path};

#[derive(Debug, Clone)]
enum Step {
    Feed(Vec<u8>),
    Timeout(u64),
    Close,
    Tls,
    /// A client line or event: ends the server's current segment.
    Barrier,
}

struct Script {
    config: Config,
    txs: Vec<Transaction>,
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

fn parse_tx(spec: &str) -> Transaction {
    let utf8 = PathOptions {
        utf8: true,
        ..PathOptions::default()
    };
    let mut from = None;
    let mut recipients: Vec<Recipient> = Vec::new();
    let mut ret = None;
    let mut envid = None;
    for word in spec.split_whitespace() {
        let (key, value) = word.split_once('=').expect("key=value");
        match key {
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
    let mut tx = Transaction::new(from.expect("from="), Bytes::new());
    for r in recipients {
        tx = tx.with_recipient(r);
    }
    if let Some(ret) = ret {
        tx = tx.with_ret(ret);
    }
    if let Some(envid) = envid {
        tx = tx.with_envid(envid);
    }
    tx
}

fn with_body(tx: &Transaction, body: Vec<u8>) -> Transaction {
    let mut out = Transaction::new(tx.reverse_path().clone(), Bytes::from(body));
    for r in tx.recipients() {
        out = out.with_recipient(r.clone());
    }
    if let Some(ret) = tx.ret() {
        out = out.with_ret(ret);
    }
    if let Some(envid) = tx.envid() {
        out = out.with_envid(envid);
    }
    out
}

fn parse_config(spec: &str) -> Config {
    let mut config = Config::new("client.example");
    let mut user = None;
    let mut pass = None;
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
            "auth_without_tls" => config.auth_without_tls = true,
            "lmtp" => config.lmtp = true,
            "chunking" => config.chunking = true,
            "no_pipelining" => config.pipelining = false,
            "normalise" => config.bare_line_endings = BareLineEndings::Normalise,
            "max_line" => config.reply_limits.max_line_len = value.parse().unwrap(),
            "max_lines" => config.reply_limits.max_lines = value.parse().unwrap(),
            _ => panic!("unknown config key {key}"),
        }
    }
    if let (Some(u), Some(p)) = (user, pass) {
        config.credentials = Some(Credentials::new(u, p));
    }
    config
}

fn parse_script(text: &str) -> Script {
    let mut script = Script {
        config: Config::new("client.example"),
        txs: Vec::new(),
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
            script.txs.push(parse_tx(rest));
        } else if let Some(rest) = line.strip_prefix("body: ") {
            let last = script.txs.pop().expect("body after tx");
            script.txs.push(with_body(&last, unescape(rest)));
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

/// Runs the script; `split` cuts the server bytes at that global offset (0: no cut);
/// `bytewise` feeds one byte at a time.
fn run(script: &Script, split: usize, bytewise: bool) -> (Vec<u8>, Vec<String>) {
    let start = Instant::now();
    let mut now = start;
    let mut conn = Connection::new(script.config.clone(), now);
    for tx in &script.txs {
        conn.send(tx.clone(), now).unwrap();
    }
    if script.quit {
        conn.quit(now);
    }
    let mut out = Vec::new();
    let mut events = Vec::new();
    // A driver reports what it wrote (the end-of-data timer starts from there).
    let drain =
        |conn: &mut Connection, out: &mut Vec<u8>, events: &mut Vec<String>, now: Instant| {
            while let Some(chunk) = conn.poll_transmit() {
                out.extend_from_slice(&chunk);
                conn.handle_written(now);
            }
            while let Some(e) = conn.poll_event() {
                events.push(describe(&e));
            }
        };
    drain(&mut conn, &mut out, &mut events, now);
    let mut offset = 0;
    for step in &script.steps {
        match step {
            Step::Feed(bytes) => {
                if bytewise {
                    for b in bytes {
                        conn.handle_input(std::slice::from_ref(b), now);
                        drain(&mut conn, &mut out, &mut events, now);
                    }
                } else if split > offset && split < offset + bytes.len() {
                    let (a, b) = bytes.split_at(split - offset);
                    conn.handle_input(a, now);
                    drain(&mut conn, &mut out, &mut events, now);
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
            Step::Barrier => {}
        }
        drain(&mut conn, &mut out, &mut events, now);
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
