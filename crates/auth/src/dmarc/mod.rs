//! DMARC (RFC 9989): policy discovery and evaluation (being written).
