/// Reconnect delays: exponential, capped, with "full jitter" drawn from a seeded generator so
/// the same seed gives the same schedule in tests.
///
/// Full jitter (a uniform draw in `[base/2, capped exponential]`) keeps a fleet of simulated
/// devices that lost the broker at the same moment from reconnecting in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    attempt: u32,
    rng: SeededRng,
}

/// xorshift64: tiny, deterministic, good enough for jitter and simulated readings. Not for
/// anything secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededRng(u64);

impl SeededRng {
    /// A generator; any seed works. The seed goes through SplitMix64 first (Vigna's seeding
    /// for xorshift): neighbouring seeds — devices 1, 2, 3 of a fleet — must give unrelated
    /// streams from the first draw, and xorshift started from a small state draws tiny numbers
    /// for a while. xorshift must not start at zero, hence the `max`.
    pub fn new(seed: u64) -> Self {
        Self(splitmix64(seed).max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// One SplitMix64 output for state `seed` (a bijection on u64).
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Backoff {
    /// A schedule starting near `base_ms` and never exceeding `cap_ms`.
    pub fn new(base_ms: u64, cap_ms: u64, seed: u64) -> Self {
        Self {
            base_ms: base_ms.max(1),
            cap_ms: cap_ms.max(base_ms.max(1)),
            attempt: 0,
            rng: SeededRng::new(seed),
        }
    }

    /// The delay before the next attempt; each call counts one more failure.
    pub fn next_delay(&mut self) -> u64 {
        let exp = self
            .base_ms
            .saturating_mul(1u64 << self.attempt.min(32))
            .min(self.cap_ms);
        self.attempt = self.attempt.saturating_add(1);
        let floor = (self.base_ms / 2).min(exp);
        floor + self.rng.next_u64() % (exp - floor + 1)
    }

    /// Forget past failures, after a connection succeeded.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_under_the_cap_and_reset() {
        let mut b = Backoff::new(500, 8_000, 42);
        let delays: Vec<u64> = (0..10).map(|_| b.next_delay()).collect();
        assert!(
            delays.iter().all(|&d| (250..=8_000).contains(&d)),
            "{delays:?}"
        );
        // The ceiling doubles: the 5th attempt may be up to 8 s, the first at most 500 ms.
        assert!(delays[0] <= 500);
        for seed in 0..100 {
            let mut b = Backoff::new(500, 8_000, seed);
            for _ in 0..10 {
                b.next_delay();
            }
            b.reset();
            assert!(b.next_delay() <= 500, "seed {seed}");
        }
    }

    #[test]
    fn the_first_delay_is_any_whole_millisecond_from_half_the_base_to_the_base() {
        // Full jitter: uniform over [base / 2, base] for the first attempt.
        let first: std::collections::BTreeSet<u64> = (0..5_000)
            .map(|seed| Backoff::new(500, 8_000, seed).next_delay())
            .collect();
        assert_eq!(first, (250..=500).collect());
    }

    #[test]
    fn draws_follow_xorshift64_with_shifts_13_7_17() {
        // Marsaglia, "Xorshift RNGs" (2003), from state 1; the later draws are where bits
        // overlap, so an OR in place of an XOR shows.
        let mut rng = SeededRng(1);
        let draws: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            draws,
            vec![
                1_082_269_761,
                1_152_992_998_833_853_505,
                11_177_516_664_432_764_457
            ]
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_differs() {
        let run = |seed| {
            let mut b = Backoff::new(500, 30_000, seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        for (a, b) in [(7, 8), (2, 3), (0, 1)] {
            assert_ne!(run(a), run(b), "seeds {a} and {b}");
        }
    }

    #[test]
    fn seeds_go_through_splitmix64() {
        // The reference stream from state 0 (Vigna, splitmix64.c): its first two outputs.
        assert_eq!(splitmix64(0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn neighbouring_seeds_draw_unrelated_numbers_from_the_first_draw() {
        let first: Vec<u64> = (0..1_000).map(|s| SeededRng::new(s).next_u64()).collect();
        let distinct: std::collections::BTreeSet<u64> = first.iter().copied().collect();
        assert_eq!(distinct.len(), first.len());
        // Uniform draws: about half have the top bit set, and none is tiny.
        let high = first.iter().filter(|x| **x >> 63 == 1).count();
        assert!((400..=600).contains(&high), "{high} of 1000");
        assert!(
            first.iter().all(|x| *x > 1 << 40),
            "{:?}",
            first.iter().min()
        );
    }
}
