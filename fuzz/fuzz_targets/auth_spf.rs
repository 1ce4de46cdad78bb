#![no_main]
//! SPF record parser and check machine on fuzzer-chosen records and DNS answers: never
//! panics, always ends with a result within a bounded number of questions, and the
//! result does not depend on the order in which outstanding questions are answered.
//!
//! Input layout: byte 0 = flags (bit 0: IPv6 client, bit 1: HELO identity, bit 2:
//! prefix "v=spf1 " to TXT answers), then lines separated by `\n`: the sender, the HELO
//! name, then answer lines. A question is answered by the line chosen by a hash of the
//! question, so the answers are a function of the questions. The first byte of an answer
//! line picks TEMPFAIL / NXDOMAIN / NODATA / records; the rest is read by record type
//! (TXT: strings split on `|`; A/AAAA: 4/16 bytes each; MX/PTR: names split on `,`).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use postwerk_auth::dns::{Answer, Query, Record, RecordKind};
use postwerk_auth::spf::{SpfCheck, SpfConfig, SpfOutput, SpfRecord};

fn answer(q: &Query, lines: &[&[u8]], spf_prefix: bool) -> Answer {
    if lines.is_empty() {
        return Answer::NxDomain;
    }
    let h = q.name.bytes().fold(q.kind as usize, |h, b| {
        h.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let line = lines[h % lines.len()];
    let Some((&sel, body)) = line.split_first() else {
        return Answer::NoData;
    };
    match sel % 4 {
        0 => return Answer::TempFail,
        1 => return Answer::NxDomain,
        2 => return Answer::NoData,
        _ => {}
    }
    let text = String::from_utf8_lossy(body);
    let records: Vec<Record> = match q.kind {
        RecordKind::Txt => body
            .split(|b| *b == b'|')
            .map(|t| {
                if spf_prefix {
                    Record::Txt([b"v=spf1 ".as_slice(), t].concat())
                } else {
                    Record::Txt(t.to_vec())
                }
            })
            .collect(),
        RecordKind::A => body
            .chunks_exact(4)
            .map(|c| Record::A(Ipv4Addr::new(c[0], c[1], c[2], c[3])))
            .collect(),
        RecordKind::Aaaa => body
            .chunks_exact(16)
            .map(|c| Record::Aaaa(Ipv6Addr::from(<[u8; 16]>::try_from(c).unwrap())))
            .collect(),
        RecordKind::Mx => text
            .split(',')
            .enumerate()
            .map(|(i, n)| Record::Mx {
                preference: i as u16,
                exchange: n.to_ascii_lowercase(),
            })
            .collect(),
        RecordKind::Ptr => text
            .split(',')
            .map(|n| Record::Ptr(n.to_ascii_lowercase()))
            .collect(),
        _ => Vec::new(),
    };
    if records.is_empty() {
        Answer::NoData
    } else {
        Answer::Records(records)
    }
}

fn run(flags: u8, sender: &str, helo: &str, lines: &[&[u8]], reverse: bool) -> SpfOutput {
    let ip: IpAddr = if flags & 1 != 0 {
        "2001:db8::1".parse().unwrap()
    } else {
        "192.0.2.1".parse().unwrap()
    };
    let config = SpfConfig::with_receiver("mx.example.net");
    let mut check = if flags & 2 != 0 {
        SpfCheck::helo(config, ip, helo, 1_700_000_000)
    } else {
        SpfCheck::mail_from(config, ip, sender, helo, 1_700_000_000)
    };
    let mut asked = 0usize;
    loop {
        if let Some(out) = check.result() {
            return out.clone();
        }
        let mut queries = check.queries();
        assert!(!queries.is_empty(), "no result and no question");
        asked += queries.len();
        assert!(asked <= 400, "{asked} questions");
        if reverse {
            queries.reverse();
        }
        for q in queries {
            check.supply(&q, answer(&q, lines, flags & 4 != 0));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    if let Ok(s) = std::str::from_utf8(rest) {
        let _ = SpfRecord::parse(s);
    }
    let mut parts = rest.split(|b| *b == b'\n');
    let sender = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let helo = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let lines: Vec<&[u8]> = parts.collect();
    let forward = run(flags, &sender, &helo, &lines, false);
    let backward = run(flags, &sender, &helo, &lines, true);
    assert_eq!(forward, backward, "result depends on the answer order");
});
