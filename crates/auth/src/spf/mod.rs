//! SPF (RFC 7208): a sans-IO check machine (being written).
