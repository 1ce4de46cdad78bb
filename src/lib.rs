//! # postwerk
//!
//! Mail protocol libraries for Rust, in one facade. Each protocol lives in its own crate
//! and can be used alone; this package re-exports them behind one feature each.
//!
//! | module    | crate              | what it is                                                      |
//! |-----------|--------------------|-----------------------------------------------------------------|
//! | `message` | `postwerk-message` | RFC 5322 addresses, header fields, MIME structure, builders     |
//! | `smtp`    | `postwerk-smtp`    | sans-IO SMTP server and client state machines (RFC 5321 + ext.) |
//! | `pop3`    | `postwerk-pop3`    | sans-IO POP3 server and client state machines (RFC 1939 + ext.) |
//! | `mx`      | `postwerk-mx`      | MX routing over DNS wire messages (RFC 5321 §5, RFC 7505)       |
//! | `auth`    | `postwerk-auth`    | sans-IO SPF, DKIM, DMARC and Authentication-Results             |
//! | `sasl`    | `postwerk-sasl`    | sans-IO SASL mechanisms, client and server (PLAIN ... SCRAM)    |
//!
//! None of the protocol crates does I/O: they take bytes and the current time and give back
//! events and bytes to send. The optional `mx-tokio` feature adds an async resolver driver.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "auth")]
pub use postwerk_auth as auth;
#[cfg(feature = "message")]
pub use postwerk_message as message;
#[cfg(feature = "mx")]
pub use postwerk_mx as mx;
#[cfg(feature = "pop3")]
pub use postwerk_pop3 as pop3;
#[cfg(feature = "sasl")]
pub use postwerk_sasl as sasl;
#[cfg(feature = "smtp")]
pub use postwerk_smtp as smtp;
