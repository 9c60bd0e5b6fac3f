//! Which entries of a committed table to check, from a seed.
//!
//! `spot_checks(seed, n, k)` draws min(k, n) distinct indices of `0..n` without replacement: a
//! Fisher–Yates shuffle of the first draws over a virtual `0..n`, where draw i takes
//! `BLAKE2-256(seed ‖ i)`'s first 8 bytes (little-endian) modulo the entries left. (The modulo's
//! bias is below n / 2⁶⁴: nothing for tables of u32 entries.) The same seed gives the same
//! indices on every node.
//!
//! A worker that falsified m of n entries escapes k checks with probability
//! `C(n−m, k) / C(n, k) = Π_{i<k} (n−m−i)/(n−i) ≤ (1 − m/n)^k`; [`checks_needed`] finds the least k
//! for a target. For 5% falsified and a 99% catch rate that is 90 for any n (fewer for small
//! tables): [`CHECKS`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Checks per result: catches a worker that falsified 5% of any table's entries at least 99% of
/// the time (0.95⁹⁰ < 0.01).
pub const CHECKS: u32 = 90;

/// `min(k, n)` distinct indices of `0..n`, in draw order, from `seed`.
pub fn spot_checks(seed: &[u8; 32], n: u32, k: u32) -> Vec<u32> {
	let take = k.min(n);
	// The virtual array's moved entries: position -> value (absent: the position's own index).
	let mut moved: BTreeMap<u32, u32> = BTreeMap::new();
	let mut out = Vec::with_capacity(take as usize);
	for i in 0..take {
		let mut input = [0u8; 36];
		input[..32].copy_from_slice(seed);
		input[32..].copy_from_slice(&i.to_le_bytes());
		let h = sp_io::hashing::blake2_256(&input);
		let r = u64::from_le_bytes(h[..8].try_into().expect("8 bytes"));
		let left = u64::from(n - i);
		let j = i + (r % left) as u32;
		let at_j = *moved.get(&j).unwrap_or(&j);
		let at_i = *moved.get(&i).unwrap_or(&i);
		moved.insert(j, at_i);
		out.push(at_j);
	}
	out
}

/// The probability that `k` checks drawn without replacement from `n` entries all miss the `m`
/// falsified ones.
#[cfg(feature = "std")]
pub fn escape_probability(n: u32, m: u32, k: u32) -> f64 {
	if k > n.saturating_sub(m) {
		return 0.0;
	}
	(0..k).map(|i| f64::from(n - m - i) / f64::from(n - i)).product()
}

/// The least number of checks that catches a worker falsifying `ceil(fraction · n)` of `n`
/// entries with probability at least `catch`.
#[cfg(feature = "std")]
pub fn checks_needed(n: u32, fraction: f64, catch: f64) -> u32 {
	let m = ((fraction * f64::from(n)).ceil() as u32).clamp(1, n.max(1));
	(0..=n).find(|&k| 1.0 - escape_probability(n, m, k) >= catch).unwrap_or(n)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn draws_are_distinct_in_range_and_fixed_by_the_seed() {
		for n in [1u32, 2, 7, 90, 91, 1000] {
			let a = spot_checks(&[7; 32], n, CHECKS);
			assert_eq!(a.len() as u32, CHECKS.min(n));
			let mut sorted = a.clone();
			sorted.sort();
			sorted.dedup();
			assert_eq!(sorted.len(), a.len(), "distinct");
			assert!(a.iter().all(|&i| i < n));
			assert_eq!(a, spot_checks(&[7; 32], n, CHECKS), "deterministic");
		}
		assert_ne!(spot_checks(&[7; 32], 1000, 10), spot_checks(&[8; 32], 1000, 10));
		assert!(spot_checks(&[7; 32], 0, 10).is_empty());
		// Drawing everything is a permutation.
		let mut all = spot_checks(&[1; 32], 50, 50);
		all.sort();
		assert_eq!(all, (0..50).collect::<Vec<_>>());
	}

	#[test]
	fn ninety_checks_catch_five_percent_falsified_at_least_99_percent_of_the_time() {
		// Computation: the least k per table size, never above 90.
		assert_eq!(checks_needed(100, 0.05, 0.99), 59);
		assert_eq!(checks_needed(1000, 0.05, 0.99), 86);
		assert_eq!(checks_needed(100_000, 0.05, 0.99), 90);
		for n in [20u32, 50, 200, 5000, 1_000_000] {
			assert!(checks_needed(n, 0.05, 0.99) <= CHECKS, "n = {n}");
			assert!(
				1.0 - escape_probability(n, (n as f64 * 0.05).ceil() as u32, CHECKS.min(n)) >= 0.99
			);
		}
		// Simulation with the chain's own sampler: the worker falsifies the first 5% of entries
		// (which ones does not matter to a uniform draw); 20,000 seeds per table size.
		for n in [100u32, 1000, 10_000] {
			let m = (n as f64 * 0.05).ceil() as u32;
			let trials = 20_000u32;
			let caught = (0..trials)
				.filter(|t| {
					let mut seed = [0u8; 32];
					seed[..4].copy_from_slice(&t.to_le_bytes());
					seed[4..8].copy_from_slice(&n.to_le_bytes());
					spot_checks(&seed, n, CHECKS).iter().any(|&i| i < m)
				})
				.count();
			let rate = caught as f64 / trials as f64;
			let expected = 1.0 - escape_probability(n, m, CHECKS);
			// Within 4 standard errors of the computed rate, and above 98.5% in any case.
			let se = (expected * (1.0 - expected) / trials as f64).sqrt().max(1e-4);
			assert!((rate - expected).abs() < 4.0 * se, "n = {n}: {rate} vs {expected}");
			assert!(rate > 0.985, "n = {n}: {rate}");
		}
	}
}
