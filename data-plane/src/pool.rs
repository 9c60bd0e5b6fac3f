//! Recycled group buffers.
//!
//! Every group a peer serves or fetches used to live in a fresh 1 MiB `Vec`: the allocator handed
//! back pages the kernel had to fault in and zero, and the `vec![0; n]` zeroed them again. On a
//! 256 MiB transfer that was ~15% of all CPU time (docs/data-plane.md). Buffers now come from here
//! and go back once their bytes are written out; a buffer taken again keeps its old contents until
//! the caller overwrites them, so callers must fill all `len` bytes (they `read_exact` into them).
//!
//! At most [`KEPT`] buffers are kept (32 MiB), enough for a fetch's window of requests in flight.

use crate::tree::GROUP_LEN;
use std::sync::Mutex;

/// How many buffers the pool keeps at most.
pub const KEPT: usize = 32;

static FREE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A buffer of exactly `len` bytes; recycled (with stale contents) when one is free.
pub fn take(len: usize) -> Vec<u8> {
	match FREE.lock().unwrap().pop() {
		Some(mut v) => {
			// Only growth is zero-filled; buffers are kept at a whole group, so normally none.
			v.resize(len, 0);
			v
		}
		None => vec![0u8; len],
	}
}

/// Gives a buffer back. Kept only if it holds a group without reallocating and is not much bigger
/// (a response may claim up to 8 MiB; the pool must not hoard such buffers), and while fewer than
/// [`KEPT`] are free.
pub fn give(mut v: Vec<u8>) {
	if !(GROUP_LEN as usize..=2 * GROUP_LEN as usize).contains(&v.capacity()) {
		return;
	}
	let mut free = FREE.lock().unwrap();
	if free.len() < KEPT {
		// Keep the full length initialised, so that `take` of a whole group does not zero-fill.
		v.resize(GROUP_LEN as usize, 0);
		free.push(v);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn buffers_come_back_with_the_asked_length_and_the_pool_stays_bounded() {
		let mut v = take(GROUP_LEN as usize);
		v.iter_mut().for_each(|b| *b = 7);
		give(v);
		// Other tests share the pool, so only the length and the bound are checked strictly.
		let w = take(1000);
		assert_eq!(w.len(), 1000);
		give(w);
		let tail = take(GROUP_LEN as usize + 10);
		assert_eq!(tail.len(), GROUP_LEN as usize + 10);
		// Small and oversized buffers are not kept.
		give(vec![1u8; 10]);
		give(vec![1u8; 8 * GROUP_LEN as usize]);
		for _ in 0..KEPT + 5 {
			give(vec![0u8; GROUP_LEN as usize]);
		}
		assert!(FREE.lock().unwrap().len() <= KEPT);
		assert!(FREE.lock().unwrap().iter().all(|b| b.len() == GROUP_LEN as usize));
		assert!(FREE.lock().unwrap().iter().all(|b| b.capacity() <= 2 * GROUP_LEN as usize));
	}
}
