//! Per-session settings: what this session advertises and accepts, starting from the
//! [`Config`] defaults and changeable by the application at any decision point.

use std::sync::Arc;

use postwerk_sasl::server::ServerMechanisms;

use super::config::{Config, Decisions, Extensions, ParamRule, ParamValue};

/// What one session offers: the SIZE limit, the AUTH mechanisms, the extensions, the
/// application's own EHLO keywords and MAIL/RCPT parameters, and the decision points.
///
/// [`Connection::new`](super::Connection::new) copies it from the [`Config`];
/// [`Connection::settings_mut`](super::Connection::settings_mut) changes it for this
/// session only, e.g. a bigger SIZE after login or AUTH offered after STARTTLS. A change
/// applies to the next EHLO reply and to the next command: a client that already read the
/// EHLO reply sees the new keywords only after it sends EHLO again (as after STARTTLS or
/// AUTH), while the limits take effect at once.
///
/// ```
/// use std::time::Instant;
/// use postwerk_smtp::server::{Config, Connection};
///
/// let mut conn = Connection::new(Config::new("mx.example"), Instant::now());
/// conn.settings_mut().max_message_size = 100 * 1024 * 1024;
/// conn.settings_mut().extensions.mt_priority = true;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Advertised extensions.
    pub extensions: Extensions,
    /// Largest message in octets (advertised with SIZE); `552 5.3.4` above it.
    pub max_message_size: u64,
    /// SASL mechanisms offered.
    pub sasl: Arc<ServerMechanisms>,
    /// This session's nonce from the caller's random source (printable ASCII without
    /// `,`), needed by SCRAM: each AUTH of the session uses it with a counter appended.
    /// Without it a SCRAM `AUTH` is answered `454 4.7.0`.
    pub sasl_nonce: Option<String>,
    /// Decision points the application answers.
    pub decisions: Decisions,
    /// EHLO keywords the application adds.
    pub ehlo_keywords: Vec<String>,
    /// MAIL parameters the application accepts.
    pub mail_parameters: Vec<ParamRule>,
    /// RCPT parameters the application accepts.
    pub rcpt_parameters: Vec<ParamRule>,
}

impl Settings {
    /// The defaults of `config`.
    pub fn from_config(config: &Config) -> Settings {
        Settings {
            extensions: config.extensions.clone(),
            max_message_size: config.limits.max_message_size,
            sasl: config.sasl.clone(),
            sasl_nonce: None,
            decisions: config.decisions,
            ehlo_keywords: config.ehlo_keywords.clone(),
            mail_parameters: config.mail_parameters.clone(),
            rcpt_parameters: config.rcpt_parameters.clone(),
        }
    }

    /// Adds an EHLO keyword line (e.g. `XFOO` or `XFOO 10`).
    pub fn add_ehlo_keyword(&mut self, keyword: impl Into<String>) {
        self.ehlo_keywords.push(keyword.into());
    }

    /// Accepts the MAIL parameter `name` (see [`ParamRule`]).
    pub fn register_mail_parameter(&mut self, name: impl Into<String>, value: ParamValue) {
        self.mail_parameters.push(ParamRule::new(name, value));
    }

    /// Accepts the RCPT parameter `name` (see [`ParamRule`]).
    pub fn register_rcpt_parameter(&mut self, name: impl Into<String>, value: ParamValue) {
        self.rcpt_parameters.push(ParamRule::new(name, value));
    }
}

/// The rule registered for `name`, if any.
pub(super) fn find_rule<'a>(rules: &'a [ParamRule], name: &str) -> Option<&'a ParamRule> {
    rules.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

/// Whether `value` fits `rule`.
pub(super) fn value_fits(rule: &ParamRule, value: Option<&str>) -> bool {
    match rule.value {
        ParamValue::None => value.is_none(),
        ParamValue::Required => value.is_some(),
        ParamValue::Optional => true,
    }
}
