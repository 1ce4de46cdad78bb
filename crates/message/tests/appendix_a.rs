//! Every example message of RFC 5322 Appendix A, parsed with `Message::parse`.

use postwerk_message::{Address, DateTime, Message};

/// Each address as `Name <local@domain>`, `local@domain`, or `Group: a, b;`.
fn flat(list: &[Address<'_>]) -> Vec<String> {
    fn mb(m: &postwerk_message::Mailbox<'_>) -> String {
        match m.display_name() {
            Some(n) => format!("{n} <{}>", m.addr_spec()),
            None => m.addr_spec().to_string(),
        }
    }
    list.iter()
        .map(|a| match a {
            Address::Mailbox(m) => mb(m),
            Address::Group(g) => {
                let members: Vec<String> = g.mailboxes().iter().map(mb).collect();
                format!("{}: {};", g.display_name(), members.join(", "))
            }
        })
        .collect()
}

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn date(s: &str) -> DateTime {
    DateTime::parse(s.as_bytes()).unwrap()
}

#[test]
fn a_1_1_simple_addressing() {
    let raw = crlf(
        "From: John Doe <jdoe@machine.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.machine.example>

This is a message just to say hello.
So, \"Hello\".
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.headers().len(), 5);
    assert_eq!(
        flat(&m.from().unwrap()),
        ["John Doe <jdoe@machine.example>"]
    );
    assert_eq!(flat(&m.to().unwrap()), ["Mary Smith <mary@example.net>"]);
    assert_eq!(m.subject().unwrap(), "Saying Hello");
    let d = m.date().unwrap().unwrap();
    assert_eq!(d, date("Fri, 21 Nov 1997 09:55:06 -0600"));
    assert_eq!(
        (
            d.year,
            d.month,
            d.day,
            d.hour,
            d.minute,
            d.second,
            d.offset_minutes
        ),
        (1997, 11, 21, 9, 55, 6, -360)
    );
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "1234@local.machine.example"
    );
    assert_eq!(
        m.body(),
        b"This is a message just to say hello.\r\nSo, \"Hello\".\r\n"
    );
    assert!(m.sender().unwrap().is_empty());
}

#[test]
fn a_1_1_with_sender() {
    let raw = crlf(
        "From: John Doe <jdoe@machine.example>
Sender: Michael Jones <mjones@machine.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.machine.example>

This is a message just to say hello.
So, \"Hello\".
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(
        flat(&m.sender().unwrap()),
        ["Michael Jones <mjones@machine.example>"]
    );
    assert_eq!(
        flat(&m.from().unwrap()),
        ["John Doe <jdoe@machine.example>"]
    );
    assert_eq!(m.headers()[1].name(), "Sender");
}

#[test]
fn a_1_2_different_types_of_mailboxes() {
    let raw = crlf(
        "From: \"Joe Q. Public\" <john.q.public@example.com>
To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>
Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <5678.21-Nov-1997@example.com>

Hi everyone.
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(
        flat(&m.from().unwrap()),
        ["Joe Q. Public <john.q.public@example.com>"]
    );
    assert_eq!(
        flat(&m.to().unwrap()),
        [
            "Mary Smith <mary@x.test>",
            "jdoe@example.org",
            "Who? <one@y.test>"
        ]
    );
    assert_eq!(
        flat(&m.cc().unwrap()),
        [
            "boss@nil.test",
            "Giant; \"Big\" Box <sysservices@example.net>"
        ]
    );
    assert_eq!(
        m.date().unwrap().unwrap(),
        date("Tue, 1 Jul 2003 10:52:37 +0200")
    );
    let id = m.message_id().unwrap().unwrap();
    assert_eq!((id.left(), id.right()), ("5678.21-Nov-1997", "example.com"));
    assert!(m.subject().is_none());
}

#[test]
fn a_1_3_group_addresses() {
    let raw = crlf(
        "From: Pete <pete@silly.example>
To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;
Cc: Undisclosed recipients:;
Date: Thu, 13 Feb 1969 23:32:54 -0330
Message-ID: <testabcd.1234@silly.example>

Testing.
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(
        flat(&m.to().unwrap()),
        ["A Group: Ed Jones <c@a.test>, joe@where.test, John <jdoe@one.test>;"]
    );
    assert_eq!(flat(&m.cc().unwrap()), ["Undisclosed recipients: ;"]);
    let d = m.date().unwrap().unwrap();
    assert_eq!((d.year, d.offset_minutes), (1969, -210));
    assert_eq!(d.to_unix(), -27_723_426);
    assert_eq!(m.body(), b"Testing.\r\n");
}

const A2_FIRST: &str = "From: John Doe <jdoe@machine.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.machine.example>

This is a message just to say hello.
So, \"Hello\".
";

#[test]
fn a_2_reply_messages() {
    let first = crlf(A2_FIRST);
    let m1 = Message::parse(&first).unwrap();
    assert!(m1.in_reply_to().unwrap().is_empty());
    assert!(m1.references().unwrap().is_empty());

    let reply = crlf(
        "From: Mary Smith <mary@example.net>
To: John Doe <jdoe@machine.example>
Reply-To: \"Mary Smith: Personal Account\" <smith@home.example>
Subject: Re: Saying Hello
Date: Fri, 21 Nov 1997 10:01:10 -0600
Message-ID: <3456@example.net>
In-Reply-To: <1234@local.machine.example>
References: <1234@local.machine.example>

This is a reply to your hello.
",
    );
    let m2 = Message::parse(&reply).unwrap();
    assert_eq!(
        flat(&m2.reply_to().unwrap()),
        ["Mary Smith: Personal Account <smith@home.example>"]
    );
    assert_eq!(m2.subject().unwrap(), "Re: Saying Hello");
    let first_id = m1.message_id().unwrap().unwrap();
    assert_eq!(m2.in_reply_to().unwrap(), std::slice::from_ref(&first_id));
    assert_eq!(m2.references().unwrap(), std::slice::from_ref(&first_id));

    let reply2 = crlf(
        "To: \"Mary Smith: Personal Account\" <smith@home.example>
From: John Doe <jdoe@machine.example>
Subject: Re: Saying Hello
Date: Fri, 21 Nov 1997 11:00:00 -0600
Message-ID: <abcd.1234@local.machine.test>
In-Reply-To: <3456@example.net>
References: <1234@local.machine.example> <3456@example.net>

This is a reply to your reply.
",
    );
    let m3 = Message::parse(&reply2).unwrap();
    let second_id = m2.message_id().unwrap().unwrap();
    assert_eq!(m3.in_reply_to().unwrap(), std::slice::from_ref(&second_id));
    assert_eq!(m3.references().unwrap(), [first_id, second_id]);
    assert_eq!(
        flat(&m3.to().unwrap()),
        ["Mary Smith: Personal Account <smith@home.example>"]
    );
    let d = m3.date().unwrap().unwrap();
    assert_eq!((d.hour, d.minute, d.second), (11, 0, 0));
}

#[test]
fn a_3_resent_messages() {
    let raw = crlf(
        "Resent-From: Mary Smith <mary@example.net>
Resent-To: Jane Brown <j-brown@other.example>
Resent-Date: Mon, 24 Nov 1997 14:22:01 -0800
Resent-Message-ID: <78910@example.net>
From: John Doe <jdoe@machine.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.machine.example>

This is a message just to say hello.
So, \"Hello\".
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.headers().len(), 9);
    let resent_from = m.header("resent-from").unwrap();
    let list = postwerk_message::parse_address_list(resent_from.raw_value()).unwrap();
    assert_eq!(flat(&list), ["Mary Smith <mary@example.net>"]);
    let rd = DateTime::parse(m.header("Resent-Date").unwrap().raw_value()).unwrap();
    assert_eq!((rd.day, rd.offset_minutes), (24, -480));
    let rid =
        postwerk_message::MessageId::parse(m.header("resent-message-id").unwrap().raw_value())
            .unwrap();
    assert_eq!(rid.as_str(), "78910@example.net");
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "1234@local.machine.example"
    );
    assert_eq!(m.date().unwrap().unwrap().day, 21);
}

#[test]
fn a_4_trace_fields() {
    let raw = crlf(
        "Received: from x.y.test
   by example.net
   via TCP
   with ESMTP
   id ABC12345
   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600
Received: from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600
From: John Doe <jdoe@node.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: Fri, 21 Nov 1997 09:55:06 -0600
Message-ID: <1234@local.node.example>

This is a message just to say hello.
So, \"Hello\".
",
    );
    let m = Message::parse(&raw).unwrap();
    let r: Vec<_> = m.received().collect();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].from(), Some("x.y.test"));
    assert_eq!(r[0].by(), Some("example.net"));
    assert_eq!(r[0].via(), Some("TCP"));
    assert_eq!(r[0].with(), Some("ESMTP"));
    assert_eq!(r[0].id(), Some("ABC12345"));
    assert_eq!(r[0].for_path(), Some("<mary@example.net>"));
    let d0 = r[0].date().unwrap().as_ref().unwrap();
    assert_eq!(
        (d0.hour, d0.minute, d0.second, d0.weekday),
        (10, 5, 43, None)
    );
    assert_eq!(r[1].from(), Some("node.example"));
    assert_eq!(r[1].by(), Some("x.y.test"));
    assert_eq!(r[1].date().unwrap().as_ref().unwrap().minute, 1);
    assert_eq!(flat(&m.from().unwrap()), ["John Doe <jdoe@node.example>"]);
}

#[test]
fn a_5_white_space_comments_and_oddities() {
    let raw = crlf(
        "From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>
To:A Group(Some people)
     :Chris Jones <c@(Chris's host.)public.example>,
         joe@example.org,
  John <jdoe@one.test> (my dear friend); (the end of the group)
Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;
Date: Thu,
      13
        Feb
          1969
      23:32
               -0330 (Newfoundland Time)
Message-ID:              <testabcd.1234@silly.test>

Testing.
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(flat(&m.from().unwrap()), ["Pete <pete@silly.test>"]);
    assert_eq!(
        flat(&m.to().unwrap()),
        ["A Group: Chris Jones <c@public.example>, joe@example.org, John <jdoe@one.test>;"]
    );
    assert_eq!(flat(&m.cc().unwrap()), ["Hidden recipients: ;"]);
    let d = m.date().unwrap().unwrap();
    assert_eq!(d, date("Thu, 13 Feb 1969 23:32:00 -0330"));
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "testabcd.1234@silly.test"
    );
    assert!(
        m.header("to")
            .unwrap()
            .raw_value()
            .starts_with(b"A Group(Some people)\r\n     :Chris")
    );
    assert!(
        m.header("to")
            .unwrap()
            .unfolded()
            .starts_with("A Group(Some people)     :Chris")
    );
}

#[test]
fn a_6_1_obsolete_addressing() {
    let raw = crlf(
        "From: Joe Q. Public <john.q.public@example.com>
To: Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <5678.21-Nov-1997@example.com>

Hi everyone.
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(
        flat(&m.from().unwrap()),
        ["Joe Q. Public <john.q.public@example.com>"]
    );
    assert_eq!(
        flat(&m.to().unwrap()),
        ["Mary Smith <mary@example.net>", "jdoe@test.example"]
    );
    assert_eq!(m.date().unwrap().unwrap().year, 2003);
}

#[test]
fn a_6_2_obsolete_dates() {
    let raw = crlf(
        "From: John Doe <jdoe@machine.example>
To: Mary Smith <mary@example.net>
Subject: Saying Hello
Date: 21 Nov 97 09:55:06 GMT
Message-ID: <1234@local.machine.example>

This is a message just to say hello.
So, \"Hello\".
",
    );
    let m = Message::parse(&raw).unwrap();
    let d = m.date().unwrap().unwrap();
    assert_eq!(
        (
            d.year,
            d.month,
            d.day,
            d.hour,
            d.minute,
            d.second,
            d.offset_minutes,
            d.weekday
        ),
        (1997, 11, 21, 9, 55, 6, 0, None)
    );
    assert_eq!(d.to_string(), "Fri, 21 Nov 1997 09:55:06 +0000");
}

#[test]
fn a_6_3_obsolete_white_space_and_comments() {
    let raw = crlf(
        "From  : John Doe <jdoe@machine(comment).  example>
To    : Mary Smith
  
          <mary@example.net>
Subject     : Saying Hello
Date        : Fri, 21
                 Nov 1997
                 09(comment):   55  :  06 -0600
Message-ID  : <1234   @   local(blah)  .machine .example>

This is a message just to say hello.
So, \"Hello\".
",
    );
    let m = Message::parse(&raw).unwrap();
    assert_eq!(m.headers().len(), 5);
    assert_eq!(m.headers()[0].name(), "From");
    assert_eq!(
        flat(&m.from().unwrap()),
        ["John Doe <jdoe@machine.example>"]
    );
    assert_eq!(flat(&m.to().unwrap()), ["Mary Smith <mary@example.net>"]);
    assert_eq!(m.subject().unwrap(), "Saying Hello");
    assert_eq!(
        m.date().unwrap().unwrap(),
        date("Fri, 21 Nov 1997 09:55:06 -0600")
    );
    assert_eq!(
        m.message_id().unwrap().unwrap().as_str(),
        "1234@local.machine.example"
    );
    assert_eq!(
        m.body(),
        b"This is a message just to say hello.\r\nSo, \"Hello\".\r\n"
    );
}
