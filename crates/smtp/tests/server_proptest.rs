//! Property tests: command and reply round trips, dot-stuffing identity, and the server
//! machine's split invariance.

mod server_support;

use bytes::BytesMut;
use proptest::prelude::*;

use postwerk_smtp::codec::command::{Command, ParseOptions};
use postwerk_smtp::codec::data::{DotUnstuffer, StuffState, dot_stuff, finish_data};
use postwerk_smtp::codec::params::{Body, MailParameters, Notify, RcptParameters, Ret};
use postwerk_smtp::codec::path::{ForwardPath, Mailbox, ReversePath};
use postwerk_smtp::codec::reply::{EnhancedStatus, Reply, ReplyLimits, parse_reply};
use postwerk_smtp::codec::sasl::Mechanism;
use postwerk_smtp::codec::text::Text;
use server_support::{App, Harness, test_config};

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("[192.0.{a}.{b}]")),
        Just("[IPv6:2001:db8::1]".to_string()),
    ]
}

fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\\.[a-z0-9]{1,5}){0,2}",
        "[ -~]{0,20}",
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox> {
    (local_part(), domain()).prop_filter_map("valid mailbox", |(l, d)| Mailbox::new(&l, &d).ok())
}

fn xtext_value() -> impl Strategy<Value = String> {
    "[ -~]{1,20}"
}

fn mail_params() -> impl Strategy<Value = MailParameters> {
    (
        proptest::option::of(0u64..u64::MAX),
        proptest::option::of(prop_oneof![
            Just(Body::SevenBit),
            Just(Body::EightBitMime),
            Just(Body::BinaryMime)
        ]),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just("<>".to_string()), xtext_value()]),
        proptest::option::of(prop_oneof![Just(Ret::Full), Just(Ret::Hdrs)]),
        proptest::option::of(xtext_value()),
        proptest::collection::vec(
            ("X-[A-Z0-9]{1,6}", proptest::option::of("[!-<>-~]{1,8}")),
            0..3,
        ),
    )
        .prop_map(
            |(size, body, smtputf8, auth, ret, envid, other)| MailParameters {
                size,
                body,
                smtputf8,
                auth: auth.map(Text::from),
                ret,
                envid: envid.map(Text::from),
                other: other
                    .into_iter()
                    .map(|(k, v)| (Text::from(k), v.map(Text::from)))
                    .collect(),
            },
        )
}

fn rcpt_params() -> impl Strategy<Value = RcptParameters> {
    (
        proptest::option::of(prop_oneof![
            Just(Notify::Never),
            (any::<bool>(), any::<bool>(), any::<bool>())
                .prop_filter("one condition", |(a, b, c)| *a || *b || *c)
                .prop_map(|(success, failure, delay)| Notify::On {
                    success,
                    failure,
                    delay
                }),
        ]),
        proptest::option::of(("rfc822|utf-8", xtext_value())),
    )
        .prop_map(|(notify, orcpt)| RcptParameters {
            notify,
            orcpt: orcpt.map(|(t, a)| (Text::from(t), Text::from(a))),
            other: Vec::new(),
        })
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        domain().prop_map(|domain| Command::Ehlo {
            domain: domain.into()
        }),
        domain().prop_map(|domain| Command::Helo {
            domain: domain.into()
        }),
        domain().prop_map(|domain| Command::Lhlo {
            domain: domain.into()
        }),
        (
            prop_oneof![
                Just(ReversePath::Null),
                mailbox().prop_map(ReversePath::Mailbox)
            ],
            mail_params()
        )
            .prop_map(|(from, params)| Command::Mail { from, params }),
        (
            prop_oneof![
                Just(ForwardPath::Postmaster),
                mailbox().prop_map(ForwardPath::Mailbox)
            ],
            rcpt_params()
        )
            .prop_map(|(to, params)| Command::Rcpt { to, params }),
        Just(Command::Data),
        (0u64..10_000_000_000_000_000_000, any::<bool>())
            .prop_map(|(size, last)| Command::Bdat { size, last }),
        Just(Command::Rset),
        Just(Command::Noop),
        Just(Command::Quit),
        Just(Command::StartTls),
        "[!-~][ -~]{0,20}".prop_map(|arg| Command::Vrfy { arg: arg.into() }),
        "[!-~][ -~]{0,20}".prop_map(|arg| Command::Expn { arg: arg.into() }),
        proptest::option::of("[!-~][ -~]{0,10}").prop_map(|topic| Command::Help {
            topic: topic.map(Text::from)
        }),
        (
            prop_oneof![
                Just(Mechanism::Plain),
                Just(Mechanism::Login),
                "[A-Z][A-Z0-9_-]{0,15}".prop_filter_map("other", |s| match Mechanism::parse(&s) {
                    Some(Mechanism::Other(o)) => Some(Mechanism::Other(o)),
                    _ => None,
                }),
            ],
            proptest::option::of(prop_oneof![
                Just("=".to_string()),
                "[A-Za-z0-9+/]{1,40}={0,2}"
            ])
        )
            .prop_map(|(mechanism, initial_response)| Command::Auth {
                mechanism,
                initial_response: initial_response.map(Text::from)
            }),
    ]
}

fn reply() -> impl Strategy<Value = Reply> {
    (
        2u16..=5,
        0u16..=99,
        any::<bool>(),
        0u16..=999,
        0u16..=999,
        proptest::collection::vec("([A-Za-z][ -~]{0,30})?", 1..5),
    )
        .prop_map(|(class, rest, enh, subject, detail, lines)| {
            let code = class * 100 + rest;
            let enhanced = enh.then(|| EnhancedStatus::new(class as u8, subject, detail));
            let enhanced = enhanced.filter(|_| class != 3);
            Reply::multi(code, enhanced, lines)
        })
}

/// Arbitrary bytes with every line end made CRLF.
fn crlf_body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
            1 => Just(b'.'),
            1 => Just(b'\n'),
        ],
        0..400,
    )
    .prop_map(|v| {
        let mut out = Vec::new();
        for b in v {
            if b == b'\n' {
                out.extend_from_slice(b"\r\n");
            } else {
                out.push(b);
            }
        }
        out
    })
}

fn cut_points(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = cuts.iter().map(|x| x % (len + 1)).collect();
    c.push(0);
    c.push(len);
    c.sort_unstable();
    c.dedup();
    c
}

proptest! {
    #[test]
    fn command_round_trip(cmd in command()) {
        let mut out = Vec::new();
        cmd.write_to(&mut out);
        prop_assert!(out.ends_with(b"\r\n"));
        let line = &out[..out.len() - 2];
        let parsed = Command::parse(line, &ParseOptions::default());
        prop_assert_eq!(parsed, Ok(cmd), "line {:?}", String::from_utf8_lossy(line));
    }

    #[test]
    fn reply_round_trip(r in reply(), tail in proptest::collection::vec(any::<u8>(), 0..10)) {
        let mut bytes = r.to_bytes();
        let len = bytes.len();
        bytes.extend_from_slice(&tail);
        let parsed = parse_reply(&bytes, &ReplyLimits::default()).unwrap();
        prop_assert_eq!(parsed, Some((r, len)));
        for cut in 0..len {
            prop_assert_eq!(parse_reply(&bytes[..cut], &ReplyLimits::default()), Ok(None));
        }
    }

    #[test]
    fn dot_stuffed_bodies_arrive_byte_identical(
        body in crlf_body(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut st = StuffState::new(false);
        let mut wire = Vec::new();
        let points = cut_points(body.len(), &cuts);
        for w in points.windows(2) {
            dot_stuff(&body[w[0]..w[1]], &mut st, &mut wire);
        }
        finish_data(&mut st, &mut wire);
        prop_assert!(!st.saw_bare_line_ending());
        wire.extend_from_slice(b"NEXT");
        let mut expected = body.clone();
        if !expected.is_empty() && !expected.ends_with(b"\r\n") {
            expected.extend_from_slice(b"\r\n");
        }
        let mut u = DotUnstuffer::new(usize::MAX, false);
        let mut out = BytesMut::new();
        let mut pos = 0;
        for w in cut_points(wire.len(), &cuts).windows(2) {
            if u.is_done() { break; }
            let p = u.feed(&wire[w[0]..w[1]], &mut out);
            pos = w[0] + p.consumed;
        }
        prop_assert!(u.is_done());
        prop_assert_eq!(&wire[pos..], b"NEXT");
        prop_assert_eq!(out.to_vec(), expected);
        prop_assert!(!u.saw_bare_cr() && !u.saw_bare_lf());
    }

    #[test]
    fn server_output_does_not_depend_on_input_splits(
        picks in proptest::collection::vec(0usize..16, 1..30),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let pool: [&[u8]; 16] = [
            b"EHLO c.example\r\n", b"HELO c.example\r\n", b"MAIL FROM:<a@c.example>\r\n",
            b"RCPT TO:<b@mx.test>\r\n", b"DATA\r\n", b"line\r\n..dot\r\n.\r\n",
            b"RSET\r\n", b"NOOP\r\n", b"BDAT 4\r\nabcd", b"BDAT 2 LAST\r\nxy",
            b"MAIL FROM:<>>\r\n", b"bare\nline\r\n", b"VRFY x\r\n", b"\r\n.\r\n",
            b"AUTH PLAIN AGEAYg==\r\n", b"RCPT TO:<c@mx.test> NOTIFY=NEVER\r\n",
        ];
        let input: Vec<u8> = picks.iter().flat_map(|&i| pool[i].iter().copied()).collect();
        let run = |points: &[usize]| {
            let mut h = Harness::new(test_config(), App::default());
            for w in points.windows(2) {
                h.feed(&input[w[0]..w[1]]);
            }
            (h.out, h.events, h.body)
        };
        let whole = run(&[0, input.len()]);
        let split = run(&cut_points(input.len(), &cuts));
        prop_assert_eq!(whole, split);
    }
}
