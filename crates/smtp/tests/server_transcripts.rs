//! Replays every transcript in `tests/transcripts/server/` through the server machine,
//! whole, split at every byte boundary, and byte by byte.

mod server_support;

use std::path::PathBuf;

use server_support::Transcript;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts/server")
}

#[test]
fn every_transcript_replays_identically_at_every_split() {
    let mut paths: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 20,
        "expected the transcript set, found {}",
        paths.len()
    );
    for p in paths {
        Transcript::load(&p).check();
    }
}
