//! DKIM verify and sign benchmarks: postwerk-auth side by side with mail-auth 0.13 (the
//! newest release that builds on rustc 1.95; 0.14 and later need mail-parser 1.0, which
//! needs rustc 1.98), both on ring's RSA and Ed25519.
//!
//! ```text
//! cargo bench --bench dkim                    # everything, about 2 minutes
//! cargo bench --bench dkim -- verify          # one group: verify or sign
//! POSTWERK_BENCH_ONESHOT=verify/1MiB/rsa/postwerk POSTWERK_BENCH_ITERS=2 valgrind \
//!     --tool=callgrind target/release/deps/dkim-HASH --bench   # one row n times
//! ```
//!
//! Messages: a generated 10 KiB and a generated 1 MiB message (16 header fields, plain
//! text body of 72-column lines with the double spaces, trailing blanks and empty lines
//! that relaxed canonicalization has to deal with), and for verify one real message,
//! github.com's 28 KiB newsletter from postwerk-auth's real-world test data (signed by
//! github.com with its published RSA-1024 key; see
//! `crates/auth/tests/data/dkim-real/README.md` for source and licence).
//!
//! Keys: RSA-2048 (`benches/data/dkim-rsa2048.pk8.der`, generated for this bench with
//! `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 | openssl pkcs8 -topk8
//! -nocrypt -outform der`) with `rsa-sha256`, and Ed25519 from a fixed seed; always
//! `c=relaxed/relaxed`.
//!
//! - `verify`: each generated message is signed once up front by postwerk; then both
//!   libraries verify the same signed bytes, the whole way from bytes and a key TXT record
//!   to a result: parse, canonicalize and hash header and body, parse the key record,
//!   check the signature. No DNS: postwerk gets the record through `supply_key`; mail-auth
//!   through a one-entry TXT cache (its `ResolverCache` trait), built in the timed loop
//!   from the record with `DomainKey::parse`, so both parse the record per message.
//!   mail-auth's `verify_dkim` is async: its future is polled once with a no-op waker
//!   (it never waits when the key is cached; a `Pending` would panic), so no runtime cost
//!   is included.
//! - `sign`: postwerk's `Signer::sign` (default header list, oversigning) against
//!   mail-auth's `DkimSigner::sign` + `to_header` with the same header names; both produce
//!   the `DKIM-Signature` field text.
//!
//! - `ring-floor` (verify only): the crypto any verifier of that message spends in ring,
//!   with no DKIM code around it: SHA-256 of the body and of the header block, and one
//!   signature check with the record's key. The distance from this row to the two
//!   libraries' rows is the part their DKIM code can still win or lose.
//!
//! Before timing, the setup checks that every row's result passes on both sides (and that
//! each library verifies the other's signatures), so a broken path cannot look fast.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dkim::{Canonicalization as MaCanon, DkimSigner};
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, Txt};
use postwerk::auth::dkim::{
    DEFAULT_SIGNED_HEADERS, DkimStatus, KeyRecord, KeyType, Signature, Signer, SigningKey,
    Verifier, VerifierConfig,
};
use postwerk::auth::dns::Answer;

const DOMAIN: &str = "example.com";
const SELECTOR: &str = "bench";
const RSA_PKCS8: &[u8] = include_bytes!("data/dkim-rsa2048.pk8.der");
const ED25519_SEED: [u8; 32] = [0x2a; 32];
const REAL_GITHUB: &str = include_str!("../crates/auth/tests/data/dkim-real/006.txt");

// ---------------------------------------------------------------------------------------
// Inputs

/// A deterministic message of exactly `size` bytes: 16 header fields, then 72-column text
/// lines in paragraphs, with the whitespace relaxed canonicalization rewrites.
fn generate(size: usize) -> Vec<u8> {
    let mut m = String::with_capacity(size + 128);
    m.push_str(concat!(
        "Return-Path: <alice@example.com>\r\n",
        "Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n",
        "\tby mx.example.net (Postfix) with ESMTPS id 4QmZ1x0bJcz9rxL\r\n",
        "\tfor <bob@example.net>; Tue, 28 Nov 2026 10:21:07 +0100 (CET)\r\n",
        "Received: from [198.51.100.7] (unknown [198.51.100.7])\r\n",
        "\tby mail.example.com (Postfix) with ESMTPSA id 8B1C2A0041\r\n",
        "\tfor <bob@example.net>; Tue, 28 Nov 2026 10:21:06 +0100 (CET)\r\n",
        "Message-ID: <3f9c2e1a-7b4d-4e8a-9c1f-0d2b6a5e8f71@example.com>\r\n",
        "Date: Tue, 28 Nov 2026 10:21:05 +0100\r\n",
        "MIME-Version: 1.0\r\n",
        "User-Agent: Mozilla Thunderbird\r\n",
        "Content-Language: en-US\r\n",
        "From: Alice Example <alice@example.com>\r\n",
        "To: Bob Example <bob@example.net>,  Carol <carol@example.org>\r\n",
        "Cc: team@lists.example.com\r\n",
        "Subject: Re: Quarterly report, draft 3  (numbers for\r\n",
        " the board meeting)\r\n",
        "In-Reply-To: <a1b2c3d4-0001@example.net>\r\n",
        "References: <a1b2c3d4-0000@example.net>\r\n",
        " <a1b2c3d4-0001@example.net>\r\n",
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n",
        "Content-Transfer-Encoding: 8bit\r\n",
        "\r\n",
    ));
    const WORDS: &[&str] = &[
        "the",
        "report",
        "numbers",
        "quarter",
        "revenue",
        "growth",
        "meeting",
        "board",
        "draft",
        "please",
        "review",
        "attached",
        "figures",
        "before",
        "Thursday",
        "and",
        "of",
        "to",
        "in",
        "we",
        "should",
        "discuss",
        "margin",
        "costs",
        "shipping",
        "team",
        "customers",
        "Europe",
        "forecast",
        "thanks",
        "budget",
        "for",
        "a",
        "is",
        "with",
        "résumé",
        "naïve",
        "Zürich",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut line = String::new();
    let mut lines_in_paragraph = 0;
    while m.len() < size {
        let r = next();
        let word = WORDS[(r % WORDS.len() as u64) as usize];
        if line.len() + word.len() + 1 > 72 {
            // Some lines keep a trailing blank (format=flowed soft breaks do).
            if r % 5 == 0 {
                line.push(' ');
            }
            m.push_str(&line);
            m.push_str("\r\n");
            line.clear();
            lines_in_paragraph += 1;
            if lines_in_paragraph >= 4 + (r % 6) as usize {
                m.push_str("\r\n");
                lines_in_paragraph = 0;
            }
            continue;
        }
        if !line.is_empty() {
            // Now and then a sentence ends, with two spaces after it.
            if r % 11 == 0 {
                line.push_str(".  ");
            } else {
                line.push(' ');
            }
        }
        line.push_str(word);
    }
    m.push_str("\r\n-- \r\nAlice\r\n\r\n\r\n");
    let mut bytes = m.into_bytes();
    // Exact size: cut the text (on a line end) and pad the last line.
    bytes.truncate(size - 8);
    while !bytes.ends_with(b"\r\n") {
        bytes.pop();
    }
    bytes.extend(std::iter::repeat_n(b'x', size - bytes.len() - 2));
    bytes.extend_from_slice(b"\r\n");
    assert_eq!(bytes.len(), size);
    bytes
}

/// The real message with CRLF line ends and its key records (`name`, `value`).
fn real_github() -> (Vec<u8>, Vec<(String, String)>) {
    let (records, message) = REAL_GITHUB.split_once("\n\n").expect("records, message");
    let records = records
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').expect("NAME VALUE");
            (n.to_ascii_lowercase(), v.to_owned())
        })
        .collect();
    (message.replace('\n', "\r\n").into_bytes(), records)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Alg {
    Rsa,
    Ed25519,
}

impl Alg {
    fn name(self) -> &'static str {
        match self {
            Alg::Rsa => "rsa",
            Alg::Ed25519 => "ed25519",
        }
    }
}

fn postwerk_key(alg: Alg) -> SigningKey {
    match alg {
        Alg::Rsa => SigningKey::from_pkcs8_der(RSA_PKCS8).expect("RSA key"),
        Alg::Ed25519 => SigningKey::ed25519_from_seed(&ED25519_SEED).expect("Ed25519 key"),
    }
}

fn postwerk_signer(alg: Alg) -> Signer {
    Signer::new(postwerk_key(alg), DOMAIN, SELECTOR).expect("signer")
}

/// mail-auth's signer for the same key, header names and canonicalization.
enum MaSigner {
    Rsa(DkimSigner<RsaKey<Sha256>, mail_auth::dkim::Done>),
    Ed25519(DkimSigner<Ed25519Key, mail_auth::dkim::Done>),
}

impl MaSigner {
    fn new(alg: Alg) -> Self {
        let headers = DEFAULT_SIGNED_HEADERS.iter().copied();
        match alg {
            Alg::Rsa => {
                #[allow(deprecated)] // the replacement takes a rustls-pki-types wrapper
                let key = RsaKey::<Sha256>::from_pkcs8_der(RSA_PKCS8).expect("RSA key");
                MaSigner::Rsa(
                    DkimSigner::from_key(key)
                        .domain(DOMAIN)
                        .selector(SELECTOR)
                        .headers(headers)
                        .header_canonicalization(MaCanon::Relaxed)
                        .body_canonicalization(MaCanon::Relaxed),
                )
            }
            Alg::Ed25519 => {
                let public = postwerk_key(Alg::Ed25519).public_key_der();
                let key = Ed25519Key::from_seed_and_public_key(&ED25519_SEED, &public)
                    .expect("Ed25519 key");
                MaSigner::Ed25519(
                    DkimSigner::from_key(key)
                        .domain(DOMAIN)
                        .selector(SELECTOR)
                        .headers(headers)
                        .header_canonicalization(MaCanon::Relaxed)
                        .body_canonicalization(MaCanon::Relaxed),
                )
            }
        }
    }

    /// The `DKIM-Signature` field (ending in CRLF).
    fn sign(&self, message: &[u8]) -> String {
        match self {
            MaSigner::Rsa(s) => s.sign(message).expect("mail-auth sign").to_header(),
            MaSigner::Ed25519(s) => s.sign(message).expect("mail-auth sign").to_header(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Verify, both sides

/// postwerk: bytes in, the key record supplied for every query, results out.
fn postwerk_verify(signed: &[u8], records: &[(String, String)], now: u64) -> usize {
    let mut v = Verifier::new(VerifierConfig::default());
    v.update(signed);
    for q in v.key_queries() {
        let record = records
            .iter()
            .find(|(n, _)| *n == q.name)
            .map_or("", |(_, r)| r.as_str());
        v.supply_key(&q.name, Answer::txt(record));
    }
    v.finish(now)
        .iter()
        .filter(|r| r.status == DkimStatus::Pass)
        .count()
}

/// A TXT cache holding parsed key records: mail-auth's way to verify without DNS.
struct KeyCache(Vec<(Box<str>, Txt)>);

impl mail_auth::ResolverCache<Box<str>, Txt> for KeyCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        use std::borrow::Borrow;
        self.0
            .iter()
            .find(|(k, _)| k.borrow() == name)
            .map(|(_, v)| v.clone())
    }

    fn remove<Q>(&self, _name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _key: Box<str>, _value: Txt, _valid_until: std::time::Instant) {}
}

/// Polls a future that must complete without waiting (no runtime involved).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("mail-auth wanted to wait (a DNS lookup the cache missed)"),
    }
}

/// mail-auth: parse the message, parse the key record into the cache, verify.
fn mail_auth_verify(
    auth: &MessageAuthenticator,
    signed: &[u8],
    records: &[(String, String)],
) -> usize {
    let Some(message) = AuthenticatedMessage::parse(signed) else {
        return 0;
    };
    let cache = KeyCache(
        records
            .iter()
            .filter_map(|(name, record)| {
                let key = DomainKey::parse(record.as_bytes()).ok()?;
                Some((format!("{name}.").into_boxed_str(), Txt::from(key)))
            })
            .collect(),
    );
    let out = ready(auth.verify_dkim(Parameters::new(&message).with_txt_cache(&cache)));
    out.iter()
        .filter(|o| *o.result() == DkimResult::Pass)
        .count()
}

// ---------------------------------------------------------------------------------------
// The crypto floor

/// What any verifier of `signed` has to spend in ring, whatever its DKIM code: SHA-256
/// over the body and the header block (about the bytes of their canonical forms) and one
/// signature check with the key of the record (parsed by ring on each call, as both
/// libraries do). The check runs on the raw header block, so it fails; ring costs the same
/// either way (it exponentiates, or for Ed25519 computes the point, before comparing).
struct Floor {
    header: Vec<u8>,
    body: Vec<u8>,
    key_type: KeyType,
    public_key: Vec<u8>,
    signature: Vec<u8>,
}

impl Floor {
    fn new(signed: &[u8], records: &[(String, String)]) -> Self {
        let split = signed
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header block")
            + 2;
        let (header, body) = (signed[..split].to_vec(), signed[split + 2..].to_vec());
        // The first field is the DKIM-Signature: its value runs to the first line that
        // does not start with WSP.
        let value_start = header.iter().position(|&b| b == b':').expect("colon") + 1;
        let mut end = value_start;
        while let Some(p) = header[end..].windows(2).position(|w| w == b"\r\n") {
            end += p + 2;
            if !matches!(header.get(end), Some(b' ' | b'\t')) {
                break;
            }
        }
        let sig = Signature::parse(&header[value_start..end]).expect("signature");
        let key = KeyRecord::parse(records[0].1.as_bytes()).expect("key record");
        Floor {
            header,
            body,
            key_type: key.key_type,
            public_key: key.public_key,
            signature: sig.signature,
        }
    }

    fn run(&self) -> usize {
        use ring::digest::{SHA256, digest};
        use ring::signature::{
            ED25519, RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, UnparsedPublicKey,
        };
        let body_hash = digest(&SHA256, &self.body);
        let checked = match self.key_type {
            KeyType::Ed25519 => {
                let header_hash = digest(&SHA256, &self.header);
                UnparsedPublicKey::new(&ED25519, &self.public_key)
                    .verify(header_hash.as_ref(), &self.signature)
            }
            _ => UnparsedPublicKey::new(
                &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                &self.public_key,
            )
            .verify(&self.header, &self.signature),
        };
        usize::from(body_hash.as_ref()[0]) + usize::from(checked.is_ok())
    }
}

// ---------------------------------------------------------------------------------------
// Rows

struct Row {
    group: &'static str,
    name: String,
    bytes: u64,
    run: Box<dyn Fn() -> usize>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn rows() -> Vec<Row> {
    // Never asked: every key comes from the cache. (Building it opens no socket; it
    // loads the system's CA certificates for its DNS-over-TLS transports.)
    let auth = std::rc::Rc::new(MessageAuthenticator::new_cloudflare().expect("authenticator"));
    let now = now();
    let key_name = format!("{SELECTOR}._domainkey.{DOMAIN}");
    let mut rows = Vec::new();

    let messages = [
        ("10KiB", generate(10 * 1024)),
        ("1MiB", generate(1024 * 1024)),
    ];
    for (size, message) in &messages {
        for alg in [Alg::Rsa, Alg::Ed25519] {
            let signer = postwerk_signer(alg);
            let records = vec![(key_name.clone(), signer.dns_record())];
            let ma_signer = MaSigner::new(alg);

            // Signed once up front by postwerk; both verify these bytes.
            let field = signer.sign(message, now).expect("postwerk sign");
            let signed = [field.as_bytes(), message].concat();
            assert_eq!(
                postwerk_verify(&signed, &records, now),
                1,
                "postwerk verify"
            );
            assert_eq!(
                mail_auth_verify(&auth, &signed, &records),
                1,
                "mail-auth verify"
            );
            // And the other way round: mail-auth's signature verifies with postwerk.
            let ma_field = ma_signer.sign(message);
            let ma_signed = [ma_field.as_bytes(), message].concat();
            assert_eq!(
                postwerk_verify(&ma_signed, &records, now),
                1,
                "cross verify"
            );
            assert_eq!(
                mail_auth_verify(&auth, &ma_signed, &records),
                1,
                "mail-auth self"
            );

            let prefix = format!("{size}/{}", alg.name());
            let bytes = signed.len() as u64;
            let (s, r) = (signed.clone(), records.clone());
            rows.push(Row {
                group: "verify",
                name: format!("{prefix}/postwerk"),
                bytes,
                run: Box::new(move || postwerk_verify(black_box(&s), &r, now)),
            });
            let floor = Floor::new(&signed, &records);
            let (s, r, a) = (signed, records, auth.clone());
            rows.push(Row {
                group: "verify",
                name: format!("{prefix}/mail-auth"),
                bytes,
                run: Box::new(move || mail_auth_verify(&a, black_box(&s), &r)),
            });
            rows.push(Row {
                group: "verify",
                name: format!("{prefix}/ring-floor"),
                bytes,
                run: Box::new(move || black_box(&floor).run()),
            });

            let m = message.clone();
            rows.push(Row {
                group: "sign",
                name: format!("{prefix}/postwerk"),
                bytes: message.len() as u64,
                run: Box::new(move || signer.sign(black_box(&m), now).map_or(0, |f| f.len())),
            });
            let m = message.clone();
            rows.push(Row {
                group: "sign",
                name: format!("{prefix}/mail-auth"),
                bytes: message.len() as u64,
                run: Box::new(move || ma_signer.sign(black_box(&m)).len()),
            });
        }
    }

    // The real message, verified with its own (github.com, rsa-sha256, RSA-1024) signature.
    let (real, records) = real_github();
    let signed_at = signing_time(&real);
    assert_eq!(
        postwerk_verify(&real, &records, signed_at),
        1,
        "postwerk real"
    );
    assert_eq!(
        mail_auth_verify(&auth, &real, &records),
        1,
        "mail-auth real"
    );
    let bytes = real.len() as u64;
    let (s, r) = (real.clone(), records.clone());
    rows.push(Row {
        group: "verify",
        name: "github-28KiB/rsa1024/postwerk".into(),
        bytes,
        run: Box::new(move || postwerk_verify(black_box(&s), &r, signed_at)),
    });
    let floor = Floor::new(&real, &records);
    rows.push(Row {
        group: "verify",
        name: "github-28KiB/rsa1024/mail-auth".into(),
        bytes,
        run: Box::new(move || mail_auth_verify(&auth, black_box(&real), &records)),
    });
    rows.push(Row {
        group: "verify",
        name: "github-28KiB/rsa1024/ring-floor".into(),
        bytes,
        run: Box::new(move || black_box(&floor).run()),
    });
    rows
}

/// The `t=` of the first signature.
fn signing_time(message: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(message);
    let start = text.find("t=").expect("t= tag") + 2;
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("t= value")
}

fn bench(c: &mut Criterion) {
    let rows = rows();

    // `POSTWERK_BENCH_ONESHOT=group/name [POSTWERK_BENCH_ITERS=n]`: run one row n times
    // without criterion, for instruction counts under `valgrind --tool=callgrind`.
    if let Ok(which) = std::env::var("POSTWERK_BENCH_ONESHOT") {
        let iters: usize = std::env::var("POSTWERK_BENCH_ITERS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let row = rows
            .iter()
            .find(|r| format!("{}/{}", r.group, r.name) == which)
            .unwrap_or_else(|| panic!("no row {which}"));
        let sum: usize = (0..iters).map(|_| (row.run)()).sum();
        eprintln!("{which}: {iters} runs over {} bytes, sum {sum}", row.bytes);
        return;
    }

    for name in ["verify", "sign"] {
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        for row in rows.iter().filter(|r| r.group == name) {
            group.throughput(Throughput::Bytes(row.bytes));
            group.bench_function(&row.name, |b| b.iter(&row.run));
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
