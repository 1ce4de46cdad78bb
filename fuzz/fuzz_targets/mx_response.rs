#![no_main]
//! Arbitrary response bytes fed to a `Lookup`, shaped so that the parser, the response
//! validation and the routing rules are all reached.
//!
//! Byte 0 selects options (families, a local host name, name servers, attempts). Then
//! chunks of `len: u8, bytes…` follow; each answers the oldest query in flight:
//! * `len` even: the chunk is a whole message whose id is replaced by the query's;
//! * `len` odd: the query's header and question are kept, header octets 2..12 (flags and
//!   section counts) come from the chunk with QR forced, and the rest of the chunk
//!   follows the question as the record sections;
//! * `len == 255`: the lookup's timeout fires instead.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use postwerk_mx::{Families, Handled, Ignored, Lookup, Options, Query, Rng};

/// Offset just after the question of a query we built (12-octet header, one question).
fn question_end(query: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            return Some(at + 4);
        }
        at += len;
    }
}

fn shape(query: &Query, len: u8, chunk: &[u8]) -> Vec<u8> {
    if len & 1 == 0 {
        let mut bytes = chunk.to_vec();
        if let Some(head) = bytes.get_mut(..2) {
            head.copy_from_slice(&query.id.to_be_bytes());
        }
        return bytes;
    }
    let Some(end) = question_end(&query.bytes).filter(|e| *e <= query.bytes.len()) else {
        return chunk.to_vec();
    };
    let mut bytes = query.bytes[..end].to_vec();
    let (head, tail) = chunk.split_at(chunk.len().min(10));
    for (i, b) in head.iter().enumerate() {
        bytes[2 + i] = *b;
    }
    bytes[2] |= 0x80; // QR
    bytes[2] &= !0x78; // opcode QUERY
    bytes[4] = 0;
    bytes[5] = 1; // one question
    bytes.extend_from_slice(tail);
    bytes
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut options = Options::default();
    options.families = match flags & 3 {
        0 => Families::Ipv4First,
        1 => Families::Ipv6First,
        2 => Families::Ipv4Only,
        _ => Families::Ipv6Only,
    };
    if flags & 4 != 0 {
        options.local_hosts.push("mx.example.test".into());
    }
    options.servers = 1 + ((flags >> 3) & 3);
    options.attempts = 1 + (flags >> 6);
    let max_transmissions = options.max_transmissions();
    let mut now = Instant::now();
    let mut lookup = Lookup::new("example.test", options, Rng::new(u64::from(flags)), now);
    let mut in_flight: Vec<Query> = Vec::new();
    let mut input = rest;
    for _ in 0..128 {
        while let Some(q) = lookup.poll_query() {
            // A query moves on through the servers, never past its transmissions.
            assert!(
                q.attempt < max_transmissions,
                "{} >= {max_transmissions}",
                q.attempt
            );
            in_flight.retain(|p| p.id != q.id);
            in_flight.push(q);
        }
        if lookup.is_finished() {
            break;
        }
        let Some((&len, tail)) = input.split_first() else {
            break;
        };
        if len == 255 {
            input = tail;
            now = lookup
                .poll_timeout()
                .unwrap_or(now + Duration::from_secs(1));
            lookup.handle_timeout(now);
            continue;
        }
        let n = usize::from(len).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        input = tail;
        let Some(query) = in_flight.first() else {
            let _ = lookup.handle_response(chunk, now);
            continue;
        };
        let bytes = shape(query, len, chunk);
        match lookup.handle_response(&bytes, now) {
            // Answered, or no longer in flight (given up after its attempts): next one.
            Handled::Accepted { .. } | Handled::Ignored(Ignored::UnknownId) => {
                in_flight.remove(0);
            }
            _ => {}
        }
    }
    // Run out the clock: every lookup must finish, without panicking.
    for _ in 0..256 {
        if lookup.is_finished() {
            break;
        }
        now = lookup
            .poll_timeout()
            .unwrap_or(now + Duration::from_secs(1));
        lookup.handle_timeout(now);
        while let Some(q) = lookup.poll_query() {
            assert!(q.attempt < max_transmissions);
        }
    }
    assert!(lookup.is_finished());
    let _ = lookup.result();
});
