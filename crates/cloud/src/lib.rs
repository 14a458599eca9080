//! `thingsim-cloud`: the local Fleets stand-in, a native shell around the pure crates.
//!
//! This crate is where native I/O happens: a TCP connection to the broker driven by the same
//! sans-I/O [`thingsim_mqtt::Session`] the browser uses. The Fleets semantics it applies live
//! in `thingsim-fleet`; nothing here decides what a message means.

pub mod tcp;
