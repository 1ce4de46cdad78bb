//! The RFC 6376 3.4.3/3.4.4 body rules applied to a whole body, line by line: the
//! streaming canonicalizer must agree with them at every split.

use super::batch::BATCH;
use super::*;
use proptest::prelude::*;

fn reference(kind: Canonicalization, body: &[u8]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut rest = body;
    loop {
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(p) => {
                lines.push(rest[..p].to_vec());
                rest = &rest[p + 2..];
            }
            None => {
                lines.push(rest.to_vec());
                break;
            }
        }
    }
    if kind == Canonicalization::Relaxed {
        for line in &mut lines {
            let mut out = Vec::new();
            let mut ws = false;
            for &b in line.iter() {
                if b == b' ' || b == b'\t' {
                    ws = true;
                } else {
                    if ws {
                        out.push(b' ');
                    }
                    ws = false;
                    out.push(b);
                }
            }
            *line = out;
        }
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let mut out = Vec::new();
    for l in &lines {
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    if out.is_empty() && kind == Canonicalization::Simple {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn streamed(kind: Canonicalization, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut c = BodyCanon::new(kind);
    let mut out = Vec::new();
    let mut at = 0;
    for &cut in cuts {
        let cut = cut.min(body.len()).max(at);
        c.update(&body[at..cut], &mut |b: &[u8]| out.extend_from_slice(b));
        at = cut;
    }
    c.update(&body[at..], &mut |b: &[u8]| out.extend_from_slice(b));
    c.finish(&mut |b: &[u8]| out.extend_from_slice(b));
    out
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![b'a', b'b', b' ', b'\t', b'\r', b'\n', 0u8, 0xff]),
        0..200,
    )
}

/// Text-like bodies, long enough for many 64-byte scan blocks: words, single and
/// double spaces, tabs, CR LF, bare CR and LF, empty and whitespace-only lines, in
/// pieces so that the interesting bytes meet the step edges everywhere.
fn text_body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"word"[..],
        b"x",
        b"longerwordwithoutspaces",
        b" ",
        b" ",
        b"  ",
        b"\t",
        b" \t ",
        b"\r\n",
        b"\r\n",
        b"\r\n\r\n",
        b" \r\n",
        b"\r",
        b"\n",
        b"\r\r\n",
        b"\x00",
        b"\xc3\xa9",
    ]);
    prop::collection::vec(piece, 0..400).prop_map(|p| p.concat())
}

/// The input cut at the sorted `cuts`, each piece fed separately.
fn digest_streamed(
    kind: Canonicalization,
    body: &[u8],
    cuts: &[usize],
    limit: Option<u64>,
) -> (Vec<u8>, u64) {
    let mut h = BodyHasher::new(kind, &digest::SHA256, limit);
    let mut at = 0;
    for &cut in cuts {
        let cut = cut.min(body.len()).max(at);
        h.update(&body[at..cut]);
        at = cut;
    }
    h.update(&body[at..]);
    let (d, total) = h.finish();
    (d.as_ref().to_vec(), total)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn streaming_matches_the_rfc_rules_at_any_split(
        body in body(),
        mut cuts in prop::collection::vec(0usize..200, 0..8),
        relaxed in any::<bool>(),
    ) {
        cuts.sort_unstable();
        let kind = if relaxed { Canonicalization::Relaxed } else { Canonicalization::Simple };
        prop_assert_eq!(streamed(kind, &body, &cuts), reference(kind, &body));
    }

    /// The scan-based canonicalizers against the line-by-line reference on long
    /// text-like bodies cut into random chunks, both algorithms, and the digest and
    /// canonical length (with and without `l=`) against hashing the reference.
    #[test]
    fn scan_matches_the_reference_on_text_in_random_chunks(
        body in text_body(),
        mut cuts in prop::collection::vec(0usize..4000, 0..24),
        limit in prop::option::of(0u64..3000),
    ) {
        cuts.sort_unstable();
        for kind in [Canonicalization::Simple, Canonicalization::Relaxed] {
            let want = reference(kind, &body);
            prop_assert_eq!(&streamed(kind, &body, &cuts), &want);
            let (d, total) = digest_streamed(kind, &body, &cuts, limit);
            let hashed = match limit {
                Some(l) => &want[..want.len().min(l as usize)],
                None => &want[..],
            };
            prop_assert_eq!(total, want.len() as u64);
            prop_assert_eq!(d, digest::digest(&digest::SHA256, hashed).as_ref().to_vec());
        }
    }
}

/// RFC 6376 3.4.2 for one header field, byte by byte: unfold, WSP runs to one SP,
/// trim, name lowercased.
fn reference_header(raw: &[u8]) -> Vec<u8> {
    let raw = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    let colon = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
    let mut name = raw[..colon].to_vec();
    while name.last().is_some_and(|&b| b == b' ' || b == b'\t') {
        name.pop();
    }
    let mut out: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
    out.push(b':');
    let value = raw.get(colon + 1..).unwrap_or(&[]);
    let mut unfolded = Vec::new();
    let mut i = 0;
    while i < value.len() {
        if value[i] == b'\r' && value.get(i + 1) == Some(&b'\n') {
            i += 2;
        } else {
            unfolded.push(value[i]);
            i += 1;
        }
    }
    let mut words = Vec::new();
    for w in unfolded.split(|&b| b == b' ' || b == b'\t') {
        if !w.is_empty() {
            words.push(w);
        }
    }
    out.extend_from_slice(&words.join(&b' '));
    out.extend_from_slice(b"\r\n");
    out
}

fn header_field() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        &b"Subject"[..],
        b"X",
        b":",
        b" ",
        b"  ",
        b"\t",
        b"\r\n ",
        b"\r\n\t",
        b"\r\n",
        b"\r",
        b"\n",
        b"value",
        b"a",
        b"\xc3\xa9",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn relaxed_header_matches_the_reference(field in header_field()) {
        let mut out = Vec::new();
        header(Canonicalization::Relaxed, &field, &mut out);
        prop_assert_eq!(out, reference_header(&field));
    }
}

#[test]
fn many_short_runs_fill_and_flush_the_batch() {
    // Far more than BATCH of canonical bytes in short runs: the buffer grows from
    // its first size to its full size and is flushed many times.
    let line: &[u8] = b"word  x\tyz  end \r\n\r\n \r\nab cd\r\n";
    let body: Vec<u8> = line.iter().copied().cycle().take(5 * BATCH + 17).collect();
    for kind in [Canonicalization::Simple, Canonicalization::Relaxed] {
        let want = reference(kind, &body);
        assert_eq!(streamed(kind, &body, &[]), want, "{kind:?}");
        assert_eq!(
            streamed(
                kind,
                &body,
                &[1, 4095, 4160, 9000, BATCH, BATCH + 63, 3 * BATCH]
            ),
            want,
            "{kind:?}"
        );
    }
}

#[test]
fn byte_at_a_time_matches_whole() {
    let text: &[u8] = b"  lead\r\n\r\n a  b \t c \r\n\t\r\nx\ry\nz \r\r\n\r\n \r\n\r\n\r";
    for kind in [Canonicalization::Simple, Canonicalization::Relaxed] {
        let cuts: Vec<usize> = (0..text.len()).collect();
        assert_eq!(
            streamed(kind, text, &cuts),
            reference(kind, text),
            "{kind:?}"
        );
        assert_eq!(streamed(kind, text, &[]), reference(kind, text), "{kind:?}");
    }
}

#[test]
fn long_runs_cross_the_flush_size() {
    let mut body = vec![b'x'; 3 * BATCH + 5];
    body.extend_from_slice(b" \t \r\n\r\n");
    body.extend(std::iter::repeat_n(b'\n', BATCH));
    body.extend_from_slice(&[b' '; 100]);
    for kind in [Canonicalization::Simple, Canonicalization::Relaxed] {
        assert_eq!(
            streamed(kind, &body, &[7, BATCH, 2 * BATCH + 1]),
            reference(kind, &body)
        );
    }
}
