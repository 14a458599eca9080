//! `thingsim-fleet`: the EMQX Fleets device protocol, pure.
//!
//! Contract: topic grammar and JSON documents of the EMQX Fleets protocol as `docs/protocol.md`
//! states it, with no MQTT, no sockets and no clock. Callers pass strings and bytes in and get
//! typed values or an [`Error`] that says what was wrong.
//!
//! It does not: send anything (the MQTT session and the shells do), or decide *when* to act.
//! See ARCHITECTURE.md at the repository root for the layers.

#![warn(missing_docs)]

pub mod api;
pub mod cloud;
pub mod commands;
pub mod device;
mod error;
mod fields;
pub mod fleet;
pub mod https;
pub mod jobs;
pub mod json;
pub mod model;
pub mod shadow;
pub mod stack;
pub mod topics;
pub mod vec_map;
mod wire_names;
pub mod world;

pub use error::{Error, Result};
pub use topics::{ThingName, Topic};
