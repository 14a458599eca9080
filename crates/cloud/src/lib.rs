//! `thingsim-cloud`: the local Fleets stand-in, a native shell around the pure crates.
//!
//! This crate is where native I/O happens: a TCP connection to the broker driven by the same
//! sans-I/O [`thingsim_mqtt::Session`] the browser uses, and an HTTP server. The Fleets
//! semantics live in `thingsim-fleet` (`Cloud`); [`api`] maps HTTP requests onto it as a pure
//! function; nothing here decides what a message means.

pub mod api;
pub mod broker_users;
pub mod http;
pub mod store;
pub mod tcp;
