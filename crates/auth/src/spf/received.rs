//! The `Received-SPF:` header field (RFC 7208 section 9.1).
//!
//! ```text
//! header-field     = "Received-SPF:" [CFWS] result FWS [comment FWS]
//!                    [ key-value-list ] CRLF
//! key-value-list   = key-value-pair *( ";" [CFWS] key-value-pair ) [";"]
//! key-value-pair   = key [CFWS] "=" ( dot-atom / quoted-string )
//! key              = "client-ip" / "envelope-from" / "helo" /
//!                    "problem" / "receiver" / "identity" /
//!                    "mechanism" / name
//! identity         = "mailfrom" / "helo" / name
//! ```
//!
//! Every value comes from the SMTP client or from DNS, so none is copied raw: values are
//! cut to US-ASCII printable characters (anything else, CR and LF first of all, becomes
//! `?`), runs of whitespace become one space, and a value is written as a dot-atom only
//! when it is one, else as a quoted-string with `"` and `\` escaped. In the comment, `(`,
//! `)` and `\` are escaped as quoted-pairs, so it cannot close early. The field is folded
//! at 78 columns, only where the grammar allows whitespace.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::{Identity, SpfOutput, SpfResult};
use crate::results::{is_dot_atom, quoted};

/// The longest value written (longer ones are cut): 256 octets is the longest
/// reverse-path RFC 5321 section 4.5.3.1.3 allows.
const MAX_VALUE: usize = 256;
/// The longest explanation or problem text written into the comment.
const MAX_TEXT: usize = 512;
/// Fold lines longer than this (RFC 5322 section 2.1.1).
const LINE: usize = 78;

/// Printable US-ASCII and single spaces only, at most `max` characters, trimmed.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    let mut space = false;
    for c in s.chars() {
        if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
            space = !out.is_empty();
            continue;
        }
        if out.len() + usize::from(space) + 1 > max {
            break;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(if c.is_ascii_graphic() { c } else { '?' });
    }
    out
}

/// A value as a dot-atom when it is one, else as a quoted-string (the
/// Authentication-Results writer's rules).
fn value(s: &str) -> String {
    let s = clean(s, MAX_VALUE);
    if is_dot_atom(&s) { s } else { quoted(&s) }
}

/// Text for inside a comment: `(`, `)` and `\` become quoted-pairs.
fn comment_text(s: &str, max: usize) -> String {
    let s = clean(s, max);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '(' | ')' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Folds `text` (single spaces only, each at a place where FWS is allowed) into lines of
/// at most [`LINE`] columns where possible: a space before a word that would overflow
/// becomes CRLF SP, which unfolds back to the same space.
fn fold(text: &str, mut column: usize, out: &mut String) {
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            if column + 1 + word.len() > LINE && column > 1 {
                out.push_str("\r\n ");
                column = 1;
            } else {
                out.push(' ');
                column += 1;
            }
        }
        out.push_str(word);
        column += word.len();
    }
}

impl SpfOutput {
    /// The `Received-SPF:` header field (RFC 7208 section 9.1) for this result, ending
    /// in CRLF, ready to prepend to the message.
    ///
    /// `receiver` is the receiving host's name, `client_ip` the SMTP client's address,
    /// `envelope_from` the MAIL FROM address (`""` for the null sender) and `helo` the
    /// HELO/EHLO name. The comment is the RFC's wording for the result (with the `exp=`
    /// explanation of a `fail`); the key-value pairs are `receiver`, `client-ip`,
    /// `envelope-from`, `helo`, `identity` (`mailfrom` or `helo`), and `mechanism` and
    /// `problem` when there are any. Hostile values cannot add a field: see the module
    /// documentation.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use postwerk_auth::dns::{Answer, RecordKind};
    /// use postwerk_auth::spf::{SpfCheck, SpfConfig};
    ///
    /// let ip: IpAddr = "192.0.2.1".parse().unwrap();
    /// let mut check = SpfCheck::mail_from(SpfConfig::default(), ip, "myname@example.com",
    ///                                     "foo.example.com", 1_700_000_000);
    /// while check.result().is_none() {
    ///     for q in check.queries() {
    ///         let answer = match (q.name.as_str(), q.kind) {
    ///             ("example.com", RecordKind::Txt) => Answer::txt("v=spf1 ip4:192.0.2.0/24 -all"),
    ///             _ => Answer::NxDomain,
    ///         };
    ///         check.supply(&q, answer);
    ///     }
    /// }
    /// let field = check.result().unwrap()
    ///     .received_spf("mybox.example.org", ip, "myname@example.com", "foo.example.com");
    /// assert_eq!(field, "Received-SPF: pass (mybox.example.org: domain of myname@example.com \
    ///     designates\r\n 192.0.2.1 as permitted sender) receiver=mybox.example.org;\r\n \
    ///     client-ip=192.0.2.1; envelope-from=\"myname@example.com\";\r\n \
    ///     helo=foo.example.com; identity=mailfrom; mechanism=\"ip4:192.0.2.0/24\"\r\n");
    /// ```
    pub fn received_spf(
        &self,
        receiver: &str,
        client_ip: IpAddr,
        envelope_from: &str,
        helo: &str,
    ) -> String {
        let ip = client_ip.to_string();
        // Whose policy it was: the sender, postmaster@ the HELO name for the null
        // sender (RFC 7208 2.4), or the HELO name itself.
        let who = match self.identity {
            Identity::MailFrom if !envelope_from.is_empty() => {
                comment_text(envelope_from, MAX_VALUE)
            }
            Identity::MailFrom => comment_text(&format!("postmaster@{}", self.domain), MAX_VALUE),
            Identity::Helo => comment_text(&self.domain, MAX_VALUE),
        };
        let host = comment_text(receiver, MAX_VALUE);
        let problem = self.problem.as_ref().map(ToString::to_string);
        let mut comment = format!("{host}: ");
        // The wording of the RFC 7208 section 9.1 examples.
        let _ = match self.result {
            SpfResult::Pass => {
                write!(
                    comment,
                    "domain of {who} designates {ip} as permitted sender"
                )
            }
            SpfResult::Fail => write!(
                comment,
                "domain of {who} does not designate {ip} as permitted sender"
            ),
            SpfResult::SoftFail => write!(
                comment,
                "domain of transitioning {who} does not designate {ip} as permitted sender"
            ),
            SpfResult::Neutral => write!(
                comment,
                "{ip} is neither permitted nor denied by domain of {who}"
            ),
            SpfResult::None => write!(
                comment,
                "domain of {who} does not designate permitted sender hosts"
            ),
            SpfResult::PermError => {
                write!(comment, "permanent error in processing domain of {who}")
            }
            SpfResult::TempError => write!(comment, "error in processing during lookup of {who}"),
        };
        if let Some(p) = &problem {
            comment.push_str(": ");
            comment.push_str(&comment_text(p, MAX_TEXT));
        }
        if self.result == SpfResult::Fail
            && let Some(exp) = &self.explanation
        {
            comment.push_str(": ");
            comment.push_str(&comment_text(exp, MAX_TEXT));
        }

        let identity = match self.identity {
            Identity::MailFrom => "mailfrom",
            Identity::Helo => "helo",
        };
        let mut pairs = vec![
            format!("receiver={}", value(receiver)),
            format!("client-ip={}", value(&ip)),
            format!("envelope-from={}", value(envelope_from)),
            format!("helo={}", value(helo)),
            format!("identity={identity}"),
        ];
        if let Some(m) = &self.mechanism {
            pairs.push(format!("mechanism={}", value(m)));
        }
        if let Some(p) = &problem {
            pairs.push(format!("problem={}", value(p)));
        }

        let body = format!("{} ({comment}) {}", self.result.as_str(), pairs.join("; "));
        let mut out = String::from("Received-SPF:");
        out.push(' ');
        fold(&body, out.len(), &mut out);
        out.push_str("\r\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spf::SpfError;

    fn output(result: SpfResult) -> SpfOutput {
        SpfOutput {
            result,
            identity: Identity::MailFrom,
            domain: "example.com".into(),
            explanation: None,
            mechanism: None,
            problem: None,
            dns_lookups: 0,
            void_lookups: 0,
        }
    }

    fn ip() -> IpAddr {
        "192.0.2.1".parse().unwrap()
    }

    /// Unfolds a field: CRLF followed by WSP is removed (RFC 5322 section 2.2.3).
    fn unfold(f: &str) -> String {
        f.trim_end_matches("\r\n").replace("\r\n ", " ")
    }

    /// Every line ends in CRLF, no bare CR or LF, continuation lines start with SP, and
    /// no line is over 998 octets.
    fn assert_one_field(f: &str) {
        assert!(f.starts_with("Received-SPF: "), "{f:?}");
        assert!(f.ends_with("\r\n"), "{f:?}");
        let body = &f[..f.len() - 2];
        for (i, line) in body.split("\r\n").enumerate() {
            assert!(!line.contains('\r') && !line.contains('\n'), "{f:?}");
            assert!(line.len() <= 998, "{f:?}");
            assert!(line.bytes().all(|b| (0x20..0x7f).contains(&b)), "{f:?}");
            if i > 0 {
                assert!(line.starts_with(' ') && line.trim() != "", "{f:?}");
            }
        }
    }

    #[test]
    fn rfc7208_section_9_1_wording() {
        let cases = [
            (
                SpfResult::Pass,
                "pass (mybox.example.org: domain of myname@example.com designates 192.0.2.1 as permitted sender)",
            ),
            (
                SpfResult::Fail,
                "fail (mybox.example.org: domain of myname@example.com does not designate 192.0.2.1 as permitted sender)",
            ),
            (
                SpfResult::SoftFail,
                "softfail (mybox.example.org: domain of transitioning myname@example.com does not designate 192.0.2.1 as permitted sender)",
            ),
            (
                SpfResult::Neutral,
                "neutral (mybox.example.org: 192.0.2.1 is neither permitted nor denied by domain of myname@example.com)",
            ),
            (
                SpfResult::None,
                "none (mybox.example.org: domain of myname@example.com does not designate permitted sender hosts)",
            ),
        ];
        for (result, start) in cases {
            let f = output(result).received_spf(
                "mybox.example.org",
                ip(),
                "myname@example.com",
                "foo.example.com",
            );
            assert_one_field(&f);
            let u = unfold(&f);
            assert_eq!(
                u,
                format!(
                    "Received-SPF: {start} receiver=mybox.example.org; client-ip=192.0.2.1; \
                     envelope-from=\"myname@example.com\"; helo=foo.example.com; identity=mailfrom"
                )
            );
        }
    }

    #[test]
    fn mechanism_problem_and_ipv6_are_quoted() {
        let mut o = output(SpfResult::PermError);
        o.mechanism = Some("include:_spf.example.com".into());
        o.problem = Some(SpfError::TooManyDnsLookups(10));
        let ip6: IpAddr = "2001:db8::1".parse().unwrap();
        let u = unfold(&o.received_spf("mx.example.net", ip6, "a@example.com", "h.example.com"));
        assert!(
            u.starts_with(
                "Received-SPF: permerror (mx.example.net: permanent error in processing domain \
                 of a@example.com: more than 10 DNS-querying terms) receiver=mx.example.net; \
                 client-ip=\"2001:db8::1\";"
            ),
            "{u}"
        );
        assert!(
            u.contains("; mechanism=\"include:_spf.example.com\";"),
            "{u}"
        );
        assert!(
            u.ends_with("; problem=\"more than 10 DNS-querying terms\""),
            "{u}"
        );
    }

    #[test]
    fn null_sender_and_helo_identity() {
        let u =
            unfold(&output(SpfResult::Pass).received_spf("mx.example", ip(), "", "example.com"));
        assert!(
            u.contains("domain of postmaster@example.com designates"),
            "{u}"
        );
        assert!(u.contains("envelope-from=\"\";"), "{u}");
        let mut o = output(SpfResult::Fail);
        o.identity = Identity::Helo;
        o.domain = "helo.example".into();
        let u = unfold(&o.received_spf("mx.example", ip(), "a@b.example", "helo.example"));
        assert!(
            u.contains("domain of helo.example does not designate"),
            "{u}"
        );
        assert!(u.ends_with("identity=helo"), "{u}");
    }

    #[test]
    fn hostile_explanation_and_helo_cannot_inject() {
        let mut o = output(SpfResult::Fail);
        o.explanation =
            Some("go away) x=y; (\r\nX-Injected: yes\r\n\r\nbody\\ \u{7f}\u{1b}[31m é".into());
        let helo = "evil.example\r\nX-Injected: yes\"; receiver=forged";
        let from = "a\"b\\c@example.com\nBcc: victim@example.org";
        let f = o.received_spf("mx.example\r\nX-Bad: 1", ip(), from, helo);
        assert_one_field(&f);
        // Nothing starts a new field: every CRLF is followed by a space.
        assert!(!f[..f.len() - 2].contains("\r\nX-"), "{f:?}");
        let u = unfold(&f);
        // The comment stays one comment: its parentheses are quoted-pairs.
        assert!(
            u.contains(
                "as permitted sender: go away\\) x=y; \\( X-Injected: yes body\\\\ ??[31m ?)"
            ),
            "{u}"
        );
        // Values with forbidden characters are quoted-strings, quotes escaped.
        assert!(
            u.contains("helo=\"evil.example X-Injected: yes\\\"; receiver=forged\""),
            "{u}"
        );
        assert!(
            u.contains("envelope-from=\"a\\\"b\\\\c@example.com Bcc: victim@example.org\""),
            "{u}"
        );
        assert!(u.contains("receiver=\"mx.example X-Bad: 1\""), "{u}");
    }

    #[test]
    fn long_values_are_cut_and_lines_folded() {
        let long = "a".repeat(5000);
        let mut o = output(SpfResult::Fail);
        o.explanation = Some(format!("{long} {long}"));
        let f = o.received_spf(&long, ip(), &long, &long);
        assert_one_field(&f);
        assert!(f.len() < 4 * MAX_VALUE + MAX_TEXT + 600, "{}", f.len());
        // Short words fold at 78 columns.
        let f = output(SpfResult::Pass).received_spf("mx.example", ip(), "a@example.com", "h");
        assert!(f.split("\r\n").all(|l| l.len() <= LINE), "{f:?}");
    }

    #[test]
    fn clean_keeps_printable_ascii_and_single_spaces() {
        assert_eq!(clean("  a \t\r\n b\u{0}c  ", 100), "a b?c");
        assert_eq!(clean("abcdef", 3), "abc");
        assert_eq!(value("foo.example.com"), "foo.example.com");
        assert_eq!(value("a b"), "\"a b\"");
        assert_eq!(value(""), "\"\"");
        assert_eq!(comment_text("(x)\\", 10), "\\(x\\)\\\\");
    }
}
