fn main() {
    // `?view=fleet` opens the fleet view; anything else the single-device console.
    if thingsim_console::fleet::wants_fleet_view(&thingsim::shell::page::query()) {
        leptos::mount::mount_to_body(thingsim::FleetApp);
    } else {
        leptos::mount::mount_to_body(thingsim::App);
    }
}
