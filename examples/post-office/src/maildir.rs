//! Maildir storage: one Maildir per user under `data_dir/mail/<user address>`.
//!
//! Delivery writes into `tmp/`, waits for a group-commit barrier ([`crate::durable`]),
//! links it into `new/` and waits for a second barrier, so a message is either completely
//! in the mailbox or not there at all. Message files are
//! 0600, directories 0700, and a new directory is fsync'd into its parent (SECURITY.md 54). Names are unique:
//! `<secs>.M<micros>P<pid>Q<counter>.<host>,S=<size>`, where `S=` is the size with CRLF line
//! ends (what POP3 reports). The functions here block: call them from `spawn_blocking`.
//!
//! The user address used as the directory name comes from the user table (validated to
//! `[a-z0-9._+-]+@domain` when the configuration is loaded), never from a peer.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::durable::{Batches, Syncer, clone_error};
use crate::listen::lock;

/// All mailboxes.
#[derive(Debug)]
pub struct MaildirStore {
    root: PathBuf,
    host: String,
    syncer: Syncer,
    /// Mailboxes whose `tmp/`, `new/` and `cur/` are known to exist.
    ready: Mutex<HashSet<String>>,
    /// Deliveries waiting for the writer thread ([`MaildirStore::deliver`]).
    jobs: Arc<Batches<Job>>,
    /// The writer thread, started by the first [`MaildirStore::deliver`].
    writer: OnceLock<()>,
}

/// One delivery: mailbox, key, the parts of the file, and who to tell its name.
struct Job {
    user: String,
    key: String,
    parts: Vec<Bytes>,
    reply: oneshot::Sender<io::Result<String>>,
}

impl Drop for MaildirStore {
    fn drop(&mut self) {
        self.jobs.close();
    }
}

/// One message in a mailbox, as POP3 lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique and stable: the file name without the `:2,` info part.
    pub uid: String,
    /// Octets with CRLF line ends.
    pub size: u64,
    /// Where the file is.
    pub path: PathBuf,
}

impl MaildirStore {
    /// Mailboxes live under `root` (created on demand); `host` goes into file names.
    /// Fails only when the group-commit thread cannot be started.
    pub fn new(root: PathBuf, host: &str) -> io::Result<MaildirStore> {
        // The Maildir convention escapes `/` and `:` in the host part.
        let host = host.replace('/', "\\057").replace(':', "\\072");
        let syncer = Syncer::background(&root)?;
        Ok(MaildirStore {
            root,
            host,
            syncer,
            ready: Mutex::new(HashSet::new()),
            jobs: Arc::default(),
            writer: OnceLock::new(),
        })
    }

    /// The Maildir of a user (its canonical address from the user table).
    pub fn mailbox(&self, user: &str) -> io::Result<PathBuf> {
        let safe = !user.is_empty()
            && !user.starts_with('.')
            && user.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+' | b'@')
            });
        if !safe {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a mailbox name",
            ));
        }
        Ok(self.root.join(user))
    }

    /// Delivers at most once per `key`: the file is named after `key` (a queue id and
    /// recipient index with the time the message was received, so the name stays unique),
    /// and a message already in `new/` under that name is not written again. A queue entry
    /// retried after a crash between the delivery and its removal from the queue (kill -9)
    /// is so not delivered twice. Write in `tmp/`, barrier, link into `new/`, barrier.
    /// (The server delivers through [`MaildirStore::deliver`]; this is the same batch of
    /// one, in the calling thread.)
    #[cfg(test)]
    pub fn deliver_once(&self, user: &str, key: &str, parts: &[&[u8]]) -> io::Result<String> {
        let parts: Vec<Bytes> = parts.iter().map(|p| Bytes::copy_from_slice(p)).collect();
        let (reply, answered) = oneshot::channel();
        self.deliver_batch(vec![Job {
            user: user.to_owned(),
            key: key.to_owned(),
            parts,
            reply,
        }]);
        answered
            .blocking_recv()
            .unwrap_or_else(|_| Err(io::Error::other("delivery dropped")))
    }

    /// [`MaildirStore::deliver_once`] through the writer thread, which takes every
    /// delivery waiting and makes them durable together: their files written, one
    /// barrier, all linked into `new/`, one barrier. No blocking-pool trip and two
    /// barriers per batch instead of two per message.
    pub async fn deliver(
        self: &Arc<Self>,
        user: String,
        key: String,
        parts: Vec<Bytes>,
    ) -> io::Result<String> {
        self.writer.get_or_init(|| {
            let (jobs, store) = (self.jobs.clone(), Arc::downgrade(self));
            let _ = std::thread::Builder::new()
                .name("maildir-writer".into())
                .spawn(move || write_batches(&jobs, &store));
        });
        let (reply, answer) = oneshot::channel();
        // Refused only once the store is being dropped (then `answer` says so).
        let _ = self.jobs.push(Job {
            user,
            key,
            parts,
            reply,
        });
        answer
            .await
            .unwrap_or_else(|_| Err(io::Error::other("the maildir writer stopped")))
    }

    /// Makes sure `user`'s `tmp/`, `new/` and `cur/` exist (durably), once per mailbox.
    fn prepare(&self, user: &str) -> io::Result<PathBuf> {
        let dir = self.mailbox(user)?;
        if !lock(&self.ready).contains(user) {
            for sub in ["tmp", "new", "cur"] {
                create_dir_durable(&dir.join(sub))?;
            }
            lock(&self.ready).insert(user.to_owned());
        }
        Ok(dir)
    }

    /// Delivers `jobs` together and answers each: files, barrier, links, barrier.
    #[cfg(test)]
    fn deliver_batch(&self, jobs: Vec<Job>) {
        let written = self.write_files(jobs);
        let first = self.syncer.barrier_blocking();
        let linked = self.link_files(written, &first);
        answer(linked, &self.syncer.barrier_blocking());
    }

    /// Writes the file of each job in its `tmp/` (not yet durable); a job whose file
    /// cannot be written is answered with the error.
    fn write_files(&self, jobs: Vec<Job>) -> Vec<Written> {
        let mut written = Vec::with_capacity(jobs.len());
        for job in jobs {
            let size: u64 = job.parts.iter().map(|p| crlf_size(p)).sum();
            let name = format!("{}.{},S={size}", job.key, self.host);
            let paths = self.prepare(&job.user).and_then(|dir| {
                let tmp = dir.join("tmp").join(&name);
                // A leftover from a crash under the same name is ours: start it over.
                let mut file = create_private(&tmp)?;
                for part in &job.parts {
                    file.write_all(part)?;
                }
                Ok((tmp, dir.join("new").join(&name)))
            });
            match paths {
                Ok((tmp, target)) => written.push(Written {
                    job,
                    tmp,
                    target,
                    name,
                }),
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        written
    }

    /// After `barrier` (which made their contents durable), links the written files into
    /// `new/`; the links still need a barrier before the jobs are answered.
    fn link_files(
        &self,
        written: Vec<Written>,
        barrier: &io::Result<()>,
    ) -> Vec<(Job, io::Result<String>)> {
        let mut linked = Vec::with_capacity(written.len());
        for w in written {
            let result = barrier.as_ref().map_err(clone_error).and_then(|()| {
                match fs::hard_link(&w.tmp, &w.target) {
                    // Delivered before (a retry after a crash): the copy there is whole.
                    Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
                    _ => Ok(()),
                }
            });
            let _ = fs::remove_file(&w.tmp);
            linked.push((w.job, result.map(|()| w.name)));
        }
        linked
    }

    /// The messages of `user`, oldest first, from `new/` and `cur/`.
    pub fn list(&self, user: &str) -> io::Result<Vec<Entry>> {
        let dir = self.mailbox(user)?;
        let mut entries = Vec::new();
        for sub in ["new", "cur"] {
            let read = match fs::read_dir(dir.join(sub)) {
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for item in read {
                let item = item?;
                let Ok(name) = item.file_name().into_string() else {
                    continue;
                };
                if name.starts_with('.') || !item.file_type()?.is_file() {
                    continue;
                }
                let uid = name.split(":2,").next().unwrap_or(&name).to_owned();
                let path = item.path();
                let size = match size_from_name(&uid) {
                    Some(size) => size,
                    None => crlf_size(&fs::read(&path)?),
                };
                entries.push(Entry { uid, size, path });
            }
        }
        entries.sort_by(|a, b| a.uid.cmp(&b.uid));
        Ok(entries)
    }

    /// The message bytes with CRLF line ends (bare LF in files written by others is fixed).
    #[cfg(test)]
    pub fn read(&self, entry: &Entry) -> io::Result<Vec<u8>> {
        Ok(to_crlf(fs::read(&entry.path)?))
    }

    /// Removes messages (POP3 QUIT); a message already gone is not an error.
    pub fn delete(&self, user: &str, entries: &[&Entry]) -> io::Result<()> {
        let dir = self.mailbox(user)?;
        for entry in entries {
            match fs::remove_file(&entry.path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let _ = dir;
        self.syncer.barrier_blocking()
    }
}

/// A file written in `tmp/`, to be linked into `new/`.
struct Written {
    job: Job,
    tmp: PathBuf,
    target: PathBuf,
    name: String,
}

/// Answers linked jobs once `barrier` (begun after their links) has made them durable.
fn answer(linked: Vec<(Job, io::Result<String>)>, barrier: &io::Result<()>) {
    for (job, result) in linked {
        let result = match (barrier, result) {
            (Err(e), Ok(_)) => Err(clone_error(e)),
            (_, result) => result,
        };
        let _ = job.reply.send(result);
    }
}

/// Delivery rounds start at most this often. Each round ends in a file-system barrier
/// (`syncfs`), which meets the queue journal's commits at the device, and those are on the
/// path of every `250`. Spaced rounds make each barrier serve more deliveries and leave
/// the device to the commits: on the benchmark's spool (BENCHMARKS.md, post-office) 8 to
/// 15 ms took durable accept from 33-36% to 41-48% of smtp-sink. A delivery waits at
/// most this much longer.
pub(crate) const ROUND_SPACING: Duration = Duration::from_millis(10);

/// The writer thread, until the store is gone. One barrier per round serves two batches:
/// it makes this round's files durable before they are linked, and the links of the
/// round before durable before those deliveries are answered. When nothing new waits,
/// a round with no files confirms the last links at once.
fn write_batches(jobs: &Batches<Job>, store: &Weak<MaildirStore>) {
    // Delivery is off the path of a 250: lower priority than the sessions (nice 10; a
    // failure leaves the default).
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
    let mut linked: Vec<(Job, io::Result<String>)> = Vec::new();
    let mut last_round: Option<Instant> = None;
    loop {
        if let Some(wait) = last_round.and_then(|at| ROUND_SPACING.checked_sub(at.elapsed())) {
            std::thread::sleep(wait);
        }
        // Links waiting for their barrier: take what is there without waiting.
        let Some(batch) = jobs.take(linked.is_empty()) else {
            return;
        };
        last_round = Some(Instant::now());
        let Some(store) = store.upgrade() else {
            return;
        };
        let written = store.write_files(batch);
        let barrier = store.syncer.barrier_blocking();
        answer(std::mem::take(&mut linked), &barrier);
        linked = store.link_files(written, &barrier);
    }
}

/// Creates (or truncates) `path` for writing, readable and writable by its owner only
/// (0600): every file the post office writes holds mail, state or secrets.
pub fn create_private(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// fsyncs a directory, making renames and new names in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` and any missing parents with mode 0700, fsyncing the parent of each
/// directory it creates, so that the new names survive a crash. Existing directories are
/// left as they are.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_durable(parent)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    sync_dir(parent)
}

fn size_from_name(uid: &str) -> Option<u64> {
    uid.rsplit(',')
        .find_map(|field| field.strip_prefix("S="))?
        .parse()
        .ok()
}

/// Size of `bytes` once every bare LF became CRLF.
fn crlf_size(bytes: &[u8]) -> u64 {
    let bare_lf = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || bytes.get(i - 1) != Some(&b'\r')))
        .count();
    (bytes.len() + bare_lf) as u64
}

#[cfg(test)]
fn to_crlf(bytes: Vec<u8>) -> Vec<u8> {
    if crlf_size(&bytes) == bytes.len() as u64 {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut previous = 0u8;
    for &b in &bytes {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_lands_in_new_with_unique_names_and_crlf_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let store = MaildirStore::new(dir.path().join("mail"), "mx.example/a:b").unwrap();
        let a = store
            .deliver_once(
                "alice@example.org",
                "1.QAR0",
                &[b"Return-Path: <x@y>\r\n", b"Subject: 1\r\n\r\nhi\r\n"],
            )
            .unwrap();
        let b = store
            .deliver_once(
                "alice@example.org",
                "1.QAR1",
                &[b"Subject: 2\r\n\r\nhi\r\n"],
            )
            .unwrap();
        assert_ne!(a, b);
        assert!(a.contains("mx.example\\057a\\072b"), "{a}");
        let box_dir = dir.path().join("mail/alice@example.org");
        assert!(box_dir.join("new").join(&a).is_file());
        assert_eq!(fs::read_dir(box_dir.join("tmp")).unwrap().count(), 0);
        let list = store.list("alice@example.org").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].uid, a);
        assert_eq!(list[0].size, 38);
        assert_eq!(store.read(&list[0]).unwrap().len(), 38);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_shares_rounds_and_spaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MaildirStore::new(dir.path().join("mail"), "mx.example").unwrap());
        // Twenty deliveries at once share a few rounds (two barriers per round).
        let before = store.syncer.barriers();
        let all: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let parts = vec![Bytes::from(format!("Subject: {i}\r\n\r\nhi\r\n"))];
                    store
                        .deliver("alice@example.org".into(), format!("1.QAR{i}"), parts)
                        .await
                })
            })
            .collect();
        for delivery in all {
            delivery.await.unwrap().unwrap();
        }
        let barriers = store.syncer.barriers() - before;
        assert!(barriers < 10, "{barriers} barriers for 20 deliveries");
        assert_eq!(store.list("alice@example.org").unwrap().len(), 20);
        // One after another: each waits for the round after its own, which starts at
        // least ROUND_SPACING after it.
        let started = Instant::now();
        for i in 0..3 {
            let parts = vec![Bytes::from_static(b"Subject: x\r\n\r\nhi\r\n")];
            store
                .deliver("bob@example.org".into(), format!("2.QBR{i}"), parts)
                .await
                .unwrap();
        }
        assert!(
            started.elapsed() >= 3 * ROUND_SPACING,
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn delivery_once_per_key_is_not_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let store = MaildirStore::new(dir.path().join("mail"), "h").unwrap();
        let parts: [&[u8]; 1] = [b"Subject: 1\r\n\r\nhi\r\n"];
        let a = store.deliver_once("a@x", "1.QABCR0", &parts).unwrap();
        // A leftover tmp file from a crash, and a second attempt: still one message.
        fs::write(dir.path().join("mail/a@x/tmp").join(&a), b"torn").unwrap();
        let b = store.deliver_once("a@x", "1.QABCR0", &parts).unwrap();
        assert_eq!(a, b);
        let c = store.deliver_once("a@x", "1.QABCR1", &parts).unwrap();
        assert_ne!(a, c);
        assert_eq!(store.list("a@x").unwrap().len(), 2);
        assert_eq!(
            fs::read(dir.path().join("mail/a@x/new").join(&a)).unwrap(),
            parts[0]
        );
    }

    #[test]
    fn files_from_elsewhere_are_counted_and_served_with_crlf() {
        let dir = tempfile::tempdir().unwrap();
        let store = MaildirStore::new(dir.path().to_path_buf(), "h").unwrap();
        fs::create_dir_all(dir.path().join("bob@x/cur")).unwrap();
        fs::write(dir.path().join("bob@x/cur/123.abc:2,S"), b"A: b\n\nbody\n").unwrap();
        let list = store.list("bob@x").unwrap();
        assert_eq!(list[0].uid, "123.abc");
        assert_eq!(list[0].size, 14);
        assert_eq!(store.read(&list[0]).unwrap(), b"A: b\r\n\r\nbody\r\n");
        store.delete("bob@x", &[&list[0]]).unwrap();
        assert!(store.list("bob@x").unwrap().is_empty());
        store.delete("bob@x", &[&list[0]]).unwrap();
    }

    #[test]
    fn mail_is_private_and_new_directories_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = MaildirStore::new(dir.path().join("mail"), "h").unwrap();
        let name = store
            .deliver_once("a@x", "1.QR0", &[b"Subject: s\r\n\r\n"])
            .unwrap();
        let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.path().join("mail/a@x/new").join(name)), 0o600);
        for d in [
            "mail",
            "mail/a@x",
            "mail/a@x/new",
            "mail/a@x/cur",
            "mail/a@x/tmp",
        ] {
            assert_eq!(mode(dir.path().join(d)), 0o700, "{d}");
        }
    }

    #[test]
    fn mailbox_names_cannot_escape() {
        let store = MaildirStore::new(PathBuf::from("/m"), "h").unwrap();
        for bad in ["../x", "a/b", ".", "..", "", "a\0b"] {
            assert!(store.mailbox(bad).is_err(), "{bad:?}");
        }
        assert!(store.list("nobody@x").unwrap().is_empty());
    }
}
