//! Reading the server's answers: status lines, listings, message bodies.

use bytes::Bytes;
use memchr::memchr;

use super::{
    CloseReason, Connection, Event, Kind, Reading, Reply, ScanListing, UidListing, Violation,
};
use crate::codec::{Capabilities, DotUnstuffer, Response, Status, decode_sasl, encode_sasl};
use postwerk_sasl::ClientError;

impl Connection {
    /// Take bytes from the server and process as much as possible.
    pub(super) fn take_input(&mut self, data: &[u8]) {
        // Fast path: a body streaming with nothing buffered is unstuffed
        // straight from one copy of the input.
        if matches!(self.reading, Reading::Body(..))
            && self.input_start >= self.input.len()
            && !self.is_output_full()
        {
            self.input.clear();
            self.input_start = 0;
            let chunk = Bytes::copy_from_slice(data);
            match self.body(&chunk) {
                None => return,
                Some(used) => self
                    .input
                    .extend_from_slice(chunk.get(used..).unwrap_or_default()),
            }
        } else {
            if self.input_start > 0 && self.input_start * 2 >= self.input.len() {
                self.input.drain(..self.input_start);
                self.input_start = 0;
            }
            self.input.extend_from_slice(data);
        }
        self.process();
    }

    /// Process buffered replies held while output was full.
    pub(super) fn resume_input(&mut self) {
        if self.input_start < self.input.len() {
            self.process();
        }
    }

    fn process(&mut self) {
        while !self.closed && !self.is_output_full() {
            if matches!(self.reading, Reading::Body(..)) {
                let chunk =
                    Bytes::copy_from_slice(self.input.get(self.input_start..).unwrap_or_default());
                match self.body(&chunk) {
                    Some(used) => self.input_start += used,
                    None => {
                        self.input.clear();
                        self.input_start = 0;
                        return;
                    }
                }
                continue;
            }
            let rest = self.input.get(self.input_start..).unwrap_or_default();
            let Some(lf) = memchr(b'\n', rest) else {
                if rest.len() >= self.config.max_line {
                    self.close(CloseReason::Violation(Violation::LineTooLong));
                }
                return;
            };
            if lf + 1 > self.config.max_line {
                self.close(CloseReason::Violation(Violation::LineTooLong));
                return;
            }
            let mut line = rest.get(..lf).unwrap_or_default();
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            let line = line.to_vec();
            self.input_start += lf + 1;
            if matches!(self.reading, Reading::Listing(..)) {
                self.listing_line(&line);
            } else {
                self.status_line(&line);
            }
        }
    }

    /// Unstuff body bytes; `Some(n)` when the body ended after `n` bytes.
    fn body(&mut self, chunk: &Bytes) -> Option<usize> {
        let Some(id) = self.inflight.front().map(|o| o.id) else {
            return Some(0);
        };
        let Reading::Body(unstuffer, octets) = &mut self.reading else {
            return Some(0);
        };
        let events = &mut self.events;
        let used = unstuffer.feed(chunk, |b| {
            *octets += b.len() as u64;
            events.push_back(Event::MessageData { id, chunk: b });
        });
        let octets = *octets;
        if used.is_some() {
            self.reading = Reading::Status;
            self.inflight.pop_front();
            self.event(Event::Reply {
                id,
                result: Ok(Reply::Message { octets }),
            });
        }
        used
    }

    fn status_line(&mut self, line: &[u8]) {
        if !self.greeted {
            return self.greeting(line);
        }
        let Some(front) = self.inflight.front() else {
            return self.close(CloseReason::Violation(Violation::Unexpected));
        };
        let (id, kind) = (front.id, front.kind);
        if line == b"+" || line.starts_with(b"+ ") {
            // SASL continuation (RFC 5034): only meaningful during AUTH.
            if kind != Kind::Login {
                return self.close(CloseReason::Violation(Violation::BadStatusLine));
            }
            let challenge = line.get(2..).unwrap_or_default();
            let answer = self.sasl_challenge(id, challenge);
            self.send_line(answer.as_bytes());
            return;
        }
        let Ok(response) = Response::parse(line) else {
            return self.close(CloseReason::Violation(Violation::BadStatusLine));
        };
        if response.status == Status::Err {
            self.inflight.pop_front();
            self.event(Event::Reply {
                id,
                result: Err(response),
            });
            return;
        }
        let reply = match kind {
            Kind::Simple => Reply::Ok(response),
            Kind::Login => {
                // SCRAM: the server must have proven itself by now.
                let finished = match self.inflight.front_mut().and_then(|o| o.auth.as_mut()) {
                    Some(auth) => auth.exchange.finish(None),
                    None => Ok(()),
                };
                if let Err(error) = finished {
                    self.inflight.pop_front();
                    self.event(Event::SaslError {
                        id,
                        error: error.clone(),
                    });
                    return self.close(CloseReason::Sasl(error));
                }
                self.authenticated = true;
                Reply::Ok(response)
            }
            Kind::Quit => {
                self.inflight.pop_front();
                self.event(Event::Reply {
                    id,
                    result: Ok(Reply::Ok(response)),
                });
                return self.close(CloseReason::Quit);
            }
            Kind::Stls => {
                self.inflight.pop_front();
                self.event(Event::Reply {
                    id,
                    result: Ok(Reply::Ok(response)),
                });
                return self.begin_tls();
            }
            Kind::Stat => match parse_pair(&response.text) {
                Some((count, octets)) => Reply::Stat {
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    octets,
                },
                None => return self.close(CloseReason::Violation(Violation::BadListing)),
            },
            Kind::List { multi: false } => match parse_scan(&response.text) {
                Some(s) => Reply::List(vec![s]),
                None => return self.close(CloseReason::Violation(Violation::BadListing)),
            },
            Kind::Uidl { multi: false } => match parse_uid(&response.text) {
                Some(u) => Reply::Uidl(vec![u]),
                None => return self.close(CloseReason::Violation(Violation::BadListing)),
            },
            Kind::Capa
            | Kind::Mechanisms
            | Kind::Languages
            | Kind::List { multi: true }
            | Kind::Uidl { multi: true } => {
                self.reading = Reading::Listing(Vec::new());
                return;
            }
            Kind::Message => {
                self.reading = Reading::Body(DotUnstuffer::new(), 0);
                return;
            }
        };
        self.inflight.pop_front();
        self.event(Event::Reply {
            id,
            result: Ok(reply),
        });
    }

    /// The line answering a `+ ` challenge of the `AUTH` in flight: the
    /// mechanism's base64 response, or `*` to cancel.
    fn sasl_challenge(&mut self, id: super::CommandId, challenge: &[u8]) -> String {
        let Some(auth) = self.inflight.front_mut().and_then(|o| o.auth.as_mut()) else {
            // USER/PASS or APOP do not take challenges.
            return "*".to_owned();
        };
        if auth.cancelled {
            return "*".to_owned();
        }
        if let Some(initial) = auth.deferred.take() {
            return encode_sasl(&initial);
        }
        let decoded = std::str::from_utf8(challenge)
            .ok()
            .and_then(|t| decode_sasl(t.trim_end_matches(' ')).ok());
        let result = match decoded {
            Some(challenge) => auth.exchange.step(&challenge),
            None => Err(ClientError::Malformed {
                mechanism: auth.exchange.mechanism_name().to_owned(),
                what: "the challenge is not base64",
            }),
        };
        match result {
            Ok(response) => encode_sasl(&response),
            Err(error) => {
                auth.cancelled = true;
                self.event(Event::SaslError { id, error });
                "*".to_owned()
            }
        }
    }

    fn greeting(&mut self, line: &[u8]) {
        let Ok(response) = Response::parse(line) else {
            return self.close(CloseReason::Violation(Violation::BadStatusLine));
        };
        if response.status == Status::Err {
            return self.close(CloseReason::GreetingRejected(response));
        }
        self.greeted = true;
        let text = response.text.into_owned();
        self.event(Event::Greeting {
            apop_timestamp: apop_timestamp(&text),
            text,
        });
    }

    fn listing_line(&mut self, line: &[u8]) {
        let Reading::Listing(lines) = &mut self.reading else {
            return;
        };
        if line != b"." {
            if lines.len() >= self.config.max_listing_lines {
                return self.close(CloseReason::Violation(Violation::TooManyLines));
            }
            let line = line.strip_prefix(b".").unwrap_or(line);
            lines.push(String::from_utf8_lossy(line).into_owned());
            return;
        }
        let lines = std::mem::take(lines);
        self.reading = Reading::Status;
        let Some(front) = self.inflight.pop_front() else {
            return;
        };
        let reply = match front.kind {
            Kind::Capa => {
                let mut caps = Capabilities::default();
                for l in &lines {
                    caps.parse_line(l);
                }
                self.caps = Some(caps.clone());
                Reply::Capabilities(caps)
            }
            Kind::List { .. } => match lines.iter().map(|l| parse_scan(l)).collect() {
                Some(v) => Reply::List(v),
                None => return self.close(CloseReason::Violation(Violation::BadListing)),
            },
            Kind::Uidl { .. } => match lines.iter().map(|l| parse_uid(l)).collect() {
                Some(v) => Reply::Uidl(v),
                None => return self.close(CloseReason::Violation(Violation::BadListing)),
            },
            Kind::Languages => Reply::Languages(
                lines
                    .iter()
                    .map(|l| match l.split_once(' ') {
                        Some((tag, description)) => (tag.to_owned(), description.to_owned()),
                        None => (l.clone(), String::new()),
                    })
                    .collect(),
            ),
            _ => Reply::Mechanisms(lines),
        };
        self.event(Event::Reply {
            id: front.id,
            result: Ok(reply),
        });
    }
}

/// The `<...>` APOP timestamp of a greeting, if any.
fn apop_timestamp(text: &str) -> Option<String> {
    let start = text.find('<')?;
    let len = text.get(start..)?.find('>')?;
    let ts = text.get(start..=start + len)?;
    ts.contains('@').then(|| ts.to_owned())
}

/// `a b` where both are decimal numbers (trailing text allowed).
fn parse_pair(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_ascii_whitespace();
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    Some((a, b))
}

fn parse_scan(text: &str) -> Option<ScanListing> {
    let (msg, octets) = parse_pair(text)?;
    Some(ScanListing {
        msg: u32::try_from(msg).ok()?,
        octets,
    })
}

fn parse_uid(text: &str) -> Option<UidListing> {
    let mut it = text.split_ascii_whitespace();
    let msg = it.next()?.parse().ok()?;
    let uid = it.next()?.to_owned();
    Some(UidListing { msg, uid })
}
