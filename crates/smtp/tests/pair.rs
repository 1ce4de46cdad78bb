//! The client machine talking to the server machine in memory, with a fake clock: the
//! client's pipelining, STARTTLS (the handshake simulated by calling both machines' TLS
//! hooks), AUTH, BDAT and LMTP against a real server implementation, and the DATA
//! dot-stuffing round trip as a property.

use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_smtp::client::{
    self, BareLineEndings, Credentials, Delivery, Recipient, TlsPolicy, Transaction,
    TransactionError, TransactionResult,
};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
use postwerk_smtp::codec::reply::{EnhancedStatus, Reply};
use postwerk_smtp::server::{self, Decision, Envelope, Event};
use proptest::prelude::*;

/// A message as the server application received it.
#[derive(Debug)]
struct Received {
    envelope: Envelope,
    body: Vec<u8>,
}

struct Pair {
    now: Instant,
    client: client::Connection,
    server: server::Connection,
    /// Client bytes the server did not take yet (it was waiting for a decision).
    to_server: Vec<u8>,
    body: Vec<u8>,
    received: Vec<Received>,
    results: Vec<TransactionResult>,
    client_closed: Option<Option<client::ConnectionError>>,
    /// Every chunk the client wrote, in order.
    client_chunks: Vec<Bytes>,
    client_tls: bool,
    server_tls: bool,
    server_closing: bool,
    eof_sent: bool,
}

fn mailbox(s: &str) -> Mailbox {
    let (local, domain) = s.rsplit_once('@').unwrap();
    Mailbox::new(local, domain).unwrap()
}

fn rcpt(s: &str) -> Recipient {
    Recipient::new(ForwardPath::Mailbox(mailbox(s)))
}

fn tx(body: &[u8], to: &[&str]) -> Transaction {
    let mut tx = Transaction::new(
        ReversePath::Mailbox(mailbox("alice@example.org")),
        Bytes::copy_from_slice(body),
    );
    for t in to {
        tx = tx.with_recipient(rcpt(t));
    }
    tx
}

impl Pair {
    fn new(client_config: client::Config, server_config: server::Config) -> Pair {
        let now = Instant::now();
        Pair {
            now,
            client: client::Connection::new(client_config, now),
            server: server::Connection::new(server_config, now),
            to_server: Vec::new(),
            body: Vec::new(),
            received: Vec::new(),
            results: Vec::new(),
            client_closed: None,
            client_chunks: Vec::new(),
            client_tls: false,
            server_tls: false,
            server_closing: false,
            eof_sent: false,
        }
    }

    /// The server application: refuses recipients whose local part starts with `reject`
    /// (550) or `later` (451), accepts `alice`/`secret`, stores messages; in LMTP refuses
    /// delivery to local parts starting with `full` (452).
    fn server_event(&mut self, event: Event) {
        let now = self.now;
        match event {
            Event::Mail { id, .. } => self.server.respond(id, Decision::Accept, now).unwrap(),
            Event::Rcpt { id, to, .. } => {
                let local = to.mailbox().map(|m| m.local_part().to_owned());
                let local = local.unwrap_or_default();
                let decision = if local.starts_with("reject") {
                    Decision::Reject(Reply::new(550, Some(EnhancedStatus::new(5, 1, 1)), "No"))
                } else if local.starts_with("later") {
                    Decision::Reject(Reply::new(451, Some(EnhancedStatus::new(4, 3, 0)), "Later"))
                } else {
                    Decision::Accept
                };
                self.server.respond(id, decision, now).unwrap();
            }
            Event::SaslVerify {
                id,
                request:
                    postwerk_smtp::sasl::server::Verify::Password {
                        authcid, password, ..
                    },
            } => {
                use postwerk_smtp::sasl::server::Answer;
                let ok = authcid == "alice" && password.expose() == "secret";
                let answer = if ok { Answer::Accept } else { Answer::Reject };
                self.server.answer_sasl(id, answer, now).unwrap();
            }
            Event::SaslVerify { id, .. } => {
                let answer = postwerk_smtp::sasl::server::Answer::Reject;
                self.server.answer_sasl(id, answer, now).unwrap();
            }
            Event::Login { id, .. } => {
                self.server.respond(id, Decision::Accept, now).unwrap();
            }
            Event::DataStart => self.body.clear(),
            Event::BodyChunk(chunk) => self.body.extend_from_slice(&chunk),
            Event::DataEnd { id, envelope, .. } => {
                let body = std::mem::take(&mut self.body);
                if self.server.config().lmtp {
                    let replies = envelope
                        .recipients
                        .iter()
                        .map(|(to, _)| {
                            let local = to.mailbox().map(|m| m.local_part().to_owned());
                            if local.unwrap_or_default().starts_with("full") {
                                Reply::new(452, Some(EnhancedStatus::new(4, 2, 2)), "Full")
                            } else {
                                Reply::new(250, Some(EnhancedStatus::new(2, 0, 0)), "Delivered")
                            }
                        })
                        .collect();
                    self.server.respond_per_recipient(id, replies, now).unwrap();
                } else {
                    self.server.respond(id, Decision::Accept, now).unwrap();
                }
                self.received.push(Received { envelope, body });
            }
            Event::StartTls => self.server_tls = true,
            Event::Closing(_) => self.server_closing = true,
            _ => {}
        }
    }

    /// Runs both machines until the client is closed or nothing moves and no deadline is
    /// left. Time only advances when both are idle.
    fn run(&mut self) {
        for _ in 0..100_000 {
            let mut progress = false;
            while let Some(bytes) = self.server.poll_transmit() {
                self.client.handle_input(&bytes, self.now);
                progress = true;
            }
            while let Some(event) = self.server.poll_event() {
                self.server_event(event);
                progress = true;
            }
            while let Some(bytes) = self.client.poll_transmit() {
                self.to_server.extend_from_slice(&bytes);
                self.client_chunks.push(bytes);
                progress = true;
            }
            if !self.to_server.is_empty() {
                let taken = self.server.handle_input(&self.to_server, self.now);
                if taken > 0 {
                    self.to_server.drain(..taken);
                    progress = true;
                }
            }
            while let Some(event) = self.client.poll_event() {
                match event {
                    client::Event::StartTls => self.client_tls = true,
                    client::Event::TransactionDone(r) => self.results.push(r),
                    client::Event::Closed { error } => self.client_closed = Some(error),
                    _ => {}
                }
                progress = true;
            }
            if self.client_tls && self.server_tls {
                // The simulated handshake: the server side first, then the client's.
                self.server.tls_established(self.now).unwrap();
                self.client.tls_established(self.now);
                self.client_tls = false;
                self.server_tls = false;
                progress = true;
            }
            if self.server.is_closed() && !self.eof_sent {
                self.client.handle_eof(self.now);
                self.eof_sent = true;
                progress = true;
            }
            if self.client.is_closed() && self.client_closed.is_some() {
                return;
            }
            if !progress {
                let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                let Some(next) = next else {
                    return;
                };
                self.now = self.now.max(next);
                self.client.handle_timeout(self.now);
                self.server.handle_timeout(self.now);
            }
        }
        panic!("pair did not settle");
    }

    fn send(&mut self, tx: Transaction) {
        self.client.send(tx, self.now).unwrap();
    }

    fn quit(&mut self) {
        self.client.quit(self.now);
        self.run();
    }

    fn sent(&self) -> Vec<u8> {
        self.client_chunks.iter().flat_map(|c| c.to_vec()).collect()
    }
}

fn client_config() -> client::Config {
    client::Config::new("client.example")
}

fn server_config() -> server::Config {
    server::Config::new("mx.example.net")
}

#[test]
fn pipelined_transaction_in_one_flight() {
    let mut pair = Pair::new(client_config(), server_config());
    pair.send(tx(
        b"Subject: hi\r\n\r\nHello\r\n",
        &["bob@example.net", "reject@example.net", "carol@example.net"],
    ));
    pair.quit();
    assert_eq!(pair.client_closed, Some(None));
    assert_eq!(pair.results.len(), 1);
    let deliveries: Vec<_> = pair.results[0]
        .recipients()
        .iter()
        .map(|r| r.delivery())
        .collect();
    assert_eq!(
        deliveries,
        [
            Delivery::Accepted,
            Delivery::PermanentFailure,
            Delivery::Accepted
        ]
    );
    let refused = pair.results[0].recipients()[1].rcpt_reply().unwrap();
    assert_eq!(
        (refused.code(), refused.enhanced()),
        (550, Some(EnhancedStatus::new(5, 1, 1)))
    );
    assert_eq!(pair.received.len(), 1);
    assert_eq!(pair.received[0].body, b"Subject: hi\r\n\r\nHello\r\n");
    let rcpts: Vec<String> = pair.received[0]
        .envelope
        .recipients
        .iter()
        .map(|(to, _)| to.to_string())
        .collect();
    assert_eq!(rcpts, ["<bob@example.net>", "<carol@example.net>"]);
    // MAIL, the three RCPTs and DATA went out as one chunk.
    let flight = pair
        .client_chunks
        .iter()
        .find(|c| c.starts_with(b"MAIL"))
        .unwrap();
    assert_eq!(flight.iter().filter(|&&b| b == b'\n').count(), 5);
    assert!(flight.ends_with(b"DATA\r\n"));
    // SIZE was declared.
    assert_eq!(pair.received[0].envelope.mail_params.size, Some(22));
}

#[test]
fn without_pipelining_one_command_at_a_time() {
    let mut server = server_config();
    server.extensions.pipelining = false;
    let mut pair = Pair::new(client_config(), server);
    pair.send(tx(b"Hello\r\n", &["bob@example.net", "carol@example.net"]));
    pair.quit();
    // The server refuses unauthorised pipelining; it was never provoked.
    assert_eq!(pair.client_closed, Some(None));
    assert!(pair.results[0].all_accepted());
    assert!(
        pair.client_chunks
            .iter()
            .all(|c| { c.starts_with(b"Hello") || c.iter().filter(|&&b| b == b'\n').count() == 1 })
    );
    assert_eq!(pair.received.len(), 1);
}

#[test]
fn several_transactions_with_rset_between() {
    let mut pair = Pair::new(client_config(), server_config());
    pair.send(tx(b"one\r\n", &["reject@example.net"]));
    pair.send(tx(b"two\r\n", &["bob@example.net"]));
    pair.send(tx(
        b"three\r\n",
        &["later@example.net", "carol@example.net"],
    ));
    pair.quit();
    assert_eq!(pair.client_closed, Some(None));
    assert_eq!(pair.results.len(), 3);
    assert!(!pair.results[0].all_accepted());
    assert!(pair.results[1].all_accepted());
    assert_eq!(
        pair.results[2].recipients()[0].delivery(),
        Delivery::TemporaryFailure
    );
    let bodies: Vec<&[u8]> = pair.received.iter().map(|r| &r.body[..]).collect();
    assert_eq!(bodies, [&b"two\r\n"[..], b"three\r\n"]);
    assert!(pair.sent().windows(6).any(|w| w == b"RSET\r\n"));
}

#[test]
fn starttls_then_auth_then_mail() {
    let mut server = server_config();
    server.extensions.starttls = true;
    let mut client = client_config();
    client.tls = TlsPolicy::Required;
    client.credentials = Some(Credentials::new("alice", "secret"));
    let mut pair = Pair::new(client, server);
    pair.send(tx(b"secret stuff\r\n", &["bob@example.net"]));
    pair.quit();
    assert_eq!(pair.client_closed, Some(None));
    assert!(pair.client.is_tls_active());
    assert!(pair.server.is_tls_active());
    assert!(pair.client.is_authenticated());
    assert_eq!(pair.server.authenticated(), Some("alice"));
    assert!(pair.results[0].all_accepted());
    assert_eq!(pair.received[0].body, b"secret stuff\r\n");
    let sent = String::from_utf8_lossy(&pair.sent()).into_owned();
    // EHLO before and after TLS, AUTH only after.
    assert_eq!(sent.matches("EHLO client.example").count(), 2);
    let tls = sent.find("STARTTLS").unwrap();
    assert!(sent.find("AUTH PLAIN").unwrap() > tls);
}

#[test]
fn auth_refused_fails_every_transaction() {
    let mut server = server_config();
    server.allow_plaintext_auth = true;
    let mut client = client_config();
    client.tls = TlsPolicy::Disabled;
    client.allow_plaintext_auth = true;
    client.credentials = Some(Credentials::new("alice", "wrong"));
    let mut pair = Pair::new(client, server);
    pair.send(tx(b"x\r\n", &["bob@example.net"]));
    pair.run();
    match &pair.client_closed {
        Some(Some(client::ConnectionError::AuthFailed(r))) => assert_eq!(r.code(), 535),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        pair.results[0].recipients()[0].delivery(),
        Delivery::PermanentFailure
    );
    assert!(pair.received.is_empty());
}

#[test]
fn auth_login_when_plain_not_offered() {
    let mut server = server_config();
    server.allow_plaintext_auth = true;
    let mut login = postwerk_smtp::sasl::server::ServerMechanisms::new();
    login.add_builtin(postwerk_smtp::sasl::Mechanism::Login);
    server.sasl = std::sync::Arc::new(login);
    let mut client = client_config();
    client.tls_active = true;
    client.credentials = Some(Credentials::new("alice", "secret"));
    let mut pair = Pair::new(client, server);
    pair.server.set_tls_active();
    pair.send(tx(b"x\r\n", &["bob@example.net"]));
    pair.quit();
    assert_eq!(pair.client_closed, Some(None));
    assert!(pair.client.is_authenticated());
    assert!(String::from_utf8_lossy(&pair.sent()).contains("AUTH LOGIN\r\n"));
    assert_eq!(pair.received.len(), 1);
}

#[test]
fn bdat_chunking() {
    let mut client = client_config();
    client.chunking = true;
    let mut pair = Pair::new(client, server_config());
    let body = b"Subject: chunked\r\n\r\n.not stuffed\r\n";
    pair.send(tx(body, &["bob@example.net"]));
    pair.quit();
    assert_eq!(pair.client_closed, Some(None));
    assert!(pair.results[0].all_accepted());
    assert_eq!(pair.received[0].body, body);
    let sent = String::from_utf8_lossy(&pair.sent()).into_owned();
    assert!(sent.contains(&format!("BDAT {} LAST\r\n", body.len())));
    assert!(!sent.contains("DATA\r\n"));
}

#[test]
fn lmtp_per_recipient_replies() {
    let mut client = client_config();
    client.lmtp = true;
    let mut server = server_config();
    server.lmtp = true;
    let mut pair = Pair::new(client, server);
    pair.send(tx(
        b"lmtp\r\n",
        &[
            "bob@example.net",
            "reject@example.net",
            "full@example.net",
            "carol@example.net",
        ],
    ));
    pair.quit();
    assert_eq!(pair.client_closed, Some(None));
    let r = &pair.results[0];
    let deliveries: Vec<_> = r.recipients().iter().map(|r| r.delivery()).collect();
    assert_eq!(
        deliveries,
        [
            Delivery::Accepted,
            Delivery::PermanentFailure,
            Delivery::TemporaryFailure,
            Delivery::Accepted
        ]
    );
    let full = r.recipients()[2].data_reply().unwrap();
    assert_eq!((full.code(), full.lines()[0].as_str()), (452, "Full"));
    assert!(String::from_utf8_lossy(&pair.sent()).starts_with("LHLO client.example\r\n"));
}

#[test]
fn message_over_the_server_size_is_not_sent() {
    let mut server = server_config();
    server.limits.max_message_size = 10;
    let mut pair = Pair::new(client_config(), server);
    pair.send(tx(b"this is longer than ten\r\n", &["bob@example.net"]));
    pair.quit();
    assert_eq!(
        pair.results[0].error(),
        Some(&TransactionError::MessageTooBig {
            size: 25,
            limit: 10
        })
    );
    assert!(pair.received.is_empty());
    assert!(!String::from_utf8_lossy(&pair.sent()).contains("MAIL"));
}

#[test]
fn server_timeout_reaches_the_client_as_421() {
    // The client has nothing to do and never quits; the server times the session out.
    let mut pair = Pair::new(client_config(), server_config());
    pair.run();
    match &pair.client_closed {
        Some(Some(client::ConnectionError::ServiceClosing(r))) => assert_eq!(r.code(), 421),
        other => panic!("{other:?}"),
    }
    assert!(pair.now >= Instant::now() + Duration::from_secs(299));
}

/// `body` as the client sends it with the Normalize policy: every CR, LF or CRLF as CRLF,
/// and a final CRLF.
fn normalised(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\r' if body.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 2;
                continue;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..40),
        2 => Just(b"\r\n".to_vec()),
        1 => Just(b".".to_vec()),
        1 => Just(b"\r\n.\r\n".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"..".to_vec()),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any body, CRLF-normalised by the client, arrives byte-identical at the server, with
    /// DATA (dot-stuffed by the client, unstuffed by the server) and with BDAT.
    #[test]
    fn body_round_trip(body in body_strategy(), chunking in any::<bool>()) {
        let expected = normalised(&body);
        prop_assume!(expected.split(|&b| b == b'\n').all(|l| l.len() < 990));
        let mut client = client_config();
        client.bare_line_endings = BareLineEndings::Normalize;
        client.chunking = chunking;
        let mut pair = Pair::new(client, server_config());
        pair.send(tx(&body, &["bob@example.net"]));
        pair.quit();
        prop_assert_eq!(&pair.client_closed, &Some(None));
        prop_assert!(pair.results[0].all_accepted(), "{:?}", pair.results[0]);
        prop_assert_eq!(pair.received.len(), 1);
        prop_assert_eq!(&pair.received[0].body, &expected);
    }
}
