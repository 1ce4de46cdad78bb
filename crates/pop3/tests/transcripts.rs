//! Every transcript in `tests/transcripts/` replayed through the server
//! machine: whole, one byte at a time, and split at every byte boundary,
//! with identical output and events each time.

mod common;

use common::{Transcript, bytewise, split_at, whole};

fn load() -> Vec<Transcript> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/transcripts");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            Transcript::parse(&name, &std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

#[test]
fn transcripts_match() {
    let all = load();
    assert!(all.len() >= 15, "transcripts missing");
    for t in &all {
        let r = t.replay(&whole);
        assert_eq!(
            String::from_utf8_lossy(&r.output),
            String::from_utf8_lossy(&t.expected_output),
            "{}: output",
            t.name
        );
        assert_eq!(r.events, t.expected_events, "{}: events", t.name);
    }
}

#[test]
fn transcripts_split_invariant() {
    for t in load() {
        let reference = t.replay(&whole);
        let total: usize = t.segments.iter().map(|s| s.input.len()).sum();
        for k in 0..=total {
            let r = t.replay(&split_at(k));
            assert_eq!(r, reference, "{}: split at {k}", t.name);
        }
        assert_eq!(t.replay(&bytewise), reference, "{}: bytewise", t.name);
    }
}
