//! Interop with Python's dkimpy (pip package `dkimpy`, with `pynacl` for Ed25519): it
//! verifies what we sign and we verify what it signs, RSA and Ed25519, all four `c=`
//! combinations. Keys are supplied through dkimpy's `dnsfunc` hook; no network.

mod common;
use common::*;

use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use postwerk_auth::dkim::{
    Canonicalization::{self, Relaxed, Simple},
    DkimError, DkimStatus, SigningKey, VerifierConfig,
};
use postwerk_auth::dns::Answer;

const NOW: u64 = 1_750_000_000;
const PAIRS: [(Canonicalization, Canonicalization); 4] = [
    (Simple, Simple),
    (Simple, Relaxed),
    (Relaxed, Simple),
    (Relaxed, Relaxed),
];

const SCRIPT: &str = r#"
import sys, json, base64
try:
    import dkim, nacl
except ImportError as e:
    print("MISSING " + str(e))
    sys.exit(3)
spec = json.load(sys.stdin)
records = {k.encode(): v.encode() for k, v in spec["records"].items()}
def dnsfunc(name, timeout=5):
    return records.get(name.rstrip(b".").lower())
verified = []
for m in spec["verify"]:
    d = dkim.DKIM(base64.b64decode(m), minkey=1024)
    try:
        verified.append(bool(d.verify(dnsfunc=dnsfunc)))
    except Exception as e:
        verified.append("error:" + type(e).__name__)
signed = []
for s in spec["sign"]:
    msg = base64.b64decode(s["message"])
    sig = dkim.sign(msg, s["selector"].encode(), s["domain"].encode(), s["key"].encode(),
                    canonicalize=(s["hc"].encode(), s["bc"].encode()),
                    signature_algorithm=s["alg"].encode(),
                    include_headers=[b"from", b"to", b"subject", b"date"])
    signed.append(base64.b64encode(sig + msg).decode())
print(json.dumps({"verified": verified, "signed": signed}))
"#;

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the script; the output is `{"verified": [...], "signed": [...]}`, read back with
/// a tiny ad-hoc reader (both arrays hold booleans/strings without escapes).
fn run_python(spec: &str) -> (Vec<String>, Vec<Vec<u8>>) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed for the dkimpy interop test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.starts_with("MISSING"),
        "the dkimpy interop test needs the pip packages `dkimpy` and `pynacl` \
         (python3 -m pip install dkimpy pynacl): {stdout}"
    );
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout.trim();
    let verified_part = text
        .split("\"verified\": [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap();
    let verified = verified_part
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches('"').to_owned())
        .collect();
    let signed_part = text
        .split("\"signed\": [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap();
    let signed = signed_part
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|s| STANDARD.decode(s.trim_matches('"')).unwrap())
        .collect();
    (verified, signed)
}

/// A fresh Ed25519 key for this run.
fn temporary_ed25519() -> ([u8; 32], SigningKey) {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(NOW);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    (seed, SigningKey::ed25519_from_seed(&seed).unwrap())
}

fn message(i: usize) -> String {
    format!(
        "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject:\r\n  interop  test {i}\r\n\
         Date: Sun, 15 Jun 2025 15:06:40 +0000\r\nX-Unsigned: yes\r\n\r\n\
         Hello  Bob,\r\n\r\nline with trailing space \r\n\t\r\n\r\n"
    )
}

#[test]
fn dkimpy_verifies_ours_and_we_verify_dkimpys() {
    let (seed, ed) = temporary_ed25519();
    let ed_record = ed.dns_record();
    let rsa_der_b64 = include_str!("data/rsa2048.pk8.b64").trim().to_owned();
    let rsa_record = rsa_test_key().dns_record();

    // What we sign, for dkimpy to verify.
    let mut ours = Vec::new();
    for (i, (h, b)) in PAIRS.iter().enumerate() {
        for (key, sel) in [
            (SigningKey::ed25519_from_seed(&seed).unwrap(), "ed"),
            (rsa_test_key(), "rsa"),
        ] {
            let s = postwerk_auth::dkim::Signer::new(key, "example.com", sel)
                .unwrap()
                .canonicalization(*h, *b);
            ours.push(sign_message(&s, message(i).as_bytes(), NOW));
        }
    }

    // A tampered copy, which dkimpy must reject (proves the check can fail).
    let tampered = String::from_utf8(ours[0].clone())
        .unwrap()
        .replace("Hello  Bob", "Hello  Eve");
    ours.push(tampered.into_bytes());

    // What dkimpy signs, for us to verify.
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{rsa_der_b64}\n-----END PRIVATE KEY-----\n");
    let mut sign_specs = Vec::new();
    for (i, (h, b)) in PAIRS.iter().enumerate() {
        for (alg, sel, key) in [
            ("ed25519-sha256", "ed", STANDARD.encode(seed)),
            ("rsa-sha256", "rsa", pem.clone()),
            ("rsa-sha1", "rsa", pem.clone()),
        ] {
            sign_specs.push(format!(
                "{{\"message\": {}, \"selector\": \"{sel}\", \"domain\": \"example.com\", \
                 \"key\": {}, \"alg\": \"{alg}\", \"hc\": \"{}\", \"bc\": \"{}\"}}",
                json_str(&STANDARD.encode(message(i + 10))),
                json_str(&key),
                h.as_str(),
                b.as_str()
            ));
        }
    }
    let spec = format!(
        "{{\"records\": {{\"ed._domainkey.example.com\": {}, \"rsa._domainkey.example.com\": {}}}, \
         \"verify\": [{}], \"sign\": [{}]}}",
        json_str(&ed_record),
        json_str(&rsa_record),
        ours.iter()
            .map(|m| json_str(&STANDARD.encode(m)))
            .collect::<Vec<_>>()
            .join(", "),
        sign_specs.join(", ")
    );
    let (verified, signed) = run_python(&spec);

    assert_eq!(verified.len(), ours.len());
    assert_ne!(
        verified.last().map(String::as_str),
        Some("true"),
        "tampered copy"
    );
    for (i, v) in verified.iter().enumerate().take(ours.len() - 1) {
        assert_eq!(
            v,
            "true",
            "dkimpy rejected our signature #{i}: {}",
            String::from_utf8_lossy(&ours[i])
        );
    }

    assert_eq!(signed.len(), sign_specs.len());
    let records = [
        ("ed._domainkey.example.com", Answer::txt(&ed_record)),
        ("rsa._domainkey.example.com", Answer::txt(&rsa_record)),
    ];
    // dkimpy stamps t= from the system clock: verify at that clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (i, m) in signed.iter().enumerate() {
        let text = String::from_utf8_lossy(m);
        let sha1 = text.contains("a=rsa-sha1");
        let r = verify(m, &records, now);
        assert_eq!(r.len(), 1);
        if sha1 {
            assert_eq!(r[0].status, DkimStatus::Neutral, "#{i}: {text}");
            assert_eq!(r[0].reason, Some(DkimError::WeakAlgorithm));
            assert!(r[0].weak);
            let config = VerifierConfig {
                accept_rsa_sha1: true,
                ..Default::default()
            };
            let r = verify_with(config, m, 13, &records, now);
            assert_eq!(
                r[0].status,
                DkimStatus::Pass,
                "#{i} sha1 accepted: {:?}",
                r[0].reason
            );
        } else {
            assert_eq!(
                r[0].status,
                DkimStatus::Pass,
                "#{i}: {:?}\n{text}",
                r[0].reason
            );
        }
        // And a tampered copy fails.
        let bad = text.replace("Hello  Bob", "Hello  Eve");
        assert_eq!(
            verify(bad.as_bytes(), &records, now)[0].status,
            DkimStatus::Fail
        );
    }
}
