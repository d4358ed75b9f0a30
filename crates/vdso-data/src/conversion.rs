//! Counter ticks to nanoseconds by a precomputed multiplier and shift: one 64x64->128
//! multiply and a shift on the fast path, no division.
//!
//! # Bounds
//! [`Conversion::from_frequency`] picks the largest `shift` (at most 63) whose rounded
//! multiplier `round(10^9 * 2^shift / frequency)` stays below 2^63, so the multiplier is at
//! least 2^62 and its rounding error is at most 1/2. For `ticks` counter ticks:
//! - No overflow, ever: `ticks * multiplier < 2^64 * 2^63` fits the 128-bit product for every
//!   64-bit tick count. The result (nanoseconds) is reported only if it fits in 64 bits,
//!   i.e. for up to 2^64 ns (584 years) since the last update; past that
//!   [`Conversion::nanoseconds`] returns `None` and the caller takes the syscall.
//! - Accuracy: the result differs from the exact `floor(ticks * 10^9 / frequency)` by at
//!   most 1 ns while the elapsed time is below 2^63 ns (292 years): the error before
//!   truncation is `ticks * (1/2) / 2^shift`, and `2^shift >= 2^62 * frequency / 10^9`, so
//!   it is at most `elapsed_ns / 2^63`.
//!
//! So the data page needs no periodic refresh; it changes only when time is set or the rate
//! is adjusted.

/// Nanoseconds in one second.
pub const NANOSECONDS_PER_SECOND: u64 = 1_000_000_000;

/// `nanoseconds = (ticks * multiplier) >> shift`, product in 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conversion {
    pub multiplier: u64,
    pub shift: u32,
}

/// Multipliers stay below this so the product of any 64-bit tick count fits in 127 bits.
const MULTIPLIER_LIMIT: u128 = 1 << 63;

impl Conversion {
    /// The most precise conversion for a counter running at `frequency_hz` (CNTFRQ_EL0;
    /// 62.5 MHz on QEMU virt, which gives exactly 16 ns per tick). `None` for a zero
    /// frequency. Uses division; call it when the page is written, never on the fast path.
    pub fn from_frequency(frequency_hz: u64) -> Option<Self> {
        if frequency_hz == 0 {
            return None;
        }
        let frequency = u128::from(frequency_hz);
        // 10^9 < 2^30, so `10^9 << 63` fits in 128 bits.
        let mut shift = 63;
        loop {
            let scaled = u128::from(NANOSECONDS_PER_SECOND) << shift;
            let multiplier = (scaled + frequency / 2) / frequency;
            if multiplier < MULTIPLIER_LIMIT && multiplier != 0 {
                let multiplier = u64::try_from(multiplier).ok()?;
                return Some(Self { multiplier, shift });
            }
            if shift == 0 {
                return None;
            }
            shift -= 1;
        }
    }

    /// Nanoseconds in `ticks` counter ticks, truncated; `None` if the result does not fit in
    /// 64 bits or the shift is out of range (a corrupt page).
    #[inline(always)]
    pub fn nanoseconds(self, ticks: u64) -> Option<u64> {
        let product = u128::from(ticks) * u128::from(self.multiplier);
        u64::try_from(product.checked_shr(self.shift)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frequencies seen on real and emulated Arm systems, plus awkward ones.
    const FREQUENCIES: [u64; 12] = [
        1,
        32_768,
        1_000_000,
        19_200_000,
        24_000_000,
        25_000_000,
        33_333_333,
        54_000_000,
        62_500_000,
        100_000_000,
        1_000_000_000,
        u64::MAX,
    ];

    fn exact_nanoseconds(ticks: u64, frequency: u64) -> u128 {
        u128::from(ticks) * u128::from(NANOSECONDS_PER_SECOND) / u128::from(frequency)
    }

    /// Deterministic xorshift so failures reproduce.
    fn pseudo_random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn qemu_frequency_is_exact() {
        let conversion = Conversion::from_frequency(62_500_000).expect("valid frequency");
        assert_eq!(conversion.multiplier, 1 << 62);
        assert_eq!(conversion.shift, 58);
        for ticks in [0, 1, 62_500_000, 62_500_000 * 3600 * 24 * 365, 1 << 59] {
            assert_eq!(conversion.nanoseconds(ticks), Some(ticks * 16));
        }
    }

    #[test]
    fn zero_frequency_has_no_conversion() {
        assert_eq!(Conversion::from_frequency(0), None);
    }

    #[test]
    fn multiplier_uses_the_full_precision_range() {
        for frequency in FREQUENCIES {
            let conversion = Conversion::from_frequency(frequency).expect("valid frequency");
            assert!(conversion.shift <= 63);
            assert!(u128::from(conversion.multiplier) < MULTIPLIER_LIMIT);
            // Maximal shift: the multiplier is at least 2^62 unless the shift is capped.
            assert!(
                conversion.multiplier >= 1 << 62 || conversion.shift == 63,
                "{frequency} Hz: {conversion:?}"
            );
        }
    }

    #[test]
    fn within_one_nanosecond_of_exact_up_to_2_pow_63_nanoseconds() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for frequency in FREQUENCIES {
            let conversion = Conversion::from_frequency(frequency).expect("valid frequency");
            // Largest tick count whose exact duration is below 2^63 ns.
            let limit = (u128::from(1u64 << 63) * u128::from(frequency)
                / u128::from(NANOSECONDS_PER_SECOND))
            .min(u128::from(u64::MAX));
            let limit = u64::try_from(limit).expect("clamped");
            let one_hour = frequency.saturating_mul(3600);
            let mut samples = vec![0, 1, 2, frequency, one_hour, limit / 2, limit];
            for _ in 0..2000 {
                // Spread samples over every magnitude up to the limit.
                let magnitude = pseudo_random(&mut state) % 64;
                samples.push((pseudo_random(&mut state) >> magnitude) % (limit.max(1)));
            }
            for ticks in samples {
                let exact = exact_nanoseconds(ticks, frequency);
                let computed = u128::from(conversion.nanoseconds(ticks).expect("below 2^64 ns"));
                assert!(
                    exact.abs_diff(computed) <= 1,
                    "{frequency} Hz, {ticks} ticks: exact {exact}, computed {computed}"
                );
            }
        }
    }

    #[test]
    fn results_beyond_64_bits_are_refused_not_wrapped() {
        let conversion = Conversion::from_frequency(1_000_000).expect("valid frequency");
        // 2^64 - 1 microsecond ticks is ~2^74 ns.
        assert_eq!(conversion.nanoseconds(u64::MAX), None);
        let corrupt = Conversion {
            multiplier: u64::MAX,
            shift: 200,
        };
        assert_eq!(corrupt.nanoseconds(5), None);
    }
}
