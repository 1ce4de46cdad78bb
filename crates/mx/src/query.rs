//! DNS queries the lookup asks its driver to send.

use std::fmt;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as DnsQuery};
use hickory_proto::rr::{Name, RecordType};

/// The record types a lookup asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// MX (RFC 1035 section 3.3.9).
    Mx,
    /// A (IPv4 address).
    A,
    /// AAAA (IPv6 address, RFC 3596).
    Aaaa,
    /// TXT (RFC 1035 section 3.3.14): asked only by [`Lookup::records`](crate::Lookup::records).
    Txt,
    /// PTR (RFC 1035 section 3.3.12): asked only by [`Lookup::records`](crate::Lookup::records).
    Ptr,
}

impl RecordKind {
    pub(crate) fn record_type(self) -> RecordType {
        match self {
            Self::Mx => RecordType::MX,
            Self::A => RecordType::A,
            Self::Aaaa => RecordType::AAAA,
            Self::Txt => RecordType::TXT,
            Self::Ptr => RecordType::PTR,
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mx => "MX",
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Txt => "TXT",
            Self::Ptr => "PTR",
        })
    }
}

/// How a query must be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// One UDP datagram to the name server's port 53.
    Udp,
    /// A TCP connection, the message prefixed with its length in two octets
    /// (RFC 1035 section 4.2.2). Asked for after a truncated UDP answer.
    Tcp,
}

/// A DNS query to send: wire bytes plus what the driver needs to route and cache it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Query {
    /// The message id (also the first two octets of `bytes`).
    pub id: u16,
    /// The complete DNS message.
    pub bytes: Vec<u8>,
    /// UDP, or TCP after truncation.
    pub transport: Transport,
    /// The queried name (A-labels, lower case, no trailing dot): a cache key.
    pub name: String,
    /// The queried type: the other half of the cache key.
    pub record: RecordKind,
    /// 0 for the first transmission, then 1, 2, …: a driver sends it to name server
    /// number `attempt % Options::servers`, so a timeout, an error code or a lame answer
    /// moves the question on to the next server.
    pub attempt: u8,
}

/// Encodes a recursive query for `name`/`kind` with `id`.
pub(crate) fn encode(id: u16, name: &Name, kind: RecordKind, udp_payload: u16) -> Vec<u8> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(DnsQuery::query(name.clone(), kind.record_type()));
    if udp_payload > 512 {
        let mut edns = Edns::new();
        edns.set_max_payload(udp_payload);
        msg.set_edns(edns);
    }
    // Encoding a query of one valid name cannot fail; an empty vector would simply never
    // be answered and the lookup would time out, so there is no panic path here.
    msg.to_vec().unwrap_or_default()
}
