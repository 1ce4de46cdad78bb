#![no_main]
//! The command parser on arbitrary lines: no panic; whatever parses re-serializes to a
//! line that parses to the same command; the borrowed form's accessors never panic.
use libfuzzer_sys::fuzz_target;
use postwerk_smtp::codec::command::{Command, Leniency, ParseOptions};
use postwerk_smtp::codec::command_ref::CommandRef;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, line)) = data.split_first() else {
        return;
    };
    let opts = ParseOptions {
        leniency: if flags & 1 == 1 {
            Leniency::all()
        } else {
            Leniency::default()
        },
        smtputf8: flags & 2 == 2,
    };
    // The borrowed form: its lazy accessors must not panic on anything it accepted.
    if let Ok(CommandRef::Mail { from, params }) = Command::parse_ref(line, &opts) {
        if let Some(m) = from.mailbox() {
            let _ = (
                m.local_part(),
                m.domain().as_str(),
                m.raw_local_part().as_str(),
            );
        }
        let _ = (params.other().count(), params.auth.map(|a| a.as_str()));
    }
    if let Ok(CommandRef::Rcpt { to, params }) = Command::parse_ref(line, &opts) {
        if let Some(m) = to.mailbox() {
            let _ = (m.local_part(), m.domain().as_str());
        }
        let _ = params.other().count();
    }
    if let Ok(cmd) = Command::parse(line, &opts) {
        let mut out = Vec::new();
        cmd.write_to(&mut out);
        assert!(out.ends_with(b"\r\n"));
        let again = Command::parse(&out[..out.len() - 2], &opts);
        assert_eq!(
            again.as_ref(),
            Ok(&cmd),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }
});
