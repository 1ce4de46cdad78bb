//! Property tests: any address built through the public constructors displays as RFC 5322
//! text that parses back to an equal value.

use std::borrow::Cow;

use postwerk_message::{
    AddrSpec, Address, Group, Mailbox, parse_addr_spec, parse_address_list, parse_mailbox,
};
use proptest::prelude::*;

fn atext_word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,8}"
}

fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(atext_word(), 1..4).prop_map(|w| w.join(".")),
        // Anything a quoted string can carry: all of Unicode but NUL, CR and LF.
        "[^\\x00\\r\\n]{0,12}",
        "[ a-z.\"\\\\()<>@,;:\\[\\]]{0,10}",
        "[a-zé日]{1,5}",
    ]
}

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 1..4).prop_map(|l| l.join(".")),
        prop::collection::vec("[a-zé例子]{1,5}", 1..3).prop_map(|l| l.join(".")),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("[{a}.{b}.{c}.{d}]")),
        prop::collection::vec("[0-9a-f]{1,4}", 8).prop_map(|g| format!("[IPv6:{}]", g.join(":"))),
        "[a-zA-Z0-9.:-]{1,6}( [a-zA-Z0-9.:-]{1,6}){0,2}".prop_map(|s| format!("[{s}]")),
    ]
}

fn addr_spec() -> impl Strategy<Value = AddrSpec<'static>> {
    (local_part(), domain()).prop_map(|(l, d)| AddrSpec::new(l, d).expect("valid parts"))
}

fn display_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(atext_word(), 1..4).prop_map(|w| w.join(" ")),
        "[ -~\\t]{0,16}",
        any::<String>(),
        "(=\\?[a-z-]{1,6}\\?[bqBQ]\\?[a-zA-Z0-9=_]{0,6}\\?= ?){1,3}",
    ]
}

fn mailbox() -> impl Strategy<Value = Mailbox<'static>> {
    (prop::option::of(display_name()), addr_spec())
        .prop_map(|(n, a)| Mailbox::new(n.map(Cow::Owned), a))
}

fn address() -> impl Strategy<Value = Address<'static>> {
    prop_oneof![
        3 => mailbox().prop_map(Address::Mailbox),
        1 => (display_name(), prop::collection::vec(mailbox(), 0..4))
            .prop_map(|(n, m)| Address::Group(Group::new(n, m))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn addr_spec_round_trips(a in addr_spec()) {
        let text = a.to_string();
        let back = parse_addr_spec(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&back, &a, "{:?}", text);
        prop_assert_eq!(back.is_dot_atom_local(), !text.starts_with('"'));
    }

    #[test]
    fn mailbox_round_trips(m in mailbox()) {
        let text = m.to_string();
        let back = parse_mailbox(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(back, m, "{:?}", text);
    }

    #[test]
    fn address_list_round_trips(list in prop::collection::vec(address(), 1..6)) {
        let text = list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let back = parse_address_list(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(back, list, "{:?}", text);
    }

    #[test]
    fn display_is_a_fixed_point(input in "([a-z]{1,3}|[@.<>\" (),:;\\\\\\[\\]]|=\\?utf-8\\?q\\?[a-z=_]{0,4}\\?=|\r\n ){0,16}") {
        // Whatever parses, its canonical form parses to the same value and displays the same.
        if let Ok(list) = parse_address_list(input.as_bytes()) {
            let text = list.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let back = parse_address_list(text.as_bytes()).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            prop_assert_eq!(&back, &list);
            let again = back.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            prop_assert_eq!(again, text);
        }
    }

    #[test]
    fn no_panic_on_any_bytes(input in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_address_list(&input);
        let _ = parse_mailbox(&input);
        let _ = parse_addr_spec(&input);
        let _ = postwerk_message::diagnose(&input);
    }
}
