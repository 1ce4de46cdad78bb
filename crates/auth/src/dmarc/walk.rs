//! The DNS Tree Walk (RFC 9989 section 4.10) and the choice of the Organizational
//! Domain from its records (section 4.10.2).

use super::record::{PolicyRecord, PsdFlag};

/// At most this many names are queried by one walk (RFC 9989 4.10).
pub const MAX_WALK_STEPS: usize = 8;

/// The names a DNS Tree Walk starting at `domain` queries (each prefixed with `_dmarc.`
/// on the wire), in order, at most [`MAX_WALK_STEPS`] (RFC 9989 4.10 steps 3, 4 and 7):
/// the domain itself; then, when it has more than 8 labels, its 7-label suffix, else its
/// parent; then each parent up to the single-label top.
///
/// ```
/// let names = postwerk_auth::dmarc::tree_walk("a.b.c.d.e.f.g.h.i.j.mail.example.com");
/// assert_eq!(names, [
///     "a.b.c.d.e.f.g.h.i.j.mail.example.com",
///     "g.h.i.j.mail.example.com",
///     "h.i.j.mail.example.com",
///     "i.j.mail.example.com",
///     "j.mail.example.com",
///     "mail.example.com",
///     "example.com",
///     "com",
/// ]);
/// ```
pub fn tree_walk(domain: &str) -> Vec<String> {
    let labels: Vec<&str> = domain.split('.').collect();
    let x = labels.len();
    let mut out = vec![domain.to_owned()];
    if x <= 1 {
        return out;
    }
    // Step 4: drop one label, or (x >= 8) drop labels until 7 remain.
    let mut keep = if x < 8 { x - 1 } else { 7 };
    while keep >= 1 {
        out.push(labels[x - keep..].join("."));
        keep -= 1;
    }
    out
}

/// The number of labels of a domain.
pub(crate) fn label_count(domain: &str) -> usize {
    domain.split('.').count()
}

/// The last `n` labels of `domain`.
pub(crate) fn suffix(domain: &str, n: usize) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    let n = n.min(labels.len());
    labels[labels.len() - n..].join(".")
}

/// True when `domain` is `ancestor` or one of its subdomains (case already normalized).
pub(crate) fn is_same_or_subdomain(domain: &str, ancestor: &str) -> bool {
    domain == ancestor
        || (domain.len() > ancestor.len()
            && domain.ends_with(ancestor)
            && domain.as_bytes()[domain.len() - ancestor.len() - 1] == b'.')
}

/// What a completed walk found: the names with exactly one valid DMARC Policy Record,
/// longest first.
#[derive(Debug, Clone)]
pub(crate) struct Walked<'a> {
    pub(crate) start: String,
    pub(crate) records: Vec<(String, Option<&'a PolicyRecord>)>,
}

impl<'a> Walked<'a> {
    /// True when the walk found a record at `name`.
    pub(crate) fn record_at(&self, name: &str) -> Option<Option<&'a PolicyRecord>> {
        self.records
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| *r)
    }

    /// The Organizational Domain (RFC 9989 4.10.2): from the records, longest to
    /// shortest, the first with `psd=n`; else one label below the first `psd=y` record
    /// that is not the starting point's; else the record with the fewest labels; and
    /// without records, the starting domain itself.
    ///
    /// A record that could not be read (`None`) has no `psd` flag.
    pub(crate) fn organizational_domain(&self) -> String {
        for (name, rec) in &self.records {
            let psd = rec.map_or(PsdFlag::Unknown, |r| r.psd);
            if psd == PsdFlag::No {
                return name.clone();
            }
            if psd == PsdFlag::Yes && *name != self.start {
                return suffix(&self.start, label_count(name) + 1);
            }
        }
        match self.records.last() {
            Some((name, _)) => name.clone(),
            None => self.start.clone(),
        }
    }

    /// The `psd=y` record that stopped the walk, if any (not the starting point's).
    pub(crate) fn public_suffix_record(&self) -> Option<(&str, Option<&'a PolicyRecord>)> {
        self.records
            .iter()
            .find(|(n, r)| *n != self.start && r.is_some_and(|r| r.psd == PsdFlag::Yes))
            .map(|(n, r)| (n.as_str(), *r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_walk_every_parent() {
        assert_eq!(
            tree_walk("a.mail.example.com"),
            [
                "a.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        assert_eq!(tree_walk("com"), ["com"]);
        assert_eq!(tree_walk("example.com"), ["example.com", "com"]);
    }

    #[test]
    fn eight_labels_walk_every_parent_in_eight_steps() {
        let d = "a.b.c.d.e.f.example.com";
        assert_eq!(label_count(d), 8);
        let w = tree_walk(d);
        assert_eq!(w.len(), 8);
        assert_eq!(w[1], "b.c.d.e.f.example.com");
        assert_eq!(w[7], "com");
    }

    #[test]
    fn long_names_jump_to_seven_labels() {
        for n in 9..200 {
            let d = vec!["x"; n - 2].join(".") + ".example.com";
            let w = tree_walk(&d);
            assert_eq!(w.len(), MAX_WALK_STEPS, "{n} labels");
            assert_eq!(label_count(&w[1]), 7);
        }
    }

    #[test]
    fn subdomain_test() {
        assert!(is_same_or_subdomain("a.example.com", "example.com"));
        assert!(is_same_or_subdomain("example.com", "example.com"));
        assert!(!is_same_or_subdomain("badexample.com", "example.com"));
        assert!(!is_same_or_subdomain("com", "example.com"));
        assert_eq!(suffix("a.b.c", 2), "b.c");
        assert_eq!(suffix("a.b.c", 9), "a.b.c");
    }
}
