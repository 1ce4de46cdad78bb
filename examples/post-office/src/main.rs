//! post-office: a small, real mail server composed from the postwerk crates.
//!
//! `main` is the composition: configuration, users, TLS, storage and the queue, the
//! listeners, shutdown. Every SMTP and POP3 byte goes through the sans-IO machines of
//! `postwerk-smtp` and `postwerk-pop3`; the files here are drivers, policy and storage.

mod config;
mod maildir;
mod queue;
mod tls;
mod users;

use std::io::{self, BufRead};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(io::stderr).init();
}

fn run(config: Config) -> io::Result<()> {
    let (entries, created) = users::load_users(&config)?;
    if let Some((address, password)) = created {
        println!("created user {address} with password {password} (shown only this once)");
    }
    let _users = users::Users::new(&config, &entries);
    let _tls = tls::server_config(&config)?;
    let _client_tls = tls::opportunistic_client_config()?;
    let store = queue::QueueStore::open(config.data_dir.join("queue"))?;
    let _ = store.scan()?;
    let _ = queue::free_bytes(&config.data_dir)?;
    let _ = maildir::MaildirStore::new(config.data_dir.join("mail"), &config.hostname);
    Ok(())
}
