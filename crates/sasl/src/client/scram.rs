//! SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677, RFC 9266), client side.

use subtle::ConstantTimeEq;

use super::ClientMechanism;
use crate::error::{ClientError, UsageError};
use crate::scram::{
    KEY_LEN, TLS_EXPORTER, attributes, b64_decode, b64_encode, escape_saslname, hmac, prepare,
    salted_password, sha256, valid_nonce, xor,
};

/// The smallest iteration count the client accepts by default (RFC 7677 section 4: at
/// least 4096).
pub const DEFAULT_MIN_ITERATIONS: u32 = 4096;

/// The largest iteration count the client accepts by default: a hostile server cannot make
/// the client spin for minutes.
pub const DEFAULT_MAX_ITERATIONS: u32 = 10_000_000;

/// The client's channel binding situation, which decides the gs2 flag.
#[derive(Clone, PartialEq, Eq)]
pub enum ChannelBinding {
    /// The client cannot bind (no TLS, or no exporter): flag `n`.
    None,
    /// The client could bind but the server did not offer `-PLUS`: flag `y`. A server that
    /// did offer `-PLUS` sees the downgrade.
    SupportedNotUsed,
    /// SCRAM-SHA-256-PLUS with this connection's `tls-exporter` data (RFC 9266): flag
    /// `p=tls-exporter`.
    TlsExporter(Vec<u8>),
}

impl std::fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChannelBinding::None => f.write_str("None"),
            ChannelBinding::SupportedNotUsed => f.write_str("SupportedNotUsed"),
            ChannelBinding::TlsExporter(d) => write!(f, "TlsExporter({} bytes)", d.len()),
        }
    }
}

enum State {
    Initial,
    SentFirst,
    SentFinal { server_signature: [u8; KEY_LEN] },
    Verified { server_signature: [u8; KEY_LEN] },
    Failed,
}

/// The SCRAM-SHA-256(-PLUS) mechanism's client side. The nonce comes from the caller (this
/// crate has no random source); the password is prepared with SASLprep.
pub struct ScramClient {
    plus: bool,
    password: String,
    client_nonce: String,
    gs2_header: Vec<u8>,
    cbind_data: Vec<u8>,
    bare: Vec<u8>,
    min_iterations: u32,
    max_iterations: u32,
    state: State,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("plus", &self.plus)
            .field("client_nonce", &self.client_nonce)
            .field("gs2_header", &String::from_utf8_lossy(&self.gs2_header))
            .finish_non_exhaustive()
    }
}

impl ScramClient {
    /// A client for `username` with `password`, acting as `authzid` if given, with the
    /// client nonce `nonce` (printable ASCII without `,`) and the channel binding situation.
    /// `ChannelBinding::TlsExporter` makes it SCRAM-SHA-256-PLUS.
    pub fn new(
        username: &str,
        password: &str,
        authzid: Option<String>,
        nonce: &str,
        binding: ChannelBinding,
    ) -> Result<Self, UsageError> {
        if !valid_nonce(nonce.as_bytes()) {
            return Err(UsageError::InvalidNonce);
        }
        let username = prepare(username, "user name")?;
        if username.is_empty() {
            return Err(UsageError::MissingCredential("SCRAM-SHA-256", "user name"));
        }
        let password = prepare(password, "password")?.into_owned();
        let (flag, plus, cbind_data) = match binding {
            ChannelBinding::None => ("n".to_owned(), false, Vec::new()),
            ChannelBinding::SupportedNotUsed => ("y".to_owned(), false, Vec::new()),
            ChannelBinding::TlsExporter(data) => (format!("p={TLS_EXPORTER}"), true, data),
        };
        let mut gs2_header = flag.into_bytes();
        gs2_header.push(b',');
        if let Some(authzid) = authzid {
            if authzid.contains('\0') || authzid.is_empty() {
                return Err(UsageError::InvalidString("authorization identity"));
            }
            gs2_header.extend_from_slice(b"a=");
            gs2_header.extend_from_slice(escape_saslname(&authzid).as_bytes());
        }
        gs2_header.push(b',');
        let bare = format!("n={},r={nonce}", escape_saslname(&username)).into_bytes();
        Ok(ScramClient {
            plus,
            password,
            client_nonce: nonce.to_owned(),
            gs2_header,
            cbind_data,
            bare,
            min_iterations: DEFAULT_MIN_ITERATIONS,
            max_iterations: DEFAULT_MAX_ITERATIONS,
            state: State::Initial,
        })
    }

    /// Sets the accepted range of iteration counts (default 4096 to 10,000,000).
    pub fn with_iteration_limits(mut self, min: u32, max: u32) -> Self {
        self.min_iterations = min;
        self.max_iterations = max;
        self
    }

    fn mech(&self) -> &'static str {
        if self.plus {
            "SCRAM-SHA-256-PLUS"
        } else {
            "SCRAM-SHA-256"
        }
    }

    fn first_message(&mut self) -> Vec<u8> {
        self.state = State::SentFirst;
        let mut msg = self.gs2_header.clone();
        msg.extend_from_slice(&self.bare);
        msg
    }

    fn malformed(&mut self, what: &'static str) -> ClientError {
        self.state = State::Failed;
        ClientError::malformed(self.mech(), what)
    }

    fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, ClientError> {
        let Some(attrs) = attributes(server_first) else {
            return Err(self.malformed("bad attribute syntax"));
        };
        let (nonce, salt, iterations) = match attrs.as_slice() {
            [(b'm', _), ..] => return Err(self.malformed("unsupported mandatory extension")),
            [(b'r', n), (b's', s), (b'i', i), ..] => (*n, *s, *i),
            _ => return Err(self.malformed("expected r=, s= and i=")),
        };
        if !valid_nonce(nonce)
            || !nonce.starts_with(self.client_nonce.as_bytes())
            || nonce.len() == self.client_nonce.len()
        {
            self.state = State::Failed;
            return Err(ClientError::NonceMismatch);
        }
        let Some(salt) = b64_decode(salt) else {
            return Err(self.malformed("s= is not base64"));
        };
        let Some(iterations) = std::str::from_utf8(iterations)
            .ok()
            .filter(|i| i.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|i| i.parse::<u32>().ok())
        else {
            return Err(self.malformed("i= is not a number"));
        };
        if iterations < self.min_iterations || iterations > self.max_iterations {
            self.state = State::Failed;
            return Err(ClientError::IterationCount {
                count: iterations,
                min: self.min_iterations,
                max: self.max_iterations,
            });
        }
        let salted = salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = sha256(&client_key);
        let server_key = hmac(&salted, b"Server Key");

        let mut cbind_input = self.gs2_header.clone();
        cbind_input.extend_from_slice(&self.cbind_data);
        let mut without_proof = b"c=".to_vec();
        without_proof.extend_from_slice(b64_encode(&cbind_input).as_bytes());
        without_proof.extend_from_slice(b",r=");
        without_proof.extend_from_slice(nonce);

        let mut auth_message = self.bare.clone();
        auth_message.push(b',');
        auth_message.extend_from_slice(server_first);
        auth_message.push(b',');
        auth_message.extend_from_slice(&without_proof);

        let proof = xor(&client_key, &hmac(&stored_key, &auth_message));
        self.state = State::SentFinal {
            server_signature: hmac(&server_key, &auth_message),
        };
        let mut msg = without_proof;
        msg.extend_from_slice(b",p=");
        msg.extend_from_slice(b64_encode(&proof).as_bytes());
        Ok(msg)
    }

    fn verify(&mut self, server_final: &[u8], expected: [u8; KEY_LEN]) -> Result<(), ClientError> {
        let Some(attrs) = attributes(server_final) else {
            return Err(self.malformed("bad attribute syntax"));
        };
        match attrs.as_slice() {
            [(b'e', error), ..] => {
                self.state = State::Failed;
                Err(ClientError::ServerError(
                    String::from_utf8_lossy(error).into_owned(),
                ))
            }
            [(b'v', signature), ..] => {
                let signature = b64_decode(signature).unwrap_or_default();
                if bool::from(signature.as_slice().ct_eq(&expected)) {
                    self.state = State::Verified {
                        server_signature: expected,
                    };
                    Ok(())
                } else {
                    self.state = State::Failed;
                    Err(ClientError::InvalidServerSignature)
                }
            }
            _ => Err(self.malformed("expected v= or e=")),
        }
    }
}

impl ClientMechanism for ScramClient {
    fn name(&self) -> &str {
        self.mech()
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        match self.state {
            State::Initial => Ok(Some(self.first_message())),
            _ => Err(ClientError::UnexpectedChallenge {
                mechanism: self.mech().to_owned(),
            }),
        }
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        match self.state {
            State::Initial if challenge.is_empty() => Ok(self.first_message()),
            State::SentFirst => self.client_final(challenge),
            State::SentFinal { server_signature } => {
                // The server-final message sent as a challenge: answer with an empty response.
                self.verify(challenge, server_signature)
                    .map(|()| Vec::new())
            }
            _ => Err(ClientError::UnexpectedChallenge {
                mechanism: self.mech().to_owned(),
            }),
        }
    }

    fn finish(&mut self, additional_data: Option<&[u8]>) -> Result<(), ClientError> {
        match (&self.state, additional_data) {
            (State::SentFinal { server_signature }, Some(data)) => {
                let expected = *server_signature;
                self.verify(data, expected)
            }
            (State::Verified { .. }, None) => Ok(()),
            // Already verified from a challenge: an empty success data is fine, any other
            // data must verify too.
            (State::Verified { .. }, Some([])) => Ok(()),
            (State::Verified { server_signature }, Some(data)) => {
                let expected = *server_signature;
                self.verify(data, expected)
            }
            _ => Err(ClientError::MissingServerSignature),
        }
    }
}
