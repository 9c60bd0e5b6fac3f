//! A cap on the chain reads that callers without a tab or a key can make the worker do: `GET
//! /v1/billing?payer=..` costs one or two storage reads of its node per request, for any address
//! anyone names. At most `per_second` such lookups run in each second, across all callers; beyond
//! that the route answers 429 and reads nothing.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct ReadLimit {
	per_second: u32,
	/// The current second and the lookups allowed in it.
	window: Mutex<(u64, u32)>,
}

impl ReadLimit {
	pub fn new(per_second: u32) -> Self {
		Self { per_second, window: Mutex::new((0, 0)) }
	}

	/// Takes one lookup from this second's allowance; false when it is spent.
	pub fn allow(&self) -> bool {
		let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
		self.allow_at(now)
	}

	fn allow_at(&self, second: u64) -> bool {
		let mut w = self.window.lock().expect("read limit");
		if w.0 != second {
			*w = (second, 0);
		}
		if w.1 >= self.per_second {
			return false;
		}
		w.1 += 1;
		true
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn each_second_allows_its_share_and_no_more() {
		let l = ReadLimit::new(3);
		assert_eq!(
			(0..5).map(|_| l.allow_at(10)).collect::<Vec<_>>(),
			[true, true, true, false, false]
		);
		assert!(l.allow_at(11), "a new second, a new allowance");
		assert!(l.allow_at(11) && l.allow_at(11) && !l.allow_at(11));
		assert!(!ReadLimit::new(0).allow_at(1));
	}
}
