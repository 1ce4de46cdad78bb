//! Shared fixtures: RFC 8463 appendix A (keys, records, the signed message).
#![allow(dead_code)]

use postwerk_auth::dkim::{SignatureResult, Verifier, VerifierConfig};
use postwerk_auth::dns::Answer;

/// RFC 8463 A.1: the Ed25519 secret key (the RFC 8032 7.1 test 1 seed), base64.
pub const ED25519_SEED_B64: &str = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";

/// RFC 8463 A.1: the RSA secret key, PKCS#1 PEM body.
pub const RSA_PKCS1_B64: &str = "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\
Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\
KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\
AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\
6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\
zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\
6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\
uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\
WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\
WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\
licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\
o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\
uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL";

/// RFC 8463 A.2.
pub const ED25519_NAME: &str = "brisbane._domainkey.football.example.com";
pub const ED25519_RECORD: &str =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
pub const RSA_NAME: &str = "test._domainkey.football.example.com";
/// RFC 8463 A.2, as four character-strings.
pub const RSA_RECORD_STRINGS: [&str; 4] = [
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR",
    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC",
    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3",
    "Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
];

pub fn rsa_record() -> String {
    RSA_RECORD_STRINGS.concat()
}

/// RFC 8463 A.3 (and RFC 6376 A.1): the unsigned message.
pub const HEADERS: &str = "From: Joe SixPack <joe@football.example.com>\r\n\
To: Suzie Q <suzie@shopping.example.net>\r\n\
Subject: Is dinner ready?\r\n\
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n\
Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n";
pub const BODY: &str = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

pub const ED25519_SIGNATURE: &str = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n \
d=football.example.com; i=@football.example.com;\r\n \
q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n \
subject : date : message-id : from : subject : date;\r\n \
bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n \
b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n \
Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";

pub const RSA_SIGNATURE: &str = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n \
d=football.example.com; i=@football.example.com;\r\n \
q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n \
date : message-id : from : subject : date;\r\n \
bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n \
b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n \
DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n \
dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n";

pub const T: u64 = 1_528_637_909;

pub fn signed_message() -> String {
    format!("{ED25519_SIGNATURE}{RSA_SIGNATURE}{HEADERS}\r\n{BODY}")
}

/// Verifies `message` fed in `chunk`-sized pieces, answering each key query from
/// `records` (name, record text); names not listed get `NotFound`.
pub fn verify_with(
    config: VerifierConfig,
    message: &[u8],
    chunk: usize,
    records: &[(&str, Answer)],
    now: u64,
) -> Vec<SignatureResult> {
    let mut v = Verifier::new(config);
    for part in message.chunks(chunk.max(1)) {
        v.update(part);
    }
    v.end_of_message();
    for q in v.key_queries() {
        let answer = records
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&q.name))
            .map(|(_, a)| a.clone())
            .unwrap_or(Answer::NxDomain);
        v.supply_key(&q.name, answer);
    }
    v.finish(now)
}

pub fn verify(message: &[u8], records: &[(&str, Answer)], now: u64) -> Vec<SignatureResult> {
    verify_with(VerifierConfig::default(), message, 4096, records, now)
}

pub fn rfc_records() -> Vec<(&'static str, Answer)> {
    vec![
        (ED25519_NAME, Answer::txt(ED25519_RECORD)),
        (RSA_NAME, Answer::txt(&rsa_record())),
    ]
}

use postwerk_auth::dkim::{Canonicalization, Signer, SigningKey};

/// A 2048-bit RSA test key (PKCS#8 DER, generated for these tests with openssl).
pub fn rsa_test_key() -> SigningKey {
    use base64::Engine as _;
    let b64 = include_str!("../data/rsa2048.pk8.b64");
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap();
    SigningKey::from_pkcs8_der(&der).unwrap()
}

pub fn ed_test_key() -> SigningKey {
    SigningKey::ed25519_from_seed(&[9u8; 32]).unwrap()
}

pub const TEST_NAME: &str = "sel._domainkey.example.com";

/// A signer for example.com/sel and the record to answer with.
pub fn signer(key: SigningKey, h: Canonicalization, b: Canonicalization) -> (Signer, String) {
    let record = key.dns_record();
    let s = Signer::new(key, "example.com", "sel")
        .unwrap()
        .canonicalization(h, b);
    (s, record)
}

/// Signs `message` and returns the signed message.
pub fn sign_message(s: &Signer, message: &[u8], now: u64) -> Vec<u8> {
    let field = s.sign(message, now).unwrap();
    [field.as_bytes(), message].concat()
}

pub fn one(message: &[u8], record: &str, now: u64) -> SignatureResult {
    let r = verify(message, &[(TEST_NAME, Answer::txt(record))], now);
    assert_eq!(r.len(), 1, "one signature expected");
    r.into_iter().next().unwrap()
}
