//! MAIL and RCPT parameters checked against what this session advertises: the built-in
//! extensions, REQUIRETLS, MT-PRIORITY, FUTURERELEASE, DELIVERBY, and the parameters the
//! application registered. Everything else is `555 5.5.4`.

use super::Connection;
use super::settings::{find_rule, value_fits};
use crate::codec::ext_params::{DeliverBy, FutureRelease, MailExtensions, MtPriority};
use crate::codec::params::{Body, MailParameters, RcptParameters};
use crate::codec::reply::Reply;
use crate::codec::text::Text;

impl Connection {
    /// Checks the MAIL parameters; on success returns the typed extension parameters and
    /// leaves in `params.other` only the registered ones. `Err`: the reply (a client
    /// error).
    pub(super) fn check_mail_params(
        &self,
        params: &mut MailParameters,
    ) -> Result<MailExtensions, Reply> {
        let ext = &self.settings.extensions;
        let extended = self.session.extended;
        let checks = [
            (params.size.is_some(), ext.size, "SIZE"),
            (
                matches!(params.body, Some(Body::EightBitMime)),
                ext.eight_bit_mime,
                "BODY",
            ),
            (
                matches!(params.body, Some(Body::BinaryMime)),
                ext.chunking && ext.binarymime,
                "BODY",
            ),
            (params.smtputf8, ext.smtputf8, "SMTPUTF8"),
            (params.auth.is_some(), self.auth_available(), "AUTH"),
            (params.ret.is_some(), ext.dsn, "RET"),
            (params.envid.is_some(), ext.dsn, "ENVID"),
        ];
        if let Some((_, _, name)) = checks
            .iter()
            .find(|(used, offered, _)| *used && !(*offered && extended))
        {
            return Err(Reply::unknown_parameter(name));
        }
        let mut typed = MailExtensions::default();
        let mut kept = Vec::new();
        for (name, value) in std::mem::take(&mut params.other) {
            let upper = name.to_ascii_uppercase();
            let v = value.as_deref();
            match upper.as_str() {
                "REQUIRETLS" if extended && ext.requiretls && self.session.tls => {
                    if v.is_some() {
                        return Err(invalid("REQUIRETLS takes no value"));
                    }
                    if typed.require_tls {
                        return Err(invalid("duplicate REQUIRETLS"));
                    }
                    typed.require_tls = true;
                }
                "MT-PRIORITY" if extended && ext.mt_priority => {
                    let p = v
                        .ok_or(())
                        .and_then(|v| MtPriority::parse(v).map_err(|_| ()));
                    let Ok(p) = p else {
                        return Err(invalid("MT-PRIORITY must be -9 to 9"));
                    };
                    if typed.mt_priority.replace(p).is_some() {
                        return Err(invalid("duplicate MT-PRIORITY"));
                    }
                }
                "HOLDFOR" | "HOLDUNTIL" if extended && ext.future_release.is_some() => {
                    let limits = ext.future_release.as_ref();
                    let parsed = match (upper.as_str(), v) {
                        ("HOLDFOR", Some(v)) => FutureRelease::parse_hold_for(v),
                        (_, Some(v)) => FutureRelease::parse_hold_until(v),
                        _ => return Err(invalid("HOLDFOR/HOLDUNTIL need a value")),
                    };
                    let Ok(release) = parsed else {
                        return Err(invalid(&format!("malformed {upper}")));
                    };
                    let too_late = match (&release, limits) {
                        (FutureRelease::HoldFor(n), Some(l)) => *n > l.max_interval,
                        (FutureRelease::HoldUntil(t), Some(l)) => {
                            t.unix_seconds() > l.max_date_time.unix_seconds()
                        }
                        _ => false,
                    };
                    if too_late {
                        return Err(invalid(&format!("{upper} beyond the advertised maximum")));
                    }
                    if typed.future_release.replace(release).is_some() {
                        return Err(invalid("only one of HOLDFOR and HOLDUNTIL"));
                    }
                }
                "BY" if extended && ext.deliver_by.is_some() => {
                    let Some(Ok(by)) = v.map(DeliverBy::parse) else {
                        return Err(invalid("BY must be by-time;N or by-time;R[T]"));
                    };
                    let min = ext.deliver_by.unwrap_or(0);
                    if by.mode == crate::codec::ext_params::ByMode::Return
                        && i64::from(by.seconds) < i64::from(min)
                    {
                        return Err(invalid("BY time below the advertised minimum"));
                    }
                    if typed.deliver_by.replace(by).is_some() {
                        return Err(invalid("duplicate BY"));
                    }
                }
                _ => match find_rule(&self.settings.mail_parameters, &name) {
                    Some(rule) if extended => {
                        if !value_fits(rule, v) {
                            return Err(invalid(&format!("bad value for {name}")));
                        }
                        if kept
                            .iter()
                            .any(|(k, _): &(Text, _)| k.eq_ignore_ascii_case(&name))
                        {
                            return Err(invalid(&format!("duplicate {name}")));
                        }
                        kept.push((name, value));
                    }
                    _ => return Err(Reply::unknown_parameter(&name)),
                },
            }
        }
        params.other = kept;
        Ok(typed)
    }

    /// Checks the RCPT parameters (DSN, registered ones). `Err`: the reply.
    pub(super) fn check_rcpt_params(&self, params: &RcptParameters) -> Result<(), Reply> {
        let extended = self.session.extended;
        let dsn = self.settings.extensions.dsn && extended;
        if !dsn && (params.notify.is_some() || params.orcpt.is_some()) {
            let name = if params.notify.is_some() {
                "NOTIFY"
            } else {
                "ORCPT"
            };
            return Err(Reply::unknown_parameter(name));
        }
        for (i, (name, value)) in params.other.iter().enumerate() {
            match find_rule(&self.settings.rcpt_parameters, name) {
                Some(rule) if extended => {
                    if !value_fits(rule, value.as_deref()) {
                        return Err(invalid(&format!("bad value for {name}")));
                    }
                    let earlier = params.other.get(..i).unwrap_or_default();
                    if earlier.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
                        return Err(invalid(&format!("duplicate {name}")));
                    }
                }
                _ => return Err(Reply::unknown_parameter(name)),
            }
        }
        Ok(())
    }
}

fn invalid(reason: &str) -> Reply {
    Reply::argument_syntax_error(reason)
}
