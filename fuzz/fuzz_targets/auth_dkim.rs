#![no_main]
//! DKIM verifier on arbitrary message bytes and an arbitrary key record: never panics,
//! and the results do not depend on how the message is split into chunks.
//!
//! Input layout: byte 0 = chunk size and mode, byte 1 = key record length, then the key
//! record, then the message. With the mode bit set, a plausible signature field prefix
//! is put in front so that the fuzzer reaches the key and hashing paths quickly.
use libfuzzer_sys::fuzz_target;
use postwerk_auth::dns::{Answer, Record};
use postwerk_auth::dkim::{Verifier, VerifierConfig};

const PREFIX: &[u8] = b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; \
s=sel; h=from:to; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=";

fn run(
    message: &[u8],
    record: &[u8],
    chunk: usize,
    honor_l: bool,
) -> Vec<postwerk_auth::dkim::SignatureResult> {
    let config = VerifierConfig {
        honor_body_length: honor_l,
        max_header_bytes: 4096,
        ..VerifierConfig::default()
    };
    let mut v = Verifier::new(config);
    for part in message.chunks(chunk.max(1)) {
        v.update(part);
    }
    v.end_of_message();
    for q in v.key_queries() {
        v.supply_key(&q.name, Answer::Records(vec![Record::Txt(record.to_vec())]));
    }
    v.finish(1_700_000_000)
}

fuzz_target!(|data: &[u8]| {
    let [mode, rec_len, rest @ ..] = data else {
        return;
    };
    let rec_len = usize::from(*rec_len).min(rest.len());
    let (record, body) = rest.split_at(rec_len);
    let message: Vec<u8> = if mode & 0x80 != 0 {
        [PREFIX, body].concat()
    } else {
        body.to_vec()
    };
    let chunk = usize::from(mode & 0x3f) + 1;
    let honor = mode & 0x40 != 0;
    let whole = run(&message, record, message.len().max(1), honor);
    let split = run(&message, record, chunk, honor);
    assert_eq!(whole, split, "results depend on the chunking ({chunk})");
});
