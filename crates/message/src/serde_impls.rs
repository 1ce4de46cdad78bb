//! The `serde` feature: `Serialize` for the parsed value types, and `Deserialize` for
//! those that can be owned (every `Deserialize` impl gives values that own their text, at
//! any lifetime). Deserializing checks what the type promises (a local part without line
//! breaks, a valid domain or none, tokens in media types, date-times in range), so a
//! deserialized value is one the parser or a constructor could have made.
//!
//! The forms are listed in the crate documentation ("Optional features").

use std::borrow::Cow;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mime::params::is_token_byte;
use crate::{
    AddrSpec, Address, ContentDisposition, ContentType, DateTime, Group, Mailbox, MessageId, Param,
    ParseError, ParseErrorKind, Received, Repair, RepairKind, TransferEncoding,
};

// ---------------------------------------------------------------------------------------
// Addresses

#[derive(Serialize, Deserialize)]
struct AddrSpecRepr<'s> {
    #[serde(borrow)]
    local_part: Cow<'s, str>,
    #[serde(borrow)]
    domain: Cow<'s, str>,
}

impl Serialize for AddrSpec<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        AddrSpecRepr {
            local_part: Cow::Borrowed(self.local_part()),
            domain: Cow::Borrowed(self.domain()),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for AddrSpec<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = AddrSpecRepr::deserialize(d)?;
        let local = r.local_part.into_owned();
        let domain = r.domain.into_owned();
        if domain.is_empty() {
            if local.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
                return Err(D::Error::custom("control character in local part"));
            }
            return Ok(AddrSpec::from_parts(Cow::Owned(local), Cow::Owned(domain)));
        }
        AddrSpec::new(local, domain).map_err(D::Error::custom)
    }
}

#[derive(Serialize)]
struct MailboxOut<'s, 'a> {
    display_name: Option<&'s str>,
    addr_spec: &'s AddrSpec<'a>,
}

#[derive(Deserialize)]
struct MailboxRepr<'s> {
    #[serde(borrow)]
    display_name: Option<Cow<'s, str>>,
    addr_spec: AddrSpec<'s>,
}

impl Serialize for Mailbox<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MailboxOut {
            display_name: self.display_name(),
            addr_spec: self.addr_spec(),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for Mailbox<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = MailboxRepr::deserialize(d)?;
        Ok(Mailbox::new(
            r.display_name.map(|n| Cow::Owned(n.into_owned())),
            r.addr_spec.into_owned(),
        ))
    }
}

#[derive(Serialize)]
struct GroupOut<'s, 'a> {
    display_name: &'s str,
    mailboxes: &'s [Mailbox<'a>],
}

#[derive(Deserialize)]
struct GroupRepr<'s> {
    #[serde(borrow)]
    display_name: Cow<'s, str>,
    mailboxes: Vec<Mailbox<'s>>,
}

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        GroupOut {
            display_name: self.display_name(),
            mailboxes: self.mailboxes(),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for Group<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = GroupRepr::deserialize(d)?;
        Ok(Group::new(
            r.display_name.into_owned(),
            r.mailboxes.into_iter().map(Mailbox::into_owned).collect(),
        ))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum AddressOut<'s, 'a> {
    Mailbox(&'s Mailbox<'a>),
    Group(&'s Group<'a>),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum AddressRepr<'s> {
    Mailbox(#[serde(borrow)] Mailbox<'s>),
    Group(#[serde(borrow)] Group<'s>),
}

impl Serialize for Address<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Address::Mailbox(m) => AddressOut::Mailbox(m),
            Address::Group(g) => AddressOut::Group(g),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for Address<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match AddressRepr::deserialize(d)? {
            AddressRepr::Mailbox(m) => Address::Mailbox(m.into_owned()),
            AddressRepr::Group(g) => Address::Group(g.into_owned()),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Dates

#[derive(Serialize, Deserialize)]
struct DateTimeRepr {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    offset_minutes: i16,
    weekday: Option<crate::Weekday>,
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DateTimeRepr {
            year: self.year,
            month: self.month,
            day: self.day,
            hour: self.hour,
            minute: self.minute,
            second: self.second,
            offset_minutes: self.offset_minutes,
            weekday: self.weekday,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = DateTimeRepr::deserialize(d)?;
        let mut dt = DateTime::new(
            r.year,
            r.month,
            r.day,
            r.hour,
            r.minute,
            r.second,
            r.offset_minutes,
        )
        .ok_or_else(|| D::Error::custom("date-time field out of range"))?;
        // The weekday as it was read (a parsed date may have none).
        dt.weekday = r.weekday;
        Ok(dt)
    }
}

// ---------------------------------------------------------------------------------------
// Message identifiers

impl Serialize for MessageId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, 'a> Deserialize<'de> for MessageId<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?.into_owned();
        if text.is_empty()
            || text
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(D::Error::custom("invalid message identifier"));
        }
        // The `@` the grammar finds, else the last one (as the lenient reader does).
        let at = match MessageId::parse(format!("<{text}>").as_bytes()) {
            Ok(id) if id.as_str() == text => id.left().len(),
            _ => text.rfind('@').unwrap_or(text.len()),
        };
        Ok(MessageId::from_parts(Cow::Owned(text), at))
    }
}

// ---------------------------------------------------------------------------------------
// MIME

/// `s` in lower case when it is a non-empty MIME token (RFC 2045 section 5.1).
fn token<E: serde::de::Error>(s: Cow<'_, str>, what: &str) -> Result<Cow<'static, str>, E> {
    if s.is_empty() || !s.bytes().all(is_token_byte) {
        return Err(E::custom(format_args!("invalid {what} {s:?}")));
    }
    Ok(Cow::Owned(s.to_ascii_lowercase()))
}

#[derive(Serialize, Deserialize)]
struct ParamRepr<'s> {
    #[serde(borrow)]
    name: Cow<'s, str>,
    #[serde(borrow)]
    value: Cow<'s, str>,
}

impl Serialize for Param<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ParamRepr {
            name: Cow::Borrowed(self.name()),
            value: Cow::Borrowed(self.value()),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for Param<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ParamRepr::deserialize(d)?;
        Ok(Param::from_parts(
            token(r.name, "parameter name")?,
            Cow::Owned(r.value.into_owned()),
        ))
    }
}

#[derive(Serialize)]
struct ContentTypeOut<'s, 'a> {
    #[serde(rename = "type")]
    main: &'s str,
    subtype: &'s str,
    params: &'s [Param<'a>],
}

#[derive(Deserialize)]
struct ContentTypeRepr<'s> {
    #[serde(rename = "type", borrow)]
    main: Cow<'s, str>,
    #[serde(borrow)]
    subtype: Cow<'s, str>,
    #[serde(borrow)]
    params: Vec<Param<'s>>,
}

impl Serialize for ContentType<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ContentTypeOut {
            main: self.main_type(),
            subtype: self.subtype(),
            params: self.params(),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for ContentType<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ContentTypeRepr::deserialize(d)?;
        Ok(ContentType::from_parts(
            token(r.main, "media type")?,
            token(r.subtype, "media subtype")?,
            r.params.into_iter().map(Param::into_owned).collect(),
        ))
    }
}

#[derive(Serialize)]
struct ContentDispositionOut<'s, 'a> {
    kind: &'s str,
    params: &'s [Param<'a>],
}

#[derive(Deserialize)]
struct ContentDispositionRepr<'s> {
    #[serde(borrow)]
    kind: Cow<'s, str>,
    #[serde(borrow)]
    params: Vec<Param<'s>>,
}

impl Serialize for ContentDisposition<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ContentDispositionOut {
            kind: self.kind(),
            params: self.params(),
        }
        .serialize(s)
    }
}

impl<'de, 'a> Deserialize<'de> for ContentDisposition<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ContentDispositionRepr::deserialize(d)?;
        Ok(ContentDisposition::from_parts(
            token(r.kind, "disposition type")?,
            r.params.into_iter().map(Param::into_owned).collect(),
        ))
    }
}

impl Serialize for TransferEncoding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            TransferEncoding::SevenBit => "7bit",
            TransferEncoding::EightBit => "8bit",
            TransferEncoding::Binary => "binary",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
            TransferEncoding::Unknown => "unknown",
        })
    }
}

impl<'de> Deserialize<'de> for TransferEncoding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?;
        Ok(TransferEncoding::parse(text.as_bytes()))
    }
}

// ---------------------------------------------------------------------------------------
// Errors, repairs, trace fields

#[derive(Serialize, Deserialize)]
struct ParseErrorRepr {
    kind: ParseErrorKind,
    offset: usize,
}

impl Serialize for ParseError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ParseErrorRepr {
            kind: self.kind(),
            offset: self.offset(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ParseError {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ParseErrorRepr::deserialize(d)?;
        Ok(ParseError::new(r.kind, r.offset))
    }
}

#[derive(Serialize)]
struct RepairRepr<'s> {
    kind: RepairKind,
    field: Option<&'s str>,
    offset: usize,
}

impl Serialize for Repair<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RepairRepr {
            kind: self.kind(),
            field: self.field(),
            offset: self.offset(),
        }
        .serialize(s)
    }
}

#[derive(Serialize)]
struct ReceivedRepr<'s> {
    from: Option<&'s str>,
    from_info: Option<&'s str>,
    by: Option<&'s str>,
    via: Option<&'s str>,
    with: Option<&'s str>,
    id: Option<&'s str>,
    #[serde(rename = "for")]
    for_path: Option<&'s str>,
    date: Option<DateTime>,
}

impl Serialize for Received<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ReceivedRepr {
            from: self.from(),
            from_info: self.from_info(),
            by: self.by(),
            via: self.via(),
            with: self.with(),
            id: self.id(),
            for_path: self.for_path(),
            date: self.date().and_then(|d| d.as_ref().ok()).copied(),
        }
        .serialize(s)
    }
}
