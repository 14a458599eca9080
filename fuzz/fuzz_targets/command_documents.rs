//! Command requests (device role) and responses (cloud role).
#![no_main]

use libfuzzer_sys::fuzz_target;
use thingsim_fleet::commands::{CommandAgent, CommandTracker};
use thingsim_fleet::model::{DeviceModel, TEMPLATES};
use thingsim_fleet::commands::RequestVerdict;

fuzz_target!(|data: &[u8]| {
    let mut agent = CommandAgent::default();
    if let RequestVerdict::Execute(request) = agent.handle_request(0, "e1", data) {
        for template in TEMPLATES {
            let _ = DeviceModel::new(template, 1).run_command(&request.action, &request.params);
        }
    }
    let mut tracker = CommandTracker::default();
    let id = tracker.send(0, "t", "reboot", Default::default(), 30).execution_id.clone();
    let _ = tracker.handle_response(1, &id, data);
});
