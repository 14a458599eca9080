//! Presentational components: props in, callbacks out, no protocol logic.

pub mod connection_form;
pub mod device_panel;
pub mod job_panel;
pub mod message_log;
pub mod status_line;

pub use connection_form::ConnectionForm;
pub use device_panel::DevicePanel;
pub use job_panel::{JobPanel, JobView};
pub use message_log::{Direction, LogLine, MessageLog};
pub use status_line::StatusLine;
