//! The one driver loop of the post office's three protocol machines (the SMTP server, the
//! POP3 server and the SMTP/LMTP client): it moves bytes between a [`Stream`] and a
//! sans-IO machine and hands the machine's events to the session, one at a time.
//!
//! The order is the bounded-output contract of the crates: events first; then output, one
//! chunk at a time, each written (within its deadline) before the next is asked for
//! (`poll_transmit` resumes held commands once the output has drained, so a peer that does
//! not read stops the session from reading too); then, with nothing left to do, input or
//! the machine's next deadline. Input a machine does not take yet (the SMTP server stops
//! at a command that waits for a decision) is offered again before the socket is read.

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use crate::clock::sleep_until;
use crate::net::Stream;

/// What the driver needs of a protocol machine; the three machines' own methods.
pub trait Machine {
    /// What the machine asks of the application.
    type Event;
    /// The next event, if any.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// The next chunk of output, if any.
    fn poll_transmit(&mut self) -> Option<Bytes>;
    /// Takes input; returns how many octets it took (the rest is offered again later).
    fn handle_input(&mut self, input: &[u8], now: Instant) -> usize;
    /// The peer closed its side (or the socket failed).
    fn handle_eof(&mut self, now: Instant);
    /// A deadline of the machine passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The machine's next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Nothing more will happen.
    fn is_closed(&self) -> bool;
    /// A chunk from `poll_transmit` is now written (the client's end-of-data timer).
    fn handle_written(&mut self, _now: Instant) {}
}

/// The methods every machine has under the same name, delegated.
macro_rules! delegate {
    () => {
        fn poll_event(&mut self) -> Option<Self::Event> {
            self.poll_event()
        }
        fn poll_transmit(&mut self) -> Option<Bytes> {
            self.poll_transmit()
        }
        fn handle_eof(&mut self, now: Instant) {
            self.handle_eof(now);
        }
        fn handle_timeout(&mut self, now: Instant) {
            self.handle_timeout(now);
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.poll_timeout()
        }
        fn is_closed(&self) -> bool {
            self.is_closed()
        }
    };
}

impl Machine for postwerk_smtp::server::Connection {
    type Event = postwerk_smtp::server::Event;
    delegate!();
    /// The server may stop at a command that waits for a decision.
    fn handle_input(&mut self, input: &[u8], now: Instant) -> usize {
        self.handle_input(input, now)
    }
}

impl Machine for postwerk_pop3::server::Connection {
    type Event = postwerk_pop3::server::Event;
    delegate!();
    fn handle_input(&mut self, input: &[u8], now: Instant) -> usize {
        self.handle_input(input, now);
        input.len()
    }
}

impl Machine for postwerk_smtp::client::Connection {
    type Event = postwerk_smtp::client::Event;
    delegate!();
    fn handle_input(&mut self, input: &[u8], now: Instant) -> usize {
        self.handle_input(input, now);
        input.len()
    }
    fn handle_written(&mut self, now: Instant) {
        self.handle_written(now);
    }
}

/// What [`Driver::step`] came back with.
#[derive(Debug)]
pub enum Step<E> {
    /// An event for the session; call `step` again when it is handled.
    Event(E),
    /// Events and output are drained and the session asked to hear it (`idle`): it may
    /// give the machine more work (the next chunk of a message) before input is awaited.
    Idle,
    /// The machine is closed, or the peer is gone and the machine waits for nothing.
    Closed,
    /// The shutdown signal came.
    Stopped,
    /// Writing failed or took longer than allowed; reading failed (the machine has been
    /// told of the end).
    Failed(io::Error),
}

/// The socket side of one session: the read buffer, input not taken yet, and deadlines.
#[derive(Debug)]
pub struct Driver {
    /// Reads land in its spare capacity (never zeroed: a session costs no 64 KiB memset).
    buf: Vec<u8>,
    unread: Vec<u8>,
    eof: bool,
    /// Each write of at most `piece` octets must finish within this.
    write_limit: Duration,
    piece: usize,
    /// How long to wait for input when the machine has no deadline of its own (`None`:
    /// as long as it takes, e.g. a server between commands has its own timer anyway).
    idle_limit: Option<Duration>,
}

impl Driver {
    /// A driver reading `buf_size` octets at a time; every chunk of output must be written
    /// within `write_limit`.
    pub fn new(buf_size: usize, write_limit: Duration) -> Driver {
        Driver {
            buf: Vec::with_capacity(buf_size),
            unread: Vec::new(),
            eof: false,
            write_limit,
            piece: usize::MAX,
            idle_limit: None,
        }
    }

    /// Writes output in pieces of at most `piece` octets, each within the write limit (the
    /// client's data-block deadline, RFC 5321 4.5.3.2.5).
    pub fn in_pieces(mut self, piece: usize) -> Driver {
        self.piece = piece.max(1);
        self
    }

    /// Waits for input at most `limit` when the machine has no deadline.
    pub fn with_idle_limit(mut self, limit: Duration) -> Driver {
        self.idle_limit = Some(limit);
        self
    }

    /// Forgets input read but not taken (after a TLS upgrade: nothing read in cleartext
    /// may reach the session inside TLS).
    pub fn discard_unread(&mut self) {
        self.unread.clear();
    }

    /// The server side of STARTTLS/STLS: the reply that accepted it is written, the
    /// handshake runs, and nothing read in cleartext reaches the session inside TLS.
    pub async fn accept_tls<M: Machine>(
        &mut self,
        machine: &mut M,
        stream: &mut Stream,
        config: std::sync::Arc<rustls::ServerConfig>,
    ) -> io::Result<()> {
        self.flush(machine, stream).await?;
        stream.accept_tls(config).await?;
        self.discard_unread();
        Ok(())
    }

    /// Writes all output the machine has now (each chunk within the write limit).
    pub async fn flush<M: Machine>(
        &mut self,
        machine: &mut M,
        stream: &mut Stream,
    ) -> io::Result<()> {
        while let Some(chunk) = machine.poll_transmit() {
            self.write(stream, &chunk).await?;
            machine.handle_written(Instant::now());
        }
        Ok(())
    }

    async fn write(&self, stream: &mut Stream, chunk: &[u8]) -> io::Result<()> {
        for piece in chunk.chunks(self.piece) {
            let write = async {
                stream.write_all(piece).await?;
                stream.flush().await
            };
            tokio::time::timeout(self.write_limit, write)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))??;
        }
        Ok(())
    }

    /// Waits for the peer to say something or close, and tells the machine (a parked
    /// client session: anything the server says there ends it). Cancel-safe.
    pub async fn watch<M: Machine>(&mut self, machine: &mut M, stream: &mut Stream) {
        self.buf.clear();
        let read = stream.read_buf(&mut self.buf).await;
        let now = Instant::now();
        match read {
            Ok(n) if n > 0 => {
                let input = self.buf.get(..n).unwrap_or_default();
                let used = machine.handle_input(input, now);
                self.unread
                    .extend_from_slice(input.get(used..).unwrap_or_default());
            }
            _ => {
                self.eof = true;
                machine.handle_eof(now);
            }
        }
    }

    /// Runs the machine until it has something for the session. `idle`: come back with
    /// [`Step::Idle`] once events and output are drained, before waiting for input.
    /// `stop`: a shutdown signal to heed now (`None` while the session must not stop).
    pub async fn step<M: Machine>(
        &mut self,
        machine: &mut M,
        stream: &mut Stream,
        idle: bool,
        mut stop: Option<&mut watch::Receiver<bool>>,
    ) -> Step<M::Event> {
        loop {
            if let Some(event) = machine.poll_event() {
                return Step::Event(event);
            }
            if let Some(chunk) = machine.poll_transmit() {
                if let Err(e) = self.write(stream, &chunk).await {
                    return Step::Failed(e);
                }
                machine.handle_written(Instant::now());
                continue;
            }
            // `poll_transmit` may have resumed a command that now waits for us.
            if let Some(event) = machine.poll_event() {
                return Step::Event(event);
            }
            if machine.is_closed() {
                return Step::Closed;
            }
            if idle {
                return Step::Idle;
            }
            if !self.unread.is_empty() {
                let used = machine.handle_input(&self.unread, Instant::now());
                self.unread.drain(..used.min(self.unread.len()));
                if used > 0 {
                    continue;
                }
            }
            let deadline = machine
                .poll_timeout()
                .or_else(|| self.idle_limit.and_then(|l| Instant::now().checked_add(l)));
            if self.eof && deadline.is_none() {
                // The peer is gone and the machine waits for nothing.
                return Step::Closed;
            }
            let deadline = deadline.map(tokio::time::Instant::from_std);
            let can_read = !self.eof && self.unread.is_empty();
            let stopping = async {
                match stop.as_deref_mut() {
                    Some(stop) => {
                        let _ = stop.changed().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            self.buf.clear();
            tokio::select! {
                // After EOF only the timer runs (a delayed reply may still be due): reading
                // again would return EOF at once and spin. Input not taken yet waits for
                // the machine, not for more input.
                read = stream.read_buf(&mut self.buf), if can_read => match read {
                    Ok(0) => {
                        self.eof = true;
                        machine.handle_eof(Instant::now());
                    }
                    Ok(n) => {
                        let input = self.buf.get(..n).unwrap_or_default();
                        let used = machine.handle_input(input, Instant::now());
                        self.unread.extend_from_slice(input.get(used..).unwrap_or_default());
                    }
                    Err(e) => {
                        self.eof = true;
                        machine.handle_eof(Instant::now());
                        return Step::Failed(e);
                    }
                },
                () = sleep_until(deadline) => machine.handle_timeout(Instant::now()),
                () = stopping => return Step::Stopped,
            }
        }
    }
}
