#![no_main]
//! DMARC: the record parser and the evaluator with answers chosen by the fuzzer. Never
//! panics; the evaluation always ends within `Config::max_queries` questions; `pass`
//! only with an aligned identifier; several `From:` fields never pass.
//!
//! Input layout: byte 0 = mode (bit 0: the From field twice; bit 1: SPF passes for the
//! first DKIM domain; bits 2-3: how many DKIM domains), then segments separated by NUL:
//! the first is the `From:` field value, the next up to three are DKIM domains, the rest
//! are DNS answers, used in turn (first byte: 0 NXDOMAIN, 1 NODATA, 2 SERVFAIL, 3 two
//! TXT records, else one TXT record with the remaining bytes).
use libfuzzer_sys::fuzz_target;
use postwerk_auth::dmarc::{
    AuthorDomains, Config, DkimIdentifier, DmarcStatus, Evaluator, PolicyRecord, SpfIdentifier,
};
use postwerk_auth::dns::{Answer, Record};

fn answer(seg: &[u8]) -> Answer {
    match seg.split_first() {
        None => Answer::NxDomain,
        Some((0, _)) => Answer::NxDomain,
        Some((1, _)) => Answer::NoData,
        Some((2, _)) => Answer::TempFail,
        Some((3, rest)) => Answer::Records(vec![
            Record::Txt(rest.to_vec()),
            Record::Txt(b"v=DMARC1; p=reject".to_vec()),
        ]),
        Some((_, rest)) => Answer::Records(vec![Record::Txt(rest.to_vec())]),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = PolicyRecord::parse(data);
    let _ = AuthorDomains::from_message(data);
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut segs = rest.split(|&b| b == 0);
    let from = segs.next().unwrap_or_default();
    let twice = mode & 1 != 0;
    let mut header = Vec::new();
    for _ in 0..if twice { 2 } else { 1 } {
        header.extend_from_slice(b"From: ");
        header.extend_from_slice(from);
        header.extend_from_slice(b"\r\n");
    }
    header.extend_from_slice(b"\r\n");
    let config = Config::default();
    let mut e = Evaluator::from_message(&header, config.clone());
    let ndkim = usize::from((mode >> 2) & 3);
    let dkim: Vec<String> = segs
        .by_ref()
        .take(ndkim)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    if mode & 2 != 0
        && let Some(d) = dkim.first()
    {
        e.set_spf(SpfIdentifier::new(d, true));
    }
    for d in &dkim {
        e.add_dkim(DkimIdentifier::new(d, true));
    }
    let answers: Vec<Answer> = segs.map(answer).collect();
    let mut i = 0usize;
    let mut rounds = 0;
    while !e.is_done() {
        rounds += 1;
        assert!(
            rounds <= config.max_queries() + 1,
            "evaluation does not end"
        );
        let qs = e.queries();
        assert!(!qs.is_empty(), "not done but nothing to ask");
        for q in qs {
            let a = if answers.is_empty() {
                Answer::NxDomain
            } else {
                answers[i % answers.len()].clone()
            };
            i += 1;
            e.supply(&q, a);
        }
    }
    assert!(e.asked().len() <= config.max_queries());
    let r = e.result().expect("done");
    if r.status == DmarcStatus::Pass {
        assert!(r.spf_aligned || !r.dkim_aligned.is_empty());
    }
    if twice {
        assert_ne!(r.status, DmarcStatus::Pass, "several From fields passed");
    }
    let _ = r.method_result();
    let _ = r.disposition();
});
