//! Properties over arbitrary MX sets: the order respects preference, the result is a
//! permutation of the reachable addresses, and a seed reproduces the route.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use common::*;
use postwerk_mx::{Families, Options};
use proptest::prelude::*;

/// A host: preference, IPv4 addresses (last octets), whether it has an A record at all,
/// whether its addresses come in the additional section.
fn hosts() -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
    prop::collection::vec((0u16..4, prop::collection::vec(1u8..=254, 0..4)), 1..10)
}

proptest! {
    #[test]
    fn order_respects_preference_and_keeps_every_address(
        hosts in hosts(),
        seed in any::<u64>(),
        additional in any::<bool>(),
    ) {
        let mut records = Vec::new();
        let mut expected = BTreeSet::new();
        for (i, (pref, octets)) in hosts.iter().enumerate() {
            let host = format!("h{i}.prop.test");
            records.push(mx("prop.test", *pref, &host));
            for o in octets {
                let ip = format!("10.0.{i}.{o}");
                records.push(a(&host, &ip));
                expected.insert((host.clone(), ip.parse::<IpAddr>().unwrap()));
            }
        }
        let mut options = Options::default();
        options.families = Families::Ipv4Only;
        options.max_hosts = 100;
        options.max_addresses_per_host = 100;
        let mut zone = Zone::new(records.clone());
        zone.additional = additional;
        let result = resolve(&mut zone, "prop.test", options.clone(), seed);
        if expected.is_empty() {
            prop_assert!(result.unwrap_err().is_permanent());
            return Ok(());
        }
        let route = result.unwrap();
        let prefs: Vec<u16> = route.hosts.iter().map(|h| h.preference).collect();
        prop_assert!(prefs.windows(2).all(|w| w[0] <= w[1]), "{prefs:?}");
        let got: Vec<(String, IpAddr)> =
            route.addresses().map(|(h, a)| (h.name.clone(), a)).collect();
        let got_set: BTreeSet<_> = got.iter().cloned().collect();
        prop_assert_eq!(got.len(), got_set.len(), "no duplicates");
        prop_assert_eq!(got_set, expected);
        // Every host's preference is the one from its MX record.
        for h in &route.hosts {
            let i: usize = h.name[1..h.name.find('.').unwrap()].parse().unwrap();
            prop_assert_eq!(h.preference, hosts[i].0);
        }
        // Same seed, same answers: same route.
        let mut zone = Zone::new(records);
        zone.additional = additional;
        prop_assert_eq!(resolve(&mut zone, "prop.test", options, seed).unwrap(), route);
    }

    #[test]
    fn reshuffle_keeps_preference_order(hosts in hosts(), seed in any::<u64>()) {
        let mut records = Vec::new();
        for (i, (pref, _)) in hosts.iter().enumerate() {
            let host = format!("h{i}.prop.test");
            records.push(mx("prop.test", *pref, &host));
            records.push(a(&host, "192.0.2.1"));
        }
        let mut zone = Zone::new(records);
        let mut route = resolve(&mut zone, "prop.test", Options::default(), seed).unwrap();
        let before: BTreeSet<String> = route.hosts.iter().map(|h| h.name.clone()).collect();
        route.reshuffle(&mut postwerk_mx::Rng::new(seed ^ 1));
        let prefs: Vec<u16> = route.hosts.iter().map(|h| h.preference).collect();
        prop_assert!(prefs.windows(2).all(|w| w[0] <= w[1]));
        let after: BTreeSet<String> = route.hosts.iter().map(|h| h.name.clone()).collect();
        prop_assert_eq!(before, after);
    }
}
