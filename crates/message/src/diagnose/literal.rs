//! RFC 5321 section 4.1.3 address literals inside a domain literal, checked the way
//! is_email does (an IPv4 dotted quad at the end, then the IPv6 group rules).

use super::Reason;

/// Whether `b` is a regex word character (`[A-Za-z0-9_]`).
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_octet(s: &[u8]) -> bool {
    !s.is_empty()
        && s.len() <= 3
        && s.iter().all(u8::is_ascii_digit)
        && s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')) <= 255
}

/// Where a dotted-quad IPv4 address ends the literal (preceded by the start or a non-word
/// character), if one does.
fn trailing_ipv4(lit: &[u8]) -> Option<usize> {
    let mut dots = lit.iter().enumerate().rev().filter(|(_, b)| **b == b'.');
    let (d3, _) = dots.next()?;
    let (d2, _) = dots.next()?;
    let (d1, _) = dots.next()?;
    let first = lit.get(..d1)?;
    let run = first
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let start = d1 - run;
    if start > 0 && lit.get(start - 1).copied().is_some_and(is_word) {
        return None;
    }
    let ok = is_octet(lit.get(start..d1)?)
        && is_octet(lit.get(d1 + 1..d2)?)
        && is_octet(lit.get(d2 + 1..d3)?)
        && is_octet(lit.get(d3 + 1..)?);
    ok.then_some(start)
}

/// The findings for a domain literal's contents (RFC 5321 section 4.1.3 address literals).
pub(super) fn check_address_literal(lit: &[u8]) -> [Option<Reason>; 3] {
    let mut literal: Vec<u8> = lit.to_vec();
    match trailing_ipv4(lit) {
        Some(0) => return [Some(Reason::Rfc5321AddressLiteral), None, None],
        Some(start) => {
            literal.truncate(start);
            literal.extend_from_slice(b"0:0");
        }
        None => {}
    }
    let is_v6 = literal
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"IPv6:"));
    if !is_v6 {
        return [Some(Reason::Rfc5322DomainLiteral), None, None];
    }
    let v6 = literal.get(5..).unwrap_or(&[]);
    let groups: Vec<&[u8]> = v6.split(|b| *b == b':').collect();
    let count = groups.len();
    let first_dc = v6.windows(2).position(|w| w == b"::");
    let last_dc = v6.windows(2).rposition(|w| w == b"::");
    let mut out = [None, None, None];
    match first_dc {
        None => {
            if count != 8 {
                out[0] = Some(Reason::Rfc5322IPv6GroupCount);
            }
        }
        Some(first) => {
            if Some(first) != last_dc {
                out[0] = Some(Reason::Rfc5322IPv6TwoDoubleColons);
            } else {
                let mut max = 8;
                if first == 0 || first + 2 == v6.len() {
                    max += 1;
                }
                if count > max {
                    out[0] = Some(Reason::Rfc5322IPv6MaxGroups);
                } else if count == max {
                    out[0] = Some(Reason::Rfc5321IPv6Deprecated);
                }
            }
        }
    }
    let starts_single = v6.first() == Some(&b':') && v6.get(1) != Some(&b':');
    let ends_single =
        v6.last() == Some(&b':') && v6.len().checked_sub(2).and_then(|i| v6.get(i)) != Some(&b':');
    out[1] = Some(if starts_single {
        Reason::Rfc5322IPv6ColonStart
    } else if ends_single {
        Reason::Rfc5322IPv6ColonEnd
    } else if groups
        .iter()
        .any(|g| g.len() > 4 || !g.iter().all(u8::is_ascii_hexdigit))
    {
        Reason::Rfc5322IPv6BadChar
    } else {
        Reason::Rfc5321AddressLiteral
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_suffix() {
        assert_eq!(trailing_ipv4(b"1.2.3.4"), Some(0));
        assert_eq!(trailing_ipv4(b"IPv6::1.2.3.4"), Some(6));
        assert_eq!(trailing_ipv4(b"255.255.255.255.255"), Some(4));
        assert_eq!(trailing_ipv4(b"1.2.3.256"), None);
        assert_eq!(trailing_ipv4(b"a1.2.3.4"), None);
        assert_eq!(trailing_ipv4(b"1.2.3"), None);
        assert_eq!(trailing_ipv4(b"1234.2.3.4"), None);
    }
}
