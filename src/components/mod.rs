//! Presentational components: props in, callbacks out, no protocol logic.

pub mod connection_form;
pub mod message_log;
pub mod status_line;

pub use connection_form::ConnectionForm;
pub use message_log::{Direction, LogLine, MessageLog};
pub use status_line::StatusLine;
