//! Telling a test's own dnsmasq from another one on the same port.
//!
//! A test picks a free port, releases it and starts dnsmasq on it. In between, a dnsmasq
//! of a test running alongside may take the port: ours then exits at once, but a
//! readiness probe sent before it has exited is answered by the other one, and the test
//! would go on with someone else's records. So each dnsmasq publishes a TXT record with a
//! text of its own, and readiness means that record came back.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};

/// The TXT record one dnsmasq publishes and its probe looks for.
pub struct Probe {
    name: String,
    instance: String,
}

impl Probe {
    /// The probe of a dnsmasq started with `args`. Its record is in the first
    /// `--auth-zone` when there is one: dnsmasq refuses names outside its authoritative
    /// zones on an `--auth-server` address.
    pub fn new(args: &[String]) -> Probe {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let zone = args
            .iter()
            .find_map(|a| a.strip_prefix("--auth-zone="))
            .map_or("test", |z| z.split(',').next().unwrap_or("test"));
        Probe {
            name: format!("probe-instance.{zone}"),
            instance: format!(
                "pw{}x{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    /// The dnsmasq argument that publishes the record.
    pub fn arg(&self) -> String {
        format!("--txt-record={},{}", self.name, self.instance)
    }

    /// Asks `server` for the record through `socket` (whose read timeout bounds the
    /// wait): true when the answer holds this dnsmasq's text.
    pub fn answered_by(&self, socket: &UdpSocket, server: SocketAddr) -> bool {
        let mut query = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in self.name.split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 16, 0, 1]);
        if socket.send_to(&query, server).is_err() {
            return false;
        }
        let mut buf = [0u8; 512];
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => buf[..n]
                .windows(self.instance.len())
                .any(|w| w == self.instance.as_bytes()),
            Err(_) => false,
        }
    }
}
