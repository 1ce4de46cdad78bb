//! systemd integration without libsystemd: readiness notification (`Type=notify`) and
//! socket activation of named listeners.
//!
//! Notification is one datagram per state change to the unix socket named in
//! `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace), as `sd_notify(3)`
//! does: `READY=1` once every listener is bound, `RELOADING=1` then `READY=1` around a
//! reload (SIGHUP), `STOPPING=1` when shutting down. Without `$NOTIFY_SOCKET` nothing is
//! sent. This is std only.
//!
//! Socket activation (`sd_listen_fds_with_names(3)`): when `$LISTEN_PID` is our pid, the
//! `$LISTEN_FDS` descriptors from 3 on are listening sockets, named in `$LISTEN_FDNAMES`
//! (colon-separated, `FileDescriptorName=` in the socket unit). A socket named after a
//! listener role (`smtp`, `submission`, `submissions`, `pop3`, `pop3s`) or `metrics`
//! replaces the configured addresses of that role. Taking a descriptor number as a socket
//! needs `unsafe`, which this crate forbids; the `listenfd` crate (small, widely used, it
//! checks `$LISTEN_PID` and the socket type) does that one step.

use std::io;
use std::os::unix::net::UnixDatagram;

use tracing::{debug, warn};

/// Sends `state` (e.g. `READY=1`) to the service manager, when there is one. Failures are
/// logged, never fatal.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = (|| {
        let socket = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        } else {
            socket.send_to(state.as_bytes(), &path)?;
        }
        Ok::<(), io::Error>(())
    })();
    match result {
        Ok(()) => debug!(state, "notified the service manager"),
        Err(e) => warn!(error = %e, socket = ?path, "could not notify the service manager"),
    }
}

/// The listening TCP sockets passed by the service manager, with their names (`unknown`
/// when `$LISTEN_FDNAMES` names none). Empty without socket activation.
///
/// Call it before any other thread runs: `listenfd` removes `$LISTEN_PID` and
/// `$LISTEN_FDS` from the environment.
pub fn activated_listeners() -> io::Result<Vec<(String, std::net::TcpListener)>> {
    // As sd_listen_fds(3): the sockets are ours only when $LISTEN_PID names us (listenfd
    // alone would also take them when $LISTEN_PID is absent).
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id());
    if !ours {
        return Ok(Vec::new());
    }
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(Vec::new());
    }
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .unwrap_or_default()
        .split(':')
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    for index in 0..fds.len() {
        let name = names
            .get(index)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned());
        match fds.take_tcp_listener(index) {
            Ok(Some(listener)) => {
                listener.set_nonblocking(true)?;
                out.push((name, listener));
            }
            Ok(None) => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("socket {name} passed by the service manager: {e}"),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_activation_there_are_no_sockets() {
        // The test runner is not socket-activated ($LISTEN_PID is not ours).
        assert!(activated_listeners().unwrap().is_empty());
    }
}
