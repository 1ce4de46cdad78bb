//! The RFCs' and Google's published examples, reproduced byte for byte on both sides.

mod common;

use common::{b64, unb64};
use postwerk_sasl::client::{
    ChannelBinding, ClientMechanism, OAuthBearerClient, PlainClient, ScramClient, XOAuth2Client,
};
use postwerk_sasl::server::{
    Answer, OAuthBearerServer, PlainServer, ScramServer, ScramServerConfig, Secret, ServerExchange,
    ServerStep, Verify, XOAuth2Server,
};
use postwerk_sasl::{Failure, ScramCredentials, oauth_error_json};

// RFC 7677 section 3.
const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
const CLIENT_FIRST: &[u8] = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
const SERVER_FIRST: &[u8] =
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const CLIENT_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
const SERVER_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

#[test]
fn rfc7677_scram_sha_256_client_reproduces_the_exchange() {
    let mut client =
        ScramClient::new("user", "pencil", None, CLIENT_NONCE, ChannelBinding::None).unwrap();
    assert_eq!(client.name(), "SCRAM-SHA-256");
    assert_eq!(client.initial_response().unwrap().unwrap(), CLIENT_FIRST);
    assert_eq!(client.step(SERVER_FIRST).unwrap(), CLIENT_FINAL);
    assert_eq!(client.step(SERVER_FINAL).unwrap(), b"");
    client.finish(None).unwrap();
}

#[test]
fn rfc7677_scram_sha_256_client_accepts_server_final_as_success_data() {
    let mut client =
        ScramClient::new("user", "pencil", None, CLIENT_NONCE, ChannelBinding::None).unwrap();
    client.initial_response().unwrap();
    client.step(SERVER_FIRST).unwrap();
    client.finish(Some(SERVER_FINAL)).unwrap();
}

fn rfc7677_credentials() -> ScramCredentials {
    ScramCredentials::derive("pencil", &unb64("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096).unwrap()
}

#[test]
fn rfc7677_scram_sha_256_server_reproduces_the_exchange() {
    let config = ScramServerConfig::new(SERVER_NONCE).unwrap();
    let mut server = ServerExchange::new(Box::new(ScramServer::new(config)));
    let step = server.start(Some(CLIENT_FIRST)).unwrap();
    assert_eq!(
        step,
        ServerStep::Verify(Verify::ScramCredentials {
            mechanism: "SCRAM-SHA-256".into(),
            authcid: "user".into(),
            authzid: None,
        })
    );
    let step = server
        .answer(Answer::ScramCredentials(rfc7677_credentials()))
        .unwrap();
    assert_eq!(step, ServerStep::Challenge(SERVER_FIRST.to_vec()));
    let ServerStep::Success(success) = server.respond(CLIENT_FINAL).unwrap() else {
        panic!("expected success");
    };
    assert_eq!(success.additional_data(), Some(SERVER_FINAL));
    assert_eq!(success.authcid(), "user");
    assert_eq!(success.authzid(), None);
    assert!(server.is_finished());
}

#[test]
fn rfc7677_stored_keys_rebuilt_from_parts_verify_the_same_proof() {
    let derived = rfc7677_credentials();
    let rebuilt = ScramCredentials::from_parts(
        derived.salt().to_vec(),
        derived.iterations(),
        *derived.stored_key(),
        *derived.server_key(),
    )
    .unwrap();
    let config = ScramServerConfig::new(SERVER_NONCE).unwrap();
    let mut server = ServerExchange::new(Box::new(ScramServer::new(config)));
    server.start(Some(CLIENT_FIRST)).unwrap();
    server.answer(Answer::ScramCredentials(rebuilt)).unwrap();
    assert!(matches!(
        server.respond(CLIENT_FINAL).unwrap(),
        ServerStep::Success(_)
    ));
}

fn plain_server_verify(message: &[u8]) -> ServerStep {
    let mut server = ServerExchange::new(Box::new(PlainServer::new()));
    server.start(Some(message)).unwrap()
}

#[test]
fn rfc4616_plain_examples() {
    // "Here the user "tim" authenticates with the password "tanstaaftanstaaf"."
    assert_eq!(
        plain_server_verify(b"\0tim\0tanstaaftanstaaf"),
        ServerStep::Verify(Verify::Password {
            mechanism: "PLAIN".into(),
            authcid: "tim".into(),
            authzid: None,
            password: Secret::new("tanstaaftanstaaf"),
        })
    );
    // "Kurt" authenticates with "xipj3plmq" and asks to act as "Ursel".
    assert_eq!(
        plain_server_verify(b"Ursel\0Kurt\0xipj3plmq"),
        ServerStep::Verify(Verify::Password {
            mechanism: "PLAIN".into(),
            authcid: "Kurt".into(),
            authzid: Some("Ursel".into()),
            password: Secret::new("xipj3plmq"),
        })
    );
    let mut client = PlainClient::new("tim", "tanstaaftanstaaf", None).unwrap();
    assert_eq!(
        client.initial_response().unwrap().unwrap(),
        b"\0tim\0tanstaaftanstaaf"
    );
    let mut client = PlainClient::new("Kurt", "xipj3plmq", Some("Ursel".into())).unwrap();
    assert_eq!(
        client.initial_response().unwrap().unwrap(),
        b"Ursel\0Kurt\0xipj3plmq"
    );
}

#[test]
fn rfc4616_plain_accepted_records_the_real_identity() {
    let mut server = ServerExchange::new(Box::new(PlainServer::new()));
    server.start(Some(b"Ursel\0Kurt\0xipj3plmq")).unwrap();
    let ServerStep::Success(success) = server.answer(Answer::Accept).unwrap() else {
        panic!("expected success");
    };
    assert_eq!(success.authcid(), "Kurt");
    assert_eq!(success.authzid(), Some("Ursel"));
    assert_eq!(success.identity(), "Ursel");
}

// RFC 7628 section 4.1 (IMAP, port 143) and 4.2 (SMTP, port 587).
const TOKEN: &str = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
const RFC7628_IMAP: &str = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
const RFC7628_SMTP: &str = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9NTg3AWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
// RFC 7628 section 4.3/4.4: the server's error challenge.
const RFC7628_ERROR: &str = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";

#[test]
fn rfc7628_oauthbearer_client_messages() {
    for (port, expected) in [(143, RFC7628_IMAP), (587, RFC7628_SMTP)] {
        let mut client = OAuthBearerClient::new(
            Some("user@example.com".into()),
            TOKEN,
            Some("server.example.com".into()),
            Some(port),
        );
        assert_eq!(b64(&client.initial_response().unwrap().unwrap()), expected);
    }
}

#[test]
fn rfc7628_oauthbearer_server_success() {
    let mut server = ServerExchange::new(Box::new(OAuthBearerServer::new()));
    let step = server.start(Some(&unb64(RFC7628_SMTP))).unwrap();
    assert_eq!(
        step,
        ServerStep::Verify(Verify::Token {
            mechanism: "OAUTHBEARER".into(),
            user: Some("user@example.com".into()),
            token: Secret::new(TOKEN),
            host: Some("server.example.com".into()),
            port: Some(587),
        })
    );
    let ServerStep::Success(success) = server
        .answer(Answer::AcceptAs("user@example.com".into()))
        .unwrap()
    else {
        panic!("expected success");
    };
    assert_eq!(success.identity(), "user@example.com");
}

#[test]
fn rfc7628_oauthbearer_failure_exchange() {
    let error = oauth_error_json(
        "invalid_token",
        Some("example_scope"),
        Some("https://example.com/.well-known/openid-configuration"),
    );
    assert_eq!(b64(&error), RFC7628_ERROR);

    let mut server = ServerExchange::new(Box::new(OAuthBearerServer::new()));
    server.start(Some(&unb64(RFC7628_IMAP))).unwrap();
    let ServerStep::Challenge(challenge) = server.answer(Answer::RejectWith(error)).unwrap() else {
        panic!("expected the error challenge");
    };
    assert_eq!(b64(&challenge), RFC7628_ERROR);

    let mut client = OAuthBearerClient::new(
        Some("user@example.com".into()),
        TOKEN,
        Some("server.example.com".into()),
        Some(143),
    );
    client.initial_response().unwrap();
    let dummy = client.step(&challenge).unwrap();
    assert_eq!(b64(&dummy), "AQ==");
    assert_eq!(client.server_error(), Some(&unb64(RFC7628_ERROR)[..]));
    assert_eq!(
        server.respond(&dummy).unwrap(),
        ServerStep::Failure(Failure::Rejected)
    );
}

// Google's XOAUTH2 documentation: the initial client response, raw and base64.
const GOOGLE_XOAUTH2_RAW: &[u8] = b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01";
const GOOGLE_XOAUTH2_B64: &str = "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
// Google's documented error challenge.
const GOOGLE_XOAUTH2_ERROR: &[u8] =
    br#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;

#[test]
fn google_xoauth2_example() {
    let mut client = XOAuth2Client::new(
        "someuser@example.com",
        "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
    );
    let initial = client.initial_response().unwrap().unwrap();
    assert_eq!(initial, GOOGLE_XOAUTH2_RAW);
    assert_eq!(b64(&initial), GOOGLE_XOAUTH2_B64);

    let mut server = ServerExchange::new(Box::new(XOAuth2Server::new()));
    assert_eq!(
        server.start(Some(&unb64(GOOGLE_XOAUTH2_B64))).unwrap(),
        ServerStep::Verify(Verify::Token {
            mechanism: "XOAUTH2".into(),
            user: Some("someuser@example.com".into()),
            token: Secret::new("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
            host: None,
            port: None,
        })
    );
}

#[test]
fn google_xoauth2_error_challenge_then_empty_response() {
    let mut server = ServerExchange::new(Box::new(XOAuth2Server::new()));
    server.start(Some(GOOGLE_XOAUTH2_RAW)).unwrap();
    let step = server
        .answer(Answer::RejectWith(GOOGLE_XOAUTH2_ERROR.to_vec()))
        .unwrap();
    assert_eq!(step, ServerStep::Challenge(GOOGLE_XOAUTH2_ERROR.to_vec()));

    let mut client = XOAuth2Client::new("someuser@example.com", "ya29.x");
    client.initial_response().unwrap();
    let response = client.step(GOOGLE_XOAUTH2_ERROR).unwrap();
    assert_eq!(response, b"");
    assert_eq!(client.server_error(), Some(GOOGLE_XOAUTH2_ERROR));
    assert_eq!(
        server.respond(&response).unwrap(),
        ServerStep::Failure(Failure::Rejected)
    );
}

#[test]
fn xoauth2_default_reject_sends_a_json_error() {
    let mut server = ServerExchange::new(Box::new(XOAuth2Server::new()));
    server.start(Some(GOOGLE_XOAUTH2_RAW)).unwrap();
    let ServerStep::Challenge(json) = server.answer(Answer::Reject).unwrap() else {
        panic!("expected the error challenge");
    };
    assert!(json.starts_with(br#"{"status":"401""#));
}
