//! The SMTP client driver: outbound sessions to MX hosts (and the smarthost, and the
//! LMTP agent), run by the postwerk-smtp client machine.
//!
//! A session carries one transaction after another: after each, it is parked in the
//! [`SessionCache`] for the next message to the same server, which takes it instead of
//! connecting again (the machine says RSET first when needed). When the server has ended
//! a parked session, the answer to RSET or MAIL (or the socket) tells before anything of
//! the message went out, and a new session is opened; that is no failed attempt.
//!
//! Every step has a deadline (RFC 5321 4.5.3.2, SECURITY.md 44), from `[outbound]`: the TCP
//! connect, the TLS handshake and each write here in the driver, the greeting and each
//! reply in the machine (its timers, honoured through `poll_timeout`). The body is written
//! in pieces of 64 KiB, each within the data-block deadline, then the end-of-data timer
//! runs. A peer that stops reading or answering so frees its slot at the deadline.
//!
//! TLS is opportunistic, as Postfix's `may` level: when the STARTTLS handshake fails, the
//! attempt reconnects to the same address once and goes on in cleartext.
//!
//! The dialer never connects to an unspecified, broadcast or multicast address, nor to one
//! of our own listening addresses (SECURITY.md 49), whatever the route says.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postwerk_smtp::client::{
    self, BareLineEndings, Event, Timeouts, TlsPolicy, Transaction, TransactionResult,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::{info, warn};

use crate::config::{Config, LmtpTarget, Outbound};
use crate::driver::{Driver, Step};
use crate::net::Stream;
use crate::sessions::{MxTls, SessionCache, SessionKey};

/// Largest piece handed to one socket write, each with its own deadline.
const WRITE_PIECE: usize = 64 * 1024;

/// Why an address is never dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// One of our own listening addresses: the mail would loop back to us.
    Ours,
    /// Unspecified (`0.0.0.0`, `::`), broadcast or multicast.
    NotUnicast,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Ours => "the address is one of our own",
            Refusal::NotUnicast => "not a unicast address (unspecified, broadcast or multicast)",
        })
    }
}

/// Why an outbound session gave no transaction result.
#[derive(Debug)]
pub enum SessionError {
    /// The address is not dialled.
    Refused(Refusal),
    /// The STARTTLS handshake failed or timed out.
    Tls(io::Error),
    /// Connecting, writing or reading failed or timed out before the session was
    /// established (greeting and EHLO answered): a connection-level failure.
    Io(io::Error),
    /// Writing or reading failed or timed out in an established session.
    Lost(io::Error),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Refused(why) => write!(f, "not dialled: {why}"),
            SessionError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            SessionError::Io(e) | SessionError::Lost(e) => e.fmt(f),
        }
    }
}

impl From<io::Error> for SessionError {
    fn from(e: io::Error) -> Self {
        SessionError::Io(e)
    }
}

/// Opens outbound sessions, and parks them in the session cache between messages.
#[derive(Debug)]
pub struct Dialer {
    config: Arc<Config>,
    tls: Arc<rustls::ClientConfig>,
    own: Vec<IpAddr>,
    sessions: Arc<SessionCache>,
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The machine's timers from `[outbound]`.
pub fn timeouts(outbound: &Outbound) -> Timeouts {
    let mut t = Timeouts::default();
    t.greeting = secs(outbound.greeting_timeout_secs);
    t.command = secs(outbound.command_timeout_secs);
    t.mail = secs(outbound.mail_timeout_secs);
    t.rcpt = secs(outbound.rcpt_timeout_secs);
    t.data_init = secs(outbound.data_init_timeout_secs);
    t.data_block = secs(outbound.data_block_timeout_secs);
    t.data_end = secs(outbound.data_end_timeout_secs);
    t.tls_handshake = secs(outbound.tls_handshake_timeout_secs);
    t
}

fn timed_out(what: &str, limit: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} timed out after {}s", limit.as_secs()),
    )
}

/// Is `ip` an address a connection may go to at all?
pub fn is_dialable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_dialable(IpAddr::V4(v4));
            }
            !(v6.is_unspecified() || v6.is_multicast())
        }
    }
}

impl Dialer {
    /// A dialer for `config`; `own` are our listening addresses; `sessions` the cache
    /// shared by every generation of the configuration.
    pub fn new(
        config: Arc<Config>,
        tls: Arc<rustls::ClientConfig>,
        own: Vec<IpAddr>,
        sessions: Arc<SessionCache>,
    ) -> Dialer {
        Dialer {
            config,
            tls,
            own,
            sessions,
        }
    }

    /// May `ip` be dialled?
    pub fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        if !is_dialable(ip) {
            return Err(Refusal::NotUnicast);
        }
        let canonical = |ip: IpAddr| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if self.own.iter().any(|o| canonical(*o) == canonical(ip)) {
            return Err(Refusal::Ours);
        }
        Ok(())
    }

    /// Sends `tx` to `addr` (MX host `host`): in a session parked after an earlier message
    /// to that address when there is one, else in a new session. When the STARTTLS
    /// handshake of a new session fails, tries once more without STARTTLS.
    pub async fn deliver(
        &self,
        addr: SocketAddr,
        host: &str,
        tx: Transaction,
    ) -> Result<Sent, SessionError> {
        self.check(addr.ip()).map_err(SessionError::Refused)?;
        for tls in [MxTls::Opportunistic, MxTls::Cleartext] {
            if let Some(sent) = self.reuse(&SessionKey::mx(addr, host, tls), &tx).await {
                return sent;
            }
        }
        let plan = |tls| Plan {
            tls,
            tls_config: self.tls.clone(),
            credentials: None,
            lmtp: false,
        };
        let key = SessionKey::mx(addr, host, MxTls::Opportunistic);
        match self
            .fresh(key, addr, host, tx.clone(), plan(TlsPolicy::Opportunistic))
            .await
        {
            Err(SessionError::Tls(e)) => {
                info!(mx = host, %addr, error = %e, "STARTTLS handshake failed; retrying in cleartext");
                let key = SessionKey::mx(addr, host, MxTls::Cleartext);
                self.fresh(key, addr, host, tx, plan(TlsPolicy::Disabled))
                    .await
            }
            other => other,
        }
    }

    /// Sends `tx` through the smarthost at `addr` (`host` is the name its certificate must
    /// carry): STARTTLS required with the certificate verified, then AUTH with the
    /// configured login. No cleartext retry: credentials never travel unencrypted. A
    /// session parked after an earlier message (logged in as the same user) is used first.
    pub async fn deliver_relay(
        &self,
        addr: SocketAddr,
        host: &str,
        tx: Transaction,
    ) -> Result<Sent, SessionError> {
        self.check(addr.ip()).map_err(SessionError::Refused)?;
        let outbound = &self.config.outbound;
        let key = SessionKey::relay(addr, host, outbound.relay_user.clone());
        if let Some(sent) = self.reuse(&key, &tx).await {
            return sent;
        }
        let tls_config = crate::tls::verified_client_config(outbound.relay_ca_file.as_deref())?;
        let credentials = match (&outbound.relay_user, &outbound.relay_password_file) {
            (Some(user), Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", file.display())))?;
                let password = text.lines().next().unwrap_or_default().to_owned();
                Some(client::Credentials::new(user.clone(), password))
            }
            _ => None,
        };
        let plan = Plan {
            tls: TlsPolicy::Required,
            tls_config,
            credentials,
            lmtp: false,
        };
        self.fresh(key, addr, host, tx, plan).await
    }

    /// Runs `tx` in the sessions parked under `key`, the most recently used first, until
    /// one carries it. A parked session the server has closed meanwhile shows it in the
    /// answer to RSET or MAIL (or an error before it): it is dropped without counting as a
    /// failure of the attempt. `None`: no parked session could take it.
    async fn reuse(
        &self,
        key: &SessionKey,
        tx: &Transaction,
    ) -> Option<Result<Sent, SessionError>> {
        while let Some(mut session) = self.sessions.take(key).await {
            match session.transact(tx.clone()).await {
                Ok(sent) if !sent.before_mail() => {
                    self.done(key.clone(), session, &sent);
                    return Some(Ok(sent));
                }
                Ok(sent) => {
                    let why = sent
                        .result
                        .error()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    info!(mx = key.host(), addr = %key.addr(), reason = why, "a cached session had ended; trying another");
                    self.sessions.retire(session);
                }
                Err(failed) if failed.before_mail => {
                    info!(mx = key.host(), addr = %key.addr(), reason = %failed.error, "a cached session had ended; trying another");
                    self.sessions.retire(session);
                }
                Err(failed) => {
                    // The server answered MAIL, then the session broke: an attempt failure
                    // like any other (the next attempt decides again).
                    self.sessions.retire(session);
                    warn!(mx = key.host(), addr = %key.addr(), error = %failed.error, "cached session lost during a transaction");
                    return Some(Err(failed.error));
                }
            }
        }
        None
    }

    /// Opens a new session to `addr` and runs `tx` in it.
    async fn fresh(
        &self,
        key: SessionKey,
        addr: SocketAddr,
        host: &str,
        tx: Transaction,
        plan: Plan,
    ) -> Result<Sent, SessionError> {
        let connect = secs(self.config.outbound.connect_timeout_secs);
        let tcp = tokio::time::timeout(connect, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out("connect", connect))??;
        let _ = tcp.set_nodelay(true);
        let mut session = self.open(Stream::Plain(tcp), host, plan);
        match session.transact(tx).await {
            Ok(sent) => {
                self.done(key, session, &sent);
                Ok(sent)
            }
            Err(failed) => {
                self.sessions.retire(session);
                Err(failed.error)
            }
        }
    }

    /// After a transaction: parks the session for the next message to the same server, or
    /// ends it with QUIT (too many messages, caching off, or the session failed).
    fn done(&self, key: SessionKey, session: Session, sent: &Sent) {
        let outbound = &self.config.outbound;
        let failed = matches!(
            sent.result.error(),
            Some(client::TransactionError::Connection(_))
        );
        if failed
            || session.conn.is_closed()
            || session.messages >= outbound.session_max_messages
            || outbound.session_idle_secs == 0
        {
            self.sessions.retire(session);
        } else {
            self.sessions
                .park(key, session, secs(outbound.session_idle_secs));
        }
    }

    /// Delivers `tx` by LMTP (RFC 2033) to the local delivery agent at `target`: one reply
    /// per recipient after the data, kept as the agent gave it (a `552` stays a `552`).
    /// Same deadlines as outbound SMTP; no STARTTLS on this local hop.
    pub async fn deliver_lmtp(
        &self,
        target: &LmtpTarget,
        tx: Transaction,
    ) -> Result<Sent, SessionError> {
        let connect = secs(self.config.outbound.connect_timeout_secs);
        let stream = match target {
            LmtpTarget::Unix(path) => Stream::Unix(
                tokio::time::timeout(connect, tokio::net::UnixStream::connect(path))
                    .await
                    .map_err(|_| timed_out("connect", connect))??,
            ),
            LmtpTarget::Tcp(hostport) => {
                let tcp = tokio::time::timeout(connect, TcpStream::connect(hostport.as_str()))
                    .await
                    .map_err(|_| timed_out("connect", connect))??;
                let _ = tcp.set_nodelay(true);
                Stream::Plain(tcp)
            }
        };
        let plan = Plan {
            tls: TlsPolicy::Disabled,
            tls_config: self.tls.clone(),
            credentials: None,
            lmtp: true,
        };
        let mut session = self.open(stream, "lmtp", plan);
        let sent = session.transact(tx).await;
        self.sessions.retire(session);
        sent.map_err(|failed| failed.error)
    }

    /// A session on a connected stream, waiting for the greeting.
    fn open(&self, stream: Stream, host: &str, plan: Plan) -> Session {
        let outbound = &self.config.outbound;
        let mut config = client::Config::new(self.config.hostname.clone());
        config.lmtp = plan.lmtp;
        config.bare_line_endings = BareLineEndings::Normalize;
        config.tls = plan.tls;
        config.credentials = plan.credentials;
        config.timeouts = timeouts(outbound);
        Session {
            stream,
            conn: client::Connection::new(config, Instant::now()),
            // Each piece of output within the data-block deadline; waiting for a reply
            // the machine has no timer for, at most the command deadline.
            driver: Driver::new(16 * 1024, secs(outbound.data_block_timeout_secs))
                .in_pieces(WRITE_PIECE)
                .with_idle_limit(secs(outbound.command_timeout_secs)),
            block: secs(outbound.data_block_timeout_secs),
            handshake: secs(outbound.tls_handshake_timeout_secs),
            host: host.to_owned(),
            tls_config: plan.tls_config,
            lmtp: plan.lmtp,
            messages: 0,
        }
    }
}

/// The result of a session's transaction, and whether the server took over DSN duties
/// (it advertised DSN, so NOTIFY and ORCPT went on with the recipients, RFC 3461 4.1).
#[derive(Debug)]
pub struct Sent {
    /// The transaction's result.
    pub result: TransactionResult,
    /// The server advertised DSN.
    pub peer_dsn: bool,
    /// The session got past its greeting and EHLO: a connection-level failure it is not.
    pub established: bool,
}

impl Sent {
    /// The session ended before the server answered MAIL: nothing of the transaction
    /// reached the server.
    fn before_mail(&self) -> bool {
        self.result.mail_reply().is_none()
            && matches!(
                self.result.error(),
                Some(client::TransactionError::Connection(_))
            )
    }
}

/// One outbound session: the socket, the client machine and the deadlines. It carries one
/// transaction after another ([`Session::transact`]); between them it waits in the
/// [`SessionCache`].
#[derive(Debug)]
pub struct Session {
    stream: Stream,
    conn: client::Connection,
    driver: Driver,
    /// Writing one piece of output, and the TLS handshake, may take this long.
    block: Duration,
    handshake: Duration,
    host: String,
    tls_config: Arc<rustls::ClientConfig>,
    lmtp: bool,
    /// Transactions this session has finished.
    messages: usize,
}

/// A transaction that got no result.
#[derive(Debug)]
struct Failed {
    error: SessionError,
    /// The server had not answered MAIL: nothing of the transaction reached it.
    before_mail: bool,
}

impl Session {
    /// Runs `tx` to its result.
    async fn transact(&mut self, tx: Transaction) -> Result<Sent, Failed> {
        if let Err(e) = self.conn.send(tx, Instant::now()) {
            return Err(Failed {
                error: SessionError::Io(io::Error::other(e)),
                before_mail: true,
            });
        }
        let mut closed_with = None;
        loop {
            let step = self
                .driver
                .step(&mut self.conn, &mut self.stream, false, None)
                .await;
            match step {
                Step::Event(Event::TransactionDone(result)) => {
                    self.messages += 1;
                    if self.messages == 1 {
                        crate::metrics::count(if self.lmtp {
                            &crate::metrics::METRICS.lmtp_sessions
                        } else if self.stream.is_tls() {
                            &crate::metrics::METRICS.outbound_tls
                        } else {
                            &crate::metrics::METRICS.outbound_plain
                        });
                    }
                    let caps = self.conn.capabilities();
                    return Ok(Sent {
                        result,
                        peer_dsn: caps.is_some_and(|c| c.has(client::Extension::Dsn)),
                        established: caps.is_some(),
                    });
                }
                Step::Event(Event::StartTls) => {
                    if let Err(e) = self.start_tls().await {
                        self.conn.handle_eof(Instant::now());
                        return Err(Failed {
                            error: SessionError::Tls(e),
                            before_mail: true,
                        });
                    }
                    self.driver.discard_unread();
                    self.conn.tls_established(Instant::now());
                }
                Step::Event(Event::Closed { error }) => closed_with = error,
                Step::Event(_) | Step::Idle => {}
                Step::Closed | Step::Stopped => break,
                Step::Failed(e) => return Err(self.broken(e)),
            }
        }
        Err(Failed {
            error: SessionError::Io(io::Error::other(match closed_with {
                Some(e) => format!("the session ended without a result: {e}"),
                None => "the session ended without a result".to_owned(),
            })),
            before_mail: true,
        })
    }

    /// The socket failed: the machine learns it (and tells whether MAIL was answered).
    fn broken(&mut self, e: io::Error) -> Failed {
        let established = self.conn.capabilities().is_some();
        self.conn.handle_eof(Instant::now());
        let mut before_mail = true;
        while let Some(event) = self.conn.poll_event() {
            if let Event::TransactionDone(result) = event {
                before_mail = result.mail_reply().is_none();
            }
        }
        let error = if established {
            SessionError::Lost(e)
        } else {
            SessionError::Io(e)
        };
        Failed { error, before_mail }
    }

    /// Waits, while parked, for the server to say something or close: either way the
    /// session is of no further use (a `421` or a close ends it in the machine).
    /// Cancel-safe: nothing is lost when the wait is abandoned.
    pub async fn watch(&mut self) {
        self.driver.watch(&mut self.conn, &mut self.stream).await;
    }

    /// Ends the session: QUIT and its reply (bounded by the command deadline), then the
    /// socket is shut down.
    pub async fn quit(mut self) {
        self.conn.quit(Instant::now());
        loop {
            let step = self
                .driver
                .step(&mut self.conn, &mut self.stream, false, None)
                .await;
            if !matches!(step, Step::Event(_) | Step::Idle) {
                break;
            }
        }
        let _ = tokio::time::timeout(self.block, self.stream.shutdown()).await;
    }

    /// The TLS handshake of STARTTLS, within its deadline (what we wrote is flushed first).
    async fn start_tls(&mut self) -> io::Result<()> {
        self.driver.flush(&mut self.conn, &mut self.stream).await?;
        tokio::time::timeout(self.block, self.stream.flush())
            .await
            .map_err(|_| timed_out("write", self.block))??;
        let connect = self.stream.connect_tls(self.tls_config.clone(), &self.host);
        tokio::time::timeout(self.handshake, connect)
            .await
            .map_err(|_| timed_out("TLS handshake", self.handshake))?
    }
}

/// How one session is run: TLS, login, protocol.
struct Plan {
    tls: TlsPolicy,
    tls_config: Arc<rustls::ClientConfig>,
    credentials: Option<client::Credentials>,
    lmtp: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unicast_addresses_are_dialable() {
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "239.1.2.3",
            "::",
            "ff02::1",
            "::ffff:0.0.0.0",
            "::ffff:224.0.0.1",
        ] {
            assert!(!is_dialable(bad.parse().unwrap()), "{bad}");
        }
        for good in ["127.0.0.1", "192.0.2.1", "::1", "2001:db8::1"] {
            assert!(is_dialable(good.parse().unwrap()), "{good}");
        }
    }
}
