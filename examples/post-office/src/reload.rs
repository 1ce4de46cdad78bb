//! Reloading on SIGHUP: the configuration file, the users (from it or `users.toml`), the
//! aliases and the certificate are read again, and a new `App` (for new connections) and
//! `Deliverer` (for new delivery attempts) replace the old ones. Open sessions and
//! attempts in flight keep what they started with, so nothing is dropped.
//!
//! A new configuration that does not validate, users that do not load, or a certificate
//! that does not load are logged and the old configuration kept, whole. Settings that only
//! take effect at start (the listening addresses, `data_dir`, `[metrics] listen`,
//! `log_format`, the login budget, the greeting pause, the delivery concurrency) keep
//! their running values, and the log names each changed one as needing a restart.
//!
//! State that outlives a configuration is shared by every generation: the connection
//! counts, the POP3 mailbox locks, the login budget, the early-talker pass cache, the
//! delivery lanes, the outbound destinations and parked sessions, the queue.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::delivery::Deliverer;
use crate::listen::App;
use crate::maildir::MaildirStore;
use crate::queue::QueueStore;
use crate::scheduler::Lanes;
use crate::users::Users;

/// What every generation of `App` and `Deliverer` shares.
#[derive(Debug)]
pub struct Shared {
    /// The queue.
    pub store: Arc<QueueStore>,
    /// Local mailboxes.
    pub maildirs: Arc<MaildirStore>,
    /// New queue entries for the runner.
    pub queue_tx: mpsc::UnboundedSender<String>,
    /// POP3 mailbox locks.
    pub pop3_locks: Arc<Mutex<HashSet<String>>>,
    /// Open connections per client address.
    pub connections: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// The login budget.
    pub login: Arc<crate::login_budget::LoginBudget>,
    /// The early-talker pass cache.
    pub pregreet: Arc<crate::pregreet::PassCache>,
    /// The delivery lanes.
    pub lanes: Arc<Lanes>,
    /// What each outbound destination has learned (window, backoff).
    pub destinations: Arc<crate::destinations::Destinations>,
    /// Outbound sessions parked between messages.
    pub sessions: Arc<crate::sessions::SessionCache>,
    /// Outbound TLS.
    pub client_tls: Arc<rustls::ClientConfig>,
    /// The addresses we listen on (an MX there is a loop).
    pub own_addresses: Vec<IpAddr>,
}

impl Shared {
    /// The shared state for a first configuration.
    pub fn new(
        config: &Config,
        store: Arc<QueueStore>,
        queue_tx: mpsc::UnboundedSender<String>,
        client_tls: Arc<rustls::ClientConfig>,
        own_addresses: Vec<IpAddr>,
    ) -> io::Result<Shared> {
        Ok(Shared {
            store,
            maildirs: Arc::new(MaildirStore::new(
                config.data_dir.join("mail"),
                &config.hostname,
            )?),
            queue_tx,
            pop3_locks: Arc::default(),
            connections: Arc::default(),
            login: Arc::new(crate::login_budget::LoginBudget::new(&config.limits)),
            pregreet: Arc::new(crate::pregreet::PassCache::new(&config.smtp)),
            lanes: Arc::new(Lanes::new(config)),
            destinations: Arc::default(),
            sessions: Arc::default(),
            client_tls,
            own_addresses,
        })
    }

    /// The `App` of one generation.
    pub fn app(
        &self,
        config: Arc<Config>,
        users: Arc<Users>,
        tls: Arc<rustls::ServerConfig>,
        dkim: Arc<crate::dkim::DkimKeys>,
        resolver: postwerk_mx::resolver::Resolver,
    ) -> App {
        App {
            dkim,
            resolver,
            config,
            users,
            maildirs: self.maildirs.clone(),
            store: self.store.clone(),
            queue_tx: self.queue_tx.clone(),
            tls,
            pop3_locks: self.pop3_locks.clone(),
            connections: self.connections.clone(),
            login: self.login.clone(),
            pregreet: self.pregreet.clone(),
        }
    }

    /// The `Deliverer` of one generation.
    pub fn deliverer(
        &self,
        config: Arc<Config>,
        users: Arc<Users>,
        resolver: postwerk_mx::resolver::Resolver,
    ) -> Deliverer {
        Deliverer {
            config: config.clone(),
            store: self.store.clone(),
            maildirs: self.maildirs.clone(),
            users,
            resolver,
            dialer: crate::outbound::Dialer::new(
                config,
                self.client_tls.clone(),
                self.own_addresses.clone(),
                self.sessions.clone(),
            ),
            lanes: self.lanes.clone(),
            destinations: self.destinations.clone(),
            sessions: self.sessions.clone(),
            notify: self.queue_tx.clone(),
        }
    }
}

/// Reloads on request (SIGHUP).
#[derive(Debug)]
pub struct Reloader {
    /// The configuration file (`None`: the embedded default).
    pub path: Option<PathBuf>,
    /// The shared state.
    pub shared: Shared,
    /// The configuration in force.
    pub current: Arc<Config>,
    /// New connections get the `App` in here.
    pub apps: watch::Sender<Arc<App>>,
    /// New delivery attempts get the `Deliverer` in here.
    pub deliverers: watch::Sender<Arc<Deliverer>>,
}

impl Reloader {
    /// Reads everything again and switches to it, or logs why not and keeps the old.
    pub fn reload(&mut self) {
        info!("reloading the configuration");
        match self.try_reload() {
            Ok(restart) => {
                crate::metrics::count(&crate::metrics::METRICS.reloads);
                if restart.is_empty() {
                    info!("configuration reloaded");
                } else {
                    warn!(
                        needs_restart = restart.join(", "),
                        "configuration reloaded; these changes take effect only after a restart"
                    );
                }
            }
            Err(e) => {
                crate::metrics::count(&crate::metrics::METRICS.reload_failures);
                error!(error = %e, "reload failed; keeping the old configuration");
            }
        }
    }

    fn try_reload(&mut self) -> io::Result<Vec<&'static str>> {
        let mut config = Config::load(self.path.as_deref())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let restart = keep_start_only(&self.current, &mut config);
        let (entries, created) = crate::users::load_users(&config)?;
        if let Some((address, password)) = created {
            // users.toml was deleted: as at the first start, the new password goes to
            // stdout once, never to the log.
            println!("Created user {address} with password {password}");
            warn!(
                user = address,
                "users.toml was missing and has been created again; the password is on stdout"
            );
        }
        let tls = crate::tls::server_config(&config)?;
        let resolver = crate::resolver(&config)?;
        let dkim = Arc::new(crate::dkim::DkimKeys::load_or_generate(
            &config.data_dir,
            &config.signing_domains(&entries),
        )?);
        let config = Arc::new(config);
        let users = Arc::new(Users::new(&config, &entries));
        let app = self
            .shared
            .app(config.clone(), users.clone(), tls, dkim, resolver.clone());
        let deliverer = self.shared.deliverer(config.clone(), users, resolver);
        let _ = self.apps.send(Arc::new(app));
        let _ = self.deliverers.send(Arc::new(deliverer));
        info!(
            users = entries.len(),
            "users, aliases, certificate and DKIM keys loaded"
        );
        self.current = config;
        Ok(restart)
    }
}

/// Puts the running values of the settings that change only at start into `new`, and
/// names those that differ.
fn keep_start_only(old: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let differs =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    if differs(&old.listeners(), &new.listeners()) {
        changed.push("listen addresses");
    }
    new.smtp.listen = old.smtp.listen.clone();
    new.submission.listen = old.submission.listen.clone();
    new.submissions.listen = old.submissions.listen.clone();
    new.pop3.listen = old.pop3.listen.clone();
    new.pop3s.listen = old.pop3s.listen.clone();
    if old.data_dir != new.data_dir {
        changed.push("data_dir");
        new.data_dir = old.data_dir.clone();
    }
    if old.metrics.listen != new.metrics.listen {
        changed.push("metrics.listen");
        new.metrics.listen = old.metrics.listen.clone();
    }
    if old.log_format != new.log_format {
        changed.push("log_format");
        new.log_format = old.log_format;
    }
    let login = |c: &Config| {
        (
            c.limits.login_concurrency,
            c.limits.login_queue_timeout_ms,
            c.limits.login_penalty_ms,
            c.limits.login_penalty_max_ms,
        )
    };
    if login(old) != login(new) {
        changed.push("limits.login_*");
    }
    if (old.smtp.pregreet_delay_ms, old.smtp.pregreet_pass_ttl_secs)
        != (new.smtp.pregreet_delay_ms, new.smtp.pregreet_pass_ttl_secs)
    {
        changed.push("smtp.pregreet_*");
    }
    // The lanes are built once; the per-destination settings (window, rate delay,
    // backoff) come from the deliverer's configuration at each delivery, so a reload
    // changes them at once.
    if (old.queue.local_concurrency, old.outbound.concurrency)
        != (new.queue.local_concurrency, new.outbound.concurrency)
    {
        changed.push("queue.local_concurrency, outbound.concurrency");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EMBEDDED_DEFAULT;

    #[test]
    fn start_only_settings_keep_their_running_values() {
        let old = Config::parse(EMBEDDED_DEFAULT, "t", std::path::Path::new("/a")).unwrap();
        let text = EMBEDDED_DEFAULT.replace("2525", "2526")
            + "log_format = \"json\"\n[metrics]\nlisten = [\"127.0.0.1:9587\"]\n";
        // log_format after a table would belong to it: put it first.
        let text = format!(
            "log_format = \"json\"\n{}",
            text.replace("log_format = \"json\"\n", "")
        );
        let mut new = Config::parse(&text, "t", std::path::Path::new("/b")).unwrap();
        let changed = keep_start_only(&old, &mut new);
        assert_eq!(
            changed,
            [
                "listen addresses",
                "data_dir",
                "metrics.listen",
                "log_format"
            ]
        );
        assert_eq!(new.smtp.listen, old.smtp.listen);
        assert_eq!(new.data_dir, old.data_dir);
        assert!(new.metrics.listen.is_empty());
        let mut same = old.clone();
        assert!(keep_start_only(&old, &mut same).is_empty());
        // Per-destination settings apply at the next delivery: not restart-only.
        let mut per_destination = old.clone();
        per_destination.outbound.destination_concurrency = 3;
        per_destination.outbound.initial_destination_concurrency = 1;
        assert!(keep_start_only(&old, &mut per_destination).is_empty());
        let mut lanes = old.clone();
        lanes.outbound.concurrency = 7;
        assert_eq!(
            keep_start_only(&old, &mut lanes),
            ["queue.local_concurrency, outbound.concurrency"]
        );
    }
}
