//! How many distinct keys a stream has met, estimated in 4 KiB (HyperLogLog, 4,096
//! registers, about 1.6 % standard error): a reading thread's accumulation of a source
//! appends a row whenever the (location, quarter) changes, and compacts its rows only when
//! they have become clearly more than the distinct keys they hold.

/// A HyperLogLog sketch of 64-bit keys.
pub(super) struct Distinct {
    registers: Box<[u8; REGISTERS]>,
}

const BITS: u32 = 12;
const REGISTERS: usize = 1 << BITS;

impl Default for Distinct {
    fn default() -> Self {
        Self {
            registers: Box::new([0; REGISTERS]),
        }
    }
}

/// A 64-bit mix (the finaliser of SplitMix64): keys that differ in a few low bits (a
/// location's quarters) land on unrelated registers.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Distinct {
    /// Notes a key.
    #[inline]
    pub(super) fn add(&mut self, key: u64) {
        let h = mix(key);
        let register = (h >> (64 - BITS)) as usize;
        // The rank of the first set bit in the remaining bits (a guard bit ends the count).
        #[expect(clippy::cast_possible_truncation, reason = "at most 53")]
        let rank = ((h << BITS) | (1 << (BITS - 1))).leading_zeros() as u8 + 1;
        let r = &mut self.registers[register];
        *r = (*r).max(rank);
    }

    /// The estimated number of distinct keys noted.
    pub(super) fn estimate(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "4,096")]
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            // Few keys: linear counting is the better estimate.
            #[expect(clippy::cast_precision_loss, reason = "at most 4,096")]
            let z = zeros as f64;
            m * (m / z).ln()
        } else {
            raw
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_is_within_five_percent_from_ten_to_four_million_keys() {
        for n in [10u64, 1_000, 50_000, 1_000_000, 4_000_000] {
            let mut d = Distinct::default();
            // Keys as the accumulations make them: location << 16 | quarter, each added
            // three times.
            for _ in 0..3 {
                for i in 0..n {
                    d.add((i / 8) << 16 | (8100 + i % 8));
                }
            }
            #[expect(clippy::cast_precision_loss, reason = "test sizes")]
            let err = (d.estimate() - n as f64).abs() / n as f64;
            assert!(err < 0.05, "{n} keys: estimated {}", d.estimate());
        }
    }
}
