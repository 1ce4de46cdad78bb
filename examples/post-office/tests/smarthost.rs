//! A smarthost (`[outbound] relay`): every remote recipient goes to it, with STARTTLS
//! required, its certificate verified, and a login; here the smarthost is Python's
//! aiosmtpd with TLS and AUTH. With a certificate the post office does not trust, nothing
//! is sent (no cleartext retry) and the message waits in the queue.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const SERVER: &str = r#"
import asyncio, json, os, socket, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult

outdir, cert, key = sys.argv[1:4]

class Handler:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(outdir, "msg%d" % self.count)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.authenticated,
            "tls": session.ssl is not None,
        }
        with open(base + ".tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".tmp", base + ".json")
        return "250 2.0.0 Relayed as msg%d" % self.count

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"relay-user" and auth_data.password == b"relay secret"
    return AuthResult(success=ok, handled=False)

async def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = await loop.create_server(
        lambda: SMTP(Handler.instance, hostname="smarthost.test", tls_context=ctx,
                     require_starttls=True, auth_required=True, auth_require_tls=True,
                     authenticator=authenticator, loop=loop),
        sock=sock)
    print(sock.getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()

Handler.instance = Handler()
asyncio.run(main())
"#;

struct Smarthost {
    child: Child,
    port: u16,
    out: tempfile::TempDir,
    cert: std::path::PathBuf,
}

impl Drop for Smarthost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smarthost {
    /// aiosmtpd with a new self-signed certificate for `localhost`.
    fn start() -> Smarthost {
        let out = tempfile::tempdir().unwrap();
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = out.path().join("cert.pem");
        let key = out.path().join("key.pem");
        std::fs::write(&cert, pair.cert.pem()).unwrap();
        std::fs::write(&key, pair.signing_key.serialize_pem()).unwrap();
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(out.path())
            .arg(&cert)
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // aiosmtpd prints a traceback for every refused TLS handshake (the second test).
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is missing: install the Debian package `python3`");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!(
                "aiosmtpd did not start (install the Debian package `python3-aiosmtpd`): {line:?}"
            )
        });
        Smarthost {
            child,
            port,
            out,
            cert,
        }
    }

    /// The envelopes received so far (JSON text).
    fn received(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

/// An office at 127.0.0.2 sending through `relay` with the smarthost login and `ca`.
fn office(relay: &Smarthost, ca: &Path) -> Office {
    let mut a = Office::new(
        "127.0.0.2",
        "alpha.test",
        &["alice"],
        Ports::new(),
        None,
        "",
    );
    std::fs::write(a.dir.path().join("relay-password"), "relay secret\n").unwrap();
    let text = std::fs::read_to_string(&a.config).unwrap().replace(
        "connect_timeout_secs = 5\n",
        &format!(
            "connect_timeout_secs = 5\nrelay = \"localhost:{}\"\nrelay_user = \"relay-user\"\n\
             relay_password_file = \"relay-password\"\nrelay_ca_file = \"{}\"\n",
            relay.port,
            ca.display()
        ),
    );
    std::fs::write(&a.config, text).unwrap();
    a.start_alone();
    a
}

#[test]
fn remote_mail_goes_through_the_smarthost_over_tls_with_a_login() {
    let relay = Smarthost::start();
    let a = office(&relay, &relay.cert.clone());
    let text = message("alice@alpha.test", "bob@far.test", "via smarthost");
    submit(
        &a,
        "alice@alpha.test",
        &["bob@far.test", "carol@other.test"],
        &text,
    );
    let got = wait_for("the smarthost to receive", Duration::from_secs(60), || {
        let r = relay.received();
        (r.len() == 2).then_some(r)
    });
    let all = got.join("\n");
    for expected in [
        "\"mail_from\": \"alice@alpha.test\"",
        "bob@far.test",
        "carol@other.test",
        "\"auth\": true",
        "\"tls\": true",
    ] {
        assert!(all.contains(expected), "{expected} missing in {all}");
    }
}

#[test]
fn an_untrusted_smarthost_certificate_sends_nothing() {
    let relay = Smarthost::start();
    // Trust some other certificate: the smarthost's does not verify.
    let other = tempfile::tempdir().unwrap();
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca = other.path().join("other.pem");
    std::fs::write(&ca, pair.cert.pem()).unwrap();
    let a = office(&relay, &ca);
    let text = message("alice@alpha.test", "bob@far.test", "not trusted");
    submit(&a, "alice@alpha.test", &["bob@far.test"], &text);
    wait_for("the attempt to fail", Duration::from_secs(60), || {
        a.log().contains("smarthost attempt failed").then_some(())
    });
    assert!(relay.received().is_empty());
    let listed = Command::new(BIN)
        .args(["queue", "list", "--config"])
        .arg(&a.config)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("bob@far.test"), "{listed}");
    assert!(listed.to_ascii_lowercase().contains("tls"), "{listed}");
}
