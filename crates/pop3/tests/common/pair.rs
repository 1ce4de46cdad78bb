//! A server machine and a client machine connected in memory, with a
//! maildrop model answering the server's events.

use std::time::Instant;

use bytes::Bytes;
use postwerk_pop3::codec::wire_size;
use postwerk_pop3::{client, server};

pub struct Pair {
    pub server: server::Connection,
    pub client: client::Connection,
    pub now: Instant,
    pub messages: Vec<Bytes>,
    pub uids: Vec<String>,
    pub password: String,
    /// Deletions reported by a commit.
    pub committed: Option<Vec<usize>>,
    pub server_closed: Option<bool>,
    pub client_events: Vec<client::Event>,
    /// Chunk size for supplying messages to the server.
    pub supply_chunk: usize,
    /// Chunk size for delivering server output to the client.
    pub wire_chunk: usize,
    pub server_tls: bool,
    pub client_tls: bool,
    /// The bearer token the server accepts (XOAUTH2, OAUTHBEARER).
    pub token: String,
    /// Accepted logins.
    pub logins: Vec<server::Credentials>,
    /// SASL verification requests seen.
    pub verified: Vec<postwerk_pop3::sasl::server::Verify>,
    /// Message chunks supplied to the server.
    pub chunks_supplied: usize,
}

impl Pair {
    pub fn new(config: server::Config, messages: Vec<&[u8]>) -> Pair {
        let now = Instant::now();
        let uids = (0..messages.len()).map(|i| format!("uid-{i}")).collect();
        Pair {
            server: server::Connection::new(config, now),
            client: client::Connection::new(client::Config::default(), now),
            now,
            messages: messages.into_iter().map(Bytes::copy_from_slice).collect(),
            uids,
            password: "secret".to_owned(),
            committed: None,
            server_closed: None,
            client_events: Vec::new(),
            supply_chunk: usize::MAX,
            wire_chunk: usize::MAX,
            server_tls: false,
            client_tls: false,
            token: "ya29.token".to_owned(),
            logins: Vec::new(),
            verified: Vec::new(),
            chunks_supplied: 0,
        }
    }

    fn serve(&mut self, ev: server::Event) {
        use server::Event as E;
        match ev {
            E::Login { id, credentials } => {
                let ok = match &credentials {
                    server::Credentials::User { password, .. } => *password == self.password,
                    // Verified through SaslVerify.
                    server::Credentials::Sasl { .. } => true,
                    _ => false,
                };
                if ok {
                    self.logins.push(credentials.clone());
                }
                if ok {
                    let listing = self
                        .messages
                        .iter()
                        .zip(&self.uids)
                        .map(|(m, u)| (wire_size(m), u.clone()).into())
                        .collect();
                    self.server.accept_login(id, listing).unwrap();
                } else {
                    self.server.reject_login(id).unwrap();
                }
            }
            E::MessageRequest { id, index, .. } => {
                let msg = self.messages[index].clone();
                let step = self.supply_chunk.max(1);
                let mut at = 0;
                while at < msg.len() {
                    // Only while the machine asks (TOP stops early).
                    if self.server.wants_message_chunk() != Some(id)
                        && !self.server.is_output_full()
                    {
                        break;
                    }
                    self.chunks_supplied += 1;
                    let end = msg.len().min(at.saturating_add(step));
                    self.server
                        .supply_message_chunk(id, msg.slice(at..end))
                        .unwrap();
                    at = end;
                }
                self.server.finish_message(id).unwrap();
            }
            E::Commit { id, deletions } => {
                self.committed = Some(deletions.iter().map(|d| d.index).collect());
                self.server.answer_commit(id, true).unwrap();
            }
            E::SaslVerify { id, request } => {
                use postwerk_pop3::sasl::server::{Answer, Verify};
                self.verified.push(request.clone());
                let answer = match request {
                    Verify::Password { password, .. } => {
                        if password.expose() == self.password {
                            Answer::Accept
                        } else {
                            Answer::Reject
                        }
                    }
                    Verify::Token { token, .. } => {
                        if token.expose() == self.token {
                            Answer::AcceptAs("alice@token.test".to_owned())
                        } else {
                            Answer::RejectWith(postwerk_pop3::sasl::oauth_error_json(
                                "invalid_token",
                                None,
                                None,
                            ))
                        }
                    }
                    Verify::ScramCredentials { authcid, .. } if authcid == "alice" => {
                        Answer::ScramCredentials(
                            postwerk_pop3::sasl::ScramCredentials::derive(
                                &self.password,
                                b"pair salt",
                                4096,
                            )
                            .unwrap(),
                        )
                    }
                    Verify::ScramCredentials { .. } => Answer::UnknownUser,
                    Verify::Custom { secret, .. } if secret.expose() == self.password => {
                        Answer::Accept
                    }
                    _ => Answer::Reject,
                };
                self.server.answer_sasl(id, answer).unwrap();
            }
            E::StartTls => self.server_tls = true,
            E::Closed { committed } => self.server_closed = Some(committed),
            _ => {}
        }
    }

    /// Move bytes and events until nothing happens.
    pub fn run(&mut self) {
        loop {
            let mut progress = false;
            while let Some(ev) = self.server.poll_event() {
                progress = true;
                self.serve(ev);
            }
            while let Some(b) = self.client.poll_transmit() {
                progress = true;
                self.server.handle_input(&b, self.now);
            }
            let mut out = Vec::new();
            while let Some(b) = self.server.poll_transmit() {
                out.extend_from_slice(&b);
            }
            if !out.is_empty() {
                progress = true;
                for piece in out.chunks(self.wire_chunk.max(1)) {
                    self.client.handle_input(piece, self.now);
                }
            }
            if self.server.is_closed() && !self.client.is_closed() && out.is_empty() {
                self.client.handle_eof(self.now);
                progress = true;
            }
            while let Some(ev) = self.client.poll_event() {
                progress = true;
                if ev == client::Event::StartTls {
                    self.client_tls = true;
                    self.client.tls_established(self.now);
                }
                self.client_events.push(ev);
            }
            if !progress {
                return;
            }
        }
    }

    /// The reply to `id` among the client's events.
    pub fn reply(
        &self,
        id: client::CommandId,
    ) -> Result<client::Reply, postwerk_pop3::codec::Response> {
        self.client_events
            .iter()
            .find_map(|e| match e {
                client::Event::Reply { id: i, result } if *i == id => Some(result.clone()),
                _ => None,
            })
            .expect("a reply")
    }

    /// The body bytes delivered for `id`.
    pub fn body(&self, id: client::CommandId) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.client_events {
            if let client::Event::MessageData { id: i, chunk } = e
                && *i == id
            {
                out.extend_from_slice(chunk);
            }
        }
        out
    }
}

/// A stored message as it must arrive: bare LF as CRLF, a final line end.
pub fn normalized(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 16);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}
