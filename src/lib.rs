//! thingsim: a virtual EMQX Fleets device in the browser.
//!
//! This crate is the thin part: browser shells in [`shell`] (WebSocket transport, clock,
//! timers, the run loop that drives the pure session) and presentational [`components`].
//! Protocol meaning lives in `thingsim-mqtt` and `thingsim-fleet`; see ARCHITECTURE.md.

// Shell code must not panic on a browser quirk: ruffle's rule.
#![deny(clippy::unwrap_used)]

pub mod app;
pub mod components;
#[cfg(feature = "fleet")]
pub mod fleet_app;
pub mod shell;
pub mod testing;

pub use app::{Attached, Mounted, device_console, mount, mount_with};
#[cfg(feature = "fleet")]
pub use fleet_app::FleetApp;
/// The console's signals, memos and effects (for tests that build a panel).
pub use thingsim_reactive as reactive;
