//! The client side of SMTP AUTH (RFC 4954), with the mechanisms of postwerk-sasl (PLAIN,
//! LOGIN, XOAUTH2, OAUTHBEARER, SCRAM-SHA-256(-PLUS), EXTERNAL) or the caller's own
//! [`ClientExchange`].
//!
//! ```text
//! auth-command = "AUTH" SP sasl-mech [SP initial-response] *(CRLF [base64]) [CRLF cancel-response] CRLF
//! initial-response = base64 / "="
//! cancel-response = "*"
//! ```

use postwerk_sasl::client::ClientExchange;
use postwerk_sasl::{ClientError, Credentials, Mechanism as SaslMechanism, choose_mechanism};

use crate::codec::command::Command;
use crate::codec::sasl::{self, Mechanism};
use crate::codec::text::Text;

use super::ehlo::Capabilities;

/// RFC 5321 4.5.3.1.4: a command line, CRLF included, is at most 512 octets; an initial
/// response that would make AUTH longer waits for the first (empty) 334 (RFC 4954 4).
const MAX_AUTH_LINE: usize = 512;

/// Where an AUTH exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthStep {
    /// AUTH or a response sent; waiting for 334 or 235.
    Exchange,
    /// `*` sent because the mechanism refused a challenge; waiting for the 501.
    Cancelled,
}

/// The strongest mechanism the server offers that `creds` allow. SCRAM only with a nonce.
pub(crate) fn choose(
    caps: &Capabilities,
    creds: &Credentials,
    protected: bool,
    have_nonce: bool,
) -> Option<SaslMechanism> {
    let offered = caps
        .auth_mechanisms()
        .iter()
        .map(String::as_str)
        .filter(|m| have_nonce || !m.starts_with("SCRAM-"));
    choose_mechanism(offered, creds, protected)
}

/// The AUTH command for `exchange`, and the initial response kept for the first 334 when
/// it does not fit on the command line.
pub(crate) fn start(
    exchange: &mut ClientExchange,
) -> Result<(Command, Option<Vec<u8>>), ClientError> {
    let name = exchange.mechanism_name().to_owned();
    let mechanism = Mechanism::parse(&name).ok_or_else(|| ClientError::Malformed {
        mechanism: name.clone(),
        what: "the mechanism name is not valid",
    })?;
    let (initial_response, deferred) = match exchange.initial_response()? {
        None => (None, None),
        Some(ir) => {
            let text = if ir.is_empty() {
                "=".to_owned()
            } else {
                sasl::encode(&ir)
            };
            // "AUTH" SP name SP text CRLF
            if 4 + 1 + name.len() + 1 + text.len() + 2 <= MAX_AUTH_LINE {
                (Some(text), None)
            } else {
                (None, Some(ir))
            }
        }
    };
    let command = Command::Auth {
        mechanism,
        initial_response: initial_response.map(Text::from),
    };
    Ok((command, deferred))
}

/// The response line to a 334 challenge: base64 of the mechanism's answer, or the error
/// that makes the client cancel with `*`.
pub(crate) fn respond(
    exchange: &mut ClientExchange,
    challenge: &str,
) -> Result<String, ClientError> {
    let decoded =
        sasl::decode(challenge.trim_end().as_bytes()).map_err(|_| ClientError::Malformed {
            mechanism: exchange.mechanism_name().to_owned(),
            what: "the challenge is not base64",
        })?;
    let response = exchange.step(&decoded)?;
    // RFC 4954 4: an empty response to a challenge is an empty line ("=" is only for an
    // empty initial response).
    if response.is_empty() {
        return Ok(String::new());
    }
    Ok(sasl::encode(&response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use postwerk_sasl::client_mechanism;

    fn exchange(mechanism: SaslMechanism, creds: &Credentials) -> ClientExchange {
        ClientExchange::new(client_mechanism(mechanism, creds, "nonce-nonce-nonce-nonce").unwrap())
    }

    #[test]
    fn plain_initial_response() {
        let creds = Credentials::password("alice", "secret");
        let mut ex = exchange(SaslMechanism::Plain, &creds);
        let (command, deferred) = start(&mut ex).unwrap();
        let mut line = Vec::new();
        command.write_to(&mut line);
        assert_eq!(line, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
        assert_eq!(deferred, None);
    }

    #[test]
    fn login_steps() {
        let creds = Credentials::password("alice", "secret");
        let mut ex = exchange(SaslMechanism::Login, &creds);
        let (command, _) = start(&mut ex).unwrap();
        let mut line = Vec::new();
        command.write_to(&mut line);
        assert_eq!(line, b"AUTH LOGIN\r\n");
        assert_eq!(respond(&mut ex, "VXNlcm5hbWU6").unwrap(), "YWxpY2U=");
        assert_eq!(respond(&mut ex, "UGFzc3dvcmQ6").unwrap(), "c2VjcmV0");
    }

    #[test]
    fn long_initial_response_waits_for_334() {
        let creds = Credentials::oauth("alice@example.org", "t".repeat(600));
        let mut ex = exchange(SaslMechanism::XOAuth2, &creds);
        let (command, deferred) = start(&mut ex).unwrap();
        let mut line = Vec::new();
        command.write_to(&mut line);
        assert_eq!(line, b"AUTH XOAUTH2\r\n");
        assert!(deferred.is_some_and(|d| d.len() > 600));
    }

    #[test]
    fn strongest_offered() {
        let reply = crate::codec::reply::Reply::multi(
            250,
            None,
            vec!["mx".into(), "AUTH PLAIN LOGIN SCRAM-SHA-256 XOAUTH2".into()],
        );
        let caps = Capabilities::from_ehlo(&reply);
        let pw = Credentials::password("a", "b");
        assert_eq!(
            choose(&caps, &pw, true, true),
            Some(SaslMechanism::ScramSha256)
        );
        assert_eq!(choose(&caps, &pw, true, false), Some(SaslMechanism::Plain));
        assert_eq!(choose(&caps, &pw, false, false), None);
        let token = Credentials::oauth("a", "t");
        assert_eq!(
            choose(&caps, &token, true, true),
            Some(SaslMechanism::XOAuth2)
        );
    }
}
