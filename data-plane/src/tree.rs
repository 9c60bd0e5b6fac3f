//! Verified chunking of a blob against its plain BLAKE3 hash.
//!
//! A blob is cut into groups of [`GROUP_LEN`] bytes (1 MiB, a power-of-two number of BLAKE3's 1 KiB
//! chunks). Because BLAKE3 is itself a binary tree whose left subtrees are powers of two, each group is a
//! complete subtree and its chaining value (CV) can be computed on its own. The *outboard* is the list of
//! group CVs (32 bytes per MiB: 32 KiB for 1 GiB). Merging the CVs the way BLAKE3 merges subtrees gives
//! the blob's ordinary BLAKE3 hash, the one recorded on chain, so:
//!
//! 1. a receiver fetches the outboard and checks it reproduces the hash it wants ([`Outboard::verify`]);
//! 2. then every group it receives, from any peer and in any order, is checked against its CV
//!    ([`Outboard::verify_group`]) before a byte of it is written.
//!
//! A blob of at most one group has no inner tree: its outboard is the hash itself and the single group
//! is checked with a plain `blake3::hash`.

use blake3::hazmat::{
	merge_subtrees_non_root, merge_subtrees_root, ChainingValue, HasherExt, Mode,
};
use codec::{Decode, Encode};
use std::io::Read;

/// Bytes per verified group (the unit of transfer, resume and verification).
pub const GROUP_LEN: u64 = 1 << 20;

/// A 32-byte BLAKE3 content hash.
pub type Hash = [u8; 32];

/// Why a blob or one of its parts failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
	#[error("the outboard has {got} group hashes but a {size}-byte blob has {want}")]
	OutboardLength { size: u64, got: usize, want: u64 },
	#[error("the outboard does not reproduce the content hash {}", hex::encode(.0))]
	RootMismatch(Hash),
	#[error("group {index} does not match its hash")]
	GroupMismatch { index: u64 },
	#[error("group {index} has {got} bytes but should have {want}")]
	GroupLength { index: u64, got: usize, want: u64 },
	#[error("group {index} is past the end of the blob ({groups} groups)")]
	GroupOutOfRange { index: u64, groups: u64 },
}

/// Number of groups of a blob of `size` bytes (an empty blob still has one, empty, group).
pub fn group_count(size: u64) -> u64 {
	size.div_ceil(GROUP_LEN).max(1)
}

/// Length in bytes of group `index` of a `size`-byte blob.
pub fn group_len(size: u64, index: u64) -> u64 {
	let start = index * GROUP_LEN;
	size.saturating_sub(start).min(GROUP_LEN)
}

/// The group hashes of one blob; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Outboard {
	pub size: u64,
	pub cvs: Vec<Hash>,
}

impl Outboard {
	/// Computes the outboard of `bytes` held in memory.
	pub fn of_bytes(bytes: &[u8]) -> Self {
		Self::of_reader(bytes).expect("reading from a slice cannot fail")
	}

	/// Computes the outboard of everything `reader` yields, one group in memory at a time.
	pub fn of_reader(mut reader: impl Read) -> std::io::Result<Self> {
		let mut b = OutboardBuilder::default();
		let mut buf = vec![0u8; GROUP_LEN as usize];
		loop {
			let n = read_full(&mut reader, &mut buf)?;
			b.push_group(&buf[..n]);
			if n < buf.len() {
				return Ok(b.finish());
			}
		}
	}

	pub fn groups(&self) -> u64 {
		self.cvs.len() as u64
	}

	/// The BLAKE3 hash of the whole blob, derived from the group hashes.
	pub fn root(&self) -> Result<Hash, VerifyError> {
		let want = group_count(self.size);
		if self.cvs.len() as u64 != want {
			return Err(VerifyError::OutboardLength { size: self.size, got: self.cvs.len(), want });
		}
		if self.cvs.len() == 1 {
			return Ok(self.cvs[0]);
		}
		let (l, r) = self.split(0, self.cvs.len());
		Ok(*merge_subtrees_root(&l, &r, Mode::Hash).as_bytes())
	}

	/// CVs of the left and right subtrees of the (non-single-group) range `lo..hi`.
	fn split(&self, lo: usize, hi: usize) -> (ChainingValue, ChainingValue) {
		// BLAKE3's left subtree is the largest power of two of groups that leaves at least one byte for
		// the right; with groups of whole power-of-two chunks that is the largest power of two < hi-lo.
		let n = hi - lo;
		let left =
			if n.is_power_of_two() { n / 2 } else { 1 << (usize::BITS - 1 - n.leading_zeros()) };
		(self.subtree(lo, lo + left), self.subtree(lo + left, hi))
	}

	fn subtree(&self, lo: usize, hi: usize) -> ChainingValue {
		if hi - lo == 1 {
			return self.cvs[lo];
		}
		let (l, r) = self.split(lo, hi);
		merge_subtrees_non_root(&l, &r, Mode::Hash)
	}

	/// Checks that this outboard belongs to the blob whose hash is `root`.
	pub fn verify(&self, root: &Hash) -> Result<(), VerifyError> {
		if &self.root()? == root {
			Ok(())
		} else {
			Err(VerifyError::RootMismatch(*root))
		}
	}

	/// Checks one group's bytes against its hash (the outboard must already be verified).
	pub fn verify_group(&self, index: u64, bytes: &[u8]) -> Result<(), VerifyError> {
		let groups = self.groups();
		if index >= groups {
			return Err(VerifyError::GroupOutOfRange { index, groups });
		}
		let want = group_len(self.size, index);
		if bytes.len() as u64 != want {
			return Err(VerifyError::GroupLength { index, got: bytes.len(), want });
		}
		let cv = if groups == 1 { *blake3::hash(bytes).as_bytes() } else { group_cv(index, bytes) };
		if cv == self.cvs[index as usize] {
			Ok(())
		} else {
			Err(VerifyError::GroupMismatch { index })
		}
	}
}

/// Builds an outboard from a blob's groups handed over in order: every one full ([`GROUP_LEN`] bytes)
/// except the last, which is shorter (possibly empty) and ends the blob.
#[derive(Default)]
pub struct OutboardBuilder {
	cvs: Vec<Hash>,
	size: u64,
	/// The first group's bytes while it may still turn out to be the only one (then the root is its plain
	/// hash, not a chaining value).
	first: Option<Vec<u8>>,
}

impl OutboardBuilder {
	pub fn push_group(&mut self, bytes: &[u8]) {
		let started = self.first.is_some() || !self.cvs.is_empty();
		if !started {
			self.first = Some(bytes.to_vec());
		} else if !bytes.is_empty() {
			if let Some(first) = self.first.take() {
				self.cvs.push(group_cv(0, &first));
			}
			self.cvs.push(group_cv(self.cvs.len() as u64, bytes));
		} // else: the blob ended exactly on a group boundary
		self.size += bytes.len() as u64;
	}

	pub fn finish(mut self) -> Outboard {
		if let Some(first) = self.first.take() {
			self.cvs.push(*blake3::hash(&first).as_bytes());
		}
		Outboard { size: self.size, cvs: self.cvs }
	}
}

/// Chaining value of group `index` as an inner subtree of a multi-group blob.
fn group_cv(index: u64, bytes: &[u8]) -> ChainingValue {
	let mut h = blake3::Hasher::new();
	h.set_input_offset(index * GROUP_LEN);
	h.update(bytes);
	h.finalize_non_root()
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
	let mut n = 0;
	while n < buf.len() {
		match reader.read(&mut buf[n..]) {
			Ok(0) => break,
			Ok(k) => n += k,
			Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
			Err(e) => return Err(e),
		}
	}
	Ok(n)
}

#[cfg(test)]
mod tests {
	use super::*;
	use rand::{Rng, SeedableRng};

	use crate::testing::random_bytes as data;

	const G: usize = GROUP_LEN as usize;

	#[test]
	fn root_is_the_plain_blake3_hash_for_every_shape() {
		// Empty, tiny, exactly one group, one byte over, powers of two and ragged tails.
		for len in [0, 1, 1024, G - 1, G, G + 1, 2 * G, 3 * G - 7, 4 * G, 5 * G + 1, 7 * G + 123] {
			let d = data(len, len as u64);
			let ob = Outboard::of_bytes(&d);
			assert_eq!(ob.groups(), group_count(len as u64), "len {len}");
			assert_eq!(ob.root().unwrap(), *blake3::hash(&d).as_bytes(), "len {len}");
			for i in 0..ob.groups() {
				let s = (i * GROUP_LEN) as usize;
				let e = s + group_len(len as u64, i) as usize;
				ob.verify_group(i, &d[s..e]).unwrap();
			}
		}
	}

	#[test]
	fn a_flipped_bit_anywhere_is_caught() {
		let len = 3 * G + 4321;
		let d = data(len, 7);
		let root = *blake3::hash(&d).as_bytes();
		let ob = Outboard::of_bytes(&d);
		let mut rng = rand::rngs::StdRng::seed_from_u64(99);
		// In the data: the group holding the bit no longer verifies, the others still do.
		for _ in 0..64 {
			let bit = rng.gen_range(0..len * 8);
			let mut bad = d.clone();
			bad[bit / 8] ^= 1 << (bit % 8);
			let hit = (bit / 8 / G) as u64;
			let s = hit as usize * G;
			let e = (s + G).min(len);
			assert_eq!(
				ob.verify_group(hit, &bad[s..e]),
				Err(VerifyError::GroupMismatch { index: hit })
			);
		}
		// In the outboard: the root no longer matches.
		for g in 0..ob.cvs.len() {
			for bit in [0, 77, 255] {
				let mut bad = ob.clone();
				bad.cvs[g][bit / 8] ^= 1 << (bit % 8);
				assert_eq!(bad.verify(&root), Err(VerifyError::RootMismatch(root)));
			}
		}
		// A single-group blob: its only group is checked against the hash itself.
		let small = data(5000, 1);
		let ob1 = Outboard::of_bytes(&small);
		let mut bad = small.clone();
		bad[4999] ^= 0x80;
		assert!(ob1.verify_group(0, &bad).is_err());
	}

	#[test]
	fn wrong_lengths_and_indices_are_refused() {
		let d = data(2 * G + 10, 3);
		let ob = Outboard::of_bytes(&d);
		assert_eq!(
			ob.verify_group(2, &d[2 * G..2 * G + 9]),
			Err(VerifyError::GroupLength { index: 2, got: 9, want: 10 })
		);
		assert_eq!(
			ob.verify_group(3, &[]),
			Err(VerifyError::GroupOutOfRange { index: 3, groups: 3 })
		);
		// A group moved to another position does not verify there (CVs bind the offset).
		assert!(ob.verify_group(1, &d[..G]).is_err());
		let short = Outboard { size: ob.size, cvs: ob.cvs[..2].to_vec() };
		assert!(matches!(short.root(), Err(VerifyError::OutboardLength { .. })));
		// The size is not hashed into the root, but a wrong size cannot pass: its last group's length
		// differs from the one the CV was made of.
		let resized = Outboard { size: ob.size + 1, cvs: ob.cvs.clone() };
		resized.verify(blake3::hash(&d).as_bytes()).unwrap();
		let mut padded = d[2 * G..].to_vec();
		padded.push(0);
		assert_eq!(resized.verify_group(2, &padded), Err(VerifyError::GroupMismatch { index: 2 }));
	}
}
