use core::ops::Add;

/// A point in time in milliseconds, on whatever monotonic clock the shell uses
/// (`performance.now()` in the browser, an `Instant` offset natively, a counter in tests).
///
/// Our own newtype rather than `std::time::Instant`, which panics on `wasm32-unknown-unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<u64> for Millis {
    type Output = Self;

    fn add(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_since_never_goes_negative() {
        assert_eq!(Millis(1_500).saturating_since(Millis(1_000)), 500);
        assert_eq!(Millis(1_000).saturating_since(Millis(1_500)), 0);
        assert_eq!(Millis(u64::MAX) + 1, Millis(u64::MAX));
    }
}
