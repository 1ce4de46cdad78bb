//! Interop: Python's smtplib logs in to the server machine with XOAUTH2, OAUTHBEARER
//! (RFC 7628, including its error challenge) and SCRAM-SHA-256 (smtplib frames the
//! exchange; the SCRAM client arithmetic is Python's hashlib/hmac), over a loopback socket
//! driven by a small blocking driver loop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use postwerk_smtp::sasl::ScramCredentials;
use postwerk_smtp::sasl::server::{Answer, ServerMechanisms, Verify};
use postwerk_smtp::server::{Config, Connection, Credentials, Decision, Event};

/// Serves one connection; returns the identities that logged in.
fn serve(mut socket: TcpStream) -> Vec<String> {
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut config = Config::new("mx.test");
    config.sasl = Arc::new(ServerMechanisms::builtin());
    // This small driver does not wait for deadlines: no delayed failure replies.
    config.timeouts.auth_failure_delay = Duration::ZERO;
    let mut conn = Connection::new(config, Instant::now());
    conn.settings_mut().sasl_nonce = Some("interopnonce".into());
    let stored = ScramCredentials::derive("pencil", b"NaCl", 4096).unwrap();
    let mut logins = Vec::new();
    let mut buf = [0u8; 4096];
    let mut unread: Vec<u8> = Vec::new();
    loop {
        loop {
            while let Some(event) = conn.poll_event() {
                let now = Instant::now();
                match event {
                    Event::SaslVerify { id, request } => {
                        let answer = match request {
                            Verify::Token { user, token, .. } if token.expose() == "ya29.token" => {
                                Answer::AcceptAs(user.unwrap_or_default())
                            }
                            Verify::Token { .. } => {
                                Answer::RejectWith(br#"{"status":"invalid_token"}"#.to_vec())
                            }
                            Verify::ScramCredentials { authcid, .. } if authcid == "user" => {
                                Answer::ScramCredentials(stored.clone())
                            }
                            _ => Answer::UnknownUser,
                        };
                        conn.answer_sasl(id, answer, now).unwrap();
                    }
                    Event::Login { id, credentials } => {
                        let Credentials::Sasl {
                            mechanism, authcid, ..
                        } = &credentials
                        else {
                            unreachable!()
                        };
                        logins.push(format!("{mechanism} {authcid}"));
                        conn.respond(id, Decision::Accept, now).unwrap();
                    }
                    Event::Mail { id, .. } | Event::Rcpt { id, .. } | Event::DataEnd { id, .. } => {
                        conn.respond(id, Decision::Accept, now).unwrap();
                    }
                    _ => {}
                }
            }
            match conn.poll_transmit() {
                Some(bytes) => socket.write_all(&bytes).unwrap(),
                None => break,
            }
        }
        if conn.is_closed() {
            return logins;
        }
        if !unread.is_empty() {
            let taken = conn.handle_input(&unread, Instant::now());
            unread.drain(..taken);
            if taken > 0 {
                continue;
            }
        }
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => conn.handle_eof(Instant::now()),
            Ok(n) => {
                let taken = conn.handle_input(&buf[..n], Instant::now());
                unread.extend_from_slice(&buf[taken..n]);
            }
        }
    }
}

const SCRIPT: &str = r#"
import base64, hashlib, hmac, smtplib, sys

port = int(sys.argv[1])
which = sys.argv[2]
s = smtplib.SMTP('127.0.0.1', port, timeout=20)
s.ehlo('client.example')
assert 'SCRAM-SHA-256' in s.esmtp_features['auth'], s.esmtp_features
if which == 'xoauth2':
    bad = lambda challenge=None: '' if challenge is not None else 'user=alice@example.org\x01auth=Bearer nope\x01\x01'
    try:
        s.auth('XOAUTH2', bad)
        raise SystemExit('bad token accepted')
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    code, _ = s.auth('XOAUTH2', lambda challenge=None: 'user=alice@example.org\x01auth=Bearer ya29.token\x01\x01')
    assert code == 235, code
elif which == 'oauthbearer':
    assert 'OAUTHBEARER' in s.esmtp_features['auth'], s.esmtp_features
    challenges = []
    def bearer(token):
        def mech(challenge=None):
            if challenge is None:
                return 'n,a=alice@example.org,\x01host=127.0.0.1\x01port=%d\x01auth=Bearer %s\x01\x01' % (port, token)
            # RFC 7628 3.2.3: the error challenge is answered with a lone %x01.
            challenges.append(challenge)
            return '\x01'
        return mech
    try:
        s.auth('OAUTHBEARER', bearer('expired'))
        raise SystemExit('bad token accepted')
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
        print('refused', e.smtp_code, e.smtp_error.decode())
    import json
    assert len(challenges) == 1, challenges
    print('challenge', json.dumps(json.loads(challenges[0]), sort_keys=True))
    code, _ = s.auth('OAUTHBEARER', bearer('ya29.token'))
    assert code == 235, code
    print('accepted', code)
else:
    nonce = 'rOprNGfwEbeRWgbNEkqO'
    first_bare = 'n=user,r=' + nonce
    state = {}
    def scram(challenge=None):
        if challenge is None:
            return 'n,,' + first_bare
        text = challenge.decode()
        if text.startswith('v='):
            assert base64.b64decode(text[2:]) == state['server_sig'], 'bad server signature'
            return ''
        attrs = dict(kv.split('=', 1) for kv in text.split(','))
        assert attrs['r'].startswith(nonce)
        salted = hashlib.pbkdf2_hmac('sha256', b'pencil', base64.b64decode(attrs['s']), int(attrs['i']))
        client_key = hmac.new(salted, b'Client Key', 'sha256').digest()
        stored_key = hashlib.sha256(client_key).digest()
        final_wo = 'c=biws,r=' + attrs['r']
        auth_message = ','.join([first_bare, text, final_wo]).encode()
        sig = hmac.new(stored_key, auth_message, 'sha256').digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b'Server Key', 'sha256').digest()
        state['server_sig'] = hmac.new(server_key, auth_message, 'sha256').digest()
        return final_wo + ',p=' + base64.b64encode(proof).decode()
    code, _ = s.auth('SCRAM-SHA-256', scram)
    assert code == 235, code
s.sendmail('alice@example.org', ['bob@example.net'], b'Subject: hi\r\n\r\nhello\r\n')
s.quit()
print('ok')
"#;

fn run(which: &str) -> Vec<String> {
    run_with_output(which).0
}

/// Runs the script for `which`; the identities that logged in and the script's output.
fn run_with_output(which: &str) -> (Vec<String>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || serve(listener.accept().unwrap().0));
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(port.to_string())
        .arg(which)
        .output()
        .expect("python3 is missing: install the Debian package `python3`");
    assert!(
        out.status.success(),
        "smtplib failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        server.join().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn python_smtplib_logs_in_with_xoauth2() {
    assert_eq!(run("xoauth2"), ["XOAUTH2 alice@example.org"]);
}

#[test]
fn python_smtplib_logs_in_with_scram_sha_256() {
    assert_eq!(run("scram"), ["SCRAM-SHA-256 user"]);
}

/// OAUTHBEARER (RFC 7628) through smtplib's `auth()` with a mechanism object: a bad token
/// gets the error challenge (a base64 JSON status), smtplib answers it with `%x01` and gets
/// 535; the good token gets 235, and the GS2 `a=` identity reaches the login event.
#[test]
fn python_smtplib_logs_in_with_oauthbearer() {
    let (logins, out) = run_with_output("oauthbearer");
    assert_eq!(logins, ["OAUTHBEARER alice@example.org"], "{out}");
    assert!(
        out.contains(r#"challenge {"status": "invalid_token"}"#),
        "{out}"
    );
    assert!(out.contains("refused 535 "), "{out}");
    assert!(out.contains("accepted 235"), "{out}");
}
