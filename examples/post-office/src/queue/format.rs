//! The text forms of the queue's files: envelope header, trailer, state file.

use super::*;

/// The content length and checksum from a trailer.
pub(super) fn parse_trailer(trailer: &[u8]) -> Result<(u64, u64), String> {
    let trailer = std::str::from_utf8(trailer).map_err(|_| "trailer is not text")?;
    let fields: Vec<&str> = trailer.trim().split(' ').collect();
    let (Some(&"end"), Some(len), Some(sum)) = (fields.first(), fields.get(1), fields.get(2))
    else {
        return Err("no complete-marker: the file is torn".into());
    };
    let len = len.parse().map_err(|_| "bad length in trailer")?;
    let sum = u64::from_str_radix(sum, 16).map_err(|_| "bad checksum in trailer")?;
    Ok((len, sum))
}

pub(super) fn parse_message(mut bytes: Vec<u8>) -> Result<(Envelope, Vec<u8>), String> {
    let (header_end, body_end, sum) = layout(&bytes)?;
    let Some(computed) = checksum_for(&bytes, bytes.get(..body_end).unwrap_or_default()) else {
        return Err("not a queue file".into());
    };
    if computed != sum {
        return Err("checksum mismatch".into());
    }
    let envelope = parse_envelope(header_text(&bytes, header_end)?)?;
    bytes.truncate(body_end);
    bytes.drain(..header_end);
    Ok((envelope, bytes))
}

/// The envelope and the content of a queue-file image already known to be intact (held
/// in memory since it was made): its trailer is read, its checksum not recomputed.
pub(super) fn parse_image(bytes: &[u8]) -> Result<(Envelope, std::ops::Range<usize>), String> {
    let (header_end, body_end, _) = layout(bytes)?;
    let header = header_text(bytes, header_end)?;
    if !has_magic(header.as_bytes()) {
        return Err("not a queue file".into());
    }
    Ok((parse_envelope(header)?, header_end..body_end))
}

/// Where the header and the content of a queue-file image end, from its trailer, and the
/// checksum the trailer gives.
fn layout(bytes: &[u8]) -> Result<(usize, usize, u64), String> {
    let body_end = bytes
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or("shorter than the trailer")?;
    let (len, sum) = parse_trailer(bytes.get(body_end..).unwrap_or_default())?;
    let header_end = usize::try_from(len)
        .ok()
        .and_then(|len| body_end.checked_sub(len))
        .ok_or("length larger than the file")?;
    Ok((header_end, body_end, sum))
}

/// The text header of a queue-file image that ends at `header_end`.
fn header_text(bytes: &[u8], header_end: usize) -> Result<&str, String> {
    std::str::from_utf8(bytes.get(..header_end).unwrap_or_default())
        .map_err(|_| "header is not text".into())
}

/// The envelope from the text header (starting with the magic line).
pub(super) fn parse_envelope(header: &str) -> Result<Envelope, String> {
    let mut envelope = Envelope::default();
    let mut saw_from = false;
    let mut lines = header.lines().skip(1);
    for line in lines.by_ref() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "received-at" => envelope.received_at = value.parse().map_err(|_| "bad received-at")?,
            "from" => {
                envelope.from = bracketed(value)?;
                saw_from = true;
            }
            "rcpt" => envelope.recipients.push(bracketed(value)?),
            "ret" => {
                envelope.ret = Some(match value {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(format!("bad ret {value:?}")),
                })
            }
            "envid" => envelope.envid = Some(value.to_owned()),
            "notify" | "orcpt" => {
                let i = envelope
                    .recipients
                    .len()
                    .checked_sub(1)
                    .ok_or("DSN parameters before any recipient")?;
                envelope.rcpt_dsn.resize(i + 1, RcptDsn::default());
                let dsn = envelope.rcpt_dsn.get_mut(i).ok_or("bad recipient index")?;
                if key == "notify" {
                    dsn.notify = Some(parse_notify(value)?);
                } else {
                    let (kind, address) = value.split_once(';').ok_or("bad orcpt")?;
                    dsn.orcpt = Some((kind.to_owned(), address.to_owned()));
                }
            }
            "data" => break,
            _ => return Err(format!("unknown header line {key:?}")),
        }
    }
    if !header.ends_with("data\n") || !saw_from || envelope.recipients.is_empty() {
        return Err("incomplete envelope".into());
    }
    Ok(envelope)
}

pub(super) fn ret_word(ret: Ret) -> &'static str {
    match ret {
        Ret::Full => "FULL",
        Ret::Hdrs => "HDRS",
    }
}

/// `NEVER` or a comma-separated subset of `SUCCESS,FAILURE,DELAY`.
pub(super) fn notify_words(notify: Notify) -> String {
    match notify {
        Notify::Never => "NEVER".into(),
        Notify::On {
            success,
            failure,
            delay,
        } => [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect::<Vec<_>>()
            .join(","),
    }
}

pub(super) fn parse_notify(value: &str) -> Result<Notify, String> {
    if value == "NEVER" {
        return Ok(Notify::Never);
    }
    let (mut success, mut failure, mut delay) = (false, false, false);
    for word in value.split(',') {
        match word {
            "SUCCESS" => success = true,
            "FAILURE" => failure = true,
            "DELAY" => delay = true,
            _ => return Err(format!("bad notify {value:?}")),
        }
    }
    Ok(Notify::On {
        success,
        failure,
        delay,
    })
}

/// One word of printable ASCII (no space or control character) for a header line.
pub(super) fn clean_word(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

pub(super) fn bracketed(value: &str) -> Result<String, String> {
    value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .map(str::to_owned)
        .ok_or_else(|| format!("bad path {value:?}"))
}

pub(super) fn parse_state(text: &str, recipients: usize) -> Result<State, String> {
    let body_end = text
        .trim_end()
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or("empty state")?;
    let sum = text[body_end..]
        .trim()
        .strip_prefix("end ")
        .ok_or("state is torn")?;
    let sum = u64::from_str_radix(sum, 16).map_err(|_| "bad state checksum")?;
    if fnv(&text.as_bytes()[..body_end]) != sum {
        return Err("state checksum mismatch".into());
    }
    let mut state = State::new(0);
    for line in text[..body_end].lines() {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "attempts" => state.attempts = value.parse().map_err(|_| "bad attempts")?,
            "next" => state.next_attempt = value.parse().map_err(|_| "bad next")?,
            "pending" if value.is_empty() => state.recipients.push(RcptState::Pending(None)),
            "pending" => state
                .recipients
                .push(RcptState::Pending(Some(value.to_owned()))),
            "delivered" => state.recipients.push(RcptState::Delivered),
            "failed" => state
                .recipients
                .push(RcptState::Failed(Failure::parse(value))),
            "delay-notified" => state.delay_notified = true,
            "success-notified" => state
                .success_notified
                .push(value.parse().map_err(|_| "bad success-notified")?),
            _ => return Err(format!("unknown state line {key:?}")),
        }
    }
    if state.recipients.len() != recipients {
        return Err("state does not match the envelope".into());
    }
    Ok(state)
}

/// Keeps each line free of control characters, ending every line with `\n`.
pub(super) fn clean_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(&clean(line));
        out.push('\n');
    }
    out
}

/// Keeps a value on one line.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The checksum of a queue file of format 2 (`postwerk-queue 2`): CRC-32, which detects
/// torn and damaged files (it is not an integrity check against someone who can write the
/// queue directory).
#[derive(Debug, Default)]
pub(super) struct Checksum(crc32fast::Hasher);

impl Checksum {
    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(super) fn value(self) -> u64 {
        u64::from(self.0.finalize())
    }
}

/// The checksum of `bytes` for a queue file that starts with `magic`: CRC-32 for format 2,
/// FNV-1a for files written by format 1.
fn checksum_for(magic: &[u8], bytes: &[u8]) -> Option<u64> {
    if magic.starts_with(MAGIC.as_bytes()) {
        let mut sum = Checksum::default();
        sum.update(bytes);
        Some(sum.value())
    } else if magic.starts_with(MAGIC_V1.as_bytes()) {
        Some(fnv(bytes))
    } else {
        None
    }
}

/// Is this the start of a queue file (of any format)?
pub(super) fn has_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC.as_bytes()) || bytes.starts_with(MAGIC_V1.as_bytes())
}

/// FNV-1a, 64 bits: the checksum of state files, and of queue files of format 1.
#[derive(Debug)]
pub(super) struct Fnv(pub(super) u64);

impl Fnv {
    pub(super) fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

pub(super) fn fnv(bytes: &[u8]) -> u64 {
    let mut hash = Fnv::new();
    hash.update(bytes);
    hash.0
}
