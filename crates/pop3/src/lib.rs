//! Sans-IO POP3: server and client state machines.
//!
//! placeholder docs
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod codec;
mod error;
pub mod server;

pub use error::Error;
