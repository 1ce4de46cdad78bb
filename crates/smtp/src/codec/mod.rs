//! The wire codec shared by the server and client machines: commands, replies, envelope
//! paths, MAIL/RCPT parameters, the DATA body and SASL framing. Pure functions and small
//! streaming state; no I/O.

pub mod command;
pub mod data;
pub mod params;
pub mod path;
pub mod reply;
pub mod sasl;

pub use command::{Command, CommandError, Leniency, ParseOptions};
pub use data::{DotUnstuffer, StuffState, dot_stuff, finish_data};
pub use params::{Body, MailParameters, Notify, RcptParameters, Ret};
pub use path::{ForwardPath, Mailbox, PathError, ReversePath};
pub use reply::{EnhancedStatus, Reply, ReplyError, ReplyLimits, parse_reply};
pub use sasl::Mechanism;
