//! Sending a lookup's queries over UDP and TCP with tokio, and waiting for answers.
//!
//! Every transmission is its own task with its own socket, so that nothing an off-path
//! attacker learns about one query helps with the next (RFC 5452 sections 9.2 and 10):
//!
//! * the id on the wire is drawn from the operating system's CSPRNG for each
//!   transmission (the lookup's own id, which may come from a seeded generator, never
//!   leaves this module: it is put back into the answer before the lookup sees it);
//! * UDP goes out from a socket bound to port 0 for this transmission alone (the
//!   operating system picks a fresh ephemeral port), connected to the one server asked;
//! * a datagram counts only if it comes from that server's address and port, carries the
//!   wire id, is a response to a QUERY, and repeats the question (name compared without
//!   regard to ASCII case, type, class). Anything else is dropped and reading goes on
//!   until the transmission's per-try deadline.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, Query as DnsQuery};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use crate::query::{Query, RecordKind, Transport};

/// Largest DNS message (and TCP length prefix value).
const MAX_MESSAGE: usize = 65_535;

/// What happened while waiting.
#[derive(Debug)]
pub(crate) enum Event {
    /// An answer that matched its transmission, carrying the lookup's id again.
    Response(Vec<u8>),
    /// The latest transmission of the query with this (lookup) id could not be sent, or
    /// its socket or TCP exchange failed.
    Failed(u16),
    /// The deadline passed.
    Timeout,
}

/// How one transmission ended.
#[derive(Debug)]
enum Ending {
    Answer(Vec<u8>),
    Failed,
    /// The per-try deadline passed without a matching answer; the lookup's own timer
    /// deals with that.
    Expired,
}

/// The transmissions of one lookup. Dropping it aborts them all.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    servers: &'a [SocketAddr],
    tasks: JoinSet<(u16, u8, Ending)>,
    /// Lookup id → the latest transmission's attempt number and the cache key.
    latest: HashMap<u16, (u8, (String, RecordKind))>,
    handles: Vec<(u16, AbortHandle)>,
    failed: Vec<u16>,
    tcp_timeout: Duration,
}

impl<'a> Exchange<'a> {
    pub(crate) fn new(servers: &'a [SocketAddr], timeout: Duration) -> Self {
        Self {
            servers,
            tasks: JoinSet::new(),
            latest: HashMap::new(),
            handles: Vec::new(),
            failed: Vec::new(),
            tcp_timeout: timeout.saturating_mul(2).max(Duration::from_millis(100)),
        }
    }

    /// The cache key of the query in flight with this (lookup) id.
    pub(crate) fn key_of(&self, id: u16) -> Option<(String, RecordKind)> {
        self.latest.get(&id).map(|(_, key)| key.clone())
    }

    /// Ids whose sending failed since the last call.
    pub(crate) fn take_failed(&mut self) -> Vec<u16> {
        std::mem::take(&mut self.failed)
    }

    /// Stops listening for earlier transmissions of query `id` (its answer has been
    /// taken, or it is about to be sent again).
    pub(crate) fn settle(&mut self, id: u16) {
        self.handles.retain(|(i, handle)| {
            if *i == id {
                handle.abort();
            }
            *i != id
        });
    }

    /// Sends `query` to the name server chosen by its attempt number, listening for the
    /// answer until `deadline` (UDP) or the TCP exchange's own limit.
    pub(crate) fn send(&mut self, query: Query, key: (String, RecordKind), deadline: Instant) {
        let id = query.id;
        self.latest.insert(id, (query.attempt, key));
        let server = self
            .servers
            .get(usize::from(query.attempt) % self.servers.len().max(1))
            .copied();
        // The question we expect repeated; our own bytes always parse.
        let question = Message::from_vec(&query.bytes)
            .ok()
            .and_then(|m| m.queries.into_iter().next());
        let (Some(server), Some(question)) = (server, question) else {
            self.failed.push(id);
            return;
        };
        let attempt = query.attempt;
        let bytes = query.bytes;
        let handle = match query.transport {
            Transport::Udp => self.tasks.spawn(async move {
                let ending = udp_exchange(server, bytes, &question, deadline)
                    .await
                    .unwrap_or(Ending::Failed);
                (id, attempt, with_id(ending, id))
            }),
            Transport::Tcp => {
                let limit = self.tcp_timeout;
                self.tasks.spawn(async move {
                    let ending =
                        tokio::time::timeout(limit, tcp_exchange(server, bytes, &question))
                            .await
                            .map_or(Ending::Failed, |r| r.unwrap_or(Ending::Failed));
                    (id, attempt, with_id(ending, id))
                })
            }
        };
        self.handles.retain(|(_, h)| !h.is_finished());
        self.handles.push((id, handle));
    }

    /// Waits for the next answer, failure, or the deadline.
    pub(crate) async fn next(&mut self, deadline: Instant) -> Event {
        loop {
            tokio::select! {
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    match joined {
                        Ok((_, _, Ending::Answer(bytes))) => return Event::Response(bytes),
                        Ok((id, attempt, Ending::Failed))
                            if self.latest.get(&id).is_some_and(|(a, _)| *a == attempt) =>
                        {
                            return Event::Failed(id);
                        }
                        _ => {}
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Event::Timeout,
            }
        }
    }
}

/// Puts the lookup's id back into an answer.
fn with_id(ending: Ending, id: u16) -> Ending {
    match ending {
        Ending::Answer(mut bytes) => {
            if let Some(head) = bytes.get_mut(..2) {
                head.copy_from_slice(&id.to_be_bytes());
            }
            Ending::Answer(bytes)
        }
        other => other,
    }
}

/// A fresh transaction id from the operating system's CSPRNG, written into `bytes`.
/// No id (the OS gave no random bytes) means no query: never a guessable fallback.
fn fresh_id(bytes: &mut [u8]) -> io::Result<u16> {
    let mut id = [0u8; 2];
    getrandom::fill(&mut id).map_err(|_| io::Error::other("no OS randomness"))?;
    let head = bytes
        .get_mut(..2)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    head.copy_from_slice(&id);
    Ok(u16::from_be_bytes(id))
}

/// True when `bytes` is the answer to our `question` sent with `wire_id`.
pub(crate) fn matches(bytes: &[u8], wire_id: u16, question: &DnsQuery) -> bool {
    let id = match (bytes.first(), bytes.get(1)) {
        (Some(hi), Some(lo)) => u16::from_be_bytes([*hi, *lo]),
        _ => return false,
    };
    if id != wire_id {
        return false;
    }
    let Ok(msg) = Message::from_vec(bytes) else {
        return false;
    };
    if msg.metadata.message_type != MessageType::Response || msg.metadata.op_code != OpCode::Query {
        return false;
    }
    // hickory's `Name` equality ignores ASCII case (RFC 4343), so a server that echoes
    // the question in another case still matches.
    match msg.queries.as_slice() {
        [q] => {
            q.name() == question.name()
                && q.query_type() == question.query_type()
                && q.query_class() == question.query_class()
        }
        _ => false,
    }
}

/// One UDP transmission from a socket of its own: send, then read until a matching
/// answer or `deadline`.
async fn udp_exchange(
    server: SocketAddr,
    mut bytes: Vec<u8>,
    question: &DnsQuery,
    deadline: Instant,
) -> io::Result<Ending> {
    let wire_id = fresh_id(&mut bytes)?;
    // On loopback when the server is, so the socket is reachable only from there;
    // otherwise on the wildcard address of the server's family. Port 0: the operating
    // system picks a fresh ephemeral port for this query alone.
    let local: IpAddr = match (server.ip(), server.ip().is_loopback()) {
        (IpAddr::V4(_), true) => Ipv4Addr::LOCALHOST.into(),
        (IpAddr::V4(_), false) => Ipv4Addr::UNSPECIFIED.into(),
        (IpAddr::V6(_), true) => Ipv6Addr::LOCALHOST.into(),
        (IpAddr::V6(_), false) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(local, 0)).await?;
    // Connected: the kernel drops datagrams from any other address or port, and reports
    // an ICMP "port unreachable" as an error, so an absent server is passed over at once.
    socket.connect(server).await?;
    socket.send(&bytes).await?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let received = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await;
        let (n, from) = match received {
            Err(_) => return Ok(Ending::Expired),
            Ok(result) => result?,
        };
        if from != server {
            continue;
        }
        if let Some(answer) = buf.get(..n)
            && matches(answer, wire_id, question)
        {
            return Ok(Ending::Answer(answer.to_vec()));
        }
    }
}

/// One query over a fresh TCP connection, with the two-octet length prefix
/// (RFC 1035 section 4.2.2) and a fresh id.
async fn tcp_exchange(
    server: SocketAddr,
    mut query: Vec<u8>,
    question: &DnsQuery,
) -> io::Result<Ending> {
    let wire_id = fresh_id(&mut query)?;
    let stream = TcpStream::connect(server).await?;
    let len =
        u16::try_from(query.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut out = Vec::with_capacity(query.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&query);
    write_all(&stream, &out).await?;
    let mut head = [0u8; 2];
    read_exact(&stream, &mut head).await?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(head))];
    read_exact(&stream, &mut body).await?;
    Ok(if matches(&body, wire_id, question) {
        Ending::Answer(body)
    } else {
        Ending::Failed
    })
}

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        stream.writable().await?;
        match stream.try_write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn read_exact(stream: &TcpStream, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        stream.readable().await?;
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match stream.try_read(rest) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{Name, RecordType};
    use std::str::FromStr;

    fn answer(id: u16, name: &str, kind: RecordType) -> Vec<u8> {
        let mut m = Message::new(id, MessageType::Response, OpCode::Query);
        m.add_query(DnsQuery::query(Name::from_str(name).unwrap(), kind));
        m.to_vec().unwrap()
    }

    #[test]
    fn only_the_right_id_and_question_match() {
        let q = DnsQuery::query(Name::from_str("example.test.").unwrap(), RecordType::MX);
        assert!(matches(&answer(7, "example.test.", RecordType::MX), 7, &q));
        assert!(matches(&answer(7, "EXAMPLE.Test.", RecordType::MX), 7, &q));
        assert!(!matches(&answer(8, "example.test.", RecordType::MX), 7, &q));
        assert!(!matches(&answer(7, "other.test.", RecordType::MX), 7, &q));
        assert!(!matches(&answer(7, "example.test.", RecordType::A), 7, &q));
        let mut query = Message::new(7, MessageType::Query, OpCode::Query);
        query.add_query(q.clone());
        assert!(!matches(&query.to_vec().unwrap(), 7, &q), "not a response");
        assert!(!matches(&[0, 7], 7, &q));
    }

    #[test]
    fn fresh_ids_are_written_and_vary() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..64 {
            let mut bytes = vec![0u8; 12];
            let id = fresh_id(&mut bytes).unwrap();
            assert_eq!(bytes.get(..2), Some(&id.to_be_bytes()[..]));
            seen.insert(id);
        }
        assert!(seen.len() > 48, "{}", seen.len());
        assert!(fresh_id(&mut [0u8; 1]).is_err());
    }
}
