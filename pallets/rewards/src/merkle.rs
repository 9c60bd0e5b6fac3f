//! The payout table's Merkle tree, as the chain checks it and as off-chain code builds it: the
//! leaves are the SCALE encodings of [`Leaf`]s in table order, hashed with BLAKE2-256, combined
//! pairwise by `binary-merkle-tree` (an odd node out is promoted). A proof is checked at its leaf's
//! index, so one leaf cannot be claimed under another's position.

use crate::types::Leaf;
use alloc::vec::Vec;
use codec::Encode;
use sp_runtime::traits::BlakeTwo256;

type Hash = <BlakeTwo256 as sp_runtime::traits::Hash>::Output;

/// The root of `leaves`, in order.
pub fn root<A: Encode>(leaves: &[Leaf<A>]) -> [u8; 32] {
	binary_merkle_tree::merkle_root::<BlakeTwo256, _>(leaves.iter().map(|l| l.encode())).0
}

/// The proof for the leaf at `index`: the sibling hashes from the leaf up.
pub fn proof<A: Encode>(leaves: &[Leaf<A>], index: u32) -> Vec<[u8; 32]> {
	let encoded: Vec<Vec<u8>> = leaves.iter().map(|l| l.encode()).collect();
	binary_merkle_tree::merkle_proof::<BlakeTwo256, _, _>(encoded, index)
		.proof
		.into_iter()
		.map(|h| h.0)
		.collect()
}

/// Whether `leaf` sits at `index` of a table of `count` leaves with root `root`.
pub fn verify<A: Encode>(
	root: &[u8; 32],
	count: u32,
	index: u32,
	leaf: &Leaf<A>,
	proof: &[[u8; 32]],
) -> bool {
	let encoded = leaf.encode();
	binary_merkle_tree::verify_proof::<BlakeTwo256, _, _>(
		&Hash::from(*root),
		proof.iter().map(|p| Hash::from(*p)),
		count,
		index,
		&encoded,
	)
}
