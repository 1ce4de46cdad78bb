#![no_main]
//! Every postwerk-sasl server mechanism on arbitrary client responses, with the
//! application's answers drawn from the same input; the client mechanisms on the same
//! bytes as server challenges.
//!
//! Input: the first byte picks the answers and whether an initial response is sent; the
//! rest is split at 0xFF into successive responses.
//!
//! Invariants: no panic; an exchange ends within the round-trip limit; after it ends every
//! further call is a usage error.

use libfuzzer_sys::fuzz_target;
use postwerk_sasl::client::{
    ChannelBinding, ClientExchange, ClientMechanism, ExternalClient, LoginClient,
    OAuthBearerClient, PlainClient, ScramClient, XOAuth2Client,
};
use postwerk_sasl::server::{
    Answer, DEFAULT_MAX_STEPS, ServerContext, ServerMechanisms, ServerStep,
};
use postwerk_sasl::{Mechanism, ScramCredentials};

fn answer(pick: u8, creds: &ScramCredentials) -> Answer {
    match pick % 6 {
        0 => Answer::Accept,
        1 => Answer::AcceptAs("someone".into()),
        2 => Answer::Reject,
        3 => Answer::RejectWith(b"{\"status\":\"401\"}".to_vec()),
        4 => Answer::ScramCredentials(creds.clone()),
        _ => Answer::UnknownUser,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let mut chunks = rest.split(|&b| b == 0xFF);
    let initial = if control & 0x80 != 0 { chunks.next() } else { None };
    let responses: Vec<&[u8]> = chunks.collect();

    // One PBKDF2 iteration keeps the target fast; the proof check is the same code.
    let creds = ScramCredentials::derive("pencil", b"salt", 1).expect("valid credentials");
    let mut mechanisms = ServerMechanisms::builtin();
    mechanisms.add_builtin(Mechanism::External);
    let plus = control & 0x40 != 0;
    let mut ctx = ServerContext::new("srvnonce").protected(true).with_max_response_len(4096);
    if plus {
        ctx = ctx.with_channel_binding(vec![0x42; 32]);
    }
    for name in mechanisms.offered(&ctx) {
        let mut server = mechanisms.start(name, &ctx).expect("offered mechanism starts");
        let mut step = server.start(initial).expect("first call");
        let mut responses = responses.iter();
        let mut picks = control;
        let mut calls = 0usize;
        loop {
            calls += 1;
            assert!(calls <= 2 * DEFAULT_MAX_STEPS + 2, "{name}: exchange did not end");
            step = match step {
                ServerStep::Challenge(_) => match responses.next() {
                    Some(r) => server.respond(r).expect("respond after a challenge"),
                    None => break,
                },
                ServerStep::Verify(_) => {
                    picks = picks.rotate_left(3);
                    server.answer(answer(picks, &creds)).expect("answer after verify")
                }
                ServerStep::Success(_) | ServerStep::Failure(_) => {
                    assert!(server.is_finished());
                    assert!(server.respond(b"x").is_err());
                    assert!(server.answer(Answer::Accept).is_err());
                    break;
                }
            };
        }
    }

    let clients: Vec<Box<dyn ClientMechanism>> = vec![
        Box::new(PlainClient::new("u", "p", None).expect("valid")),
        Box::new(LoginClient::new("u", "p")),
        Box::new(XOAuth2Client::new("u", "t")),
        Box::new(OAuthBearerClient::new(None, "t", None, None)),
        Box::new(ExternalClient::new(None).expect("valid")),
        Box::new(
            ScramClient::new("u", "p", None, "cli", ChannelBinding::None)
                .expect("valid")
                .with_iteration_limits(1, 8),
        ),
        Box::new(
            ScramClient::new("u", "p", None, "cli", ChannelBinding::TlsExporter(vec![1; 32]))
                .expect("valid")
                .with_iteration_limits(1, 8),
        ),
    ];
    for mechanism in clients {
        let mut client = ClientExchange::new(mechanism);
        if control & 1 == 0 {
            let _ = client.initial_response();
        }
        for challenge in &responses {
            let _ = client.step(challenge);
        }
        let _ = client.finish(initial);
    }
});
