//! The in-memory world's own promises: the network emulator, clean sessions, seeds, and the
//! cloud's events (the Fleets flows through it are in scenarios.rs).

use serde_json::json;
use thingsim_fleet::device::DeviceOptions;
use thingsim_fleet::model::{ENVIRONMENT_SENSOR, SMART_LIGHT};
use thingsim_fleet::shadow::state::State;
use thingsim_fleet::world::{Netem, World};
use thingsim_mqtt::{Message, Millis, Qos};

#[test]
fn a_device_on_a_clean_session_still_hears_the_cloud_after_reconnecting() {
    let mut w = World::new(Millis(1_000_000));
    let idx = w.add_device("lamp-1", &SMART_LIGHT, DeviceOptions::default());
    w.nodes[idx].persistent = false;
    w.disconnect(idx);
    w.connect(idx);
    w.run_for(100);
    let thing = w.nodes[idx].device.thing().clone();
    let mut desired = State::new();
    desired.insert("brightness".into(), json!(30));
    w.with_cloud(|c, now| c.set_desired(now, &thing, desired))
        .unwrap_or_else(|e| panic!("{e:?}"));
    w.run_for(100);
    assert_eq!(
        w.nodes[idx].device.model().state()["brightness"],
        json!(30.0)
    );
}

#[test]
fn devices_of_one_template_wander_apart() {
    let mut w = World::new(Millis(1_000_000));
    let options = DeviceOptions {
        telemetry_ms: Some(1_000),
        ..DeviceOptions::default()
    };
    for n in 1..=4 {
        w.add_device(&format!("sensor-{n}"), &ENVIRONMENT_SENSOR, options);
    }
    w.run_for(10_000);
    let states: Vec<_> = w.nodes.iter().map(|n| n.device.model().state()).collect();
    for (i, a) in states.iter().enumerate() {
        for b in &states[i + 1..] {
            assert_ne!(a, b, "two devices drew the same readings");
        }
    }
}

fn wire_world(netem: Netem) -> World {
    let mut w = World::new(Millis(1_000_000));
    w.add_device("lamp-1", &SMART_LIGHT, DeviceOptions::default());
    w.run_for(100);
    w.netem = Netem {
        delay_ms: 20,
        ..netem
    };
    w.trace = true;
    w
}

/// Sends `count` events at `qos` from device 0 and returns when each left its link.
fn send_events(w: &mut World, count: usize, qos: Qos) -> Vec<Millis> {
    for n in 0..count {
        let topic = format!("$emqx/things/lamp-1/events/e{n}");
        w.publish_from(0, Message::new(topic, "{}", qos));
    }
    w.run_for(100);
    w.take_wire()
        .into_iter()
        .filter(|x| x.outgoing && x.message.topic.contains("/events/"))
        .map(|x| x.at)
        .collect()
}

#[test]
fn the_network_loses_only_qos0_and_duplicates_a_millisecond_apart() {
    let mut w = wire_world(Netem {
        drop_qos0_every: Some(1),
        ..Netem::default()
    });
    assert!(send_events(&mut w, 4, Qos::AtMostOnce).is_empty());
    assert_eq!(send_events(&mut w, 4, Qos::AtLeastOnce).len(), 4);
    w.netem.drop_qos0_every = Some(2);
    assert_eq!(send_events(&mut w, 10, Qos::AtMostOnce).len(), 5);
    w.netem.drop_qos0_every = Some(0);
    assert_eq!(send_events(&mut w, 4, Qos::AtMostOnce).len(), 4);

    let mut w = wire_world(Netem {
        duplicate_every: Some(1),
        ..Netem::default()
    });
    let start = w.now;
    let at = send_events(&mut w, 1, Qos::AtLeastOnce);
    assert_eq!(at, vec![start + 20, start + 21]);
    w.netem.duplicate_every = Some(0);
    assert_eq!(send_events(&mut w, 3, Qos::AtLeastOnce).len(), 3);
}

#[test]
fn cloud_events_are_handed_over_once() {
    let mut w = World::new(Millis(1_000_000));
    w.add_device("lamp-1", &SMART_LIGHT, DeviceOptions::default());
    w.run_for(100);
    assert!(
        !w.take_cloud_events().is_empty(),
        "the device's first report"
    );
    assert!(w.take_cloud_events().is_empty());
}

#[test]
fn removing_devices_drops_what_is_on_the_wire_to_and_from_them_only() {
    let mut w = World::new(Millis(1_748_390_400_000));
    w.netem = Netem {
        delay_ms: 50,
        ..Netem::default()
    };
    let options = DeviceOptions::default();
    for name in ["l-1", "l-2", "l-3"] {
        w.add_device(name, &SMART_LIGHT, options);
    }
    w.run_for(1_000);
    // Deltas on their way to all three, and a report from the last on its way out.
    for name in ["l-1", "l-2", "l-3"] {
        let thing = thingsim_fleet::ThingName::new(name).unwrap();
        let desired = json!({"brightness": 11}).as_object().cloned().unwrap();
        w.with_cloud(|c, now| c.set_desired(now, &thing, desired))
            .unwrap();
    }
    w.remove_last(2);
    assert_eq!(w.nodes.len(), 1);
    w.run_for(1_000);
    assert_eq!(
        w.nodes[0].device.model().state()["brightness"].as_f64(),
        Some(11.0),
        "the kept device still gets its delta"
    );
}
