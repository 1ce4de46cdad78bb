//! What [`MessageBuilder`](super::MessageBuilder)'s address fields accept.

use std::borrow::Cow;

use super::BuildError;
use crate::{Address, Group, Mailbox};

/// Values that stand for a list of addresses in a
/// [`MessageBuilder`](super::MessageBuilder) field: the crate's [`Address`], [`Mailbox`]
/// and [`Group`] (and vectors of them), a string holding an
/// RFC 5322 address list (read with [`parse_address_list`](crate::parse_address_list)),
/// or a pair `(display name, addr-spec)`.
pub trait IntoAddresses<'a> {
    /// The addresses, or why the value is not one.
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError>;
}

impl<'a> IntoAddresses<'a> for Address<'a> {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        Ok(vec![self])
    }
}

impl<'a> IntoAddresses<'a> for Mailbox<'a> {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        Ok(vec![Address::Mailbox(self)])
    }
}

impl<'a> IntoAddresses<'a> for Group<'a> {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        Ok(vec![Address::Group(self)])
    }
}

impl<'a> IntoAddresses<'a> for Vec<Address<'a>> {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        Ok(self)
    }
}

impl<'a> IntoAddresses<'a> for Vec<Mailbox<'a>> {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        Ok(self.into_iter().map(Address::Mailbox).collect())
    }
}

impl<'a> IntoAddresses<'a> for &'a str {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        crate::parse_address_list(self.as_bytes())
            .map_err(|_| BuildError::InvalidAddress(self.to_owned()))
    }
}

impl<'a> IntoAddresses<'a> for &'a String {
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        self.as_str().into_addresses()
    }
}

impl<'a> IntoAddresses<'a> for (&'a str, &'a str) {
    /// `(display name, addr-spec)`: any text as the name, the address read with
    /// [`parse_addr_spec`](crate::parse_addr_spec).
    fn into_addresses(self) -> Result<Vec<Address<'a>>, BuildError> {
        let addr = crate::parse_addr_spec(self.1.as_bytes())
            .map_err(|_| BuildError::InvalidAddress(self.1.to_owned()))?;
        Ok(vec![Address::Mailbox(Mailbox::new(
            Some(Cow::Borrowed(self.0)),
            addr,
        ))])
    }
}
