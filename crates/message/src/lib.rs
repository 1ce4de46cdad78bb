//! # postwerk-message
//!
//! RFC 5322 Internet messages for Rust: addresses, header fields, dates, message
//! identifiers and the MIME structure, parsed zero-copy where the input allows and bounded
//! everywhere, plus builders for the fields a mail server writes (trace fields, bounces).
//!
//! This crate does no I/O.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;

pub use error::{ParseError, ParseErrorKind};
