//! SCRAM-SHA-256 cost per login (postwerk-sasl), at the default iteration count
//! ([`DEFAULT_ITERATIONS`], 600,000) and at RFC 7677's minimum of 4096.
//!
//! ```text
//! cargo bench --bench sasl -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `scram_sha_256/server_exchange`: what a server pays per login: one whole server-side
//!   exchange (client-first → server-first, client-final → proof checked, `v=`) replaying
//!   recorded client messages, with the stored credentials the application keeps. The
//!   server never runs PBKDF2 (the stored keys are derived when the password is set), so
//!   this does not depend on the iteration count.
//! - `scram_sha_256/full_login_<i>`: both sides in memory, as a client logs in: the
//!   client's PBKDF2 over `i` iterations dominates.
//! - `scram_sha_256/derive_<i>`: deriving the stored credentials from a password (when it
//!   is set or changed).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use postwerk::sasl::client::ClientExchange;
use postwerk::sasl::server::{
    Answer, ServerContext, ServerExchange, ServerMechanisms, ServerStep, Success,
};
use postwerk::sasl::{
    Credentials, DEFAULT_ITERATIONS, Mechanism, ScramCredentials, client_mechanism,
};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery staple";
const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const SERVER_NONCE: &str = "3rfcNHYJY1ZVvWVs7j";

fn server(mechanisms: &ServerMechanisms) -> ServerExchange {
    let ctx = ServerContext::new(SERVER_NONCE);
    mechanisms.start("SCRAM-SHA-256", &ctx).unwrap()
}

/// Runs the server side on `client_first`, answering the credentials request; returns the
/// server-first challenge.
fn server_first(
    exchange: &mut ServerExchange,
    client_first: &[u8],
    stored: &ScramCredentials,
) -> Vec<u8> {
    let mut step = exchange.start(Some(client_first)).unwrap();
    loop {
        step = match step {
            ServerStep::Verify(_) => exchange
                .answer(Answer::ScramCredentials(stored.clone()))
                .unwrap(),
            ServerStep::Challenge(c) => return c,
            other => panic!("unexpected {other:?}"),
        };
    }
}

/// One whole login, both sides; returns the server's success.
fn full_login(mechanisms: &ServerMechanisms, stored: &ScramCredentials) -> Success {
    let creds = Credentials::password(USER, PASSWORD);
    let mechanism = client_mechanism(Mechanism::ScramSha256, &creds, CLIENT_NONCE).unwrap();
    let mut client = ClientExchange::new(mechanism);
    let mut server = server(mechanisms);
    let first = client.initial_response().unwrap().unwrap();
    let challenge = server_first(&mut server, &first, stored);
    let client_final = client.step(&challenge).unwrap();
    let ServerStep::Success(success) = server.respond(&client_final).unwrap() else {
        panic!("login failed")
    };
    client.finish(success.additional_data()).unwrap();
    success
}

/// The client's two messages for a login against `stored`, recorded once.
fn recorded_client(mechanisms: &ServerMechanisms, stored: &ScramCredentials) -> [Vec<u8>; 2] {
    let creds = Credentials::password(USER, PASSWORD);
    let mechanism = client_mechanism(Mechanism::ScramSha256, &creds, CLIENT_NONCE).unwrap();
    let mut client = ClientExchange::new(mechanism);
    let mut server = server(mechanisms);
    let first = client.initial_response().unwrap().unwrap();
    let challenge = server_first(&mut server, &first, stored);
    let last = client.step(&challenge).unwrap();
    [first, last]
}

fn bench(c: &mut Criterion) {
    let mechanisms = ServerMechanisms::builtin();
    let mut g = c.benchmark_group("scram_sha_256");
    g.sample_size(10);
    for iterations in [4096, DEFAULT_ITERATIONS] {
        let stored = ScramCredentials::derive(PASSWORD, b"per-user salt", iterations).unwrap();
        assert_eq!(full_login(&mechanisms, &stored).identity(), USER);
        if iterations == 4096 {
            // The server's side does not depend on the iteration count: measured once.
            let [first, last] = recorded_client(&mechanisms, &stored);
            g.bench_function("server_exchange", |b| {
                b.iter(|| {
                    let mut server = server(&mechanisms);
                    black_box(server_first(&mut server, black_box(&first), &stored));
                    let step = server.respond(black_box(&last)).unwrap();
                    assert!(matches!(step, ServerStep::Success(_)));
                    step
                })
            });
        }
        g.bench_function(format!("full_login_{iterations}"), |b| {
            b.iter(|| black_box(full_login(&mechanisms, &stored)))
        });
        g.bench_function(format!("derive_{iterations}"), |b| {
            b.iter(|| {
                ScramCredentials::derive(black_box(PASSWORD), b"per-user salt", iterations).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
