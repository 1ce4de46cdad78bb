//! Finding this crate's example binaries from an integration test.
//!
//! `cargo test --workspace` builds every package's examples into one
//! `target/<profile>/examples/` directory. postwerk-smtp and postwerk-pop3 both have
//! examples named `server` and `client`, so the unhashed names collide there; the hashed
//! copies (`client-<hash>`) do not. A candidate is recognised by the usage line it prints
//! when run without arguments. When none is found (a test run on its own), the example is
//! built into a separate target directory, because the outer cargo holds the lock on ours.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

/// The binary of example `name` of package `package`, recognised by an output line that
/// ends with exactly `usage`.
pub fn example_binary(package: &str, name: &str, usage: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let prefix = format!("{name}-");
    let mut candidates: Vec<(SystemTime, PathBuf)> =
        std::fs::read_dir(profile_dir.join("examples"))
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| {
                        let file = p.file_name().unwrap_or_default().to_string_lossy();
                        file.starts_with(&prefix) && !file.contains('.')
                    })
                    .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
                    .collect()
            })
            .unwrap_or_default();
    candidates.sort();
    for (_, path) in candidates.into_iter().rev() {
        if prints_usage(&path, usage) {
            return path;
        }
    }
    build_separately(profile_dir, package, name)
}

fn prints_usage(path: &Path, usage: &str) -> bool {
    Command::new(path)
        .stdin(Stdio::null())
        .output()
        .map(|out| {
            let text = [out.stderr, out.stdout].concat();
            String::from_utf8_lossy(&text)
                .lines()
                .any(|line| line.trim_end().ends_with(usage))
        })
        .unwrap_or(false)
}

fn build_separately(profile_dir: &Path, package: &str, name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = profile_dir.join("example-bins").join(package);
    let out = Command::new(cargo)
        .args([
            "build",
            "-p",
            package,
            "--example",
            name,
            "--message-format=json",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build --example");
    assert!(
        out.status.success(),
        "building example {name} of {package} failed"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let key = "\"executable\":\"";
    stdout
        .lines()
        .filter(|line| line.contains(&format!("\"name\":\"{name}\"")))
        .find_map(|line| {
            let start = line.find(key)? + key.len();
            let end = start + line[start..].find('"')?;
            Some(PathBuf::from(&line[start..end]))
        })
        .unwrap_or_else(|| panic!("cargo did not report the executable of example {name}"))
}
