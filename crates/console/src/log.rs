//! The message log's storage: lines bounded by count and by bytes, payloads kept as text.

use std::collections::VecDeque;

/// Which way a log line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the broker.
    In,
    /// Handed to the session for sending.
    Out,
    /// Not a message: an error or notice.
    Note,
}

impl Direction {
    /// `in`, `out` or `note` (exports).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
            Self::Note => "note",
        }
    }
}

/// One line of the message log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Unique, increasing.
    pub seq: u64,
    /// Epoch milliseconds.
    pub at: u64,
    /// In, out or a note.
    pub direction: Direction,
    /// Topic (or what a note is about).
    pub topic: String,
    /// QoS (0 for notes).
    pub qos: u8,
    /// Payload size in bytes.
    pub size: usize,
    /// Payload as text (never HTML).
    pub payload: String,
}

/// Lines kept; the oldest go first.
pub const LOG_CAP: usize = 100_000;
/// Topic and payload text kept in all, in bytes; past it the oldest lines go first.
pub const LOG_BYTES_CAP: usize = 32 * 1024 * 1024;
/// Payload text kept per line; a larger payload is cut (its size column keeps the real size).
pub const PAYLOAD_KEPT: usize = 16 * 1024;

/// Lines bounded by count and by bytes, oldest first.
#[derive(Debug, Default)]
pub struct Ring {
    /// The lines, oldest first.
    pub lines: VecDeque<LogLine>,
    bytes: usize,
}

impl Ring {
    /// Appends lines, then drops the oldest past either bound.
    pub fn extend(&mut self, lines: impl IntoIterator<Item = LogLine>) {
        for line in lines {
            self.bytes += line_bytes(&line);
            self.lines.push_back(line);
        }
        while self.lines.len() > LOG_CAP || (self.bytes > LOG_BYTES_CAP && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= line_bytes(&old);
            }
        }
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.lines.clear();
        self.bytes = 0;
    }
}

fn line_bytes(line: &LogLine) -> usize {
    line.topic.len() + line.payload.len()
}

/// A payload as text, cut at [`PAYLOAD_KEPT`] bytes (on a character boundary) with a note of
/// how much was left out.
pub fn payload_text(payload: &[u8]) -> String {
    if payload.len() <= PAYLOAD_KEPT {
        return String::from_utf8_lossy(payload).into_owned();
    }
    let mut text = String::from_utf8_lossy(&payload[..PAYLOAD_KEPT]).into_owned();
    // A multi-byte character cut in half became U+FFFD; drop it.
    if text.ends_with('\u{FFFD}') {
        text.pop();
    }
    text.push_str(&format!(
        "… ({} of {} bytes shown)",
        PAYLOAD_KEPT,
        payload.len()
    ));
    text
}

/// How the rows on screen move to show `next` where they showed `shown` (each a window of
/// line numbers, in order): `n > 0` when the first `n` rows scrolled out at the top and go to
/// the bottom for the lines that scrolled in there, `n < 0` when the last `-n` go to the top.
/// 0 when the two share no line, share them where they stand, or when the rows shown would
/// have to move further than there are rows (a window that grew as it moved up). The view
/// then writes only the rows whose line changed, so a log that follows a stream rewrites the
/// rows that came.
pub fn slide(shown: &[u64], next: &[u64]) -> isize {
    let at = |list: &[u64], seq: Option<&u64>| {
        seq.and_then(|s| list.iter().position(|x| x == s))
            .and_then(|i| isize::try_from(i).ok())
            .unwrap_or(0)
    };
    match at(shown, next.first()) {
        // Rows scrolled in at the top: as many rows as there are can move round, no more (a
        // window that grew while it scrolled up is written again where it does not fit).
        0 => match at(next, shown.first()) {
            n if n.unsigned_abs() < shown.len() => -n,
            _ => 0,
        },
        n => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64, payload: &str) -> LogLine {
        LogLine {
            seq,
            at: 0,
            direction: Direction::In,
            topic: "t".into(),
            qos: 0,
            size: payload.len(),
            payload: payload.into(),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_lines_within_both_bounds() {
        let mut ring = Ring::default();
        ring.extend((0..LOG_CAP as u64 + 5).map(|i| line(i, "")));
        assert_eq!(ring.lines.len(), LOG_CAP);
        assert_eq!(
            ring.lines.front().map(|l| l.seq),
            Some(5),
            "oldest first out"
        );
        ring.clear();
        assert!(ring.lines.is_empty());
        let big = "x".repeat(LOG_BYTES_CAP / 4);
        ring.extend((0..6).map(|i| line(i, &big)));
        // Each line is `t` plus the payload: four fit under the byte cap, three with a fourth
        // pushing past it.
        assert_eq!(ring.lines.len(), 3);
        assert_eq!(ring.lines.back().map(|l| l.seq), Some(5));
        // One line larger than the whole cap is still kept: the newest is always shown.
        ring.extend([line(9, &"y".repeat(LOG_BYTES_CAP + 1))]);
        assert_eq!(ring.lines.len(), 1);
    }

    #[test]
    fn a_large_payload_is_cut_on_a_character_boundary_and_says_so() {
        assert_eq!(payload_text(b"{\"a\":1}"), "{\"a\":1}");
        let mut payload = "a".repeat(PAYLOAD_KEPT - 1).into_bytes();
        payload.extend_from_slice("é and more".as_bytes());
        let text = payload_text(&payload);
        assert!(text.starts_with(&"a".repeat(PAYLOAD_KEPT - 1)));
        assert!(!text.contains('\u{FFFD}'), "half a character dropped");
        assert!(text.ends_with(&format!(
            "… ({PAYLOAD_KEPT} of {} bytes shown)",
            payload.len()
        )));
        assert_eq!(
            payload_text(&[0xff, b'a']),
            "\u{FFFD}a",
            "not UTF-8: shown, not refused"
        );
    }

    /// The rows as the view leaves them after the slide: moved round, then cut or grown at
    /// the bottom; `None` is a row made anew.
    fn slid(shown: &[u64], next: &[u64]) -> Vec<Option<u64>> {
        let mut rows: Vec<Option<u64>> = shown.iter().copied().map(Some).collect();
        let n = slide(shown, next);
        assert!(
            n.unsigned_abs() < shown.len().max(1),
            "moves no more rows than there are"
        );
        if n > 0 {
            rows.rotate_left(n.unsigned_abs());
        } else {
            rows.rotate_right(n.unsigned_abs());
        }
        rows.resize(next.len(), None);
        rows
    }

    fn kept(shown: &[u64], next: &[u64]) -> usize {
        let rows = slid(shown, next);
        rows.iter()
            .zip(next)
            .filter(|(r, n)| *r == &Some(**n))
            .count()
    }

    proptest::proptest! {
        /// Two windows of one size on the same lines, as a scroll or a stream leaves them:
        /// every line in both keeps its row.
        #[test]
        fn a_window_that_moves_keeps_every_row_it_still_shows(
            from in 0_u64..200, to in 0_u64..200, len in 0_u64..40, gaps in 1_u64..3
        ) {
            let shown: Vec<u64> = (from..from + len).map(|i| i * gaps).collect();
            let next: Vec<u64> = (to..to + len).map(|i| i * gaps).collect();
            let both = shown.iter().filter(|s| next.contains(s)).count();
            proptest::prop_assert_eq!(kept(&shown, &next), both);
        }

        /// Any two windows on the same lines (a filter cleared, a jump to the top of a log
        /// that grew): no more rows move than there are.
        #[test]
        fn any_window_moves_no_more_rows_than_there_are(
            from in 0_u64..100, len in 0_u64..40, to in 0_u64..100, next_len in 0_u64..40
        ) {
            let shown: Vec<u64> = (from..from + len).collect();
            let next: Vec<u64> = (to..to + next_len).collect();
            proptest::prop_assert!(slide(&shown, &next).unsigned_abs() < shown.len().max(1));
            // And the view's own moves (`rotate_*` panics past the length) go through.
            slid(&shown, &next);
        }

        /// Lines that came below the last one (a log shorter than the view) leave the rows
        /// where they are.
        #[test]
        fn a_window_that_grows_keeps_its_rows(from in 0_u64..200, len in 0_u64..30, more in 0_u64..30) {
            let shown: Vec<u64> = (from..from + len).collect();
            let next: Vec<u64> = (from..from + len + more).collect();
            proptest::prop_assert_eq!(kept(&shown, &next), shown.len());
        }
    }

    #[test]
    fn a_window_with_nothing_in_common_moves_nothing() {
        assert_eq!(slide(&[1, 2, 3], &[7, 8, 9]), 0);
        assert_eq!(slide(&[], &[7, 8, 9]), 0);
        assert_eq!(slide(&[1, 2, 3], &[]), 0);
        assert_eq!(slide(&[1, 2, 3], &[3, 4, 5]), 2, "scrolled down");
        assert_eq!(slide(&[3, 4, 5], &[1, 2, 3]), -2, "scrolled up");
        assert_eq!(
            slide(&[26, 27, 28], &(0..30).collect::<Vec<_>>()),
            0,
            "up past the rows there are: written again"
        );
    }
}
