//! Group commit (issue 15): one file-system barrier shared by every writer waiting for one.
//!
//! A `250` for a message, a Maildir delivery and a queue state update all need their
//! writes on disk before they go on. Doing that with `fsync` per file and per directory
//! costs each message four to six device round trips of its own. Here the writers do their
//! file work as before (write, link, rename, unlink) without any fsync, then ask the
//! [`Syncer`] of that file system for a *barrier*: a `syncfs(2)` of the whole file system
//! that *started after the request*, so it covers everything the writer did before asking.
//! Barriers run one after another: a blocking writer that finds none running runs it in
//! its own thread (no hand-off to another thread and back); every writer that asks while
//! one is running waits for the next, which the barrier thread runs, so N concurrent
//! writers share one device flush instead of paying N of them. The guarantee is unchanged: a caller hears "durable" only after a
//! flush that began after its last write.
//!
//! Ordering inside one writer still matters where a crash could expose a half-written file
//! under its final name: the Maildir writer writes its files, takes a barrier, links them
//! into `new/`, and answers them after the next barrier. A queue file that does not fit in
//! memory is linked first and then takes one barrier, because a queue file carries its
//! length and checksum in a trailer: one that a crash tore is never delivered, it is moved
//! to `queue/corrupt/` on the next start (it was never acknowledged either). Messages held
//! in memory do not come here: the queue journal's writer syncs its own segment
//! ([`crate::queue`]).
//!
//! `syncfs` flushes everything dirty on that file system, ours or not; on a file system
//! shared with heavy writers a barrier waits for their data too. A dedicated spool file
//! system avoids that (as it does for every MTA). Where `syncfs` does not exist, the
//! barrier is `sync(2)`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::watch;

use crate::listen::{lock, wait_on};

/// Group commit for one file system; see the [module docs](self). Cheap to share behind an
/// `Arc`; the barrier thread ends when the `Syncer` is dropped.
#[derive(Debug)]
pub struct Syncer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// A directory on the file system to flush (opened by the thread, again if it fails).
    path: PathBuf,
    state: Mutex<State>,
    /// Wakes the barrier thread.
    wanted: Condvar,
    /// Wakes blocking waiters when a barrier ends.
    finished: Condvar,
    /// Wakes async waiters when a barrier ends: the number of finished barriers.
    done_tx: watch::Sender<u64>,
    /// The open directory `syncfs` is called on (kept for the next barrier).
    dir: Mutex<Option<std::fs::File>>,
}

#[derive(Debug, Default)]
struct State {
    /// Barriers started and finished so far (numbered from 1).
    started: u64,
    done: u64,
    /// The highest barrier number anyone waits for.
    wanted: u64,
    /// The last barrier that succeeded.
    last_ok: u64,
    /// Why the last failed barrier failed.
    last_error: Option<(io::ErrorKind, String)>,
    closed: bool,
    /// The barrier thread sleeps on `wanted` (only then is it woken).
    idle: bool,
    /// Blocking callers waiting on `finished` (only then is it notified).
    blocked: usize,
    /// Barriers run (for tests and the metrics of the benchmark).
    count: u64,
    /// Of those, barriers a blocking caller ran in its own thread (tests).
    led: u64,
}

/// The same error again (an `io::Error` is not `Clone`), for every writer of a batch.
pub fn clone_error(e: &io::Error) -> io::Error {
    io::Error::new(e.kind(), e.to_string())
}

/// Work handed to a writer thread that takes all of it at once: the queue journal's
/// commits, the Maildir's deliveries. What arrives while the writer is busy (in a flush)
/// forms its next batch, so one flush serves everyone waiting.
pub struct Batches<T> {
    state: Mutex<Queue<T>>,
    wake: Condvar,
}

struct Queue<T> {
    items: Vec<T>,
    /// The writer was told to stop.
    closed: bool,
    /// The writer sleeps on `wake` (only then does a push pay for a wake-up call).
    sleeping: bool,
}

impl<T> Default for Batches<T> {
    fn default() -> Batches<T> {
        Batches {
            state: Mutex::new(Queue {
                items: Vec::new(),
                closed: false,
                sleeping: false,
            }),
            wake: Condvar::new(),
        }
    }
}

impl<T> std::fmt::Debug for Batches<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Batches({} waiting)", lock(&self.state).items.len())
    }
}

impl<T> Batches<T> {
    /// Adds `item` and wakes the writer if it sleeps; gives it back once
    /// [`Batches::close`]d.
    pub fn push(&self, item: T) -> Result<(), T> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(item);
        }
        state.items.push(item);
        if state.sleeping {
            state.sleeping = false;
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Everything waiting. With `wait`, blocks while nothing is, and is `None` once closed
    /// with nothing left; without, returns at once (perhaps an empty batch).
    pub fn take(&self, wait: bool) -> Option<Vec<T>> {
        let mut state = lock(&self.state);
        while wait && state.items.is_empty() && !state.closed {
            state.sleeping = true;
            state = wait_on(&self.wake, state);
        }
        state.sleeping = false;
        if wait && state.items.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut state.items))
    }

    /// Tells the writer to stop once nothing is left.
    pub fn close(&self) {
        lock(&self.state).closed = true;
        self.wake.notify_one();
    }
}

impl Syncer {
    /// A syncer for the file system holding `dir` (the nearest existing ancestor is used
    /// while `dir` does not exist yet).
    pub fn new(dir: &Path) -> io::Result<Syncer> {
        Syncer::start(dir, false)
    }

    /// Like [`Syncer::new`], for work off the path of a `250` (local delivery): its
    /// thread runs at a lower priority (nice 10) than the sessions, which on a busy
    /// machine lets accepted mail be answered first.
    pub fn background(dir: &Path) -> io::Result<Syncer> {
        Syncer::start(dir, true)
    }

    fn start(dir: &Path, background: bool) -> io::Result<Syncer> {
        let (done_tx, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            path: dir.to_path_buf(),
            state: Mutex::new(State::default()),
            wanted: Condvar::new(),
            finished: Condvar::new(),
            done_tx,
            dir: Mutex::new(None),
        });
        let thread = shared.clone();
        std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || thread.run(background))?;
        Ok(Syncer { shared })
    }

    /// Registers a wait: the number of the first barrier that will start after this call.
    fn ask(&self) -> u64 {
        let mut state = lock(&self.shared.state);
        let target = state.started + 1;
        state.wanted = state.wanted.max(target);
        if state.started == state.done {
            // (Otherwise whoever runs the current barrier wakes the thread when it ends.)
            self.shared.wake_thread(&mut state);
        }
        target
    }

    fn outcome(state: &State, target: u64) -> io::Result<()> {
        if state.last_ok >= target {
            return Ok(());
        }
        let (kind, why) = state
            .last_error
            .clone()
            .unwrap_or((io::ErrorKind::Other, "the barrier thread stopped".into()));
        Err(io::Error::new(
            kind,
            format!("file system flush failed: {why}"),
        ))
    }

    /// Blocks until everything written before this call is durable (from a blocking
    /// context: `spawn_blocking` or a plain thread). When no barrier is running, the
    /// calling thread runs one itself (no hand-off to the barrier thread and back);
    /// otherwise it waits for the next one, which the barrier thread starts.
    pub fn barrier_blocking(&self) -> io::Result<()> {
        let mut state = lock(&self.shared.state);
        let target = state.started + 1;
        state.wanted = state.wanted.max(target);
        if state.started == state.done && !state.closed {
            state.started = target;
            state.led += 1;
            drop(state);
            self.shared.run_barrier(target);
            return Self::outcome(&lock(&self.shared.state), target);
        }
        // A barrier is running: whoever runs it wakes the barrier thread for this one.
        state.blocked += 1;
        while state.done < target && !state.closed {
            state = wait_on(&self.shared.finished, state);
        }
        state.blocked -= 1;
        Self::outcome(&state, target)
    }

    /// Waits until everything written before this call is durable, without holding a
    /// thread.
    pub async fn barrier(&self) -> io::Result<()> {
        let mut done = self.shared.done_tx.subscribe();
        let target = self.ask();
        let _ = done.wait_for(|done| *done >= target).await;
        Self::outcome(&lock(&self.shared.state), target)
    }

    /// How many barriers have run.
    #[cfg(test)]
    pub fn barriers(&self) -> u64 {
        lock(&self.shared.state).count
    }

    /// How many of them a blocking caller ran in its own thread.
    #[cfg(test)]
    pub fn barriers_led(&self) -> u64 {
        lock(&self.shared.state).led
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.wanted.notify_one();
    }
}

impl Shared {
    fn run(&self, background: bool) {
        if background {
            // Lower priority than the sessions: a failure leaves the default.
            let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
        }
        loop {
            let number = {
                let mut state = lock(&self.state);
                // One barrier at a time (a caller may be running one itself).
                while (state.wanted <= state.started || state.started > state.done) && !state.closed
                {
                    state.idle = true;
                    state = wait_on(&self.wanted, state);
                }
                state.idle = false;
                if state.wanted <= state.started || state.started > state.done {
                    // Closed and nobody waits (or a caller finishes the last barrier).
                    self.finished.notify_all();
                    return;
                }
                state.started += 1;
                state.started
            };
            self.run_barrier(number);
        }
    }

    /// Wakes the barrier thread if it sleeps (a wake-up call costs a system call).
    fn wake_thread(&self, state: &mut State) {
        if state.idle {
            state.idle = false;
            self.wanted.notify_one();
        }
    }

    /// Runs barrier `number` (already counted as started) and tells every waiter.
    fn run_barrier(&self, number: u64) {
        let result = flush(&self.path, &mut lock(&self.dir));
        {
            let mut state = lock(&self.state);
            state.done = number;
            state.count += 1;
            match result {
                Ok(()) => state.last_ok = number,
                Err(e) => {
                    *lock(&self.dir) = None;
                    state.last_error = Some((e.kind(), e.to_string()));
                }
            }
            if state.blocked > 0 {
                self.finished.notify_all();
            }
            // Requests made meanwhile are the barrier thread's next.
            if state.wanted > number {
                self.wake_thread(&mut state);
            }
        }
        self.done_tx.send_replace(number);
    }
}

/// One barrier: `syncfs` on the file system of `path` (its open directory is kept in
/// `dir` for the next one).
fn flush(path: &Path, dir: &mut Option<std::fs::File>) -> io::Result<()> {
    if dir.is_none() {
        let mut at = Some(path);
        while let Some(p) = at {
            if let Ok(file) = std::fs::File::open(p) {
                *dir = Some(file);
                break;
            }
            at = p.parent();
        }
    }
    let Some(file) = dir.as_ref() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} has no directory to flush", path.display()),
        ));
    };
    #[cfg(target_os = "linux")]
    {
        rustix::fs::syncfs(file).map_err(io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        rustix::fs::sync();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn a_barrier_returns_after_a_flush_and_waiters_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let syncer = Arc::new(Syncer::new(dir.path()).unwrap());
        syncer.barrier_blocking().unwrap();
        assert_eq!(syncer.barriers(), 1);
        // 32 writers asking at once need far fewer than 32 flushes: each flush serves every
        // writer that asked before it started.
        let start = Arc::new(Barrier::new(32));
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (syncer, start, path) = (syncer.clone(), start.clone(), dir.path().to_owned());
                std::thread::spawn(move || {
                    std::fs::write(path.join(format!("f{i}")), b"data").unwrap();
                    start.wait();
                    syncer.barrier_blocking().unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let used = syncer.barriers() - 1;
        assert!((1..32).contains(&used), "{used} flushes for 32 writers");
    }

    #[test]
    fn a_waiter_never_takes_a_flush_that_started_before_it_asked() {
        let dir = tempfile::tempdir().unwrap();
        let syncer = Syncer::new(dir.path()).unwrap();
        // Each call asks for a flush numbered after every flush started so far, so n
        // sequential calls run n flushes.
        for n in 1..=5 {
            syncer.barrier_blocking().unwrap();
            assert_eq!(syncer.barriers(), n);
        }
    }

    #[test]
    fn a_blocking_caller_runs_the_barrier_itself_when_none_is_running() {
        let dir = tempfile::tempdir().unwrap();
        let syncer = Syncer::new(dir.path()).unwrap();
        // Nothing running: no hand-off to the barrier thread (two context switches).
        for n in 1..=3 {
            syncer.barrier_blocking().unwrap();
            assert_eq!((syncer.barriers(), syncer.barriers_led()), (n, n));
        }
    }

    #[tokio::test]
    async fn the_async_barrier_waits_for_its_flush() {
        let dir = tempfile::tempdir().unwrap();
        let syncer = Arc::new(Syncer::new(&dir.path().join("not/yet")).unwrap());
        let waits: Vec<_> = (0..8)
            .map(|_| {
                let syncer = syncer.clone();
                tokio::spawn(async move { syncer.barrier().await })
            })
            .collect();
        for w in waits {
            w.await.unwrap().unwrap();
        }
        assert!(syncer.barriers() >= 1);
        // An async waiter never blocks its runtime thread on a flush.
        assert_eq!(syncer.barriers_led(), 0);
    }
}
