//! The scan of relaxed body canonicalization: which bytes it has to act on, found 64 at
//! a time.

/// Bytes per step of the relaxed scan. The test below is written as a plain loop over a
/// fixed-size window, which the compiler turns into 16-byte vector compares (SSE2 on
/// x86-64): no unsafe, no intrinsics.
const BLOCK: usize = 64;

/// Is the byte `a`, followed by `b` and `c`, one relaxed canonicalization has to act
/// on? Only SP, TAB and CR can be; an answer of 1 for one of them is always safe (the
/// caller then handles it one step at a time), so the test may be generous:
///
/// - TAB always (it becomes SP, or vanishes at the end of a line);
/// - SP followed by a byte at most 0x20 (a run of WSP, or WSP before CR LF); a single
///   SP between two other bytes is already canonical;
/// - CR, unless it is followed by LF and a byte above 0x20: a line with content ended
///   by CR LF, followed by a line that starts with content, is canonical as it is, so
///   runs go on over it (one scan per paragraph, not per line).
///
/// 1 or 0, computed without branches so that it vectorizes.
#[inline(always)]
fn special(a: u8, b: u8, c: u8) -> u8 {
    let tab = u8::from(a == b'\t');
    let sp = u8::from(a == b' ') & u8::from(b <= b' ');
    let cr = u8::from(a == b'\r') & (u8::from(b != b'\n') | u8::from(c <= b' '));
    tab | sp | cr
}

/// Eight flags (bytes 0 or 1) gathered into the low eight bits, first byte lowest: the
/// multiplication moves flag `j` to bit `56 + j` and nothing carries (each bit of the
/// top byte receives exactly one product term).
#[inline(always)]
fn gather(flags: &[u8]) -> u64 {
    let x = flags.try_into().map_or(0, u64::from_le_bytes);
    x.wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The [`special`] bytes of `data[start..start + BLOCK]` as a bit mask (bit `i` for
/// `start + i`), when `data` holds the block and the two bytes after it.
#[inline]
fn block_mask(data: &[u8], start: usize) -> Option<u64> {
    let w = data
        .get(start..start + BLOCK + 2)
        .and_then(|s| <&[u8; BLOCK + 2]>::try_from(s).ok())?;
    let mut flags = [0u8; BLOCK];
    for (i, f) in flags.iter_mut().enumerate() {
        *f = special(w[i], w[i + 1], w[i + 2]);
    }
    // Most blocks of base64 or of long lines have nothing: test that first (vector ORs).
    let any = flags.chunks_exact(16).fold(0u128, |a, c| {
        a | c.try_into().map_or(0, u128::from_le_bytes)
    });
    if any == 0 {
        return Some(0);
    }
    Some(
        flags
            .chunks_exact(8)
            .enumerate()
            .fold(0, |m, (k, eight)| m | gather(eight) << (8 * k)),
    )
}

/// Finds [`special`] bytes in one input chunk, [`BLOCK`] bytes per step, keeping the
/// mask of the last block so that the next search inside it costs a shift.
#[derive(Default)]
pub(super) struct Scanner {
    /// `mask` holds the bits of `data[base..base + BLOCK]`, when `valid`.
    base: usize,
    mask: u64,
    valid: bool,
}

impl Scanner {
    /// The first special byte at or after `from`, with the bytes past the end of `data`
    /// unknown (SP and CR near the end are always reported).
    #[inline]
    pub(super) fn next(&mut self, data: &[u8], from: usize) -> Option<usize> {
        let mut start = from;
        if self.valid && from >= self.base && from - self.base < BLOCK {
            let m = self.mask >> (from - self.base);
            if m != 0 {
                return Some(from + m.trailing_zeros() as usize);
            }
            start = self.base + BLOCK;
        }
        while let Some(mask) = block_mask(data, start) {
            (self.base, self.mask, self.valid) = (start, mask, true);
            if mask != 0 {
                return Some(start + mask.trailing_zeros() as usize);
            }
            start += BLOCK;
        }
        self.valid = false;
        (start..data.len()).find(|&i| {
            let next = |k: usize| data.get(i + k).copied();
            match data[i] {
                b'\t' => true,
                b' ' => next(1).is_none_or(|b| b <= b' '),
                b'\r' => next(1) != Some(b'\n') || next(2).is_none_or(|c| c <= b' '),
                _ => false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_packs_every_flag_pattern() {
        for bits in 0u32..256 {
            let flags: Vec<u8> = (0..8).map(|j| u8::from(bits & (1 << j) != 0)).collect();
            assert_eq!(gather(&flags), u64::from(bits), "{bits:08b}");
        }
    }

    #[test]
    fn scanner_finds_each_special_byte_once_in_order() {
        // Specials near the start, across a block edge (SP SP: only the first acts)
        // and in the tail after the last whole block (a TAB, a SP at the very end);
        // single SPs between content and CR LF before content are not reported.
        let mut data = vec![b'a'; 200];
        for &(at, b) in &[
            (3usize, b'\t'),
            (20, b' '),
            (63, b' '),
            (64, b' '),
            (100, b'\r'),
            (101, b'\n'),
            (130, b'\r'),
            (197, b' '),
            (198, b'\t'),
            (199, b' '),
        ] {
            data[at] = b;
        }
        let mut scan = Scanner::default();
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = scan.next(&data, from) {
            found.push(at);
            from = at + 1;
        }
        assert_eq!(found, [3, 63, 130, 197, 198, 199]);
    }
}
