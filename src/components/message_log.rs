use thingsim_console::log::{LogLine, Ring, payload_text};
use thingsim_console::panels as console;
use thingsim_reactive::*;

pub use thingsim_console::log::{Direction, LOG_BYTES_CAP, LOG_CAP, PAYLOAD_KEPT};

use super::utc_time;
use crate::shell::dom::Node;
use crate::shell::rows::{self, Row};

/// A line's height, in pixels: an integer, so no float is ever formatted for a style.
const ROW: usize = 22;
const ROW_PX: f64 = ROW as f64;
const VIEW_ROWS: usize = 18;
const OVERSCAN: usize = 6;

/// The log's storage: lines live outside the reactive graph (cloning 100,000 lines per
/// message would freeze the page); a revision signal tells the view to look again.
#[derive(Clone, Copy)]
pub struct LogStore {
    lines: StoredValue<Ring>,
    held: StoredValue<Ring>,
    paused: RwSignal<bool>,
    revision: RwSignal<u64>,
    next_seq: StoredValue<u64>,
    refresh_armed: StoredValue<bool>,
}

impl LogStore {
    /// An empty log.
    pub fn new() -> Self {
        Self {
            lines: StoredValue::new(Ring::default()),
            held: StoredValue::new(Ring::default()),
            paused: RwSignal::new(false),
            revision: RwSignal::new(0),
            next_seq: StoredValue::new(0),
            refresh_armed: StoredValue::new(false),
        }
    }

    /// Appends a line. While paused, lines wait and join on resume. The view refreshes at most
    /// ten times a second, however fast messages come.
    pub fn push(&self, at: u64, direction: Direction, topic: String, qos: u8, payload: &[u8]) {
        let seq = self.next_seq.get_value();
        self.next_seq.set_value(seq + 1);
        let line = LogLine {
            seq,
            at,
            direction,
            topic,
            qos,
            size: payload.len(),
            payload: payload_text(payload),
        };
        if self.paused.get_untracked() {
            self.held.update_value(|h| h.extend([line]));
            return;
        }
        self.lines.update_value(|l| l.extend([line]));
        if !self.refresh_armed.get_value() {
            self.refresh_armed.set_value(true);
            let this = *self;
            crate::shell::timers::after(100, move || {
                // The log may be gone by now (an unmounted page).
                this.refresh_armed.try_set_value(false);
                this.revision.try_update(|r| *r += 1);
            });
        }
    }

    /// Every line, oldest first, as JSON for export.
    pub fn to_json(&self) -> String {
        self.lines.with_value(|ring| {
            let items: Vec<serde_json::Value> = ring
                .lines
                .iter()
                .map(|l| {
                    thingsim_fleet::json::object([
                        ("seq", l.seq.into()),
                        ("at", l.at.into()),
                        ("direction", l.direction.as_str().into()),
                        ("topic", l.topic.as_str().into()),
                        ("qos", l.qos.into()),
                        ("size", l.size.into()),
                        ("payload", l.payload.as_str().into()),
                    ])
                })
                .collect();
            thingsim_fleet::json::pretty(&serde_json::Value::Array(items))
        })
    }

    fn clear(&self) {
        self.lines.update_value(Ring::clear);
        self.held.update_value(Ring::clear);
        self.revision.update(|r| *r += 1);
    }

    fn set_paused(&self, paused: bool) {
        self.paused.set(paused);
        if !paused {
            let held = self
                .held
                .try_update_value(std::mem::take)
                .unwrap_or_default();
            self.lines.update_value(|l| l.extend(held.lines));
            self.revision.update(|r| *r += 1);
        }
    }

    /// How many lines are kept.
    fn len(&self) -> usize {
        self.revision.track();
        self.lines.with_value(|ring| ring.lines.len())
    }
}

impl Default for LogStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A payload as people read it: pretty JSON when it is JSON, else as it came.
fn pretty(payload: &str) -> String {
    thingsim_fleet::json::value(payload.as_bytes())
        .map_or_else(|_| payload.to_owned(), |v| console::pretty(&v))
}

/// The cells of a row: time, direction, topic, QoS and size, payload.
const CELLS: [&str; 5] = [
    "log-time",
    "log-dir",
    "log-topic",
    "log-meta",
    "log-payload",
];

fn row(line: &LogLine) -> Row {
    let (class, arrow) = match line.direction {
        Direction::In => ("log-line log-in", "←"),
        Direction::Out => ("log-line log-out", "→"),
        Direction::Note => ("log-line log-note", "!"),
    };
    Row {
        class,
        cells: vec![
            clock(line.at),
            arrow.to_owned(),
            line.topic.clone(),
            format!("q{} {}B", line.qos, line.size),
            line.payload.clone(),
        ],
    }
}

/// `HH:MM:SS.mmm` UTC.
fn clock(at: u64) -> String {
    format!("{}.{:03}", utc_time(at), at % 1000)
}

/// Every packet in and out: time (UTC), direction, topic, QoS, size, payload as text. Filter,
/// pause, clear, export. Only the rows in view exist in the DOM, so 100,000 lines stay cheap.
/// Built into `at`, from `store`; Export calls `on_export` with the log as JSON.
pub fn message_log(at: &Node, store: LogStore, on_export: Callback<String>) {
    let filter = RwSignal::new(String::new());
    let direction = RwSignal::new(String::from("all"));
    let scroll_top = RwSignal::new(0.0_f64);
    let selected = RwSignal::new(None::<LogLine>);
    let follow = RwSignal::new(true);

    // Indices of the lines that pass the filter; recomputed on a refresh, not per message.
    let matching = Memo::new(move |_| {
        store.revision.track();
        // ASCII case only, as topics are in practice: Unicode's case tables cost the module
        // 5 KB gzip.
        let needle = filter.get().to_ascii_lowercase();
        let dir = direction.get();
        store.lines.with_value(|ring| {
            ring.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| dir == "all" || l.direction.as_str() == dir)
                .filter(|(_, l)| {
                    needle.is_empty() || l.topic.to_ascii_lowercase().contains(&needle)
                })
                .map(|(i, _)| i)
                .collect::<Vec<usize>>()
        })
    });
    let total = move || matching.with(Vec::len);
    // Not a memo of its own type (code of its own): a scroll within a row runs its two readers
    // again, which then write nothing new.
    let first = move || {
        // A filter can shrink the list below where the view was scrolled: show its end.
        let last_page = total().saturating_sub(VIEW_ROWS);
        ((scroll_top.get() / ROW_PX) as usize)
            .min(last_page)
            .saturating_sub(OVERSCAN)
    };

    let made = at.html(concat!(
        r#"<div class="log-tools">"#,
        r#"<label class="inline">Topic contains <input type="search" data-testid="log-filter" placeholder="e.g. jobs"></label>"#,
        r#"<label class="inline">Direction <select data-testid="log-direction">"#,
        r#"<option value="all">all</option><option value="in">in</option>"#,
        r#"<option value="out">out</option><option value="note">notes</option></select></label>"#,
        r#"<button type="button" data-testid="log-pause"></button>"#,
        r#"<button type="button" data-testid="log-clear">Clear</button>"#,
        r#"<button type="button" data-testid="log-export">Export JSON</button>"#,
        r#"<span class="muted" data-testid="log-count"></span>"#,
        "</div>",
        r#"<div class="log-view" data-testid="message-log" tabindex="0" role="log" aria-label="Message log">"#,
        r#"<div class="log-spacer"></div></div>"#
    ));
    super::two_way(&made.part("log-filter"), filter);
    made.part("log-direction")
        .on_value(move |v| direction.set(v));
    let pause = made.part("log-pause");
    super::attr(&pause, "aria-pressed", move || {
        Some(store.paused.get().to_string())
    });
    super::text(&pause, move || {
        String::from(if store.paused.get() {
            "Resume"
        } else {
            "Pause"
        })
    });
    pause.on_click(move || store.set_paused(!store.paused.get_untracked()));
    made.part("log-clear").on_click(move || {
        selected.set(None);
        store.clear();
    });
    made.part("log-export")
        .on_click(move || on_export.run(store.to_json()));
    super::text(&made.part("log-count"), move || {
        format!("{} of {} messages", total(), store.len())
    });

    let viewport = made.part("message-log");
    viewport.on("scroll", move |ev| {
        if let Some((top, at_bottom)) = crate::shell::page::scroll_position(&ev, ROW_PX) {
            scroll_top.set(top);
            follow.set(at_bottom);
        }
    });
    let list = made.find(".log-spacer");
    let spacer = list.clone();
    effect(move || spacer.style("height", &format!("{}px", total() * ROW)));
    let spacer = list.clone();
    effect(move || spacer.style("padding-top", &format!("{}px", first() * ROW)));

    // The rows in view are drawn by hand (`shell::rows`): under a stream every redraw brings
    // new lines, and the rows that scrolled out are written again for them.
    let drawn = StoredValue::new(Vec::<u64>::new());
    // The lines the rows show, top first, for a click to find its line.
    let shown = StoredValue::new(Vec::<LogLine>::new());
    let clicked = list.clone();
    list.on("click", move |ev| {
        if let Some(line) = rows::row_of(clicked.element(), &ev)
            .and_then(|i| shown.with_value(|s| s.get(i).cloned()))
        {
            selected.set(Some(line));
        }
    });
    effect(move || {
        // A full log that matches every line keeps the same indices as lines come and go:
        // `matching` does not change, the revision does.
        store.revision.track();
        let first = first();
        let lines: Vec<LogLine> = matching.with(|m| {
            store.lines.with_value(|ring| {
                m.iter()
                    .skip(first)
                    .take(VIEW_ROWS + 2 * OVERSCAN)
                    .filter_map(|i| ring.lines.get(*i).cloned())
                    .collect()
            })
        });
        let seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
        drawn.update_value(|drawn| {
            rows::scroll(list.element(), drawn, &seqs, &CELLS, |i| row(&lines[i]));
        });
        shown.set_value(lines);
    });
    // Keep the newest line in view while the user has not scrolled up. Setting scrollTop lays
    // the page out on the spot; just before a frame that layout is the frame's own, anywhere
    // else it is one more (16 ms of a cold start went to it).
    effect(move || {
        let n = total();
        if follow.get_untracked() {
            let viewport = viewport.clone();
            crate::shell::timers::before_next_frame(move || {
                // Unless the user scrolled up meanwhile (or the log is gone).
                if follow.try_with_untracked(|f| *f) == Some(true) {
                    viewport.scroll_to((n as f64 * ROW_PX) as i32);
                }
            });
        }
    });

    super::region(at, move |at| {
        if let Some(l) = selected.get() {
            let detail = at.html(concat!(
                r#"<div class="log-detail" data-testid="log-detail">"#,
                r#"<p class="muted"></p><pre></pre></div>"#
            ));
            detail.find("p").text(Some(&format!(
                "{} · {} · {} · QoS {} · {} bytes",
                clock(l.at),
                l.direction.as_str(),
                l.topic,
                l.qos,
                l.size
            )));
            detail.find("pre").text(Some(&pretty(&l.payload)));
        }
    });
}
