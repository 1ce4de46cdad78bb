//! Property tests: sign → verify round trips for random messages, both algorithms, all
//! four canonicalization pairs, any chunking; and the verifier never panics.

mod common;
use common::*;

use postwerk_auth::dkim::{
    Canonicalization::{Relaxed, Simple},
    DkimStatus, Verifier, VerifierConfig,
};
use postwerk_auth::dns::Answer;
use proptest::prelude::*;

const NOW: u64 = 1_700_000_000;

fn header_value() -> impl Strategy<Value = String> {
    // Printable text with spaces, tabs and folds (CRLF + WSP), never a bare line end.
    prop::collection::vec(
        prop_oneof![
            4 => "[a-zA-Z0-9<>@.,;\"()!?=-]{1,12}",
            2 => Just(" ".to_owned()),
            1 => Just("\t".to_owned()),
            1 => Just("\r\n ".to_owned()),
            1 => Just("\r\n\t".to_owned()),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            6 => "[a-z ]{0,20}".prop_map(String::into_bytes),
            2 => Just(b"\r\n".to_vec()),
            1 => Just(b" \t ".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(b"\n".to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ],
        0..30,
    )
    .prop_map(|parts| parts.concat())
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (
        header_value(),
        prop::collection::vec(
            (
                prop::sample::select(vec!["To", "Subject", "Date", "X-Extra", "cc", "SUBJECT"]),
                header_value(),
            ),
            0..6,
        ),
        body(),
    )
        .prop_map(|(from, others, body)| {
            let mut m = format!("From: a@example.com{from}\r\n").into_bytes();
            for (name, value) in others {
                m.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
            }
            m.extend_from_slice(b"\r\n");
            m.extend_from_slice(&body);
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_passes(
        msg in message(),
        rsa in any::<bool>(),
        pair in 0usize..4,
        chunk in 1usize..64,
    ) {
        let (h, b) = [(Simple, Simple), (Simple, Relaxed), (Relaxed, Simple), (Relaxed, Relaxed)][pair];
        let key = if rsa { rsa_test_key() } else { ed_test_key() };
        let (s, rec) = signer(key, h, b);
        let field = s.sign(&msg, NOW).unwrap();
        prop_assert!(field.split("\r\n").all(|l| l.len() <= 78), "folded at 78: {}", field);
        prop_assert!(field.trim_end().rsplit(';').next().unwrap().trim_start().starts_with("b="), "b= last");
        let signed = [field.as_bytes(), &msg].concat();
        let r = verify_with(VerifierConfig::default(), &signed, chunk,
            &[(TEST_NAME, Answer::txt(&rec))], NOW);
        prop_assert_eq!(r.len(), 1);
        prop_assert_eq!(r[0].status, DkimStatus::Pass, "{:?}", r[0].reason);
    }

    #[test]
    fn a_changed_body_fails(msg in message(), extra in "[a-z]{1,10}") {
        let (s, rec) = signer(ed_test_key(), Relaxed, Relaxed);
        let mut signed = sign_message(&s, &msg, NOW);
        signed.extend_from_slice(extra.as_bytes());
        let r = verify(&signed, &[(TEST_NAME, Answer::txt(&rec))], NOW);
        prop_assert_eq!(r[0].status, DkimStatus::Fail);
    }

    #[test]
    fn verifier_never_panics(
        input in prop::collection::vec(any::<u8>(), 0..600),
        sig in "[ -~]{0,200}",
        record in "[ -~]{0,120}",
        chunk in 1usize..50,
    ) {
        let mut msg = format!("DKIM-Signature: {sig}\r\n").into_bytes();
        msg.extend_from_slice(&input);
        let mut v = Verifier::new(VerifierConfig::default());
        for c in msg.chunks(chunk) { v.update(c); }
        v.end_of_message();
        for q in v.key_queries() {
            v.supply_key(&q.name, Answer::txt(&record));
        }
        let _ = v.finish(NOW);
    }
}
