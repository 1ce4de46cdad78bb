//! The wire codec shared by the server and client machines: commands, replies, envelope
//! paths, MAIL/RCPT parameters, the DATA body and SASL framing. Pure functions and small
//! streaming state; no I/O.

pub mod command;
pub mod command_ref;
pub mod data;
pub mod ext_params;
pub mod params;
pub mod path;
pub mod reply;
pub mod sasl;
pub mod text;

pub use command::{Command, CommandError, Leniency, ParseOptions};
pub use command_ref::CommandRef;
pub use data::{DotUnstuffer, StuffState, dot_stuff, finish_data};
pub use ext_params::{ByMode, DateTime3339, DeliverBy, FutureRelease, MailExtensions, MtPriority};
pub use params::{
    Body, MailParameters, MailParametersRef, Notify, RcptParameters, RcptParametersRef, Ret,
};
pub use path::{
    ForwardPath, ForwardPathRef, Mailbox, MailboxRef, PathError, ReversePath, ReversePathRef,
};
pub use reply::{EnhancedStatus, Reply, ReplyError, ReplyLimits, parse_reply};
pub use sasl::Mechanism;
pub use text::{Text, TextRef};
