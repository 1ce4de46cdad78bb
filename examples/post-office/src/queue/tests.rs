use super::*;

fn envelope() -> Envelope {
    Envelope {
        from: "alice@alpha.test".into(),
        recipients: vec!["bob@beta.test".into(), "carol@alpha.test".into()],
        received_at: 1_700_000_000,
        ..Envelope::default()
    }
}

fn store() -> (tempfile::TempDir, QueueStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = QueueStore::open(dir.path().join("queue")).unwrap();
    (dir, store)
}

/// The store as the next start finds it (nothing more is written to `store`).
fn restart(store: &QueueStore) -> QueueStore {
    QueueStore::open(store.dir.clone()).unwrap()
}

/// The entries of the queue directory besides `tmp/`, `corrupt/` and `journal/`.
fn queue_files(store: &QueueStore) -> usize {
    fs::read_dir(&store.dir).unwrap().count() - 3
}

#[test]
fn a_committed_message_reads_back() {
    let (_dir, store) = store();
    let mut incoming = store.begin(&envelope()).unwrap();
    incoming.write(b"Subject: hi\r\n\r\n").unwrap();
    incoming.write(b"body\nend 5 00\r\n").unwrap();
    let id = store.commit(incoming).unwrap();
    let (env, content) = store.read(&id).unwrap();
    assert_eq!(env, envelope());
    assert_eq!(content, b"Subject: hi\r\n\r\nbody\nend 5 00\r\n");
    // After a restart it is found (moved from the journal to its own file).
    let store = restart(&store);
    assert_eq!(store.read(&id).unwrap().1, content);
    let (found, corrupt) = store.scan().unwrap();
    assert!(corrupt.is_empty());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, State::new(2));
}

#[test]
fn a_rewrite_inserts_and_drops_content_under_the_same_id() {
    let (_dir, store) = store();
    let mut incoming = store.begin(&envelope()).unwrap();
    let id = incoming.id().to_owned();
    incoming.write(b"Received: x\r\n").unwrap();
    incoming
        .write(b"A: 1\r\nForged: 2\r\nB: 3\r\n\r\nbody\r\n")
        .unwrap();
    let forged = 19..30; // "Forged: 2\r\n" after "Received: x\r\nA: 1\r\n"
    let rewritten = store
        .rewrite(incoming, &envelope(), 13, b"New: 0\r\n", &[forged])
        .unwrap();
    assert_eq!(rewritten.id(), id);
    let committed = store.commit(rewritten).unwrap();
    let (env, content) = store.read(&committed).unwrap();
    assert_eq!(env, envelope());
    assert_eq!(
        String::from_utf8(content).unwrap(),
        "Received: x\r\nNew: 0\r\nA: 1\r\nB: 3\r\n\r\nbody\r\n"
    );
    assert_eq!(fs::read_dir(store.dir.join("tmp")).unwrap().count(), 0);
}

#[test]
fn a_large_message_goes_to_a_file_and_edits_the_same_as_a_small_one() {
    let (_dir, store) = store();
    let body = "x".repeat(99) + "\r\n";
    let big: String = body.repeat(MEMORY_MESSAGE / body.len() + 10);
    let mut small_and_big = Vec::new();
    for content in [body.clone(), big] {
        let mut incoming = store.begin(&envelope()).unwrap();
        incoming.write(b"Received: x\r\nForged: 2\r\n\r\n").unwrap();
        // Written in chunks like DATA: the big one crosses the memory limit midway.
        for chunk in content.as_bytes().chunks(16 * 1024) {
            incoming.write(chunk).unwrap();
        }
        let on_disk = store.dir.join("tmp").join(format!("{}.msg", incoming.id()));
        assert_eq!(on_disk.exists(), content.len() > MEMORY_MESSAGE);
        let forged = 13..24; // "Forged: 2\r\n"
        let rewritten = store
            .rewrite(incoming, &envelope(), 13, b"New: 0\r\n", &[forged])
            .unwrap();
        let id = store.commit(rewritten).unwrap();
        let (_, stored) = store.read(&id).unwrap();
        let expected = format!("Received: x\r\nNew: 0\r\n\r\n{content}");
        assert!(stored == expected.as_bytes(), "content of {id} differs");
        small_and_big.push(id);
    }
    assert_eq!(fs::read_dir(store.dir.join("tmp")).unwrap().count(), 0);
}

#[test]
fn failures_keep_their_fields_through_the_state_file() {
    for failure in [
        Failure::new("5.1.1", Some("mx.beta.test"), "550 5.1.1 no such user here"),
        Failure::new("4.4.7", None, "delivery time expired; last error: 421 busy"),
        Failure::new("5.3.0", None, ""),
    ] {
        let text = failure.to_string();
        assert_eq!(Failure::parse(&text), failure, "{text}");
    }
}

#[test]
fn concurrent_commits_share_their_flushes() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    let before = store.journal.batches();
    let start = Arc::new(std::sync::Barrier::new(16));
    let writers: Vec<_> = (0..16)
        .map(|i| {
            let (store, start) = (store.clone(), start.clone());
            std::thread::spawn(move || {
                let mut incoming = store.begin(&envelope()).unwrap();
                incoming
                    .write(format!("Subject: {i}\r\n\r\n").as_bytes())
                    .unwrap();
                start.wait();
                store.commit(incoming).unwrap()
            })
        })
        .collect();
    let ids: Vec<String> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    for (i, id) in ids.iter().enumerate() {
        let (_, content) = store.read(id).unwrap();
        assert_eq!(content, format!("Subject: {i}\r\n\r\n").as_bytes());
    }
    let flushes = store.journal.batches() - before;
    assert!(
        (1..16).contains(&flushes),
        "16 commits at once took {flushes} flushes"
    );
}

#[test]
fn dsn_parameters_and_notices_round_trip() {
    let (_dir, store) = store();
    let mut env = envelope();
    env.ret = Some(Ret::Hdrs);
    env.envid = Some("QQ+2Bid".into());
    env.rcpt_dsn = vec![
        RcptDsn::default(),
        RcptDsn {
            notify: Some(Notify::On {
                success: true,
                failure: true,
                delay: false,
            }),
            orcpt: Some(("rfc822".into(), "carol@alpha.test".into())),
        },
    ];
    let id = store.enqueue(store.new_id(), &env, b"x\r\n").unwrap();
    let (back, _) = store.read(&id).unwrap();
    assert_eq!(back, env);
    assert_eq!(back.dsn(1), env.rcpt_dsn[1]);
    assert!(back.wants(0, Report::Failure) && back.wants(0, Report::Delay));
    assert!(!back.wants(0, Report::Success));
    assert!(back.wants(1, Report::Success) && !back.wants(1, Report::Delay));
    let mut state = State::new(2);
    state.delay_notified = true;
    state.success_notified = vec![1];
    store.write_state(&id, &state).unwrap();
    assert_eq!(store.read_state(&id, 2).unwrap(), state);
}

#[test]
fn the_null_sender_round_trips() {
    let (_dir, store) = store();
    let mut env = envelope();
    env.from.clear();
    let id = store
        .enqueue(format!("{}B", store.new_id()), &env, b"x")
        .unwrap();
    assert!(id.ends_with('B'));
    assert_eq!(store.read(&id).unwrap().0.from, "");
}

#[test]
fn ids_are_unique() {
    let (_dir, store) = store();
    let ids: std::collections::HashSet<String> = (0..1000).map(|_| store.new_id()).collect();
    assert_eq!(ids.len(), 1000);
}

#[test]
fn torn_and_damaged_files_are_moved_aside() {
    let (dir, store) = store();
    let good = store
        .enqueue(store.new_id(), &envelope(), b"Subject: ok\r\n\r\n")
        .unwrap();
    let torn = store
        .enqueue(store.new_id(), &envelope(), b"Subject: torn\r\n\r\nlong")
        .unwrap();
    let flipped = store
        .enqueue(store.new_id(), &envelope(), b"Subject: flip\r\n\r\n")
        .unwrap();
    let store = restart(&store);
    let qdir = dir.path().join("queue");
    let bytes = fs::read(qdir.join(format!("{torn}.msg"))).unwrap();
    fs::write(qdir.join(format!("{torn}.msg")), &bytes[..bytes.len() - 10]).unwrap();
    let mut bytes = fs::read(qdir.join(format!("{flipped}.msg"))).unwrap();
    let in_body = bytes.len() - TRAILER_LEN - 3;
    bytes[in_body] ^= 1;
    fs::write(qdir.join(format!("{flipped}.msg")), &bytes).unwrap();
    fs::write(qdir.join("0000000000000000.msg"), b"").unwrap();
    // The scan reads envelopes and trailers only: torn and empty files are found...
    let (found, corrupt) = store.scan().unwrap();
    let mut ids: Vec<&str> = found.iter().map(|q| q.id.as_str()).collect();
    ids.sort();
    let mut expected = [good.as_str(), flipped.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(corrupt.len(), 2);
    assert!(qdir.join("corrupt").join(format!("{torn}.msg")).is_file());
    assert!(!qdir.join(format!("{torn}.msg")).exists());
    // ...and the damaged content when it is read for delivery.
    let err = store.read(&flipped).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(store.read(&good).is_ok());
}

#[test]
fn uncommitted_data_disappears_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = QueueStore::open(dir.path().to_path_buf()).unwrap();
    let mut incoming = store.begin(&envelope()).unwrap();
    incoming.write(b"half").unwrap();
    drop(incoming);
    let store = QueueStore::open(dir.path().to_path_buf()).unwrap();
    assert!(store.scan().unwrap().0.is_empty());
    assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[test]
fn state_persists_and_is_checked() {
    let (dir, store) = store();
    let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
    let state = State {
        attempts: 3,
        next_attempt: 1_700_000_900,
        recipients: vec![
            RcptState::Pending(Some("451 4.4.1 no answer\nfrom host".into())),
            RcptState::Failed(Failure::new("5.1.1", Some("mx.example"), "550 unknown")),
        ],
        ..State::new(0)
    };
    store.write_state(&id, &state).unwrap();
    let mut expected = state.clone();
    expected.recipients[0] = RcptState::Pending(Some("451 4.4.1 no answer from host".into()));
    assert_eq!(store.read_state(&id, 2).unwrap(), expected);
    assert!(store.read_state(&id, 3).is_err());
    let path = dir.path().join("queue").join(format!("{id}.state"));
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("attempts 3", "attempts 0");
    fs::write(&path, text).unwrap();
    assert!(store.read_state(&id, 2).is_err());
    let (found, corrupt) = store.scan().unwrap();
    assert!(found.is_empty());
    assert_eq!(corrupt.len(), 1);
}

#[test]
fn removal_takes_the_state_too() {
    let (dir, store) = store();
    let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
    store.write_state(&id, &State::new(2)).unwrap();
    store.remove(&id).unwrap();
    assert!(!store.contains(&id));
    assert_eq!(fs::read_dir(dir.path().join("queue")).unwrap().count(), 3);
}

#[test]
fn a_hold_and_the_history_live_and_go_with_the_message() {
    let (dir, store) = store();
    let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
    assert!(!store.is_held(&id));
    store.hold(&id).unwrap();
    assert!(store.is_held(&id));
    // A new store (a restart) still sees the hold.
    let again = QueueStore::open(dir.path().join("queue")).unwrap();
    assert!(again.is_held(&id));
    assert!(store.release(&id).unwrap());
    assert!(!store.release(&id).unwrap());
    assert_eq!(
        store.hold("nothing").unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    store
        .append_history(&id, "1 attempt 1 a deferred x\u{1b}y\n")
        .unwrap();
    store
        .append_history(&id, "2 attempt 2 a delivered")
        .unwrap();
    assert_eq!(
        store.read_history(&id).unwrap(),
        "1 attempt 1 a deferred x y\n2 attempt 2 a delivered\n"
    );
    assert_eq!(store.ids().unwrap(), vec![id.clone()]);
    store.hold(&id).unwrap();
    store.remove(&id).unwrap();
    assert_eq!(fs::read_dir(dir.path().join("queue")).unwrap().count(), 3);
    // Without its message, a history is not started again.
    store.append_history(&id, "3 late").unwrap();
    assert_eq!(store.read_history(&id).unwrap(), "");
}

#[test]
fn an_existing_queue_file_is_never_overwritten() {
    let (_dir, store) = store();
    let id = store
        .enqueue(store.new_id(), &envelope(), b"first")
        .unwrap();
    let err = store
        .enqueue(id.clone(), &envelope(), b"second")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    // Also when the id is taken between begin and commit.
    let other = store.new_id();
    let incoming = store.begin_with_id(other.clone(), &envelope()).unwrap();
    let image = store.journal.get(&id).unwrap().read().unwrap();
    fs::write(store.msg_path(&other), image).unwrap();
    let err = store.commit(incoming).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(store.read(&id).unwrap().1, b"first");
    assert_eq!(store.read(&other).unwrap().1, b"first");
}

#[test]
fn ids_differ_across_restarts_in_the_same_microsecond() {
    let (dir, a) = store();
    let b = QueueStore::open(dir.path().join("queue")).unwrap();
    // Same counter value, and (very likely) the same clock reading: still distinct.
    let ids: std::collections::HashSet<String> =
        (0..200).flat_map(|_| [a.new_id(), b.new_id()]).collect();
    assert_eq!(ids.len(), 400);
}

#[test]
fn files_are_private_and_directories_owner_only() {
    let (dir, store) = store();
    let id = store.enqueue(store.new_id(), &envelope(), b"x").unwrap();
    store.write_state(&id, &State::new(2)).unwrap();
    let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let qdir = dir.path().join("queue");
    assert_eq!(mode(qdir.join(format!("{id}.msg"))), 0o600);
    assert_eq!(mode(qdir.join(format!("{id}.state"))), 0o600);
    for sub in ["", "tmp", "corrupt"] {
        assert_eq!(mode(qdir.join(sub)), 0o700, "{sub}");
    }
}

#[test]
fn free_space_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    assert!(free_bytes(dir.path()).unwrap() > 0);
}

// --- The journal (issue 15): messages received in memory are committed as records. ---

fn committed(store: &QueueStore, content: &[u8]) -> String {
    let mut incoming = store.begin(&envelope()).unwrap();
    incoming.write(content).unwrap();
    store.commit(incoming).unwrap()
}

fn segment(store: &QueueStore) -> PathBuf {
    let mut segments: Vec<PathBuf> = fs::read_dir(store.dir.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    segments.pop().unwrap()
}

/// The records of a segment file: its bytes without the pre-written zeros at the end.
fn records(path: &Path) -> Vec<u8> {
    let mut bytes = fs::read(path).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes.truncate(end);
    bytes
}

#[test]
fn commits_overwrite_pre_written_zeros_and_replay_stops_at_them() {
    let (_dir, store) = store();
    let first = committed(&store, b"Subject: 1\r\n\r\n");
    let path = segment(&store);
    let after_first = records(&path);
    // Beyond the record the writer has written zeros ahead (made durable), so the next
    // commit's flush changes no file size.
    let size = fs::metadata(&path).unwrap().len();
    assert!(
        size >= after_first.len() as u64 + journal::PREWRITE_LOW,
        "{size} octets for {} of records",
        after_first.len()
    );
    let second = committed(&store, b"Subject: 2\r\n\r\n");
    let after_second = records(&path);
    assert!(
        after_second.starts_with(&after_first),
        "appended after the first record"
    );
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        size,
        "written into the zeros"
    );
    // A crash now: both come back, the zeros read as the end of the segment.
    let again = restart(&store);
    assert_eq!(again.ids().unwrap(), vec![first, second]);
}

#[test]
fn a_small_message_is_committed_without_a_file_of_its_own() {
    let (_dir, store) = store();
    let id = committed(&store, b"Subject: a\r\n\r\nbody\r\n");
    assert!(store.contains(&id));
    assert!(!store.msg_path(&id).exists());
    assert_eq!(queue_files(&store), 0);
    assert_eq!(store.ids().unwrap(), vec![id.clone()]);
    let (len, _) = store.file_info(&id).unwrap();
    assert!(len > 20);
    let (envelope, state, content) = store.load(&id).unwrap().unwrap();
    assert_eq!(envelope.recipients.len(), 2);
    assert_eq!(state, State::new(2));
    assert_eq!(&content.unwrap()[..], b"Subject: a\r\n\r\nbody\r\n");
    // Still in memory: the same without the file system.
    let (cached_env, cached_state, cached) = store.load_cached(&id).unwrap().unwrap();
    assert_eq!((cached_env, cached_state), (envelope, state));
    assert_eq!(&cached.unwrap()[..], b"Subject: a\r\n\r\nbody\r\n");
    // Finished: one done line, no barrier, and nothing comes back at the next start.
    let before = store.syncer.barriers();
    assert!(store.remove_cached(&id).unwrap());
    assert!(!store.remove_cached(&id).unwrap());
    assert!(store.load_cached(&id).is_none());
    assert_eq!(store.syncer.barriers(), before);
    assert!(!store.contains(&id));
    let store = restart(&store);
    assert!(!store.contains(&id));
    assert!(store.ids().unwrap().is_empty());
}

#[test]
fn the_journal_replays_what_was_not_finished_as_files() {
    let (_dir, store) = store();
    let ids: Vec<String> = (0..5)
        .map(|i| committed(&store, format!("Subject: {i}\r\n\r\n").as_bytes()))
        .collect();
    store.remove(&ids[1]).unwrap();
    store.remove(&ids[3]).unwrap();
    // A crash now: the next start finds 0, 2 and 4, each as its own file.
    let store = restart(&store);
    assert_eq!(
        store.ids().unwrap(),
        vec![ids[0].clone(), ids[2].clone(), ids[4].clone()]
    );
    for i in [0, 2, 4] {
        assert!(store.msg_path(&ids[i]).is_file());
        let (_, content) = store.read(&ids[i]).unwrap();
        assert_eq!(content, format!("Subject: {i}\r\n\r\n").as_bytes());
    }
    // The old segments are gone; one fresh, empty segment is open.
    assert_eq!(store.journal.segment_files(), 1);
    assert_eq!(fs::metadata(segment(&store)).unwrap().len(), 0);
    let (found, corrupt) = store.scan().unwrap();
    assert_eq!((found.len(), corrupt.len()), (3, 0));
}

#[test]
fn a_torn_record_ends_the_replay_of_its_segment() {
    let (_dir, store) = store();
    let first = committed(&store, b"Subject: 1\r\n\r\n");
    let second = committed(&store, b"Subject: 2\r\n\r\n");
    let third = committed(&store, b"Subject: 3\r\n\r\nlonger body\r\n");
    // The crash tore the third record (it was never acknowledged).
    let path = segment(&store);
    let bytes = records(&path);
    fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
    let store = restart(&store);
    assert_eq!(store.ids().unwrap(), vec![first, second]);
    assert!(!store.contains(&third));
}

#[test]
fn a_message_that_imitates_a_record_is_never_taken_for_one() {
    // A forged record: a whole, valid queue-file image sending to someone else.
    let (_other_dir, other) = store();
    let mut forged_env = envelope();
    forged_env.recipients = vec!["victim@elsewhere.test".into()];
    let forged = other.enqueue("F0F0".into(), &forged_env, b"spam").unwrap();
    let image = other.journal.get(&forged).unwrap().read().unwrap();
    let mut body = journal::line_with_crc(&format!("J {forged} {}", image.len())).into_bytes();
    body.extend_from_slice(&image);

    let (_dir, store) = store();
    let carrier = committed(&store, &body);
    // Whole: replayed as what it is, a message whose body holds those bytes.
    let again = restart(&store);
    assert_eq!(again.ids().unwrap(), vec![carrier.clone()]);
    assert_eq!(again.read(&carrier).unwrap().1, body);
    drop(again);

    // Torn (its trailer cut off): nothing is replayed, not even the record inside it.
    let (_dir, store) = self::store();
    committed(&store, &body);
    let path = segment(&store);
    let bytes = records(&path);
    fs::write(&path, &bytes[..bytes.len() - TRAILER_LEN]).unwrap();
    let store = restart(&store);
    assert!(store.ids().unwrap().is_empty());
    assert!(!store.contains(&forged));
}

#[test]
fn a_message_that_stays_queued_moves_to_its_own_file() {
    let (_dir, store) = store();
    let id = committed(&store, b"Subject: deferred\r\n\r\n");
    let mut state = State::new(2);
    state.attempts = 1;
    state.next_attempt = 1_700_000_300;
    store.write_state(&id, &state).unwrap();
    assert!(store.msg_path(&id).is_file());
    assert!(!store.journal.contains(&id));
    assert_eq!(store.read_state(&id, 2).unwrap(), state);
    assert_eq!(store.read(&id).unwrap().1, b"Subject: deferred\r\n\r\n");
    // A hold moves it too, and both survive a start.
    let held = committed(&store, b"Subject: held\r\n\r\n");
    store.hold(&held).unwrap();
    assert!(store.msg_path(&held).is_file() && store.is_held(&held));
    let store = restart(&store);
    assert_eq!(store.read_state(&id, 2).unwrap(), state);
    assert!(store.is_held(&held));
    assert_eq!(store.read(&held).unwrap().1, b"Subject: held\r\n\r\n");
}

#[test]
fn a_segment_goes_when_every_record_in_it_is_done() {
    let (_dir, store) = store();
    store.journal.set_segment_limit(1024);
    let ids: Vec<String> = (0..40)
        .map(|i| {
            committed(
                &store,
                format!("Subject: {i}\r\n\r\n{}\r\n", "x".repeat(200)).as_bytes(),
            )
        })
        .collect();
    let full = store.journal.segment_files();
    assert!(full >= 8, "{full} segments for 40 records over 1 KiB each");
    for id in &ids[..39] {
        store.remove(id).unwrap();
    }
    // Only the segment of the last record (still live, or the one being written) stays.
    assert!(store.journal.segment_files() <= 2);
    let store = restart(&store);
    assert_eq!(store.ids().unwrap(), vec![ids[39].clone()]);
}

#[test]
fn a_queue_file_of_format_1_is_still_read() {
    let (_dir, store) = store();
    let content = b"Subject: old\r\n\r\nwritten by format 1\r\n";
    let mut bytes = b"postwerk-queue 1\nreceived-at 1700000000\nfrom <alice@alpha.test>\n\
        rcpt <bob@beta.test>\ndata\n"
        .to_vec();
    bytes.extend_from_slice(content);
    let trailer = format!("\nend {:020} {:016x}\n", content.len(), fnv(&bytes));
    bytes.extend_from_slice(trailer.as_bytes());
    fs::write(store.msg_path("0000000000000001"), &bytes).unwrap();
    let (envelope, read) = store.read("0000000000000001").unwrap();
    assert_eq!(envelope.recipients, vec!["bob@beta.test".to_owned()]);
    assert_eq!(read, content);
    assert_eq!(store.read_envelope("0000000000000001").unwrap(), envelope);
    // The same bytes under the format 2 magic fail their (CRC-32) check.
    let relabelled = [b"postwerk-queue 2\n", &bytes[17..]].concat();
    fs::write(store.msg_path("0000000000000002"), relabelled).unwrap();
    assert_eq!(
        store.read("0000000000000002").unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
}

/// Any truncation of a segment, and any damaged octet in it, replays only records that
/// were appended, each with exactly its content (never a forged or changed one, never a
/// panic), and every record that lies wholly before the damage; a finished record comes
/// back only when the damage is not after its done line.
#[test]
fn a_damaged_segment_replays_only_whole_records() {
    use rand::{Rng, SeedableRng};
    let (_dir, store) = store();
    let mut committed_ids = Vec::new();
    for i in 0..12 {
        // Bodies that look like records and done lines too.
        let body = format!(
            "Subject: {i}\r\n\r\nJ 0000 12\nD {i}\n{}\r\n",
            "y".repeat(i * 37)
        );
        let id = committed(&store, body.as_bytes());
        committed_ids.push((id, body));
    }
    let removed = committed_ids[3].0.clone();
    store.remove(&removed).unwrap();
    let path = segment(&store);
    let pristine = records(&path);
    // The done line is the last line of the segment.
    let done_end = pristine.len();
    drop(store);
    let scratch = tempfile::tempdir().unwrap();
    let journal_dir = scratch.path().join("journal");
    fs::create_dir(&journal_dir).unwrap();
    let file = journal_dir.join(path.file_name().unwrap());
    let replay = |bytes: &[u8]| -> Vec<String> {
        fs::write(&file, bytes).unwrap();
        let live = journal::replay(&journal_dir).unwrap().live;
        for (id, image) in &live {
            let (_, content) = format::parse_message(image.clone()).unwrap();
            let (_, body) = committed_ids
                .iter()
                .find(|(c, _)| c == id)
                .unwrap_or_else(|| panic!("replayed {id}, which was never appended"));
            assert_eq!(content, body.as_bytes(), "record {id} changed");
        }
        live.into_iter().map(|(id, _)| id).collect()
    };
    assert_eq!(replay(&pristine).len(), 11, "all but the removed one");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x15_0004);
    for _ in 0..400 {
        let mut bytes = pristine.clone();
        let at = rng.random_range(0..bytes.len());
        if rng.random_bool(0.5) {
            bytes.truncate(at);
        } else {
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
        let ids = replay(&bytes);
        let before = replay(&pristine[..at]);
        // (The removed record is live in the cut, before its done line, and may be done
        // in the damaged whole.)
        assert!(
            before.iter().all(|id| *id == removed || ids.contains(id)),
            "damage at {at}: {ids:?} lacks some of {before:?}"
        );
        assert!(at < done_end || !ids.contains(&removed), "damage at {at}");
    }
}
