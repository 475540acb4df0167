//! The duplicate-key check: key hashes per source, bucketed by their top byte so that each
//! bucket's table fits in cache, and the repeats found in them.

/// Key hashes bucketed by their top byte.
pub type KeyBuckets = Vec<Vec<u64>>;

/// A per-source constant mixed into key hashes, so that one check covers all sources.
pub(super) fn source_salt(source: usize) -> u64 {
    let mut z = (source as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^ (z >> 31)
}

/// The keys that occur more than once in `keys` (hashes, so uniformly spread), found with an
/// open-addressing table that fits the cache. `table` is scratch space, reused from bucket
/// to bucket: a fresh table per bucket is fresh memory for the kernel to map each time.
fn repeated_keys(
    keys: impl Iterator<Item = u64> + Clone,
    table: &mut Vec<u64>,
    out: &mut Vec<u64>,
) {
    let n = keys.clone().count();
    if n < 2 {
        return;
    }
    let cap = (n * 2).next_power_of_two();
    let mask = cap - 1;
    table.clear();
    table.resize(cap, 0);
    let mut zero = false;
    for k in keys {
        if k == 0 {
            if zero {
                out.push(0);
            }
            zero = true;
            continue;
        }
        #[expect(clippy::cast_possible_truncation, reason = "low bits as a slot")]
        let mut i = (k as usize) & mask;
        loop {
            let t = table[i];
            if t == 0 {
                table[i] = k;
                break;
            }
            if t == k {
                out.push(k);
                break;
            }
            i = (i + 1) & mask;
        }
    }
}

/// Key hashes in buckets by their top byte, as [`Partial`] keeps them.
pub(super) fn bucketed(keys: impl ExactSizeIterator<Item = u64>) -> KeyBuckets {
    // Hashes spread evenly: each bucket gets about 1/256 of them, so that none is copied as
    // it grows.
    let per = keys.len() / 256 + keys.len() / 2048 + 16;
    let mut b: KeyBuckets = (0..256).map(|_| Vec::with_capacity(per)).collect();
    for k in keys {
        b[(k >> 56) as usize].push(k);
    }
    b
}

/// The key hashes that occur more than once. `buckets` holds the key buckets of every thread.
///
/// Each top-byte bucket (at national volume about 420 k keys, an 8 MB table that misses the
/// cache at nearly every key) is first spread by its next byte into 256 pieces, sequential
/// writes into one scratch buffer, and each piece is then checked in a table of a few KiB
/// that stays in the first-level cache.
#[must_use]
pub fn repeated_hashes(buckets: &[KeyBuckets]) -> std::collections::HashSet<u64> {
    use rayon::prelude::*;
    (0..256usize)
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(spread, table), b| {
                let mut rep = Vec::new();
                let keys = || buckets.iter().flat_map(|t| t[b].iter().copied());
                // Offsets of each piece (by bits 48..56) in `spread`.
                let mut start = [0usize; 257];
                for k in keys() {
                    start[((k >> 48) & 0xff) as usize + 1] += 1;
                }
                for i in 0..256 {
                    start[i + 1] += start[i];
                }
                spread.clear();
                spread.resize(start[256], 0u64);
                let mut at = start;
                for k in keys() {
                    let p = ((k >> 48) & 0xff) as usize;
                    spread[at[p]] = k;
                    at[p] += 1;
                }
                for p in 0..256 {
                    repeated_keys(
                        spread[start[p]..start[p + 1]].iter().copied(),
                        table,
                        &mut rep,
                    );
                }
                rep
            },
        )
        .flatten_iter()
        .collect()
}

/// Of `(hash, position)` pairs, the positions of every occurrence after the first, sorted.
#[must_use]
pub fn later_occurrences(mut found: Vec<(u64, u64)>) -> Vec<u64> {
    found.sort_unstable();
    let mut out: Vec<u64> = found
        .windows(2)
        .filter(|w| w[0].0 == w[1].0)
        .map(|w| w[1].1)
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_found_once_per_extra_occurrence() {
        let mut out = Vec::new();
        let mut table = vec![9; 3];
        repeated_keys([5u64, 0, 7, 5, 9, 0, 5].into_iter(), &mut table, &mut out);
        out.sort_unstable();
        assert_eq!(out, vec![0, 5, 5]);
        // Keys bucketed by their top byte, per thread; repeats are found across threads.
        let bucketed = |keys: &[u64]| bucketed(keys.iter().copied());
        let distinct: Vec<u64> = (0..100_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .chain([42])
            .collect();
        let (a, b) = distinct.split_at(50_000);
        assert_eq!(repeated_hashes(&[bucketed(a), bucketed(b)]).len(), 0);
        let set = repeated_hashes(&[bucketed(&[1u64 << 60, 3]), bucketed(&[1 << 60, 3, 4])]);
        assert_eq!(set, [1u64 << 60, 3].into_iter().collect());
        // Keys that share their top two bytes land in one piece of one bucket: repeats
        // among them, and across pieces and threads, are all found, and nothing else.
        let mut many: Vec<u64> = (0..300_000u64)
            .map(|i| i.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (i >> 7))
            .collect();
        many.extend((0..2_000u64).map(|i| 0xABCD << 48 | i));
        let planted: Vec<u64> = many.iter().step_by(997).copied().collect();
        let (a, b) = many.split_at(150_000);
        let mut b = b.to_vec();
        b.extend(&planted);
        let mut expected: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        for &k in a.iter().chain(&b) {
            *expected.entry(k).or_default() += 1;
        }
        let expected: std::collections::HashSet<u64> = expected
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(k, _)| k)
            .collect();
        assert!(
            expected.len() >= planted.len() * 9 / 10,
            "{}",
            expected.len()
        );
        assert_eq!(repeated_hashes(&[bucketed(a), bucketed(&b)]), expected);
        assert_eq!(
            later_occurrences(vec![(9, 30), (9, 10), (4, 5), (9, 20)]),
            vec![20, 30]
        );
    }
}
