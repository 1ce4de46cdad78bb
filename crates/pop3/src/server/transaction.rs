//! TRANSACTION state: STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP, and
//! QUIT into UPDATE.

use super::{Connection, Deletion, Event, Pending, State};
use crate::codec::{Command, DotStuffer, Response};

impl Connection {
    pub(super) fn transaction_command(&mut self, command: Command) {
        match command {
            Command::Capa => self.send_capa(),
            Command::Lang(range) => self.lang(range.as_deref()),
            Command::Noop => self.send(&Response::done()),
            Command::Stat => {
                let (count, octets) = self.totals();
                self.send(&Response::stat(count, octets));
            }
            Command::List(None) => {
                let (count, octets) = self.totals();
                self.send(&Response::listing_follows(count, octets));
                self.start_listing(false);
            }
            Command::List(Some(n)) => match self.message(n) {
                Some(i) => {
                    let size = self.maildrop.get(i).map_or(0, |e| e.size);
                    self.send(&Response::scan_listing(n, size));
                }
                None => self.send_error(&Response::no_such_message()),
            },
            Command::Uidl(None) => {
                self.send(&Response::unique_ids_follow());
                self.start_listing(true);
            }
            Command::Uidl(Some(n)) => match self.message(n) {
                Some(i) => {
                    let uid = self
                        .maildrop
                        .get(i)
                        .map(|e| e.uid.clone())
                        .unwrap_or_default();
                    self.send(&Response::unique_id_listing(n, &uid));
                }
                None => self.send_error(&Response::no_such_message()),
            },
            Command::Retr(n) => self.request_message(n, None),
            Command::Top { msg, lines } => self.request_message(msg, Some(lines)),
            Command::Dele(n) => {
                let Some(entry) = self.entry_mut(n) else {
                    self.send_error(&Response::no_such_message());
                    return;
                };
                if entry.deleted {
                    self.send_error(&Response::already_deleted());
                } else {
                    entry.deleted = true;
                    self.send(&Response::deleted(n));
                }
            }
            Command::Rset => {
                for e in &mut self.maildrop {
                    e.deleted = false;
                }
                let (count, octets) = self.totals();
                self.send(&Response::reset(count, octets));
            }
            Command::Quit => {
                self.state = State::Update;
                let deletions = self
                    .maildrop
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.deleted)
                    .map(|(index, e)| Deletion {
                        index,
                        uid: e.uid.clone(),
                    })
                    .collect();
                let id = self.new_id();
                self.pending = Some(Pending::Commit(id));
                self.event(Event::Commit { id, deletions });
            }
            _ => self.send_error(&Response::wrong_state()),
        }
    }

    fn request_message(&mut self, n: u32, top_lines: Option<u32>) {
        let Some(index) = self.message(n) else {
            self.send_error(&Response::no_such_message());
            return;
        };
        let (size, uid) = self
            .maildrop
            .get(index)
            .map(|e| (e.size, e.uid.clone()))
            .unwrap_or_default();
        let (stuffer, status) = match top_lines {
            None => (DotStuffer::new(), Response::message_follows(size)),
            Some(lines) => (DotStuffer::top(lines), Response::top_follows()),
        };
        let id = self.new_id();
        self.pending = Some(Pending::Message {
            id,
            stuffer,
            started: false,
            status,
        });
        self.event(Event::MessageRequest {
            id,
            index,
            uid,
            top_lines,
        });
    }

    /// Message count and octets, not counting messages marked deleted.
    pub(super) fn totals(&self) -> (usize, u64) {
        self.maildrop
            .iter()
            .filter(|e| !e.deleted)
            .fold((0, 0), |(c, o), e| (c + 1, o.saturating_add(e.size)))
    }

    /// Index of message number `n` if it exists and is not marked deleted.
    fn message(&self, n: u32) -> Option<usize> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.maildrop
            .get(index)
            .filter(|e| !e.deleted)
            .map(|_| index)
    }

    fn entry_mut(&mut self, n: u32) -> Option<&mut super::Entry> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.maildrop.get_mut(index)
    }
}
