//! Helpers shared by the crate's tests.

use rand::{Rng, SeedableRng};

/// `len` bytes of seeded noise: incompressible, and the same for the same seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
	let mut v = vec![0u8; len];
	rand::rngs::StdRng::seed_from_u64(seed).fill(&mut v[..]);
	v
}
