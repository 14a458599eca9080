//! `thingsim-console`: what thingsim's page shows, pure. The connection form and the URL's
//! settings (`config`), the panels' view models folded from device events (`panels`), and the
//! message log's ring (`log`). The page's components render these and decide nothing; the
//! protocol crates and `thingsim-cloud` never see them.

#![warn(missing_docs)]

pub mod config;
pub mod embed;
pub mod fleet;
pub mod log;
pub mod panels;

pub use panels::{Console, Feed};
