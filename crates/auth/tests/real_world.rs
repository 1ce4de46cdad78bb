//! Real messages signed by ietf.org, facebookmail.com, topicbox.com and github.com (see
//! `tests/data/dkim-real/README.md`): every signature verifies with the key records that
//! were published, at the time it was made, whatever the chunking.

use postwerk_auth::dkim::{DkimStatus, Verifier, VerifierConfig};
use postwerk_auth::dns::Answer;

const FILES: [(&str, &str); 4] = [
    ("003", include_str!("data/dkim-real/003.txt")),
    ("004", include_str!("data/dkim-real/004.txt")),
    ("005", include_str!("data/dkim-real/005.txt")),
    ("006", include_str!("data/dkim-real/006.txt")),
];

/// The key records (`NAME VALUE` lines) and the message with CRLF line ends.
fn split(file: &str) -> (Vec<(&str, &str)>, Vec<u8>) {
    let (records, message) = file.split_once("\n\n").unwrap();
    let records = records
        .lines()
        .map(|l| l.split_once(' ').unwrap())
        .collect();
    (records, message.replace('\n', "\r\n").into_bytes())
}

#[test]
fn provider_signatures_verify() {
    for (name, file) in FILES {
        let (records, message) = split(file);
        for chunk in [1, 7, 4096, message.len()] {
            let mut v = Verifier::new(VerifierConfig::default());
            for part in message.chunks(chunk) {
                v.update(part);
            }
            for q in v.key_queries() {
                let (_, value) = records
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&q.name))
                    .unwrap_or_else(|| panic!("{name}: no record for {}", q.name));
                v.supply_key(&q.name, Answer::txt(value));
            }
            // At the time of signing (the signatures' t=).
            let results = v.finish(signing_time(&message));
            assert!(!results.is_empty(), "{name}: no signature found");
            for r in &results {
                assert_eq!(r.status, DkimStatus::Pass, "{name} chunk {chunk}: {r:?}");
            }
        }
    }
}

#[test]
fn a_changed_body_fails_every_provider_signature() {
    for (name, file) in FILES {
        let (records, message) = split(file);
        let mut text = String::from_utf8(message).unwrap();
        let at = text.find("\r\n\r\n").unwrap() + 4;
        text.insert_str(at, "P.S. send money\r\n");
        let mut v = Verifier::new(VerifierConfig::default());
        v.update(text.as_bytes());
        for q in v.key_queries() {
            let (_, value) = records
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&q.name))
                .unwrap();
            v.supply_key(&q.name, Answer::txt(value));
        }
        let results = v.finish(signing_time(text.as_bytes()));
        for r in &results {
            assert_eq!(r.status, DkimStatus::Fail, "{name}: {r:?}");
        }
    }
}

/// The `t=` of the first signature (all of a file's signatures are from the same hour).
fn signing_time(message: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(message);
    let start = text.find("t=").unwrap() + 2;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}
