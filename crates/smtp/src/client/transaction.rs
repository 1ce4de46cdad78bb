//! A mail transaction to send (envelope and body) and what became of it.

use bytes::Bytes;

use crate::codec::command::Command;
use crate::codec::params::{Notify, Ret};
use crate::codec::path::{ForwardPath, ReversePath};
use crate::codec::reply::Reply;
use crate::codec::text::Text;

use super::UsageError;
use super::events::TransactionError;
use super::stream::BodyStream;

/// One recipient of a [`Transaction`], with its DSN parameters (sent only when the server
/// advertises DSN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The RCPT TO path.
    pub path: ForwardPath,
    /// RFC 3461 `NOTIFY`.
    pub notify: Option<Notify>,
    /// RFC 3461 `ORCPT`: the address type and the address, for example
    /// `("rfc822", "bob@example.org")`. The address is written as xtext.
    pub orcpt: Option<(String, String)>,
    /// Caller-supplied RCPT parameters ([`Recipient::with_param`]).
    pub(crate) params: Vec<EsmtpParam>,
}

impl Recipient {
    /// A recipient without DSN parameters.
    pub fn new(path: ForwardPath) -> Recipient {
        Recipient {
            path,
            notify: None,
            orcpt: None,
            params: Vec::new(),
        }
    }

    /// Adds an RCPT parameter, sent when the server advertised its keyword (or when the
    /// parameter is [forced](EsmtpParam::forced)). NOTIFY and ORCPT are set through their
    /// fields and refused here.
    ///
    /// ```
    /// use postwerk_smtp::client::{EsmtpParam, Recipient};
    /// use postwerk_smtp::codec::path::ForwardPath;
    /// let r = Recipient::new(ForwardPath::Postmaster)
    ///     .with_param(EsmtpParam::new("X-PRIORITY", Some("5")).unwrap())
    ///     .unwrap();
    /// assert_eq!(r.params().len(), 1);
    /// assert!(Recipient::new(ForwardPath::Postmaster)
    ///     .with_param(EsmtpParam::new("NOTIFY", Some("NEVER")).unwrap())
    ///     .is_err());
    /// ```
    pub fn with_param(mut self, param: EsmtpParam) -> Result<Recipient, UsageError> {
        if RESERVED_RCPT
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&param.keyword))
        {
            return Err(UsageError::ReservedParameter(param.keyword));
        }
        if self
            .params
            .iter()
            .any(|p| p.keyword.eq_ignore_ascii_case(&param.keyword))
        {
            return Err(UsageError::DuplicateParameter(param.keyword));
        }
        self.params.push(param);
        Ok(self)
    }

    /// The caller-supplied RCPT parameters.
    pub fn params(&self) -> &[EsmtpParam] {
        &self.params
    }
}

/// MAIL parameters the machine writes itself.
const RESERVED_MAIL: [&str; 6] = ["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "REQUIRETLS"];
/// RCPT parameters the machine writes itself.
const RESERVED_RCPT: [&str; 2] = ["NOTIFY", "ORCPT"];

/// A caller-supplied MAIL or RCPT parameter (RFC 5321 4.1.2):
///
/// ```text
/// esmtp-param    = esmtp-keyword ["=" esmtp-value]
/// esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
/// esmtp-value    = 1*(%d33-60 / %d62-126)
/// ```
///
/// The value is checked against `esmtp-value`, so no space, CR, LF or `=` can reach the
/// command line; [`EsmtpParam::xtext`] encodes free text (RFC 3461 4) first. The parameter
/// is sent only when the server's EHLO reply lists the keyword, unless it is
/// [`forced`](EsmtpParam::forced).
///
/// ```
/// use postwerk_smtp::client::{EsmtpParam, UsageError};
/// let p = EsmtpParam::new("MT-PRIORITY", Some("3")).unwrap();
/// assert_eq!((p.keyword(), p.value()), ("MT-PRIORITY", Some("3")));
/// assert!(matches!(EsmtpParam::new("X", Some("a b")), Err(UsageError::InvalidParameter(_))));
/// assert!(EsmtpParam::new("X\r\nRSET", None).is_err());
/// assert_eq!(EsmtpParam::xtext("X-ID", "a b=c").unwrap().value(), Some("a+20b+3Dc"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsmtpParam {
    keyword: String,
    value: Option<String>,
    forced: bool,
}

impl EsmtpParam {
    /// A parameter with a raw `esmtp-value` (already encoded as the extension wants).
    pub fn new(keyword: &str, value: Option<&str>) -> Result<EsmtpParam, UsageError> {
        let kw = keyword.as_bytes();
        let keyword_ok = kw.first().is_some_and(u8::is_ascii_alphanumeric)
            && kw.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = value
            .is_none_or(|v| !v.is_empty() && v.bytes().all(|b| matches!(b, 33..=60 | 62..=126)));
        if !keyword_ok || !value_ok {
            return Err(UsageError::InvalidParameter(
                keyword.escape_debug().to_string(),
            ));
        }
        Ok(EsmtpParam {
            keyword: keyword.to_ascii_uppercase(),
            value: value.map(str::to_owned),
            forced: false,
        })
    }

    /// A parameter whose value is `text` written as RFC 3461 xtext.
    pub fn xtext(keyword: &str, text: &str) -> Result<EsmtpParam, UsageError> {
        EsmtpParam::new(keyword, Some(&crate::codec::params::xtext_encode(text)))
    }

    /// Sends the parameter even when the server did not advertise its keyword.
    pub fn forced(mut self) -> EsmtpParam {
        self.forced = true;
        self
    }

    /// The keyword, upper-cased.
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The value as written on the wire.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// Whether the parameter is sent without the server advertising it.
    pub fn is_forced(&self) -> bool {
        self.forced
    }

    pub(crate) fn wire(&self) -> (Text, Option<Text>) {
        (
            Text::from(&self.keyword),
            self.value.as_ref().map(Text::from),
        )
    }
}

/// A message to send: the envelope (reverse path, recipients, DSN parameters) and the body.
///
/// The body is the whole message (header section and body) with CRLF line ends. The client
/// dot-stuffs it for DATA, or sends it with BDAT, and adds a final CRLF when it is missing.
/// `SIZE`, `BODY=8BITMIME` and `SMTPUTF8` are added to MAIL from what the body and the
/// addresses need and what the server offers.
///
/// ```
/// use bytes::Bytes;
/// use postwerk_smtp::client::{Recipient, Transaction};
/// use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
/// let from = ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap());
/// let to = ForwardPath::Mailbox(Mailbox::new("bob", "example.net").unwrap());
/// let tx = Transaction::new(from, Bytes::from_static(b"Subject: hi\r\n\r\nHello\r\n"))
///     .with_recipient(Recipient::new(to));
/// assert_eq!(tx.recipients().len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub(crate) reverse_path: ReversePath,
    pub(crate) recipients: Vec<Recipient>,
    pub(crate) body: Bytes,
    pub(crate) ret: Option<Ret>,
    pub(crate) envid: Option<String>,
    /// The body comes later, in chunks ([`Transaction::streaming`]).
    pub(crate) streaming: bool,
    /// The caller says the body is 8-bit (`BODY=8BITMIME`).
    pub(crate) eight_bit: bool,
    /// The size to declare with `SIZE=` for a streamed body.
    pub(crate) declared_size: Option<u64>,
    /// RFC 8689 REQUIRETLS.
    pub(crate) require_tls: bool,
    /// SMTPUTF8 asked for by the caller (a streamed body's header cannot be looked at).
    pub(crate) smtputf8: bool,
    pub(crate) mail_params: Vec<EsmtpParam>,
}

impl Transaction {
    /// A transaction from `reverse_path` with `body`, without recipients yet.
    pub fn new(reverse_path: ReversePath, body: Bytes) -> Transaction {
        Transaction {
            reverse_path,
            recipients: Vec::new(),
            body,
            ret: None,
            envid: None,
            streaming: false,
            eight_bit: false,
            declared_size: None,
            require_tls: false,
            smtputf8: false,
            mail_params: Vec::new(),
        }
    }

    /// A transaction whose body the caller supplies in chunks while it is sent, so that the
    /// whole message is never in memory: after the server is ready for the data, the
    /// machine emits [`Event::BodyWanted`](super::Event::BodyWanted) whenever its pending
    /// output is at or below the mark, and the caller answers with
    /// [`Connection::body_chunk`](super::Connection::body_chunk) or
    /// [`Connection::body_end`](super::Connection::body_end). See the
    /// [module documentation](super#streaming-a-body).
    ///
    /// With DATA the chunks are dot-stuffed across their boundaries; with BDAT (CHUNKING)
    /// each chunk is its own `BDAT n`, and the end is `BDAT 0 LAST` (or carries the final
    /// CRLF). The line-ending policy applies across chunks too; a streamed body with a
    /// bare CR or LF under [`BareLineEndings::Reject`](super::BareLineEndings::Reject), or
    /// with 8-bit octets the server cannot take, cannot be taken back once part of it is
    /// sent: the machine then closes the connection without ending the data, so the
    /// server never delivers a partial message.
    pub fn streaming(reverse_path: ReversePath) -> Transaction {
        let mut tx = Transaction::new(reverse_path, Bytes::new());
        tx.streaming = true;
        tx
    }

    /// Says the body has 8-bit octets (RFC 6152 `BODY=8BITMIME`). Needed for a
    /// [streamed](Transaction::streaming) 8-bit body, which the machine cannot look at in
    /// advance: with it, a server without 8BITMIME gets the body downgraded to 7 bits
    /// (quoted-printable text parts). A body given whole is looked at anyway.
    pub fn with_8bit(mut self) -> Transaction {
        self.eight_bit = true;
        self
    }

    /// The message size to declare with `SIZE=` (RFC 1870) for a
    /// [streamed](Transaction::streaming) body, and to check against the server's limit.
    pub fn with_size(mut self, octets: u64) -> Transaction {
        self.declared_size = Some(octets);
        self
    }

    /// Asks for SMTPUTF8 (RFC 6531) whatever the addresses and the body look like: a
    /// [streamed](Transaction::streaming) message with a UTF-8 header section needs it.
    pub fn with_smtputf8(mut self) -> Transaction {
        self.smtputf8 = true;
        self
    }

    /// RFC 8689 REQUIRETLS: the message goes only over TLS, to a server that advertises
    /// REQUIRETLS (`MAIL FROM:<..> REQUIRETLS`); otherwise the transaction fails with
    /// [`TransactionError::TlsNotActive`] or [`TransactionError::RequireTlsNotOffered`]
    /// before MAIL.
    pub fn with_require_tls(mut self) -> Transaction {
        self.require_tls = true;
        self
    }

    /// Adds a MAIL parameter, sent when the server advertised its keyword (or when the
    /// parameter is [forced](EsmtpParam::forced)). SIZE, BODY, SMTPUTF8, RET, ENVID and
    /// REQUIRETLS are written by the machine and refused here
    /// ([`UsageError::ReservedParameter`]).
    pub fn with_mail_param(mut self, param: EsmtpParam) -> Result<Transaction, UsageError> {
        if RESERVED_MAIL
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&param.keyword))
        {
            return Err(UsageError::ReservedParameter(param.keyword));
        }
        if self
            .mail_params
            .iter()
            .any(|p| p.keyword.eq_ignore_ascii_case(&param.keyword))
        {
            return Err(UsageError::DuplicateParameter(param.keyword));
        }
        self.mail_params.push(param);
        Ok(self)
    }

    /// The caller-supplied MAIL parameters.
    pub fn mail_params(&self) -> &[EsmtpParam] {
        &self.mail_params
    }

    /// True for a transaction made with [`Transaction::streaming`].
    pub fn is_streaming(&self) -> bool {
        self.streaming
    }

    /// True when REQUIRETLS was asked for.
    pub fn requires_tls(&self) -> bool {
        self.require_tls
    }

    /// Adds a recipient.
    pub fn with_recipient(mut self, recipient: Recipient) -> Transaction {
        self.recipients.push(recipient);
        self
    }

    /// Sets RFC 3461 `RET`.
    pub fn with_ret(mut self, ret: Ret) -> Transaction {
        self.ret = Some(ret);
        self
    }

    /// Sets RFC 3461 `ENVID` (written as xtext).
    pub fn with_envid(mut self, envid: impl Into<String>) -> Transaction {
        self.envid = Some(envid.into());
        self
    }

    /// The reverse path.
    pub fn reverse_path(&self) -> &ReversePath {
        &self.reverse_path
    }

    /// The recipients, in the order their RCPT commands are sent.
    pub fn recipients(&self) -> &[Recipient] {
        &self.recipients
    }

    /// RFC 3461 `RET`, if set.
    pub fn ret(&self) -> Option<Ret> {
        self.ret
    }

    /// RFC 3461 `ENVID`, if set.
    pub fn envid(&self) -> Option<&str> {
        self.envid.as_deref()
    }

    /// The message (empty for a [streamed](Transaction::streaming) one).
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// Identifies a transaction passed to [`Connection::send`](super::Connection::send).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub(crate) u64);

impl TransactionId {
    /// The number, counting from 0 in the order of `send` calls.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What a queue does with a recipient after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// The server took responsibility for the message (2xx).
    Accepted,
    /// Try again later (a 4xx reply, a timeout, a lost connection).
    TemporaryFailure,
    /// Do not try again; bounce (a 5xx reply, or a message this server cannot carry).
    PermanentFailure,
}

impl Delivery {
    /// The class of a reply: 2xx accepted, 5xx permanent, anything else temporary.
    pub fn of_reply(reply: &Reply) -> Delivery {
        match reply.code() / 100 {
            2 => Delivery::Accepted,
            5 => Delivery::PermanentFailure,
            _ => Delivery::TemporaryFailure,
        }
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    pub(crate) path: ForwardPath,
    pub(crate) rcpt: Option<Reply>,
    pub(crate) data: Option<Reply>,
    pub(crate) error: Option<TransactionError>,
    pub(crate) mail: Option<Reply>,
}

impl RecipientResult {
    /// The recipient.
    pub fn path(&self) -> &ForwardPath {
        &self.path
    }

    /// The whole reply to this recipient's RCPT, when one arrived.
    pub fn rcpt_reply(&self) -> Option<&Reply> {
        self.rcpt.as_ref()
    }

    /// The reply after the data that applies to this recipient: the per-recipient reply in
    /// LMTP, else the one reply to the end of data (or the failed DATA/BDAT command).
    pub fn data_reply(&self) -> Option<&Reply> {
        self.data.as_ref()
    }

    /// Why the recipient failed without a reply of its own, if it did.
    pub fn error(&self) -> Option<&TransactionError> {
        self.error.as_ref()
    }

    /// The reply that decided this recipient's fate: the failed MAIL or RCPT reply, else the
    /// data reply. `None` when the failure came from [`RecipientResult::error`].
    pub fn deciding_reply(&self) -> Option<&Reply> {
        if let Some(mail) = self.mail.as_ref().filter(|r| !r.is_positive()) {
            return Some(mail);
        }
        match &self.rcpt {
            Some(r) if !r.is_positive() => Some(r),
            Some(_) => self.data.as_ref(),
            None => None,
        }
    }

    /// Accepted, temporary or permanent failure, for a queue to act on.
    pub fn delivery(&self) -> Delivery {
        if let Some(reply) = self.deciding_reply() {
            return Delivery::of_reply(reply);
        }
        match &self.error {
            Some(e) => e.delivery(),
            // An accepted RCPT without a data reply: the connection went away.
            None => Delivery::TemporaryFailure,
        }
    }
}

/// The outcome of one transaction, reported by
/// [`Event::TransactionDone`](super::Event::TransactionDone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionResult {
    pub(crate) id: TransactionId,
    pub(crate) mail: Option<Reply>,
    pub(crate) data: Option<Reply>,
    pub(crate) recipients: Vec<RecipientResult>,
    pub(crate) error: Option<TransactionError>,
}

impl TransactionResult {
    /// Which transaction this is.
    pub fn id(&self) -> TransactionId {
        self.id
    }

    /// The reply to MAIL, when one arrived.
    pub fn mail_reply(&self) -> Option<&Reply> {
        self.mail.as_ref()
    }

    /// The reply to DATA when it was refused, else the reply to the end of data (or to the
    /// last BDAT). In LMTP, the per-recipient replies are in [`RecipientResult::data_reply`]
    /// and this holds the first of them.
    pub fn data_reply(&self) -> Option<&Reply> {
        self.data.as_ref()
    }

    /// One result per recipient, in the order given.
    pub fn recipients(&self) -> &[RecipientResult] {
        &self.recipients
    }

    /// Why the whole transaction failed without (all of) its replies, if it did.
    pub fn error(&self) -> Option<&TransactionError> {
        self.error.as_ref()
    }

    /// True when every recipient was accepted.
    pub fn all_accepted(&self) -> bool {
        !self.recipients.is_empty()
            && self
                .recipients
                .iter()
                .all(|r| r.delivery() == Delivery::Accepted)
    }
}

/// A transaction in progress: the prepared commands and the replies so far.
#[derive(Debug)]
pub(crate) struct Active {
    pub(crate) id: TransactionId,
    pub(crate) tx: Transaction,
    pub(crate) results: Vec<RecipientResult>,
    pub(crate) mail: Option<Reply>,
    pub(crate) data: Option<Reply>,
    /// MAIL with its parameters, once prepared.
    pub(crate) mail_cmd: Option<Command>,
    /// The RCPTs to send: recipient index and command (recipients failed locally have none).
    pub(crate) rcpts: Vec<(usize, Command)>,
    /// How many of `rcpts` went out (without pipelining).
    pub(crate) next_rcpt: usize,
    /// The body after the line-ending policy, with a final CRLF.
    pub(crate) body: Bytes,
    /// Send the body with BDAT.
    pub(crate) bdat: bool,
    /// MAIL, RCPTs and DATA go out in one flight.
    pub(crate) pipelined: bool,
    /// LMTP: one data reply per accepted recipient; how many came.
    pub(crate) lmtp: bool,
    pub(crate) lmtp_next: usize,
    /// A streamed body's state.
    pub(crate) stream: Option<BodyStream>,
}

impl Active {
    pub(crate) fn new(id: TransactionId, tx: Transaction) -> Active {
        let results = tx
            .recipients
            .iter()
            .map(|r| RecipientResult {
                path: r.path.clone(),
                rcpt: None,
                data: None,
                error: None,
                mail: None,
            })
            .collect();
        Active {
            id,
            results,
            mail: None,
            data: None,
            mail_cmd: None,
            rcpts: Vec::new(),
            next_rcpt: 0,
            body: tx.body.clone(),
            bdat: false,
            pipelined: false,
            lmtp: false,
            lmtp_next: 0,
            stream: None,
            tx,
        }
    }

    /// True when MAIL was accepted.
    pub(crate) fn mail_ok(&self) -> bool {
        self.mail.as_ref().is_some_and(Reply::is_positive)
    }

    /// Recipient indexes whose RCPT was accepted, in order.
    pub(crate) fn accepted(&self) -> Vec<usize> {
        self.results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.rcpt.as_ref().is_some_and(Reply::is_positive))
            .map(|(i, _)| i)
            .collect()
    }

    /// Ends the transaction: hands the shared replies to each recipient, and `error` to
    /// those whose fate no reply decided.
    pub(crate) fn finish(mut self, error: Option<TransactionError>) -> TransactionResult {
        for r in &mut self.results {
            r.mail.clone_from(&self.mail);
            if !self.lmtp && r.data.is_none() && r.rcpt.as_ref().is_some_and(Reply::is_positive) {
                r.data.clone_from(&self.data);
            }
            let decided = r
                .deciding_reply()
                .is_some_and(|d| !d.is_positive() || r.data.is_some());
            if !decided && r.error.is_none() {
                r.error.clone_from(&error);
            }
        }
        TransactionResult {
            id: self.id,
            mail: self.mail,
            data: self.data,
            recipients: self.results,
            error,
        }
    }
}
