//! The SMTP listeners (MX role and submission): the driver loop around
//! `postwerk_smtp::server::Connection`, and the policy that answers its events.
//!
//! Policy: the MX role takes mail for local users from anyone, and for other destinations
//! only after a login (554 5.7.1 otherwise); unknown local users get 550 5.1.1 at RCPT.
//! Submission needs a login before MAIL (530 5.7.0, the machine's `auth_required`), and
//! the sender must be one of the user's addresses (553 5.7.1). Every message is written to
//! the queue and fsync'd before the 250; a `Received:` field is added in front of it, and a
//! message that already carries too many of them is refused as a loop (554 5.4.6). When
//! the disk is nearly full, MAIL and the end of data get 452 4.3.1.
//!
//! Limits fail closed (SECURITY.md 46): the header section is scanned as it streams by,
//! counting field names up to the blank line without parsing, so `Received:` fields are
//! counted even when the rest of the header is malformed, and a message with more than
//! `[limits] max_header_fields` fields is refused with 552 5.3.4.
//!
//! AUTH is offered on the MX listener only with `[smtp] auth = true` (SECURITY.md 43);
//! every password check goes through the login budget (SECURITY.md 42). The MX listener
//! pauses its greeting for client addresses not seen recently (SECURITY.md 51).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use postwerk_message::DateTime;
use postwerk_message::build::{Protocol, ReceivedBuilder};
use postwerk_smtp::codec::path::{ForwardPath, ReversePath};
use postwerk_smtp::codec::reply::{EnhancedStatus, Reply};
use postwerk_smtp::sasl::server::{Answer, Verify};
use postwerk_smtp::server::{Config, Connection, Decision, Event, RequestId};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::clock::unix_now;
use crate::config::{DmarcAction, Role, SpfAction};
use crate::driver::{Driver, Step};
use crate::listen::{App, Slot};
use crate::login_budget::Verdict;
use crate::net::Stream;
use crate::queue::{Envelope, Incoming, RcptDsn};
use crate::sender_auth::{Received, Submitted};
use crate::users::Lookup;
use postwerk_auth::dmarc::{Disposition, DmarcError, DmarcResult, Policy};
use postwerk_auth::results::MethodResult;
use postwerk_auth::spf::{SpfOutput, SpfResult};
use postwerk_smtp::codec::params::Ret;

/// What the driver knows about the session beyond the machine.
struct Session {
    app: Arc<App>,
    role: Role,
    peer: SocketAddr,
    helo: String,
    extended: bool,
    tls: bool,
    user: Option<String>,
    from: Option<String>,
    recipients: Vec<String>,
    /// RFC 3461 parameters of the transaction: RET and ENVID from MAIL, NOTIFY and ORCPT
    /// of each accepted recipient.
    ret: Option<Ret>,
    envid: Option<String>,
    rcpt_dsn: Vec<RcptDsn>,
    message: Option<Message>,
    /// The SPF result of the current transaction (MX port, unauthenticated).
    spf: Option<SpfOutput>,
    /// The SPF result of the HELO identity (RFC 7208 2.3), once checked for this HELO.
    helo_spf: Option<Option<SpfOutput>>,
}

/// The outcome of the MX port's checks of one message.
struct Checked {
    /// The `Authentication-Results:` field to put on top.
    field: String,
    /// The reply when the message is refused.
    refusal: Option<Reply>,
}

/// A message being received.
struct Message {
    incoming: Option<Incoming>,
    header: HeaderScan,
    failed: bool,
    /// Octets of our `Received:` field at the start of the queued content.
    trace_len: u64,
    /// The envelope the queue file was started with.
    envelope: Envelope,
    /// Signing (authenticated senders) or checking (the MX port) as it streams.
    auth: MessageAuth,
}

/// What sender authentication does with a message being received.
enum MessageAuth {
    /// An authenticated sender: `Date:`/`Message-ID:` when missing, DKIM signatures.
    Submitted(Box<Submitted>),
    /// The MX port: DKIM verified, SPF and DMARC results recorded.
    Received(Box<Received>),
}

/// Counts the header fields and `Received:` fields of a message as its bytes stream by,
/// up to the blank line that ends the header section. Nothing is parsed or kept: a line
/// that starts with neither space nor tab starts a field, and its name is what comes
/// before the colon (white space before the colon tolerated, RFC 5322 4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct HeaderScan {
    /// The blank line was seen.
    done: bool,
    /// Inside a line (not at its start).
    in_line: bool,
    /// At the start of a line, a CR was seen (a blank line if LF follows).
    cr_at_start: bool,
    /// Reading a field name: its first bytes (enough for "Received").
    name: Option<([u8; 16], usize)>,
    /// Header fields seen.
    fields: usize,
    /// `Received:` fields seen.
    received: usize,
}

impl HeaderScan {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.done {
                return;
            }
            if self.cr_at_start {
                self.cr_at_start = false;
                if b == b'\n' {
                    self.done = true;
                    continue;
                }
                // A line starting with a bare CR: junk, counted as a field.
                self.fields += 1;
                self.in_line = true;
            }
            if !self.in_line {
                match b {
                    b'\r' => {
                        self.cr_at_start = true;
                        continue;
                    }
                    b'\n' => {
                        self.done = true;
                        continue;
                    }
                    b' ' | b'\t' => {}
                    _ => {
                        self.fields += 1;
                        self.name = Some(([0; 16], 0));
                    }
                }
                self.in_line = true;
            }
            if b == b'\n' {
                self.in_line = false;
                self.name = None;
                continue;
            }
            if let Some((name, len)) = &mut self.name {
                if b == b':' {
                    let full = name.get(..*len).unwrap_or_default();
                    let trimmed = full.trim_ascii_end();
                    if trimmed.eq_ignore_ascii_case(b"received") {
                        self.received += 1;
                    }
                    self.name = None;
                } else if let Some(slot) = name.get_mut(*len) {
                    *slot = b;
                    *len += 1;
                } else {
                    // Longer than any name we look for.
                    self.name = None;
                }
            }
        }
    }
}

/// Serves one SMTP connection to its end. `slot` (the connection's place under the caps)
/// is given back as soon as the session is closing, before its last reply is written.
pub async fn session(
    app: Arc<App>,
    role: Role,
    mut stream: Stream,
    peer: SocketAddr,
    local: Option<SocketAddr>,
    slot: Slot,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut slot = Some(slot);
    let pause = if role == Role::Smtp {
        app.pregreet.pause_for(peer.ip(), Instant::now())
    } else {
        Duration::ZERO
    };
    let mut greeted = false;
    let config = machine_config(&app, role, stream.is_tls(), pause);
    let mut conn = Connection::new(config, Instant::now());
    if stream.is_tls() {
        conn.set_tls_active();
    }
    // AUTH is offered only inside TLS unless `allow_plaintext_auth`: the session starts
    // without mechanisms and gets them when STARTTLS completes (the machine answers an
    // AUTH before that with 538 5.7.11).
    let mechanisms = conn.settings().sasl.clone();
    let auth_after_tls = !stream.is_tls() && !app.config.allow_plaintext_auth;
    if auth_after_tls {
        conn.settings_mut().sasl = Arc::new(postwerk_smtp::sasl::server::ServerMechanisms::new());
    }
    let mut s = Session {
        app: app.clone(),
        role,
        peer,
        helo: String::new(),
        extended: false,
        tls: stream.is_tls(),
        user: None,
        from: None,
        recipients: Vec::new(),
        ret: None,
        envid: None,
        rcpt_dsn: Vec::new(),
        message: None,
        spf: None,
        helo_spf: None,
    };
    info!(role = role.name(), %peer, local = ?local, tls = s.tls, "smtp connection");
    let write_limit = Duration::from_secs(app.config.limits.command_timeout_secs);
    let mut driver = Driver::new(64 * 1024, write_limit);
    loop {
        // A transaction being received is finished (or times out) before a shutdown.
        let stop = s.message.is_none().then_some(&mut shutdown);
        let event = match driver.step(&mut conn, &mut stream, false, stop).await {
            Step::Event(event) => event,
            Step::Idle => continue,
            Step::Closed | Step::Stopped | Step::Failed(_) => break,
        };
        if !greeted && !matches!(event, Event::Closing(_)) {
            // The client waited for the greeting before it said anything.
            greeted = true;
            if !pause.is_zero() {
                app.pregreet.pass(peer.ip(), Instant::now());
            }
        }
        if let Event::StartTls = event {
            if let Err(e) = driver
                .accept_tls(&mut conn, &mut stream, app.tls.clone())
                .await
            {
                info!(%peer, error = %e, "STARTTLS handshake failed");
                break;
            }
            s.tls = true;
            s.user = None;
            let _ = conn.tls_established(Instant::now());
            if auth_after_tls {
                conn.settings_mut().sasl = mechanisms.clone();
            }
            continue;
        }
        if let Event::Closing(reason) = &event {
            if *reason == postwerk_smtp::server::CloseReason::EarlyTalker {
                app.pregreet.fail(peer.ip());
            }
            // The slot is free before the last reply reaches the client.
            slot = None;
        }
        s.event(&mut conn, event).await;
    }
    s.abort();
    drop(slot);
    let _ = stream.shutdown().await;
    info!(role = role.name(), %peer, "smtp connection closed");
}

fn machine_config(app: &App, role: Role, implicit_tls: bool, pregreet: Duration) -> Config {
    let limits = &app.config.limits;
    let mut config = Config::new(app.config.hostname.clone());
    config.greeting = "ESMTP post-office".into();
    config.extensions.starttls = !implicit_tls;
    config.allow_plaintext_auth = app.config.allow_plaintext_auth;
    config.auth_required = matches!(role, Role::Submission | Role::Submissions);
    if role == Role::Smtp && !app.config.smtp.auth {
        // SECURITY.md 43: no AUTH on the MX port unless the operator turns it on.
        config.sasl = Arc::new(postwerk_smtp::sasl::server::ServerMechanisms::new());
    }
    config.limits.max_message_size = limits.max_message_size;
    config.limits.max_recipients = limits.max_recipients;
    config.limits.max_errors = u32::try_from(limits.max_errors).unwrap_or(u32::MAX);
    config.timeouts.command = Duration::from_secs(limits.command_timeout_secs);
    config.timeouts.data = Duration::from_secs(limits.data_timeout_secs);
    config.timeouts.greeting_delay = Duration::from_millis(limits.greeting_delay_ms).max(pregreet);
    config
}

fn reply(code: u16, status: (u8, u16, u16), text: &str) -> Reply {
    Reply::new(
        code,
        Some(EnhancedStatus::new(status.0, status.1, status.2)),
        text,
    )
}

impl Session {
    fn submission(&self) -> bool {
        matches!(self.role, Role::Submission | Role::Submissions)
    }

    async fn event(&mut self, conn: &mut Connection, event: Event) {
        match event {
            Event::Helo { domain, extended } => {
                self.helo = domain.into_string();
                self.extended = extended;
                self.helo_spf = None;
            }
            Event::Mail {
                id, from, params, ..
            } => {
                let decision = self.mail(&from).await;
                if matches!(decision, Decision::Accept) {
                    self.ret = params.ret;
                    self.envid = params.envid.map(String::from);
                }
                answer(conn, id, decision);
            }
            Event::Rcpt { id, to, params } => {
                let decision = self.rcpt(&to);
                if matches!(decision, Decision::Accept) {
                    self.rcpt_dsn.push(RcptDsn {
                        notify: params.notify,
                        orcpt: params
                            .orcpt
                            .map(|(t, a)| (t.into_string(), a.into_string())),
                    });
                }
                answer(conn, id, decision);
            }
            Event::SaslVerify {
                id,
                request:
                    Verify::Password {
                        authcid,
                        authzid,
                        password,
                        ..
                    },
            } => {
                let authzid = authzid.unwrap_or_default();
                let password = password.expose().as_bytes().to_vec();
                match self.auth(authzid, authcid, password).await {
                    Decision::Accept => {
                        if let Err(e) = conn.answer_sasl(id, Answer::Accept, Instant::now()) {
                            warn!(error = %e, "SASL answer refused");
                        }
                    }
                    decision => answer(conn, id, decision),
                }
            }
            Event::SaslVerify { id, .. } => {
                // Only password mechanisms are offered.
                if let Err(e) = conn.answer_sasl(id, Answer::Reject, Instant::now()) {
                    warn!(error = %e, "SASL answer refused");
                }
            }
            Event::Login { id, credentials } => {
                // The credentials were checked at SaslVerify; `self.user` is set.
                let decision = match &self.user {
                    Some(_) => Decision::Accept,
                    None => {
                        info!(peer = %self.peer, login = credentials.identity(), "login without a verified user");
                        Decision::Reject(Reply::auth_invalid_credentials())
                    }
                };
                answer(conn, id, decision);
            }
            Event::Vrfy { id, .. } => answer(conn, id, Decision::Accept),
            Event::DataStart => self.data_start(),
            Event::BodyChunk(chunk) => self.body(&chunk),
            Event::DataEnd { id, envelope, .. } => {
                let count = envelope.recipients.len();
                let decision = self.data_end(count).await;
                answer(conn, id, decision);
            }
            Event::DataAborted(reason) => {
                info!(peer = %self.peer, ?reason, "message aborted");
                self.abort();
            }
            Event::Reset => {
                self.abort();
                self.spf = None;
                self.rcpt_dsn.clear();
                (self.ret, self.envid) = (None, None);
                self.from = None;
                self.recipients.clear();
            }
            Event::Closing(reason) => {
                info!(peer = %self.peer, ?reason, "closing");
            }
            _ => {}
        }
    }

    async fn mail(&mut self, from: &ReversePath) -> Decision {
        self.abort();
        self.recipients.clear();
        self.rcpt_dsn.clear();
        (self.ret, self.envid) = (None, None);
        let address = from.mailbox().map(|m| m.to_string()).unwrap_or_default();
        if let Some(user) = &self.user {
            if !self.app.users.may_send_as(user, &address) {
                info!(peer = %self.peer, user, from = address, "sender refused: not the user's address");
                return Decision::Reject(reply(
                    553,
                    (5, 7, 1),
                    "Sender address not owned by the authenticated user",
                ));
            }
        } else if self.submission() {
            return Decision::Reject(Reply::auth_required());
        }
        if !self.disk_has_room() {
            return Decision::Reject(reply(452, (4, 3, 1), "Insufficient system storage"));
        }
        self.spf = None;
        if self.role == Role::Smtp && self.user.is_none() {
            let (ip, app) = (self.peer.ip(), &self.app);
            // The HELO identity once per HELO (RFC 7208 2.3); with a null sender the
            // MAIL FROM check is the HELO check already.
            let check_helo = self.helo_spf.is_none() && !address.is_empty();
            let (spf, helo_spf) = tokio::join!(
                crate::sender_auth::check_spf(app, ip, &address, &self.helo),
                async {
                    if check_helo {
                        Some(crate::sender_auth::check_spf_helo(app, ip, &self.helo).await)
                    } else {
                        None
                    }
                }
            );
            if let Some(helo_spf) = helo_spf {
                if let Some(h) = &helo_spf {
                    info!(peer = %self.peer, helo = self.helo, spf = h.result.as_str(), "SPF (HELO)");
                }
                self.helo_spf = Some(helo_spf);
            }
            if let Some(spf) = &spf {
                info!(peer = %self.peer, from = address, spf = spf.result.as_str(), domain = spf.domain, "SPF");
            }
            if self.app.config.auth.spf == SpfAction::RejectFail {
                let helo = self.helo_spf.as_ref().and_then(Option::as_ref);
                // A failing HELO identity is refused first (RFC 7208 2.3), then MAIL FROM.
                if let Some(failed) = helo
                    .into_iter()
                    .chain(spf.as_ref())
                    .find(|o| o.result == SpfResult::Fail)
                {
                    return Decision::Reject(reply(550, (5, 7, 23), &spf_refusal(failed)));
                }
            }
            self.spf = spf;
        }
        self.from = Some(address);
        Decision::Accept
    }

    fn rcpt(&mut self, to: &ForwardPath) -> Decision {
        let users = &self.app.users;
        let (address, lookup) = match to {
            ForwardPath::Postmaster => {
                let domain = self.app.config.domains.first().cloned().unwrap_or_default();
                let address = format!("postmaster@{domain}");
                let lookup = users.lookup_address(&address);
                (address, lookup)
            }
            ForwardPath::Mailbox(m) => (m.to_string(), users.lookup(m.local_part(), m.domain())),
        };
        let decision = match lookup {
            Lookup::Mailbox(_) => Decision::Accept,
            Lookup::Unknown => Decision::Reject(reply(550, (5, 1, 1), "No such user here")),
            Lookup::Routing => {
                Decision::Reject(reply(550, (5, 7, 1), "Source routing is not accepted"))
            }
            Lookup::NotLocal if self.user.is_some() => Decision::Accept,
            Lookup::NotLocal => Decision::Reject(Reply::relay_denied()),
        };
        if matches!(decision, Decision::Accept) {
            self.recipients.push(address);
        } else {
            info!(peer = %self.peer, to = address, "recipient refused");
        }
        decision
    }

    async fn auth(&mut self, authzid: String, authcid: String, password: Vec<u8>) -> Decision {
        if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(&authcid) {
            return Decision::Reject(Reply::auth_invalid_credentials());
        }
        let users = self.app.users.clone();
        let login = authcid.clone();
        let checked = self
            .app
            .login
            .check(self.peer.ip(), move || users.verify(&login, &password))
            .await;
        match checked {
            Verdict::Accepted(user) => {
                info!(peer = %self.peer, user, "authenticated");
                self.user = Some(user);
                Decision::Accept
            }
            Verdict::Rejected => {
                info!(peer = %self.peer, login = authcid, "authentication failed");
                Decision::Reject(Reply::auth_invalid_credentials())
            }
            Verdict::Busy => {
                info!(peer = %self.peer, login = authcid, "login budget exhausted");
                Decision::Reject(Reply::auth_temporary_failure())
            }
        }
    }

    fn data_start(&mut self) {
        let envelope = Envelope {
            from: self.from.clone().unwrap_or_default(),
            recipients: self.recipients.clone(),
            received_at: unix_now(),
            ret: self.ret,
            envid: self.envid.clone(),
            rcpt_dsn: self.rcpt_dsn.clone(),
        };
        let auth = if self.user.is_some() {
            MessageAuth::Submitted(Box::new(Submitted::new(&self.app.dkim)))
        } else {
            MessageAuth::Received(Box::default())
        };
        let mut message = Message {
            incoming: None,
            header: HeaderScan::default(),
            failed: false,
            trace_len: 0,
            envelope: envelope.clone(),
            auth,
        };
        match self.app.store.begin(&envelope) {
            Ok(mut incoming) => {
                let protocol = Protocol::for_session(
                    false,
                    self.extended,
                    self.tls,
                    self.user.is_some(),
                    false,
                );
                let mut received = ReceivedBuilder::new(
                    &self.app.config.hostname,
                    DateTime::from_unix(unix_now() as i64, 0),
                )
                .from(&self.helo, None, Some(self.peer.ip()))
                .with(protocol)
                .id(incoming.id());
                if let [only] = self.recipients.as_slice() {
                    received = received.for_path(only);
                }
                let trace = received.to_field();
                message.trace_len = trace.len() as u64;
                if incoming.write(trace.as_bytes()).is_err() {
                    message.failed = true;
                }
                message.incoming = Some(incoming);
            }
            Err(e) => {
                warn!(error = %e, "cannot create a queue file");
                message.failed = true;
            }
        }
        self.message = Some(message);
    }

    fn body(&mut self, chunk: &Bytes) {
        let Some(message) = &mut self.message else {
            return;
        };
        message.header.feed(chunk);
        match &mut message.auth {
            MessageAuth::Submitted(s) => s.feed(chunk),
            MessageAuth::Received(r) => r.feed(chunk),
        }
        if let Some(incoming) = &mut message.incoming
            && incoming.write(chunk).is_err()
        {
            message.failed = true;
        }
    }

    async fn data_end(&mut self, machine_recipients: usize) -> Decision {
        let Some(mut message) = self.message.take() else {
            return Decision::Reject(reply(451, (4, 3, 0), "Local error in processing"));
        };
        let incoming = message.incoming.take();
        let Some(incoming) =
            incoming.filter(|_| !message.failed && machine_recipients == self.recipients.len())
        else {
            warn!(peer = %self.peer, "message could not be written to the queue");
            return Decision::Reject(reply(451, (4, 3, 0), "Local error in processing"));
        };
        let hops = message.header.received;
        if hops >= self.app.config.queue.max_received {
            incoming.abort();
            info!(peer = %self.peer, hops, "refused: mail loop");
            return Decision::Reject(reply(554, (5, 4, 6), "Too many hops: mail loop detected"));
        }
        let fields = message.header.fields;
        if fields > self.app.config.limits.max_header_fields {
            incoming.abort();
            info!(peer = %self.peer, fields, "refused: too many header fields");
            return Decision::Reject(reply(552, (5, 3, 4), "Message header has too many fields"));
        }
        let header_overflow = match &message.auth {
            MessageAuth::Submitted(s) => s.overflow(),
            MessageAuth::Received(r) => r.overflow(),
        };
        if header_overflow {
            incoming.abort();
            info!(peer = %self.peer, "refused: header too large");
            return Decision::Reject(reply(552, (5, 3, 4), "Message header too large"));
        }
        if !self.disk_has_room() {
            incoming.abort();
            return Decision::Reject(reply(452, (4, 3, 1), "Insufficient system storage"));
        }
        let now = unix_now();
        let (at, insert, drop) = match message.auth {
            MessageAuth::Submitted(submitted) => {
                let message_id = format!("{}@{}", incoming.id(), self.app.config.hostname);
                let insert = submitted.finish(&self.app.dkim, now, &message_id);
                (message.trace_len, insert, Vec::new())
            }
            MessageAuth::Received(mut received) => {
                let verdict = self.check_received(&mut received, now).await;
                if let Some(refusal) = verdict.refusal {
                    incoming.abort();
                    info!(peer = %self.peer, from = self.from.as_deref().unwrap_or(""), "refused: DMARC p=reject not met");
                    return Decision::Reject(refusal);
                }
                let trace = message.trace_len;
                let drop = received
                    .forged_results(&self.app.config.hostname)
                    .into_iter()
                    .map(|r| r.start + trace..r.end + trace)
                    .collect();
                let mut insert = verdict.field.into_bytes();
                // The MAIL FROM result as a trace field too (RFC 7208 9.1), above ours.
                if let Some(spf) = &self.spf {
                    let field = spf.received_spf(
                        &self.app.config.hostname,
                        self.peer.ip(),
                        self.from.as_deref().unwrap_or(""),
                        &self.helo,
                    );
                    insert.extend_from_slice(field.as_bytes());
                }
                (0, insert, drop)
            }
        };
        let envelope = message.envelope;
        let size = incoming.len() + insert.len() as u64;
        let store = self.app.store.clone();
        let rewritten = if insert.is_empty() && drop.is_empty() {
            Ok(incoming)
        } else if incoming.in_memory() {
            // Memory only: no blocking-pool trip.
            store.rewrite(incoming, &envelope, at, &insert, &drop)
        } else {
            tokio::task::spawn_blocking(move || {
                store.rewrite(incoming, &envelope, at, &insert, &drop)
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
        };
        let committed = match rewritten {
            Ok(incoming) => self.app.store.commit_async(incoming).await,
            Err(e) => Err(e),
        };
        match committed {
            Ok(id) => {
                info!(
                    queue_id = id,
                    peer = %self.peer,
                    role = self.role.name(),
                    user = self.user.as_deref().unwrap_or("-"),
                    from = self.from.as_deref().unwrap_or(""),
                    to = self.recipients.join(","),
                    size,
                    "message accepted"
                );
                let _ = self.app.queue_tx.send(id.clone());
                crate::metrics::count(&crate::metrics::METRICS.accepted);
                self.from = None;
                self.recipients.clear();
                self.rcpt_dsn.clear();
                Decision::AcceptWith(Reply::message_accepted(Some(&id)))
            }
            _ => {
                warn!(peer = %self.peer, "queue commit failed");
                Decision::Reject(reply(451, (4, 3, 0), "Local error in processing"))
            }
        }
    }

    /// The MX port's checks at the end of DATA: DKIM (DMARC and SPF come with them), the
    /// `Authentication-Results:` field, and a refusal when the policy says so.
    async fn check_received(&self, received: &mut Received, now: u64) -> Checked {
        let dkim = received.verify_dkim(&self.app.resolver, now).await;
        let mut methods: Vec<MethodResult> = dkim.iter().map(MethodResult::dkim).collect();
        if methods.is_empty() {
            methods.extend(MethodResult::new("dkim", "none"));
        }
        if let Some(spf) = &self.spf {
            methods.extend(crate::sender_auth::spf_method(
                spf,
                self.from.as_deref().unwrap_or(""),
            ));
        }
        if let Some(Some(helo)) = &self.helo_spf
            && helo.result != SpfResult::None
        {
            methods.extend(crate::sender_auth::spf_method(helo, ""));
        }
        let dmarc =
            crate::sender_auth::check_dmarc(&self.app, received.header(), self.spf.as_ref(), &dkim)
                .await;
        let Some(dmarc) = dmarc else {
            let field = crate::sender_auth::results_field(&self.app.config.hostname, methods);
            return Checked {
                field,
                refusal: None,
            };
        };
        methods.push(dmarc.method_result());
        let field = crate::sender_auth::results_field(&self.app.config.hostname, methods);
        info!(
            peer = %self.peer,
            dmarc = dmarc.status.as_str(),
            header_from = dmarc.header_from(),
            disposition = dmarc.disposition().as_str(),
            "DMARC"
        );
        let refusal = (self.app.config.auth.dmarc == DmarcAction::Enforce)
            .then(|| dmarc_refusal(&dmarc))
            .flatten();
        Checked { field, refusal }
    }

    fn disk_has_room(&self) -> bool {
        let min = self.app.config.limits.min_free_bytes;
        self.app.store.free_bytes().is_ok_and(|free| free >= min)
    }

    /// Drops a message being received (never acknowledged).
    fn abort(&mut self) {
        if let Some(incoming) = self.message.take().and_then(|m| m.incoming) {
            incoming.abort();
        }
    }
}

/// The reply that refuses a message under `[auth] dmarc = "enforce"`: a DMARC failure
/// under `p=reject` (RFC 9989 5.3.6), and a message whose author is ambiguous (several
/// `From:` fields or author domains, RFC 9989 11.5), the classic way around a `p=reject`
/// policy. A message without any usable author domain is only recorded.
/// The text of a `550 5.7.23` for an SPF `fail`: the explanation from the sender's DNS,
/// printable ASCII only and short enough for a reply line (RFC 5321 4.5.3.1.5).
fn spf_refusal(spf: &SpfOutput) -> String {
    spf.explanation
        .as_deref()
        .map(|e| {
            e.chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(200)
                .collect::<String>()
        })
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| format!("SPF check failed for {}", spf.domain))
}

fn dmarc_refusal(dmarc: &DmarcResult) -> Option<Reply> {
    if dmarc.disposition() != Disposition::Reject {
        return None;
    }
    let ambiguous = matches!(
        dmarc.error,
        Some(
            DmarcError::MultipleFromFields(_)
                | DmarcError::MultipleAuthorDomains(_)
                | DmarcError::TooManyAuthorDomains(_)
        )
    );
    if ambiguous {
        let text = "Message refused: several authors in From (DMARC)";
        return Some(reply(550, (5, 7, 1), text));
    }
    (dmarc.applied_policy() == Some(Policy::Reject)).then(|| {
        let domain = dmarc
            .policy_domain
            .as_deref()
            .unwrap_or_else(|| dmarc.header_from());
        let text = format!("Message refused: DMARC policy of {domain} (p=reject) not met");
        reply(550, (5, 7, 1), &text)
    })
}

fn answer(conn: &mut Connection, id: RequestId, decision: Decision) {
    if let Err(e) = conn.respond(id, decision, Instant::now()) {
        warn!(error = %e, "the SMTP machine refused a decision");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(parts: &[&[u8]]) -> HeaderScan {
        let mut scan = HeaderScan::default();
        for part in parts {
            scan.feed(part);
        }
        scan
    }

    #[test]
    fn received_fields_are_counted_in_the_header_only() {
        let mut header = Vec::new();
        for i in 0..3 {
            header.extend_from_slice(
                format!("Received: from a{i} by b; Sat, 28 Nov 2026 20:51:10 +0000\r\n").as_bytes(),
            );
        }
        header.extend_from_slice(b"Subject: x\r\n\r\nReceived: not a header\r\n");
        let s = scan(&[&header]);
        assert_eq!((s.received, s.fields, s.done), (3, 4, true));
        let s = scan(&[b"Subject: none\r\n\r\n"]);
        assert_eq!((s.received, s.fields), (0, 1));
        let s = scan(&[b"\r\nReceived: body\r\n"]);
        assert_eq!((s.received, s.fields, s.done), (0, 0, true));
    }

    #[test]
    fn received_fields_are_counted_in_an_unparseable_header() {
        // Folded fields, a name with white space before the colon, lines without a colon,
        // 8-bit junk and NUL: nothing here parses, the Received fields still count.
        let header: &[u8] =
            b"RECEIVED : from a\r\n\tby b\r\nno colon at all\r\n\xff\x00junk: \xfe\r\n\
            received:x\r\nReceivedX: no\r\nX-Received: no\r\n\r\n";
        let whole = scan(&[header]);
        assert_eq!((whole.received, whole.fields, whole.done), (2, 6, true));
        // The same at every split of the input.
        for i in 0..=header.len() {
            let (a, b) = header.split_at(i);
            assert_eq!(scan(&[a, b]), whole, "split at {i}");
        }
    }

    #[test]
    fn fields_are_counted_past_any_parser_limit() {
        let mut header = Vec::new();
        for i in 0..1100 {
            header.extend_from_slice(format!("X-F{i}: v\r\n").as_bytes());
        }
        for _ in 0..60 {
            header.extend_from_slice(b"Received: from x by y; Sat, 28 Nov 2026 20:51:10 +0000\r\n");
        }
        header.extend_from_slice(b"\r\nbody\r\n");
        let s = scan(&[&header]);
        assert_eq!((s.fields, s.received), (1160, 60));
    }
}
