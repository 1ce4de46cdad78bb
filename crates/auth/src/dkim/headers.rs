//! The header block: finding its end in a stream, splitting it into raw fields, and the
//! bottom-up selection of signed fields (RFC 6376 section 5.4.2).

/// Where the bytes of one `push` went.
#[derive(Debug)]
pub(crate) enum Push<'a> {
    /// Still inside the header block.
    Header,
    /// The header block ended in this chunk; the rest is body.
    HeaderDone(&'a [u8]),
    /// Body bytes.
    Body(&'a [u8]),
    /// The header block is larger than the limit: nothing more is looked at.
    Overflow,
}

/// Buffers the header block (bounded) and passes body bytes through.
#[derive(Debug)]
pub(crate) struct Splitter {
    header: Vec<u8>,
    max: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Body,
    Overflow,
}

impl Splitter {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            header: Vec::new(),
            max,
            state: State::Header,
        }
    }

    pub(crate) fn is_overflow(&self) -> bool {
        self.state == State::Overflow
    }

    pub(crate) fn in_header(&self) -> bool {
        self.state == State::Header
    }

    pub(crate) fn push<'a>(&mut self, data: &'a [u8]) -> Push<'a> {
        match self.state {
            State::Overflow => return Push::Overflow,
            State::Body => return Push::Body(data),
            State::Header => {}
        }
        let old = self.header.len();
        // A header block that is empty: the message starts with the blank line.
        if old == 0 && data.starts_with(b"\r\n") {
            self.state = State::Body;
            return Push::HeaderDone(&data[2..]);
        }
        if self.header == b"\r" && data.first() == Some(&b'\n') {
            self.header.clear();
            self.state = State::Body;
            return Push::HeaderDone(&data[1..]);
        }
        // The end of the block: a separator across the boundary (the last 3 buffered
        // bytes and the first 3 new ones), else inside the new bytes. Only the header
        // bytes are copied, never the body that follows them in the same chunk.
        let tail = &self.header[old.saturating_sub(3)..];
        let head = &data[..data.len().min(3)];
        let mut joined = [0u8; 6];
        joined[..tail.len()].copy_from_slice(tail);
        joined[tail.len()..tail.len() + head.len()].copy_from_slice(head);
        let across = find_crlfcrlf(&joined[..tail.len() + head.len()])
            .filter(|&p| p + 4 > tail.len())
            .map(|p| p + 4 - tail.len());
        let sep_end = across.or_else(|| memchr::memmem::find(data, b"\r\n\r\n").map(|p| p + 4));
        if let Some(e) = sep_end {
            // Keep the last field's CRLF, not the blank line's.
            let len = (old + e).saturating_sub(2);
            if len > self.max {
                return self.overflow();
            }
            if len >= old {
                self.header.extend_from_slice(&data[..len - old]);
            } else {
                self.header.truncate(len);
            }
            self.state = State::Body;
            return Push::HeaderDone(&data[e..]);
        }
        // Never buffer more than the limit plus the 4 bytes of the separator.
        let room = (self.max + 4).saturating_sub(old);
        self.header.extend_from_slice(&data[..data.len().min(room)]);
        if self.header.len() > self.max {
            return self.overflow();
        }
        Push::Header
    }

    fn overflow(&mut self) -> Push<'static> {
        self.header = Vec::new();
        self.state = State::Overflow;
        Push::Overflow
    }

    /// Ends the input: a message without a blank line is all header.
    pub(crate) fn finish(&mut self) {
        if self.state == State::Header {
            if !self.header.is_empty() && !self.header.ends_with(b"\r\n") {
                self.header.extend_from_slice(b"\r\n");
            }
            self.state = State::Body;
        }
    }

    pub(crate) fn header(&self) -> &[u8] {
        &self.header
    }
}

fn find_crlfcrlf(h: &[u8]) -> Option<usize> {
    h.windows(4).position(|w| w == b"\r\n\r\n")
}

/// A raw header field: its byte range in the header block, name range inside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) name_end: usize,
}

impl Field {
    pub(crate) fn raw<'a>(&self, block: &'a [u8]) -> &'a [u8] {
        &block[self.start..self.end]
    }

    pub(crate) fn name<'a>(&self, block: &'a [u8]) -> &'a [u8] {
        &block[self.start..self.name_end]
    }
}

/// Splits a header block into fields. Each field runs from a line that does not start
/// with WSP to the CRLF ending its last continuation line (included). A line without a
/// colon gets an empty name, so that it is never selected.
pub(crate) fn split_fields(block: &[u8]) -> Vec<Field> {
    let mut fields: Vec<Field> = Vec::with_capacity(32);
    let mut pos = 0;
    while pos < block.len() {
        let line_end = match memchr::memchr(b'\n', &block[pos..]) {
            Some(p) => pos + p + 1,
            None => block.len(),
        };
        let continuation = matches!(block[pos], b' ' | b'\t');
        match fields.last_mut() {
            Some(last) if continuation => last.end = line_end,
            _ => {
                let line = &block[pos..line_end];
                let name_end = match memchr::memchr(b':', line) {
                    Some(c) => {
                        let mut e = c;
                        while e > 0 && matches!(line[e - 1], b' ' | b'\t') {
                            e -= 1;
                        }
                        pos + e
                    }
                    None => pos,
                };
                fields.push(Field {
                    start: pos,
                    end: line_end,
                    name_end,
                });
            }
        }
        pos = line_end;
    }
    fields
}

/// Selects the field instances for an `h=` list: for each name, the bottom-most instance
/// not yet used; `None` when there is none left (a nonexistent field is signed as the
/// empty string, which is what makes oversigning work).
pub(crate) fn select<'f, N: AsRef<[u8]>>(
    block: &[u8],
    fields: &'f [Field],
    names: &[N],
) -> Vec<Option<&'f Field>> {
    let mut used = vec![false; fields.len()];
    names
        .iter()
        .map(|name| {
            let name = name.as_ref();
            let idx = (0..fields.len())
                .rev()
                .find(|&i| !used[i] && fields[i].name(block).eq_ignore_ascii_case(name))?;
            used[idx] = true;
            Some(&fields[idx])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_header_and_body_across_chunks() {
        let msg: &[u8] = b"A: 1\r\nB: 2\r\n\r\nbody\r\n";
        for cut in 0..msg.len() {
            let mut s = Splitter::new(1000);
            let mut body = Vec::new();
            for part in [&msg[..cut], &msg[cut..]] {
                match s.push(part) {
                    Push::HeaderDone(b) | Push::Body(b) => body.extend_from_slice(b),
                    Push::Header => {}
                    Push::Overflow => panic!("overflow"),
                }
            }
            assert_eq!(s.header(), b"A: 1\r\nB: 2\r\n", "cut {cut}");
            assert_eq!(body, b"body\r\n", "cut {cut}");
        }
    }

    #[test]
    fn empty_header_block() {
        let mut s = Splitter::new(100);
        match s.push(b"\r\nbody") {
            Push::HeaderDone(b) => assert_eq!(b, b"body"),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.header(), b"");
    }

    #[test]
    fn overflow_is_bounded() {
        let mut s = Splitter::new(10);
        assert!(matches!(s.push(&[b'a'; 100]), Push::Overflow));
        assert!(s.header().is_empty());
    }

    #[test]
    fn bottom_up_selection() {
        let block: &[u8] = b"X: 1\r\nY: a\r\n b\r\nx : 2\r\n";
        let f = split_fields(block);
        assert_eq!(f.len(), 3);
        let sel = select(block, &f, &["x", "x", "x", "y"]);
        assert_eq!(sel[0].unwrap().raw(block), b"x : 2\r\n");
        assert_eq!(sel[1].unwrap().raw(block), b"X: 1\r\n");
        assert!(sel[2].is_none());
        assert_eq!(sel[3].unwrap().raw(block), b"Y: a\r\n b\r\n");
    }
}
