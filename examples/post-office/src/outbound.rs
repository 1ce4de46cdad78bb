//! The SMTP client driver: one outbound session to one MX address, run by the
//! postwerk-smtp client machine.
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

use bytes::Bytes;
use postwerk_smtp::client::{
    self, BareLineEndings, Event, Timeouts, TlsPolicy, Transaction, TransactionResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::info;

use crate::config::{Config, LmtpTarget, Outbound};
use crate::net::Stream;

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
    /// Connecting, writing or reading failed or timed out.
    Io(io::Error),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Refused(why) => write!(f, "not dialled: {why}"),
            SessionError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            SessionError::Io(e) => e.fmt(f),
        }
    }
}

impl From<io::Error> for SessionError {
    fn from(e: io::Error) -> Self {
        SessionError::Io(e)
    }
}

/// Opens outbound sessions.
#[derive(Debug)]
pub struct Dialer {
    config: Arc<Config>,
    tls: Arc<rustls::ClientConfig>,
    own: Vec<IpAddr>,
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
    /// A dialer for `config`; `own` are our listening addresses.
    pub fn new(config: Arc<Config>, tls: Arc<rustls::ClientConfig>, own: Vec<IpAddr>) -> Dialer {
        Dialer { config, tls, own }
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

    /// Sends `tx` to `addr` (MX host `host`) in one session. When the STARTTLS handshake
    /// fails, tries once more without STARTTLS.
    pub async fn deliver(
        &self,
        addr: SocketAddr,
        host: &str,
        tx: Transaction,
    ) -> Result<Sent, SessionError> {
        match self
            .session(addr, host, tx.clone(), TlsPolicy::Opportunistic)
            .await
        {
            Err(SessionError::Tls(e)) => {
                info!(mx = host, %addr, error = %e, "STARTTLS handshake failed; retrying in cleartext");
                self.session(addr, host, tx, TlsPolicy::Disabled).await
            }
            other => other,
        }
    }

    async fn session(
        &self,
        addr: SocketAddr,
        host: &str,
        tx: Transaction,
        tls: TlsPolicy,
    ) -> Result<Sent, SessionError> {
        self.check(addr.ip()).map_err(SessionError::Refused)?;
        let connect = secs(self.config.outbound.connect_timeout_secs);
        let tcp = tokio::time::timeout(connect, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out("connect", connect))??;
        let _ = tcp.set_nodelay(true);
        let plan = Plan {
            tls,
            tls_config: self.tls.clone(),
            credentials: None,
            lmtp: false,
        };
        self.run(Stream::Plain(tcp), host, tx, plan).await
    }

    /// Sends `tx` through the smarthost at `addr` (`host` is the name its certificate must
    /// carry): STARTTLS required with the certificate verified, then AUTH with the
    /// configured login. No cleartext retry: credentials never travel unencrypted.
    pub async fn deliver_relay(
        &self,
        addr: SocketAddr,
        host: &str,
        tx: Transaction,
    ) -> Result<Sent, SessionError> {
        self.check(addr.ip()).map_err(SessionError::Refused)?;
        let outbound = &self.config.outbound;
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
        let connect = secs(outbound.connect_timeout_secs);
        let tcp = tokio::time::timeout(connect, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out("connect", connect))??;
        let _ = tcp.set_nodelay(true);
        let plan = Plan {
            tls: TlsPolicy::Required,
            tls_config,
            credentials,
            lmtp: false,
        };
        self.run(Stream::Plain(tcp), host, tx, plan).await
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
        self.run(stream, "lmtp", tx, plan).await
    }

    /// Runs one SMTP (or LMTP) session on a connected stream to the transaction's result.
    async fn run(
        &self,
        mut stream: Stream,
        host: &str,
        tx: Transaction,
        plan: Plan,
    ) -> Result<Sent, SessionError> {
        let outbound = &self.config.outbound;
        let lmtp = plan.lmtp;
        let mut config = client::Config::new(self.config.hostname.clone());
        config.lmtp = lmtp;
        config.bare_line_endings = BareLineEndings::Normalise;
        config.tls = plan.tls;
        config.credentials = plan.credentials;
        config.timeouts = timeouts(outbound);
        let now = Instant::now();
        let mut conn = client::Connection::new(config, now);
        conn.send(tx, now).map_err(io::Error::other)?;
        conn.quit(now);
        let mut driver = Driver {
            buf: vec![0u8; 16 * 1024],
            block: secs(outbound.data_block_timeout_secs),
            command: secs(outbound.command_timeout_secs),
            handshake: secs(outbound.tls_handshake_timeout_secs),
        };
        let mut closed_with = None;
        loop {
            driver.flush(&mut stream, &mut conn).await?;
            let mut start_tls = false;
            let mut result = None;
            while let Some(event) = conn.poll_event() {
                match event {
                    Event::StartTls => start_tls = true,
                    Event::TransactionDone(done) => result = Some(done),
                    Event::Closed { error } => closed_with = error,
                    _ => {}
                }
            }
            if let Some(result) = result {
                let peer_dsn = conn
                    .capabilities()
                    .is_some_and(|c| c.has(client::Extension::Dsn));
                crate::metrics::count(if lmtp {
                    &crate::metrics::METRICS.lmtp_sessions
                } else if stream.is_tls() {
                    &crate::metrics::METRICS.outbound_tls
                } else {
                    &crate::metrics::METRICS.outbound_plain
                });
                // The result is final: the caller records it now; QUIT finishes apart,
                // bounded by the same deadlines.
                tokio::spawn(async move {
                    let _ = driver.finish(&mut stream, &mut conn).await;
                });
                return Ok(Sent { result, peer_dsn });
            }
            if start_tls {
                driver
                    .handshake(&mut stream, &plan.tls_config, host)
                    .await
                    .map_err(SessionError::Tls)?;
                conn.tls_established(Instant::now());
                continue;
            }
            if conn.is_closed() {
                break;
            }
            driver.read(&mut stream, &mut conn).await?;
        }
        let _ = stream.shutdown().await;
        Err(SessionError::Io(io::Error::other(match closed_with {
            Some(e) => format!("the session ended without a result: {e}"),
            None => "the session ended without a result".to_owned(),
        })))
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
}

/// How one session is run: TLS, login, protocol.
struct Plan {
    tls: TlsPolicy,
    tls_config: Arc<rustls::ClientConfig>,
    credentials: Option<client::Credentials>,
    lmtp: bool,
}

/// The socket side of one session: buffers and deadlines.
#[derive(Debug)]
struct Driver {
    buf: Vec<u8>,
    block: Duration,
    command: Duration,
    handshake: Duration,
}

impl Driver {
    /// Writes everything the machine has to send, each piece within the data-block
    /// deadline, and tells the machine when it is written (its end-of-data timer starts
    /// once the body's last bytes are out, RFC 5321 4.5.3.2.6).
    async fn flush(&self, stream: &mut Stream, conn: &mut client::Connection) -> io::Result<()> {
        while let Some(chunk) = conn.poll_transmit() {
            self.write(stream, chunk).await?;
            conn.handle_written(Instant::now());
        }
        Ok(())
    }

    async fn write(&self, stream: &mut Stream, chunk: Bytes) -> io::Result<()> {
        let mut start = 0;
        while start < chunk.len() {
            let end = chunk.len().min(start.saturating_add(WRITE_PIECE));
            let piece = chunk.slice(start..end);
            let write = async {
                stream.write_all(&piece).await?;
                stream.flush().await
            };
            tokio::time::timeout(self.block, write)
                .await
                .map_err(|_| timed_out("write", self.block))??;
            start = end;
        }
        Ok(())
    }

    /// Waits for input until the machine's next deadline.
    async fn read(&mut self, stream: &mut Stream, conn: &mut client::Connection) -> io::Result<()> {
        let deadline = conn
            .poll_timeout()
            .or_else(|| Instant::now().checked_add(self.command))
            .map(tokio::time::Instant::from_std);
        tokio::select! {
            read = stream.read(&mut self.buf) => {
                let n = read?;
                if n == 0 {
                    conn.handle_eof(Instant::now());
                } else {
                    conn.handle_input(self.buf.get(..n).unwrap_or_default(), Instant::now());
                }
            }
            () = crate::delivery::sleep_until(deadline) => conn.handle_timeout(Instant::now()),
        }
        Ok(())
    }

    async fn handshake(
        &self,
        stream: &mut Stream,
        tls: &Arc<rustls::ClientConfig>,
        host: &str,
    ) -> io::Result<()> {
        tokio::time::timeout(self.block, stream.flush())
            .await
            .map_err(|_| timed_out("write", self.block))??;
        tokio::time::timeout(self.handshake, stream.connect_tls(tls.clone(), host))
            .await
            .map_err(|_| timed_out("TLS handshake", self.handshake))?
    }

    /// Drives the session to its end (QUIT) after the transaction is done.
    async fn finish(
        &mut self,
        stream: &mut Stream,
        conn: &mut client::Connection,
    ) -> io::Result<()> {
        while !conn.is_closed() {
            self.flush(stream, conn).await?;
            while conn.poll_event().is_some() {}
            if conn.is_closed() {
                break;
            }
            self.read(stream, conn).await?;
        }
        let _ = tokio::time::timeout(self.block, stream.shutdown()).await;
        Ok(())
    }
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
