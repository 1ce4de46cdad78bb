//! Streamed bodies ([`Transaction::streaming`]): the client relays a 100 MiB message to the
//! server machine in process, with DATA and with BDAT, and its pending output never
//! exceeds the mark plus one chunk (SECURITY.md 41, issue 12: "memory bounded by its chunk
//! size"); a body streamed in any split goes on the wire exactly as the same body given
//! whole; session reuse after a streamed transaction.

use std::time::Instant;

use bytes::Bytes;
use postwerk_smtp::client::{
    self, BareLineEndings, Event as ClientEvent, Recipient, Transaction, TransactionResult,
};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
use postwerk_smtp::server::{self, Decision, Event};
use proptest::prelude::*;

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn from() -> ReversePath {
    ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap())
}

fn to() -> Recipient {
    Recipient::new(ForwardPath::Mailbox(
        Mailbox::new("bob", "example.net").unwrap(),
    ))
}

/// A line of the generated message: 80 octets with CRLF; every 7th starts with a dot.
fn line(n: usize) -> [u8; 80] {
    let mut l = [b'x'; 80];
    if n.is_multiple_of(7) {
        l[0] = b'.';
    }
    l[78] = b'\r';
    l[79] = b'\n';
    l
}

/// The next chunk of a message of `total` octets from `offset` (the caller's file
/// reader). Chunks are cut at 64 KiB, across lines.
fn next_chunk(offset: usize, total: usize) -> Bytes {
    let len = CHUNK.min(total - offset);
    let mut v = Vec::with_capacity(len);
    let mut pos = offset;
    while v.len() < len {
        let l = line(pos / 80);
        let start = pos % 80;
        let take = (80 - start).min(len - v.len());
        v.extend_from_slice(&l[start..start + take]);
        pos += take;
    }
    Bytes::from(v)
}

struct Stats {
    max_pending: usize,
    max_buffered_input: usize,
    max_buffered_body: usize,
    received: u64,
    results: Vec<TransactionResult>,
}

/// Relays `messages` streamed messages of `total` octets each over one session, the
/// client talking to the server machine, and measures the client.
fn relay(total: usize, chunking: bool, messages: usize) -> Stats {
    let now = Instant::now();
    let mut cconf = client::Config::new("client.example");
    cconf.chunking = chunking;
    cconf.bare_line_endings = BareLineEndings::Reject;
    let mark = cconf.max_pending_output;
    let mut sconf = server::Config::new("mx.example.net");
    sconf.extensions.chunking = chunking;
    sconf.limits.max_message_size = 1 << 40;
    let mut client = client::Connection::new(cconf, now);
    let mut server = server::Connection::new(sconf, now);
    for _ in 0..messages {
        client
            .send(Transaction::streaming(from()).with_recipient(to()), now)
            .unwrap();
    }
    client.quit(now);
    let mut offset = 0;
    let mut to_server: Vec<u8> = Vec::new();
    let mut stats = Stats {
        max_pending: 0,
        max_buffered_input: 0,
        max_buffered_body: 0,
        received: 0,
        results: Vec::new(),
    };
    let check = |c: &client::Connection, stats: &mut Stats| {
        stats.max_pending = stats.max_pending.max(c.pending_output());
        stats.max_buffered_input = stats.max_buffered_input.max(c.buffered_input());
        stats.max_buffered_body = stats.max_buffered_body.max(c.buffered_body());
        assert!(
            c.pending_output() <= mark + CHUNK + CHUNK / 64 + 64,
            "pending output {} above the mark {mark} plus one chunk",
            c.pending_output()
        );
    };
    for _ in 0..10_000_000 {
        let mut progress = false;
        while let Some(bytes) = server.poll_transmit() {
            client.handle_input(&bytes, now);
            check(&client, &mut stats);
            progress = true;
        }
        while let Some(event) = server.poll_event() {
            progress = true;
            match event {
                Event::Mail { id, .. } | Event::Rcpt { id, .. } => {
                    server.respond(id, Decision::Accept, now).unwrap();
                }
                Event::BodyChunk(chunk) => stats.received += chunk.len() as u64,
                Event::DataEnd { id, .. } => server.respond(id, Decision::Accept, now).unwrap(),
                _ => {}
            }
        }
        while let Some(event) = client.poll_event() {
            progress = true;
            match event {
                ClientEvent::BodyWanted { id } => {
                    if offset == total {
                        client.body_end(id, now).unwrap();
                        offset = 0;
                    } else {
                        let chunk = next_chunk(offset, total);
                        offset += chunk.len();
                        client.body_chunk(id, chunk, now).unwrap();
                    }
                    check(&client, &mut stats);
                }
                ClientEvent::TransactionDone(r) => stats.results.push(r),
                _ => {}
            }
        }
        // The socket takes one chunk at a time.
        if let Some(bytes) = client.poll_transmit() {
            check(&client, &mut stats);
            to_server.extend_from_slice(&bytes);
            progress = true;
        }
        if !to_server.is_empty() {
            let taken = server.handle_input(&to_server, now);
            to_server.drain(..taken);
            progress |= taken > 0;
        }
        if client.is_closed() {
            break;
        }
        assert!(progress, "stalled");
    }
    assert!(client.is_closed());
    stats
}

#[test]
fn security_41_stream_100_mib_with_data_memory_bounded_by_chunk_size() {
    let total = 100 * MIB;
    let stats = relay(total, false, 1);
    assert_eq!(stats.results.len(), 1);
    assert!(stats.results[0].all_accepted());
    assert_eq!(stats.received, total as u64);
    let mark = client::Config::new("x").max_pending_output;
    println!(
        "DATA: max pending output {} (mark {mark} + chunk {CHUNK}), max buffered input {}",
        stats.max_pending, stats.max_buffered_input
    );
    assert!(stats.max_pending <= mark + CHUNK + CHUNK / 64 + 64);
    assert!(stats.max_buffered_input < 1024);
    assert_eq!(stats.max_buffered_body, 0);
}

#[test]
fn security_41_stream_100_mib_with_bdat_memory_bounded_by_chunk_size() {
    let total = 100 * MIB;
    let stats = relay(total, true, 1);
    assert!(stats.results[0].all_accepted());
    assert_eq!(stats.received, total as u64);
    let mark = client::Config::new("x").max_pending_output;
    println!(
        "BDAT: max pending output {} (mark {mark} + chunk {CHUNK})",
        stats.max_pending
    );
    assert!(stats.max_pending <= mark + CHUNK + 64);
}

#[test]
fn streamed_transactions_reuse_the_session() {
    for chunking in [false, true] {
        let stats = relay(3 * MIB + 17, chunking, 3);
        assert_eq!(stats.results.len(), 3);
        assert!(stats.results.iter().all(TransactionResult::all_accepted));
        // Server-side count is after unstuffing: the message itself, three times.
        assert_eq!(stats.received, 3 * (3 * MIB as u64 + 17) + 3 * 2);
    }
}

/// The client's bytes for one message, whole or streamed in the given pieces, against a
/// scripted pipelining server (8BITMIME and SMTPUTF8 offered), over DATA or BDAT.
fn wire(body: &[u8], pieces: Option<&[usize]>, chunking: bool) -> Vec<u8> {
    let now = Instant::now();
    let mut config = client::Config::new("client.example");
    config.chunking = chunking;
    config.bare_line_endings = BareLineEndings::Normalize;
    let mut conn = client::Connection::new(config, now);
    let tx = match pieces {
        None => Transaction::new(from(), Bytes::copy_from_slice(body)),
        Some(_) => Transaction::streaming(from()),
    };
    conn.send(tx.with_recipient(to()), now).unwrap();
    let mut chunks: Vec<Bytes> = Vec::new();
    if let Some(cuts) = pieces {
        let mut start = 0;
        for &cut in cuts {
            let end = cut.clamp(start, body.len());
            chunks.push(Bytes::copy_from_slice(&body[start..end]));
            start = end;
        }
        chunks.push(Bytes::copy_from_slice(&body[start..]));
    }
    let mut chunks = chunks.into_iter();
    let mut out = Vec::new();
    let mut drain = |conn: &mut client::Connection, out: &mut Vec<u8>| loop {
        while let Some(b) = conn.poll_transmit() {
            out.extend_from_slice(&b);
        }
        let mut any = false;
        while let Some(e) = conn.poll_event() {
            if let ClientEvent::BodyWanted { id } = e {
                any = true;
                match chunks.next() {
                    Some(c) => conn.body_chunk(id, c, now).unwrap(),
                    None => conn.body_end(id, now).unwrap(),
                }
            }
        }
        if !any {
            break;
        }
    };
    conn.handle_input(
        b"220 mx\r\n250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n",
        now,
    );
    drain(&mut conn, &mut out);
    conn.handle_input(b"250 ok\r\n250 ok\r\n", now);
    drain(&mut conn, &mut out);
    if !chunking {
        conn.handle_input(b"354 go\r\n", now);
        drain(&mut conn, &mut out);
    }
    out
}

/// Removes the BDAT framing: the concatenated chunk data.
fn unframe_bdat(wire: &[u8]) -> Vec<u8> {
    let start = wire.windows(4).position(|w| w == b"BDAT").unwrap();
    let mut rest = &wire[start..];
    let mut data = Vec::new();
    while let Some(rest2) = rest.strip_prefix(b"BDAT ") {
        let eol = rest2.windows(2).position(|w| w == b"\r\n").unwrap();
        let head = std::str::from_utf8(&rest2[..eol]).unwrap();
        let size: usize = head.split(' ').next().unwrap().parse().unwrap();
        data.extend_from_slice(&rest2[eol + 2..eol + 2 + size]);
        rest = &rest2[eol + 2 + size..];
    }
    data
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// DATA: any split of the body gives the same bytes as the body given whole
    /// (dot-stuffing and line-end normalisation across chunk boundaries).
    #[test]
    fn streamed_data_equals_whole(
        body in proptest::collection::vec(
            prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a'), Just(0xE9u8)], 0..200),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = wire(&body, None, false);
        let streamed = wire(&body, Some(&cuts), false);
        // The MAIL line differs: a whole body is looked at (BODY=8BITMIME only when
        // 8-bit, SMTPUTF8 when the header is UTF-8), a streamed one is not.
        let strip = |w: &[u8]| {
            String::from_utf8_lossy(w)
                .replace(" BODY=8BITMIME", "")
                .replace(" SMTPUTF8", "")
        };
        prop_assert_eq!(strip(&whole), strip(&streamed));
    }

    /// BDAT: the chunk data of any split is the body given whole.
    #[test]
    fn streamed_bdat_data_equals_whole(
        body in proptest::collection::vec(
            prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a')], 1..200),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = unframe_bdat(&wire(&body, None, true));
        let streamed = unframe_bdat(&wire(&body, Some(&cuts), true));
        prop_assert_eq!(whole, streamed);
    }
}

#[test]
fn security_04_streamed_bare_line_ends_never_reach_the_wire() {
    // A smuggling payload split over chunks: normalised to CRLF and dot-stuffed, so the
    // server sees one message whose body holds the text, never an end of data.
    let body = b"Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<evil@example.org>\r\n\r.\r\r\nend\r\n";
    let whole = String::from_utf8(wire(body, None, false)).unwrap();
    for cut in 0..body.len() {
        let streamed = String::from_utf8(wire(body, Some(&[cut]), false)).unwrap();
        assert!(
            streamed.ends_with(
                "\r\n\r\nhi\r\n..\r\nMAIL FROM:<evil@example.org>\r\n\r\n..\r\n\r\nend\r\n.\r\n"
            ),
            "{cut}: {streamed:?}"
        );
        assert_eq!(streamed.matches("\r\n.\r\n").count(), 1, "{cut}");
        assert_eq!(
            streamed.replace(" BODY=8BITMIME", ""),
            whole.replace(" BODY=8BITMIME", "")
        );
    }
}
