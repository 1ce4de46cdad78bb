//! POP3 throughput: RETR of a 1,000-message maildrop of 10 KiB messages
//! through the server machine (dot-stuffing on the way out), and the client
//! machine's unstuffing of the same wire stream.
//!
//! `cargo bench --bench pop3 -- --measurement-time 3 --warm-up-time 1`

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use postwerk::pop3::codec::wire_size;
use postwerk::pop3::{client, server};

const MESSAGES: usize = 1000;
const MESSAGE_SIZE: usize = 10 * 1024;

/// A 10 KiB message of 76-octet CRLF lines, some starting with a dot.
fn message(seed: usize) -> Bytes {
    let mut m = format!(
        "From: sender{seed}@example.org\r\nTo: rcpt@example.net\r\nSubject: message {seed}\r\n\r\n"
    )
    .into_bytes();
    let mut line = 0;
    while m.len() < MESSAGE_SIZE {
        let lead = if line % 17 == 0 { "." } else { "L" };
        let text = format!(
            "{lead}{line:05} the quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
        );
        m.extend_from_slice(text.as_bytes());
        line += 1;
    }
    m.truncate(MESSAGE_SIZE - 2);
    m.extend_from_slice(b"\r\n");
    Bytes::from(m)
}

fn maildrop() -> Vec<Bytes> {
    (0..MESSAGES).map(message).collect()
}

fn retr_commands() -> Vec<u8> {
    let mut cmds = Vec::new();
    for n in 1..=MESSAGES {
        cmds.extend_from_slice(format!("RETR {n}\r\n").as_bytes());
    }
    cmds
}

/// The maildrop listing; an application keeps sizes in its index.
fn listing(messages: &[Bytes]) -> Vec<server::MessageInfo> {
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| (wire_size(m), format!("uid{i}")).into())
        .collect()
}

/// One session: login, RETR every message (pipelined), return octets sent.
fn serve_all(
    messages: &[Bytes],
    listing: &[server::MessageInfo],
    cmds: &[u8],
    mut sink: impl FnMut(&Bytes),
) -> usize {
    let now = Instant::now();
    let mut config = server::Config::default();
    config.allow_plaintext_auth = true;
    config.max_pending_input = 1 << 20;
    let mut conn = server::Connection::new(config, now);
    conn.handle_input(b"USER u\r\nPASS p\r\n", now);
    let mut sent = 0;
    // The documented driver loop: events, then one piece of output, until neither is
    // left (the output is drained as it comes, so the mark never holds anything back).
    let mut drain = |conn: &mut server::Connection| {
        loop {
            while let Some(ev) = conn.poll_event() {
                match ev {
                    server::Event::Login { id, .. } => {
                        conn.accept_login(id, listing.to_vec()).unwrap();
                    }
                    server::Event::MessageRequest { id, index, .. } => {
                        conn.supply_message(id, messages[index].clone()).unwrap();
                    }
                    _ => {}
                }
            }
            match conn.poll_transmit() {
                Some(b) => {
                    sent += b.len();
                    sink(&b);
                }
                None => break,
            }
        }
    };
    drain(&mut conn);
    conn.handle_input(cmds, now);
    drain(&mut conn);
    sent
}

fn bench(c: &mut Criterion) {
    let messages = maildrop();
    let cmds = retr_commands();
    let list = listing(&messages);
    let total: usize = messages.iter().map(|m| m.len()).sum();
    assert!(
        serve_all(&messages, &list, &cmds, |_| {}) > total,
        "every RETR is answered"
    );

    let mut g = c.benchmark_group("pop3_server_retr_1000x10KiB");
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("bytes", |b| {
        b.iter(|| black_box(serve_all(&messages, &list, &cmds, |_| {})))
    });
    g.throughput(Throughput::Elements(MESSAGES as u64));
    g.bench_function("messages", |b| {
        b.iter(|| black_box(serve_all(&messages, &list, &cmds, |_| {})))
    });
    g.finish();

    // The RETR answers as the client reads them (after greeting and login).
    let mut wire = Vec::new();
    serve_all(&messages, &list, &cmds, |b| wire.extend_from_slice(b));
    let skip = memchr_nth(&wire, 3);
    let wire = wire[skip..].to_vec();
    let mut g = c.benchmark_group("pop3_client_unstuff_1000x10KiB");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("bytes", |b| {
        b.iter(|| {
            let now = Instant::now();
            let mut conn = client::Connection::new(client::Config::default(), now);
            conn.capa().unwrap();
            conn.handle_input(b"+OK ready\r\n", now);
            conn.handle_input(b"+OK\r\nPIPELINING\r\n.\r\n", now);
            conn.user("u").unwrap();
            conn.pass("p").unwrap();
            conn.handle_input(b"+OK\r\n+OK\r\n", now);
            for n in 1..=MESSAGES as u32 {
                conn.retr(n).unwrap();
            }
            while conn.poll_transmit().is_some() {}
            let mut received = 0usize;
            let mut done = 0usize;
            for chunk in wire.chunks(16 * 1024) {
                conn.handle_input(chunk, now);
                while let Some(ev) = conn.poll_event() {
                    match ev {
                        client::Event::MessageData { chunk, .. } => received += chunk.len(),
                        client::Event::Reply {
                            result: Ok(client::Reply::Message { .. }),
                            ..
                        } => done += 1,
                        _ => {}
                    }
                }
            }
            assert_eq!(done, MESSAGES);
            black_box(received)
        })
    });
    g.finish();
}

/// Offset just after the `n`th LF.
fn memchr_nth(data: &[u8], n: usize) -> usize {
    data.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(n - 1)
        .map_or(0, |(i, _)| i + 1)
}

criterion_group!(benches, bench);
criterion_main!(benches);
