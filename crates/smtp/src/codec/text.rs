//! Text of a command line: [`TextRef`] borrowed from the line, [`Text`] its owned form.
//!
//! The parser runs one `std::str::from_utf8` per command line, over what it hands out: the
//! EHLO/HELO/LHLO argument, the AUTH argument, the VRFY/EXPN/HELP text, the mailbox of
//! MAIL and RCPT (`local@domain` is one slice of the line; the parameter text after it is
//! checked to be ASCII, and a parameter value kept as text is validated when taken). Every
//! text field is then a `&str` slice: [`TextRef::as_str`] costs nothing. [`Text`] keeps
//! what the server's events carry (a host name, a mailbox, a parameter value) without a
//! heap allocation when it is at most [`Text::INLINE_CAPACITY`] octets long, which covers
//! nearly every real address and host name.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use arrayvec::ArrayString;

/// Text borrowed from a parsed command line (a domain, a local part, a parameter value,
/// free text), checked to be UTF-8: a `&str`, so [`TextRef::as_str`] and
/// [`TextRef::as_bytes`] are free.
///
/// ```
/// use postwerk_smtp::codec::command::{Command, ParseOptions};
/// use postwerk_smtp::codec::command_ref::CommandRef;
/// let cmd = Command::parse_ref(b"EHLO client.example", &ParseOptions::default()).unwrap();
/// let CommandRef::Ehlo { domain } = cmd else { unreachable!() };
/// assert_eq!(domain.as_bytes(), b"client.example");
/// assert_eq!(domain.as_str(), "client.example");
/// assert_eq!(domain, "client.example");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TextRef<'a>(&'a str);

impl<'a> TextRef<'a> {
    /// The bytes, as on the wire.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }

    /// The text as `&str` (no validation: it was checked once, with the line).
    #[inline]
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Length in octets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when every octet is ASCII.
    #[inline]
    pub fn is_ascii(&self) -> bool {
        is_ascii(self.0.as_bytes())
    }

    /// The owned [`Text`] (inline up to [`Text::INLINE_CAPACITY`] octets, no allocation).
    #[inline(always)]
    pub fn to_text(&self) -> Text {
        Text::from(self.0)
    }
}

impl fmt::Debug for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for TextRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for TextRef<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for TextRef<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'a> From<&'a str> for TextRef<'a> {
    fn from(s: &'a str) -> TextRef<'a> {
        TextRef(s)
    }
}

/// True when every octet of `s` is ASCII: eight octets at a time and inlined (the
/// standard library's check is a call, which costs more than the check on the short
/// texts of a command line).
#[inline(always)]
pub(crate) fn is_ascii(s: &[u8]) -> bool {
    let (words, rest) = s.as_chunks::<8>();
    let high = words.iter().fold(0, |acc, w| acc | u64::from_ne_bytes(*w)) & 0x8080_8080_8080_8080;
    high == 0 && rest.iter().all(|&b| b < 0x80)
}

/// The input a parser reads, with its `&str` form when all of it is UTF-8 (validated once,
/// with [`Src::new`]), or without ([`Src::per_part`]). The grammar still checks the UTF-8
/// of every field it accepts, so a line that is not UTF-8 throughout parses exactly as
/// before; its fields are then validated one by one when they are turned into
/// [`TextRef`]s (such lines are rare, and the grammar refuses nearly all of them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Src<'a> {
    text: Option<&'a str>,
}

impl<'a> Src<'a> {
    /// One UTF-8 validation of the whole input.
    #[inline]
    pub(crate) fn new(input: &'a [u8]) -> Src<'a> {
        Src {
            text: std::str::from_utf8(input).ok(),
        }
    }

    /// Input not validated as a whole: each part is validated when it becomes a
    /// [`TextRef`]. For input of which only one or two parts are kept (a MAIL or RCPT
    /// line: its mailbox, as one part), this validates fewer octets than [`Src::new`].
    #[inline]
    pub(crate) fn per_part() -> Src<'a> {
        Src { text: None }
    }

    /// Input that is already a `&str`: nothing to validate.
    #[inline]
    pub(crate) fn of_str(input: &'a str) -> Src<'a> {
        Src { text: Some(input) }
    }

    /// True when the whole input is UTF-8.
    #[inline]
    pub(crate) fn is_utf8(self) -> bool {
        self.text.is_some()
    }

    /// `part` (a slice of the input that the grammar has checked to be UTF-8) as a
    /// [`TextRef`]: a slice of the validated input (a bounds and char-boundary check
    /// only) when `part` lies inside it, else validated on its own.
    #[inline(always)]
    pub(crate) fn text(self, part: &'a [u8]) -> TextRef<'a> {
        if let Some(text) = self.text {
            // `part` lies in the memory of `text` exactly when this range is inside it; the
            // bytes are then the same bytes.
            let off = part.as_ptr().addr().wrapping_sub(text.as_ptr().addr());
            // `split_at_checked` (bounds and char-boundary checks) inlines where
            // `str::get` does not.
            if let Some((s, _)) = text
                .split_at_checked(off)
                .and_then(|(_, rest)| rest.split_at_checked(part.len()))
            {
                return TextRef(s);
            }
        }
        TextRef(std::str::from_utf8(part).unwrap_or_default())
    }
}

/// Owned text, stored inline (no heap allocation) when it is at most
/// [`Text::INLINE_CAPACITY`] octets long, on the heap otherwise. It dereferences to `str`;
/// equality, ordering and hashing are those of the `str`, whichever way it is stored.
///
/// The inline capacity is 64 octets: RFC 5321 allows local parts of 64 octets and
/// domains of 255, but real addresses (`local@domain`) and the host names clients give in
/// EHLO are nearly always shorter than 64 octets, so a mailbox, a host name or a parameter
/// value costs no allocation.
///
/// ```
/// use postwerk_smtp::codec::text::Text;
/// let t = Text::from("sender.name42@example.com");
/// assert!(t.is_inline());
/// assert_eq!(t, "sender.name42@example.com");
/// assert_eq!(t.len(), 25);
/// let long = Text::from("x".repeat(100).as_str());
/// assert!(!long.is_inline());
/// ```
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    Inline(ArrayString<{ Text::INLINE_CAPACITY }>),
    Heap(Box<str>),
}

impl Text {
    /// The longest text stored without a heap allocation, in octets.
    pub const INLINE_CAPACITY: usize = 64;

    /// The empty text.
    #[inline]
    pub fn new() -> Text {
        Text(Repr::Inline(ArrayString::new()))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(s) => s.as_str(),
            Repr::Heap(s) => s,
        }
    }

    /// True when stored inline (at most [`Text::INLINE_CAPACITY`] octets).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }

    /// The text as a `String` (one allocation).
    pub fn into_string(self) -> String {
        match self.0 {
            Repr::Inline(s) => s.as_str().to_string(),
            Repr::Heap(s) => s.into_string(),
        }
    }

    /// The concatenation of `parts`, inline when it fits.
    #[inline]
    pub(crate) fn concat(parts: &[&str]) -> Text {
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        if len > Text::INLINE_CAPACITY {
            return Text(Repr::Heap(parts.concat().into_boxed_str()));
        }
        let mut t = Text::new();
        if let Repr::Inline(a) = &mut t.0 {
            for p in parts {
                let _ = a.try_push_str(p);
            }
        }
        t
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::new()
    }
}

impl Deref for Text {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        self.as_str().as_bytes()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    #[inline(always)]
    fn from(s: &str) -> Text {
        if s.len() > Text::INLINE_CAPACITY {
            return Text(Repr::Heap(s.into()));
        }
        // Built in place: copying into a separate `ArrayString` and moving that into the
        // enum would read the buffer back right after the copy wrote it (a store-forwarding
        // stall that costs more than the copy).
        let mut t = Text::new();
        if let Repr::Inline(a) = &mut t.0 {
            let _ = a.try_push_str(s);
        }
        t
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        match ArrayString::from(&s) {
            Ok(a) => Text(Repr::Inline(a)),
            Err(_) => Text(Repr::Heap(s.into_boxed_str())),
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<Box<str>> for Text {
    fn from(s: Box<str>) -> Text {
        match ArrayString::from(&s) {
            Ok(a) => Text(Repr::Inline(a)),
            Err(_) => Text(Repr::Heap(s)),
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.into_string()
    }
}

impl std::str::FromStr for Text {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Text, Self::Err> {
        Ok(Text::from(s))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Text> for str {
    fn eq(&self, other: &Text) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Text> for String {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    #[test]
    fn inline_heap_boundary() {
        let at = "a".repeat(Text::INLINE_CAPACITY);
        let over = "a".repeat(Text::INLINE_CAPACITY + 1);
        assert!(Text::from(at.as_str()).is_inline());
        assert!(!Text::from(over.as_str()).is_inline());
        assert!(Text::from(at.clone()).is_inline());
        assert!(!Text::from(over.clone()).is_inline());
        assert_eq!(Text::from(over.as_str()), over);
        assert_eq!(Text::from(over.clone()).into_string(), over);
        assert_eq!(Text::from(at.clone()).into_string(), at);
        assert!(Text::new().is_inline() && Text::new().is_empty());
        // Concatenation across the boundary.
        let half = "b".repeat(Text::INLINE_CAPACITY / 2);
        let c = Text::concat(&[&half, "@", &half]);
        assert!(!c.is_inline());
        assert_eq!(c, format!("{half}@{half}"));
        let c = Text::concat(&[&half[1..], "@", &half]);
        assert!(c.is_inline());
        assert_eq!(c.len(), Text::INLINE_CAPACITY);
    }

    #[test]
    fn utf8_kept() {
        // 2-octet characters: 32 fit inline, 33 do not (the boundary is in octets).
        let fits = "ü".repeat(32);
        let over = "ü".repeat(33);
        assert!(Text::from(fits.as_str()).is_inline());
        assert!(!Text::from(over.as_str()).is_inline());
        assert_eq!(Text::from(fits.as_str()).chars().count(), 32);
        assert_eq!(&*Text::from("jörg@bücher.example"), "jörg@bücher.example");
        assert_eq!(Text::from("ü").to_string(), "ü");
        assert_eq!(format!("{:?}", Text::from("a\"ü")), "\"a\\\"ü\"");
    }

    #[test]
    fn equality_and_hash_across_representations() {
        let s = "x".repeat(10);
        let inline = Text::from(s.as_str());
        let heap = Text(Repr::Heap(s.clone().into_boxed_str()));
        assert!(inline.is_inline() && !heap.is_inline());
        assert_eq!(inline, heap);
        assert_eq!(hash_of(&inline), hash_of(&heap));
        assert_eq!(hash_of(&inline), hash_of(s.as_str()));
        assert_eq!(inline.cmp(&heap), Ordering::Equal);
        assert_eq!(
            Text::from("a").cmp(&Text(Repr::Heap("b".into()))),
            Ordering::Less
        );
        let mut set = std::collections::HashSet::new();
        set.insert(heap);
        assert!(set.contains(s.as_str()));
        assert!(set.contains(&inline));
        assert_eq!(inline, s);
        assert_eq!(s, inline);
        assert_eq!(inline, s.as_str());
    }

    /// The inlined ASCII check agrees with the standard library's on every length up to
    /// 40 with a non-ASCII (or edge) octet in every position.
    #[test]
    fn is_ascii_matches_std() {
        for len in 0..=40 {
            let base = vec![b'a'; len];
            assert_eq!(is_ascii(&base), base.is_ascii());
            for at in 0..len {
                for b in [0x00, 0x7f, 0x80, 0x81, 0xc3, 0xff, b'\r', b'\n'] {
                    let mut s = base.clone();
                    s[at] = b;
                    assert_eq!(is_ascii(&s), s.is_ascii(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn src_slices_the_validated_line() {
        let line = "MAIL FROM:<jö@x> SIZE=1".as_bytes();
        let src = Src::new(line);
        assert!(src.is_utf8());
        assert_eq!(src.text(&line[11..15]), "jö@");
        // A part from elsewhere (a copy) is validated on its own.
        let copy = line[11..14].to_vec();
        assert_eq!(src.text(&copy), "jö");
        // A line that is not UTF-8: parts are validated one by one.
        let bad = b"X \xff ok";
        let src = Src::new(bad);
        assert!(!src.is_utf8());
        assert_eq!(src.text(&bad[4..6]), "ok");
        assert_eq!(src.text(&bad[..0]), "");
    }
}
