//! SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677, RFC 9266), server side.
//!
//! ```text
//! client-first-message = gs2-header client-first-message-bare
//! gs2-header     = gs2-cbind-flag "," [ authzid ] ","
//! gs2-cbind-flag = ("p=" cb-name) / "n" / "y"
//! client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
//! server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
//! client-final-message = client-final-message-without-proof "," proof
//! client-final-message-without-proof = channel-binding "," nonce ["," extensions]
//! server-final-message = (server-error / verifier) ["," extensions]
//! ```

use subtle::ConstantTimeEq;

use super::{Answer, ServerMechanism, ServerStep, Success, Verify};
use crate::ScramCredentials;
use crate::error::{Failure, UsageError};
use crate::scram::{
    KEY_LEN, TLS_EXPORTER, attributes, b64_decode, b64_encode, hmac, sha256, unescape_saslname,
    valid_nonce, xor,
};

/// Settings of one SCRAM server exchange: the server's nonce part (from the caller's
/// randomness: this crate has none of its own) and the connection's channel binding.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramServerConfig {
    nonce: String,
    channel_binding: Option<Vec<u8>>,
    plus_offered: bool,
    mock_iterations: u32,
}

impl std::fmt::Debug for ScramServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramServerConfig")
            .field("nonce", &self.nonce)
            .field(
                "channel_binding",
                &self.channel_binding.as_ref().map(Vec::len),
            )
            .field("plus_offered", &self.plus_offered)
            .field("mock_iterations", &self.mock_iterations)
            .finish()
    }
}

impl ScramServerConfig {
    /// A configuration with the server's nonce part: at least 18 random printable
    /// characters are recommended (e.g. 24 random bytes in base64). It must be printable
    /// ASCII without `,`.
    pub fn new(nonce: impl Into<String>) -> Result<Self, UsageError> {
        let nonce = nonce.into();
        if !valid_nonce(nonce.as_bytes()) {
            return Err(UsageError::InvalidNonce);
        }
        Ok(ScramServerConfig {
            nonce,
            channel_binding: None,
            plus_offered: false,
            mock_iterations: 4096,
        })
    }

    /// The connection's `tls-exporter` channel binding data (RFC 9266). Setting it also
    /// declares that the server offers `SCRAM-SHA-256-PLUS`, so a client's `y` flag is taken
    /// as a downgrade.
    pub fn with_channel_binding(mut self, tls_exporter: Vec<u8>) -> Self {
        self.channel_binding = Some(tls_exporter);
        self.plus_offered = true;
        self
    }

    /// Declares whether `SCRAM-SHA-256-PLUS` is offered on this connection (default: only
    /// when channel binding data were given).
    pub fn with_plus_offered(mut self, offered: bool) -> Self {
        self.plus_offered = offered;
        self
    }

    /// The iteration count announced for unknown users (default 4096): set it to the one of
    /// real users so that an unknown user cannot be told from the count.
    pub fn with_mock_iterations(mut self, iterations: u32) -> Self {
        self.mock_iterations = iterations.max(1);
        self
    }
}

#[derive(Debug)]
struct First {
    gs2_header: Vec<u8>,
    bare: Vec<u8>,
    client_nonce: String,
    authcid: String,
    authzid: Option<String>,
}

#[derive(Debug)]
enum State {
    Start,
    Sent,
    Credentials(First),
    Final {
        first: First,
        server_first: Vec<u8>,
        credentials: ScramCredentials,
        mock: bool,
    },
    Done,
}

/// The SCRAM-SHA-256 (or, with [`ScramServer::new_plus`], SCRAM-SHA-256-PLUS) mechanism's
/// server side. The application gives the stored credentials
/// ([`Answer::ScramCredentials`]); the proof is checked here, in constant time.
#[derive(Debug)]
pub struct ScramServer {
    config: ScramServerConfig,
    plus: bool,
    state: State,
}

impl ScramServer {
    /// SCRAM-SHA-256 without channel binding.
    pub fn new(config: ScramServerConfig) -> Self {
        ScramServer {
            config,
            plus: false,
            state: State::Start,
        }
    }

    /// SCRAM-SHA-256-PLUS: needs the channel binding data in `config`.
    pub fn new_plus(config: ScramServerConfig) -> Result<Self, UsageError> {
        if config.channel_binding.is_none() {
            return Err(UsageError::MissingChannelBinding);
        }
        Ok(ScramServer {
            config,
            plus: true,
            state: State::Start,
        })
    }

    fn mech(&self) -> &'static str {
        if self.plus {
            "SCRAM-SHA-256-PLUS"
        } else {
            "SCRAM-SHA-256"
        }
    }

    fn fail(&mut self, failure: Failure) -> ServerStep {
        self.state = State::Done;
        ServerStep::Failure(failure)
    }

    fn malformed(&mut self, what: &'static str) -> ServerStep {
        let failure = Failure::malformed(self.mech(), what);
        self.fail(failure)
    }

    fn client_first(&mut self, msg: &[u8]) -> ServerStep {
        let mut commas = msg.iter().enumerate().filter(|(_, b)| **b == b',');
        let (Some((c1, _)), Some((c2, _))) = (commas.next(), commas.next()) else {
            return self.malformed("no gs2 header");
        };
        let flag = &msg[..c1];
        let authzid_part = &msg[c1 + 1..c2];
        let gs2_header = &msg[..=c2];
        let bare = &msg[c2 + 1..];

        match (self.plus, flag) {
            (false, b"n") => {}
            (false, b"y") if self.config.plus_offered => {
                return self.fail(Failure::ChannelBindingDowngrade);
            }
            (false, b"y") => {}
            (true, [b'p', b'=', name @ ..]) if name == TLS_EXPORTER.as_bytes() => {}
            (true, [b'p', b'=', name @ ..]) => {
                let name = String::from_utf8_lossy(name).into_owned();
                return self.fail(Failure::UnsupportedChannelBinding(name));
            }
            (_, b"n" | b"y") | (false, [b'p', b'=', ..]) => {
                return self.fail(Failure::ChannelBindingNotNegotiated);
            }
            _ => return self.malformed("bad gs2-cbind-flag"),
        }
        let authzid = match authzid_part {
            [] => None,
            [b'a', b'=', name @ ..] => match unescape_saslname(name) {
                Some(name) if !name.is_empty() => Some(name),
                _ => return self.malformed("bad authzid"),
            },
            _ => return self.malformed("bad authzid"),
        };
        let Some(attrs) = attributes(bare) else {
            return self.malformed("bad attribute syntax");
        };
        let (authcid, client_nonce) = match attrs.as_slice() {
            [(b'm', _), ..] => return self.fail(Failure::UnsupportedExtension),
            [(b'n', name), (b'r', nonce), ..] => (*name, *nonce),
            _ => return self.malformed("expected n= and r="),
        };
        let Some(authcid) = unescape_saslname(authcid).filter(|n| !n.is_empty()) else {
            return self.malformed("bad user name");
        };
        if !valid_nonce(client_nonce) {
            return self.malformed("bad nonce");
        }
        let client_nonce = String::from_utf8_lossy(client_nonce).into_owned();
        self.state = State::Credentials(First {
            gs2_header: gs2_header.to_vec(),
            bare: bare.to_vec(),
            client_nonce,
            authcid: authcid.clone(),
            authzid: authzid.clone(),
        });
        ServerStep::Verify(Verify::ScramCredentials {
            mechanism: self.mech().to_owned(),
            authcid,
            authzid,
        })
    }

    fn mock_credentials(&self, authcid: &str) -> ScramCredentials {
        let key = self.config.nonce.as_bytes();
        let salt = hmac(key, authcid.as_bytes());
        let salt = salt.get(..16).unwrap_or(&salt).to_vec();
        ScramCredentials::raw(
            salt,
            self.config.mock_iterations,
            hmac(key, b"stored"),
            hmac(key, b"server"),
        )
    }

    fn client_final(
        &mut self,
        msg: &[u8],
        first: First,
        server_first: Vec<u8>,
        credentials: ScramCredentials,
        mock: bool,
    ) -> ServerStep {
        let Some(p) = find_last(msg, b",p=") else {
            return self.malformed("no proof");
        };
        let without_proof = &msg[..p];
        let proof = &msg[p + 3..];
        let Some(attrs) = attributes(without_proof) else {
            return self.malformed("bad attribute syntax");
        };
        let (cbind, nonce) = match attrs.as_slice() {
            [(b'c', cbind), (b'r', nonce), ..] => (*cbind, *nonce),
            _ => return self.malformed("expected c= and r="),
        };
        let Some(cbind) = b64_decode(cbind) else {
            return self.malformed("c= is not base64");
        };
        let mut expected = first.gs2_header.clone();
        if self.plus {
            expected.extend_from_slice(self.config.channel_binding.as_deref().unwrap_or(&[]));
        }
        if !bool::from(cbind.as_slice().ct_eq(expected.as_slice())) {
            return self.fail(Failure::ChannelBindingMismatch);
        }
        let mut full_nonce = first.client_nonce.clone().into_bytes();
        full_nonce.extend_from_slice(self.config.nonce.as_bytes());
        if nonce != full_nonce.as_slice() {
            return self.fail(Failure::NonceMismatch);
        }
        let Some(proof) = b64_decode(proof).and_then(|p| <[u8; KEY_LEN]>::try_from(p).ok()) else {
            return self.malformed("p= is not 32 bytes of base64");
        };
        let mut auth_message = first.bare.clone();
        auth_message.push(b',');
        auth_message.extend_from_slice(&server_first);
        auth_message.push(b',');
        auth_message.extend_from_slice(without_proof);

        let client_signature = hmac(credentials.stored_key(), &auth_message);
        let client_key = xor(&proof, &client_signature);
        let ok = bool::from(sha256(&client_key).ct_eq(credentials.stored_key()));
        if mock {
            return self.fail(Failure::Rejected);
        }
        if !ok {
            return self.fail(Failure::InvalidProof);
        }
        let server_signature = hmac(credentials.server_key(), &auth_message);
        let mut verifier = b"v=".to_vec();
        verifier.extend_from_slice(b64_encode(&server_signature).as_bytes());
        self.state = State::Done;
        ServerStep::Success(
            Success::new(first.authcid, first.authzid).with_additional_data(verifier),
        )
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

impl ServerMechanism for ScramServer {
    fn name(&self) -> &str {
        self.mech()
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, response) {
            (State::Start, None) => {
                self.state = State::Sent;
                ServerStep::Challenge(Vec::new())
            }
            (State::Start | State::Sent, Some(msg)) => self.client_first(msg),
            (
                State::Final {
                    first,
                    server_first,
                    credentials,
                    mock,
                },
                Some(msg),
            ) => self.client_final(msg, first, server_first, credentials, mock),
            _ => self.malformed("response out of turn"),
        }
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        let state = std::mem::replace(&mut self.state, State::Done);
        let State::Credentials(first) = state else {
            return ServerStep::Failure(Failure::Rejected);
        };
        let (credentials, mock) = match answer {
            Answer::ScramCredentials(c) => (c, false),
            Answer::UnknownUser => (self.mock_credentials(&first.authcid), true),
            _ => return ServerStep::Failure(Failure::Rejected),
        };
        let mut server_first = b"r=".to_vec();
        server_first.extend_from_slice(first.client_nonce.as_bytes());
        server_first.extend_from_slice(self.config.nonce.as_bytes());
        server_first.extend_from_slice(b",s=");
        server_first.extend_from_slice(b64_encode(credentials.salt()).as_bytes());
        server_first.extend_from_slice(format!(",i={}", credentials.iterations()).as_bytes());
        self.state = State::Final {
            first,
            server_first: server_first.clone(),
            credentials,
            mock,
        };
        ServerStep::Challenge(server_first)
    }
}
