//! The blocking example server (`examples/server.rs`) over loopback: after a
//! failed PASS and a half-close, the delayed `-ERR` still arrives, and the
//! driver loop sleeps meanwhile instead of spinning on the closed socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../tests/support/example_bin.rs"]
mod example_bin;

/// The POP3 example server (the shared locator tells it apart from the SMTP example of
/// the same name by its usage line).
fn example_binary() -> PathBuf {
    example_bin::example_binary(
        "postwerk-pop3",
        "server",
        "usage: server ADDR MAILDIR USER PASS",
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name in parentheses; utime and stime are
    // fields 14 and 15 of the whole line.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

#[test]
fn failed_pass_then_half_close_gets_delayed_reply_without_spinning() {
    let maildir = tempfile::tempdir().unwrap();
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir(maildir.path().join(sub)).unwrap();
    }
    let mut child = Command::new(example_binary())
        .args([
            "127.0.0.1:0",
            maildir.path().to_str().unwrap(),
            "alice",
            "secret",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn example server");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();

    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("+OK"), "{greeting}");

    let before = cpu_ticks(server.0.id());
    let start = Instant::now();
    stream.write_all(b"USER alice\r\nPASS wrong\r\n").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut user_reply = String::new();
    reader.read_line(&mut user_reply).unwrap();
    assert!(user_reply.starts_with("+OK"), "{user_reply}");
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let elapsed = start.elapsed();
    let after = cpu_ticks(server.0.id());

    assert!(rest.starts_with("-ERR [AUTH]"), "{rest:?}");
    // The example's login failure delay is one second.
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    // Sleeping costs next to no CPU; spinning on read() for a second costs
    // about 100 ticks.
    let used = after - before;
    assert!(used < 25, "server used {used} ticks of CPU in {elapsed:?}");
}
