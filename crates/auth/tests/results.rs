//! Authentication-Results for verified DKIM signatures.

mod common;
use common::*;

use postwerk_auth::results::AuthenticationResults;

#[test]
fn rfc8463_results_field() {
    let r = verify(signed_message().as_bytes(), &rfc_records(), T);
    let mut ar = AuthenticationResults::new("mx.example").unwrap();
    ar.push_dkim(&r);
    assert_eq!(
        ar.to_field(),
        "Authentication-Results: mx.example; dkim=pass header.d=football.example.com\r\n \
         header.i=@football.example.com header.s=brisbane header.a=ed25519-sha256\r\n \
         header.b=\"/gCrinpc\"; dkim=pass header.d=football.example.com\r\n \
         header.i=@football.example.com header.s=test header.a=rsa-sha256\r\n \
         header.b=F45dVWDf\r\n"
    );
}

#[test]
fn security_56_hostile_signature_values_never_reach_the_field_raw() {
    // An i= local part with a line break and quotes inside the signature field: parsed
    // (it is in d=), and written only sanitised and quoted.
    let msg = "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=sel; h=from;\r\n \
               i=\"x\r\n Injected: \\\"yes\"@example.com; bh=AAAA; b=AAAA\r\nFrom: a@example.com\r\n\r\n";
    let r = verify(msg.as_bytes(), &[], T);
    assert_eq!(r.len(), 1);
    let mut ar = AuthenticationResults::new("mx.example").unwrap();
    ar.push_dkim(&r);
    let field = ar.to_field();
    let lines: Vec<&str> = field.trim_end_matches("\r\n").split("\r\n").collect();
    for l in &lines[1..] {
        assert!(
            l.starts_with(' '),
            "every continuation line is folded: {field:?}"
        );
    }
    assert!(!field.contains("\r\nInjected"), "{field:?}");
    assert!(
        field.contains("dkim=permerror\r\n reason=\"no key record for this selector\""),
        "{field}"
    );
    assert!(
        field.contains(r#"header.i="\"x?? Injected: \\\"yes\"@example.com""#),
        "{field}"
    );
}
