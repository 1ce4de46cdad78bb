//! The address examples of RFC 5322 Appendix A, field by field, with the exact display
//! names, local parts and domains they must give.

use postwerk_message::{Address, Mailbox, parse_address_list, parse_mailbox};

/// (display name, local part, domain) of a mailbox.
fn parts<'m>(m: &'m Mailbox<'_>) -> (Option<&'m str>, &'m str, &'m str) {
    (
        m.display_name(),
        m.addr_spec().local_part(),
        m.addr_spec().domain(),
    )
}

fn mailboxes(value: &str) -> Vec<(Option<String>, String, String)> {
    parse_address_list(value.as_bytes())
        .unwrap()
        .iter()
        .map(|a| {
            let m = a.as_mailbox().expect("a mailbox");
            let (n, l, d) = parts(m);
            (n.map(str::to_string), l.to_string(), d.to_string())
        })
        .collect()
}

fn triple(n: Option<&str>, l: &str, d: &str) -> (Option<String>, String, String) {
    (n.map(str::to_string), l.to_string(), d.to_string())
}

#[test]
fn a_1_1_simple_addressing() {
    assert_eq!(
        parts(&parse_mailbox(b"John Doe <jdoe@machine.example>").unwrap()),
        (Some("John Doe"), "jdoe", "machine.example")
    );
    assert_eq!(
        parts(&parse_mailbox(b" Mary Smith <mary@example.net>").unwrap()),
        (Some("Mary Smith"), "mary", "example.net")
    );
    assert_eq!(
        parts(&parse_mailbox(b" Michael Jones <mjones@machine.example>").unwrap()),
        (Some("Michael Jones"), "mjones", "machine.example")
    );
}

#[test]
fn a_1_2_different_types_of_mailboxes() {
    assert_eq!(
        mailboxes(" \"Joe Q. Public\" <john.q.public@example.com>"),
        [triple(
            Some("Joe Q. Public"),
            "john.q.public",
            "example.com"
        )]
    );
    assert_eq!(
        mailboxes(" Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>"),
        [
            triple(Some("Mary Smith"), "mary", "x.test"),
            triple(None, "jdoe", "example.org"),
            triple(Some("Who?"), "one", "y.test"),
        ]
    );
    assert_eq!(
        mailboxes(" <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>"),
        [
            triple(None, "boss", "nil.test"),
            triple(Some("Giant; \"Big\" Box"), "sysservices", "example.net"),
        ]
    );
}

#[test]
fn a_1_3_group_addresses() {
    let to =
        parse_address_list(b" A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
            .unwrap();
    assert_eq!(to.len(), 1);
    let Address::Group(g) = &to[0] else {
        panic!("a group")
    };
    assert_eq!(g.display_name(), "A Group");
    let members: Vec<_> = g.mailboxes().iter().map(parts).collect();
    assert_eq!(
        members,
        [
            (Some("Ed Jones"), "c", "a.test"),
            (None, "joe", "where.test"),
            (Some("John"), "jdoe", "one.test"),
        ]
    );
    let cc = parse_address_list(b" Undisclosed recipients:;").unwrap();
    let Address::Group(g) = &cc[0] else {
        panic!("a group")
    };
    assert_eq!(g.display_name(), "Undisclosed recipients");
    assert!(g.mailboxes().is_empty());
}

#[test]
fn a_2_reply_to_with_colon_in_quoted_name() {
    assert_eq!(
        parts(&parse_mailbox(b" \"Mary Smith: Personal Account\" <smith@home.example>").unwrap()),
        (
            Some("Mary Smith: Personal Account"),
            "smith",
            "home.example"
        )
    );
}

#[test]
fn a_3_resent_addresses() {
    assert_eq!(
        mailboxes(" Jane Brown <j-brown@other.example>"),
        [triple(Some("Jane Brown"), "j-brown", "other.example")]
    );
}

#[test]
fn a_5_white_space_comments_and_other_oddities() {
    let from =
        parse_mailbox(b"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>").unwrap();
    assert_eq!(parts(&from), (Some("Pete"), "pete", "silly.test"));

    let to = parse_address_list(
        b"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
    )
    .unwrap();
    assert_eq!(to.len(), 1);
    let Address::Group(g) = &to[0] else {
        panic!("a group")
    };
    assert_eq!(g.display_name(), "A Group");
    let members: Vec<_> = g.mailboxes().iter().map(parts).collect();
    assert_eq!(
        members,
        [
            (Some("Chris Jones"), "c", "public.example"),
            (None, "joe", "example.org"),
            (Some("John"), "jdoe", "one.test"),
        ]
    );

    let cc = parse_address_list(b"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;")
        .unwrap();
    let Address::Group(g) = &cc[0] else {
        panic!("a group")
    };
    assert_eq!(g.display_name(), "Hidden recipients");
    assert!(g.mailboxes().is_empty());
}

#[test]
fn a_6_1_obsolete_addressing() {
    let from = parse_mailbox(b" Joe Q. Public <john.q.public@example.com>").unwrap();
    assert_eq!(
        parts(&from),
        (Some("Joe Q. Public"), "john.q.public", "example.com")
    );
    let to =
        parse_address_list(b" Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example")
            .unwrap();
    assert_eq!(to.len(), 2);
    let mary = to[0].as_mailbox().unwrap();
    assert_eq!(parts(mary), (Some("Mary Smith"), "mary", "example.net"));
    assert_eq!(mary.route(), ["node.test"]);
    let jdoe = to[1].as_mailbox().unwrap();
    assert_eq!(parts(jdoe), (None, "jdoe", "test.example"));
}

#[test]
fn a_6_3_obsolete_white_space_and_comments() {
    let from = parse_mailbox(b" John Doe <jdoe@machine(comment).  example>").unwrap();
    assert_eq!(parts(&from), (Some("John Doe"), "jdoe", "machine.example"));
    let to = parse_mailbox(b" Mary Smith\r\n  \r\n <mary@example.net>").unwrap();
    assert_eq!(parts(&to), (Some("Mary Smith"), "mary", "example.net"));
}

#[test]
fn section_3_4_1_local_part_forms() {
    for (input, local) in [
        ("\"john doe\"@example.com", "john doe"),
        ("john . doe@example.com", "john.doe"),
        ("john(c).doe@example.com", "john.doe"),
        ("\"john\".\"doe\"@example.com", "john.doe"),
        ("\"a\\\\b\"@example.com", "a\\b"),
        ("user+tag@example.com", "user+tag"),
        ("用户@例子.广告", "用户"),
    ] {
        let a = postwerk_message::parse_addr_spec(input.as_bytes()).unwrap();
        assert_eq!(a.local_part(), local, "{input}");
    }
}

#[test]
fn canonical_display() {
    for (input, canonical) in [
        (
            "John Doe <jdoe@machine.example>",
            "John Doe <jdoe@machine.example>",
        ),
        (
            "\"Joe Q. Public\" <john.q.public@example.com>",
            "\"Joe Q. Public\" <john.q.public@example.com>",
        ),
        (
            "Joe Q. Public <john.q.public@example.com>",
            "\"Joe Q. Public\" <john.q.public@example.com>",
        ),
        ("<boss@nil.test>", "boss@nil.test"),
        (
            "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
            "Pete <pete@silly.test>",
        ),
        (
            "Mary Smith <@node.test:mary@example.net>",
            "Mary Smith <mary@example.net>",
        ),
        ("\"john doe\"@example.com", "\"john doe\"@example.com"),
        ("x <\"a.b\"@[ 192.0.2.1 ]>", "x <a.b@[192.0.2.1]>"),
    ] {
        let m = parse_mailbox(input.as_bytes()).unwrap();
        assert_eq!(m.to_string(), canonical, "{input}");
        assert_eq!(parse_mailbox(canonical.as_bytes()).unwrap(), m);
    }
}
