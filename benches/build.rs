//! Message building benchmarks: postwerk-message's `build::MessageBuilder` side by side
//! with mail-builder, writing the same message into a `Vec<u8>`.
//!
//! ```text
//! cargo bench --bench build                  # both groups
//! cargo bench --bench build -- mixed         # one group
//! ```
//!
//! - `simple`: From, To, Subject, Date, Message-ID and a short plain-text body.
//! - `mixed`: the same header fields with a non-ASCII subject and display names, a text and
//!   an HTML body (`multipart/alternative`) and one 100 KiB binary attachment with a
//!   non-ASCII file name (`multipart/mixed`, base64).
//!
//! Both builders get the date and the message identifier, so neither reads a clock or the
//! host name. Each iteration builds from borrowed inputs (mail-builder's builder is
//! consumed by writing, so both are made anew each time). Throughput is reported in bytes of
//! the message postwerk writes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use postwerk::message::build::MessageBuilder;
use postwerk::message::{DateTime, Message};

const DATE: i64 = 1_795_899_070;

struct Inputs {
    text: String,
    html: String,
    attachment: Vec<u8>,
}

fn inputs() -> Inputs {
    let text = "Hello Mary,\r\n\r\nthe quarterly report is attached; the numbers look good.\r\n\
                Grüße aus Köln,\r\nJohn\r\n"
        .repeat(8);
    let html = format!(
        "<html><body>{}</body></html>",
        "<p>Hello <b>Mary</b>, the quarterly report is attached; Grüße aus Köln.</p>\r\n"
            .repeat(12)
    );
    // Deterministic incompressible-looking bytes (xorshift).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let attachment = (0..100 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    Inputs {
        text,
        html,
        attachment,
    }
}

fn postwerk_simple() -> Vec<u8> {
    MessageBuilder::new()
        .from(("John Doe", "john@example.com"))
        .to(("Mary Smith", "mary@example.net"))
        .subject("Quarterly report")
        .date(DateTime::from_unix(DATE, 0))
        .message_id("20261128.1@example.com")
        .text("Hello Mary,\r\n\r\nthe report is ready.\r\n\r\nJohn\r\n")
        .build()
        .expect("valid message")
}

fn mail_builder_simple() -> Vec<u8> {
    mail_builder::MessageBuilder::new()
        .from(("John Doe", "john@example.com"))
        .to(("Mary Smith", "mary@example.net"))
        .subject("Quarterly report")
        .date(DATE)
        .message_id("20261128.1@example.com")
        .text_body("Hello Mary,\r\n\r\nthe report is ready.\r\n\r\nJohn\r\n")
        .write_to_vec()
        .expect("written")
}

fn postwerk_mixed(i: &Inputs) -> Vec<u8> {
    MessageBuilder::new()
        .from(("Jöhn Döe", "john@example.com"))
        .to(("Mary Smith", "mary@example.net"))
        .subject("Quartalsbericht — Grüße aus Köln")
        .date(DateTime::from_unix(DATE, 0))
        .message_id("20261128.2@example.com")
        .text(i.text.as_str())
        .html(i.html.as_str())
        .attachment(
            "application/octet-stream",
            "Bericht März.bin",
            i.attachment.as_slice(),
        )
        .build()
        .expect("valid message")
}

fn mail_builder_mixed(i: &Inputs) -> Vec<u8> {
    mail_builder::MessageBuilder::new()
        .from(("Jöhn Döe", "john@example.com"))
        .to(("Mary Smith", "mary@example.net"))
        .subject("Quartalsbericht — Grüße aus Köln")
        .date(DATE)
        .message_id("20261128.2@example.com")
        .text_body(i.text.as_str())
        .html_body(i.html.as_str())
        .attachment(
            "application/octet-stream",
            "Bericht März.bin",
            i.attachment.as_slice(),
        )
        .write_to_vec()
        .expect("written")
}

/// Both builders write messages that read back to the same attachment and text.
fn check_same(i: &Inputs) {
    for bytes in [postwerk_mixed(i), mail_builder_mixed(i)] {
        let msg = Message::parse(&bytes).expect("parses");
        let att = msg.attachments().next().expect("one attachment");
        assert_eq!(att.decoded_body().as_ref(), i.attachment.as_slice());
        assert_eq!(att.filename().as_deref(), Some("Bericht März.bin"));
        let text = msg.text_body().next().and_then(|p| p.decoded_text());
        assert_eq!(text.as_deref().map(str::trim_end), Some(i.text.trim_end()));
        assert_eq!(
            msg.subject().as_deref(),
            Some("Quartalsbericht — Grüße aus Köln")
        );
    }
}

fn bench(c: &mut Criterion) {
    let i = inputs();
    check_same(&i);

    let mut g = c.benchmark_group("simple");
    g.throughput(Throughput::Bytes(postwerk_simple().len() as u64));
    g.bench_function("postwerk", |b| b.iter(|| black_box(postwerk_simple())));
    g.bench_function("mail-builder", |b| {
        b.iter(|| black_box(mail_builder_simple()))
    });
    g.finish();

    let mut g = c.benchmark_group("mixed");
    g.throughput(Throughput::Bytes(postwerk_mixed(&i).len() as u64));
    g.bench_function("postwerk", |b| b.iter(|| black_box(postwerk_mixed(&i))));
    g.bench_function("mail-builder", |b| {
        b.iter(|| black_box(mail_builder_mixed(&i)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
