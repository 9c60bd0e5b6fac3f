//! The Merkle mountain range that commits each datanet's accepted list.
//!
//! Exact hashing (BLAKE2b-256 everywhere, `‖` is concatenation, integers little-endian):
//! - leaf `i` (0-based position in the accepted list) for contribution `id` with BLAKE3 content hash `h`:
//!   `leaf = blake2_256(0x00 ‖ id as u64 LE ‖ h)`
//! - inner node over two equal-height subtrees: `node = blake2_256(0x01 ‖ left ‖ right)`
//! - the MMR of `n` leaves is the list of perfect-tree peaks given by the set bits of `n`, highest first
//!   (so leaves `0..2^k` form the first peak when bit `k` is the highest set bit, and so on);
//! - root ("bagging", right to left): `root(empty) = [0; 32]`, `root([p]) = p`,
//!   `root([p0, p1, .., pk]) = blake2_256(0x02 ‖ p0 ‖ root([p1, .., pk]))`.
//!
//! Appending costs O(log n) hashes: the new leaf becomes a peak and merges with the equal-height
//! peaks before it, one merge per trailing one bit of the old count.

use crate::types::{ContentHash, ContributionId, MmrHash};
use alloc::vec::Vec;
use sp_io::hashing::blake2_256;

/// Hash of the accepted list's leaf for contribution `id` with content hash `content`.
pub fn leaf_hash(id: ContributionId, content: &ContentHash) -> MmrHash {
	let mut buf = [0u8; 1 + 8 + 32];
	buf[0] = 0x00;
	buf[1..9].copy_from_slice(&id.to_le_bytes());
	buf[9..].copy_from_slice(content);
	blake2_256(&buf)
}

/// Hash of an inner node.
pub fn node_hash(left: &MmrHash, right: &MmrHash) -> MmrHash {
	let mut buf = [0u8; 1 + 64];
	buf[0] = 0x01;
	buf[1..33].copy_from_slice(left);
	buf[33..].copy_from_slice(right);
	blake2_256(&buf)
}

fn bag_hash(peak: &MmrHash, rest: &MmrHash) -> MmrHash {
	let mut buf = [0u8; 1 + 64];
	buf[0] = 0x02;
	buf[1..33].copy_from_slice(peak);
	buf[33..].copy_from_slice(rest);
	blake2_256(&buf)
}

/// Appends `leaf` to an MMR of `count` leaves whose peaks are `peaks` (highest first).
pub fn append(peaks: &mut Vec<MmrHash>, count: u64, leaf: MmrHash) {
	let mut node = leaf;
	// One merge per trailing one bit of the old count: those are the peaks of equal height.
	for _ in 0..count.trailing_ones() {
		match peaks.pop() {
			Some(left) => node = node_hash(&left, &node),
			// Unreachable while `peaks` matches `count`; `try_state` checks that it does.
			None => break,
		}
	}
	peaks.push(node);
}

/// The root committing all leaves, from the peaks (highest first).
pub fn root(peaks: &[MmrHash]) -> MmrHash {
	let mut iter = peaks.iter().rev();
	let Some(last) = iter.next() else { return [0u8; 32] };
	iter.fold(*last, |acc, peak| bag_hash(peak, &acc))
}

/// Builds the root from the full list of leaf hashes, without the incremental state: what an
/// off-chain worker does to verify a dataset version it downloaded.
pub fn root_from_leaves(leaves: &[MmrHash]) -> MmrHash {
	fn perfect(leaves: &[MmrHash]) -> MmrHash {
		if leaves.len() == 1 {
			return leaves[0];
		}
		let (l, r) = leaves.split_at(leaves.len() / 2);
		node_hash(&perfect(l), &perfect(r))
	}
	let mut peaks = Vec::new();
	let mut rest = leaves;
	while !rest.is_empty() {
		let size = 1usize << (usize::BITS - 1 - rest.len().leading_zeros());
		let (tree, tail) = rest.split_at(size);
		peaks.push(perfect(tree));
		rest = tail;
	}
	root(&peaks)
}
