//! Verifier behaviour: the known canonicalization pitfalls, tampering, key records,
//! time, `l=`, several signatures, limits.

mod common;
use common::*;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use postwerk_auth::dkim::{
    Canonicalization::{self, Relaxed, Simple},
    DkimError, DkimStatus, Verifier, VerifierConfig,
};
use postwerk_auth::dns::{Answer, Record};

const NOW: u64 = 1_700_000_000;
const MSG: &str = "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n\
Subject: lunch\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nHi Bob,\r\n\r\nsee you.\r\n";

const PAIRS: [(Canonicalization, Canonicalization); 4] = [
    (Simple, Simple),
    (Simple, Relaxed),
    (Relaxed, Simple),
    (Relaxed, Relaxed),
];

fn signed(msg: &str, h: Canonicalization, b: Canonicalization) -> (Vec<u8>, String) {
    let (s, record) = signer(ed_test_key(), h, b);
    (sign_message(&s, msg.as_bytes(), NOW), record)
}

fn status(message: &[u8], record: &str) -> DkimStatus {
    one(message, record, NOW).status
}

fn bh(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    let at = text.find("bh=").unwrap();
    text[at + 3..]
        .split(';')
        .next()
        .unwrap()
        .split_whitespace()
        .collect()
}

/// Signs a hand-written signature with the Ed25519 test key: `tags` must be in relaxed
/// form (single spaces), the message header is `From: a@example.com`, relaxed/relaxed.
fn manual(tags: &str, body_for_hash: &str, body: &str) -> Vec<u8> {
    let seed = [9u8; 32];
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    let bh = STANDARD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        body_for_hash.as_bytes(),
    ));
    let tags = tags.replace("{bh}", &bh);
    let data = format!("from:a@example.com\r\ndkim-signature:{tags} b=");
    let digest = ring::digest::digest(&ring::digest::SHA256, data.as_bytes());
    let b = STANDARD.encode(kp.sign(digest.as_ref()));
    format!("DKIM-Signature: {tags} b={b}\r\nFrom: a@example.com\r\n\r\n{body}").into_bytes()
}

fn record() -> String {
    ed_test_key().dns_record()
}

// ---------------------------------------------------------------- pitfalls

#[test]
fn pitfall_empty_body_hashes() {
    let msg = "From: a@example.com\r\n\r\n";
    let (m, rec) = signed(msg, Relaxed, Simple);
    assert_eq!(
        bh(&m),
        "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=",
        "simple: SHA-256 of CRLF"
    );
    assert_eq!(status(&m, &rec), DkimStatus::Pass);
    let (m, rec) = signed(msg, Relaxed, Relaxed);
    assert_eq!(
        bh(&m),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "relaxed: SHA-256 of nothing"
    );
    assert_eq!(status(&m, &rec), DkimStatus::Pass);
    // No blank line at all: the message is all header, the body empty.
    let (m, rec) = signed("From: a@example.com\r\n", Relaxed, Simple);
    assert_eq!(bh(&m), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    assert_eq!(status(&m, &rec), DkimStatus::Pass);
}

#[test]
fn pitfall_whitespace_only_trailing_lines_under_relaxed() {
    let (m, rec) = signed(MSG, Relaxed, Relaxed);
    let mut padded = m.clone();
    padded.extend_from_slice(b"   \r\n\t\r\n \t \r\n");
    assert_eq!(status(&padded, &rec), DkimStatus::Pass);
    let (m, rec) = signed(MSG, Relaxed, Simple);
    let mut padded = m.clone();
    padded.extend_from_slice(b"   \r\n");
    assert_eq!(
        one(&padded, &rec, NOW).reason,
        Some(DkimError::BodyHashMismatch)
    );
    // Empty trailing lines are ignored by both.
    let mut padded = m;
    padded.extend_from_slice(b"\r\n\r\n");
    assert_eq!(status(&padded, &rec), DkimStatus::Pass);
}

#[test]
fn pitfall_field_folded_right_after_its_colon() {
    let msg =
        "From:\r\n Alice <alice@example.com>\r\nSubject:\r\n\tfolded\r\n   twice\r\n\r\nbody\r\n";
    for (h, b) in PAIRS {
        let (m, rec) = signed(msg, h, b);
        assert_eq!(status(&m, &rec), DkimStatus::Pass, "{h:?}/{b:?}");
    }
    let (m, rec) = signed(msg, Relaxed, Relaxed);
    let text = String::from_utf8(m)
        .unwrap()
        .replace("Subject:\r\n\tfolded\r\n   twice", "Subject: folded twice");
    assert_eq!(
        status(text.as_bytes(), &rec),
        DkimStatus::Pass,
        "relaxed ignores refolding"
    );
    let (m, rec) = signed(msg, Simple, Relaxed);
    let text = String::from_utf8(m)
        .unwrap()
        .replace("Subject:\r\n\tfolded\r\n   twice", "Subject: folded twice");
    assert_eq!(
        status(text.as_bytes(), &rec),
        DkimStatus::Fail,
        "simple does not"
    );
}

#[test]
fn pitfall_crlf_split_across_chunks() {
    let msg = "From: a@example.com\r\nSubject: x\r\n\r\nline 1 \r\n\r\n\tline 3\r\n\r\n\r\n";
    for (h, b) in PAIRS {
        let (m, rec) = signed(msg, h, b);
        for chunk in 1..=9 {
            let r = verify_with(
                VerifierConfig::default(),
                &m,
                chunk,
                &[(TEST_NAME, Answer::txt(&rec))],
                NOW,
            );
            assert_eq!(r[0].status, DkimStatus::Pass, "{h:?}/{b:?} chunk {chunk}");
        }
        // Also signing in 1-byte chunks gives the same field.
        let (s, _) = signer(ed_test_key(), h, b);
        let mut st = s.start();
        for byte in msg.as_bytes() {
            st.update(std::slice::from_ref(byte));
        }
        assert_eq!(
            st.sign(&s, NOW).unwrap(),
            s.sign(msg.as_bytes(), NOW).unwrap()
        );
    }
}

#[test]
fn pitfall_b_value_removed_from_the_signature_field_itself() {
    for (h, b) in PAIRS {
        let (m, rec) = signed(MSG, h, b);
        let text = String::from_utf8(m).unwrap();
        // Refold the b= value: it is removed with all its whitespace before hashing.
        let at = text.find(" b=").unwrap() + 3;
        let end = text.find("\r\nFrom:").unwrap();
        let value: String = text[at..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let refolded = format!(
            "{}\r\n\t{}\r\n {}{}",
            &text[..at],
            &value[..10],
            &value[10..],
            &text[end..]
        );
        assert_eq!(
            status(refolded.as_bytes(), &rec),
            DkimStatus::Pass,
            "{h:?}/{b:?}"
        );
        // Whitespace elsewhere in the field: relaxed tolerates it, simple does not.
        let spaced = text.replacen("v=1;", "v=1;  ", 1);
        let expect = if h == Relaxed {
            DkimStatus::Pass
        } else {
            DkimStatus::Fail
        };
        assert_eq!(status(spaced.as_bytes(), &rec), expect, "{h:?}/{b:?}");
    }
}

#[test]
fn pitfall_duplicate_signed_headers_bottom_up() {
    let msg = "From: a@example.com\r\nX-Tag: one\r\nX-Tag: two\r\n\r\nbody\r\n";
    let key = ed_test_key();
    let rec = key.dns_record();
    let s = postwerk_auth::dkim::Signer::new(key, "example.com", "sel")
        .unwrap()
        .headers(&["from", "x-tag"])
        .unwrap();
    let m = sign_message(&s, msg.as_bytes(), NOW);
    assert!(String::from_utf8_lossy(&m).contains("h=from:from:x-tag:x-tag;"));
    assert_eq!(status(&m, &rec), DkimStatus::Pass);
    let swapped = String::from_utf8(m.clone())
        .unwrap()
        .replace("X-Tag: one\r\nX-Tag: two", "X-Tag: two\r\nX-Tag: one");
    assert_eq!(
        status(swapped.as_bytes(), &rec),
        DkimStatus::Fail,
        "order of repeats is signed"
    );
    // A third X-Tag (not oversigned) added on top: the two bottom ones are still selected.
    let added = String::from_utf8(m)
        .unwrap()
        .replacen("From: a@", "X-Tag: zero\r\nFrom: a@", 1);
    assert_eq!(status(added.as_bytes(), &rec), DkimStatus::Pass);
}

// ---------------------------------------------------------------- tampering

#[test]
fn tamper_body_byte_fails() {
    for (h, b) in PAIRS {
        let (m, rec) = signed(MSG, h, b);
        let text = String::from_utf8(m)
            .unwrap()
            .replace("see you.", "see you!");
        let r = one(text.as_bytes(), &rec, NOW);
        assert_eq!(r.status, DkimStatus::Fail);
        assert_eq!(r.reason, Some(DkimError::BodyHashMismatch));
    }
}

#[test]
fn tamper_signed_header_fails() {
    let (m, rec) = signed(MSG, Relaxed, Relaxed);
    let text = String::from_utf8(m)
        .unwrap()
        .replace("Subject: lunch", "Subject: dinner");
    let r = one(text.as_bytes(), &rec, NOW);
    assert_eq!(r.status, DkimStatus::Fail);
    assert_eq!(r.reason, Some(DkimError::SignatureMismatch));
}

#[test]
fn tamper_unsigned_header_added_still_passes() {
    let (m, rec) = signed(MSG, Relaxed, Relaxed);
    let text = String::from_utf8(m).unwrap();
    let top = format!("Received: from x by y; Tue, 14 Nov 2023 22:13:21 +0000\r\n{text}");
    assert_eq!(status(top.as_bytes(), &rec), DkimStatus::Pass);
    let inside = text.replacen("Subject: lunch\r\n", "Subject: lunch\r\nX-Spam: no\r\n", 1);
    assert_eq!(status(inside.as_bytes(), &rec), DkimStatus::Pass);
}

#[test]
fn tamper_from_added_on_top_fails_because_from_is_oversigned() {
    let (m, rec) = signed(MSG, Relaxed, Relaxed);
    let text = String::from_utf8(m).unwrap();
    assert!(text.contains("h=from:from:"), "From oversigned by default");
    let forged = format!("From: Mallory <ceo@example.com>\r\n{text}");
    assert_eq!(status(forged.as_bytes(), &rec), DkimStatus::Fail);
    let below = text.replacen("\r\n\r\n", "\r\nFrom: Mallory <ceo@example.com>\r\n\r\n", 1);
    assert_eq!(status(below.as_bytes(), &rec), DkimStatus::Fail);
}

// ---------------------------------------------------------------- key records

fn with_record(record: &str) -> postwerk_auth::dkim::SignatureResult {
    let (m, _) = signed(MSG, Relaxed, Relaxed);
    one(&m, record, NOW)
}

#[test]
fn key_record_errors_through_the_verifier() {
    let good = record();
    let p = good.split("p=").nth(1).unwrap();
    let cases: Vec<(String, DkimError)> = vec![
        ("v=DKIM1; k=ed25519; p=".into(), DkimError::KeyRevoked),
        (format!("v=DKIM1; k=rsa; p={p}"), DkimError::KeyMalformed),
        (
            format!("v=DKIM1; k=ec; p={p}"),
            DkimError::KeyUnknownType("ec".into()),
        ),
        (
            format!("v=DKIM2; k=ed25519; p={p}"),
            DkimError::KeyBadVersion,
        ),
        (
            format!("k=ed25519; v=DKIM1; p={p}"),
            DkimError::KeyBadVersion,
        ),
        (
            format!("v=DKIM1; k=ed25519; h=sha1; p={p}"),
            DkimError::HashNotAllowed,
        ),
        (
            format!("v=DKIM1; k=ed25519; s=im; p={p}"),
            DkimError::KeyServiceNotEmail,
        ),
    ];
    for (rec, reason) in cases {
        let r = with_record(&rec);
        assert_eq!(r.status, DkimStatus::PermError, "{rec}");
        assert_eq!(r.reason, Some(reason), "{rec}");
    }
    let r = with_record(&format!("v=DKIM1; k=ed25519; h=sha1:sha256; p={p}"));
    assert_eq!(r.status, DkimStatus::Pass);
}

#[test]
fn key_record_rsa_key_type_mismatch_for_ed25519_signature() {
    let rsa = rsa_test_key().dns_record();
    let r = with_record(&rsa);
    assert_eq!(r.reason, Some(DkimError::KeyTypeMismatch));
}

#[test]
fn key_record_testing_flag_is_reported() {
    let r = with_record(&format!("{}; t=y", record()));
    assert_eq!(r.status, DkimStatus::Pass);
    assert!(r.testing);
    let (m, _) = signed(MSG, Relaxed, Relaxed);
    let bad = String::from_utf8(m).unwrap().replace("see you.", "bye");
    let r = one(bad.as_bytes(), &format!("{}; t=y", record()), NOW);
    assert_eq!(r.status, DkimStatus::Fail);
    assert!(r.testing);
}

#[test]
fn key_record_strict_subdomain_flag() {
    let key = ed_test_key();
    let rec = format!("{}; t=s", key.dns_record());
    let s = postwerk_auth::dkim::Signer::new(key, "example.com", "sel").unwrap();
    let sub = s.identity("alice@mail.example.com").unwrap();
    let m = sign_message(&sub, MSG.as_bytes(), NOW);
    let r = one(&m, &rec, NOW);
    assert_eq!(r.status, DkimStatus::PermError);
    assert_eq!(r.reason, Some(DkimError::StrictIdentity));
    let exact = postwerk_auth::dkim::Signer::new(ed_test_key(), "example.com", "sel")
        .unwrap()
        .identity("alice@example.com")
        .unwrap();
    let m = sign_message(&exact, MSG.as_bytes(), NOW);
    assert_eq!(one(&m, &rec, NOW).status, DkimStatus::Pass);
}

#[test]
fn key_record_several_txt_records() {
    let (m, _) = signed(MSG, Relaxed, Relaxed);
    let spf = b"v=spf1 -all".to_vec();
    let both = Answer::Records(vec![
        Record::Txt(spf.clone()),
        Record::Txt(record().into_bytes()),
    ]);
    let r = verify(&m, &[(TEST_NAME, both)], NOW);
    assert_eq!(
        r[0].status,
        DkimStatus::Pass,
        "an unrelated TXT record is skipped"
    );
    let two = Answer::Records(vec![
        Record::Txt(record().into_bytes()),
        Record::Txt(record().into_bytes()),
    ]);
    let r = verify(&m, &[(TEST_NAME, two)], NOW);
    assert_eq!(r[0].reason, Some(DkimError::MultipleKeys));
    let r = verify(
        &m,
        &[(TEST_NAME, Answer::Records(vec![Record::Txt(spf)]))],
        NOW,
    );
    assert_eq!(r[0].status, DkimStatus::PermError);
}

// ---------------------------------------------------------------- time

#[test]
fn expiry_and_timestamp_against_the_callers_clock() {
    let key = ed_test_key();
    let rec = key.dns_record();
    let s = postwerk_auth::dkim::Signer::new(key, "example.com", "sel")
        .unwrap()
        .expire_after(3600);
    let m = sign_message(&s, MSG.as_bytes(), NOW);
    assert_eq!(one(&m, &rec, NOW + 3600).status, DkimStatus::Pass);
    let r = one(&m, &rec, NOW + 3601);
    assert_eq!(r.status, DkimStatus::PermError);
    assert_eq!(
        r.reason,
        Some(DkimError::Expired {
            expired: NOW + 3600,
            now: NOW + 3601
        })
    );
    // t= in the future: tolerated within the skew, refused beyond.
    assert_eq!(one(&m, &rec, NOW - 300).status, DkimStatus::Pass);
    let r = one(&m, &rec, NOW - 301);
    assert_eq!(
        r.reason,
        Some(DkimError::FutureTimestamp {
            timestamp: NOW,
            now: NOW - 301
        })
    );
}

// ---------------------------------------------------------------- l=

const L_TAGS: &str =
    "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=sel; l=4; h=from; bh={bh};";

#[test]
fn security_58_body_length_is_not_trusted_by_default() {
    let m = manual(L_TAGS, "Hi\r\n", "Hi\r\nAppended by someone else\r\n");
    let r = one(&m, &record(), NOW);
    assert_eq!(r.status, DkimStatus::Fail);
    assert_eq!(r.reason, Some(DkimError::BodyHashMismatch));
    assert_eq!(
        r.signature.as_ref().unwrap().body_length,
        Some(4),
        "l= is reported"
    );
    // Opting in: the signed part passes and the rest is reported as unsigned.
    let config = VerifierConfig {
        honor_body_length: true,
        ..Default::default()
    };
    let r = verify_with(config, &m, 5, &[(TEST_NAME, Answer::txt(&record()))], NOW);
    assert_eq!(r[0].status, DkimStatus::Pass, "{:?}", r[0].reason);
    assert_eq!(r[0].unsigned_body_octets, 26);
    // Without appended content, l= covering the whole body passes either way.
    let m = manual(L_TAGS, "Hi\r\n", "Hi\r\n");
    assert_eq!(one(&m, &record(), NOW).status, DkimStatus::Pass);
}

#[test]
fn body_length_longer_than_body_fails() {
    let tags = L_TAGS.replace("l=4", "l=400");
    let m = manual(&tags, "Hi\r\n", "Hi\r\n");
    let r = one(&m, &record(), NOW);
    assert_eq!(r.reason, Some(DkimError::BodyLengthTooLong));
}

#[test]
fn manual_signature_helper_agrees_with_the_signer() {
    let tags = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=sel; h=from; bh={bh};";
    let m = manual(tags, "Hi\r\n", "Hi\r\n");
    assert_eq!(one(&m, &record(), NOW).status, DkimStatus::Pass);
}

// ---------------------------------------------------------------- SECURITY.md 58

#[test]
fn security_58_rsa_key_under_1024_bits_fails() {
    const RSA_512: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKwvu3Kg9GnYR1NagqUdiDr8mIf2HyjFEA7yYvJZmc7j9qyrF6TzkIRPYxGgmbFejcfqoV3rLeX0eszHFHWMn/kCAwEAAQ==";
    let (s, _) = signer(rsa_test_key(), Relaxed, Relaxed);
    let m = sign_message(&s, MSG.as_bytes(), NOW);
    let r = one(&m, &format!("v=DKIM1; k=rsa; p={RSA_512}"), NOW);
    assert_eq!(r.status, DkimStatus::PermError);
    assert_eq!(r.reason, Some(DkimError::KeyTooShort(512)));
}

#[test]
fn security_58_signature_without_from_in_h_fails() {
    let tags =
        "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=sel; h=to:subject; bh={bh};";
    let m = manual(tags, "Hi\r\n", "Hi\r\n");
    let r = verify(&m, &[(TEST_NAME, Answer::txt(&record()))], NOW);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, DkimStatus::PermError);
    assert_eq!(r[0].reason, Some(DkimError::FromNotSigned));
}

// ---------------------------------------------------------------- several signatures, limits

#[test]
fn several_signatures_each_get_their_own_result() {
    let (ed, ed_rec) = signer(ed_test_key(), Relaxed, Relaxed);
    let rsa_key = rsa_test_key();
    let rsa_rec = rsa_key.dns_record();
    let rsa = postwerk_auth::dkim::Signer::new(rsa_key, "example.org", "s2")
        .unwrap()
        .canonicalization(Simple, Simple);
    let first = sign_message(&ed, MSG.as_bytes(), NOW);
    let second = sign_message(&rsa, &first, NOW);
    let broken = [
        b"DKIM-Signature: v=1; a=rsa-sha256; garbage\r\n".as_slice(),
        &second,
    ]
    .concat();
    let records = vec![
        (TEST_NAME, Answer::txt(&ed_rec)),
        ("s2._domainkey.example.org", Answer::txt(&rsa_rec)),
    ];
    let r = verify(&broken, &records, NOW);
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].status, DkimStatus::PermError);
    assert_eq!(r[1].status, DkimStatus::Pass, "rsa {:?}", r[1].reason);
    assert_eq!(r[1].domain(), "example.org");
    assert_eq!(r[2].status, DkimStatus::Pass, "ed25519 {:?}", r[2].reason);
    assert_eq!(r[2].domain(), "example.com");
}

#[test]
fn too_many_signatures_are_not_evaluated() {
    let (s, rec) = signer(ed_test_key(), Relaxed, Relaxed);
    let mut m = MSG.as_bytes().to_vec();
    for _ in 0..4 {
        m = sign_message(&s, &m, NOW);
    }
    let config = VerifierConfig {
        max_signatures: 2,
        ..Default::default()
    };
    let r = verify_with(config, &m, 100, &[(TEST_NAME, Answer::txt(&rec))], NOW);
    assert_eq!(r.len(), 4);
    assert_eq!(r[0].status, DkimStatus::Pass);
    assert_eq!(r[2].reason, Some(DkimError::TooManySignatures));
}

#[test]
fn oversized_header_block_is_treated_as_unsigned() {
    let (m, _) = signed(MSG, Relaxed, Relaxed);
    let big = [format!("X-Big: {}\r\n", "a".repeat(2000)).as_bytes(), &m].concat();
    let mut v = Verifier::new(VerifierConfig {
        max_header_bytes: 1000,
        ..Default::default()
    });
    for c in big.chunks(100) {
        v.update(c);
    }
    assert!(v.header_overflow());
    assert!(v.key_queries().is_empty());
    assert!(v.finish(NOW).is_empty());
}

#[test]
fn unsolicited_key_answers_are_dropped() {
    let (m, rec) = signed(MSG, Relaxed, Relaxed);
    let mut v = Verifier::new(VerifierConfig::default());
    v.update(&m);
    v.supply_key("other._domainkey.example.com", Answer::txt(&rec));
    v.supply_key("SEL._domainkey.Example.com.", Answer::txt(&rec));
    assert!(
        v.key_queries().is_empty(),
        "answered (case and trailing dot ignored)"
    );
    assert_eq!(v.finish(NOW)[0].status, DkimStatus::Pass);
}

/// A submission server adds `Date:`/`Message-ID:` above the header and signs with two keys
/// of one domain from one pass over the message.
#[test]
fn prepended_fields_are_signed_and_one_pass_serves_two_keys() {
    let (ed, ed_record) = signer(ed_test_key(), Relaxed, Relaxed);
    let rsa = postwerk_auth::dkim::Signer::new(rsa_test_key(), "example.com", "rsa").unwrap();
    let rsa_record = rsa.dns_record();
    let message = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: s\r\n\r\nbody\r\n";
    let added = b"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <q1@example.com>\r\n";
    let mut st = ed.start();
    for chunk in message.chunks(5) {
        st.update(chunk);
    }
    st.prepend_fields(added);
    let f1 = st.sign(&ed, NOW).unwrap();
    let f2 = st.sign(&rsa, NOW).unwrap();
    for f in [&f1, &f2] {
        let h = f.replace("\r\n ", "");
        assert!(h.contains("date") && h.contains("message-id"), "{f}");
    }
    let records = [
        (TEST_NAME, Answer::txt(&ed_record)),
        ("rsa._domainkey.example.com", Answer::txt(&rsa_record)),
    ];
    let signed = [f1.as_bytes(), f2.as_bytes(), &added[..], &message[..]].concat();
    let r = verify(&signed, &records, NOW);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.status == DkimStatus::Pass), "{r:?}");
    // The added Date is covered: changing it breaks both signatures.
    let tampered = String::from_utf8(signed)
        .unwrap()
        .replace("10:00:00", "11:00:00");
    let r = verify(tampered.as_bytes(), &records, NOW);
    assert!(r.iter().all(|r| r.status == DkimStatus::Fail), "{r:?}");
    // A signer with another body canonicalization cannot reuse the pass.
    let (simple, _) = signer(ed_test_key(), Relaxed, Simple);
    assert_eq!(
        st.sign(&simple, NOW),
        Err(postwerk_auth::dkim::SignError::Mismatch)
    );
}
