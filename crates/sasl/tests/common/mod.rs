//! Helpers shared by the integration tests: an in-memory client/server pair.
#![allow(dead_code)]

use postwerk_sasl::client::ClientExchange;
use postwerk_sasl::server::{Answer, ServerExchange, ServerStep, Success, Verify};
use postwerk_sasl::{ClientError, Failure};

/// How an in-memory exchange ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Success(Success),
    ServerFailure(Failure),
    ClientError(ClientError),
}

/// Runs `client` against `server`, answering every verification request with `decide`.
/// On success the client checks the server's final data.
pub fn run(
    client: &mut ClientExchange,
    server: &mut ServerExchange,
    mut decide: impl FnMut(&Verify) -> Answer,
) -> Outcome {
    let initial = match client.initial_response() {
        Ok(i) => i,
        Err(e) => return Outcome::ClientError(e),
    };
    let mut step = server.start(initial.as_deref()).expect("start");
    loop {
        step = match step {
            ServerStep::Challenge(challenge) => match client.step(&challenge) {
                Ok(response) => server.respond(&response).expect("respond"),
                Err(e) => return Outcome::ClientError(e),
            },
            ServerStep::Verify(verify) => {
                let answer = decide(&verify);
                server.answer(answer).expect("answer")
            }
            ServerStep::Success(success) => {
                return match client.finish(success.additional_data()) {
                    Ok(()) => Outcome::Success(success),
                    Err(e) => Outcome::ClientError(e),
                };
            }
            ServerStep::Failure(failure) => return Outcome::ServerFailure(failure),
        };
    }
}

/// Standard base64, for test vectors given encoded.
pub fn b64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes standard base64.
pub fn unb64(data: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .expect("valid base64")
}
