#![no_main]
//! The command parser on arbitrary lines: no panic; whatever parses re-serializes to a
//! line that parses to the same command.
use libfuzzer_sys::fuzz_target;
use postwerk_smtp::codec::command::{Command, Leniency, ParseOptions};

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
