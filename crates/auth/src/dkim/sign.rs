//! The signer (RFC 6376 section 5, RFC 8463).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature::{self as sig, Ed25519KeyPair, KeyPair as _, RsaKeyPair};

use super::canon::{self, BodyHasher, Canonicalization};
use super::headers::{self, Push, Splitter};
use super::signature::{domain_name, is_same_or_subdomain, selector};
use super::{Algorithm, SignError};

/// A private key to sign with.
pub struct SigningKey {
    inner: Inner,
}

enum Inner {
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

fn rejected(e: ring::error::KeyRejected) -> SignError {
    SignError::KeyRejected(e.to_string())
}

impl SigningKey {
    /// A key from PKCS#8 DER (`openssl genpkey ... | openssl pkcs8 -topk8 -nocrypt
    /// -outform der`): Ed25519 (v1 or v2) or RSA (2048 to 8192 bits).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignError> {
        if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(Self {
                inner: Inner::Ed25519(k),
            });
        }
        RsaKeyPair::from_pkcs8(der)
            .map(|k| Self {
                inner: Inner::Rsa(k),
            })
            .map_err(rejected)
    }

    /// An RSA key from PKCS#1 RSAPrivateKey DER (`-----BEGIN RSA PRIVATE KEY-----`).
    pub fn rsa_from_pkcs1_der(der: &[u8]) -> Result<Self, SignError> {
        RsaKeyPair::from_der(der)
            .map(|k| Self {
                inner: Inner::Rsa(k),
            })
            .map_err(rejected)
    }

    /// An Ed25519 key from its 32-byte seed (the form RFC 8463 appendix A prints).
    pub fn ed25519_from_seed(seed: &[u8]) -> Result<Self, SignError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(|k| Self {
                inner: Inner::Ed25519(k),
            })
            .map_err(rejected)
    }

    /// The algorithm this key signs with: `ed25519-sha256` or `rsa-sha256`.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            Inner::Ed25519(_) => Algorithm::Ed25519Sha256,
            Inner::Rsa(_) => Algorithm::RsaSha256,
        }
    }

    /// The public key as the `p=` tag carries it: the 32 raw bytes for Ed25519 (RFC 8463),
    /// SubjectPublicKeyInfo DER for RSA.
    pub fn public_key_der(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Ed25519(k) => k.public_key().as_ref().to_vec(),
            Inner::Rsa(k) => super::key::rsa_spki(k.public_key().as_ref()),
        }
    }

    /// The TXT record text to publish at `selector._domainkey.domain`, e.g.
    /// `v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=`.
    pub fn dns_record(&self) -> String {
        let k = match self.inner {
            Inner::Ed25519(_) => "ed25519",
            Inner::Rsa(_) => "rsa",
        };
        format!(
            "v=DKIM1; k={k}; p={}",
            STANDARD.encode(self.public_key_der())
        )
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.inner {
            Inner::Ed25519(k) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, data);
                Ok(k.sign(digest.as_ref()).as_ref().to_vec())
            }
            Inner::Rsa(k) => {
                // PKCS#1 v1.5 signatures are deterministic; ring uses the random source
                // only for blinding (a side-channel defence), never in the output.
                let rng = ring::rand::SystemRandom::new();
                let mut out = vec![0u8; k.public().modulus_len()];
                k.sign(&sig::RSA_PKCS1_SHA256, &rng, data, &mut out)
                    .map_err(|_| SignError::Crypto)?;
                Ok(out)
            }
        }
    }
}

/// How the `h=` list is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HeaderListStyle {
    /// `h=from:to:subject` (default).
    #[default]
    Compact,
    /// `h=from : to : subject` (as in RFC 8463 appendix A).
    Spaced,
}

/// The header fields signed by default when present (RFC 6376 5.4.1 recommendations,
/// plus the MIME and one-click unsubscribe fields).
pub const DEFAULT_SIGNED_HEADERS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "to",
    "cc",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// The fields signed once more than they occur (oversigned), so that adding one after
/// signing breaks the signature: the fields RFC 5322 allows only once, as
/// postwerk-message lists them.
pub const DEFAULT_OVERSIGNED_HEADERS: &[&str] = &postwerk_message::SINGULAR_FIELDS;

/// Signs messages for one domain and selector with one key.
///
/// ```
/// use postwerk_auth::dkim::{Signer, SigningKey, Canonicalization};
/// let key = SigningKey::ed25519_from_seed(&[7u8; 32]).unwrap();
/// let signer = Signer::new(key, "example.com", "sel").unwrap()
///     .canonicalization(Canonicalization::Relaxed, Canonicalization::Relaxed);
/// let field = signer.sign(b"From: a@example.com\r\n\r\nHi\r\n", 1_700_000_000).unwrap();
/// assert!(field.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;"));
/// ```
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    domain: String,
    selector: String,
    identity: Option<String>,
    headers: Vec<String>,
    oversign: Vec<String>,
    exact: Option<Vec<String>>,
    header_c: Canonicalization,
    body_c: Canonicalization,
    expire_after: Option<u64>,
    query_tag: bool,
    style: HeaderListStyle,
    max_header_bytes: usize,
}

fn valid_field_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|c| (33..=126).contains(&c) && c != b':')
}

impl Signer {
    /// A signer for `domain` and `selector` with the default header lists and
    /// `relaxed/relaxed` canonicalization.
    pub fn new(key: SigningKey, domain: &str, selector_name: &str) -> Result<Self, SignError> {
        Ok(Self {
            key,
            domain: domain_name(domain.as_bytes()).ok_or(SignError::BadDomain)?,
            selector: selector(selector_name.as_bytes()).ok_or(SignError::BadSelector)?,
            identity: None,
            headers: DEFAULT_SIGNED_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            oversign: DEFAULT_OVERSIGNED_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            exact: None,
            header_c: Canonicalization::Relaxed,
            body_c: Canonicalization::Relaxed,
            expire_after: None,
            query_tag: false,
            style: HeaderListStyle::Compact,
            max_header_bytes: 256 * 1024,
        })
    }

    /// The header fields to sign when present (`From` is always signed).
    pub fn headers(mut self, names: &[&str]) -> Result<Self, SignError> {
        self.headers = checked_names(names)?;
        if !self.headers.iter().any(|h| h == "from") {
            self.headers.insert(0, "from".into());
        }
        Ok(self)
    }

    /// The header fields to sign once more than they occur (oversigning).
    pub fn oversign(mut self, names: &[&str]) -> Result<Self, SignError> {
        self.oversign = checked_names(names)?;
        Ok(self)
    }

    /// Uses exactly this `h=` list (repeats allowed) instead of computing one from the
    /// message. It must include `from`.
    pub fn exact_header_list(mut self, names: &[&str]) -> Result<Self, SignError> {
        let list = checked_names(names)?;
        if !list.iter().any(|h| h == "from") {
            return Err(SignError::BadHeaderName("h= must include from".into()));
        }
        self.exact = Some(list);
        Ok(self)
    }

    /// Header and body canonicalization (`c=`).
    pub fn canonicalization(mut self, header: Canonicalization, body: Canonicalization) -> Self {
        self.header_c = header;
        self.body_c = body;
        self
    }

    /// The `i=` tag (e.g. `@example.com` or `user@mail.example.com`).
    pub fn identity(mut self, identity: &str) -> Result<Self, SignError> {
        let at = identity.rfind('@').ok_or(SignError::BadIdentity)?;
        let dom = &identity[at + 1..];
        if !is_same_or_subdomain(dom, &self.domain)
            || identity
                .bytes()
                .any(|b| !(33..=126).contains(&b) || b == b';')
        {
            return Err(SignError::BadIdentity);
        }
        self.identity = Some(identity.to_owned());
        Ok(self)
    }

    /// Adds `x=` this many seconds after `t=`.
    pub fn expire_after(mut self, seconds: u64) -> Self {
        self.expire_after = Some(seconds);
        self
    }

    /// Writes `q=dns/txt` (the default query method; optional).
    pub fn query_tag(mut self, on: bool) -> Self {
        self.query_tag = on;
        self
    }

    /// How `h=` is written.
    pub fn header_list_style(mut self, style: HeaderListStyle) -> Self {
        self.style = style;
        self
    }

    /// The largest header block accepted (default 256 KiB).
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max;
        self
    }

    /// The key's DNS TXT record (see [`SigningKey::dns_record`]).
    pub fn dns_record(&self) -> String {
        self.key.dns_record()
    }

    /// Starts signing one message, streamed through [`Signing::update`]. The same
    /// [`Signing`] can then sign for this signer and for any other with the same body
    /// canonicalization and header limit (for example an Ed25519 and an RSA key of one
    /// domain: the body is hashed once).
    pub fn start(&self) -> Signing {
        Signing {
            body_c: self.body_c,
            max_header_bytes: self.max_header_bytes,
            splitter: Splitter::new(self.max_header_bytes),
            body: Some(BodyHasher::new(self.body_c, &ring::digest::SHA256, None)),
            digest: None,
            prepended: Vec::new(),
        }
    }

    /// Signs a whole message at time `now` (seconds since the Unix epoch); returns the
    /// `DKIM-Signature` field to prepend (ending in CRLF).
    pub fn sign(&self, message: &[u8], now: u64) -> Result<String, SignError> {
        let mut s = self.start();
        s.update(message);
        s.sign(self, now)
    }
}

fn checked_names(names: &[&str]) -> Result<Vec<String>, SignError> {
    names
        .iter()
        .map(|n| {
            if valid_field_name(n) {
                Ok(n.to_ascii_lowercase())
            } else {
                Err(SignError::BadHeaderName((*n).to_owned()))
            }
        })
        .collect()
}

/// One message being signed: headers buffered (bounded), body hashed as it streams.
///
/// Made by [`Signer::start`]; owns its state (no borrow of the signer), so it can live in
/// a session across awaits.
#[derive(Debug)]
pub struct Signing {
    body_c: Canonicalization,
    max_header_bytes: usize,
    splitter: Splitter,
    body: Option<BodyHasher>,
    digest: Option<Vec<u8>>,
    prepended: Vec<u8>,
}

impl Signing {
    /// Feeds message bytes (CRLF line ends, any split). Ignored once a signature has
    /// been made.
    pub fn update(&mut self, data: &[u8]) {
        let Some(body) = &mut self.body else {
            return;
        };
        match self.splitter.push(data) {
            Push::HeaderDone(b) | Push::Body(b) => body.update(b),
            Push::Header | Push::Overflow => {}
        }
    }

    /// Header fields that will be placed above the message's header block when it is
    /// sent (each ending in CRLF), such as the `Date:` and `Message-ID:` a submission
    /// server adds (RFC 6409 section 8): they are signed as part of the header. Call it
    /// before the first [`sign`](Self::sign).
    pub fn prepend_fields(&mut self, fields: &[u8]) {
        self.prepended.extend_from_slice(fields);
    }

    /// Ends the message (on the first call) and returns the `DKIM-Signature` field of
    /// `signer` (folded at 78 columns, `b=` last, ending in CRLF) signed at time `now`.
    /// Can be called again with another signer of the same body canonicalization and
    /// header limit; a different one is [`SignError::Mismatch`].
    pub fn sign(&mut self, signer: &Signer, now: u64) -> Result<String, SignError> {
        if signer.body_c != self.body_c || signer.max_header_bytes != self.max_header_bytes {
            return Err(SignError::Mismatch);
        }
        if self.splitter.is_overflow() {
            return Err(SignError::HeaderTooLarge);
        }
        if self.splitter.in_header() {
            self.splitter.finish();
        }
        if let Some(body) = self.body.take() {
            let (digest, _) = body.finish();
            self.digest = Some(digest.as_ref().to_vec());
        }
        let digest = self.digest.clone().unwrap_or_default();
        let joined;
        let block = if self.prepended.is_empty() {
            self.splitter.header()
        } else {
            joined = [self.prepended.as_slice(), self.splitter.header()].concat();
            joined.as_slice()
        };
        let s = signer;
        let fields = headers::split_fields(block);
        let count = |name: &str| {
            fields
                .iter()
                .filter(|f| f.name(block).eq_ignore_ascii_case(name.as_bytes()))
                .count()
        };
        if count("from") == 0 {
            return Err(SignError::NoFrom);
        }
        let h: Vec<String> = match &s.exact {
            Some(list) => list.clone(),
            None => {
                let mut h = Vec::new();
                for name in &s.headers {
                    let n = count(name) + usize::from(s.oversign.contains(name));
                    h.extend(std::iter::repeat_n(name.clone(), n));
                }
                h
            }
        };
        let mut f = Folder::new("DKIM-Signature:");
        f.tag("v", "1", true);
        f.tag("a", s.key.algorithm().as_str(), true);
        f.tag(
            "c",
            &format!("{}/{}", s.header_c.as_str(), s.body_c.as_str()),
            true,
        );
        f.tag("d", &s.domain, true);
        if let Some(i) = &s.identity {
            f.tag("i", i, true);
        }
        if s.query_tag {
            f.tag("q", "dns/txt", true);
        }
        f.tag("s", &s.selector, true);
        f.tag("t", &now.to_string(), true);
        if let Some(x) = s.expire_after {
            f.tag("x", &now.saturating_add(x).to_string(), true);
        }
        let sep = match s.style {
            HeaderListStyle::Compact => ":",
            HeaderListStyle::Spaced => " : ",
        };
        f.list("h", &h, sep);
        f.breakable("bh", &STANDARD.encode(&digest), true);
        f.open("b");

        let mut data = Vec::new();
        for field in headers::select(block, &fields, &h).into_iter().flatten() {
            canon::header(s.header_c, field.raw(block), &mut data);
        }
        canon::header(s.header_c, f.out.as_bytes(), &mut data);
        data.truncate(data.len() - 2);
        let signature = s.key.sign(&data)?;
        f.chunks(&STANDARD.encode(signature));
        f.out.push_str("\r\n");
        Ok(f.out)
    }
}

/// Writes tags folded at 78 columns.
struct Folder {
    out: String,
    col: usize,
}

const WIDTH: usize = 78;

impl Folder {
    fn new(name: &str) -> Self {
        Self {
            out: name.to_owned(),
            col: name.len(),
        }
    }

    fn space_for(&mut self, len: usize) {
        if self.col + 1 + len > WIDTH {
            self.out.push_str("\r\n ");
            self.col = 1;
        } else {
            self.out.push(' ');
            self.col += 1;
        }
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        self.col += s.len();
    }

    fn tag(&mut self, name: &str, value: &str, semicolon: bool) {
        let text = format!("{name}={value}{}", if semicolon { ";" } else { "" });
        self.space_for(text.len());
        self.push(&text);
    }

    /// A tag whose value may be folded anywhere (base64).
    fn breakable(&mut self, name: &str, value: &str, semicolon: bool) {
        let whole = name.len() + 1 + value.len() + usize::from(semicolon);
        if whole < WIDTH {
            self.tag(name, value, semicolon);
            return;
        }
        self.open(name);
        self.chunks(value);
        if semicolon {
            self.piece(";");
        }
    }

    /// `name=` with the value to follow.
    fn open(&mut self, name: &str) {
        self.space_for(name.len() + 2);
        self.push(name);
        self.push("=");
    }

    fn piece(&mut self, p: &str) {
        if self.col + p.len() > WIDTH {
            self.out.push_str("\r\n ");
            self.col = 1;
        }
        self.push(p);
    }

    /// Base64 text, folded where the line is full.
    fn chunks(&mut self, value: &str) {
        let mut rest = value;
        while !rest.is_empty() {
            if self.col >= WIDTH {
                self.out.push_str("\r\n ");
                self.col = 1;
            }
            let room = WIDTH.saturating_sub(self.col).max(1);
            let n = room.min(rest.len());
            self.push(&rest[..n]);
            rest = &rest[n..];
            if !rest.is_empty() {
                self.out.push_str("\r\n ");
                self.col = 1;
            }
        }
    }

    /// A colon-separated list folded between items.
    fn list(&mut self, name: &str, items: &[String], sep: &str) {
        let joined = items.join(sep);
        if self.col + 1 + name.len() + 2 + joined.len() <= WIDTH {
            self.tag(name, &joined, true);
            return;
        }
        self.space_for(name.len() + 1 + items.first().map_or(0, |i| i.len()) + sep.len());
        self.push(name);
        self.push("=");
        let last = items.len().saturating_sub(1);
        for (i, item) in items.iter().enumerate() {
            let tail = if i == last {
                ";".to_owned()
            } else {
                sep.trim_end().to_owned()
            };
            let leading = if i > 0 && sep.starts_with(' ') { 1 } else { 0 };
            let piece_len = leading + item.len() + tail.len();
            if self.col + piece_len > WIDTH {
                self.out.push_str("\r\n ");
                self.col = 1;
            } else if leading == 1 {
                self.push(" ");
            }
            self.push(item);
            self.push(&tail);
        }
    }
}
