//! The door lock: a padlock whose shackle closes when locked, the door beside it, the battery
//! below; pressing the lock locks or unlocks it.

use thingsim_console::panels::fixed;

use super::{Face, button};
use crate::shell::dom::Node;

pub(super) fn build(at: &Node, face: Face) {
    let (locked, open, battery) = (face.on("locked"), face.on("doorOpen"), face.num("battery"));
    let made = at.html(concat!(
        r#"<svg viewBox="0 0 240 170" role="group" aria-label="Door lock" class="face-svg lock">"#,
        r#"<rect x="150" y="20" width="62" height="118" rx="4" class="door"/>"#,
        r#"<text x="181" y="156" class="face-small"></text>"#,
        r#"<g class="face-button padlock" role="button" tabindex="0" data-testid="face-lock"><title></title>"#,
        r#"<path d="M62 74 v-22 a28 28 0 0 1 56 0 v22" class="shackle face-stroke" data-testid="face-shackle"/>"#,
        r#"<rect x="50" y="72" width="80" height="62" rx="10" class="lock-body"/><circle cx="90" cy="98" r="7" class="keyhole"/>"#,
        r#"<rect x="86" y="100" width="8" height="16" rx="2" class="keyhole"/></g>"#,
        r#"<text x="90" y="156" class="face-small" data-testid="face-lock-state"></text>"#,
        r#"<rect x="14" y="14" width="34" height="14" rx="3" class="battery-shell"/>"#,
        r#"<rect x="16" y="16" height="10" rx="2" class="battery-level"/>"#,
        "</svg>"
    ));
    super::super::class(&made.root(), "locked", locked);
    super::super::class(&made.find(".door"), "open", open);
    super::super::text(&made.find(r#"[x="181"]"#), move || {
        String::from(if open() { "door open" } else { "door closed" })
    });
    super::super::text(&made.part("face-lock-state"), move || {
        String::from(if locked() { "locked" } else { "unlocked" })
    });
    super::super::attr(&made.find(".battery-level"), "width", move || {
        Some(fixed(30.0 * battery() / 100.0, 1))
    });
    button(
        &made,
        "face-lock",
        Box::new(move || face.toggle("locked")),
        Some(Box::new(move || {
            format!(
                "Door lock {}, door {}, battery {} %: press to {}",
                if locked() { "locked" } else { "unlocked" },
                if open() { "open" } else { "closed" },
                fixed(battery(), 0),
                if locked() { "unlock" } else { "lock" }
            )
        })),
    );
}
