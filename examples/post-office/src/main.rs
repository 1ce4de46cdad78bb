//! post-office: a small, real mail server composed from the postwerk crates.
//!
//! `main` is the composition: configuration, users, TLS, storage and the queue, the
//! listeners, shutdown. Every SMTP and POP3 byte goes through the sans-IO machines of
//! `postwerk-smtp` and `postwerk-pop3`; the files here are drivers, policy and storage.

mod bounce;
mod config;
mod delivery;
mod listen;
mod login_budget;
mod maildir;
mod net;
mod outbound;
mod pop3;
mod pregreet;
mod queue;
mod scheduler;
mod smtp;
mod tls;
mod users;

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::config::Config;

/// A small mail server: SMTP (MX and submission), a durable queue, Maildir, POP3.
#[derive(Debug, Parser)]
#[command(name = "post-office", version)]
struct Cli {
    /// The configuration file (TOML). Without it, the embedded default runs: loopback
    /// only, unprivileged ports, data in ./post-office-data.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read one line (a password) on stdin and print its argon2id PHC string.
    HashPassword,
    /// Validate the configuration and exit.
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::HashPassword) => hash_password(),
        Some(Command::CheckConfig) => match Config::load(cli.config.as_deref()) {
            Ok(config) => {
                println!(
                    "configuration OK: {} listener(s), domains {}",
                    config.listeners().len(),
                    config.domains.join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("post-office: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            let config = match Config::load(cli.config.as_deref()) {
                Ok(config) => config,
                Err(e) => {
                    eprintln!("post-office: {e}");
                    return ExitCode::FAILURE;
                }
            };
            init_logging();
            match run(config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("post-office: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = io::stdin().lock().read_line(&mut line) {
        eprintln!("post-office: reading the password: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("post-office: the password is empty");
        return ExitCode::FAILURE;
    }
    match users::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("post-office: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .init();
}

fn run(config: Config) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

/// Wires everything together, runs until SIGTERM or SIGINT, then shuts down gracefully:
/// listeners stop, connections get a grace period to finish their transaction, the queue
/// runner finishes the attempts in flight.
async fn serve(config: Config) -> io::Result<()> {
    // Handlers first: a SIGTERM that arrives while starting up still shuts down cleanly.
    let signals = Signals::install()?;
    maildir::create_dir_durable(&config.data_dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", config.data_dir.display())))?;
    let (entries, created) = users::load_users(&config)?;
    if let Some((address, password)) = created {
        println!("Created user {address} with password {password}");
        println!(
            "This password is shown only once; its hash is in {}",
            config.data_dir.join("users.toml").display()
        );
    }
    let config = Arc::new(config);
    let users = Arc::new(users::Users::new(&config, &entries));
    let tls = tls::server_config(&config)?;
    let client_tls = tls::opportunistic_client_config()?;
    let store = Arc::new(queue::QueueStore::open(config.data_dir.join("queue"))?);
    let maildirs = Arc::new(maildir::MaildirStore::new(
        config.data_dir.join("mail"),
        &config.hostname,
    ));
    let resolver = resolver(&config)?;

    let mut listeners = Vec::new();
    for (role, addr) in config.listeners() {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        info!(role = role.name(), %addr, "listening");
        listeners.push((role, listener));
    }
    let own_addresses: Vec<std::net::IpAddr> =
        config.listeners().iter().map(|(_, a)| a.ip()).collect();

    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let app = Arc::new(listen::App {
        config: config.clone(),
        users: users.clone(),
        maildirs: maildirs.clone(),
        store: store.clone(),
        queue_tx: queue_tx.clone(),
        tls,
        pop3_locks: Mutex::new(HashSet::new()),
        connections: Mutex::new(HashMap::new()),
        login: login_budget::LoginBudget::new(&config.limits),
        pregreet: pregreet::PassCache::new(&config.smtp),
    });
    let deliverer = Arc::new(delivery::Deliverer {
        config: config.clone(),
        store,
        maildirs,
        users,
        resolver,
        dialer: outbound::Dialer::new(config.clone(), client_tls, own_addresses),
        lanes: scheduler::Lanes::new(&config),
        notify: queue_tx,
    });
    info!(
        users = app.users.len(),
        "post office {} ready", config.hostname
    );
    // The listeners are bound; the queue is scanned behind them (envelopes and states
    // only), handing messages to the runner as they are found.
    let (scanned_tx, scanned_rx) = mpsc::channel(1024);
    let scan_store = deliverer.store.clone();
    tokio::task::spawn_blocking(move || {
        let mut count = 0usize;
        let scanned = scan_store.scan_each(
            |queued| {
                count += 1;
                let _ = scanned_tx.blocking_send(queued);
            },
            |id, reason| {
                warn!(
                    queue_id = id,
                    reason, "corrupt queue file moved to queue/corrupt"
                )
            },
        );
        match scanned {
            Ok(()) => info!(queued = count, "queue scanned"),
            Err(e) => warn!(error = %e, "queue scan failed"),
        }
    });
    let queue = tokio::spawn(scheduler::run(
        deliverer,
        scanned_rx,
        queue_rx,
        shutdown_rx.clone(),
    ));
    let connections = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
    let mut accept_loops = JoinSet::new();
    for (role, listener) in listeners {
        accept_loops.spawn(listen::serve(
            app.clone(),
            role,
            listener,
            connections.clone(),
            shutdown_rx.clone(),
        ));
    }

    signals.wait().await;
    info!("shutting down");
    let _ = shutdown_tx.send(true);
    while accept_loops.join_next().await.is_some() {}
    let mut connections = connections.lock().await;
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("closing connections still open after the grace period");
        connections.abort_all();
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, queue).await.is_err() {
        warn!("delivery attempts still running after the grace period; they resume after restart");
    }
    info!("stopped");
    Ok(())
}

/// How long connections and delivery attempts get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

fn resolver(config: &Config) -> io::Result<postwerk_mx::resolver::Resolver> {
    use postwerk_mx::resolver::{Resolver, ResolverConfig};
    let mut options = postwerk_mx::Options::default();
    options.local_hosts.push(config.hostname.clone());
    if config.dns.servers.is_empty() {
        return Resolver::from_system_conf(options)
            .map_err(|e| io::Error::new(e.kind(), format!("/etc/resolv.conf: {e}")));
    }
    let mut resolver = ResolverConfig::new(config.dns.servers.clone());
    resolver.options = options;
    Ok(Resolver::new(resolver))
}

/// SIGTERM and SIGINT.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
