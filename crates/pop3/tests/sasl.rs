//! SASL (RFC 5034) through postwerk-sasl: our client against our server in
//! memory for every built-in mechanism, the RFC 5034 examples on the client
//! side, a custom mechanism on both sides, and a client that refuses a
//! server that cannot prove itself (SCRAM).

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::pair::Pair;
use postwerk_pop3::client::{self, CloseReason, Event, Reply};
use postwerk_pop3::codec::encode_sasl;
use postwerk_pop3::sasl::client::{ClientExchange, ClientMechanism};
use postwerk_pop3::sasl::server::{
    Answer, Requirement, ServerMechanism, ServerMechanisms, ServerStep, Success, Verify,
};
use postwerk_pop3::sasl::{ClientError, Credentials, Mechanism};
use postwerk_pop3::server::{self, Config};

const MESSAGES: [&[u8]; 1] = [b"Subject: hi\r\n\r\nhello\r\n"];

fn config(mechanisms: ServerMechanisms) -> Config {
    let mut c = Config::default();
    c.allow_plaintext_auth = true;
    c.sasl = Arc::new(mechanisms);
    c.sasl_nonce = Some("server-nonce-from-rng".to_owned());
    // The pair runs without a clock: failed logins are answered at once.
    c.auth_failure_delay = std::time::Duration::ZERO;
    c
}

/// Log in with `mechanism` from `creds`, then STAT; returns the pair.
fn login(mechanism: Mechanism, creds: &Credentials) -> (Pair, client::CommandId) {
    let mut p = Pair::new(config(ServerMechanisms::builtin()), MESSAGES.to_vec());
    p.wire_chunk = 5;
    p.client.capa().unwrap();
    let auth = p
        .client
        .auth_with(mechanism, creds, "client-nonce-from-rng")
        .unwrap();
    p.client.stat().unwrap();
    p.run();
    (p, auth)
}

fn stat_ok(p: &Pair) -> bool {
    p.client_events.iter().any(|e| {
        matches!(
            e,
            Event::Reply {
                result: Ok(Reply::Stat { count: 1, .. }),
                ..
            }
        )
    })
}

#[test]
fn scram_sha_256_end_to_end() {
    let (p, auth) = login(
        Mechanism::ScramSha256,
        &Credentials::password("alice", "secret"),
    );
    assert!(
        matches!(p.reply(auth), Ok(Reply::Ok(_))),
        "{:?}",
        p.client_events
    );
    assert!(p.client.is_authenticated());
    assert!(stat_ok(&p));
    assert_eq!(p.server.authenticated(), Some("alice"));
    assert!(matches!(
        p.verified.as_slice(),
        [Verify::ScramCredentials { authcid, authzid: None, .. }] if authcid == "alice"
    ));
    assert!(matches!(
        p.logins.as_slice(),
        [server::Credentials::Sasl { mechanism, authcid, authzid: None }]
            if mechanism == "SCRAM-SHA-256" && authcid == "alice"
    ));
}

#[test]
fn scram_sha_256_wrong_password_is_auth_error() {
    let (p, auth) = login(
        Mechanism::ScramSha256,
        &Credentials::password("alice", "wrong"),
    );
    let Err(response) = p.reply(auth) else {
        panic!("accepted a wrong password")
    };
    assert_eq!(
        response.code,
        Some(postwerk_pop3::codec::ResponseCode::Auth)
    );
    assert!(!p.client.is_authenticated());
    assert!(p.logins.is_empty());
    assert_eq!(p.server.authenticated(), None);
}

#[test]
fn plain_end_to_end_with_authzid() {
    let creds = Credentials::password("alice", "secret").with_authzid("shared@example.org");
    let (p, auth) = login(Mechanism::Plain, &creds);
    assert!(matches!(p.reply(auth), Ok(Reply::Ok(_))));
    assert!(stat_ok(&p));
    // The session acts as the authorization identity; the mechanism name
    // is never the identity.
    assert_eq!(p.server.authenticated(), Some("shared@example.org"));
    assert!(matches!(
        p.logins.as_slice(),
        [server::Credentials::Sasl { mechanism, authcid, authzid: Some(z) }]
            if mechanism == "PLAIN" && authcid == "alice" && z == "shared@example.org"
    ));
}

#[test]
fn login_end_to_end() {
    let (p, auth) = login(Mechanism::Login, &Credentials::password("alice", "secret"));
    assert!(matches!(p.reply(auth), Ok(Reply::Ok(_))));
    assert!(stat_ok(&p));
    assert_eq!(p.server.authenticated(), Some("alice"));
}

#[test]
fn xoauth2_end_to_end_records_the_token_subject() {
    let (p, auth) = login(
        Mechanism::XOAuth2,
        &Credentials::oauth("alice@example.org", "ya29.token"),
    );
    assert!(matches!(p.reply(auth), Ok(Reply::Ok(_))));
    assert!(stat_ok(&p));
    // The identity the application accepted, not the claimed user name.
    assert_eq!(p.server.authenticated(), Some("alice@token.test"));
    assert!(matches!(
        p.verified.as_slice(),
        [Verify::Token { mechanism, user: Some(u), .. }]
            if mechanism == "XOAUTH2" && u == "alice@example.org"
    ));
}

#[test]
fn xoauth2_bad_token_gets_the_error_json_then_auth_error() {
    let (p, auth) = login(
        Mechanism::XOAuth2,
        &Credentials::oauth("alice@example.org", "expired"),
    );
    let Err(response) = p.reply(auth) else {
        panic!("accepted a bad token")
    };
    assert_eq!(
        response.code,
        Some(postwerk_pop3::codec::ResponseCode::Auth)
    );
    assert!(!stat_ok(&p));
}

#[test]
fn oauthbearer_end_to_end() {
    let creds = Credentials::oauth("alice@example.org", "ya29.token").with_host("pop.test", 110);
    let (p, auth) = login(Mechanism::OAuthBearer, &creds);
    assert!(matches!(p.reply(auth), Ok(Reply::Ok(_))));
    assert!(stat_ok(&p));
    assert!(matches!(
        p.verified.as_slice(),
        [Verify::Token { host: Some(h), port: Some(110), .. }] if h == "pop.test"
    ));
}

#[test]
fn capa_lists_the_registry_and_the_client_picks_the_strongest() {
    let mut p = Pair::new(config(ServerMechanisms::builtin()), MESSAGES.to_vec());
    let capa = p.client.capa().unwrap();
    p.run();
    let Ok(Reply::Capabilities(caps)) = p.reply(capa) else {
        panic!("capa")
    };
    // Cleartext allowed by setting: PLAIN and LOGIN are offered too.
    assert_eq!(
        caps.sasl,
        ["SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2", "PLAIN", "LOGIN"]
    );
    let creds = Credentials::password("alice", "secret");
    let chosen =
        postwerk_pop3::sasl::choose_mechanism(caps.sasl.iter().map(String::as_str), &creds, false);
    assert_eq!(chosen, Some(Mechanism::ScramSha256));

    // Without TLS and without the setting, PLAIN and LOGIN are not offered.
    let mut c = config(ServerMechanisms::builtin());
    c.allow_plaintext_auth = false;
    let mut p = Pair::new(c, MESSAGES.to_vec());
    let capa = p.client.capa().unwrap();
    let plain = p.client.auth_plain("", "alice", "secret").unwrap();
    p.run();
    let Ok(Reply::Capabilities(caps)) = p.reply(capa) else {
        panic!("capa")
    };
    assert_eq!(caps.sasl, ["SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2"]);
    let Err(refused) = p.reply(plain) else {
        panic!("PLAIN accepted in cleartext")
    };
    assert_eq!(refused.code, Some(postwerk_pop3::codec::ResponseCode::Auth));
}

#[test]
fn scram_plus_offered_with_channel_binding() {
    let mut p = Pair::new(config(ServerMechanisms::builtin()), MESSAGES.to_vec());
    p.server.set_channel_binding(vec![7; 32]);
    let capa = p.client.capa().unwrap();
    let creds = Credentials::password("alice", "secret").with_channel_binding(vec![7; 32]);
    let auth = p
        .client
        .auth_with(Mechanism::ScramSha256Plus, &creds, "client-nonce-from-rng")
        .unwrap();
    p.run();
    let Ok(Reply::Capabilities(caps)) = p.reply(capa) else {
        panic!("capa")
    };
    assert_eq!(
        caps.sasl.first().map(String::as_str),
        Some("SCRAM-SHA-256-PLUS")
    );
    assert!(
        matches!(p.reply(auth), Ok(Reply::Ok(_))),
        "{:?}",
        p.client_events
    );

    // Different channel binding data: the exchange fails.
    let mut p = Pair::new(config(ServerMechanisms::builtin()), MESSAGES.to_vec());
    p.server.set_channel_binding(vec![8; 32]);
    let auth = p
        .client
        .auth_with(Mechanism::ScramSha256Plus, &creds, "client-nonce-from-rng")
        .unwrap();
    p.run();
    assert!(p.reply(auth).is_err());
}

// ----- RFC 5034 section 6 examples, client side -----

fn greeted(now: Instant) -> client::Connection {
    let mut conn = client::Connection::new(client::Config::default(), now);
    conn.handle_input(
        b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
        now,
    );
    while conn.poll_event().is_some() {}
    conn
}

fn sent(conn: &mut client::Connection) -> String {
    let mut out = Vec::new();
    while let Some(b) = conn.poll_transmit() {
        out.extend_from_slice(&b);
    }
    String::from_utf8(out).unwrap()
}

fn events(conn: &mut client::Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

#[test]
fn rfc5034_example_plain_with_initial_response() {
    let now = Instant::now();
    let mut conn = greeted(now);
    let id = conn.auth_plain("test", "test", "test").unwrap();
    assert_eq!(sent(&mut conn), "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n");
    conn.handle_input(b"+OK Maildrop locked and ready\r\n", now);
    assert!(matches!(
        events(&mut conn).as_slice(),
        [Event::Reply { id: i, result: Ok(Reply::Ok(_)) }] if *i == id
    ));
    assert!(conn.is_authenticated());
}

#[test]
fn rfc5034_example_continuation_without_space() {
    // "S: +" (no space, no data) starts an exchange with no initial
    // response: the LOGIN client has none.
    let now = Instant::now();
    let mut conn = greeted(now);
    let creds = Credentials::password("test", "test");
    let id = conn.auth_with(Mechanism::Login, &creds, "n").unwrap();
    assert_eq!(sent(&mut conn), "AUTH LOGIN\r\n");
    conn.handle_input(
        format!("+ {}\r\n", encode_sasl(b"Username:")).as_bytes(),
        now,
    );
    assert_eq!(sent(&mut conn), format!("{}\r\n", encode_sasl(b"test")));
    conn.handle_input(b"+ UGFzc3dvcmQ6\r\n", now);
    assert_eq!(sent(&mut conn), format!("{}\r\n", encode_sasl(b"test")));
    conn.handle_input(b"+OK Maildrop locked and ready\r\n", now);
    assert!(matches!(
        events(&mut conn).as_slice(),
        [Event::Reply { id: i, result: Ok(_) }] if *i == id
    ));
}

#[test]
fn rfc5034_failed_exchange_and_malformed_challenge() {
    let now = Instant::now();
    let mut conn = greeted(now);
    let creds = Credentials::password("user", "pencil");
    let id = conn
        .auth_with(Mechanism::ScramSha256, &creds, "rOprNGfwEbeRWgbNEkqO")
        .unwrap();
    let first = sent(&mut conn);
    assert!(first.starts_with("AUTH SCRAM-SHA-256 "), "{first}");
    // A challenge that is not base64: cancel, report, then the -ERR.
    conn.handle_input(b"+ !!!\r\n", now);
    assert_eq!(sent(&mut conn), "*\r\n");
    conn.handle_input(b"-ERR [AUTH] authentication cancelled\r\n", now);
    let ev = events(&mut conn);
    assert!(
        matches!(
            ev.as_slice(),
            [
                Event::SaslError { id: e, error: ClientError::Malformed { .. } },
                Event::Reply { id: i, result: Err(_) },
            ] if *e == id && *i == id
        ),
        "{ev:?}"
    );
    assert!(!conn.is_closed() && !conn.is_authenticated());
}

/// The RFC 7677 exchange from the client side, with a server that ends it
/// with `+OK` but without proving itself, or with a wrong signature.
#[test]
fn scram_client_refuses_a_server_that_cannot_prove_itself() {
    let server_first =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    let client_final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    let start = |now| {
        let mut conn = greeted(now);
        let creds = Credentials::password("user", "pencil");
        let id = conn
            .auth_with(Mechanism::ScramSha256, &creds, "rOprNGfwEbeRWgbNEkqO")
            .unwrap();
        assert_eq!(
            sent(&mut conn),
            format!(
                "AUTH SCRAM-SHA-256 {}\r\n",
                encode_sasl(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            )
        );
        conn.handle_input(
            format!("+ {}\r\n", encode_sasl(server_first.as_bytes())).as_bytes(),
            now,
        );
        assert_eq!(
            sent(&mut conn),
            format!("{}\r\n", encode_sasl(client_final.as_bytes()))
        );
        (conn, id)
    };
    let now = Instant::now();

    // The real server signature, then +OK: trusted.
    let (mut conn, id) = start(now);
    let v = encode_sasl(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    conn.handle_input(format!("+ {v}\r\n").as_bytes(), now);
    assert_eq!(sent(&mut conn), "\r\n");
    conn.handle_input(b"+OK\r\n", now);
    assert!(matches!(
        events(&mut conn).as_slice(),
        [Event::Reply { id: i, result: Ok(_) }] if *i == id
    ));
    assert!(conn.is_authenticated());

    // +OK without the signature: the session ends, not trusted.
    let (mut conn, id) = start(now);
    conn.handle_input(b"+OK\r\n", now);
    let ev = events(&mut conn);
    assert!(
        matches!(
            ev.as_slice(),
            [
                Event::SaslError { id: e, error: ClientError::MissingServerSignature },
                Event::Closed { reason: CloseReason::Sasl(ClientError::MissingServerSignature) },
            ] if *e == id
        ),
        "{ev:?}"
    );
    assert!(!conn.is_authenticated());

    // A wrong signature: cancelled.
    let (mut conn, id) = start(now);
    let v = encode_sasl(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    conn.handle_input(format!("+ {v}\r\n").as_bytes(), now);
    assert_eq!(sent(&mut conn), "*\r\n");
    assert!(matches!(
        events(&mut conn).as_slice(),
        [Event::SaslError { id: e, error: ClientError::InvalidServerSignature }] if *e == id
    ));
}

// ----- a mechanism of the application's own, on both sides -----

#[derive(Debug)]
struct XTokenServer;

impl ServerMechanism for XTokenServer {
    fn name(&self) -> &str {
        "X-TOKEN"
    }
    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        match response {
            None => ServerStep::Challenge(b"token please".to_vec()),
            Some(token) => ServerStep::Verify(Verify::Custom {
                mechanism: "X-TOKEN".to_owned(),
                authcid: "alice".to_owned(),
                authzid: None,
                secret: postwerk_pop3::sasl::server::Secret::new(
                    String::from_utf8_lossy(token).into_owned(),
                ),
            }),
        }
    }
    fn answer(&mut self, answer: Answer) -> ServerStep {
        match answer {
            Answer::Accept => ServerStep::Success(Success::new("alice", None)),
            _ => ServerStep::Failure(postwerk_pop3::sasl::Failure::Rejected),
        }
    }
}

#[derive(Debug)]
struct XTokenClient;

impl ClientMechanism for XTokenClient {
    fn name(&self) -> &str {
        "X-TOKEN"
    }
    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(None)
    }
    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        assert_eq!(challenge, b"token please");
        Ok(b"secret".to_vec())
    }
}

#[test]
fn custom_mechanism_on_both_sides() {
    let mut mechanisms = ServerMechanisms::new();
    mechanisms
        .register(
            "X-TOKEN",
            Requirement::None,
            Box::new(|_| Ok(Box::new(XTokenServer))),
        )
        .unwrap();
    let mut p = Pair::new(config(mechanisms), MESSAGES.to_vec());
    let auth = p
        .client
        .auth(ClientExchange::new(Box::new(XTokenClient)))
        .unwrap();
    p.run();
    // The custom secret reached the application, which accepted it.
    assert!(matches!(
        p.verified.as_slice(),
        [Verify::Custom { mechanism, secret, .. }] if mechanism == "X-TOKEN" && secret.expose() == "secret"
    ));
    assert!(matches!(p.reply(auth), Ok(Reply::Ok(_))));
    assert_eq!(p.server.authenticated(), Some("alice"));
    let capa = p.client.capa().unwrap();
    p.run();
    assert!(p.reply(capa).is_ok());
}
