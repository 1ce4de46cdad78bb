//! The DNS questions the machines ask and the answers they take, shared by SPF, DKIM and
//! DMARC.
//!
//! A machine lists [`Query`] values; the caller looks each one up (as a hickory-proto
//! [`Message`] from [`Query::dns_message`], over any transport and cache it likes) and
//! hands back an [`Answer`], read from the response with [`Answer::from_dns_response`]
//! or built directly (tests, static data). The machines never see sockets or clocks.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType, OpCode, Query as WireQuery, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// The record types the machines ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// TXT (SPF policies, DKIM keys, DMARC policies).
    Txt,
    /// A (IPv4 addresses).
    A,
    /// AAAA (IPv6 addresses, RFC 3596).
    Aaaa,
    /// MX (SPF's `mx` mechanism).
    Mx,
    /// PTR (SPF's `ptr` mechanism and `%{p}` macro).
    Ptr,
}

impl RecordKind {
    /// The hickory-proto record type.
    pub fn record_type(self) -> RecordType {
        match self {
            Self::Txt => RecordType::TXT,
            Self::A => RecordType::A,
            Self::Aaaa => RecordType::AAAA,
            Self::Mx => RecordType::MX,
            Self::Ptr => RecordType::PTR,
        }
    }

    /// The kind of a hickory-proto record type, when it is one the machines ask for.
    pub fn from_record_type(t: RecordType) -> Option<Self> {
        Some(match t {
            RecordType::TXT => Self::Txt,
            RecordType::A => Self::A,
            RecordType::AAAA => Self::Aaaa,
            RecordType::MX => Self::Mx,
            RecordType::PTR => Self::Ptr,
            _ => return None,
        })
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Txt => "TXT",
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Mx => "MX",
            Self::Ptr => "PTR",
        })
    }
}

/// One DNS question: records of `kind` at `name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    /// The name, lower case, without a trailing dot.
    pub name: String,
    /// The record type asked for.
    pub kind: RecordKind,
}

impl Query {
    /// A question for `kind` records at `name` (a trailing dot is dropped, ASCII letters
    /// lowered).
    pub fn new(name: &str, kind: RecordKind) -> Self {
        Self {
            name: normalize_name(name),
            kind,
        }
    }

    /// The DNS query message (recursion desired, class IN) with `id`, for a caller that
    /// speaks DNS wire format; `None` when the name is not a valid DNS name.
    pub fn dns_message(&self, id: u16) -> Option<Message> {
        let name = Name::from_ascii(format!("{}.", self.name)).ok()?;
        let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
        msg.metadata.recursion_desired = true;
        msg.add_query(WireQuery::query(name, self.kind.record_type()));
        Some(msg)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.kind)
    }
}

/// One record of an answer, in the form the machines use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// A TXT record, its character-strings concatenated (RFC 7208 3.3, RFC 6376 3.6.2.2).
    Txt(Vec<u8>),
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The exchanger's name, lower case, without a trailing dot.
        exchange: String,
    },
    /// A PTR target, lower case, without a trailing dot.
    Ptr(String),
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// The records of the asked type at the name (after CNAMEs), at least one.
    Records(Vec<Record>),
    /// The name exists but has no record of the asked type (NOERROR, no answer).
    NoData,
    /// The name does not exist (NXDOMAIN).
    NxDomain,
    /// A temporary failure: SERVFAIL, REFUSED, a timeout, a truncated answer the caller
    /// could not complete over TCP.
    TempFail,
}

/// At most this many CNAMEs are followed inside one response.
const MAX_CNAME_CHAIN: usize = 8;

impl Answer {
    /// Reads a DNS response to a [`Query::dns_message`]: the records of the question's
    /// type owned by the question's name (or the end of a CNAME chain in the answer
    /// section); NXDOMAIN as [`Answer::NxDomain`], NOERROR without such records as
    /// [`Answer::NoData`], any other response code, a truncated answer or a response
    /// without a question as [`Answer::TempFail`].
    pub fn from_dns_response(response: &Message) -> Self {
        if response.metadata.truncation {
            return Self::TempFail;
        }
        match response.metadata.response_code {
            ResponseCode::NoError => {}
            ResponseCode::NXDomain => return Self::NxDomain,
            _ => return Self::TempFail,
        }
        let Some(q) = response.queries.first() else {
            return Self::TempFail;
        };
        let Some(kind) = RecordKind::from_record_type(q.query_type()) else {
            return Self::TempFail;
        };
        let mut owner = q.name().clone();
        for _ in 0..MAX_CNAME_CHAIN {
            let next = response.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if r.name == owner => Some(c.0.clone()),
                _ => None,
            });
            match next {
                Some(target) => owner = target,
                None => break,
            }
        }
        let records: Vec<Record> = response
            .answers
            .iter()
            .filter(|r| r.name == owner)
            .filter_map(|r| match (&r.data, kind) {
                (RData::TXT(t), RecordKind::Txt) => Some(Record::Txt(
                    t.txt_data.iter().flat_map(|s| s.iter().copied()).collect(),
                )),
                (RData::A(a), RecordKind::A) => Some(Record::A(a.0)),
                (RData::AAAA(a), RecordKind::Aaaa) => Some(Record::Aaaa(a.0)),
                (RData::MX(mx), RecordKind::Mx) => Some(Record::Mx {
                    preference: mx.preference,
                    exchange: normalize_name(&mx.exchange.to_ascii()),
                }),
                (RData::PTR(p), RecordKind::Ptr) => {
                    Some(Record::Ptr(normalize_name(&p.0.to_ascii())))
                }
                _ => None,
            })
            .collect();
        if records.is_empty() {
            Self::NoData
        } else {
            Self::Records(records)
        }
    }

    /// One TXT record given as text (tests and static data).
    pub fn txt(text: &str) -> Self {
        Self::Records(vec![Record::Txt(text.as_bytes().to_vec())])
    }

    /// NXDOMAIN or NODATA: nothing of the asked type at the name.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NoData | Self::NxDomain)
    }

    /// The records (empty unless [`Answer::Records`]).
    pub fn records(&self) -> &[Record] {
        match self {
            Self::Records(r) => r,
            _ => &[],
        }
    }

    /// The TXT records' contents.
    pub fn txt_records(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.records().iter().filter_map(|r| match r {
            Record::Txt(t) => Some(t.as_slice()),
            _ => None,
        })
    }
}

/// A name as the machines compare it: ASCII lower case, no trailing dot.
pub(crate) fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Record as WireRecord;
    use hickory_proto::rr::rdata::{A, CNAME, MX, TXT};

    fn response(query: &Query, code: ResponseCode, answers: Vec<WireRecord>) -> Message {
        let q = query.dns_message(7).unwrap();
        let mut r = Message::new(7, MessageType::Response, OpCode::Query);
        r.metadata.response_code = code;
        r.add_query(q.queries[0].clone());
        for a in answers {
            r.add_answer(a);
        }
        Message::from_vec(&r.to_vec().unwrap()).unwrap()
    }

    #[test]
    fn records_of_the_asked_type_at_the_end_of_a_cname_chain() {
        let q = Query::new("Mail.Example.COM.", RecordKind::A);
        assert_eq!(q.name, "mail.example.com");
        let alias = Name::from_ascii("mail.example.com.").unwrap();
        let target = Name::from_ascii("host.example.net.").unwrap();
        let other = Name::from_ascii("other.example.net.").unwrap();
        let answers = vec![
            WireRecord::from_rdata(alias, 60, RData::CNAME(CNAME(target.clone()))),
            WireRecord::from_rdata(target.clone(), 60, RData::A(A::new(192, 0, 2, 1))),
            WireRecord::from_rdata(target, 60, RData::TXT(TXT::new(vec!["x".into()]))),
            WireRecord::from_rdata(other, 60, RData::A(A::new(192, 0, 2, 9))),
        ];
        let a = Answer::from_dns_response(&response(&q, ResponseCode::NoError, answers));
        assert_eq!(
            a,
            Answer::Records(vec![Record::A(Ipv4Addr::new(192, 0, 2, 1))])
        );
    }

    #[test]
    fn response_codes_and_empty_answers() {
        let q = Query::new("example.com", RecordKind::Mx);
        let nx = response(&q, ResponseCode::NXDomain, vec![]);
        assert_eq!(Answer::from_dns_response(&nx), Answer::NxDomain);
        let empty = response(&q, ResponseCode::NoError, vec![]);
        assert_eq!(Answer::from_dns_response(&empty), Answer::NoData);
        let fail = response(&q, ResponseCode::ServFail, vec![]);
        assert_eq!(Answer::from_dns_response(&fail), Answer::TempFail);
        let mut truncated = response(&q, ResponseCode::NoError, vec![]);
        truncated.metadata.truncation = true;
        assert_eq!(Answer::from_dns_response(&truncated), Answer::TempFail);
        let owner = Name::from_ascii("example.com.").unwrap();
        let mx = MX::new(10, Name::from_ascii("MX1.Example.com.").unwrap());
        let with = response(
            &q,
            ResponseCode::NoError,
            vec![WireRecord::from_rdata(owner, 60, RData::MX(mx))],
        );
        assert_eq!(
            Answer::from_dns_response(&with).records(),
            &[Record::Mx {
                preference: 10,
                exchange: "mx1.example.com".into()
            }]
        );
    }

    #[test]
    fn txt_strings_are_concatenated() {
        let q = Query::new("example.com", RecordKind::Txt);
        let owner = Name::from_ascii("example.com.").unwrap();
        let txt = TXT::new(vec!["v=spf1 ".into(), "-all".into()]);
        let r = response(
            &q,
            ResponseCode::NoError,
            vec![WireRecord::from_rdata(owner, 60, RData::TXT(txt))],
        );
        let a = Answer::from_dns_response(&r);
        assert_eq!(
            a.txt_records().collect::<Vec<_>>(),
            vec![&b"v=spf1 -all"[..]]
        );
    }
}
