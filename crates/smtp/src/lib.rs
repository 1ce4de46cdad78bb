//! # postwerk-smtp
//!
//! Placeholder docs, replaced below.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The SMTP client machine: sends mail transactions over a session it drives from replies.
pub mod client;
pub mod codec;
