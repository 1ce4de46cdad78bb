//! The key questions and answers as hickory-proto DNS messages (wire format round trip).

mod common;
use common::*;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use postwerk_auth::dkim::{DkimStatus, Verifier, VerifierConfig};
use postwerk_auth::dns::Answer;

fn respond(query: &Message, code: ResponseCode, answers: Vec<Record>) -> Vec<u8> {
    let mut r = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
    r.metadata.response_code = code;
    r.add_query(query.queries[0].clone());
    for a in answers {
        r.add_answer(a);
    }
    r.to_vec().unwrap()
}

#[test]
fn key_query_as_dns_message_and_txt_answer_back() {
    let mut v = Verifier::new(VerifierConfig::default());
    v.update(signed_message().as_bytes());
    let queries = v.key_queries();
    assert_eq!(queries.len(), 2);
    for (i, q) in queries.iter().enumerate() {
        let wire = q.dns_message(i as u16 + 1).unwrap().to_vec().unwrap();
        let parsed = Message::from_vec(&wire).unwrap();
        assert_eq!(parsed.queries[0].query_type(), RecordType::TXT);
        assert!(parsed.metadata.recursion_desired);
        let name = parsed.queries[0].name().clone();
        let strings: Vec<String> = if q.name == ED25519_NAME {
            vec![ED25519_RECORD.to_owned()]
        } else {
            RSA_RECORD_STRINGS.iter().map(|s| s.to_string()).collect()
        };
        let answer = Record::from_rdata(name, 300, RData::TXT(TXT::new(strings)));
        let response =
            Message::from_vec(&respond(&parsed, ResponseCode::NoError, vec![answer])).unwrap();
        v.supply_key(&q.name, Answer::from_dns_response(&response));
    }
    let r = v.finish(T);
    assert_eq!(r[0].status, DkimStatus::Pass);
    assert_eq!(r[1].status, DkimStatus::Pass);
}

#[test]
fn dns_response_codes_map_to_answers() {
    let q = postwerk_auth::dkim::Signature::parse(
        b"v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
    )
    .unwrap();
    let name = q.key_name();
    let mut v = Verifier::new(VerifierConfig::default());
    v.update(b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA\r\nFrom: a@example.com\r\n\r\n");
    let query = v.key_queries()[0].dns_message(9).unwrap();
    assert_eq!(v.key_queries()[0].name, name);
    let parse = |bytes: Vec<u8>| Answer::from_dns_response(&Message::from_vec(&bytes).unwrap());
    assert_eq!(
        parse(respond(&query, ResponseCode::NXDomain, vec![])),
        Answer::NxDomain
    );
    assert_eq!(
        parse(respond(&query, ResponseCode::NoError, vec![])),
        Answer::NoData
    );
    assert_eq!(
        parse(respond(&query, ResponseCode::ServFail, vec![])),
        Answer::TempFail
    );
    // A CNAME to the real record is followed.
    let owner = query.queries[0].name().clone();
    let target = Name::from_ascii("keys.example.net.").unwrap();
    let answers = vec![
        Record::from_rdata(owner, 60, RData::CNAME(CNAME(target.clone()))),
        Record::from_rdata(target, 60, RData::TXT(TXT::new(vec!["v=DKIM1; p=".into()]))),
    ];
    assert_eq!(
        parse(respond(&query, ResponseCode::NoError, answers)),
        Answer::txt("v=DKIM1; p=")
    );
}
