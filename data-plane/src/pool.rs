//! Recycled, page-aligned group buffers.
//!
//! Every group a peer serves or fetches used to live in a fresh 1 MiB `Vec`: the allocator handed
//! back pages the kernel had to fault in and zero, and the `vec![0; n]` zeroed them again. On a
//! 256 MiB transfer that was ~15% of all CPU time (docs/data-plane.md). Buffers now come from here
//! and go back once their bytes are written out; a buffer taken again keeps its old contents until
//! the caller overwrites them, so callers must fill all `len` bytes (they `read_exact` into them).
//!
//! Buffers are [`GroupBuf`]s, aligned to [`ALIGN`], so that the store can write a received group
//! straight to disk (`O_DIRECT`, see `store::Partial`) without copying it into an aligned buffer.
//!
//! At most [`KEPT`] buffers are kept (64 MiB): a fetch's window of requests in flight (32 groups) and
//! its writer's queue (8), with room for what the same process serves to others at the same time.

use crate::tree::GROUP_LEN;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Mutex;

/// How many buffers the pool keeps at most.
pub const KEPT: usize = 64;
/// Alignment of every buffer's start: a page, which satisfies direct I/O on every Linux filesystem
/// and block device in use (their memory alignment is 512 or 4096 bytes).
pub const ALIGN: usize = 4096;

static FREE: Mutex<Vec<GroupBuf>> = Mutex::new(Vec::new());

/// A byte buffer whose start is aligned to [`ALIGN`]; derefs to its `len` bytes. Encodes (SCALE)
/// exactly like a `Vec<u8>`.
pub struct GroupBuf {
	ptr: NonNull<u8>,
	len: usize,
	/// Allocated bytes (a whole number of [`ALIGN`]s, at least one).
	cap: usize,
}

// SAFETY: a GroupBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for GroupBuf {}
unsafe impl Sync for GroupBuf {}

impl GroupBuf {
	/// A zero-filled buffer of `len` bytes with room for at least `cap` bytes.
	fn zeroed(len: usize, cap: usize) -> Self {
		let cap = cap.max(len).max(1).next_multiple_of(ALIGN);
		let layout = Layout::from_size_align(cap, ALIGN).expect("group buffers are small");
		// SAFETY: the layout has a non-zero size.
		let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
		let Some(ptr) = NonNull::new(ptr) else { std::alloc::handle_alloc_error(layout) };
		Self { ptr, len, cap }
	}

	/// A (fresh or recycled) buffer holding a copy of `bytes`.
	pub fn copy_of(bytes: &[u8]) -> Self {
		let mut b = take(bytes.len());
		b.copy_from_slice(bytes);
		b
	}

	fn capacity(&self) -> usize {
		self.cap
	}
}

impl Drop for GroupBuf {
	fn drop(&mut self) {
		let layout = Layout::from_size_align(self.cap, ALIGN).expect("made by zeroed");
		// SAFETY: allocated in `zeroed` with this very layout, and freed only here.
		unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) }
	}
}

impl std::ops::Deref for GroupBuf {
	type Target = [u8];
	fn deref(&self) -> &[u8] {
		// SAFETY: `len <= cap` bytes, all initialised (zeroed at allocation, then only overwritten).
		unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
	}
}

impl std::ops::DerefMut for GroupBuf {
	fn deref_mut(&mut self) -> &mut [u8] {
		// SAFETY: as in `deref`, and `&mut self` makes the access exclusive.
		unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
	}
}

impl Clone for GroupBuf {
	fn clone(&self) -> Self {
		Self::copy_of(self)
	}
}

impl PartialEq for GroupBuf {
	fn eq(&self, other: &Self) -> bool {
		self[..] == other[..]
	}
}
impl Eq for GroupBuf {}

impl std::fmt::Debug for GroupBuf {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "GroupBuf({} bytes)", self.len)
	}
}

impl From<Vec<u8>> for GroupBuf {
	fn from(v: Vec<u8>) -> Self {
		Self::copy_of(&v)
	}
}

impl codec::Encode for GroupBuf {
	fn size_hint(&self) -> usize {
		self[..].size_hint()
	}
	fn encode_to<T: codec::Output + ?Sized>(&self, dest: &mut T) {
		self[..].encode_to(dest)
	}
}

impl codec::Decode for GroupBuf {
	fn decode<I: codec::Input>(input: &mut I) -> Result<Self, codec::Error> {
		Vec::<u8>::decode(input).map(Self::from)
	}
}

/// A buffer of exactly `len` bytes; recycled (with stale contents) when one is free.
pub fn take(len: usize) -> GroupBuf {
	match FREE.lock().unwrap().pop() {
		Some(mut b) if b.capacity() >= len => {
			b.len = len;
			b
		}
		// Kept buffers hold a whole group; a longer ask (only a hostile response) gets its own.
		_ => GroupBuf::zeroed(len, GROUP_LEN as usize),
	}
}

/// Gives a buffer back. Kept only if it holds a whole group and is not much bigger (a response may
/// claim up to 8 MiB; the pool must not hoard such buffers), and while fewer than [`KEPT`] are free.
pub fn give(b: GroupBuf) {
	if !(GROUP_LEN as usize..=2 * GROUP_LEN as usize).contains(&b.capacity()) {
		return;
	}
	let mut free = FREE.lock().unwrap();
	if free.len() < KEPT {
		free.push(b);
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::{Decode, Encode};

	#[test]
	fn buffers_come_back_aligned_with_the_asked_length_and_the_pool_stays_bounded() {
		let mut v = take(GROUP_LEN as usize);
		v.iter_mut().for_each(|b| *b = 7);
		give(v);
		// Other tests share the pool, so only the length, alignment and bound are checked strictly.
		for len in [0, 1, 1000, GROUP_LEN as usize, GROUP_LEN as usize + 10] {
			let w = take(len);
			assert_eq!(w.len(), len);
			assert_eq!(w.as_ptr() as usize % ALIGN, 0, "a buffer of {len} bytes is aligned");
			give(w);
		}
		// Small and oversized buffers are not kept.
		give(GroupBuf::zeroed(10, 10));
		give(GroupBuf::zeroed(8 * GROUP_LEN as usize, 0));
		for _ in 0..KEPT + 5 {
			give(GroupBuf::zeroed(GROUP_LEN as usize, 0));
		}
		let free = FREE.lock().unwrap();
		assert!(free.len() <= KEPT);
		assert!(free
			.iter()
			.all(|b| (GROUP_LEN as usize..=2 * GROUP_LEN as usize).contains(&b.capacity())));
	}

	#[test]
	fn a_group_buffer_encodes_like_a_vec_and_decodes_back() {
		for bytes in [vec![], vec![1u8, 2, 3], vec![9u8; 70_000]] {
			let b = GroupBuf::copy_of(&bytes);
			assert_eq!(b.encode(), bytes.encode());
			assert_eq!(GroupBuf::decode(&mut &bytes.encode()[..]).unwrap(), b);
			assert_eq!(&b.clone()[..], &bytes[..]);
		}
	}
}
