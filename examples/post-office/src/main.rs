//! post-office: a small, real mail server composed from the postwerk crates.
//!
//! `main` is the composition: configuration, users, TLS, storage and the queue, the
//! listeners, shutdown. Every SMTP and POP3 byte goes through the sans-IO machines of
//! `postwerk-smtp` and `postwerk-pop3`; the files here are drivers, policy and storage.

mod bounce;
mod clock;
mod config;
mod control;
mod delivery;
mod destinations;
mod dkim;
mod driver;
mod durable;
mod listen;
mod local;
mod login_budget;
mod maildir;
mod metrics;
mod net;
mod outbound;
mod pop3;
mod pregreet;
mod queue;
mod reload;
mod remote;
mod scheduler;
mod sender_auth;
mod sessions;
mod smtp;
mod systemd;
mod tls;
mod users;

use std::io::{self, BufRead};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
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
    /// Look at and act on the queue of the running post office (through its control
    /// socket, `data_dir/control.sock`).
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Print the DNS TXT records that publish a local domain's DKIM keys (the keys are
    /// generated into `data_dir/dkim/DOMAIN/` if they do not exist yet).
    DkimRecord {
        /// A local domain.
        domain: String,
    },
}

/// `post-office queue ...`.
#[derive(Debug, Subcommand)]
enum QueueAction {
    /// One line per queued message: id, age, size, sender, recipients with their state,
    /// attempts, next attempt, last error.
    List {
        /// One JSON object per line instead.
        #[arg(long)]
        json: bool,
    },
    /// Envelope, per-recipient state and history, and the header of one message.
    Show { id: String },
    /// Attempt now: one message, or every message (except held ones) without an ID.
    Flush { id: Option<String> },
    /// Remove a message from the queue, without a bounce.
    Delete { id: String },
    /// Do not attempt a message until it is released (survives a restart).
    Hold { id: String },
    /// Release a held message and attempt it now.
    Release { id: String },
    /// Return a message to its sender now, with a delivery status notification.
    Bounce { id: String },
}

fn queue_command(config: Option<&std::path::Path>, action: QueueAction) -> ExitCode {
    let config = match Config::load(config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("post-office: {e}");
            return ExitCode::FAILURE;
        }
    };
    let request = match action {
        QueueAction::List { json: false } => "list".to_owned(),
        QueueAction::List { json: true } => "list json".to_owned(),
        QueueAction::Show { id } => format!("show {id}"),
        QueueAction::Flush { id: None } => "flush".to_owned(),
        QueueAction::Flush { id: Some(id) } => format!("flush {id}"),
        QueueAction::Delete { id } => format!("delete {id}"),
        QueueAction::Hold { id } => format!("hold {id}"),
        QueueAction::Release { id } => format!("release {id}"),
        QueueAction::Bounce { id } => format!("bounce {id}"),
    };
    if request.contains(['\n', '\r']) {
        eprintln!("post-office: a queue id is one word");
        return ExitCode::FAILURE;
    }
    match control::request(&config.data_dir, &request) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("post-office: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dkim_record(config: Option<&std::path::Path>, domain: &str) -> ExitCode {
    let config = match Config::load(config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("post-office: {e}");
            return ExitCode::FAILURE;
        }
    };
    let users = match users::existing_users(&config) {
        Ok(users) => users.unwrap_or_default(),
        Err(e) => {
            eprintln!("post-office: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signing = config.signing_domains(&users);
    let Some(domain) = signing
        .iter()
        .find(|d| d.eq_ignore_ascii_case(domain.trim_end_matches('.')))
    else {
        eprintln!(
            "post-office: {domain} is not a domain we sign for (local domains and the \
             domains of users: {})",
            signing.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let keys = maildir::create_dir_durable(&config.data_dir).and_then(|()| {
        dkim::DkimKeys::load_or_generate(&config.data_dir, std::slice::from_ref(domain))
    });
    match keys.map(|k| k.dns_records(domain)) {
        Ok(Some(records)) => {
            for r in records {
                println!("{r}");
            }
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("post-office: DKIM keys of {domain}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::DkimRecord { domain }) => dkim_record(cli.config.as_deref(), &domain),
        Some(Command::HashPassword) => hash_password(),
        Some(Command::Queue { action }) => queue_command(cli.config.as_deref(), action),
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
            init_logging(config.log_format);
            match run(config, cli.config) {
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

fn init_logging(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    match format {
        config::LogFormat::Text => builder.with_ansi(io::stderr().is_terminal()).init(),
        config::LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}

fn run(config: Config, path: Option<PathBuf>) -> io::Result<()> {
    // Before the runtime starts threads: taking the sockets edits the environment.
    let activated = systemd::activated_listeners()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config, path, activated))
}

/// Wires everything together, runs until SIGTERM or SIGINT, then shuts down gracefully:
/// listeners stop, connections get a grace period to finish their transaction, the queue
/// runner finishes the attempts in flight. SIGHUP reloads (see [`reload`]).
async fn serve(
    config: Config,
    path: Option<PathBuf>,
    mut activated: Vec<(String, std::net::TcpListener)>,
) -> io::Result<()> {
    // Handlers first: a SIGTERM that arrives while starting up still shuts down cleanly.
    let mut signals = Signals::install()?;
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
    let control_listener = control::bind(&config.data_dir)?;
    let resolver = resolver(&config)?;
    let dkim = Arc::new(dkim::DkimKeys::load_or_generate(
        &config.data_dir,
        &config.signing_domains(&entries),
    )?);

    // Sockets passed by systemd replace the configured addresses of their role.
    let mut listeners = Vec::new();
    for role in [
        config::Role::Smtp,
        config::Role::Submission,
        config::Role::Submissions,
        config::Role::Pop3,
        config::Role::Pop3s,
    ] {
        let mine: Vec<std::net::TcpListener> = take_named(&mut activated, role.name());
        if !mine.is_empty() {
            for listener in mine {
                let listener = TcpListener::from_std(listener)?;
                info!(role = role.name(), addr = %listener.local_addr()?, "listening (socket activation)");
                listeners.push((role, listener));
            }
            continue;
        }
        for (_, addr) in config.listeners().into_iter().filter(|(r, _)| *r == role) {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            info!(role = role.name(), %addr, "listening");
            listeners.push((role, listener));
        }
    }
    let mut metrics_listeners = Vec::new();
    for listener in take_named(&mut activated, "metrics") {
        metrics_listeners.push(TcpListener::from_std(listener)?);
    }
    if metrics_listeners.is_empty() {
        for addr in &config.metrics.listen {
            metrics_listeners.push(TcpListener::bind(addr).await.map_err(|e| {
                io::Error::new(e.kind(), format!("cannot listen on {addr} (metrics): {e}"))
            })?);
        }
    }
    for (name, _) in &activated {
        warn!(
            name,
            "ignoring a socket passed by the service manager: not a listener name"
        );
    }
    let own_addresses: Vec<std::net::IpAddr> = listeners
        .iter()
        .filter_map(|(_, l)| l.local_addr().ok())
        .map(|a| a.ip())
        .collect();

    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::channel(64);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shared = reload::Shared::new(
        &config,
        store.clone(),
        queue_tx.clone(),
        client_tls,
        own_addresses,
    )?;
    let app = Arc::new(shared.app(config.clone(), users.clone(), tls, dkim, resolver.clone()));
    let deliverer = Arc::new(shared.deliverer(config.clone(), users, resolver));
    let (apps_tx, apps_rx) = watch::channel(app.clone());
    let (deliverers_tx, deliverers_rx) = watch::channel(deliverer);
    let mut reloader = reload::Reloader {
        path,
        shared,
        current: config.clone(),
        apps: apps_tx,
        deliverers: deliverers_tx,
    };
    info!(
        users = app.users.len(),
        "post office {} ready", config.hostname
    );
    // The listeners are bound; the queue is scanned behind them (envelopes and states
    // only), handing messages to the runner as they are found.
    let (scanned_tx, scanned_rx) = mpsc::channel(1024);
    let scan_store = store.clone();
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
        deliverers_rx,
        scanned_rx,
        queue_rx,
        commands_rx,
        shutdown_rx.clone(),
    ));
    let control = Arc::new(control::Control {
        store: store.clone(),
        commands: commands_tx,
        queue_tx,
    });
    let control_task = tokio::spawn(control::serve(
        control_listener,
        control::socket_path(&config.data_dir),
        control,
        shutdown_rx.clone(),
    ));
    for listener in metrics_listeners {
        tokio::spawn(metrics::serve(listener, store.clone(), shutdown_rx.clone()));
    }
    let connections = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
    let mut accept_loops = JoinSet::new();
    for (role, listener) in listeners {
        accept_loops.spawn(listen::serve(
            apps_rx.clone(),
            role,
            listener,
            connections.clone(),
            shutdown_rx.clone(),
        ));
    }
    systemd::notify("READY=1\nSTATUS=accepting mail");

    while let Signal::Hangup = signals.wait().await {
        systemd::notify("RELOADING=1");
        // Reading files and building the user table block: keep the runtime's other
        // tasks going meanwhile.
        tokio::task::block_in_place(|| reloader.reload());
        systemd::notify("READY=1");
    }
    systemd::notify("STOPPING=1");
    info!("shutting down");
    let _ = shutdown_tx.send(true);
    let _ = control_task.await;
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

/// Takes the activated sockets named `name` out of `activated`.
fn take_named(
    activated: &mut Vec<(String, std::net::TcpListener)>,
    name: &str,
) -> Vec<std::net::TcpListener> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(activated)
        .into_iter()
        .partition(|(n, _)| n == name);
    *activated = rest;
    mine.into_iter().map(|(_, l)| l).collect()
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

/// SIGTERM and SIGINT (stop), SIGHUP (reload).
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

/// What a signal asks for.
enum Signal {
    Stop,
    Hangup,
}

impl Signals {
    fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn wait(&mut self) -> Signal {
        tokio::select! {
            _ = self.term.recv() => Signal::Stop,
            _ = self.int.recv() => Signal::Stop,
            _ = self.hup.recv() => Signal::Hangup,
        }
    }
}
