//! A raw line-level client over `std::net` for adversarial tests: it sends exact bytes
//! (bare CR, NUL, several commands in one segment) and reads SMTP or POP3 replies with a
//! bounded deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long any single read may wait before the test fails (generous: the machine is busy).
pub const READ_LIMIT: Duration = Duration::from_secs(30);

/// One client connection.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects, without reading the greeting.
    pub fn connect(ip: &str, port: u16) -> Raw {
        let stream = TcpStream::connect((ip, port)).expect("connect");
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects and reads the SMTP greeting, which must be 220.
    pub fn smtp(ip: &str, port: u16) -> Raw {
        let mut raw = Raw::connect(ip, port);
        let greeting = raw.reply();
        assert!(greeting.starts_with("220"), "greeting: {greeting}");
        raw
    }

    /// Connects, reads the greeting and says EHLO.
    pub fn ehlo(ip: &str, port: u16) -> Raw {
        let mut raw = Raw::smtp(ip, port);
        let reply = raw.cmd("EHLO client.example");
        assert!(reply.starts_with("250"), "EHLO: {reply}");
        raw
    }

    /// Writes `bytes` in one call (one segment for small writes with TCP_NODELAY).
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Writes, ignoring errors (the server may have closed).
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Sends `line` + CRLF and reads one SMTP reply.
    pub fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Reads one line (without its CRLF) within `limit`; `None` at EOF or timeout.
    pub fn line_within(&mut self, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let text = String::from_utf8_lossy(&line);
                return Some(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            if left.is_zero() {
                return None;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(_) => return None,
            }
        }
    }

    /// One line, which must arrive.
    pub fn line(&mut self) -> String {
        self.line_within(READ_LIMIT)
            .expect("a line from the server")
    }

    /// One (possibly multi-line) SMTP reply, lines joined with " | ".
    pub fn reply(&mut self) -> String {
        self.reply_within(READ_LIMIT)
            .expect("a reply from the server")
    }

    /// One SMTP reply within `limit`, or `None` at EOF / timeout.
    pub fn reply_within(&mut self, limit: Duration) -> Option<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line_within(limit)?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line);
            if !more {
                return Some(lines.join(" | "));
            }
        }
    }

    /// True when the server closes the connection within `limit` (everything it still
    /// sends is returned in `rest`).
    pub fn closed_within(&mut self, limit: Duration) -> (bool, String) {
        let deadline = Instant::now() + limit;
        let mut rest = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return (false, rest);
            };
            if left.is_zero() {
                return (false, rest);
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return (true, rest),
                Ok(n) => rest.push_str(&String::from_utf8_lossy(&chunk[..n])),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return (false, rest);
                }
                Err(_) => return (true, rest),
            }
        }
    }
}

/// Resident memory (VmRSS) of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// A `/proc/PID/status` field in KiB.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Every path under `dir`, recursively (for "nothing was created outside" checks).
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

impl Raw {
    /// Wraps a connected stream.
    pub fn from_stream(stream: TcpStream) -> Raw {
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }
}

/// Connects to `ip:port` from the loopback address `src` (to appear as another client).
pub fn connect_from(src: &str, ip: &str, port: u16) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(format!("{src}:0").parse().unwrap())
            .expect("bind the source address");
        socket
            .connect(format!("{ip}:{port}").parse().unwrap())
            .await
            .expect("connect")
    });
    let std = stream.into_std().unwrap();
    std.set_nonblocking(false).unwrap();
    std
}
