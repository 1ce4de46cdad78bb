//! The user table: logins, password checks, and the only way from an address to a mailbox.
//!
//! A local part never becomes a path: it is looked up (case-insensitively, after removing a
//! `+tag` and following aliases) in the table built from the configuration, and only the
//! table's own, validated address names a Maildir (SECURITY.md 19).
//!
//! Passwords are argon2 PHC strings. `post-office hash-password` writes argon2id, version
//! 0x13, with [`ARGON2_M_COST_KIB`] KiB of memory, [`ARGON2_T_COST`] passes and
//! [`ARGON2_P_COST`] lane (OWASP's first recommended set), a 16-byte random salt and a
//! 32-byte output. Verification uses the algorithm and parameters stored in each hash;
//! hashes whose parameters exceed [`MAX_M_COST_KIB`], [`MAX_T_COST`] or [`MAX_P_COST`]
//! are refused when the configuration is loaded, so that the login budget
//! (`crate::login_budget`) bounds memory: at most `login_concurrency` ×
//! `MAX_M_COST_KIB` KiB are in use for hashing at any time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::Rng;

use crate::config::{Config, UserEntry, UsersFile};

/// Memory of a new hash, in KiB (19 MiB).
pub const ARGON2_M_COST_KIB: u32 = 19 * 1024;
/// Passes (iterations) of a new hash.
pub const ARGON2_T_COST: u32 = 2;
/// Lanes of a new hash.
pub const ARGON2_P_COST: u32 = 1;
/// Largest memory parameter a configured hash may have, in KiB (64 MiB).
pub const MAX_M_COST_KIB: u32 = 64 * 1024;
/// Most passes a configured hash may have.
pub const MAX_T_COST: u32 = 16;
/// Most lanes a configured hash may have.
pub const MAX_P_COST: u32 = 8;

/// The hasher for new passwords, with the parameters above.
fn hasher() -> Result<Argon2<'static>, argon2::password_hash::Error> {
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, Some(32))
        .map_err(argon2::password_hash::Error::from)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Checks that a stored hash is argon2 with parameters inside the documented bounds.
pub fn check_hash_params(hash: &PasswordHash<'_>) -> Result<(), String> {
    Algorithm::try_from(hash.algorithm).map_err(|_| {
        format!(
            "`{}` is not argon2 (use `post-office hash-password`)",
            hash.algorithm
        )
    })?;
    let params = Params::try_from(hash).map_err(|e| format!("bad argon2 parameters: {e}"))?;
    if params.m_cost() > MAX_M_COST_KIB
        || params.t_cost() > MAX_T_COST
        || params.p_cost() > MAX_P_COST
    {
        return Err(format!(
            "argon2 parameters m={},t={},p={} exceed the limits m={MAX_M_COST_KIB},t={MAX_T_COST},p={MAX_P_COST}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    Ok(())
}

/// What an envelope address means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not one of our domains.
    NotLocal,
    /// Our domain, no such user.
    Unknown,
    /// Our domain, but the local part carries a routing trick (`%`, `!`, `@`, `/`, ...).
    Routing,
    /// Delivered to the mailbox of this user (the canonical address).
    Mailbox(String),
}

/// The table.
#[derive(Debug)]
pub struct Users {
    /// Canonical (lower-case) address → PHC hash.
    hashes: HashMap<String, String>,
    /// Lower-case alias address → canonical user address.
    aliases: HashMap<String, String>,
    domains: Vec<String>,
    delimiter: Option<char>,
    /// Verified against when the login is unknown, so that both cases cost the same.
    dummy_hash: String,
    /// Receives `postmaster@` every local domain when no such user or alias exists.
    postmaster: Option<String>,
}

impl Users {
    /// Builds the table from validated entries.
    pub fn new(config: &Config, entries: &[UserEntry]) -> Users {
        let hashes = entries
            .iter()
            .map(|u| (u.address.to_ascii_lowercase(), u.password_hash.clone()))
            .collect();
        let aliases = config
            .aliases
            .iter()
            .map(|(a, t)| (a.to_ascii_lowercase(), t.to_ascii_lowercase()))
            .collect();
        let dummy_hash = hash_password(&random_password()).unwrap_or_default();
        let postmaster = config
            .postmaster
            .as_ref()
            .map(|p| p.to_ascii_lowercase())
            .filter(|p| entries.iter().any(|u| u.address.eq_ignore_ascii_case(p)))
            .or_else(|| entries.first().map(|u| u.address.to_ascii_lowercase()));
        Users {
            hashes,
            aliases,
            domains: config.domains.clone(),
            delimiter: config.recipient_delimiter.chars().next(),
            dummy_hash,
            postmaster,
        }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Where mail for `local@domain` goes.
    pub fn lookup(&self, local: &str, domain: &str) -> Lookup {
        if !self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return Lookup::NotLocal;
        }
        self.resolve(local, domain, true)
    }

    /// The user an address belongs to: a user's own address, an alias, either with a
    /// `+tag`; in a local domain (`local_domain`) also `postmaster@` and the catch-all.
    fn resolve(&self, local: &str, domain: &str, local_domain: bool) -> Lookup {
        if local
            .chars()
            .any(|c| matches!(c, '%' | '!' | '@' | '/' | '\\') || c.is_control())
        {
            return Lookup::Routing;
        }
        let domain = domain.to_ascii_lowercase();
        let local = local.to_ascii_lowercase();
        if let Some(user) = self.find(&format!("{local}@{domain}")) {
            return Lookup::Mailbox(user);
        }
        if let Some((base, _tag)) = self.delimiter.and_then(|d| local.split_once(d))
            && let Some(user) = self.find(&format!("{base}@{domain}"))
        {
            return Lookup::Mailbox(user);
        }
        if !local_domain {
            return Lookup::Unknown;
        }
        // RFC 5321 4.5.1: postmaster@ every local domain is accepted.
        if local == "postmaster"
            && let Some(user) = &self.postmaster
        {
            return Lookup::Mailbox(user.clone());
        }
        // The domain's catch-all alias (`"@domain" = "user@domain"`), last.
        if let Some(user) = self.find(&format!("@{domain}")) {
            return Lookup::Mailbox(user);
        }
        Lookup::Unknown
    }

    /// The whole address form of [`Users::lookup`].
    pub fn lookup_address(&self, address: &str) -> Lookup {
        match address.rsplit_once('@') {
            Some((local, domain)) => self.lookup(local, domain),
            None => Lookup::NotLocal,
        }
    }

    fn find(&self, address: &str) -> Option<String> {
        if self.hashes.contains_key(address) {
            return Some(address.to_owned());
        }
        self.aliases
            .get(address)
            .filter(|t| self.hashes.contains_key(*t))
            .cloned()
    }

    /// Checks a login; returns the canonical user address. Slow on purpose (argon2): call
    /// it off the async threads. Unknown logins cost the same as wrong passwords.
    pub fn verify(&self, login: &str, password: &[u8]) -> Option<String> {
        let login = login.to_ascii_lowercase();
        let (hash, known) = match self.hashes.get(&login) {
            Some(hash) => (hash.as_str(), true),
            None => (self.dummy_hash.as_str(), false),
        };
        let ok = verify_hash(hash, password);
        (ok && known).then_some(login)
    }

    /// May `user` send with `address` as the envelope sender? Its own address, an alias of
    /// it, or either with a `+tag` (in any domain: a send-only post office's users are in
    /// domains that are not local), and in a local domain what `lookup` gives it.
    pub fn may_send_as(&self, user: &str, address: &str) -> bool {
        let owner = match self.lookup_address(address) {
            Lookup::NotLocal => match address.rsplit_once('@') {
                Some((local, domain)) => self.resolve(local, domain, false),
                None => Lookup::NotLocal,
            },
            found => found,
        };
        matches!(owner, Lookup::Mailbox(owner) if owner == user)
    }
}

thread_local! {
    /// This thread's argon2 working memory, kept from one verification to the next.
    /// Allocating and freeing the 19 MiB of every verification fragments the allocator
    /// (measured: 160 failed logins left the process 370 MiB larger); one buffer per
    /// verification thread keeps the total at threads × m_cost. Only the login budget's
    /// threads verify passwords (`crate::login_budget`).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Does `password` match the argon2 PHC string `hash`? The algorithm, version and
/// parameters come from the stored hash (checked against the documented bounds when the
/// configuration was loaded); the comparison is constant-time.
pub fn verify_hash(hash: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; argon2::password_hash::Salt::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let hashed = BLOCKS.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, &mut out, memory.as_mut_slice())
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && argon2::password_hash::Output::new(&out).is_ok_and(|out| out == expected)
}

/// Hashes a password into an argon2id PHC string with a random salt and the parameters
/// documented in the module docs.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes)?;
    Ok(hasher()?
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A random password of 20 letters and digits.
pub fn random_password() -> String {
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
        .collect()
}

/// The user entries, and `(address, password)` of a user created just now.
pub type LoadedUsers = (Vec<UserEntry>, Option<(String, String)>);

/// The users of a configuration: its `[[users]]`, or else `data_dir/users.toml`, which is
/// created on first start with `postmaster@<first domain>` (of the host name when
/// send-only) and a random password. The
/// password is returned (to be printed once) only when the file was just created.
pub fn load_users(config: &Config) -> io::Result<LoadedUsers> {
    if let Some(users) = existing_users(config)? {
        return Ok((users, None));
    }
    let domain = config.domains.first().unwrap_or(&config.hostname).as_str();
    let address = format!("postmaster@{domain}");
    let password = random_password();
    let hash = hash_password(&password).map_err(|e| io::Error::other(e.to_string()))?;
    write_users_file(&config.data_dir.join("users.toml"), &address, &hash)?;
    let entry = UserEntry {
        address: address.clone(),
        password_hash: hash,
    };
    Ok((vec![entry], Some((address, password))))
}

/// The users of a configuration when there are any yet: its `[[users]]`, or
/// `data_dir/users.toml` if that exists (checked); `None` before the first start.
pub fn existing_users(config: &Config) -> io::Result<Option<Vec<UserEntry>>> {
    if !config.users.is_empty() {
        return Ok(Some(config.users.clone()));
    }
    let path = config.data_dir.join("users.toml");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let file: UsersFile = toml::from_str(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        for (i, user) in file.users.iter().enumerate() {
            if let Err((field, message)) = config.validate_user(user) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: key `users[{i}].{field}`: {message}", path.display()),
                ));
            }
        }
        if let Some(postmaster) = &config.postmaster
            && !file
                .users
                .iter()
                .any(|u| u.address.eq_ignore_ascii_case(postmaster))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "key `postmaster`: `{postmaster}` is not a user in {}",
                    path.display()
                ),
            ));
        }
        return Ok(Some(file.users));
    }
    Ok(None)
}

fn write_users_file(path: &Path, address: &str, hash: &str) -> io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "# Created by post-office on first start. Hashes come from `post-office hash-password`.\n\
         [[users]]\naddress = \"{address}\"\npassword_hash = \"{hash}\"\n"
    );
    let tmp = path.with_extension("toml.tmp");
    let mut file = crate::maildir::create_private(&tmp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EMBEDDED_DEFAULT;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn verify_hash_agrees_with_the_argon2_crate_and_reuses_its_memory() {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        for (m, t, p) in [(19 * 1024, 2, 1), (64, 1, 1), (256, 3, 2)] {
            let params = Params::new(m, t, p, Some(32)).unwrap();
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
            let hash = argon2.hash_password(b"secret", &salt).unwrap().to_string();
            let parsed = PasswordHash::new(&hash).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(b"secret", &parsed)
                    .is_ok()
            );
            assert!(verify_hash(&hash, b"secret"), "m={m} t={t} p={p}");
            assert!(!verify_hash(&hash, b"Secret"), "m={m} t={t} p={p}");
        }
        // The buffer of this thread has grown to the largest hash and stays.
        assert_eq!(BLOCKS.with_borrow(Vec::len), 19 * 1024);
        for bad in [
            "",
            "$argon2id$",
            "$pbkdf2$x",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
        ] {
            assert!(!verify_hash(bad, b"secret"), "{bad}");
        }
    }

    fn table() -> (Users, String) {
        let text =
            format!("{EMBEDDED_DEFAULT}\n[aliases]\n\"sales@localhost\" = \"alice@localhost\"\n");
        let config = Config::parse(&text, "t", Path::new("/")).unwrap();
        let hash = hash_password("correct horse").unwrap();
        let users = vec![
            UserEntry {
                address: "alice@localhost".into(),
                password_hash: hash.clone(),
            },
            UserEntry {
                address: "bob@localhost".into(),
                password_hash: hash,
            },
        ];
        (Users::new(&config, &users), "correct horse".into())
    }

    #[test]
    fn a_catch_all_takes_what_no_user_or_alias_takes() {
        let text = format!(
            "{EMBEDDED_DEFAULT}\n[aliases]\n\"@localhost\" = \"bob@localhost\"\n\"sales@localhost\" = \"alice@localhost\"\n"
        );
        let config = Config::parse(&text, "t", Path::new("/")).unwrap();
        let hash = hash_password("x").unwrap();
        let users = Users::new(
            &config,
            &[
                UserEntry {
                    address: "alice@localhost".into(),
                    password_hash: hash.clone(),
                },
                UserEntry {
                    address: "bob@localhost".into(),
                    password_hash: hash,
                },
            ],
        );
        let to = |local: &str| users.lookup(local, "localhost");
        assert_eq!(to("alice"), Lookup::Mailbox("alice@localhost".into()));
        assert_eq!(to("sales"), Lookup::Mailbox("alice@localhost".into()));
        assert_eq!(to("alice+tag"), Lookup::Mailbox("alice@localhost".into()));
        assert_eq!(to("anything"), Lookup::Mailbox("bob@localhost".into()));
        assert_eq!(to("a/b"), Lookup::Routing);
        assert_eq!(users.lookup("x", "elsewhere.test"), Lookup::NotLocal);
    }

    #[test]
    fn local_parts_map_through_the_table() {
        let (users, _) = table();
        assert_eq!(
            users.lookup("alice", "localhost"),
            Lookup::Mailbox("alice@localhost".into())
        );
        assert_eq!(
            users.lookup("Alice", "LOCALHOST"),
            Lookup::Mailbox("alice@localhost".into())
        );
        assert_eq!(
            users.lookup("alice+news", "localhost"),
            Lookup::Mailbox("alice@localhost".into())
        );
        assert_eq!(
            users.lookup("sales", "localhost"),
            Lookup::Mailbox("alice@localhost".into())
        );
        assert_eq!(
            users.lookup("sales+x", "localhost"),
            Lookup::Mailbox("alice@localhost".into())
        );
        assert_eq!(users.lookup("carol", "localhost"), Lookup::Unknown);
        assert_eq!(users.lookup("alice", "example.org"), Lookup::NotLocal);
    }

    #[test]
    fn routing_tricks_and_paths_never_reach_a_mailbox() {
        let (users, _) = table();
        for local in [
            "alice%x", "x!alice", "alice@x", "../alice", "a/b", "a\0", "a\\b",
        ] {
            assert_eq!(
                users.lookup(local, "localhost"),
                Lookup::Routing,
                "{local:?}"
            );
        }
        for local in ["..", ".", "", "alice.", "ALICE@localhost"] {
            assert!(
                !matches!(users.lookup(local, "localhost"), Lookup::Mailbox(_)),
                "{local:?}"
            );
        }
    }

    #[test]
    fn passwords_are_checked_with_argon2() {
        let (users, password) = table();
        assert_eq!(
            users.verify("alice@localhost", password.as_bytes()),
            Some("alice@localhost".into())
        );
        assert_eq!(
            users.verify("ALICE@localhost", password.as_bytes()),
            Some("alice@localhost".into())
        );
        assert_eq!(users.verify("alice@localhost", b"wrong"), None);
        assert_eq!(users.verify("nobody@localhost", password.as_bytes()), None);
        assert!(
            hash_password("x")
                .unwrap()
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
    }

    #[test]
    fn postmaster_of_every_local_domain_reaches_a_user() {
        let text = "hostname = \"localhost\"\ndomains = [\"localhost\", \"other.test\"]\n\
                    data_dir = \"d\"\npostmaster = \"bob@localhost\"\n\
                    [smtp]\nlisten = [\"127.0.0.1:2525\"]\n";
        let config = Config::parse(text, "t", Path::new("/")).unwrap();
        let hash = hash_password("pw").unwrap();
        let entries = vec![
            UserEntry {
                address: "alice@localhost".into(),
                password_hash: hash.clone(),
            },
            UserEntry {
                address: "bob@localhost".into(),
                password_hash: hash,
            },
        ];
        let users = Users::new(&config, &entries);
        for domain in ["localhost", "OTHER.test"] {
            assert_eq!(
                users.lookup("PostMaster", domain),
                Lookup::Mailbox("bob@localhost".into())
            );
        }
        assert_eq!(users.lookup("postmaster", "example.org"), Lookup::NotLocal);
        // Default: the first user.
        let (users, _) = table();
        assert_eq!(
            users.lookup("postmaster", "localhost"),
            Lookup::Mailbox("alice@localhost".into())
        );
    }

    #[test]
    fn hash_parameters_are_bounded() {
        let big = "$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHRzYWx0$BhMvCJcQ4ix8KeyxYOaq1o6pmS6qGEGmQh0DvS4yUjk";
        assert!(check_hash_params(&PasswordHash::new(big).unwrap()).is_err());
        let ok = hash_password("x").unwrap();
        assert!(check_hash_params(&PasswordHash::new(&ok).unwrap()).is_ok());
    }

    #[test]
    fn senders_are_limited_to_own_addresses() {
        let (users, _) = table();
        assert!(users.may_send_as("alice@localhost", "alice@localhost"));
        assert!(users.may_send_as("alice@localhost", "alice+tag@localhost"));
        assert!(users.may_send_as("alice@localhost", "sales@localhost"));
        assert!(!users.may_send_as("alice@localhost", "bob@localhost"));
        assert!(!users.may_send_as("alice@localhost", "alice@example.org"));
    }

    #[test]
    fn send_only_users_send_as_themselves_and_nothing_is_local() {
        let text = EMBEDDED_DEFAULT.replace("domains = [\"localhost\"]", "domains = []");
        let config = Config::parse(&text, "t", Path::new("/")).unwrap();
        assert!(config.send_only());
        let hash = hash_password("x").unwrap();
        let entries: Vec<UserEntry> = ["alice@sender.test", "bob@other.test"]
            .into_iter()
            .map(|address| UserEntry {
                address: address.into(),
                password_hash: hash.clone(),
            })
            .collect();
        for entry in &entries {
            config.validate_user(entry).unwrap();
        }
        assert_eq!(
            config.signing_domains(&entries),
            ["sender.test", "other.test"]
        );
        let users = Users::new(&config, &entries);
        assert!(users.may_send_as("alice@sender.test", "alice@sender.test"));
        assert!(users.may_send_as("alice@sender.test", "Alice+news@Sender.Test"));
        assert!(!users.may_send_as("alice@sender.test", "bob@other.test"));
        assert!(!users.may_send_as("alice@sender.test", "carol@sender.test"));
        assert!(!users.may_send_as("alice@sender.test", "postmaster@sender.test"));
        assert_eq!(users.lookup_address("alice@sender.test"), Lookup::NotLocal);
    }

    #[test]
    fn the_users_file_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let text = EMBEDDED_DEFAULT.replace("\"post-office-data\"", "\"data\"");
        let config = Config::parse(&text, "t", dir.path()).unwrap();
        let (entries, created) = load_users(&config).unwrap();
        let (address, password) = created.expect("first start creates the postmaster");
        assert_eq!(address, "postmaster@localhost");
        let stored = std::fs::read_to_string(dir.path().join("data/users.toml")).unwrap();
        assert!(!stored.contains(&password), "only the hash is stored");
        let (again, created) = load_users(&config).unwrap();
        assert!(created.is_none());
        assert_eq!(again[0].password_hash, entries[0].password_hash);
        let users = Users::new(&config, &again);
        assert_eq!(
            users.verify(&address, password.as_bytes()),
            Some(address.clone())
        );
    }
}
