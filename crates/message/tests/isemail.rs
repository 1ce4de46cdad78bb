//! Every case of is_email 3.05's test set (tests/data/isemail/tests.xml, by Dominic
//! Sayers, BSD 3-Clause) must land in the expected category.

use postwerk_message::{Category, diagnose_with_dns};

const XML: &str = include_str!("data/isemail/tests.xml");

struct Case {
    id: String,
    address: Vec<u8>,
    category: String,
    diagnosis: String,
}

/// The text of `<tag>…</tag>` inside `block`; `<tag/>` is empty.
fn element<'a>(block: &'a str, tag: &str) -> Option<&'a str> {
    if block.contains(&format!("<{tag}/>")) {
        return Some("");
    }
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = block.find(&open)? + open.len();
    let end = start + block[start..].find(&close)?;
    Some(&block[start..end])
}

/// Decodes XML entities; U+2400 + N (the "control picture" convention of the data file)
/// stands for ASCII control character N.
fn decode(text: &str) -> Vec<u8> {
    let mut s = String::new();
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        s.push_str(&rest[..amp]);
        let semi = amp + rest[amp..].find(';').expect("entity ends with ;");
        let entity = &rest[amp + 1..semi];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).expect("hex entity")
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().expect("decimal entity")
                } else {
                    panic!("unknown entity &{entity};")
                };
                char::from_u32(code).expect("valid code point")
            }
        };
        s.push(c);
        rest = &rest[semi + 1..];
    }
    s.push_str(rest);
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let code = c as u32;
        if (0x2400..=0x241f).contains(&code) {
            out.push((code - 0x2400) as u8);
        } else {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut rest = XML;
    while let Some(start) = rest.find("<test id=\"") {
        let after = &rest[start + 10..];
        let quote = after.find('"').unwrap();
        let id = after[..quote].to_string();
        let end = after.find("</test>").unwrap();
        let block = &after[..end];
        out.push(Case {
            id,
            address: decode(element(block, "address").unwrap_or("")),
            category: element(block, "category").unwrap().to_string(),
            diagnosis: element(block, "diagnosis").unwrap().to_string(),
        });
        rest = &after[end..];
    }
    out
}

fn expected(category: &str) -> Category {
    match category {
        // DNS warnings need live DNS; the syntax of those addresses is valid.
        "ISEMAIL_VALID_CATEGORY" | "ISEMAIL_DNSWARN" => Category::Valid,
        "ISEMAIL_RFC5321" => Category::Rfc5321,
        "ISEMAIL_CFWS" => Category::Cfws,
        "ISEMAIL_DEPREC" => Category::Deprecated,
        "ISEMAIL_RFC5322" => Category::Rfc5322,
        "ISEMAIL_ERR" => Category::Invalid,
        other => panic!("unknown category {other}"),
    }
}

/// The DNS facts the data file was recorded with. Its only single-label domain that
/// receives mail is `io` (test 5's comment: "io. currently has an MX-record"); `org`
/// (test 166) has no MX record.
fn recorded_dns(domain: &str) -> bool {
    domain.eq_ignore_ascii_case("io")
}

#[test]
fn all_isemail_cases_get_their_category() {
    let cases = cases();
    assert_eq!(cases.len(), 164, "the data file has 164 cases");
    let mut failures = Vec::new();
    let mut same_diagnosis = 0;
    for case in &cases {
        let d = diagnose_with_dns(&case.address, &recorded_dns);
        if d.category() != expected(&case.category) {
            failures.push(format!(
                "#{} {:?}: expected {} ({}), got {:?} ({})",
                case.id,
                String::from_utf8_lossy(&case.address),
                case.category,
                case.diagnosis,
                d.category(),
                d.reason()
            ));
        }
        if d.reason().isemail_id() == case.diagnosis {
            same_diagnosis += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Apart from the DNS warnings (which need live DNS), the diagnosis matches too.
    let dns = cases
        .iter()
        .filter(|c| c.category == "ISEMAIL_DNSWARN")
        .count();
    assert_eq!(same_diagnosis + dns, cases.len());
}

#[test]
fn entity_decoding() {
    assert_eq!(decode("a&#x2400;b&#x240D;&#x240A;"), b"a\0b\r\n");
    assert_eq!(decode("&amp;&#xA9;&#65;"), "&©A".as_bytes());
}
