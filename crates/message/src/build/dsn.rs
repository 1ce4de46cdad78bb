//! Delivery status notifications (RFC 3464, with RFC 3462/6522 `multipart/report` and
//! RFC 3463 status codes).
//!
//! ```text
//! delivery-status-content = per-message-fields 1*( CRLF per-recipient-fields )
//! per-message-fields = [ original-envelope-id-field CRLF ] reporting-mta-field CRLF
//!                      [ dsn-gateway-field CRLF ] [ received-from-mta-field CRLF ]
//!                      [ arrival-date-field CRLF ] *( extension-field CRLF )
//! per-recipient-fields = [ original-recipient-field CRLF ] final-recipient-field CRLF
//!                      action-field CRLF status-field CRLF [ remote-mta-field CRLF ]
//!                      [ diagnostic-code-field CRLF ] [ last-attempt-date-field CRLF ]
//!                      [ final-log-id-field CRLF ] [ will-retry-until-field CRLF ]
//! ```

use std::fmt::Write as _;

use memchr::memmem;

use super::{BuildError, clean_text, clean_word, fold_words, is_dot_atom};
use crate::DateTime;

/// The `Action:` of a recipient (RFC 3464 section 2.3.3).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The message could not be delivered and will not be retried.
    Failed,
    /// Delivery is delayed; it will be retried.
    Delayed,
    /// The message was delivered.
    Delivered,
    /// The message was relayed to a system that does not send DSNs.
    Relayed,
    /// Delivered to the recipient and forwarded to further recipients (a list).
    Expanded,
}

impl Action {
    /// The field value (`failed`, `delayed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
        }
    }
}

/// The per-recipient fields of a DSN.
#[derive(Debug, Clone)]
pub struct DsnRecipient {
    final_recipient: String,
    original_recipient: Option<String>,
    action: Action,
    status: String,
    remote_mta: Option<String>,
    diagnostic: Option<String>,
    last_attempt: Option<DateTime>,
    will_retry_until: Option<DateTime>,
}

/// Whether `s` is an RFC 3463 status code `class "." subject "." detail`.
fn valid_status(s: &str) -> bool {
    let mut it = s.split('.');
    let (Some(c), Some(sub), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return false;
    };
    matches!(c, "2" | "4" | "5")
        && (1..=3).contains(&sub.len())
        && (1..=3).contains(&d.len())
        && sub.bytes().chain(d.bytes()).all(|b| b.is_ascii_digit())
}

/// `type; value`, with `rfc822` as the type when the caller gave a bare address.
fn typed(default_type: &str, value: &str) -> String {
    let value = clean_text(value.trim(), 998);
    if let Some((t, v)) = value.split_once(';')
        && !t.trim().is_empty()
        && t.trim()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return format!("{}; {}", t.trim(), v.trim());
    }
    let v = value.trim_start_matches('<').trim_end_matches('>');
    format!("{default_type}; {v}")
}

impl DsnRecipient {
    /// A recipient block: the final recipient address (`rfc822; addr` is written; a value
    /// that already has a type such as `utf-8; …` is kept), the action and the RFC 3463
    /// status (`5.1.1`).
    pub fn new(final_recipient: &str, action: Action, status: &str) -> Result<Self, BuildError> {
        if !valid_status(status) {
            return Err(BuildError::InvalidStatus);
        }
        Ok(DsnRecipient {
            final_recipient: typed("rfc822", final_recipient),
            original_recipient: None,
            action,
            status: status.to_owned(),
            remote_mta: None,
            diagnostic: None,
            last_attempt: None,
            will_retry_until: None,
        })
    }

    /// `Original-Recipient:` (the ORCPT parameter, e.g. `rfc822;bob@example.org`).
    pub fn original_recipient(mut self, orcpt: &str) -> Self {
        self.original_recipient = Some(typed("rfc822", orcpt));
        self
    }

    /// `Remote-MTA: dns; host`.
    pub fn remote_mta(mut self, host: &str) -> Self {
        self.remote_mta = Some(format!("dns; {}", clean_word(host, 255)));
        self
    }

    /// `Diagnostic-Code: smtp; <reply text>` (line breaks of a multi-line reply become
    /// spaces; the field is folded).
    pub fn diagnostic(mut self, smtp_reply: &str) -> Self {
        self.diagnostic = Some(clean_text(smtp_reply.trim(), 4000));
        self
    }

    /// `Last-Attempt-Date:`.
    pub fn last_attempt(mut self, date: DateTime) -> Self {
        self.last_attempt = Some(date);
        self
    }

    /// `Will-Retry-Until:` (for delayed recipients).
    pub fn will_retry_until(mut self, date: DateTime) -> Self {
        self.will_retry_until = Some(date);
        self
    }

    fn write(&self, out: &mut String) {
        if let Some(o) = &self.original_recipient {
            out.push_str(&fold_words("Original-Recipient", o.split(' ')));
        }
        out.push_str(&fold_words(
            "Final-Recipient",
            self.final_recipient.split(' '),
        ));
        let _ = write!(
            out,
            "Action: {}\r\nStatus: {}\r\n",
            self.action.as_str(),
            self.status
        );
        if let Some(r) = &self.remote_mta {
            let _ = write!(out, "Remote-MTA: {r}\r\n");
        }
        if let Some(d) = &self.diagnostic {
            let words = std::iter::once("smtp;").chain(d.split(' ').filter(|w| !w.is_empty()));
            out.push_str(&fold_words("Diagnostic-Code", words));
        }
        if let Some(d) = &self.last_attempt {
            let _ = write!(out, "Last-Attempt-Date: {d}\r\n");
        }
        if let Some(d) = &self.will_retry_until {
            let _ = write!(out, "Will-Retry-Until: {d}\r\n");
        }
    }
}

/// Builds a whole DSN message: `multipart/report; report-type=delivery-status` with a
/// human-readable `text/plain` part, the `message/delivery-status` part and the original
/// message's header section as `text/rfc822-headers` (or the whole message as
/// `message/rfc822` with [`DsnBuilder::return_full`]).
///
/// ```
/// use postwerk_message::{DateTime, Message, build::{Action, DsnBuilder, DsnRecipient}};
/// let original = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n";
/// let dsn = DsnBuilder::new("mx.example.com", "alice@example.com", DateTime::from_unix(0, 0), "q1.bounce")
///     .recipient(DsnRecipient::new("bob@example.org", Action::Failed, "5.1.1").unwrap()
///         .diagnostic("550 5.1.1 <bob@example.org>: user unknown"))
///     .original(original)
///     .build()
///     .unwrap();
/// let msg = Message::parse(&dsn).unwrap();
/// assert!(msg.root_part().content_type().is("multipart", "report"));
/// assert_eq!(msg.parts().len(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct DsnBuilder<'o> {
    reporting_mta: String,
    reverse_path: String,
    date: DateTime,
    token: String,
    from: Option<String>,
    subject: Option<String>,
    text: Option<String>,
    arrival_date: Option<DateTime>,
    envelope_id: Option<String>,
    recipients: Vec<DsnRecipient>,
    original: &'o [u8],
    return_full: bool,
}

impl<'o> DsnBuilder<'o> {
    /// A report from `reporting_mta` (this host's name) to `reverse_path` (the original
    /// `MAIL FROM`), dated `date`; `unique_token` makes the Message-ID
    /// (`<token@reporting_mta>`) and the boundary.
    pub fn new(
        reporting_mta: &str,
        reverse_path: &str,
        date: DateTime,
        unique_token: &str,
    ) -> Self {
        DsnBuilder {
            reporting_mta: clean_word(reporting_mta, 255),
            reverse_path: reverse_path
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned(),
            date,
            token: unique_token.to_owned(),
            from: None,
            subject: None,
            text: None,
            arrival_date: None,
            envelope_id: None,
            recipients: Vec::new(),
            original: b"",
            return_full: false,
        }
    }

    /// The `From:` mailbox (default `MAILER-DAEMON@<reporting_mta>`, with the display name
    /// "Mail Delivery System").
    pub fn from(mut self, mailbox: &str) -> Self {
        self.from = Some(clean_text(mailbox, 998));
        self
    }

    /// The `Subject:` (default depends on the actions: "Undelivered Mail Returned to
    /// Sender", "Delayed Mail (still being retried)" or "Delivery Status Notification").
    pub fn subject(mut self, subject: &str) -> Self {
        self.subject = Some(clean_text(subject, 998));
        self
    }

    /// The human-readable explanation (default: a short text listing the recipients).
    pub fn text(mut self, text: &str) -> Self {
        self.text = Some(text.to_owned());
        self
    }

    /// `Arrival-Date:` of the original message.
    pub fn arrival_date(mut self, date: DateTime) -> Self {
        self.arrival_date = Some(date);
        self
    }

    /// `Original-Envelope-Id:` (the ENVID parameter of the original `MAIL FROM`).
    pub fn envelope_id(mut self, envid: &str) -> Self {
        self.envelope_id = Some(clean_word(envid, 100));
        self
    }

    /// Adds a per-recipient block.
    pub fn recipient(mut self, recipient: DsnRecipient) -> Self {
        self.recipients.push(recipient);
        self
    }

    /// The original message (its header section is returned, or all of it with
    /// [`DsnBuilder::return_full`]).
    pub fn original(mut self, message: &'o [u8]) -> Self {
        self.original = message;
        self
    }

    /// Return the whole original message as `message/rfc822` (RET=FULL) instead of its
    /// header section.
    pub fn return_full(mut self, full: bool) -> Self {
        self.return_full = full;
        self
    }

    fn default_subject(&self) -> &'static str {
        if self.recipients.iter().any(|r| r.action == Action::Failed) {
            "Undelivered Mail Returned to Sender"
        } else if self.recipients.iter().any(|r| r.action == Action::Delayed) {
            "Delayed Mail (still being retried)"
        } else {
            "Delivery Status Notification"
        }
    }

    fn default_text(&self) -> String {
        let mut t = format!(
            "This is the mail system at host {}.\r\n\r\n",
            self.reporting_mta
        );
        let failed = self.recipients.iter().any(|r| r.action == Action::Failed);
        let delayed = self.recipients.iter().any(|r| r.action == Action::Delayed);
        if failed {
            t.push_str(
                "I'm sorry to have to inform you that your message could not\r\n\
                 be delivered to one or more recipients.\r\n\r\n",
            );
        } else if delayed {
            t.push_str(
                "Your message could not be delivered yet to one or more\r\n\
                 recipients. Delivery will be retried; you do not need to resend it.\r\n\r\n",
            );
        } else {
            t.push_str("This is a report about the delivery of your message.\r\n\r\n");
        }
        for r in &self.recipients {
            let addr = r
                .final_recipient
                .split_once("; ")
                .map_or(r.final_recipient.as_str(), |x| x.1);
            let mut line = format!("<{}>: {}", addr, r.action.as_str());
            if let Some(d) = &r.diagnostic {
                let _ = write!(line, ": {d}");
            }
            wrap_into(&mut t, &line, 76);
        }
        t
    }

    /// Builds the message bytes (CRLF line ends).
    pub fn build(&self) -> Result<Vec<u8>, BuildError> {
        if self.reverse_path.is_empty() {
            return Err(BuildError::NullReversePath);
        }
        if self.recipients.is_empty() {
            return Err(BuildError::NoRecipients);
        }
        if !is_dot_atom(&self.token) {
            return Err(BuildError::InvalidToken);
        }
        let message_id = super::message_id(&self.token, &self.reporting_mta)?;

        // Human-readable part.
        let text = self.text.clone().unwrap_or_else(|| self.default_text());
        let mut human = Vec::with_capacity(text.len() + 64);
        normalize_crlf(text.as_bytes(), &mut human);
        if !human.ends_with(b"\r\n") {
            human.extend_from_slice(b"\r\n");
        }
        let human_8bit = !human.is_ascii();

        // Machine-readable part.
        let mut status = String::with_capacity(512);
        if let Some(envid) = &self.envelope_id {
            let _ = write!(status, "Original-Envelope-Id: {envid}\r\n");
        }
        let _ = write!(status, "Reporting-MTA: dns; {}\r\n", self.reporting_mta);
        if let Some(d) = &self.arrival_date {
            let _ = write!(status, "Arrival-Date: {d}\r\n");
        }
        for r in &self.recipients {
            status.push_str("\r\n");
            r.write(&mut status);
        }

        // Returned content.
        let mut returned = Vec::with_capacity(self.original.len() + 2);
        let returned_type = if self.return_full {
            normalize_crlf(self.original, &mut returned);
            "message/rfc822"
        } else {
            let end = crate::header::parse_header_section(self.original, 0, usize::MAX, false)
                .map_or(self.original.len(), |s| s.body_start);
            let section = crate::header::trim_end_ws(self.original.get(..end).unwrap_or_default());
            normalize_crlf(section, &mut returned);
            "text/rfc822-headers"
        };
        if !returned.ends_with(b"\r\n") && !returned.is_empty() {
            returned.extend_from_slice(b"\r\n");
        }
        let returned_8bit = !returned.is_ascii();

        // A boundary that occurs in none of the parts.
        let base: String = self
            .token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .take(40)
            .collect();
        let mut boundary = format!("=_dsn_{base}");
        let mut n = 0u32;
        while [human.as_slice(), status.as_bytes(), returned.as_slice()]
            .iter()
            .any(|part| memmem::find(part, boundary.as_bytes()).is_some())
        {
            n += 1;
            boundary = format!("=_dsn_{base}_{n}");
        }

        let from = self.from.clone().unwrap_or_else(|| {
            format!(
                "Mail Delivery System <MAILER-DAEMON@{}>",
                self.reporting_mta
            )
        });
        let subject = self
            .subject
            .as_deref()
            .unwrap_or_else(|| self.default_subject());
        let to = clean_text(&self.reverse_path, 998).replace(['<', '>'], "");

        let mut out = String::with_capacity(1024);
        out.push_str(&fold_words("From", from.split(' ')));
        let _ = write!(out, "To: <{to}>\r\n");
        out.push_str(&fold_words(
            "Subject",
            subject.split(' ').filter(|w| !w.is_empty()),
        ));
        out.push_str(&super::date_field(&self.date));
        let _ = write!(out, "Message-ID: {message_id}\r\n");
        out.push_str("Auto-Submitted: auto-replied\r\n");
        out.push_str("MIME-Version: 1.0\r\n");
        let _ = write!(
            out,
            "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n"
        );
        out.push_str("\r\nThis is a MIME-encapsulated message.\r\n\r\n");
        let _ = write!(out, "--{boundary}\r\n");
        let _ = write!(
            out,
            "Content-Description: Notification\r\nContent-Type: text/plain; charset={}\r\n",
            if human_8bit { "utf-8" } else { "us-ascii" }
        );
        if human_8bit {
            out.push_str("Content-Transfer-Encoding: 8bit\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&human);
        let mut mid = String::with_capacity(status.len() + 256);
        let _ = write!(
            mid,
            "\r\n--{boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n{status}"
        );
        let _ = write!(
            mid,
            "\r\n--{boundary}\r\nContent-Description: Undelivered message{}\r\nContent-Type: {returned_type}\r\n",
            if self.return_full { "" } else { " headers" }
        );
        if returned_8bit {
            mid.push_str("Content-Transfer-Encoding: 8bit\r\n");
        }
        mid.push_str("\r\n");
        bytes.extend_from_slice(mid.as_bytes());
        bytes.extend_from_slice(&returned);
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Ok(bytes)
    }
}

/// Appends `text` to `out` as lines of at most `width` characters (longer words stay
/// whole), continuation lines indented by four spaces, each ending in CRLF.
fn wrap_into(out: &mut String, text: &str, width: usize) {
    let mut len = 0usize;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let wl = word.chars().count();
        if len > 0 && len + 1 + wl > width {
            out.push_str("\r\n    ");
            len = 4;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(word);
        len += wl;
    }
    out.push_str("\r\n");
}

/// Appends `input` to `out` with every line end (CRLF, bare LF, bare CR) as CRLF.
pub(super) fn normalize_crlf(input: &[u8], out: &mut Vec<u8>) {
    let mut rest = input;
    while let Some(i) = memchr::memchr2(b'\r', b'\n', rest) {
        out.extend_from_slice(rest.get(..i).unwrap_or_default());
        out.extend_from_slice(b"\r\n");
        let skip = if rest.get(i..i + 2) == Some(b"\r\n") {
            2
        } else {
            1
        };
        rest = rest.get(i + skip..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert!(valid_status("5.1.1"));
        assert!(valid_status("4.4.100"));
        assert!(!valid_status("3.1.1"));
        assert!(!valid_status("5.1"));
        assert!(!valid_status("5.1.1.1"));
        assert!(!valid_status("5.a.1"));
    }

    #[test]
    fn crlf() {
        let mut v = Vec::new();
        normalize_crlf(b"a\nb\r\nc\rd", &mut v);
        assert_eq!(v, b"a\r\nb\r\nc\r\nd");
    }

    #[test]
    fn refuses() {
        let d = DateTime::from_unix(0, 0);
        let r = DsnRecipient::new("a@b", Action::Failed, "5.0.0").unwrap();
        assert_eq!(
            DsnBuilder::new("h", "<>", d, "t")
                .recipient(r.clone())
                .build(),
            Err(BuildError::NullReversePath)
        );
        assert_eq!(
            DsnBuilder::new("h", "x@y", d, "t").build(),
            Err(BuildError::NoRecipients)
        );
        assert_eq!(
            DsnBuilder::new("h", "x@y", d, "t t").recipient(r).build(),
            Err(BuildError::InvalidToken)
        );
        assert_eq!(
            DsnRecipient::new("a@b", Action::Failed, "x").unwrap_err(),
            BuildError::InvalidStatus
        );
    }
}
