//! Recycled, page-aligned group buffers, backed by huge pages where the kernel gives them.
//!
//! Every group a peer serves or fetches used to live in a fresh 1 MiB `Vec`: the allocator handed
//! back pages the kernel had to fault in and zero, and the `vec![0; n]` zeroed them again. On a
//! 256 MiB transfer that was ~15% of all CPU time (docs/data-plane.md). Buffers now come from here
//! and come back when dropped; a buffer taken again keeps its old contents until the caller
//! overwrites them, so callers must fill all `len` bytes (they `read_exact` into them).
//!
//! Buffers are [`GroupBuf`]s, aligned to [`ALIGN`], so that the store can write a received group
//! straight to disk (`O_DIRECT`, see `store::Partial`) without copying it into an aligned buffer.
//!
//! Whole-group buffers are cut two at a time from 2 MiB slabs that ask for a transparent huge page
//! (`MADV_HUGEPAGE`; the kernel may decline, and then they are ordinary pages). A direct write pins its
//! buffer's pages for the device, one page-table walk per 4 KiB page otherwise, and every copy and hash
//! over a group touches 256 small pages instead of half of one huge page. At most [`KEPT`] such
//! buffers (64 MiB) are ever made: a fetch's window of requests in flight (32 groups) and its writer's
//! queue (8), with room for what the same process serves to others at the same time. They are never
//! freed; once all are in use, and for anything larger than a group, buffers come from the heap and go
//! back to it when dropped.

use crate::tree::GROUP_LEN;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// How many pooled buffers exist at most.
pub const KEPT: usize = 64;
/// Alignment of every buffer's start: a page, which satisfies direct I/O on every Linux filesystem
/// and block device in use (their memory alignment is 512 or 4096 bytes).
pub const ALIGN: usize = 4096;
/// A slab: one huge page on x86-64 and aarch64 (4 KiB base pages), two group buffers.
const SLAB: usize = 2 * GROUP_LEN as usize;

/// Pooled buffers not in use.
static FREE: Mutex<Vec<GroupBuf>> = Mutex::new(Vec::new());
/// Pooled buffers made so far (at most [`KEPT`]).
static MADE: AtomicUsize = AtomicUsize::new(0);

fn free_list() -> MutexGuard<'static, Vec<GroupBuf>> {
	// A panic elsewhere while holding the lock leaves the list itself intact.
	FREE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A byte buffer whose start is aligned to [`ALIGN`]; derefs to its `len` bytes. Encodes (SCALE)
/// exactly like a `Vec<u8>`.
pub struct GroupBuf {
	ptr: NonNull<u8>,
	len: usize,
	/// Allocated bytes (a whole number of [`ALIGN`]s, at least one).
	cap: usize,
	/// Part of a slab: goes back to the pool when dropped, never to the allocator.
	pooled: bool,
}

// SAFETY: a GroupBuf owns its bytes exclusively, like a Vec<u8>.
unsafe impl Send for GroupBuf {}
unsafe impl Sync for GroupBuf {}

impl GroupBuf {
	/// A zero-filled buffer from the heap, of `len` bytes with room for at least `cap` bytes.
	fn zeroed(len: usize, cap: usize) -> Self {
		let cap = cap.max(len).max(1).next_multiple_of(ALIGN);
		let layout = Layout::from_size_align(cap, ALIGN).expect("group buffers are small");
		// SAFETY: the layout has a non-zero size.
		let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
		let Some(ptr) = NonNull::new(ptr) else { std::alloc::handle_alloc_error(layout) };
		Self { ptr, len, cap, pooled: false }
	}

	/// A (fresh or recycled) buffer holding a copy of `bytes`.
	pub fn copy_of(bytes: &[u8]) -> Self {
		let mut b = take(bytes.len());
		b.copy_from_slice(bytes);
		b
	}
}

impl Drop for GroupBuf {
	fn drop(&mut self) {
		if self.pooled {
			let b = GroupBuf { ptr: self.ptr, len: 0, cap: self.cap, pooled: true };
			free_list().push(b);
			return;
		}
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

/// A buffer of exactly `len` bytes: a pooled one (with stale contents) for up to a group, while
/// there are any, else a fresh one from the heap.
pub fn take(len: usize) -> GroupBuf {
	if len <= GROUP_LEN as usize {
		let free = free_list().pop();
		if let Some(mut b) = free {
			b.len = len;
			return b;
		}
		if let Some(mut b) = new_slab() {
			b.len = len;
			return b;
		}
	}
	GroupBuf::zeroed(len, GROUP_LEN as usize)
}

/// Makes a slab, keeps one of its two buffers free and returns the other; `None` once [`KEPT`]
/// pooled buffers exist.
fn new_slab() -> Option<GroupBuf> {
	if MADE.fetch_add(2, Ordering::Relaxed) + 2 > KEPT {
		MADE.fetch_sub(2, Ordering::Relaxed);
		return None;
	}
	let layout = Layout::from_size_align(SLAB, SLAB).expect("a slab is a power of two");
	// SAFETY: the layout has a non-zero size.
	let ptr = unsafe { std::alloc::alloc(layout) };
	let Some(ptr) = NonNull::new(ptr) else { std::alloc::handle_alloc_error(layout) };
	// Before the first touch, so that the fault can map a huge page. Advice only: it may fail.
	#[cfg(target_os = "linux")]
	// SAFETY: the range is this slab's own, just allocated.
	unsafe {
		libc::madvise(ptr.as_ptr().cast(), SLAB, libc::MADV_HUGEPAGE);
	}
	// SAFETY: the slab's SLAB bytes are ours; zeroing initialises them (buffers deref to bytes).
	unsafe { std::ptr::write_bytes(ptr.as_ptr(), 0, SLAB) };
	let half = |i: usize| GroupBuf {
		// SAFETY: within the slab.
		ptr: unsafe { NonNull::new_unchecked(ptr.as_ptr().add(i * GROUP_LEN as usize)) },
		len: 0,
		cap: GROUP_LEN as usize,
		pooled: true,
	};
	free_list().push(half(1));
	Some(half(0))
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::{Decode, Encode};

	#[test]
	fn buffers_are_aligned_pooled_up_to_a_bound_and_come_back_when_dropped() {
		// Other tests in this binary share the pool, so the checks hold whatever they take meanwhile.
		for len in [0, 1, 1000, GROUP_LEN as usize, GROUP_LEN as usize + 10] {
			let w = take(len);
			assert_eq!(w.len(), len);
			assert_eq!(w.as_ptr() as usize % ALIGN, 0, "a buffer of {len} bytes is aligned");
			// Up to a group, a buffer is pooled while there are free ones (other tests may hold them).
			assert!(len <= GROUP_LEN as usize || !w.pooled, "{len} bytes come from the heap");
		}
		// More than the pool holds at once: the rest come from the heap, and the bound holds.
		let mut held: Vec<GroupBuf> = (0..KEPT + 5).map(|_| take(GROUP_LEN as usize)).collect();
		assert!(MADE.load(Ordering::Relaxed) <= KEPT);
		assert!(held.iter().filter(|b| b.pooled).count() <= KEPT);
		assert!(held.iter().any(|b| !b.pooled), "{} buffers cannot all be pooled", KEPT + 5);
		// A pooled buffer dropped anywhere comes back to the free list.
		let i = held.iter().position(|b| b.pooled).expect("some are pooled");
		let b = held.swap_remove(i);
		let at = b.as_ptr();
		drop(b);
		assert!(free_list().iter().any(|f| f.as_ptr() == at), "a dropped buffer is free again");
		drop(held);
		let free = free_list();
		assert!(free.len() <= KEPT);
		assert!(free.iter().all(|b| b.pooled && b.cap == GROUP_LEN as usize && b.is_empty()));
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
