//! Validating a DNS response against the query it claims to answer, and reading it.

use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record};

use crate::query::RecordKind;

/// Why a datagram was not taken as the answer to a pending query.
///
/// Mismatches are ignored rather than failing the lookup: on UDP anybody can send us a
/// datagram, and the genuine answer may still come (RFC 5452 section 9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// The lookup has already finished.
    Finished,
    /// Not a parsable DNS message.
    Malformed,
    /// The id matches no query in flight.
    UnknownId,
    /// The QR bit is not set: a query, not a response.
    NotResponse,
    /// The opcode is not QUERY.
    Opcode,
    /// The question section differs from ours (name, type or class).
    Question,
}

/// What a validated response says about the question.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// TC bit set: ask again over TCP.
    Truncated,
    /// An error rcode other than NXDOMAIN (SERVFAIL, REFUSED, FORMERR, …).
    Failure(u16),
    /// More CNAME records in a row than allowed.
    ChainTooLong,
    /// The name (at the end of any CNAME chain) does not exist.
    NxDomain,
    /// NOERROR without any answer for the question and without an SOA in the authority
    /// section: a referral (NS records only) or a lame server. It says nothing about the
    /// name, so it is a temporary failure, never NODATA (RFC 2308 section 2.2: only the
    /// SOA tells a NODATA answer from a referral).
    Lame,
    /// NOERROR. `data` is empty for NODATA (or when the chain stops before any data).
    Data(Data),
}

/// The useful part of a NOERROR answer.
#[derive(Debug)]
pub(crate) struct Data {
    /// The name at the end of the CNAME chain in the answer (the queried name if none).
    pub(crate) canonical: Name,
    /// How many CNAME records were followed.
    pub(crate) hops: u8,
    /// MX records of `canonical` (preference, exchange), for an MX question.
    pub(crate) mx: Vec<(u16, Name)>,
    /// Addresses of `canonical` of the asked family, for an A/AAAA question.
    pub(crate) addresses: Vec<IpAddr>,
    /// A and AAAA records from the additional section (for an MX question).
    pub(crate) additional: Vec<(Name, IpAddr)>,
    /// How many records of another asked type (TXT, PTR) `canonical` has.
    pub(crate) others: usize,
}

impl Data {
    /// No record of the asked type at the canonical name (NODATA, or a chain to follow).
    pub(crate) fn is_empty(&self) -> bool {
        self.mx.is_empty() && self.addresses.is_empty() && self.others == 0
    }
}

/// A response that matched its question, with how long it may be cached.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) outcome: Outcome,
    pub(crate) cache_ttl: Option<u32>,
}

/// The message id in the first two octets, if there are two.
pub(crate) fn peek_id(bytes: &[u8]) -> Option<u16> {
    let head = bytes.get(..2)?;
    Some(u16::from_be_bytes([*head.first()?, *head.get(1)?]))
}

/// Checks `msg` against the question (`qname`, `kind`, class IN) and reads it.
pub(crate) fn check(
    msg: &Message,
    qname: &Name,
    kind: RecordKind,
    max_hops: u8,
) -> Result<Checked, Ignored> {
    let md = &msg.metadata;
    if md.message_type != MessageType::Response {
        return Err(Ignored::NotResponse);
    }
    if md.op_code != OpCode::Query {
        return Err(Ignored::Opcode);
    }
    let rcode = md.response_code;
    let is_data_rcode = matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain);
    match msg.queries.as_slice() {
        [q] => {
            // Name equality in hickory is ASCII case-insensitive, so answers from servers
            // that echo a 0x20-mixed-case question still match.
            if q.name() != qname
                || q.query_type() != kind.record_type()
                || q.query_class() != DNSClass::IN
            {
                return Err(Ignored::Question);
            }
        }
        // Some servers drop the question from error answers (FORMERR, SERVFAIL).
        // Accepting them can only turn into a temporary failure.
        [] if !is_data_rcode => {}
        _ => return Err(Ignored::Question),
    }
    if md.truncation {
        return Ok(Checked {
            outcome: Outcome::Truncated,
            cache_ttl: None,
        });
    }
    if !is_data_rcode {
        return Ok(Checked {
            outcome: Outcome::Failure(u16::from(rcode)),
            cache_ttl: None,
        });
    }

    let mut ttl = u32::MAX;
    let mut canonical = qname.clone();
    let mut hops: u8 = 0;
    while let Some(cname) = msg
        .answers
        .iter()
        .filter(|r| in_class(r) && r.name == canonical)
        .find_map(|r| match &r.data {
            RData::CNAME(c) => Some((r.ttl, c.0.clone())),
            _ => None,
        })
    {
        if hops >= max_hops {
            return Ok(Checked {
                outcome: Outcome::ChainTooLong,
                cache_ttl: None,
            });
        }
        hops += 1;
        ttl = ttl.min(cname.0);
        canonical = cname.1;
    }

    if rcode == ResponseCode::NXDomain {
        return Ok(Checked {
            outcome: Outcome::NxDomain,
            cache_ttl: negative_ttl(msg).map(|n| n.min(ttl)),
        });
    }

    let mut data = Data {
        canonical,
        hops,
        mx: Vec::new(),
        addresses: Vec::new(),
        additional: Vec::new(),
        others: 0,
    };
    for r in msg
        .answers
        .iter()
        .filter(|r| in_class(r) && r.name == data.canonical)
    {
        match (&r.data, kind) {
            (RData::MX(mx), RecordKind::Mx) => data.mx.push((mx.preference, mx.exchange.clone())),
            (RData::A(a), RecordKind::A) => data.addresses.push(IpAddr::V4(a.0)),
            (RData::AAAA(a), RecordKind::Aaaa) => data.addresses.push(IpAddr::V6(a.0)),
            (RData::TXT(_), RecordKind::Txt) | (RData::PTR(_), RecordKind::Ptr) => data.others += 1,
            _ => continue,
        }
        ttl = ttl.min(r.ttl);
    }
    if kind == RecordKind::Mx && !data.mx.is_empty() {
        for r in msg.additionals.iter().filter(|r| in_class(r)) {
            let ip = match &r.data {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(a) => IpAddr::V6(a.0),
                _ => continue,
            };
            ttl = ttl.min(r.ttl);
            data.additional.push((r.name.clone(), ip));
        }
    }
    let empty = data.is_empty();
    if empty && data.hops == 0 && negative_ttl(msg).is_none() {
        return Ok(Checked {
            outcome: Outcome::Lame,
            cache_ttl: None,
        });
    }
    let cache_ttl = if empty {
        // NODATA: cacheable only with an SOA in the authority section (RFC 2308 section 5).
        negative_ttl(msg).map(|n| n.min(ttl))
    } else {
        Some(ttl)
    };
    Ok(Checked {
        outcome: Outcome::Data(data),
        cache_ttl,
    })
}

fn in_class(r: &Record) -> bool {
    r.dns_class == DNSClass::IN
}

/// RFC 2308 section 5: a negative answer is cached for the smaller of the SOA record's
/// TTL and its MINIMUM field. Without an SOA it must not be cached.
fn negative_ttl(msg: &Message) -> Option<u32> {
    msg.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
        _ => None,
    })
}

/// A name as a lower-case A-label string without the trailing dot.
pub(crate) fn name_string(name: &Name) -> String {
    let mut s = name.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s.make_ascii_lowercase();
    s
}
