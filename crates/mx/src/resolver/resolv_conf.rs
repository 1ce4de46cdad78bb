//! A small, bounded reader of `/etc/resolv.conf` (resolv.conf(5)).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// At most this many name servers are taken (glibc uses 3).
pub const MAX_SERVERS: usize = 8;
/// At most this many octets of the file are read.
pub const MAX_FILE: u64 = 64 * 1024;

/// What this crate uses from a resolv.conf file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ResolvConf {
    /// `nameserver` lines, port 53, in file order (link-local addresses with a zone index
    /// are skipped).
    pub servers: Vec<SocketAddr>,
    /// `options timeout:N` (seconds).
    pub timeout: Option<Duration>,
    /// `options attempts:N`.
    pub attempts: Option<u8>,
}

/// Parses resolv.conf text. Unknown lines and malformed entries are skipped.
///
/// ```
/// use postwerk_mx::resolver::parse_resolv_conf;
/// let conf = parse_resolv_conf("# local\nnameserver 127.0.0.53\nnameserver ::1\noptions timeout:1 attempts:4\n");
/// assert_eq!(conf.servers.len(), 2);
/// assert_eq!(conf.servers[0].to_string(), "127.0.0.53:53");
/// assert_eq!(conf.attempts, Some(4));
/// ```
pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut conf = ResolvConf::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_ascii_whitespace();
        match words.next() {
            Some("nameserver") => {
                let ip = words.next().and_then(|w| w.parse::<IpAddr>().ok());
                if let Some(ip) = ip
                    && conf.servers.len() < MAX_SERVERS
                {
                    conf.servers.push(SocketAddr::new(ip, 53));
                }
            }
            Some("options") => {
                for option in words {
                    if let Some(n) = option.strip_prefix("timeout:") {
                        if let Ok(n) = n.parse::<u8>() {
                            conf.timeout = Some(Duration::from_secs(u64::from(n.clamp(1, 30))));
                        }
                    } else if let Some(n) = option.strip_prefix("attempts:")
                        && let Ok(n) = n.parse::<u8>()
                    {
                        conf.attempts = Some(n.clamp(1, 5));
                    }
                }
            }
            _ => {}
        }
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_bounds() {
        let mut text =
            String::from("search example.com\nnameserver fe80::1%eth0\nnameserver bogus\n");
        for i in 0..20 {
            text.push_str(&format!("nameserver 10.0.0.{i} # comment\n"));
        }
        text.push_str("options ndots:2 timeout:99 attempts:0\n");
        let conf = parse_resolv_conf(&text);
        assert_eq!(conf.servers.len(), MAX_SERVERS);
        assert_eq!(conf.servers[0], "10.0.0.0:53".parse().unwrap());
        assert_eq!(conf.timeout, Some(Duration::from_secs(30)));
        assert_eq!(conf.attempts, Some(1));
        assert_eq!(parse_resolv_conf(""), ResolvConf::default());
    }
}
