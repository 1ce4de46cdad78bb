//! Where a domain's mail goes: MX routing as a pure function over DNS answers.
//!
//! `postwerk-mx` turns a recipient domain (or an address literal) into the ordered list of
//! hosts and addresses an SMTP client should try, or into a failure that says whether to
//! bounce the message now (permanent) or keep it queued (temporary).
//!
//! The core does **no I/O**: a [`Lookup`] emits DNS queries as wire bytes (built with
//! `hickory-proto`), takes response bytes and the current time from its caller, and
//! never reads a clock, a socket, a file or a global random source. With the `tokio`
//! feature, `resolver::Resolver` drives lookups over UDP/TCP against real name servers,
//! hardened against off-path spoofing (RFC 5452), and caches answers.
//!
//! # Rules
//!
//! | Situation | Result | Reference |
//! |---|---|---|
//! | MX records | hosts by ascending preference, equal preferences shuffled with the caller's [`Rng`] | RFC 5321 §5.1 |
//! | No MX records (NODATA) | implicit MX: the domain itself at preference 0, via A/AAAA ([`Route::implicit`]) | RFC 5321 §5.1 |
//! | MX records present | never fall back to the domain's own A/AAAA | RFC 5321 §5.1 |
//! | NXDOMAIN | permanent [`RouteError::NoSuchDomain`] (5.1.2) | RFC 1035, RFC 2308 |
//! | `MX 0 .` alone | permanent [`RouteError::NullMx`], 556 5.1.10 | RFC 7505 §3, §4.3 |
//! | null MX mixed with other MX records | permanent [`RouteError::NullMxMixed`] (misconfiguration) | RFC 7505 §3 |
//! | one of the MX hosts is us ([`Options::local_hosts`]) | drop it and every host with an equal or worse preference; nothing left is [`RouteError::Loop`] (5.4.6) | RFC 5321 §5.1 |
//! | CNAME | followed (from the answer section when the chain is there), at most [`Options::max_cname_hops`] | RFC 5321 §5.1, RFC 1034 §3.6.2 |
//! | additional section has the exchangers' A/AAAA | used instead of asking again | RFC 1035 §3.3.9 |
//! | an exchanger with NXDOMAIN or no address | skipped (listed in [`Route::unresolved`]) | RFC 5321 §5.1 |
//! | no exchanger has an address | permanent [`RouteError::NoAddresses`], or temporary [`RouteError::AddressesUnavailable`] if a lookup failed temporarily | RFC 5321 §5.1 |
//! | SERVFAIL, REFUSED, other error codes | the next name server at once ([`Options::servers`]); all failing: temporary [`RouteError::ServerFailure`] (4.4.3) | RFC 1035 §4.1.1, RFC 1034 §5.3.3 |
//! | referral or lame answer: NOERROR, no answer, no SOA in the authority section | the next name server; all failing: temporary [`RouteError::LameAnswer`], never NODATA (no implicit MX) | RFC 2308 §2.2 |
//! | no answer | the next name server after the per-try timeout, doubling each round over them ([`Options::attempts`] rounds), then temporary [`RouteError::Timeout`] | RFC 1035 §4.2.1 |
//! | TC bit | the same question again over TCP; no TCP answer is temporary [`RouteError::Truncated`] | RFC 7766 |
//! | negative answers in a cache | kept for min(SOA TTL, SOA MINIMUM), only with an SOA | RFC 2308 §3, §5 |
//! | UTF-8 domain | converted to A-labels (UTS #46), checked against DNS length limits | RFC 5890, RFC 1035 §2.3.4 |
//! | `[192.0.2.1]`, `[IPv6:2001:db8::1]` | that address, no DNS | RFC 5321 §4.1.3 |
//!
//! A response is used only if its id, QR bit, opcode and question (name compared
//! case-insensitively, type, class) match a query in flight; anything else is ignored, so
//! a spoofed or stray datagram cannot end a lookup (RFC 5452).
//!
//! # Randomness
//!
//! The lookup takes a caller-seeded [`Rng`] for the order of equal preferences and for its
//! internal query ids, so a test can reproduce a route. Ids that go on the wire must not be
//! guessable (RFC 5452 section 9.2): the tokio driver replaces every transmission's id
//! with one from the operating system's CSPRNG and sends it from a fresh UDP port, and a
//! sans-IO caller doing its own I/O should do the same, or seed the lookup with
//! [`Rng::from_os_entropy`]. No default uses a fixed seed ([`Rng::default`] draws one from
//! the operating system).
//!
//! Not implemented: DNSSEC validation, MTA-STS and DANE (see [`policy`] for where they
//! fit), `MX` exchangers given as address literals (invalid per RFC 5321 §5.1).
//!
//! # Sans-IO use
//!
//! ```
//! use postwerk_mx::{Lookup, Options, Rng, Transport};
//! use std::time::Instant;
//!
//! # fn send_and_receive(_: &[u8], _: Transport) -> Option<Vec<u8>> { None }
//! let mut options = Options::default();
//! options.local_hosts.push("mx.example.net".into());
//! // Seeded from the OS; `Rng::new(seed)` reproduces a route in tests.
//! let mut lookup = Lookup::new("example.org", options, Rng::default(), Instant::now());
//! while !lookup.is_finished() {
//!     while let Some(query) = lookup.poll_query() {
//!         // Send `query.bytes` over `query.transport` to a name server, and feed back
//!         // what comes (a real driver waits on its sockets until `poll_timeout()`).
//!         if let Some(answer) = send_and_receive(&query.bytes, query.transport) {
//!             lookup.handle_response(&answer, Instant::now());
//!         }
//!     }
//!     if let Some(deadline) = lookup.poll_timeout() {
//!         // Here a driver sleeps until `deadline` or until a datagram arrives.
//!         lookup.handle_timeout(deadline);
//!     }
//! }
//! match lookup.result().unwrap() {
//!     Ok(route) => {
//!         for (host, address) in route.addresses() {
//!             println!("try {} at {address}", host.name);
//!         }
//!     }
//!     Err(e) if e.is_temporary() => println!("retry later: {e}"),
//!     Err(e) => println!("bounce with {} {}: {e}", e.smtp_code(), e.enhanced_status()),
//! }
//! ```
//!
//! # With tokio (feature `tokio`)
//!
//! ```no_run
//! # #[cfg(feature = "tokio")]
//! # async fn example() -> std::io::Result<()> {
//! use postwerk_mx::Options;
//! use postwerk_mx::resolver::Resolver;
//!
//! let resolver = Resolver::from_system_conf(Options::default())?; // /etc/resolv.conf
//! match resolver.resolve_mx("example.org").await {
//!     Ok(route) => println!("{:?}", route.hosts),
//!     Err(e) => println!("{e} (permanent: {})", e.is_permanent()),
//! }
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod lookup;
mod options;
pub mod policy;
mod query;
mod response;
mod rng;
mod route;
mod target;

#[cfg(feature = "tokio")]
pub mod resolver;

pub use error::{DomainProblem, EnhancedStatus, RouteError};
pub use lookup::{Handled, Lookup};
pub use options::{Families, Options};
pub use query::{Query, RecordKind, Transport};
pub use response::Ignored;
pub use rng::Rng;
pub use route::{Host, Route, Unresolved};
pub use target::Target;
