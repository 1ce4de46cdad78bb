//! Property tests: client and server of every mechanism agree for random identities and
//! secrets, and random bytes fed to any server (or client) never panic.

mod common;

use common::{Outcome, run};
use postwerk_sasl::client::{
    ChannelBinding, ClientExchange, ClientMechanism, ExternalClient, LoginClient,
    OAuthBearerClient, PlainClient, ScramClient, XOAuth2Client,
};
use postwerk_sasl::server::{
    Answer, ScramServer, ScramServerConfig, ServerContext, ServerExchange, ServerMechanisms,
    ServerStep, Verify,
};
use postwerk_sasl::{Mechanism, ScramCredentials};
use proptest::prelude::*;

fn identity() -> impl Strategy<Value = String> {
    // Includes `,` and `=`, which SCRAM and OAUTHBEARER must escape.
    "[a-zA-Z0-9@._,=+-]{1,24}"
}

fn secret() -> impl Strategy<Value = String> {
    "[ -~]{1,32}"
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~+/-]{1,40}=?"
}

fn check_password(
    mut client: ClientExchange,
    mut server: ServerExchange,
    user: &str,
    password: &str,
    authzid: Option<&str>,
) -> Result<(), TestCaseError> {
    let mut seen = false;
    let outcome = run(&mut client, &mut server, |v| {
        seen = true;
        match v {
            Verify::Password {
                authcid,
                password: p,
                authzid: z,
                ..
            } if authcid == user && p.expose() == password && z.as_deref() == authzid => {
                Answer::Accept
            }
            _ => Answer::Reject,
        }
    });
    prop_assert!(seen);
    let Outcome::Success(success) = outcome else {
        return Err(TestCaseError::fail(format!("{outcome:?}")));
    };
    prop_assert_eq!(success.authcid(), user);
    prop_assert_eq!(success.authzid(), authzid);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn plain_client_and_server_agree(
        user in identity(), password in secret(), authzid in proptest::option::of(identity()),
    ) {
        let client = ClientExchange::new(Box::new(
            PlainClient::new(&user, &password, authzid.clone()).unwrap(),
        ));
        let ctx = ServerContext::new("n").protected(true);
        let server = ServerMechanisms::builtin().start("PLAIN", &ctx).unwrap();
        check_password(client, server, &user, &password, authzid.as_deref())?;
    }

    #[test]
    fn login_client_and_server_agree(user in identity(), password in secret()) {
        let client = ClientExchange::new(Box::new(LoginClient::new(&user, password.clone())));
        let ctx = ServerContext::new("n").protected(true);
        let server = ServerMechanisms::builtin().start("LOGIN", &ctx).unwrap();
        check_password(client, server, &user, &password, None)?;
    }

    #[test]
    fn oauth_clients_and_servers_agree(
        user in identity(), tok in token(), port in any::<u16>(), bearer in any::<bool>(),
    ) {
        let (name, mech): (&str, Box<dyn ClientMechanism>) = if bearer {
            ("OAUTHBEARER", Box::new(OAuthBearerClient::new(
                Some(user.clone()), &tok, Some("mail.example".into()), Some(port),
            )))
        } else {
            ("XOAUTH2", Box::new(XOAuth2Client::new(&user, &tok)))
        };
        let mut client = ClientExchange::new(mech);
        let mut server = ServerMechanisms::builtin().start(name, &ServerContext::new("n")).unwrap();
        let outcome = run(&mut client, &mut server, |v| match v {
            Verify::Token { user: Some(u), token: t, .. } if *u == user && t.expose() == tok => {
                Answer::AcceptAs(u.clone())
            }
            _ => Answer::Reject,
        });
        let Outcome::Success(success) = outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?}")));
        };
        prop_assert_eq!(success.identity(), user.as_str());
    }

    #[test]
    fn external_client_and_server_agree(authzid in proptest::option::of(identity())) {
        let mut client = ClientExchange::new(Box::new(ExternalClient::new(authzid.clone()).unwrap()));
        let mut mechanisms = ServerMechanisms::new();
        mechanisms.add_builtin(Mechanism::External);
        let mut server = mechanisms.start("EXTERNAL", &ServerContext::new("n")).unwrap();
        let outcome = run(&mut client, &mut server, |v| match v {
            Verify::External { authzid: z } if *z == authzid => Answer::AcceptAs("cert".into()),
            _ => Answer::Reject,
        });
        let Outcome::Success(success) = outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?}")));
        };
        prop_assert_eq!(success.authcid(), "cert");
        prop_assert_eq!(success.authzid(), authzid.as_deref());
    }
}

proptest! {
    // PBKDF2 runs unoptimised in tests: fewer cases, few iterations.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn scram_client_and_server_agree(
        user in identity(),
        password in "\\PC{1,16}",
        wrong in "\\PC{1,16}",
        authzid in proptest::option::of(identity()),
        client_nonce in "[!-+\\--~]{1,24}",
        server_nonce in "[!-+\\--~]{1,24}",
        salt in proptest::collection::vec(any::<u8>(), 1..32),
        iterations in 1u32..64,
        cb in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..48)),
    ) {
        let binding = match &cb {
            Some(data) => ChannelBinding::TlsExporter(data.clone()),
            None => ChannelBinding::None,
        };
        let client = ScramClient::new(&user, &password, authzid.clone(), &client_nonce, binding);
        // Random strings may be prohibited by SASLprep; both sides refuse them alike.
        prop_assume!(client.is_ok());
        let Ok(stored) = ScramCredentials::derive(&password, &salt, iterations) else {
            return Err(TestCaseError::fail("derive refused what the client accepted"));
        };
        let wrong_stored = ScramCredentials::derive(&wrong, &salt, iterations).ok();
        let client = client.unwrap().with_iteration_limits(1, 64);
        let mut config = ScramServerConfig::new(server_nonce).unwrap();
        if let Some(data) = &cb {
            config = config.with_channel_binding(data.clone());
        }
        let server = match cb {
            Some(_) => ScramServer::new_plus(config).unwrap(),
            None => ScramServer::new(config),
        };
        let mut client = ClientExchange::new(Box::new(client));
        let mut server = ServerExchange::new(Box::new(server));
        let outcome = run(&mut client, &mut server, |v| match v {
            Verify::ScramCredentials { authzid: z, .. } if *z == authzid => {
                Answer::ScramCredentials(stored.clone())
            }
            _ => Answer::Reject,
        });
        let Outcome::Success(success) = outcome else {
            return Err(TestCaseError::fail(format!("{outcome:?}")));
        };
        prop_assert_eq!(success.authzid(), authzid.as_deref());

        // And the wrong password never passes (unless it prepares to the same string).
        if let Some(wrong_stored) = wrong_stored.filter(|w| *w != stored) {
            let client = ScramClient::new(&user, &password, None, &client_nonce, ChannelBinding::None)
                .unwrap()
                .with_iteration_limits(1, 64);
            let mut client = ClientExchange::new(Box::new(client));
            let mut server = ServerExchange::new(Box::new(ScramServer::new(
                ScramServerConfig::new("s").unwrap(),
            )));
            let outcome = run(&mut client, &mut server, |_| {
                Answer::ScramCredentials(wrong_stored.clone())
            });
            prop_assert!(matches!(outcome, Outcome::ServerFailure(_)), "{:?}", outcome);
        }
    }
}

fn answer_for(pick: u8) -> Answer {
    match pick % 6 {
        0 => Answer::Accept,
        1 => Answer::AcceptAs("someone".into()),
        2 => Answer::Reject,
        3 => Answer::RejectWith(b"{}".to_vec()),
        4 => Answer::ScramCredentials(ScramCredentials::derive("pencil", b"salt", 1).unwrap()),
        _ => Answer::UnknownUser,
    }
}

fn all_servers() -> (ServerMechanisms, ServerContext) {
    let mut mechanisms = ServerMechanisms::builtin();
    mechanisms.add_builtin(Mechanism::External);
    let ctx = ServerContext::new("srv-nonce")
        .protected(true)
        .with_channel_binding(vec![7; 32])
        .with_max_response_len(512);
    (mechanisms, ctx)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic_a_server(
        initial in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..600)),
        responses in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..6),
        picks in proptest::collection::vec(any::<u8>(), 6),
    ) {
        let (mechanisms, ctx) = all_servers();
        for name in mechanisms.offered(&ctx) {
            let mut server = mechanisms.start(name, &ctx).unwrap();
            let mut step = server.start(initial.as_deref()).unwrap();
            let mut responses = responses.iter();
            let mut picks = picks.iter().cycle();
            loop {
                step = match step {
                    ServerStep::Challenge(_) => match responses.next() {
                        Some(r) => server.respond(r).unwrap(),
                        None => break,
                    },
                    ServerStep::Verify(_) => {
                        server.answer(answer_for(*picks.next().unwrap_or(&0))).unwrap()
                    }
                    ServerStep::Success(_) | ServerStep::Failure(_) => break,
                };
            }
        }
    }

    #[test]
    fn random_bytes_never_panic_a_client(
        challenges in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..5),
        success in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
    ) {
        let mechs: Vec<Box<dyn ClientMechanism>> = vec![
            Box::new(PlainClient::new("u", "p", None).unwrap()),
            Box::new(LoginClient::new("u", "p")),
            Box::new(XOAuth2Client::new("u", "t")),
            Box::new(OAuthBearerClient::new(None, "t", None, None)),
            Box::new(ExternalClient::new(None).unwrap()),
            Box::new(ScramClient::new("u", "p", None, "abc", ChannelBinding::None).unwrap()
                .with_iteration_limits(1, 16)),
            Box::new(ScramClient::new("u", "p", None, "abc", ChannelBinding::TlsExporter(vec![1]))
                .unwrap().with_iteration_limits(1, 16)),
        ];
        for mech in mechs {
            let mut client = ClientExchange::new(mech);
            let _ = client.initial_response();
            for c in &challenges {
                let _ = client.step(c);
            }
            let _ = client.finish(success.as_deref());
        }
    }

    #[test]
    fn scram_server_never_panics_on_a_plausible_final(
        tail in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let mut server = ServerExchange::new(Box::new(ScramServer::new(
            ScramServerConfig::new("srv").unwrap(),
        )));
        server.start(Some(b"n,,n=user,r=cli")).unwrap();
        server.answer(answer_for(4)).unwrap();
        let mut msg = b"c=biws,r=clisrv,".to_vec();
        msg.extend_from_slice(&tail);
        let step = server.respond(&msg).unwrap();
        prop_assert!(matches!(step, ServerStep::Failure(_)));
    }
}
