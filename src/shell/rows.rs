//! A list's rows drawn by hand, for a list that a stream of changes rewrites whole.
//!
//! Under a stream the shadow timeline's fifty rows are all new at every redraw. Leptos's keyed
//! list built fifty rows and threw fifty away each time (2 to 3 ms of a 3 ms redraw, and a
//! delta that arrives meanwhile waits for it). Here the rows that go are filled again and put
//! on top: a redraw writes text and creates nothing.

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
        let Some(li) = spare.pop().or_else(|| new_row(list, cells)) else {
            list.set_text_content(None);
            return false;
        };
        li.set_class_name(row.class);
        let mut cell = li.first_element_child();
        for text in &row.cells {
            let Some(span) = cell else { break };
            span.set_text_content(Some(text));
            cell = span.next_element_sibling();
        }
        // On top: a new row goes in, a spare one moves up from the bottom.
        let _ = list.prepend_with_node_1(&li);
    }
    for li in spare {
        li.remove();
    }
    true
}

fn new_row(list: &Element, cells: &[&str]) -> Option<Element> {
    let document = list.owner_document()?;
    let li = document.create_element("li").ok()?;
    for class in cells {
        let span = document.create_element("span").ok()?;
        if !class.is_empty() {
            span.set_class_name(class);
        }
        li.append_child(&span).ok()?;
    }
    Some(li)
}
