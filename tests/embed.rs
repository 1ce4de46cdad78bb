//! Embeddability, proven from outside the crates (issue 12 item 6): an application that
//! uses only the public API of `postwerk` to
//!
//! - offer a private EHLO extension, `XPRIORITY-TAG`, with its own MAIL parameter
//!   `XTAG=value`, and receive the value in [`Event::Mail`];
//! - plug its own SASL mechanism, `X-TICKET`, into the SMTP server and the POP3 server
//!   through postwerk-sasl's [`ServerMechanism`] trait, and log in with it from the
//!   client side (Python's smtplib and poplib as independent peers, and our own client
//!   machines with a matching [`ClientMechanism`]).
//!
//! The servers run over real loopback TCP sockets with a small blocking driver loop.
//! The Python tests need `python3` (Debian/Ubuntu package `python3`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use postwerk::pop3;
use postwerk::sasl::ClientError;
use postwerk::sasl::client::{ClientExchange, ClientMechanism};
use postwerk::sasl::server::{
    Answer, Requirement, Secret, ServerMechanism, ServerMechanisms, ServerStep, Success, Verify,
};
use postwerk::sasl::{Failure, UsageError};
use postwerk::smtp::server::{Config, Connection, Decision, Event, ParamValue};

// ---- the application's own SASL mechanism ---------------------------------------------

/// The name of the application's mechanism.
const TICKET: &str = "X-TICKET";

/// The tickets the application knows: (user, ticket).
const TICKETS: [(&str, &str); 1] = [("alice@example.org", "ticket-4711")];

/// `X-TICKET`, server side. Two steps: the server sends `nonce=<nonce>`; the client
/// answers `user=<user>,ticket=<ticket>,echo=<nonce>`. The mechanism checks the echo
/// itself (a wrong one is malformed) and asks the application to verify the ticket.
#[derive(Debug)]
struct TicketServer {
    nonce: String,
    user: Option<String>,
}

impl TicketServer {
    fn new(nonce: &str) -> TicketServer {
        TicketServer {
            nonce: format!("tk{nonce}"),
            user: None,
        }
    }

    fn malformed(what: &'static str) -> ServerStep {
        ServerStep::Failure(Failure::Malformed {
            mechanism: TICKET.to_owned(),
            what,
        })
    }
}

impl ServerMechanism for TicketServer {
    fn name(&self) -> &str {
        TICKET
    }

    fn step(&mut self, response: Option<&[u8]>) -> ServerStep {
        let Some(response) = response else {
            return ServerStep::Challenge(format!("nonce={}", self.nonce).into_bytes());
        };
        if response.is_empty() && self.user.is_none() {
            // An empty initial response: the client waits for the challenge.
            return ServerStep::Challenge(format!("nonce={}", self.nonce).into_bytes());
        }
        let Ok(text) = std::str::from_utf8(response) else {
            return Self::malformed("not UTF-8");
        };
        let mut user = None;
        let mut ticket = None;
        let mut echo = None;
        for field in text.split(',') {
            match field.split_once('=') {
                Some(("user", v)) => user = Some(v),
                Some(("ticket", v)) => ticket = Some(v),
                Some(("echo", v)) => echo = Some(v),
                _ => return Self::malformed("unknown field"),
            }
        }
        let (Some(user), Some(ticket), Some(echo)) = (user, ticket, echo) else {
            return Self::malformed("missing field");
        };
        if echo != self.nonce {
            return Self::malformed("wrong nonce echo");
        }
        self.user = Some(user.to_owned());
        ServerStep::Verify(Verify::Custom {
            mechanism: TICKET.to_owned(),
            authcid: user.to_owned(),
            authzid: None,
            secret: Secret::new(ticket),
        })
    }

    fn answer(&mut self, answer: Answer) -> ServerStep {
        let user = self.user.take().unwrap_or_default();
        match answer {
            Answer::Accept => ServerStep::Success(Success::new(user, None)),
            Answer::AcceptAs(identity) => ServerStep::Success(Success::new(identity, None)),
            _ => ServerStep::Failure(Failure::Rejected),
        }
    }
}

/// The mechanism list of the servers: only `X-TICKET`, offered without TLS.
fn ticket_mechanisms() -> Arc<ServerMechanisms> {
    let mut mechanisms = ServerMechanisms::new();
    mechanisms
        .register(
            TICKET,
            Requirement::None,
            Box::new(|ctx| -> Result<Box<dyn ServerMechanism>, UsageError> {
                Ok(Box::new(TicketServer::new(ctx.nonce())))
            }),
        )
        .expect("a valid mechanism name");
    Arc::new(mechanisms)
}

/// The application's check of a [`Verify::Custom`] request.
fn check_ticket(request: &Verify) -> Answer {
    match request {
        Verify::Custom {
            mechanism,
            authcid,
            secret,
            ..
        } if mechanism == TICKET
            && TICKETS
                .iter()
                .any(|(u, t)| u == authcid && *t == secret.expose()) =>
        {
            Answer::Accept
        }
        _ => Answer::Reject,
    }
}

/// `X-TICKET`, client side (for our client machines).
#[derive(Debug)]
struct TicketClient {
    user: String,
    ticket: String,
}

impl ClientMechanism for TicketClient {
    fn name(&self) -> &str {
        TICKET
    }

    fn initial_response(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(None)
    }

    fn step(&mut self, challenge: &[u8]) -> Result<Vec<u8>, ClientError> {
        let nonce = challenge
            .strip_prefix(b"nonce=")
            .and_then(|n| std::str::from_utf8(n).ok())
            .ok_or(ClientError::Malformed {
                mechanism: TICKET.to_owned(),
                what: "no nonce",
            })?;
        Ok(format!("user={},ticket={},echo={nonce}", self.user, self.ticket).into_bytes())
    }
}

fn ticket_client(user: &str, ticket: &str) -> ClientExchange {
    ClientExchange::new(Box::new(TicketClient {
        user: user.to_owned(),
        ticket: ticket.to_owned(),
    }))
}

// ---- Python ------------------------------------------------------------------------------

/// Runs a Python 3 script with `args`; returns its standard output. Fails the test with a
/// message naming the package when python3 is missing.
fn python(script: &str, args: &[String]) -> String {
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs python3 (Debian/Ubuntu package `python3`): {e}")
        });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "python3 failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

// ---- SMTP: the server driver ---------------------------------------------------------------

/// What the SMTP application saw in one session.
#[derive(Debug, Default)]
struct SmtpLog {
    /// The `XTAG` value of each MAIL the application accepted (`None`: no XTAG).
    mail_tags: Vec<Option<String>>,
    /// The custom mechanism's verify requests: (authcid, ticket).
    verified: Vec<(String, String)>,
    /// The identity of each login.
    logins: Vec<String>,
    /// The body of each message.
    bodies: Vec<Vec<u8>>,
    /// Who the session ended authenticated as.
    authenticated: Option<String>,
}

/// The embedding application's SMTP session: the private extension and the private SASL
/// mechanism are set up through the session's settings.
fn smtp_session(mut socket: TcpStream) -> SmtpLog {
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut config = Config::new("mx.embed.test");
    config.sasl = ticket_mechanisms();
    config.timeouts.auth_failure_delay = Duration::ZERO;
    let mut conn = Connection::new(config, Instant::now());
    let settings = conn.settings_mut();
    settings.add_ehlo_keyword("XPRIORITY-TAG");
    settings.register_mail_parameter("XTAG", ParamValue::Required);
    settings.sasl_nonce = Some("n0nce".to_owned());

    let mut log = SmtpLog::default();
    let mut body = Vec::new();
    let mut buf = [0u8; 8192];
    let mut unread: Vec<u8> = Vec::new();
    loop {
        while let Some(event) = conn.poll_event() {
            let now = Instant::now();
            match event {
                Event::Mail { id, params, .. } => {
                    let tag = params
                        .other
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case("XTAG"))
                        .and_then(|(_, value)| value.as_deref().map(String::from));
                    log.mail_tags.push(tag);
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                Event::Rcpt { id, .. } => conn.respond(id, Decision::Accept, now).unwrap(),
                Event::SaslVerify { id, request } => {
                    if let Verify::Custom {
                        authcid, secret, ..
                    } = &request
                    {
                        log.verified
                            .push((authcid.clone(), secret.expose().to_owned()));
                    }
                    conn.answer_sasl(id, check_ticket(&request), now).unwrap();
                }
                Event::Login { id, credentials } => {
                    log.logins.push(credentials.identity().to_owned());
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                Event::DataStart => body.clear(),
                Event::BodyChunk(chunk) => body.extend_from_slice(&chunk),
                Event::DataEnd { id, .. } => {
                    log.bodies.push(std::mem::take(&mut body));
                    conn.respond(id, Decision::Accept, now).unwrap();
                }
                _ => {}
            }
        }
        let mut wrote = false;
        while let Some(out) = conn.poll_transmit() {
            socket.write_all(&out).unwrap();
            wrote = true;
        }
        if wrote {
            continue;
        }
        if conn.is_closed() {
            log.authenticated = conn.authenticated().map(str::to_owned);
            return log;
        }
        if !unread.is_empty() {
            let n = conn.handle_input(&unread, Instant::now());
            unread.drain(..n);
            continue;
        }
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => conn.handle_eof(Instant::now()),
            Ok(n) => {
                let taken = conn.handle_input(&buf[..n], Instant::now());
                unread.extend_from_slice(&buf[taken..n]);
            }
        }
    }
}

/// Serves one SMTP connection on a fresh loopback port; the log comes on the receiver.
fn start_smtp() -> (u16, mpsc::Receiver<SmtpLog>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        if let Ok((socket, _)) = listener.accept() {
            let _ = tx.send(smtp_session(socket));
        }
    });
    (port, rx)
}

const SMTPLIB_EXTENSION: &str = r#"
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
code, _ = s.ehlo('client.embed.test')
print('ehlo', code)
print('has-xpriority-tag', s.has_extn('xpriority-tag'))
s.sendmail('alice@example.org', ['bob@example.net'],
           b'Subject: tagged\r\n\r\nurgent mail\r\n', mail_options=['XTAG=urgent-7'])
print('sent')
code, msg = s.mail('alice@example.org', ['XUNREGISTERED=1'])
print('unregistered', code, msg.decode())
code, msg = s.mail('alice@example.org', ['XTAG'])
print('xtag-without-value', code)
s.quit()
"#;

#[test]
fn private_ehlo_extension_and_mail_parameter_over_tcp() {
    let (port, log) = start_smtp();
    let out = python(SMTPLIB_EXTENSION, &[port.to_string()]);
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();

    assert!(out.contains("ehlo 250\n"), "{out}");
    // The keyword is in the EHLO reply, as smtplib parsed it.
    assert!(out.contains("has-xpriority-tag True\n"), "{out}");
    assert!(out.contains("sent\n"), "{out}");
    // An unregistered parameter is still 555; the registered one needs its value.
    assert!(out.contains("unregistered 555 "), "{out}");
    assert!(out.contains("XUNREGISTERED"), "{out}");
    assert!(out.contains("xtag-without-value 501\n"), "{out}");
    // The value reached the application's Event::Mail; the refused MAILs never did.
    assert_eq!(log.mail_tags, [Some("urgent-7".to_owned())]);
    assert_eq!(
        log.bodies,
        [b"Subject: tagged\r\n\r\nurgent mail\r\n".to_vec()]
    );
}

const SMTPLIB_TICKET: &str = r#"
import smtplib, sys
port, user, ticket = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = smtplib.SMTP('127.0.0.1', port, timeout=20)
s.ehlo('client.embed.test')
print('auth-offered', s.esmtp_features.get('auth', '').strip())
def ticket_auth(challenge=None):
    nonce = challenge.decode()[len('nonce='):]
    return 'user=%s,ticket=%s,echo=%s' % (user, ticket, nonce)
try:
    code, msg = s.auth('X-TICKET', ticket_auth, initial_response_ok=False)
    print('auth', code)
    s.sendmail(user, ['bob@example.net'], b'Subject: after login\r\n\r\nhi\r\n')
    print('sent')
except smtplib.SMTPAuthenticationError as e:
    print('auth-failed', e.smtp_code)
s.quit()
"#;

#[test]
fn private_sasl_mechanism_in_the_smtp_server_with_smtplib() {
    let (port, log) = start_smtp();
    let out = python(
        SMTPLIB_TICKET,
        &[
            port.to_string(),
            "alice@example.org".to_owned(),
            "ticket-4711".to_owned(),
        ],
    );
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(out.contains("auth-offered X-TICKET\n"), "{out}");
    assert!(out.contains("auth 235\n"), "{out}");
    assert!(out.contains("sent\n"), "{out}");
    assert_eq!(
        log.verified,
        [("alice@example.org".to_owned(), "ticket-4711".to_owned())]
    );
    assert_eq!(log.logins, ["alice@example.org"]);
    assert_eq!(log.authenticated.as_deref(), Some("alice@example.org"));
    assert_eq!(log.bodies.len(), 1);
}

#[test]
fn private_sasl_mechanism_refuses_a_wrong_ticket_over_smtp() {
    let (port, log) = start_smtp();
    let out = python(
        SMTPLIB_TICKET,
        &[
            port.to_string(),
            "alice@example.org".to_owned(),
            "forged".to_owned(),
        ],
    );
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(out.contains("auth-failed 535\n"), "{out}");
    assert_eq!(
        log.verified,
        [("alice@example.org".to_owned(), "forged".to_owned())]
    );
    assert!(log.logins.is_empty());
    assert_eq!(log.authenticated, None);
}

#[test]
fn private_sasl_mechanism_checks_its_own_syntax_over_smtp() {
    // A client that echoes the wrong nonce never reaches the application.
    const WRONG_ECHO: &str = r#"
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)
s.ehlo('client.embed.test')
try:
    s.auth('X-TICKET', lambda c=None: 'user=alice@example.org,ticket=ticket-4711,echo=stale',
           initial_response_ok=False)
    print('accepted')
except smtplib.SMTPAuthenticationError as e:
    print('auth-failed', e.smtp_code)
s.quit()
"#;
    let (port, log) = start_smtp();
    let out = python(WRONG_ECHO, &[port.to_string()]);
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(out.contains("auth-failed 501\n"), "{out}");
    assert!(log.verified.is_empty());
    assert_eq!(log.authenticated, None);
}

// ---- POP3 ----------------------------------------------------------------------------------

const MAILDROP: [&[u8]; 2] = [
    b"Subject: one\r\n\r\nfirst\r\n",
    b"Subject: two\r\n\r\nsecond message\r\n",
];

/// What the POP3 application saw in one session.
#[derive(Debug, Default)]
struct Pop3Log {
    verified: Vec<(String, String)>,
    logins: Vec<String>,
    authenticated: Option<String>,
}

/// The POP3 application's configuration: only `X-TICKET`, no cleartext passwords.
fn pop3_config() -> pop3::server::Config {
    let mut config = pop3::server::Config::default();
    config.sasl = ticket_mechanisms();
    config.sasl_nonce = Some("p0p".to_owned());
    config.auth_failure_delay = Duration::ZERO;
    config
}

/// Answers one POP3 server event the way the embedding application does.
fn pop3_event(conn: &mut pop3::server::Connection, event: pop3::server::Event, log: &mut Pop3Log) {
    use pop3::server::Event as E;
    match event {
        E::SaslVerify { id, request } => {
            if let Verify::Custom {
                authcid, secret, ..
            } = &request
            {
                log.verified
                    .push((authcid.clone(), secret.expose().to_owned()));
            }
            conn.answer_sasl(id, check_ticket(&request)).unwrap();
        }
        E::Login { id, credentials } => {
            log.logins.push(credentials.identity().to_owned());
            let listing = MAILDROP
                .iter()
                .enumerate()
                .map(|(i, m)| pop3::server::MessageInfo::from((m.len() as u64, format!("uid{i}"))))
                .collect();
            conn.accept_login(id, listing).unwrap();
        }
        E::MessageRequest { id, index, .. } => {
            conn.supply_message(id, bytes::Bytes::from_static(MAILDROP[index]))
                .unwrap();
        }
        E::Commit { id, .. } => conn.answer_commit(id, true).unwrap(),
        _ => {}
    }
}

/// Serves one POP3 connection on a fresh loopback port.
fn start_pop3() -> (u16, mpsc::Receiver<Pop3Log>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut conn = pop3::server::Connection::new(pop3_config(), Instant::now());
        let mut log = Pop3Log::default();
        let mut buf = [0u8; 8192];
        loop {
            while let Some(event) = conn.poll_event() {
                pop3_event(&mut conn, event, &mut log);
            }
            let mut wrote = false;
            while let Some(out) = conn.poll_transmit() {
                socket.write_all(&out).unwrap();
                wrote = true;
            }
            if wrote {
                continue;
            }
            if conn.is_closed() {
                break;
            }
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => conn.handle_eof(Instant::now()),
                Ok(n) => conn.handle_input(&buf[..n], Instant::now()),
            }
        }
        log.authenticated = conn.authenticated().map(str::to_owned);
        let _ = tx.send(log);
    });
    (port, rx)
}

const POPLIB_TICKET: &str = r#"
import poplib, base64, sys
port, user, ticket = int(sys.argv[1]), sys.argv[2], sys.argv[3]
p = poplib.POP3('127.0.0.1', port, timeout=20)
print('sasl', p.capa().get('SASL'))
resp = p._shortcmd('AUTH X-TICKET').decode()
challenge = base64.b64decode(resp[2:]).decode()
nonce = challenge[len('nonce='):]
answer = 'user=%s,ticket=%s,echo=%s' % (user, ticket, nonce)
try:
    print('auth', p._shortcmd(base64.b64encode(answer.encode()).decode()).decode())
    print('stat', p.stat())
    print('retr', p.retr(2)[1])
except poplib.error_proto as e:
    print('auth-failed', e.args[0].decode())
p.quit()
"#;

#[test]
fn private_sasl_mechanism_in_the_pop3_server_with_poplib() {
    let (port, log) = start_pop3();
    let out = python(
        POPLIB_TICKET,
        &[
            port.to_string(),
            "alice@example.org".to_owned(),
            "ticket-4711".to_owned(),
        ],
    );
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(out.contains("sasl ['X-TICKET']\n"), "{out}");
    assert!(out.contains("auth +OK"), "{out}");
    let total = MAILDROP.iter().map(|m| m.len()).sum::<usize>();
    assert!(out.contains(&format!("stat (2, {total})\n")), "{out}");
    assert!(
        out.contains("retr [b'Subject: two', b'', b'second message']\n"),
        "{out}"
    );
    assert_eq!(
        log.verified,
        [("alice@example.org".to_owned(), "ticket-4711".to_owned())]
    );
    assert_eq!(log.logins, ["alice@example.org"]);
    assert_eq!(log.authenticated.as_deref(), Some("alice@example.org"));
}

#[test]
fn private_sasl_mechanism_refuses_a_wrong_ticket_over_pop3() {
    let (port, log) = start_pop3();
    let out = python(
        POPLIB_TICKET,
        &[
            port.to_string(),
            "alice@example.org".to_owned(),
            "forged".to_owned(),
        ],
    );
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(out.contains("auth-failed -ERR [AUTH]"), "{out}");
    assert!(log.logins.is_empty());
    assert_eq!(log.authenticated, None);
}

/// Our POP3 client machine, logging in with the application's client mechanism against
/// the server on a TCP socket.
#[test]
fn private_sasl_mechanism_with_our_pop3_client_machine() {
    use pop3::client::{Connection as Client, Event as CE, Reply};

    let (port, log) = start_pop3();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut client = Client::new(Default::default(), Instant::now());
    let auth = client
        .auth(ticket_client("alice@example.org", "ticket-4711"))
        .unwrap();
    let stat = client.stat().unwrap();
    let quit = client.quit().unwrap();
    let mut replies = Vec::new();
    let mut buf = [0u8; 4096];
    let mut closed = false;
    while !closed {
        while let Some(out) = client.poll_transmit() {
            socket.write_all(&out).unwrap();
        }
        while let Some(event) = client.poll_event() {
            match event {
                CE::Reply { id, result } => replies.push((id, result)),
                CE::Closed { .. } => closed = true,
                _ => {}
            }
        }
        if closed {
            break;
        }
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => {
                client.handle_eof(Instant::now());
                closed = true;
            }
            Ok(n) => client.handle_input(&buf[..n], Instant::now()),
        }
    }
    let reply = |id| {
        replies
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r.clone())
            .expect("a reply")
    };
    assert!(matches!(reply(auth), Ok(Reply::Ok(_))), "{replies:?}");
    let total = MAILDROP.iter().map(|m| m.len() as u64).sum::<u64>();
    assert_eq!(
        reply(stat),
        Ok(Reply::Stat {
            count: 2,
            octets: total
        })
    );
    assert!(matches!(reply(quit), Ok(Reply::Ok(_))));
    assert!(client.is_authenticated());
    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(log.logins, ["alice@example.org"]);
}

/// Our SMTP client machine, logging in with the application's client mechanism and
/// sending the private MAIL parameter, against the server on a TCP socket.
#[test]
fn private_extension_and_mechanism_with_our_smtp_client_machine() {
    use bytes::Bytes;
    use postwerk::smtp::client::{
        self, Connection as Client, EsmtpParam, Recipient, TlsPolicy, Transaction,
    };
    use postwerk::smtp::codec::path::{ForwardPath, Mailbox, ReversePath};

    let (port, log) = start_smtp();
    let mut socket = TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut config = client::Config::new("client.embed.test");
    config.tls = TlsPolicy::Disabled;
    config.allow_plaintext_auth = true;
    let mut client = Client::new(config, Instant::now());
    client.set_sasl_exchange(ticket_client("alice@example.org", "ticket-4711"));
    let tx = Transaction::new(
        ReversePath::Mailbox(Mailbox::new("alice", "example.org").unwrap()),
        Bytes::from_static(b"Subject: from our client\r\n\r\nhello\r\n"),
    )
    .with_recipient(Recipient::new(ForwardPath::Mailbox(
        Mailbox::new("bob", "example.net").unwrap(),
    )))
    // The server advertises XPRIORITY-TAG, not XTAG: send the parameter anyway.
    .with_mail_param(EsmtpParam::new("XTAG", Some("low-1")).unwrap().forced())
    .unwrap();
    client.send(tx, Instant::now()).unwrap();
    client.quit(Instant::now());

    let mut results = Vec::new();
    let mut close_error = None;
    let mut has_keyword = false;
    let mut buf = [0u8; 4096];
    while !client.is_closed() {
        while let Some(event) = client.poll_event() {
            match event {
                client::Event::TransactionDone(result) => results.push(result),
                client::Event::Closed { error } => close_error = error,
                _ => {}
            }
        }
        if let Some(caps) = client.capabilities() {
            has_keyword |= caps.has_keyword("XPRIORITY-TAG");
        }
        if let Some(out) = client.poll_transmit() {
            socket.write_all(&out).unwrap();
            client.handle_written(Instant::now());
            continue;
        }
        if client.is_closed() {
            break;
        }
        match socket.read(&mut buf) {
            Ok(0) | Err(_) => client.handle_eof(Instant::now()),
            Ok(n) => client.handle_input(&buf[..n], Instant::now()),
        }
    }
    assert!(close_error.is_none(), "{close_error:?}");
    assert!(client.is_authenticated());
    assert!(has_keyword);
    assert_eq!(results.len(), 1);
    assert!(results[0].all_accepted(), "{:?}", results[0]);

    let log = log.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(log.logins, ["alice@example.org"]);
    assert_eq!(log.mail_tags, [Some("low-1".to_owned())]);
    assert_eq!(
        log.bodies,
        [b"Subject: from our client\r\n\r\nhello\r\n".to_vec()]
    );
}
