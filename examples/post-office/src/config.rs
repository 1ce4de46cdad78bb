//! The configuration file: TOML, every table closed (`deny_unknown_fields`), so a misspelt
//! key is an error that names the key and the file.
//!
//! Relative paths in a configuration file (`data_dir`, `[tls] cert`/`key`) are relative to
//! the directory of that file; in the embedded default they are relative to the working
//! directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The configuration used when no `--config` is given: loopback only, unprivileged ports.
pub const EMBEDDED_DEFAULT: &str = r#"
hostname = "localhost"
domains = ["localhost"]
data_dir = "post-office-data"

[smtp]
listen = ["127.0.0.1:2525"]
[submission]
listen = ["127.0.0.1:2587"]
[pop3]
listen = ["127.0.0.1:2110"]
"#;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// toml's description, which names the key and the line.
        message: String,
    },
    /// A value that parsed but makes no sense.
    #[error("{file}: key `{key}`: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The key, dotted (`users[2].address`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Our host name: greetings, `Received:` fields, the generated certificate.
    pub hostname: String,
    /// The domains we accept mail for. Empty: a send-only post office (nothing is stored
    /// here; users log in to submit, in domains whose mail is received elsewhere).
    pub domains: Vec<String>,
    /// Maildirs, the queue, the generated certificate and users file.
    pub data_dir: PathBuf,
    /// Incoming mail (MX role).
    #[serde(default)]
    pub smtp: SmtpListener,
    /// Submission with STARTTLS (port 587 style).
    #[serde(default)]
    pub submission: Listener,
    /// Submission over implicit TLS (port 465 style, RFC 8314).
    #[serde(default)]
    pub submissions: Listener,
    /// POP3 with STLS.
    #[serde(default)]
    pub pop3: Listener,
    /// POP3 over implicit TLS (port 995 style).
    #[serde(default)]
    pub pop3s: Listener,
    /// Certificate and key; absent: a self-signed pair generated into `data_dir/tls`.
    #[serde(default)]
    pub tls: Option<TlsFiles>,
    /// Name servers for MX lookups.
    #[serde(default)]
    pub dns: Dns,
    /// Relaying to other mail servers.
    #[serde(default)]
    pub outbound: Outbound,
    /// Connection and message limits, timeouts.
    #[serde(default)]
    pub limits: Limits,
    /// Retry schedule, expiry, loop detection.
    #[serde(default)]
    pub queue: QueueSettings,
    /// Allow plaintext-password logins (SMTP AUTH PLAIN/LOGIN, POP3 USER/PASS) without TLS.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
    /// The separator of plus-addressing (`user+tag@`); an empty string turns it off.
    #[serde(default = "default_separator")]
    pub recipient_delimiter: String,
    /// Extra addresses delivered to a user: `"sales@alpha.test" = "alice@alpha.test"`.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// The users; absent: `data_dir/users.toml`, created on first start with a
    /// `postmaster@<first domain>` whose random password is printed once.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// The user who receives mail for `postmaster@` every local domain (RFC 5321 4.5.1)
    /// when no user or alias of that name exists; absent: the first user.
    #[serde(default)]
    pub postmaster: Option<String>,
    /// The format of the logs on stderr: `"text"` (the default) or `"json"` (one object
    /// per line).
    #[serde(default)]
    pub log_format: LogFormat,
    /// The Prometheus metrics listener (`GET /metrics`); absent or empty: none.
    #[serde(default)]
    pub metrics: Listener,
    /// Sender authentication on the MX port (SPF, DKIM, DMARC).
    #[serde(default)]
    pub auth: AuthSettings,
    /// How local mail is delivered.
    #[serde(default)]
    pub delivery: DeliverySettings,
}

/// `[delivery]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// Deliver local mail by LMTP (RFC 2033) to a delivery agent such as Dovecot:
    /// `"unix:PATH"` or `"HOST:PORT"`. Absent: the post office's own Maildirs.
    #[serde(default)]
    pub lmtp: Option<String>,
}

/// Where the LMTP server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LmtpTarget {
    /// A Unix-domain socket.
    Unix(PathBuf),
    /// `HOST:PORT` (a name is resolved at each connection).
    Tcp(String),
}

impl DeliverySettings {
    /// The LMTP target, when configured (validated with the configuration).
    pub fn lmtp_target(&self) -> Option<LmtpTarget> {
        let value = self.lmtp.as_deref()?;
        Some(match value.strip_prefix("unix:") {
            Some(path) => LmtpTarget::Unix(PathBuf::from(path)),
            None => LmtpTarget::Tcp(value.to_owned()),
        })
    }
}

/// `[auth]`: what the MX port does with SPF and DMARC results. DKIM is always verified and
/// every result is recorded in `Authentication-Results:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `"record"` (the default) or `"reject-fail"`: refuse MAIL FROM when SPF says
    /// `fail` (550 5.7.23, RFC 7372).
    #[serde(default)]
    pub spf: SpfAction,
    /// `"enforce"` (the default: refuse with 550 5.7.1 a message that fails DMARC under a
    /// `p=reject` policy) or `"record"`.
    #[serde(default)]
    pub dmarc: DmarcAction,
}

/// `[auth] spf`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpfAction {
    /// Only record the result.
    #[default]
    Record,
    /// Refuse MAIL FROM on `fail`.
    RejectFail,
}

/// `[auth] dmarc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DmarcAction {
    /// Only record the result.
    Record,
    /// Refuse failures of `p=reject` domains.
    #[default]
    Enforce,
}

/// `log_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One listener group: the addresses to bind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// Socket addresses, e.g. `"127.0.0.1:2525"`.
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
}

/// `[smtp]`: the MX listener, with the settings that only it has.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpListener {
    /// Socket addresses, e.g. `"127.0.0.1:2525"`.
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// Offer AUTH on the MX port (SECURITY.md 43). Off by default: logins belong on the
    /// submission listeners, which always offer it.
    #[serde(default)]
    pub auth: bool,
    /// Milliseconds the greeting waits for a client address not seen recently; a client
    /// that talks in that time is an early talker (554 and close, SECURITY.md 51). 0 turns
    /// the test off. Never applied on submission.
    #[serde(default = "default_pregreet_delay")]
    pub pregreet_delay_ms: u64,
    /// Seconds an address that passed the greeting pause is greeted at once (the pass
    /// cache, like postscreen's `postscreen_greet_ttl`).
    #[serde(default = "default_pregreet_ttl")]
    pub pregreet_pass_ttl_secs: u64,
}

impl Default for SmtpListener {
    fn default() -> Self {
        SmtpListener {
            listen: Vec::new(),
            auth: false,
            pregreet_delay_ms: default_pregreet_delay(),
            pregreet_pass_ttl_secs: default_pregreet_ttl(),
        }
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// `[dns]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// Name servers (`"127.0.0.1:53"`); empty: the ones in `/etc/resolv.conf`.
    #[serde(default)]
    pub servers: Vec<SocketAddr>,
}

/// `[outbound]`.
///
/// Every step of an outbound SMTP session has a deadline (RFC 5321 section 4.5.3.2,
/// SECURITY.md 44); the defaults are the RFC's values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    /// The TCP port of MX hosts.
    #[serde(default = "default_outbound_port")]
    pub port: u16,
    /// Seconds to wait for a TCP connection to one address.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// How many remote delivery attempts run at the same time, over all destinations.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// The most remote deliveries that run at the same time towards one destination
    /// domain (or the smarthost): the top of its concurrency window (Postfix's
    /// `default_destination_concurrency_limit`). Also spelt `destination_concurrency_limit`.
    #[serde(
        default = "default_destination_concurrency",
        alias = "destination_concurrency_limit"
    )]
    pub destination_concurrency: usize,
    /// Where a destination's concurrency window starts; it grows by one after as many
    /// deliveries that worked as it is wide, up to `destination_concurrency`, and halves with each
    /// connection-level failure (Postfix's `initial_destination_concurrency`). A value
    /// above `destination_concurrency` starts at that limit.
    #[serde(default = "default_initial_destination_concurrency")]
    pub initial_destination_concurrency: usize,
    /// Milliseconds between the starts of two deliveries to one destination (Postfix's
    /// `default_destination_rate_delay`); 0: no delay.
    #[serde(default)]
    pub destination_rate_delay_ms: u64,
    /// Connection-level failures in a row (refused, timed out, a failed greeting, EHLO
    /// or TLS handshake) after which a destination is down: its mail is deferred without
    /// connecting until the backoff ends.
    #[serde(default = "default_destination_failure_limit")]
    pub destination_failure_limit: u32,
    /// Seconds a destination stays down the first time; doubled each further time in a
    /// row, at most an hour.
    #[serde(default = "default_destination_backoff")]
    pub destination_backoff_secs: u64,
    /// Seconds an outbound session is kept open after a transaction, for the next message
    /// to the same server; 0: every session ends after its message.
    #[serde(default = "default_session_idle")]
    pub session_idle_secs: u64,
    /// Messages one outbound session carries at most before it ends with QUIT.
    #[serde(default = "default_session_max_messages")]
    pub session_max_messages: usize,
    /// Seconds to wait for the 220 greeting (RFC 5321 4.5.3.2.1).
    #[serde(default = "default_greeting_timeout")]
    pub greeting_timeout_secs: u64,
    /// Seconds to wait for the reply to EHLO/HELO, STARTTLS, RSET and QUIT.
    #[serde(default = "default_command_timeout_out")]
    pub command_timeout_secs: u64,
    /// Seconds to wait for the reply to MAIL (4.5.3.2.2).
    #[serde(default = "default_mail_timeout")]
    pub mail_timeout_secs: u64,
    /// Seconds to wait for the reply to each RCPT (4.5.3.2.3).
    #[serde(default = "default_rcpt_timeout")]
    pub rcpt_timeout_secs: u64,
    /// Seconds to wait for the 354 reply to DATA (4.5.3.2.4).
    #[serde(default = "default_data_init_timeout")]
    pub data_init_timeout_secs: u64,
    /// Seconds each write to the socket may take (4.5.3.2.5, "data block").
    #[serde(default = "default_data_block_timeout")]
    pub data_block_timeout_secs: u64,
    /// Seconds to wait for the reply after the end of the data, counted from the moment
    /// the whole body has been written (4.5.3.2.6).
    #[serde(default = "default_data_end_timeout")]
    pub data_end_timeout_secs: u64,
    /// Seconds the TLS handshake after STARTTLS may take.
    #[serde(default = "default_tls_handshake_timeout")]
    pub tls_handshake_timeout_secs: u64,
    /// A smarthost (`"HOST:PORT"`): every remote recipient goes there instead of to its
    /// domain's MX, with STARTTLS required and the certificate verified for HOST.
    #[serde(default)]
    pub relay: Option<String>,
    /// The login at the smarthost (SMTP AUTH PLAIN or LOGIN); with `relay_password_file`.
    #[serde(default)]
    pub relay_user: Option<String>,
    /// A file whose first line is the password at the smarthost (relative paths follow the
    /// configuration file); read at each session, so a changed password needs no reload.
    #[serde(default)]
    pub relay_password_file: Option<PathBuf>,
    /// PEM certificates to trust for the smarthost instead of the system's roots.
    #[serde(default)]
    pub relay_ca_file: Option<PathBuf>,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            port: default_outbound_port(),
            connect_timeout_secs: default_connect_timeout(),
            concurrency: default_concurrency(),
            destination_concurrency: default_destination_concurrency(),
            initial_destination_concurrency: default_initial_destination_concurrency(),
            destination_rate_delay_ms: 0,
            destination_failure_limit: default_destination_failure_limit(),
            destination_backoff_secs: default_destination_backoff(),
            session_idle_secs: default_session_idle(),
            session_max_messages: default_session_max_messages(),
            greeting_timeout_secs: default_greeting_timeout(),
            command_timeout_secs: default_command_timeout_out(),
            mail_timeout_secs: default_mail_timeout(),
            rcpt_timeout_secs: default_rcpt_timeout(),
            data_init_timeout_secs: default_data_init_timeout(),
            data_block_timeout_secs: default_data_block_timeout(),
            data_end_timeout_secs: default_data_end_timeout(),
            tls_handshake_timeout_secs: default_tls_handshake_timeout(),
            relay: None,
            relay_user: None,
            relay_password_file: None,
            relay_ca_file: None,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted message in octets (advertised with SIZE).
    #[serde(default = "default_max_message_size")]
    pub max_message_size: u64,
    /// Recipients per transaction.
    #[serde(default = "default_max_recipients")]
    pub max_recipients: usize,
    /// Open connections over all listeners.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections from one client address.
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// Protocol errors in one session before 421 and close.
    #[serde(default = "default_max_errors")]
    pub max_errors: usize,
    /// Seconds to wait for a command.
    #[serde(default = "default_command_timeout")]
    pub command_timeout_secs: u64,
    /// Seconds to wait for the next chunk of message data.
    #[serde(default = "default_data_timeout")]
    pub data_timeout_secs: u64,
    /// New mail is refused (452 4.3.1) when the data directory's file system has less free.
    #[serde(default = "default_min_free_bytes")]
    pub min_free_bytes: u64,
    /// Milliseconds to wait before the SMTP greeting; a client that talks in that time is
    /// answered 554 and closed (SECURITY.md 5). 0 (the default) greets at once.
    #[serde(default)]
    pub greeting_delay_ms: u64,
    /// Header fields a message may have; more is refused with 552 5.3.4 (SECURITY.md 46).
    #[serde(default = "default_max_header_fields")]
    pub max_header_fields: usize,
    /// Password verifications (argon2) running at once, SMTP AUTH and POP3 together;
    /// absent: the number of CPU cores (SECURITY.md 42).
    #[serde(default)]
    pub login_concurrency: Option<usize>,
    /// Milliseconds a login may wait for its turn (behind other logins from the same
    /// client address, then for a free verification); then a temporary failure
    /// (SMTP 454 4.7.0, POP3 `-ERR [SYS/TEMP]`).
    #[serde(default = "default_login_queue_timeout")]
    pub login_queue_timeout_ms: u64,
    /// Milliseconds a login from a client address (a /64 for IPv6) with one recent failed
    /// login waits before it is checked; it doubles with each further failure (Dovecot's
    /// auth penalty). 0 turns the penalty off.
    #[serde(default = "default_login_penalty")]
    pub login_penalty_ms: u64,
    /// The cap of that delay.
    #[serde(default = "default_login_penalty_max")]
    pub login_penalty_max_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: default_max_message_size(),
            max_recipients: default_max_recipients(),
            max_connections: default_max_connections(),
            max_connections_per_ip: default_max_connections_per_ip(),
            max_errors: default_max_errors(),
            command_timeout_secs: default_command_timeout(),
            data_timeout_secs: default_data_timeout(),
            min_free_bytes: default_min_free_bytes(),
            greeting_delay_ms: 0,
            max_header_fields: default_max_header_fields(),
            login_concurrency: None,
            login_queue_timeout_ms: default_login_queue_timeout(),
            login_penalty_ms: default_login_penalty(),
            login_penalty_max_ms: default_login_penalty_max(),
        }
    }
}

/// `[queue]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Seconds between attempts; the last one repeats.
    #[serde(default = "default_retry_schedule")]
    pub retry_schedule_secs: Vec<u64>,
    /// Seconds after which undelivered recipients are bounced.
    #[serde(default = "default_expiry")]
    pub expiry_secs: u64,
    /// A message with more `Received:` fields than this is a loop.
    #[serde(default = "default_max_received")]
    pub max_received: usize,
    /// How many local (Maildir) deliveries run at the same time. Local delivery has its
    /// own lane: it never waits behind remote attempts (SECURITY.md 45).
    #[serde(default = "default_local_concurrency")]
    pub local_concurrency: usize,
    /// Seconds after which the sender of a message still undelivered gets one delay
    /// notice (RFC 3464 `delayed`, for recipients whose NOTIFY allows it); 0: never.
    #[serde(default = "default_delay_warning")]
    pub delay_warning_secs: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            retry_schedule_secs: default_retry_schedule(),
            expiry_secs: default_expiry(),
            max_received: default_max_received(),
            local_concurrency: default_local_concurrency(),
            delay_warning_secs: default_delay_warning(),
        }
    }
}

fn default_delay_warning() -> u64 {
    4 * 3600
}

impl QueueSettings {
    /// The delay before attempt `attempt + 1`, given `attempt` failed ones (1-based).
    pub fn retry_delay(&self, failed_attempts: u32) -> Duration {
        let index = (failed_attempts.max(1) - 1) as usize;
        let secs = self
            .retry_schedule_secs
            .get(index)
            .or(self.retry_schedule_secs.last())
            .copied()
            .unwrap_or(60);
        Duration::from_secs(secs)
    }
}

/// `[[users]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The full address; also the login name.
    pub address: String,
    /// An argon2 PHC string from `post-office hash-password`.
    pub password_hash: String,
}

/// The users file (`data_dir/users.toml`) used when the configuration names no users.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsersFile {
    /// The users.
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

fn default_separator() -> String {
    "+".to_owned()
}
fn default_outbound_port() -> u16 {
    25
}
fn default_connect_timeout() -> u64 {
    30
}
fn default_concurrency() -> usize {
    100
}
fn default_destination_concurrency() -> usize {
    20
}
fn default_initial_destination_concurrency() -> usize {
    5
}
fn default_destination_failure_limit() -> u32 {
    3
}
fn default_destination_backoff() -> u64 {
    60
}
fn default_session_idle() -> u64 {
    5
}
fn default_session_max_messages() -> usize {
    100
}
fn default_greeting_timeout() -> u64 {
    300
}
fn default_command_timeout_out() -> u64 {
    300
}
fn default_mail_timeout() -> u64 {
    300
}
fn default_rcpt_timeout() -> u64 {
    300
}
fn default_data_init_timeout() -> u64 {
    120
}
fn default_data_block_timeout() -> u64 {
    180
}
fn default_data_end_timeout() -> u64 {
    600
}
fn default_tls_handshake_timeout() -> u64 {
    300
}
fn default_local_concurrency() -> usize {
    8
}
fn default_max_message_size() -> u64 {
    25 * 1024 * 1024
}
fn default_max_recipients() -> usize {
    100
}
fn default_max_connections() -> usize {
    200
}
fn default_max_connections_per_ip() -> usize {
    // Postfix's smtpd_client_connection_count_limit.
    50
}
fn default_max_header_fields() -> usize {
    1000
}
fn default_login_queue_timeout() -> u64 {
    10_000
}
fn default_login_penalty() -> u64 {
    // Dovecot: AUTH_PENALTY_INIT_SECS 2, AUTH_PENALTY_MAX_SECS 15.
    2_000
}
fn default_login_penalty_max() -> u64 {
    15_000
}
fn default_pregreet_delay() -> u64 {
    1_000
}
fn default_pregreet_ttl() -> u64 {
    // postscreen_greet_ttl: one day.
    24 * 3600
}
fn default_max_errors() -> usize {
    20
}
fn default_command_timeout() -> u64 {
    300
}
fn default_data_timeout() -> u64 {
    600
}
fn default_min_free_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_retry_schedule() -> Vec<u64> {
    vec![60, 300, 900, 1800, 3600, 7200, 14400]
}
fn default_expiry() -> u64 {
    5 * 24 * 3600
}
fn default_max_received() -> usize {
    50
}

impl Config {
    /// Reads and validates `path`, or the embedded default when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::parse(EMBEDDED_DEFAULT, "<embedded default>", Path::new(".")),
            Some(path) => {
                let file = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    file: file.clone(),
                    source,
                })?;
                let base = path.parent().unwrap_or(Path::new("."));
                let base = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base
                };
                Config::parse(&text, &file, base)
            }
        }
    }

    /// Parses `text` (named `file` in errors), resolving relative paths against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.data_dir = base.join(&config.data_dir);
        if let Some(tls) = &mut config.tls {
            tls.cert = base.join(&tls.cert);
            tls.key = base.join(&tls.key);
        }
        for path in [
            &mut config.outbound.relay_password_file,
            &mut config.outbound.relay_ca_file,
        ]
        .into_iter()
        .flatten()
        {
            *path = base.join(&*path);
        }
        config.hostname = config.hostname.to_ascii_lowercase();
        for domain in &mut config.domains {
            *domain = domain.to_ascii_lowercase();
        }
        config.validate(file)?;
        Ok(config)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            message: message.to_owned(),
        };
        if !is_domain(&self.hostname) {
            return Err(invalid("hostname", "not a host name"));
        }
        let outbound = &self.outbound;
        if let Some(relay) = &outbound.relay
            && relay
                .rsplit_once(':')
                .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return Err(invalid("outbound.relay", "expected \"HOST:PORT\""));
        }
        if outbound.relay_user.is_some() != outbound.relay_password_file.is_some() {
            return Err(invalid(
                "outbound.relay_user",
                "relay_user and relay_password_file go together",
            ));
        }
        if outbound.relay.is_none()
            && (outbound.relay_user.is_some() || outbound.relay_ca_file.is_some())
        {
            return Err(invalid("outbound.relay", "relay_* settings need `relay`"));
        }
        match self.delivery.lmtp_target() {
            Some(LmtpTarget::Unix(path)) if !path.is_absolute() => {
                return Err(invalid("delivery.lmtp", "unix: needs an absolute path"));
            }
            Some(LmtpTarget::Tcp(hostport))
                if hostport
                    .rsplit_once(':')
                    .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) =>
            {
                return Err(invalid(
                    "delivery.lmtp",
                    "expected \"unix:/path\" or \"HOST:PORT\"",
                ));
            }
            _ => {}
        }
        for (i, domain) in self.domains.iter().enumerate() {
            if !is_domain(domain) {
                return Err(invalid(&format!("domains[{i}]"), "not a domain name"));
            }
        }
        let listeners = [
            &self.smtp.listen,
            &self.submission.listen,
            &self.submissions.listen,
            &self.pop3.listen,
            &self.pop3s.listen,
        ];
        if listeners.iter().all(|l| l.is_empty()) {
            return Err(invalid("listen", "no listener is configured"));
        }
        if self.outbound.port == 0 {
            return Err(invalid("outbound.port", "must not be 0"));
        }
        let outbound = &self.outbound;
        for (key, value) in [
            ("outbound.concurrency", outbound.concurrency as u64),
            (
                "outbound.destination_concurrency",
                outbound.destination_concurrency as u64,
            ),
            (
                "outbound.initial_destination_concurrency",
                outbound.initial_destination_concurrency as u64,
            ),
            (
                "outbound.destination_failure_limit",
                u64::from(outbound.destination_failure_limit),
            ),
            (
                "outbound.destination_backoff_secs",
                outbound.destination_backoff_secs,
            ),
            (
                "outbound.session_max_messages",
                outbound.session_max_messages as u64,
            ),
            (
                "queue.local_concurrency",
                self.queue.local_concurrency as u64,
            ),
            (
                "outbound.connect_timeout_secs",
                outbound.connect_timeout_secs,
            ),
            (
                "outbound.greeting_timeout_secs",
                outbound.greeting_timeout_secs,
            ),
            (
                "outbound.command_timeout_secs",
                outbound.command_timeout_secs,
            ),
            ("outbound.mail_timeout_secs", outbound.mail_timeout_secs),
            ("outbound.rcpt_timeout_secs", outbound.rcpt_timeout_secs),
            (
                "outbound.data_init_timeout_secs",
                outbound.data_init_timeout_secs,
            ),
            (
                "outbound.data_block_timeout_secs",
                outbound.data_block_timeout_secs,
            ),
            (
                "outbound.data_end_timeout_secs",
                outbound.data_end_timeout_secs,
            ),
            (
                "outbound.tls_handshake_timeout_secs",
                outbound.tls_handshake_timeout_secs,
            ),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        let limits = &self.limits;
        for (key, value) in [
            ("limits.max_message_size", limits.max_message_size),
            ("limits.max_recipients", limits.max_recipients as u64),
            ("limits.max_connections", limits.max_connections as u64),
            (
                "limits.max_connections_per_ip",
                limits.max_connections_per_ip as u64,
            ),
            ("limits.max_errors", limits.max_errors as u64),
            ("limits.command_timeout_secs", limits.command_timeout_secs),
            ("limits.data_timeout_secs", limits.data_timeout_secs),
            ("limits.max_header_fields", limits.max_header_fields as u64),
            (
                "limits.login_concurrency",
                limits.login_concurrency.unwrap_or(1) as u64,
            ),
            (
                "limits.login_queue_timeout_ms",
                limits.login_queue_timeout_ms,
            ),
            ("queue.expiry_secs", self.queue.expiry_secs),
            ("queue.max_received", self.queue.max_received as u64),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        if self.queue.retry_schedule_secs.is_empty() || self.queue.retry_schedule_secs.contains(&0)
        {
            return Err(invalid(
                "queue.retry_schedule_secs",
                "needs at least one delay, each greater than 0",
            ));
        }
        if self.recipient_delimiter.chars().count() > 1
            || self.recipient_delimiter.contains(['@', '"', '\\', ' '])
        {
            return Err(invalid(
                "recipient_delimiter",
                "must be one character (or empty to turn plus-addressing off)",
            ));
        }
        for (i, user) in self.users.iter().enumerate() {
            if let Err((field, message)) = self.validate_user(user) {
                return Err(invalid(&format!("users[{i}].{field}"), &message));
            }
        }
        if let Some(postmaster) = &self.postmaster {
            self.check_local_address(postmaster)
                .map_err(|m| invalid("postmaster", &m))?;
            if !self.users.is_empty()
                && !self
                    .users
                    .iter()
                    .any(|u| u.address.eq_ignore_ascii_case(postmaster))
            {
                return Err(invalid(
                    "postmaster",
                    &format!("`{postmaster}` is not a user"),
                ));
            }
        }
        for (alias, target) in &self.aliases {
            let key = format!("aliases.\"{alias}\"");
            // `@domain` is the catch-all of a local domain.
            let checked = match alias.strip_prefix('@') {
                Some(domain) if self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) => {
                    Ok(())
                }
                Some(domain) => Err(format!("`{domain}` is not one of `domains`")),
                None => self.check_local_address(alias),
            };
            if let Err(message) = checked {
                return Err(invalid(&key, &message));
            }
            let target = target.to_ascii_lowercase();
            if !self.users.is_empty()
                && !self
                    .users
                    .iter()
                    .any(|u| u.address.eq_ignore_ascii_case(&target))
            {
                return Err(invalid(&key, &format!("`{target}` is not a user")));
            }
        }
        Ok(())
    }

    /// Checks one user entry; the error names the field and what is wrong.
    pub fn validate_user(&self, user: &UserEntry) -> Result<(), (&'static str, String)> {
        self.check_local_address(&user.address)
            .map_err(|m| ("address", m))?;
        let hash = argon2::PasswordHash::new(&user.password_hash).map_err(|e| {
            (
                "password_hash",
                format!("not a PHC string from `post-office hash-password`: {e}"),
            )
        })?;
        crate::users::check_hash_params(&hash).map_err(|m| ("password_hash", m))?;
        Ok(())
    }

    /// Is `address` a simple address (`[a-z0-9._+-]+@<local domain>`) usable as a
    /// mailbox name?
    pub fn check_local_address(&self, address: &str) -> Result<(), String> {
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Err(format!("`{address}` is not an address"));
        };
        if local.is_empty()
            || local.len() > 64
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || !local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
        {
            return Err(format!(
                "`{address}`: the local part may use letters, digits, `.`, `_`, `-`, `+` only"
            ));
        }
        if self.send_only() {
            if !is_domain(domain) {
                return Err(format!("`{address}`: `{domain}` is not a domain name"));
            }
        } else if !self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return Err(format!("`{address}`: `{domain}` is not one of `domains`"));
        }
        Ok(())
    }

    /// No local domains: mail is only sent from here (submission and relaying), never
    /// stored. Users may then be in any domain.
    pub fn send_only(&self) -> bool {
        self.domains.is_empty()
    }

    /// The domains whose mail we sign with DKIM: the local domains and the domains of
    /// `users` (the same set unless the post office is send-only), lower case, each once.
    pub fn signing_domains(&self, users: &[UserEntry]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let users = users
            .iter()
            .filter_map(|u| u.address.rsplit_once('@').map(|(_, d)| d));
        for domain in self.domains.iter().map(String::as_str).chain(users) {
            let domain = domain.to_ascii_lowercase();
            if !out.contains(&domain) {
                out.push(domain);
            }
        }
        out
    }

    /// Every address we listen on, with its role.
    pub fn listeners(&self) -> Vec<(Role, SocketAddr)> {
        let mut out = Vec::new();
        for (role, listen) in [
            (Role::Smtp, &self.smtp.listen),
            (Role::Submission, &self.submission.listen),
            (Role::Submissions, &self.submissions.listen),
            (Role::Pop3, &self.pop3.listen),
            (Role::Pop3s, &self.pop3s.listen),
        ] {
            out.extend(listen.iter().map(|addr| (role, *addr)));
        }
        out
    }
}

/// What a listener does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// SMTP, MX role (STARTTLS offered).
    Smtp,
    /// Submission with STARTTLS.
    Submission,
    /// Submission over implicit TLS.
    Submissions,
    /// POP3 with STLS.
    Pop3,
    /// POP3 over implicit TLS.
    Pop3s,
}

impl Role {
    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Role::Smtp => "smtp",
            Role::Submission => "submission",
            Role::Submissions => "submissions",
            Role::Pop3 => "pop3",
            Role::Pop3s => "pop3s",
        }
    }
}

fn is_domain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$BhMvCJcQ4ix8KeyxYOaq1o6pmS6qGEGmQh0DvS4yUjk";

    #[test]
    fn the_embedded_default_is_valid() {
        let config = Config::load(None).unwrap();
        assert_eq!(config.hostname, "localhost");
        assert_eq!(config.domains, ["localhost"]);
        assert_eq!(config.listeners().len(), 3);
        assert!(config.listeners().iter().all(|(_, a)| a.ip().is_loopback()));
        assert!(!config.allow_plaintext_auth);
        assert_eq!(config.queue.expiry_secs, 5 * 24 * 3600);
        assert_eq!(config.outbound.port, 25);
    }

    #[test]
    fn an_unknown_key_names_the_key_and_the_file() {
        let text = format!("{EMBEDDED_DEFAULT}\n[limits]\nmax_mesage_size = 5\n");
        let err = Config::parse(&text, "po.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("po.toml"), "{err}");
        assert!(err.contains("max_mesage_size"), "{err}");
        let text = format!("bogus = 1\n{EMBEDDED_DEFAULT}");
        let err = Config::parse(&text, "x.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus") && err.contains("x.toml"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_key() {
        let text = format!(
            "{EMBEDDED_DEFAULT}\n[[users]]\naddress = \"../x@localhost\"\npassword_hash = \"{HASH}\"\n"
        );
        let err = Config::parse(&text, "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("users[0].address"), "{err}");
        let text = format!(
            "{EMBEDDED_DEFAULT}\n[[users]]\naddress = \"a@elsewhere\"\npassword_hash = \"{HASH}\"\n"
        );
        let err = Config::parse(&text, "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not one of `domains`"), "{err}");
        let text = format!(
            "{EMBEDDED_DEFAULT}\n[[users]]\naddress = \"a@localhost\"\npassword_hash = \"secret\"\n"
        );
        let err = Config::parse(&text, "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("users[0].password_hash"), "{err}");
        let text = EMBEDDED_DEFAULT.replace("[\"localhost\"]", "[\"not a domain\"]");
        let err = Config::parse(&text, "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`domains[0]`"), "{err}");
        // No domains at all is a send-only post office, not an error.
        let text = EMBEDDED_DEFAULT.replace("[\"localhost\"]", "[]");
        assert!(
            Config::parse(&text, "f.toml", Path::new("/"))
                .unwrap()
                .send_only()
        );
    }

    #[test]
    fn catch_all_aliases_name_a_local_domain() {
        let base = format!(
            "{EMBEDDED_DEFAULT}[[users]]\naddress = \"a@localhost\"\npassword_hash = \"{HASH}\"\n"
        );
        let ok = format!("{base}[aliases]\n\"@localhost\" = \"a@localhost\"\n");
        assert!(Config::parse(&ok, "t", Path::new("/")).is_ok());
        let bad = format!("{base}[aliases]\n\"@elsewhere.test\" = \"a@localhost\"\n");
        let e = Config::parse(&bad, "t", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("elsewhere.test"), "{e}");
    }

    #[test]
    fn outbound_session_and_destination_settings_have_defaults_and_bounds() {
        let with = |extra: &str| {
            let text = EMBEDDED_DEFAULT.to_owned() + "[outbound]\n" + extra;
            Config::parse(&text, "t", Path::new("/"))
        };
        let c = with("").unwrap();
        let o = &c.outbound;
        assert_eq!(
            (
                o.initial_destination_concurrency,
                o.destination_concurrency,
                o.destination_rate_delay_ms,
                o.destination_failure_limit,
                o.destination_backoff_secs,
                o.session_idle_secs,
                o.session_max_messages
            ),
            (5, 20, 0, 3, 60, 5, 100)
        );
        let c = with(
            "destination_concurrency_limit = 7\ninitial_destination_concurrency = 2\n\
             destination_rate_delay_ms = 250\nsession_idle_secs = 0\nsession_max_messages = 1\n",
        )
        .unwrap();
        assert_eq!(c.outbound.destination_concurrency, 7);
        assert_eq!(c.outbound.destination_rate_delay_ms, 250);
        assert_eq!(c.outbound.session_idle_secs, 0);
        for bad in [
            "session_max_messages = 0",
            "initial_destination_concurrency = 0",
            "destination_failure_limit = 0",
            "destination_backoff_secs = 0",
        ] {
            let key = bad.split(' ').next().unwrap();
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("outbound.{key}")), "{bad}: {e}");
        }
        let e = with("session_idle = 5").unwrap_err().to_string();
        assert!(e.contains("session_idle"), "{e}");
    }

    #[test]
    fn relay_settings_are_checked_and_paths_follow_the_file() {
        let with = |extra: &str| {
            let text = EMBEDDED_DEFAULT.to_owned() + "[outbound]\n" + extra;
            Config::parse(&text, "t", Path::new("/etc/po"))
        };
        let c = with(
            "relay = \"smarthost.example:587\"\nrelay_user = \"me\"\n\
             relay_password_file = \"pw\"\nrelay_ca_file = \"/ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(
            c.outbound.relay_password_file.as_deref(),
            Some(Path::new("/etc/po/pw"))
        );
        assert_eq!(
            c.outbound.relay_ca_file.as_deref(),
            Some(Path::new("/ca.pem"))
        );
        for bad in [
            "relay = \"nohost\"\n",
            "relay = \"h:1\"\nrelay_user = \"me\"\n",
            "relay_user = \"me\"\nrelay_password_file = \"pw\"\n",
        ] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("outbound.relay"), "{bad}: {e}");
        }
    }

    #[test]
    fn lmtp_targets_are_checked() {
        let with = |v: &str| {
            let text = format!("{EMBEDDED_DEFAULT}[delivery]\nlmtp = \"{v}\"\n");
            Config::parse(&text, "t", Path::new("/"))
        };
        assert_eq!(
            with("unix:/run/dovecot/lmtp")
                .unwrap()
                .delivery
                .lmtp_target(),
            Some(LmtpTarget::Unix("/run/dovecot/lmtp".into()))
        );
        assert_eq!(
            with("127.0.0.1:24").unwrap().delivery.lmtp_target(),
            Some(LmtpTarget::Tcp("127.0.0.1:24".into()))
        );
        for bad in ["unix:relative", "nohost", "host:notaport", ":24"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("delivery.lmtp"), "{bad}: {e}");
        }
    }

    #[test]
    fn auth_actions_parse_and_default() {
        let base = Config::parse(EMBEDDED_DEFAULT, "t", Path::new("/")).unwrap();
        assert_eq!(base.auth.spf, SpfAction::Record);
        assert_eq!(base.auth.dmarc, DmarcAction::Enforce);
        let text = format!("{EMBEDDED_DEFAULT}[auth]\nspf = \"reject-fail\"\ndmarc = \"record\"\n");
        let c = Config::parse(&text, "t", Path::new("/")).unwrap();
        assert_eq!(
            (c.auth.spf, c.auth.dmarc),
            (SpfAction::RejectFail, DmarcAction::Record)
        );
        let bad = format!("{EMBEDDED_DEFAULT}[auth]\nspf = \"reject\"\n");
        assert!(Config::parse(&bad, "t", Path::new("/")).is_err());
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let text = format!("{EMBEDDED_DEFAULT}\n[tls]\ncert = \"c.pem\"\nkey = \"/abs/k.pem\"\n");
        let config = Config::parse(&text, "f.toml", Path::new("/etc/po")).unwrap();
        assert_eq!(config.data_dir, Path::new("/etc/po/post-office-data"));
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert, Path::new("/etc/po/c.pem"));
        assert_eq!(tls.key, Path::new("/abs/k.pem"));
    }

    #[test]
    fn retry_delays_grow_then_stay() {
        let q = QueueSettings::default();
        assert_eq!(q.retry_delay(1), Duration::from_secs(60));
        assert_eq!(q.retry_delay(2), Duration::from_secs(300));
        assert_eq!(q.retry_delay(100), Duration::from_secs(14400));
    }

    #[test]
    fn aliases_must_point_at_users() {
        let text = format!(
            "{EMBEDDED_DEFAULT}\n[aliases]\n\"sales@localhost\" = \"nobody@localhost\"\n[[users]]\naddress = \"a@localhost\"\npassword_hash = \"{HASH}\"\n"
        );
        let err = Config::parse(&text, "f.toml", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("aliases") && err.contains("not a user"),
            "{err}"
        );
    }
}
