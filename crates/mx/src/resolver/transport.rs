//! Sending a lookup's queries over UDP and TCP with tokio, and waiting for answers.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::query::{Query, RecordKind, Transport};

/// Largest DNS message (and TCP length prefix value).
const MAX_MESSAGE: usize = 65_535;

/// What happened while waiting.
#[derive(Debug)]
pub(crate) enum Event {
    /// A message from one of the name servers (UDP) or a TCP exchange.
    Response(Vec<u8>),
    /// The query with this id could not be sent or its TCP exchange failed.
    Failed(u16),
    /// The deadline passed.
    Timeout,
}

/// The sockets of one lookup.
#[derive(Debug)]
pub(crate) struct Exchange<'a> {
    servers: &'a [SocketAddr],
    v4: Option<UdpSocket>,
    v6: Option<UdpSocket>,
    buf4: Vec<u8>,
    buf6: Vec<u8>,
    tcp: JoinSet<(u16, io::Result<Vec<u8>>)>,
    in_flight: Vec<(u16, (String, RecordKind))>,
    failed: Vec<u16>,
    tcp_timeout: Duration,
}

pub(crate) fn peek_id(bytes: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

impl<'a> Exchange<'a> {
    pub(crate) fn new(servers: &'a [SocketAddr], timeout: Duration) -> Self {
        Self {
            servers,
            v4: None,
            v6: None,
            buf4: Vec::new(),
            buf6: Vec::new(),
            tcp: JoinSet::new(),
            in_flight: Vec::new(),
            failed: Vec::new(),
            tcp_timeout: timeout.saturating_mul(2).max(Duration::from_millis(100)),
        }
    }

    /// The cache key of the query in flight with this id.
    pub(crate) fn key_of(&self, id: u16) -> Option<(String, RecordKind)> {
        self.in_flight
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, k)| k.clone())
    }

    /// Ids whose sending failed since the last call.
    pub(crate) fn take_failed(&mut self) -> Vec<u16> {
        std::mem::take(&mut self.failed)
    }

    /// Sends `query` to the name server chosen by its attempt number.
    pub(crate) async fn send(&mut self, query: Query, key: (String, RecordKind)) {
        let id = query.id;
        self.in_flight.retain(|(i, _)| *i != id);
        self.in_flight.push((id, key));
        let Some(server) = self
            .servers
            .get(usize::from(query.attempt) % self.servers.len().max(1))
            .copied()
        else {
            self.failed.push(id);
            return;
        };
        match query.transport {
            Transport::Udp => {
                if self.udp_send(server, &query.bytes).await.is_err() {
                    self.failed.push(id);
                }
            }
            Transport::Tcp => {
                let limit = self.tcp_timeout;
                let bytes = query.bytes;
                self.tcp.spawn(async move {
                    let answer = tokio::time::timeout(limit, tcp_exchange(server, &bytes))
                        .await
                        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()));
                    (id, answer)
                });
            }
        }
    }

    async fn udp_send(&mut self, server: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let (slot, buf) = match server.ip() {
            IpAddr::V4(_) => (&mut self.v4, &mut self.buf4),
            IpAddr::V6(_) => (&mut self.v6, &mut self.buf6),
        };
        if slot.is_none() {
            // Bind on loopback when every server of this family is on loopback, so the
            // socket is reachable only from there; otherwise on the wildcard address.
            let same_family: Vec<&SocketAddr> = self
                .servers
                .iter()
                .filter(|s| s.is_ipv4() == server.is_ipv4())
                .collect();
            let loopback = same_family.iter().all(|s| s.ip().is_loopback());
            let local: IpAddr = match (server.ip(), loopback) {
                (IpAddr::V4(_), true) => Ipv4Addr::LOCALHOST.into(),
                (IpAddr::V4(_), false) => Ipv4Addr::UNSPECIFIED.into(),
                (IpAddr::V6(_), true) => Ipv6Addr::LOCALHOST.into(),
                (IpAddr::V6(_), false) => Ipv6Addr::UNSPECIFIED.into(),
            };
            *slot = Some(UdpSocket::bind(SocketAddr::new(local, 0)).await?);
            buf.resize(MAX_MESSAGE, 0);
        }
        match slot {
            Some(socket) => socket.send_to(bytes, server).await.map(|_| ()),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Waits for the next answer, failure, or the deadline.
    pub(crate) async fn next(&mut self, deadline: Instant) -> Event {
        let Self {
            servers,
            v4,
            v6,
            buf4,
            buf6,
            tcp,
            ..
        } = self;
        loop {
            tokio::select! {
                r = recv(v4.as_ref(), buf4) => match r {
                    Ok((n, from)) if servers.contains(&from) => {
                        if let Some(bytes) = buf4.get(..n) {
                            return Event::Response(bytes.to_vec());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => *v4 = None,
                },
                r = recv(v6.as_ref(), buf6) => match r {
                    Ok((n, from)) if servers.contains(&from) => {
                        if let Some(bytes) = buf6.get(..n) {
                            return Event::Response(bytes.to_vec());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => *v6 = None,
                },
                Some(joined) = tcp.join_next(), if !tcp.is_empty() => match joined {
                    Ok((_, Ok(bytes))) => return Event::Response(bytes),
                    Ok((id, Err(_))) => return Event::Failed(id),
                    Err(_) => {}
                },
                () = tokio::time::sleep_until(deadline) => return Event::Timeout,
            }
        }
    }
}

async fn recv(socket: Option<&UdpSocket>, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

/// One query over a fresh TCP connection, with the two-octet length prefix
/// (RFC 1035 section 4.2.2).
async fn tcp_exchange(server: SocketAddr, query: &[u8]) -> io::Result<Vec<u8>> {
    let stream = TcpStream::connect(server).await?;
    let len =
        u16::try_from(query.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut out = Vec::with_capacity(query.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(query);
    write_all(&stream, &out).await?;
    let mut head = [0u8; 2];
    read_exact(&stream, &mut head).await?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(head))];
    read_exact(&stream, &mut body).await?;
    Ok(body)
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
