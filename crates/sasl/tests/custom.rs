//! An application adds its own mechanism, `X-TOKEN`, on both sides, without touching the
//! crate: `X-TOKEN` sends `user NUL token` and the server asks the application to check it.

mod common;

use common::{Outcome, run};
use postwerk_sasl::client::{ClientExchange, ClientMechanism};
use postwerk_sasl::server::{
    Answer, Requirement, Secret, ServerContext, ServerExchange, ServerMechanism, ServerMechanisms,
    ServerStep, Success, Verify,
};
use postwerk_sasl::{ClientError, Failure, UsageError};

#[derive(Debug, Default)]
struct XTokenServer {
    user: Option<String>,
}

impl ServerMechanism for XTokenServer {
    fn name(&self) -> &str {
        "X-TOKEN"
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        let Some(response) = response else {
            return ServerStep::Challenge(b"token please".to_vec());
        };
        let mut parts = response.splitn(2, |&b| b == 0);
        match (parts.next(), parts.next()) {
            (Some(user), Some(token)) if !user.is_empty() => {
                let user = String::from_utf8_lossy(user).into_owned();
                self.user = Some(user.clone());
                ServerStep::Verify(Verify::Custom {
                    mechanism: "X-TOKEN".into(),
                    authcid: user,
                    authzid: None,
                    secret: Secret::new(String::from_utf8_lossy(token)),
                })
            }
            _ => ServerStep::Failure(Failure::Malformed {
                mechanism: "X-TOKEN".into(),
                what: "expected user NUL token",
            }),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        match (answer, self.user.take()) {
            (Answer::Accept, Some(user)) => ServerStep::Success(
                Success::new(user, None).with_additional_data(b"welcome".to_vec()),
            ),
            _ => ServerStep::Failure(Failure::Rejected),
        }
    }
}

#[derive(Debug)]
struct XTokenClient {
    user: String,
    token: String,
}

impl ClientMechanism for XTokenClient {
    fn name(&self) -> &str {
        "X-TOKEN"
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(None)
    }

    fn step(&mut self, _challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        Ok(format!("{}\0{}", self.user, self.token).into_bytes())
    }

    fn finish(&mut self, data: Option<&[u8]>) -> Result<(), ClientError> {
        match data {
            Some(b"welcome") => Ok(()),
            _ => Err(ClientError::MissingServerSignature),
        }
    }
}

fn registry() -> ServerMechanisms {
    let mut mechanisms = ServerMechanisms::new();
    mechanisms
        .register(
            "X-TOKEN",
            Requirement::None,
            Box::new(|_: &ServerContext| Ok(Box::new(XTokenServer::default()))),
        )
        .unwrap();
    mechanisms
}

#[test]
fn custom_mechanism_is_offered_started_and_verified_by_the_application() {
    let mechanisms = registry();
    let ctx = ServerContext::new("nonce");
    assert_eq!(mechanisms.offered(&ctx), ["X-TOKEN"]);
    let mut server = mechanisms.start("x-token", &ctx).unwrap();
    assert_eq!(server.mechanism_name(), "X-TOKEN");
    let mut client = ClientExchange::new(Box::new(XTokenClient {
        user: "alice".into(),
        token: "t0k3n".into(),
    }));
    let mut seen = None;
    let outcome = run(&mut client, &mut server, |v| {
        seen = Some(v.clone());
        Answer::Accept
    });
    assert_eq!(
        seen,
        Some(Verify::Custom {
            mechanism: "X-TOKEN".into(),
            authcid: "alice".into(),
            authzid: None,
            secret: Secret::new("t0k3n"),
        })
    );
    let Outcome::Success(success) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(success.identity(), "alice");
}

#[test]
fn custom_mechanism_rejected() {
    let mut server = registry()
        .start("X-TOKEN", &ServerContext::new("n"))
        .unwrap();
    let mut client = ClientExchange::new(Box::new(XTokenClient {
        user: "alice".into(),
        token: "bad".into(),
    }));
    assert_eq!(
        run(&mut client, &mut server, |_| Answer::Reject),
        Outcome::ServerFailure(Failure::Rejected)
    );
}

#[test]
fn custom_mechanism_names_are_checked() {
    let mut mechanisms = ServerMechanisms::new();
    for bad in ["x-token", "", "TOO-LONG-MECHANISM-NAME", "X TOKEN"] {
        assert_eq!(
            mechanisms.register(
                bad,
                Requirement::None,
                Box::new(|_: &ServerContext| Ok(Box::new(XTokenServer::default())))
            ),
            Err(UsageError::InvalidMechanismName(bad.into()))
        );
    }
}

/// A mechanism that never ends is cut off by the exchange's round-trip limit.
#[derive(Debug)]
struct Endless;

impl ServerMechanism for Endless {
    fn name(&self) -> &str {
        "X-ENDLESS"
    }
    fn step(&mut self, _: Option<&[u8]>) -> ServerStep {
        ServerStep::Challenge(b"more".to_vec())
    }
    fn answer(&mut self, _: Answer) -> ServerStep {
        ServerStep::Failure(Failure::Rejected)
    }
}

#[test]
fn security_22_endless_exchange_is_cut_off() {
    let mut server = ServerExchange::new(Box::new(Endless)).with_max_steps(5);
    let mut step = server.start(None).unwrap();
    let mut rounds = 0;
    while let ServerStep::Challenge(_) = step {
        rounds += 1;
        step = server.respond(b"x").unwrap();
    }
    assert_eq!(rounds, 5);
    assert_eq!(step, ServerStep::Failure(Failure::TooManySteps { max: 5 }));
}
