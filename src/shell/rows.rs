//! A list's rows drawn by hand, for a list that a stream of changes rewrites whole.
//!
//! Under a stream the shadow timeline's fifty rows are all new at every redraw, and so are
//! the message log's rows in view. Leptos's keyed list built them and threw as many away each
//! time (2 to 3 ms of a 3 ms redraw, and a delta that arrives meanwhile waits for it), and its
//! code weighed 6 KB gzip. Here the rows that go are filled again for the ones that come: a
//! redraw writes text and creates nothing.

use web_sys::Element;

/// One row: its class and its cells' text, in order.
pub struct Row {
    /// The row's class.
    pub class: &'static str,
    /// One text a cell.
    pub cells: Vec<String>,
}

/// Takes the `drop` last rows off `list` and puts `rows` (the first on top) before the rest.
/// A row is an `<li>` of one `<span>` a cell, classed by `cells`. The rows taken off become
/// the new ones, so only rows beyond them are created. `false` when a row could not be
/// created: the list is then emptied, to be drawn afresh.
pub fn splice(list: &Element, drop: usize, rows: &[Row], cells: &[&str]) -> bool {
    let mut spare = Vec::with_capacity(drop);
    let mut last = list.last_element_child();
    while spare.len() < drop {
        let Some(li) = last else { break };
        last = li.previous_element_sibling();
        spare.push(li);
    }
    // Oldest first, each put on top of the one before.
    for row in rows.iter().rev() {
        debug_assert_eq!(row.cells.len(), cells.len(), "a text for every cell");
        let Some(li) = spare.pop().or_else(|| new_row(list, "li", cells)) else {
            list.set_text_content(None);
            return false;
        };
        fill(&li, row);
        // On top: a new row goes in, a spare one moves up from the bottom.
        let _ = list.prepend_with_node_1(&li);
    }
    for li in spare {
        li.remove();
    }
    true
}

/// Shows the rows `row(i)` for the lines `next` (a window on a list, in order) in `list`,
/// whose children show `drawn`. The rows that scrolled out at one end go to the other
/// (`thingsim_console::log::slide`), then only the rows whose line changed are written. A row
/// is a `<div>` of one `<span>` a cell. `false` when a row could not be created: the list is
/// then emptied, to be drawn afresh.
pub fn scroll(
    list: &Element,
    drawn: &mut Vec<u64>,
    next: &[u64],
    cells: &[&str],
    row: impl Fn(usize) -> Row,
) -> bool {
    let n = thingsim_console::log::slide(drawn, next);
    let moved = (0..n.unsigned_abs()).all(|_| {
        if n > 0 {
            list.first_element_child()
                .and_then(|r| list.append_child(&r).ok())
                .is_some()
        } else {
            list.last_element_child()
                .and_then(|r| list.prepend_with_node_1(&r).ok())
                .is_some()
        }
    });
    if !moved {
        // Rows the browser would not move are all written again.
        drawn.clear();
    } else if n > 0 {
        drawn.rotate_left(n.unsigned_abs());
    } else {
        drawn.rotate_right(n.unsigned_abs());
    }
    let mut el = list.first_element_child();
    for (i, seq) in next.iter().enumerate() {
        let Some(r) = el.take().or_else(|| {
            let r = new_row(list, "div", cells)?;
            list.append_child(&r).ok()?;
            Some(r)
        }) else {
            list.set_text_content(None);
            drawn.clear();
            return false;
        };
        if drawn.get(i) != Some(seq) {
            fill(&r, &row(i));
        }
        el = r.next_element_sibling();
    }
    while let Some(r) = el {
        el = r.next_element_sibling();
        r.remove();
    }
    drawn.clear();
    drawn.extend_from_slice(next);
    true
}

fn fill(el: &Element, row: &Row) {
    el.set_class_name(row.class);
    let mut cell = el.first_element_child();
    for text in &row.cells {
        let Some(span) = cell else { break };
        span.set_text_content(Some(text));
        cell = span.next_element_sibling();
    }
}

fn new_row(list: &Element, tag: &str, cells: &[&str]) -> Option<Element> {
    let document = list.owner_document()?;
    let li = document.create_element(tag).ok()?;
    for class in cells {
        let span = document.create_element("span").ok()?;
        if !class.is_empty() {
            span.set_class_name(class);
        }
        li.append_child(&span).ok()?;
    }
    Some(li)
}

/// Which row of `list` (a direct child) an event inside it came from, counted from the top;
/// `None` for one on the list itself. `list` is passed, not read from the event's
/// `currentTarget`, which is the list only while Leptos's event delegation stays off.
pub fn row_of(list: &Element, event: &web_sys::Event) -> Option<usize> {
    use wasm_bindgen::JsCast;
    let target: Element = event.target()?.dyn_into().ok()?;
    let mut row = target;
    while row.parent_element().as_ref() != Some(list) {
        row = row.parent_element()?;
    }
    Some(
        std::iter::successors(
            row.previous_element_sibling(),
            Element::previous_element_sibling,
        )
        .count(),
    )
}
