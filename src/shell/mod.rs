//! Browser glue: everything that touches web-sys lives under this module.

pub mod broker_fleet;
pub mod channel;
pub mod client;
pub mod clock;
pub mod dom;
pub mod fleet;
pub mod http;
pub mod page;
pub mod rows;
pub mod sandbox;
pub mod timers;
pub mod websocket;
