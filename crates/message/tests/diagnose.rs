//! The diagnosis API beyond the is_email data set: DNS knowledge from the caller, the
//! helpers, and agreement with the parser.

use std::cell::Cell;

use postwerk_message::{Category, Reason, diagnose, diagnose_with_dns, parse_addr_spec};

#[test]
fn dns_callback_is_asked_only_about_bare_tlds() {
    let asked = Cell::new(0);
    let resolver = |domain: &str| {
        asked.set(asked.get() + 1);
        domain == "museum"
    };
    assert_eq!(
        diagnose_with_dns(b"a@museum", &resolver).reason(),
        Reason::Valid
    );
    assert_eq!(asked.get(), 1);
    assert_eq!(
        diagnose_with_dns(b"a@example.com", &resolver).reason(),
        Reason::Valid
    );
    assert_eq!(asked.get(), 1, "a normal domain needs no DNS answer");
    assert_eq!(
        diagnose_with_dns(b"a@localhost", &resolver).reason(),
        Reason::Rfc5321Tld
    );
    assert_eq!(
        diagnose_with_dns(b"a@1.2.3.4", &resolver).reason(),
        Reason::Rfc5321TldNumeric
    );
    assert_eq!(
        diagnose_with_dns(b" a@localhost", &resolver).reason(),
        Reason::CfwsFws,
        "a worse finding hides the TLD warning, as in is_email"
    );
    assert_eq!(asked.get(), 3);
}

#[test]
fn helpers_and_names() {
    let d = diagnose(b"\"quoted\"@example.com");
    assert_eq!(d.category(), Category::Rfc5321);
    assert!(d.is_valid_for_smtp());
    assert!(d.is_valid_for_message());
    assert_eq!(d.reason().isemail_id(), "ISEMAIL_RFC5321_QUOTEDSTRING");
    assert_eq!(d.reason().code(), 11);
    assert_eq!(d.reason().to_string(), "ISEMAIL_RFC5321_QUOTEDSTRING");
    let d = diagnose(b"a(comment)@example.com");
    assert_eq!(d.category(), Category::Deprecated);
    assert!(!d.is_valid_for_smtp());
    assert!(d.is_valid_for_message());
    let d = diagnose(b"a@@example.com");
    assert_eq!(d.reason(), Reason::ErrExpectingAtext);
    assert!(!d.is_valid_for_message());
}

#[test]
fn ipv6_literals() {
    for (input, reason) in [
        (&b"a@[IPv6:2001:db8::1]"[..], Reason::Rfc5321AddressLiteral),
        (b"a@[IPv6:::ffff:192.0.2.1]", Reason::Rfc5321AddressLiteral),
        (
            b"a@[ipv6:2001:DB8:0:0:0:0:0:1]",
            Reason::Rfc5321AddressLiteral,
        ),
        (b"a@[IPv6:1:2:3:4:5:6:7::]", Reason::Rfc5321IPv6Deprecated),
        (b"a@[IPv6:12345::1]", Reason::Rfc5322IPv6BadChar),
        (b"a@[IPv6:1:2]", Reason::Rfc5322IPv6GroupCount),
        (b"a@[192.0.2.1]", Reason::Rfc5321AddressLiteral),
        (b"a@[192.0.2.01]", Reason::Rfc5321AddressLiteral),
        (b"a@[x192.0.2.1]", Reason::Rfc5322DomainLiteral),
    ] {
        assert_eq!(
            diagnose(input).reason(),
            reason,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn valid_addresses_parse_to_themselves() {
    for input in [
        &b"test@iana.org"[..],
        b"first.last@sub.example.co.uk",
        b"!#$%&`*+/=?^`{|}~@iana.org",
        b"xn--test@xn--hxajbheg2az3al.xn--jxalpdlp",
    ] {
        assert_eq!(diagnose(input).category(), Category::Valid);
        let parsed = parse_addr_spec(input).unwrap();
        assert_eq!(parsed.to_string().as_bytes(), input);
    }
}

#[test]
fn every_category_is_reachable_and_parser_agrees_on_non_errors() {
    // Whatever is_email does not call invalid, the RFC 5322 parser accepts.
    for input in [
        &b"\"test\\ test\"@iana.org"[..],
        b"(comment)test@iana.org",
        b"test . test@iana.org",
        b"\"test\".\"test\"@iana.org",
        b"test@[RFC 5322 domain literal]",
        b"test@iana/icann.org",
        b"\"\x07\"@iana.org",
    ] {
        let d = diagnose(input);
        assert!(
            d.is_valid_for_message(),
            "{}",
            String::from_utf8_lossy(input)
        );
        assert!(
            parse_addr_spec(input).is_ok(),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}
