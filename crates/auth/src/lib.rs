//! Sender authentication as sans-IO machines: SPF (RFC 7208), DKIM (RFC 6376, RFC 8463),
//! DMARC (RFC 9989) and Authentication-Results (RFC 8601). DNS answers and the time are
//! inputs; message bytes are streamed in.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
