//! Input framing: bounded line buffer, pipelined commands processed in
//! order, one at a time, stopping while a command waits for the application.

use memchr::memchr;

use super::{Connection, State};
use crate::codec::{Command, Response};

impl Connection {
    /// Append client bytes to the buffer (dropping the rest of an over-long
    /// line), closing when the pipelining backlog overflows.
    pub(super) fn push_input(&mut self, mut data: &[u8]) {
        if self.discarding {
            match memchr(b'\n', data) {
                None => return,
                Some(i) => {
                    self.discarding = false;
                    data = data.get(i + 1..).unwrap_or_default();
                }
            }
        }
        if self.input_start > 0 && self.input_start * 2 >= self.input.len() {
            self.input.drain(..self.input_start);
            self.input_start = 0;
        }
        self.input.extend_from_slice(data);
        let buffered = self.input.len() - self.input_start;
        let waiting = self.pending.is_some()
            || self.held.is_some()
            || self.listing_active()
            || self.is_output_full();
        if waiting && buffered > self.config.max_pending_input {
            self.send(&Response::input_overflow());
            self.close(false);
        }
    }

    /// Line limit for the line starting at the buffer's read position.
    fn line_limit(&self) -> usize {
        let sasl = self.sasl_awaits_line();
        let rest = self.input.get(self.input_start..).unwrap_or_default();
        let is_auth = rest.len() >= 5 && rest[..5].eq_ignore_ascii_case(b"AUTH ");
        if sasl || is_auth {
            self.config.max_sasl_line.max(self.config.max_line)
        } else {
            self.config.max_line
        }
    }

    /// Run buffered commands until one must wait, input runs out, or the
    /// session ends.
    pub(super) fn process(&mut self) {
        loop {
            if self.state == State::Closed
                || self.pending.is_some()
                || self.held.is_some()
                || self.listing_active()
                || self.is_output_full()
            {
                return;
            }
            let rest = self.input.get(self.input_start..).unwrap_or_default();
            let from = self.scanned.min(rest.len());
            let Some(lf) = memchr(b'\n', rest.get(from..).unwrap_or_default()).map(|i| from + i)
            else {
                let limit = self.line_limit();
                if rest.len() >= limit {
                    self.input.clear();
                    self.input_start = 0;
                    self.scanned = 0;
                    self.discarding = true;
                    self.line_too_long();
                    continue;
                }
                self.scanned = rest.len();
                if self.eof {
                    self.close(false);
                }
                return;
            };
            let limit = self.line_limit();
            let mut line = rest.get(..lf).unwrap_or_default();
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            let line = line.to_vec();
            self.input_start += lf + 1;
            self.scanned = 0;
            if lf + 1 > limit {
                self.line_too_long();
                continue;
            }
            self.handle_line(&line);
        }
    }

    /// Refuse an over-long line; it also ends a SASL exchange in progress.
    fn line_too_long(&mut self) {
        self.sasl = None;
        self.send_error(&Response::line_too_long());
    }

    fn handle_line(&mut self, line: &[u8]) {
        if self.sasl_awaits_line() {
            self.sasl_response(line);
            return;
        }
        let command = match Command::parse(line) {
            Ok(c) => c,
            Err(e) => {
                self.send_error(&Response::syntax_error(e));
                return;
            }
        };
        match self.state {
            State::Authorization { .. } => self.authorization_command(command),
            State::Transaction => self.transaction_command(command),
            State::Update | State::Closed => {}
        }
    }
}
