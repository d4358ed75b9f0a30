//! The engine's deterministic pseudo-random generator (SplitMix64): a run is repeatable
//! from its printed seed.

/// A SplitMix64 generator: fast, 64 bits of state, good enough to drive mutations.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = self.state;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }

    /// A value in `0..bound`; 0 when `bound` is 0.
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        // The modulo bias is irrelevant for fuzzing.
        (self.next_u64() % bound as u64) as usize
    }

    /// True with probability 1 / `odds`.
    pub fn one_in(&mut self, odds: usize) -> bool {
        self.below(odds) == 0
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// One element of `choices`.
    ///
    /// # Panics
    /// If `choices` is empty (a bug in the caller, never input-driven).
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len())]
    }

    /// `length` random bytes.
    pub fn bytes(&mut self, length: usize) -> Vec<u8> {
        (0..length).map(|_| self.byte()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let mut first = Rng::new(7);
        let mut second = Rng::new(7);
        let sequence: Vec<u64> = (0..16).map(|_| first.next_u64()).collect();
        assert_eq!(
            sequence,
            (0..16).map(|_| second.next_u64()).collect::<Vec<_>>()
        );
        assert_ne!(sequence[0], sequence[1]);
        let mut rng = Rng::new(1);
        assert!((0..1000).all(|_| rng.below(3) < 3));
        assert_eq!(rng.below(0), 0);
    }
}
