//! The device shadow (fleets-protocol.md, "Shadow"; AWS Device Shadow conventions where
//! Fleets is silent): wire documents, the state algebra (merge where `null` deletes, delta),
//! and both roles.

pub mod cloud;
pub mod device;
pub mod state;
mod wire;

pub use wire::{Delta, Update, UpdateState};
