//! The RFC 2449 capability list (`CAPA`), as a typed set.
//!
//! ```text
//! capa-resp = "+OK" *(SP text) CRLF *capa-line "." CRLF
//! capa-line = capa-tag *(SP param) CRLF
//! ```

/// A typed set of POP3 capabilities, used by the server to write its `CAPA`
/// answer and by the client to remember what the server offered.
///
/// ```
/// use postwerk_pop3::codec::Capabilities;
/// let mut caps = Capabilities::default();
/// for line in ["TOP", "UIDL", "SASL PLAIN LOGIN", "PIPELINING", "STLS"] {
///     caps.parse_line(line);
/// }
/// assert!(caps.pipelining && caps.stls && caps.top);
/// assert!(caps.supports_sasl("plain"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `TOP`.
    pub top: bool,
    /// `UIDL`.
    pub uidl: bool,
    /// `USER`: USER/PASS login is offered.
    pub user: bool,
    /// `RESP-CODES`.
    pub resp_codes: bool,
    /// `AUTH-RESP-CODE` (RFC 3206).
    pub auth_resp_code: bool,
    /// `PIPELINING`.
    pub pipelining: bool,
    /// `STLS` (RFC 2595).
    pub stls: bool,
    /// `UTF8` (RFC 6856); see also [`Capabilities::utf8_user`].
    pub utf8: bool,
    /// `UTF8 USER`: UTF-8 user names and passwords are accepted.
    pub utf8_user: bool,
    /// `LANG` (RFC 6856).
    pub lang: bool,
    /// `SASL mech...`: the mechanisms offered, upper-case.
    pub sasl: Vec<String>,
    /// `IMPLEMENTATION text`.
    pub implementation: Option<String>,
    /// `EXPIRE policy`, as sent.
    pub expire: Option<String>,
    /// `LOGIN-DELAY seconds`, as sent.
    pub login_delay: Option<String>,
    /// Capability lines this crate does not interpret, as sent.
    pub other: Vec<String>,
}

impl Capabilities {
    /// Record one capability line (without line end) of a `CAPA` answer.
    ///
    /// RFC 2449 section 5: `capa-line = capa-tag *(SP param)`. White space
    /// before the tag is not part of the grammar; it is skipped (liberal in
    /// what we accept), and the parameters are whatever follows the tag.
    pub fn parse_line(&mut self, line: &str) {
        let line = line.trim_start_matches([' ', '\t']);
        let (tag, params) = match line.find([' ', '\t']) {
            Some(i) => (
                line.get(..i).unwrap_or_default(),
                line.get(i..).unwrap_or_default(),
            ),
            None => (line, ""),
        };
        if tag.is_empty() {
            return;
        }
        let mut words = params.split_ascii_whitespace();
        let rest = || params.trim().to_owned();
        match tag.to_ascii_uppercase().as_str() {
            "TOP" => self.top = true,
            "UIDL" => self.uidl = true,
            "USER" => self.user = true,
            "RESP-CODES" => self.resp_codes = true,
            "AUTH-RESP-CODE" => self.auth_resp_code = true,
            "PIPELINING" => self.pipelining = true,
            "STLS" => self.stls = true,
            "LANG" => self.lang = true,
            "UTF8" => {
                self.utf8 = true;
                self.utf8_user = words.any(|w| w.eq_ignore_ascii_case("USER"));
            }
            "SASL" => self.sasl = words.map(|w| w.to_ascii_uppercase()).collect(),
            "IMPLEMENTATION" => self.implementation = Some(rest()),
            "EXPIRE" => self.expire = Some(rest()),
            "LOGIN-DELAY" => self.login_delay = Some(rest()),
            _ => {
                if self.other.len() < 64 {
                    self.other.push(line.to_owned());
                }
            }
        }
    }

    /// Whether the SASL mechanism `mech` is offered (case-insensitive).
    pub fn supports_sasl(&self, mech: &str) -> bool {
        self.sasl.iter().any(|m| m.eq_ignore_ascii_case(mech))
    }

    /// The `EXPIRE` policy as a number of days (`Some(None)` for `NEVER`),
    /// ignoring a trailing `USER`; `None` when absent or unreadable.
    ///
    /// ```
    /// use postwerk_pop3::codec::Capabilities;
    /// let mut caps = Capabilities::default();
    /// caps.parse_line("EXPIRE 30 USER");
    /// assert_eq!(caps.expire_days(), Some(Some(30)));
    /// caps.parse_line("EXPIRE NEVER");
    /// assert_eq!(caps.expire_days(), Some(None));
    /// ```
    pub fn expire_days(&self) -> Option<Option<u32>> {
        let value = self.expire.as_deref()?.split_ascii_whitespace().next()?;
        if value.eq_ignore_ascii_case("NEVER") {
            Some(None)
        } else {
            value.parse().ok().map(Some)
        }
    }

    /// The `LOGIN-DELAY` in seconds, ignoring a trailing `USER`.
    pub fn login_delay_seconds(&self) -> Option<u32> {
        self.login_delay
            .as_deref()?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// The capability lines, each without line end, in a stable order.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let flags = [
            (self.top, "TOP"),
            (self.uidl, "UIDL"),
            (self.user, "USER"),
            (self.resp_codes, "RESP-CODES"),
            (self.auth_resp_code, "AUTH-RESP-CODE"),
            (self.pipelining, "PIPELINING"),
            (self.stls, "STLS"),
        ];
        out.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_owned()));
        if !self.sasl.is_empty() {
            out.push(format!("SASL {}", self.sasl.join(" ")));
        }
        if self.utf8 {
            out.push(if self.utf8_user { "UTF8 USER" } else { "UTF8" }.to_owned());
        }
        if self.lang {
            out.push("LANG".to_owned());
        }
        if let Some(e) = &self.expire {
            out.push(format!("EXPIRE {e}"));
        }
        if let Some(d) = &self.login_delay {
            out.push(format!("LOGIN-DELAY {d}"));
        }
        if let Some(i) = &self.implementation {
            out.push(format!("IMPLEMENTATION {i}"));
        }
        out.extend(self.other.iter().cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let caps = Capabilities {
            top: true,
            uidl: true,
            user: true,
            resp_codes: true,
            auth_resp_code: true,
            pipelining: true,
            stls: true,
            utf8: true,
            utf8_user: true,
            lang: true,
            sasl: vec!["PLAIN".into()],
            implementation: Some("postwerk".into()),
            expire: Some("NEVER".into()),
            login_delay: Some("0".into()),
            other: vec!["X-FOO bar".into()],
        };
        let mut parsed = Capabilities::default();
        for l in caps.lines() {
            parsed.parse_line(&l);
        }
        assert_eq!(parsed, caps);
    }

    #[test]
    fn leading_white_space_is_skipped() {
        let mut caps = Capabilities::default();
        caps.parse_line("  IMPLEMENTATION Foo Bar");
        caps.parse_line("\tEXPIRE 30 USER");
        caps.parse_line(" LOGIN-DELAY 900");
        caps.parse_line("   SASL plain");
        assert_eq!(caps.implementation.as_deref(), Some("Foo Bar"));
        assert_eq!(caps.expire.as_deref(), Some("30 USER"));
        assert_eq!(caps.login_delay.as_deref(), Some("900"));
        assert!(caps.supports_sasl("PLAIN"));
    }

    #[test]
    fn leading_white_space_with_multibyte_text_does_not_panic() {
        let mut caps = Capabilities::default();
        caps.parse_line("  IMPLEMENTATION \u{e9}\u{e9}\u{e9}");
        caps.parse_line("   X \u{e9}");
        caps.parse_line("   ");
        assert_eq!(caps.implementation.as_deref(), Some("\u{e9}\u{e9}\u{e9}"));
        assert_eq!(caps.other, vec!["X \u{e9}".to_owned()]);
    }
}
