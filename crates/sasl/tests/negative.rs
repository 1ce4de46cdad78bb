//! Attacks and broken peers: wrong proofs, tampered nonces and channel bindings, downgrades,
//! authorization identities, over-long input, and API misuse.

mod common;

use common::{Outcome, b64, run};
use postwerk_sasl::client::{
    ChannelBinding, ClientExchange, ClientMechanism, LoginClient, ScramClient,
};
use postwerk_sasl::server::{
    Answer, ExternalServer, LoginServer, PlainServer, ScramServer, ScramServerConfig, Secret,
    ServerContext, ServerExchange, ServerMechanisms, ServerStep, Verify,
};
use postwerk_sasl::{ClientError, Failure, ScramCredentials, UsageError};

const SERVER_NONCE: &str = "3rfcNHYJY1ZVvWVs7j";
const CLIENT_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";

fn creds(password: &str) -> ScramCredentials {
    ScramCredentials::derive(password, b"salt and pepper!", 4096).unwrap()
}

fn scram_client(password: &str, authzid: Option<&str>, cb: ChannelBinding) -> ClientExchange {
    ClientExchange::new(Box::new(
        ScramClient::new(
            "user",
            password,
            authzid.map(str::to_owned),
            CLIENT_NONCE,
            cb,
        )
        .unwrap(),
    ))
}

fn scram_server(plus: bool, cb: Option<&[u8]>) -> ServerExchange {
    let mut config = ScramServerConfig::new(SERVER_NONCE).unwrap();
    if let Some(cb) = cb {
        config = config.with_channel_binding(cb.to_vec());
    }
    let mech = if plus {
        ScramServer::new_plus(config).unwrap()
    } else {
        ScramServer::new(config)
    };
    ServerExchange::new(Box::new(mech))
}

fn answer_with(password: &'static str) -> impl FnMut(&Verify) -> Answer {
    move |_| Answer::ScramCredentials(creds(password))
}

#[test]
fn scram_round_trip_succeeds() {
    let outcome = run(
        &mut scram_client("pencil", None, ChannelBinding::None),
        &mut scram_server(false, None),
        answer_with("pencil"),
    );
    let Outcome::Success(success) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(success.authcid(), "user");
}

#[test]
fn scram_wrong_password_fails_the_proof() {
    let outcome = run(
        &mut scram_client("pencil!", None, ChannelBinding::None),
        &mut scram_server(false, None),
        answer_with("pencil"),
    );
    assert_eq!(outcome, Outcome::ServerFailure(Failure::InvalidProof));
}

#[test]
fn scram_unknown_user_looks_like_a_wrong_password() {
    let mut server = scram_server(false, None);
    let mut client = scram_client("pencil", None, ChannelBinding::None);
    let first = client.initial_response().unwrap();
    server.start(first.as_deref()).unwrap();
    let ServerStep::Challenge(server_first) = server.answer(Answer::UnknownUser).unwrap() else {
        panic!("expected a made-up server-first message");
    };
    assert!(server_first.starts_with(format!("r={CLIENT_NONCE}{SERVER_NONCE},s=").as_bytes()));
    assert!(server_first.ends_with(b",i=4096"));
    let last = client.step(&server_first).unwrap();
    assert_eq!(
        server.respond(&last).unwrap(),
        ServerStep::Failure(Failure::Rejected)
    );
}

fn client_final_after(server: &mut ServerExchange, client: &mut ClientExchange) -> Vec<u8> {
    let first = client.initial_response().unwrap();
    server.start(first.as_deref()).unwrap();
    let ServerStep::Challenge(server_first) = server
        .answer(Answer::ScramCredentials(creds("pencil")))
        .unwrap()
    else {
        panic!("expected server-first");
    };
    client.step(&server_first).unwrap()
}

#[test]
fn scram_tampered_nonce_in_client_final_is_refused() {
    let mut server = scram_server(false, None);
    let mut client = scram_client("pencil", None, ChannelBinding::None);
    let last = client_final_after(&mut server, &mut client);
    let tampered = String::from_utf8(last)
        .unwrap()
        .replace(SERVER_NONCE, "3rfcNHYJY1ZVvWVs7X");
    assert_eq!(
        server.respond(tampered.as_bytes()).unwrap(),
        ServerStep::Failure(Failure::NonceMismatch)
    );
}

#[test]
fn scram_client_refuses_a_server_nonce_not_extending_its_own() {
    let mut client =
        ScramClient::new("user", "pencil", None, CLIENT_NONCE, ChannelBinding::None).unwrap();
    client.initial_response().unwrap();
    assert_eq!(
        client.step(b"r=somethingelse,s=c2FsdA==,i=4096"),
        Err(ClientError::NonceMismatch)
    );
    let mut client =
        ScramClient::new("user", "pencil", None, CLIENT_NONCE, ChannelBinding::None).unwrap();
    client.initial_response().unwrap();
    // The bare client nonce without a server part is refused too.
    let echo = format!("r={CLIENT_NONCE},s=c2FsdA==,i=4096");
    assert_eq!(
        client.step(echo.as_bytes()),
        Err(ClientError::NonceMismatch)
    );
}

#[test]
fn scram_plus_round_trip_with_matching_tls_exporter() {
    let cb = [0x5a; 32];
    let outcome = run(
        &mut scram_client("pencil", None, ChannelBinding::TlsExporter(cb.to_vec())),
        &mut scram_server(true, Some(&cb)),
        answer_with("pencil"),
    );
    assert!(matches!(outcome, Outcome::Success(_)), "{outcome:?}");
}

#[test]
fn scram_plus_channel_binding_mismatch_is_detected() {
    // A man in the middle terminates TLS: the two sides see different exporters.
    let outcome = run(
        &mut scram_client("pencil", None, ChannelBinding::TlsExporter(vec![1; 32])),
        &mut scram_server(true, Some(&[2; 32])),
        answer_with("pencil"),
    );
    assert_eq!(
        outcome,
        Outcome::ServerFailure(Failure::ChannelBindingMismatch)
    );
}

#[test]
fn scram_downgrade_gs2_y_while_server_offers_plus_is_detected() {
    // The client can bind, but an attacker removed -PLUS from the offer: it sends `y`.
    let outcome = run(
        &mut scram_client("pencil", None, ChannelBinding::SupportedNotUsed),
        &mut scram_server(false, Some(&[3; 32])),
        answer_with("pencil"),
    );
    assert_eq!(
        outcome,
        Outcome::ServerFailure(Failure::ChannelBindingDowngrade)
    );
}

#[test]
fn scram_gs2_y_is_fine_when_the_server_offers_no_plus() {
    let outcome = run(
        &mut scram_client("pencil", None, ChannelBinding::SupportedNotUsed),
        &mut scram_server(false, None),
        answer_with("pencil"),
    );
    assert!(matches!(outcome, Outcome::Success(_)), "{outcome:?}");
}

#[test]
fn scram_registry_start_marks_plus_offered_for_downgrade_detection() {
    let ctx = ServerContext::new(SERVER_NONCE).with_channel_binding(vec![9; 32]);
    let mut server = ServerMechanisms::builtin()
        .start("SCRAM-SHA-256", &ctx)
        .unwrap();
    assert_eq!(
        server.start(Some(b"y,,n=user,r=abc")).unwrap(),
        ServerStep::Failure(Failure::ChannelBindingDowngrade)
    );
}

#[test]
fn scram_gs2_flag_must_fit_the_mechanism() {
    let mut server = scram_server(false, None);
    assert_eq!(
        server.start(Some(b"p=tls-exporter,,n=user,r=abc")).unwrap(),
        ServerStep::Failure(Failure::ChannelBindingNotNegotiated)
    );
    let mut server = scram_server(true, Some(&[1; 32]));
    assert_eq!(
        server.start(Some(b"n,,n=user,r=abc")).unwrap(),
        ServerStep::Failure(Failure::ChannelBindingNotNegotiated)
    );
    let mut server = scram_server(true, Some(&[1; 32]));
    assert_eq!(
        server.start(Some(b"p=tls-unique,,n=user,r=abc")).unwrap(),
        ServerStep::Failure(Failure::UnsupportedChannelBinding("tls-unique".into()))
    );
}

#[test]
fn scram_gs2_header_rewritten_in_c_is_detected() {
    let mut server = scram_server(false, None);
    let mut client = scram_client("pencil", None, ChannelBinding::None);
    let last = client_final_after(&mut server, &mut client);
    // c=biws is base64("n,,"); "eSws" is base64("y,,").
    let tampered = String::from_utf8(last).unwrap().replace("c=biws", "c=eSws");
    assert_eq!(
        server.respond(tampered.as_bytes()).unwrap(),
        ServerStep::Failure(Failure::ChannelBindingMismatch)
    );
}

#[test]
fn scram_mandatory_extension_is_refused() {
    let mut server = scram_server(false, None);
    assert_eq!(
        server.start(Some(b"n,,m=ext,n=user,r=abc")).unwrap(),
        ServerStep::Failure(Failure::UnsupportedExtension)
    );
}

#[test]
fn scram_authzid_is_escaped_carried_and_recorded() {
    let mut seen = None;
    let outcome = run(
        &mut scram_client("pencil", Some("ad=min,1"), ChannelBinding::None),
        &mut scram_server(false, None),
        |v| {
            seen = Some(v.clone());
            Answer::ScramCredentials(creds("pencil"))
        },
    );
    assert_eq!(
        seen,
        Some(Verify::ScramCredentials {
            mechanism: "SCRAM-SHA-256".into(),
            authcid: "user".into(),
            authzid: Some("ad=min,1".into()),
        })
    );
    let Outcome::Success(success) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(success.authcid(), "user");
    assert_eq!(success.authzid(), Some("ad=min,1"));
    assert_eq!(success.identity(), "ad=min,1");
}

#[test]
fn scram_authzid_refused_by_the_application() {
    let outcome = run(
        &mut scram_client("pencil", Some("admin"), ChannelBinding::None),
        &mut scram_server(false, None),
        |_| Answer::Reject,
    );
    assert_eq!(outcome, Outcome::ServerFailure(Failure::Rejected));
}

#[test]
fn plain_authzid_refused_by_the_application() {
    let mut server = ServerExchange::new(Box::new(PlainServer::new()));
    server.start(Some(b"admin\0user\0pw")).unwrap();
    assert_eq!(
        server.answer(Answer::Reject).unwrap(),
        ServerStep::Failure(Failure::Rejected)
    );
}

#[test]
fn scram_client_refuses_a_wrong_server_signature() {
    let mut server = scram_server(false, None);
    let mut client = scram_client("pencil", None, ChannelBinding::None);
    let last = client_final_after(&mut server, &mut client);
    assert!(matches!(
        server.respond(&last).unwrap(),
        ServerStep::Success(_)
    ));
    let forged = format!("v={}", b64(&[0u8; 32]));
    assert_eq!(
        client.step(forged.as_bytes()),
        Err(ClientError::InvalidServerSignature)
    );
}

#[test]
fn scram_client_refuses_success_without_server_signature() {
    let mut server = scram_server(false, None);
    let mut client = scram_client("pencil", None, ChannelBinding::None);
    client_final_after(&mut server, &mut client);
    assert_eq!(
        client.finish(None),
        Err(ClientError::MissingServerSignature)
    );
}

#[test]
fn scram_client_reports_server_error() {
    let mut server = scram_server(false, None);
    let mut client = scram_client("pencil", None, ChannelBinding::None);
    client_final_after(&mut server, &mut client);
    assert_eq!(
        client.step(b"e=invalid-proof"),
        Err(ClientError::ServerError("invalid-proof".into()))
    );
}

#[test]
fn scram_client_bounds_the_iteration_count() {
    for (count, ok) in [
        (4095, false),
        (4096, true),
        (10_000_001, false),
        (u32::MAX, false),
    ] {
        let mut client =
            ScramClient::new("user", "pencil", None, "abc", ChannelBinding::None).unwrap();
        client.initial_response().unwrap();
        let server_first = format!("r=abcdef,s=c2FsdA==,i={count}");
        let result = client.step(server_first.as_bytes());
        assert_eq!(result.is_ok(), ok, "{count}: {result:?}");
    }
}

#[test]
fn scram_client_refuses_malformed_server_messages() {
    for bad in [
        &b""[..],
        b"r=abcdef",
        b"r=abcdef,s=!!!,i=4096",
        b"r=abcdef,s=c2FsdA==,i=-1",
        b"r=abcdef,s=c2FsdA==,i=+4096",
        b"m=x,r=abcdef,s=c2FsdA==,i=4096",
        b"s=c2FsdA==,r=abcdef,i=4096",
    ] {
        let mut client =
            ScramClient::new("user", "pencil", None, "abc", ChannelBinding::None).unwrap();
        client.initial_response().unwrap();
        assert!(
            client.step(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn security_22_over_long_responses_fail_every_server_mechanism() {
    let ctx = ServerContext::new(SERVER_NONCE)
        .protected(true)
        .with_channel_binding(vec![1; 32])
        .with_max_response_len(1000);
    let mut mechanisms = ServerMechanisms::builtin();
    mechanisms.add_builtin(postwerk_sasl::Mechanism::External);
    let huge = vec![b'a'; 1001];
    for name in mechanisms.offered(&ctx) {
        let mut server = mechanisms.start(name, &ctx).unwrap();
        assert_eq!(
            server.start(Some(&huge)).unwrap(),
            ServerStep::Failure(Failure::ResponseTooLong {
                len: 1001,
                max: 1000
            }),
            "{name}"
        );
        assert!(server.is_finished());
        assert_eq!(server.respond(b"x"), Err(UsageError::Finished));
    }
    // The default limit.
    let mut server = ServerExchange::new(Box::new(PlainServer::new()));
    let step = server.start(Some(&vec![0u8; 16 * 1024 + 1])).unwrap();
    assert!(matches!(
        step,
        ServerStep::Failure(f @ Failure::ResponseTooLong { .. }) if f.is_malformed()
    ));
}

#[test]
fn over_long_challenges_fail_the_client() {
    let mut client =
        ClientExchange::new(Box::new(LoginClient::new("u", "p"))).with_max_challenge_len(100);
    assert_eq!(
        client.step(&[b'x'; 101]),
        Err(ClientError::ChallengeTooLong { len: 101, max: 100 })
    );
}

#[test]
fn plain_malformed_messages_fail() {
    for bad in [
        &b""[..],
        b"user\0pw",
        b"\0\0pw",
        b"\0user\0",
        b"a\0b\0c\0d",
        b"\0us\xffer\0pw",
    ] {
        let mut server = ServerExchange::new(Box::new(PlainServer::new()));
        let step = server.start(Some(bad)).unwrap();
        assert!(
            matches!(step, ServerStep::Failure(ref f) if f.is_malformed()),
            "{bad:?}: {step:?}"
        );
    }
}

#[test]
fn plain_without_initial_response_sends_an_empty_challenge() {
    let mut server = ServerExchange::new(Box::new(PlainServer::new()));
    assert_eq!(server.start(None).unwrap(), ServerStep::Challenge(vec![]));
    assert!(matches!(
        server.respond(b"\0u\0p").unwrap(),
        ServerStep::Verify(Verify::Password { .. })
    ));
}

#[test]
fn login_with_and_without_initial_response() {
    let mut server = ServerExchange::new(Box::new(LoginServer::new()));
    assert_eq!(
        server.start(None).unwrap(),
        ServerStep::Challenge(b"Username:".to_vec())
    );
    assert_eq!(
        server.respond(b"tim").unwrap(),
        ServerStep::Challenge(b"Password:".to_vec())
    );
    assert_eq!(
        server.respond(b"secret").unwrap(),
        ServerStep::Verify(Verify::Password {
            mechanism: "LOGIN".into(),
            authcid: "tim".into(),
            authzid: None,
            password: Secret::new("secret"),
        })
    );
    let ServerStep::Success(success) = server.answer(Answer::Accept).unwrap() else {
        panic!("expected success");
    };
    assert_eq!(success.identity(), "tim");

    let mut server = ServerExchange::new(Box::new(LoginServer::new()));
    assert_eq!(
        server.start(Some(b"tim")).unwrap(),
        ServerStep::Challenge(b"Password:".to_vec())
    );
    let mut server = ServerExchange::new(Box::new(LoginServer::new()));
    assert!(matches!(
        server.start(Some(b"")).unwrap(),
        ServerStep::Failure(Failure::Malformed { .. })
    ));
}

#[test]
fn external_carries_the_authzid_and_records_the_certificate_identity() {
    let mut server = ServerExchange::new(Box::new(ExternalServer::new()));
    assert_eq!(server.start(None).unwrap(), ServerStep::Challenge(vec![]));
    assert_eq!(
        server.respond(b"").unwrap(),
        ServerStep::Verify(Verify::External { authzid: None })
    );
    let ServerStep::Success(success) = server
        .answer(Answer::AcceptAs("CN=client.example".into()))
        .unwrap()
    else {
        panic!("expected success");
    };
    assert_eq!(success.authcid(), "CN=client.example");
    assert_eq!(success.authzid(), None);

    let mut server = ServerExchange::new(Box::new(ExternalServer::new()));
    assert_eq!(
        server.start(Some(b"postmaster")).unwrap(),
        ServerStep::Verify(Verify::External {
            authzid: Some("postmaster".into())
        })
    );
    assert_eq!(
        server.answer(Answer::Reject).unwrap(),
        ServerStep::Failure(Failure::Rejected)
    );
}

#[test]
fn oauth_accept_without_a_known_user_is_refused() {
    // OAUTHBEARER without a= has no name: the application must say whose token it was.
    let mut server = ServerMechanisms::builtin()
        .start("OAUTHBEARER", &ServerContext::new("n"))
        .unwrap();
    server
        .start(Some(b"n,,\x01auth=Bearer abc\x01\x01"))
        .unwrap();
    assert_eq!(
        server.answer(Answer::Accept).unwrap(),
        ServerStep::Failure(Failure::Rejected)
    );
}

#[test]
fn oauthbearer_refuses_channel_binding_and_malformed_messages() {
    for bad in [
        &b"p=tls-exporter,,\x01auth=Bearer abc\x01\x01"[..],
        b"n,,auth=Bearer abc\x01\x01",
        b"n,,\x01auth=Bearer abc\x01",
        b"n,,\x01auth=Basic abc\x01\x01",
        b"n,,\x01host=x\x01\x01",
        b"n,,\x01auth=Bearer a\x01auth=Bearer b\x01\x01",
        b"n,,\x01port=99999\x01auth=Bearer abc\x01\x01",
    ] {
        let mut server = ServerMechanisms::builtin()
            .start("OAUTHBEARER", &ServerContext::new("n"))
            .unwrap();
        let step = server.start(Some(bad)).unwrap();
        assert!(
            matches!(step, ServerStep::Failure(Failure::Malformed { .. })),
            "{bad:?}: {step:?}"
        );
    }
}

#[test]
fn api_misuse_is_a_usage_error() {
    let mut server = ServerExchange::new(Box::new(PlainServer::new()));
    assert_eq!(
        server.respond(b"x"),
        Err(UsageError::OutOfOrder("not started"))
    );
    assert_eq!(
        server.answer(Answer::Accept),
        Err(UsageError::NoPendingRequest)
    );
    server.start(Some(b"\0u\0p")).unwrap();
    assert_eq!(server.respond(b"x"), Err(UsageError::AnswerPending));
    assert_eq!(
        server.start(None),
        Err(UsageError::OutOfOrder("already started"))
    );
    server.answer(Answer::Reject).unwrap();
    assert_eq!(server.answer(Answer::Accept), Err(UsageError::Finished));

    assert_eq!(
        ScramServerConfig::new("a,b").unwrap_err(),
        UsageError::InvalidNonce
    );
    assert_eq!(
        ScramServer::new_plus(ScramServerConfig::new("abc").unwrap()).unwrap_err(),
        UsageError::MissingChannelBinding
    );
    assert_eq!(
        ScramClient::new("u", "p", None, "", ChannelBinding::None).unwrap_err(),
        UsageError::InvalidNonce
    );
    // U+0007 is a prohibited control character in SASLprep.
    assert_eq!(
        ScramClient::new("u", "p\u{7}", None, "abc", ChannelBinding::None).unwrap_err(),
        UsageError::InvalidString("password")
    );
    assert!(matches!(
        ServerMechanisms::builtin().start("PLAIN", &ServerContext::new("n")),
        Err(UsageError::NotOffered(_))
    ));
}

#[test]
fn saslprep_maps_equivalent_passwords_to_the_same_keys() {
    // RFC 4013: non-ASCII space maps to space, soft hyphen is removed, NFKC applies.
    let a = ScramCredentials::derive("I\u{00AD}X pen", b"salt", 4096).unwrap();
    let b = ScramCredentials::derive("IX\u{00A0}pen", b"salt", 4096).unwrap();
    let c = ScramCredentials::derive("\u{2168} pen", b"salt", 4096).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(
        ScramCredentials::derive("pen", b"salt", 0).unwrap_err(),
        UsageError::InvalidIterations
    );
}
