//! Presentational components: props in, callbacks out, no protocol logic.

pub mod cloud_panel;
pub mod commands_panel;
pub mod connection_form;
pub mod device_panel;
pub mod faces;
pub mod fleet;
pub mod job_panel;
pub mod message_log;
pub mod shadow_panel;
pub mod status_line;
pub mod telemetry_panel;

pub use cloud_panel::CloudPanel;
pub use commands_panel::CommandsPanel;
pub use connection_form::ConnectionForm;
pub use device_panel::DevicePanel;
pub use faces::DeviceFace;
pub use fleet::{FleetGrid, FleetGroups, FleetMetrics};
pub use job_panel::JobPanel;
pub use message_log::{Direction, LogStore, MessageLog};
pub use shadow_panel::ShadowPanel;
pub use status_line::{DeafNote, StatusLine};
pub use telemetry_panel::TelemetryPanel;

/// A text that follows the state (a button's name, a figure): a closure behind one pointer
/// type, where a `Signal<String>` or a closure type each would bring code of its own.
pub(crate) type Text = std::sync::Arc<dyn Fn() -> String + Send + Sync>;

/// An effect whose work sits behind one pointer type: Leptos's effect code is compiled once
/// for all of them (in [`boxed_effect`], which is not generic), not once for each closure.
pub(crate) fn effect(work: impl Fn() + 'static) {
    boxed_effect(Box::new(work));
}

fn boxed_effect(work: Box<dyn Fn()>) {
    leptos::prelude::Effect::new(move |_| work());
}

/// `HH:MM:SS` (UTC) of epoch milliseconds: the time of day every panel shows.
fn utc_time(ms: u64) -> String {
    let secs = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}
