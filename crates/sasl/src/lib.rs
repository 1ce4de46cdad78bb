//! SASL mechanisms (RFC 4422) as sans-IO machines, client and server sides, shared by
//! postwerk-smtp and postwerk-pop3.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
