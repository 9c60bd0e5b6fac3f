//! The Merkle mountain range that commits each datanet's accepted list.
//!
//! Exact hashing (BLAKE2b-256 everywhere, `‖` is concatenation, integers little-endian):
//! - leaf `i` (0-based position in the accepted list) for contribution `id` by `contributor` with
//!   BLAKE3 content hash `h`: `leaf = blake2_256(0x00 ‖ id as u64 LE ‖ SCALE(contributor) ‖ h)`
//!   (SCALE of a 32-byte account id is its 32 bytes). The contributor is in the leaf so that a proof
//!   of an item also proves who gets credit for it: rewards and attribution pay by these leaves.
//! - inner node over two equal-height subtrees: `node = blake2_256(0x01 ‖ left ‖ right)`
//! - the MMR of `n` leaves is the list of perfect-tree peaks given by the set bits of `n`, highest first
//!   (so leaves `0..2^k` form the first peak when bit `k` is the highest set bit, and so on);
//! - root ("bagging", right to left): `root(empty) = [0; 32]`, `root([p]) = p`,
//!   `root([p0, p1, .., pk]) = blake2_256(0x02 ‖ p0 ‖ root([p1, .., pk]))`.
//!
//! Appending costs O(log n) hashes: the new leaf becomes a peak and merges with the equal-height
//! peaks before it, one merge per trailing one bit of the old count.
//!
//! An inclusion [`Proof`] of leaf `i` holds the siblings on the way up its perfect tree (lowest
//! first) and the other peaks (highest first); [`verify`] rebuilds the peak, puts it in its place
//! among the others and bags them into the root.

use crate::types::{ContentHash, ContributionId, MmrHash};
use alloc::vec::Vec;
use codec::Encode;
use sp_io::hashing::blake2_256;

/// Hash of the accepted list's leaf for contribution `id` by `contributor` with content hash
/// `content`.
pub fn leaf_hash<A: Encode>(id: ContributionId, contributor: &A, content: &ContentHash) -> MmrHash {
	let mut buf = Vec::with_capacity(1 + 8 + 32 + 32);
	buf.push(0x00);
	buf.extend_from_slice(&id.to_le_bytes());
	contributor.encode_to(&mut buf);
	buf.extend_from_slice(content);
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

/// The root of a perfect tree over `leaves` (a power of two of them).
fn perfect(leaves: &[MmrHash]) -> MmrHash {
	if leaves.len() == 1 {
		return leaves[0];
	}
	let (l, r) = leaves.split_at(leaves.len() / 2);
	node_hash(&perfect(l), &perfect(r))
}

/// The perfect trees of an MMR of `count` leaves, highest first, as (first leaf, size).
fn trees(count: u64) -> impl Iterator<Item = (u64, u64)> {
	let mut first = 0u64;
	(0..64u32).rev().filter(move |k| count & (1u64 << k) != 0).map(move |k| {
		let t = (first, 1u64 << k);
		first += 1u64 << k;
		t
	})
}

/// Builds the root from the full list of leaf hashes, without the incremental state: what an
/// off-chain worker does to verify a dataset version it downloaded.
pub fn root_from_leaves(leaves: &[MmrHash]) -> MmrHash {
	let peaks: Vec<MmrHash> = trees(leaves.len() as u64)
		.map(|(first, size)| perfect(&leaves[first as usize..(first + size) as usize]))
		.collect();
	root(&peaks)
}

/// Proof that a leaf is at a position of an MMR: the siblings on the way up its perfect tree
/// (lowest first), and every other peak (highest first).
#[derive(Clone, Debug, PartialEq, Eq, codec::Encode, codec::Decode, scale_info::TypeInfo)]
pub struct Proof {
	pub siblings: Vec<MmrHash>,
	pub other_peaks: Vec<MmrHash>,
}

/// The inclusion proof of leaf `index` among `leaves`, or `None` when out of range.
pub fn prove(leaves: &[MmrHash], index: u64) -> Option<Proof> {
	fn path(tree: &[MmrHash], j: usize, out: &mut Vec<MmrHash>) {
		if tree.len() == 1 {
			return;
		}
		let half = tree.len() / 2;
		let (l, r) = tree.split_at(half);
		if j < half {
			path(l, j, out);
			out.push(perfect(r));
		} else {
			path(r, j - half, out);
			out.push(perfect(l));
		}
	}
	let count = leaves.len() as u64;
	if index >= count {
		return None;
	}
	let mut siblings = Vec::new();
	let mut other_peaks = Vec::new();
	for (first, size) in trees(count) {
		let tree = &leaves[first as usize..(first + size) as usize];
		if (first..first + size).contains(&index) {
			path(tree, (index - first) as usize, &mut siblings);
		} else {
			other_peaks.push(perfect(tree));
		}
	}
	Some(Proof { siblings, other_peaks })
}

/// Whether `proof` shows `leaf` at position `index` of the MMR of `count` leaves with root `root`.
/// The root does not commit to `count` by itself: take both from the same published version.
pub fn verify(root_hash: &MmrHash, count: u64, index: u64, leaf: &MmrHash, proof: &Proof) -> bool {
	if index >= count {
		return false;
	}
	let Some((pos, (first, size))) =
		trees(count).enumerate().find(|(_, (f, s))| (*f..*f + *s).contains(&index))
	else {
		return false;
	};
	if proof.siblings.len() != size.trailing_zeros() as usize
		|| proof.other_peaks.len() != count.count_ones() as usize - 1
	{
		return false;
	}
	let j = index - first;
	let mut node = *leaf;
	for (level, sib) in proof.siblings.iter().enumerate() {
		node = if (j >> level) & 1 == 0 { node_hash(&node, sib) } else { node_hash(sib, &node) };
	}
	let mut peaks = proof.other_peaks.clone();
	peaks.insert(pos, node);
	&root(&peaks) == root_hash
}
