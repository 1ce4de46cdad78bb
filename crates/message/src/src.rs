//! Where the bytes of a parsed message live: borrowed from the caller's input, or in one
//! shared copy once the message was made owned
//! ([`Message::into_owned`](crate::Message::into_owned)), so that the parts of an owned
//! message do not each copy their bytes.

use std::sync::Arc;

/// The bytes a [`Part`](crate::Part) or [`Message`](crate::Message) reads, addressed by
/// positions in the input given to [`Message::parse`](crate::Message::parse).
#[derive(Debug, Clone)]
pub(crate) enum Src<'a> {
    /// The input itself: position `p` is `input[p]`.
    Borrowed(&'a [u8]),
    /// An owned copy of the input from position `base` on: position `p` is
    /// `buf[p - base]`.
    Shared {
        /// The copied bytes.
        buf: Arc<[u8]>,
        /// The input position of `buf[0]`.
        base: usize,
    },
}

impl<'a> Src<'a> {
    /// The bytes at positions `start..end`; empty when out of range.
    pub(crate) fn get(&self, start: usize, end: usize) -> &[u8] {
        match self {
            Src::Borrowed(b) => b.get(start..end).unwrap_or_default(),
            Src::Shared { buf, base } => start
                .checked_sub(*base)
                .zip(end.checked_sub(*base))
                .and_then(|(s, e)| buf.get(s..e))
                .unwrap_or_default(),
        }
    }

    /// All the bytes, from position 0 (or from `base` for a shared copy).
    pub(crate) fn all(&self) -> &[u8] {
        match self {
            Src::Borrowed(b) => b,
            Src::Shared { buf, .. } => buf,
        }
    }

    /// The bytes at positions `start..end` for as long as the input lives, when they are
    /// borrowed from it.
    pub(crate) fn borrowed(&self, start: usize, end: usize) -> Option<&'a [u8]> {
        match self {
            Src::Borrowed(b) => Some(b.get(start..end).unwrap_or_default()),
            Src::Shared { .. } => None,
        }
    }

    /// A source that owns at least the positions `start..end`: this one when it is already
    /// shared, else a copy of those bytes.
    pub(crate) fn to_shared(&self, start: usize, end: usize) -> Src<'static> {
        match self {
            Src::Shared { buf, base } => Src::Shared {
                buf: Arc::clone(buf),
                base: *base,
            },
            Src::Borrowed(_) => Src::Shared {
                buf: Arc::from(self.get(start, end)),
                base: start,
            },
        }
    }
}
