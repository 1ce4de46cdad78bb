//! SMTP AUTH through postwerk-sasl against the server side of postwerk-sasl, in process:
//! a scripted SMTP server answers the client's AUTH lines with the replies a
//! `ServerExchange` produces (SCRAM-SHA-256, SCRAM-SHA-256-PLUS after STARTTLS with
//! channel binding, XOAUTH2), a server that cannot prove itself is not trusted, and the
//! caller's own exchange is used when offered.
//! Every exchange runs twice: replies fed whole, and one byte at a time.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use postwerk_smtp::client::{Config, Connection, ConnectionError, Event, TlsPolicy};
use postwerk_smtp::sasl::server::{Answer, ServerContext, ServerMechanisms, ServerStep, Verify};
use postwerk_smtp::sasl::{Credentials, ScramCredentials};

const CLIENT_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
const SERVER_NONCE: &str = "3rfcNHYJY1ZVvWVs7j";

/// What the scripted server does with the server signature it sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerKind {
    Honest,
    /// Sends a wrong `v=` (it does not know the password).
    Impostor,
}

struct Outcome {
    authenticated: bool,
    closed_with: Option<Option<ConnectionError>>,
    client_lines: Vec<String>,
    chosen: Option<String>,
}

/// Runs the client against a server that offers `offered` and logs in with the SCRAM
/// stored credentials of "pencil" (or accepts the token "ya29").
fn run(
    config: Config,
    offered: &str,
    starttls: Option<Vec<u8>>,
    kind: ServerKind,
    bytewise: bool,
) -> Outcome {
    let now = Instant::now();
    let mut conn = Connection::new(config, now);
    let stored = ScramCredentials::derive("pencil", b"salt of the user", 4096).unwrap();
    let mut exchange = None;
    let mut out = Vec::new();
    let mut outcome = Outcome {
        authenticated: false,
        closed_with: None,
        client_lines: Vec::new(),
        chosen: None,
    };
    let mut tls = false;
    let feed = |conn: &mut Connection, bytes: &[u8]| {
        if bytewise {
            for b in bytes {
                conn.handle_input(std::slice::from_ref(b), now);
            }
        } else {
            conn.handle_input(bytes, now);
        }
    };
    feed(&mut conn, b"220 mx.example ESMTP\r\n");
    for _ in 0..20 {
        while let Some(chunk) = conn.poll_transmit() {
            out.extend_from_slice(&chunk);
        }
        let mut start_tls = false;
        while let Some(event) = conn.poll_event() {
            match event {
                Event::StartTls => start_tls = true,
                Event::Closed { error } => outcome.closed_with = Some(error),
                _ => {}
            }
        }
        if start_tls {
            tls = true;
            match &starttls {
                Some(binding) => conn.tls_established_with_binding(binding.clone(), now),
                None => conn.tls_established(now),
            }
            continue;
        }
        let Some(end) = out.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let line: Vec<u8> = out.drain(..end + 2).take(end).collect();
        let line = String::from_utf8(line).unwrap();
        outcome.client_lines.push(line.clone());
        let reply: Vec<u8> = if line.starts_with("EHLO") {
            let mut r = "250-mx.example\r\n".to_owned();
            if starttls.is_some() && !tls {
                r += "250-STARTTLS\r\n";
            }
            r += &format!("250 AUTH {offered}\r\n");
            r.into_bytes()
        } else if line == "STARTTLS" {
            b"220 go ahead\r\n".to_vec()
        } else if let Some(rest) = line.strip_prefix("AUTH ") {
            let (mech, ir) = rest.split_once(' ').unwrap_or((rest, ""));
            outcome.chosen = Some(mech.to_owned());
            let mut ctx = ServerContext::new(SERVER_NONCE).protected(true);
            if tls && let Some(binding) = &starttls {
                ctx = ctx.with_channel_binding(binding.clone());
            }
            let mut ex = ServerMechanisms::builtin().start(mech, &ctx).unwrap();
            let ir = (!ir.is_empty()).then(|| STANDARD.decode(ir).unwrap());
            let step = ex.start(ir.as_deref()).unwrap();
            let reply = server_reply(&mut ex, step, &stored, kind);
            exchange = Some(ex);
            reply
        } else if line == "*" {
            b"501 5.7.0 cancelled\r\n".to_vec()
        } else if line == "QUIT" {
            b"221 bye\r\n".to_vec()
        } else if let Some(ex) = exchange.as_mut() {
            if ex.is_finished() {
                // The empty line after the server-final challenge.
                b"235 2.7.0 ok\r\n".to_vec()
            } else {
                let response = STANDARD.decode(&line).unwrap();
                let step = ex.respond(&response).unwrap();
                server_reply(ex, step, &stored, kind)
            }
        } else {
            panic!("unexpected client line {line:?}");
        };
        feed(&mut conn, &reply);
        if conn.is_authenticated() {
            outcome.authenticated = true;
        }
    }
    outcome
}

/// The SMTP reply for a server step: 334 with the challenge, 334 with the success data
/// (SCRAM's `v=`, RFC 4954 has no success data on 235), 235, or 535.
fn server_reply(
    ex: &mut postwerk_smtp::sasl::server::ServerExchange,
    mut step: ServerStep,
    stored: &ScramCredentials,
    kind: ServerKind,
) -> Vec<u8> {
    loop {
        step = match step {
            ServerStep::Verify(Verify::ScramCredentials { .. }) => {
                ex.answer(Answer::ScramCredentials(stored.clone())).unwrap()
            }
            ServerStep::Verify(Verify::Token { token, .. }) => {
                let ok = token.expose() == "ya29";
                ex.answer(if ok { Answer::Accept } else { Answer::Reject })
                    .unwrap()
            }
            ServerStep::Verify(Verify::Password { password, .. }) => {
                let ok = password.expose() == "pencil";
                ex.answer(if ok { Answer::Accept } else { Answer::Reject })
                    .unwrap()
            }
            ServerStep::Verify(other) => panic!("unexpected {other:?}"),
            ServerStep::Challenge(c) => {
                return format!("334 {}\r\n", STANDARD.encode(c)).into_bytes();
            }
            ServerStep::Success(success) => {
                return match success.additional_data() {
                    Some(data) => {
                        let mut data = data.to_vec();
                        if kind == ServerKind::Impostor
                            && let Some(last) = data.last_mut()
                        {
                            *last = if *last == b'A' { b'B' } else { b'A' };
                        }
                        format!("334 {}\r\n", STANDARD.encode(data)).into_bytes()
                    }
                    None => b"235 2.7.0 ok\r\n".to_vec(),
                };
            }
            ServerStep::Failure(_) => return b"535 5.7.8 no\r\n".to_vec(),
        };
    }
}

fn scram_config() -> Config {
    let mut config = Config::new("client.example");
    config.tls_active = true;
    config.sasl_credentials = Some(Credentials::password("user", "pencil"));
    config.sasl_nonce = Some(CLIENT_NONCE.into());
    config
}

#[test]
fn scram_sha256_chosen_over_plain_and_verified() {
    for bytewise in [false, true] {
        let o = run(
            scram_config(),
            "PLAIN LOGIN SCRAM-SHA-256",
            None,
            ServerKind::Honest,
            bytewise,
        );
        assert_eq!(o.chosen.as_deref(), Some("SCRAM-SHA-256"));
        assert!(o.authenticated, "{:?}", o.client_lines);
        // The client's final message, then the empty line after the server's proof.
        assert_eq!(o.client_lines.get(3).map(String::as_str), Some(""));
    }
}

#[test]
fn scram_server_that_cannot_prove_itself_is_not_trusted() {
    for bytewise in [false, true] {
        let o = run(
            scram_config(),
            "SCRAM-SHA-256",
            None,
            ServerKind::Impostor,
            bytewise,
        );
        assert!(!o.authenticated);
        assert!(
            o.client_lines.iter().any(|l| l == "*"),
            "{:?}",
            o.client_lines
        );
        assert!(
            matches!(o.closed_with, Some(Some(ConnectionError::Sasl(_)))),
            "{:?}",
            o.closed_with.is_some()
        );
    }
}

#[test]
fn scram_sha256_plus_with_binding_given_after_starttls() {
    let binding = vec![7u8; 32];
    for bytewise in [false, true] {
        let mut config = scram_config();
        config.tls_active = false;
        config.tls = TlsPolicy::Required;
        let o = run(
            config,
            "SCRAM-SHA-256 SCRAM-SHA-256-PLUS PLAIN",
            Some(binding.clone()),
            ServerKind::Honest,
            bytewise,
        );
        assert_eq!(o.chosen.as_deref(), Some("SCRAM-SHA-256-PLUS"));
        assert!(o.authenticated, "{:?}", o.client_lines);
        // gs2 header "p=tls-exporter" in the client's first message.
        let first = o
            .client_lines
            .iter()
            .find(|l| l.starts_with("AUTH "))
            .unwrap();
        let ir = STANDARD.decode(first.rsplit(' ').next().unwrap()).unwrap();
        assert!(ir.starts_with(b"p=tls-exporter,,n=user,r="));
    }
}

#[test]
fn no_nonce_no_scram() {
    let mut config = scram_config();
    config.sasl_nonce = None;
    let o = run(
        config,
        "SCRAM-SHA-256 PLAIN",
        None,
        ServerKind::Honest,
        false,
    );
    assert_eq!(o.chosen.as_deref(), Some("PLAIN"));
    assert!(o.authenticated);
}

#[test]
fn xoauth2_token_against_the_sasl_server() {
    for (token, ok) in [("ya29", true), ("expired", false)] {
        let mut config = Config::new("client.example");
        config.tls_active = true;
        config.sasl_credentials = Some(Credentials::oauth("user@example.org", token));
        let o = run(config, "PLAIN XOAUTH2", None, ServerKind::Honest, true);
        assert_eq!(o.chosen.as_deref(), Some("XOAUTH2"));
        assert_eq!(o.authenticated, ok, "{:?}", o.client_lines);
        if !ok {
            assert!(matches!(
                o.closed_with,
                Some(Some(ConnectionError::AuthFailed(_)))
            ));
        }
    }
}

/// The extension point: the caller's own exchange (here postwerk-sasl's EXTERNAL), used
/// when the server lists its mechanism, refused (no usable mechanism) when not.
#[test]
fn caller_supplied_exchange() {
    use postwerk_smtp::sasl::client::{ClientExchange, ExternalClient};
    for (offered, ok) in [("PLAIN EXTERNAL", true), ("PLAIN", false)] {
        let now = Instant::now();
        let mut config = Config::new("client.example");
        config.tls_active = true;
        let mut conn = Connection::new(config, now);
        let external = ExternalClient::new(None).unwrap();
        conn.set_sasl_exchange(ClientExchange::new(Box::new(external)));
        conn.handle_input(b"220 mx\r\n", now);
        let mut out = Vec::new();
        while let Some(c) = conn.poll_transmit() {
            out.extend_from_slice(&c);
        }
        conn.handle_input(format!("250-mx\r\n250 AUTH {offered}\r\n").as_bytes(), now);
        while let Some(c) = conn.poll_transmit() {
            out.extend_from_slice(&c);
        }
        let out = String::from_utf8(out).unwrap();
        if ok {
            assert!(out.ends_with("AUTH EXTERNAL =\r\n"), "{out}");
            conn.handle_input(b"235 ok\r\n", now);
            assert!(conn.is_authenticated());
        } else {
            assert!(out.ends_with("QUIT\r\n"), "{out}");
            let mut failed = false;
            conn.handle_input(b"221 bye\r\n", now);
            while let Some(e) = conn.poll_event() {
                failed |= matches!(
                    e,
                    Event::Closed {
                        error: Some(ConnectionError::AuthNotOffered)
                    }
                );
            }
            assert!(failed);
        }
    }
}
