//! The store's space: what it holds, what transfers have reserved, and eviction.
//!
//! Every transfer reserves its blob's full size before its first byte ([`ContentStore::reserve`]),
//! under the same lock as the accounting, so concurrent transfers cannot each pass a check that
//! only one of them fits. The space used is the complete blobs plus, for every blob in transfer,
//! the larger of its partial file and its reservation. When a reservation does not fit, the store
//! evicts, least recently used first: unpinned complete blobs, then partial files no transfer
//! holds (an interrupted download, a push that never completed). Pinned blobs are never evicted;
//! when they fill the budget, the reservation fails with [`StoreError::Full`].

use crate::store::{now_secs, ContentStore, StoreError};
use crate::tree::Hash;
use std::collections::HashMap;
use std::fs;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Space reserved by transfers in progress, per blob.
#[derive(Default)]
pub struct Space {
	reserved: HashMap<Hash, u64>,
}

/// A blob's room in the budget while it is received; released when dropped.
pub struct Reservation {
	store: Arc<ContentStore>,
	key: Hash,
}

impl Drop for Reservation {
	fn drop(&mut self) {
		self.store.space.lock().unwrap().reserved.remove(&self.key);
	}
}

/// A reservation for bytes whose hash is not known yet (an import): it holds room under a random
/// key of its own.
pub struct AnonymousReservation<'a> {
	store: &'a ContentStore,
	key: Hash,
}

impl Drop for AnonymousReservation<'_> {
	fn drop(&mut self) {
		self.store.space.lock().unwrap().reserved.remove(&self.key);
	}
}

impl ContentStore {
	/// Reserves room for blob `hash` of `size` bytes, evicting what it may. `Ok(None)` when a
	/// reservation for it is already held (by a push whose fetch this is, or another fetch of the
	/// same blob): that one covers it.
	pub fn reserve(
		self: &Arc<Self>,
		hash: &Hash,
		size: u64,
	) -> Result<Option<Reservation>, StoreError> {
		let mut space = self.space.lock().unwrap();
		if space.reserved.contains_key(hash) || self.has(hash) {
			return Ok(None);
		}
		self.make_room(&mut space, size, Some(hash))?;
		space.reserved.insert(*hash, size);
		Ok(Some(Reservation { store: self.clone(), key: *hash }))
	}

	pub(crate) fn reserve_anonymous(
		&self,
		size: u64,
	) -> Result<AnonymousReservation<'_>, StoreError> {
		let mut space = self.space.lock().unwrap();
		self.make_room(&mut space, size, None)?;
		let key = rand::random::<Hash>();
		space.reserved.insert(key, size);
		Ok(AnonymousReservation { store: self, key })
	}

	/// Bytes held: complete blobs, plus for each blob in transfer the larger of its partial file
	/// and its reservation.
	pub fn used(&self) -> u64 {
		let space = self.space.lock().unwrap();
		self.used_locked(&space)
	}

	/// Bytes reserved by transfers in progress.
	pub fn reserved(&self) -> u64 {
		self.space.lock().unwrap().reserved.values().sum()
	}

	fn used_locked(&self, space: &Space) -> u64 {
		Self::used_of(space, &self.list(), &self.partials(), |h| self.has(h))
	}

	/// Space used, from one scan of the blobs and partial files (`has`: whether a blob is complete).
	fn used_of(
		space: &Space,
		blobs: &[(Hash, u64)],
		partials: &[(Hash, u64, SystemTime)],
		has: impl Fn(&Hash) -> bool,
	) -> u64 {
		let blobs: u64 = blobs.iter().map(|(_, s)| s).sum();
		let mut in_transfer: u64 = partials
			.iter()
			.map(|(h, len, _)| (*len).max(space.reserved.get(h).copied().unwrap_or(0)))
			.sum();
		for (h, size) in &space.reserved {
			if !partials.iter().any(|(p, _, _)| p == h) && !has(h) {
				in_transfer += size;
			}
		}
		blobs + in_transfer
	}

	/// Partial files: (hash, bytes, last modified).
	fn partials(&self) -> Vec<(Hash, u64, SystemTime)> {
		let Ok(rd) = fs::read_dir(self.root().join("partial")) else { return vec![] };
		rd.flatten()
			.filter_map(|e| {
				let hash = hex::decode(e.file_name().to_str()?).ok()?.try_into().ok()?;
				let m = e.metadata().ok()?;
				Some((hash, m.len(), m.modified().unwrap_or(UNIX_EPOCH)))
			})
			.collect()
	}

	/// Evicts until `need` more bytes fit in the budget, or fails without evicting anything.
	/// `keep` is the blob the room is for (its own partial file is not a candidate).
	fn make_room(
		&self,
		space: &mut Space,
		need: u64,
		keep: Option<&Hash>,
	) -> Result<(), StoreError> {
		// One scan of each directory serves the accounting and the choice of what to evict.
		let (blobs, partials) = (self.list(), self.partials());
		let mut used = Self::used_of(space, &blobs, &partials, |h| self.has(h));
		// Room already counted for this blob's partial file is reused, not asked for twice.
		let own_partial =
			keep.and_then(|k| partials.iter().find(|(h, _, _)| h == k)).map_or(0, |p| p.1);
		let need = need.saturating_sub(own_partial);
		if used.saturating_add(need) <= self.budget {
			return Ok(());
		}
		let now = now_secs();
		// (last used, hash, bytes, whether it is a partial file)
		let mut candidates: Vec<(SystemTime, Hash, u64, bool)> = blobs
			.into_iter()
			.filter(|(h, _)| !self.pins_of(h).live(now))
			.map(|(h, s)| {
				let t = fs::metadata(self.blob_path(&h))
					.and_then(|m| m.modified())
					.unwrap_or(UNIX_EPOCH);
				(t, h, s, false)
			})
			.collect();
		candidates.sort();
		let mut idle: Vec<_> = partials
			.into_iter()
			.filter(|(h, _, _)| !space.reserved.contains_key(h) && Some(h) != keep)
			.map(|(h, len, t)| (t, h, len, true))
			.collect();
		idle.sort();
		candidates.extend(idle);
		let freeable: u64 = candidates.iter().map(|c| c.2).sum();
		if used.saturating_sub(freeable).saturating_add(need) > self.budget {
			return Err(StoreError::Full {
				need,
				budget: self.budget,
				pinned: used.saturating_sub(freeable),
			});
		}
		for (_, h, bytes, partial) in candidates {
			if used.saturating_add(need) <= self.budget {
				break;
			}
			if partial {
				tracing::info!(hash = %hex::encode(h), bytes, "evicting an idle partial transfer");
				self.abandon(&h);
			} else {
				tracing::info!(hash = %hex::encode(h), bytes, "evicting to stay within the store budget");
				self.remove(&h);
			}
			used -= bytes;
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use crate::store::{now_secs, ContentStore, StoreError};
	use crate::tree::{Outboard, GROUP_LEN};
	use std::fs::File;
	use std::sync::Arc;
	use std::time::{Duration, SystemTime};

	const G: usize = GROUP_LEN as usize;

	use crate::testing::random_bytes as data;

	fn store(dir: &std::path::Path, budget: u64) -> Arc<ContentStore> {
		Arc::new(ContentStore::open(dir, budget).unwrap())
	}

	#[test]
	fn the_budget_evicts_unpinned_blobs_oldest_first_and_never_pinned_ones() {
		let dir = tempfile::tempdir().unwrap();
		let s = store(dir.path(), 3 * GROUP_LEN);
		let old = s.put_bytes(&data(G, 10)).unwrap();
		let chain = s.put_bytes(&data(G, 11)).unwrap();
		let lapsed = s.put_bytes(&data(G, 12)).unwrap();
		s.pin(&chain, "curator:1", None).unwrap();
		s.pin(&lapsed, "upload", Some(now_secs() - 1)).unwrap();
		let past = SystemTime::now() - Duration::from_secs(3600);
		File::options().write(true).open(s.blob_path(&old)).unwrap().set_modified(past).unwrap();
		// One more MiB: the least recently used unpinned blob goes.
		let new = s.put_bytes(&data(G, 13)).unwrap();
		assert!(!s.has(&old) && s.has(&chain) && s.has(&lapsed) && s.has(&new));
		// Pin everything: nothing fits and nothing stored is lost.
		s.pin(&lapsed, "upload", Some(now_secs() + 3600)).unwrap();
		s.pin(&new, "job:2", None).unwrap();
		let err = s.put_bytes(&data(G, 14)).unwrap_err();
		assert!(matches!(err, StoreError::Full { .. }), "{err}");
		assert!(err.to_string().contains("raise the budget"));
		assert_eq!(s.list().len(), 3);
		// Two holders pin `chain`: the blob stays until both let go.
		s.pin(&chain, "job:2", None).unwrap();
		s.unpin(&chain, "curator:1").unwrap();
		assert!(s.put_bytes(&data(G, 14)).is_err());
		s.unpin(&chain, "job:2").unwrap();
		s.put_bytes(&data(G, 14)).unwrap();
		assert!(!s.has(&chain));
	}

	#[test]
	fn concurrent_transfers_each_hold_their_room_and_idle_partials_make_way() {
		let dir = tempfile::tempdir().unwrap();
		let s = store(dir.path(), 4 * GROUP_LEN);
		let (a, b, c) = (data(2 * G, 1), data(2 * G, 2), data(2 * G, 3));
		let h = |d: &[u8]| *blake3::hash(d).as_bytes();
		// Two transfers of 2 MiB each fill the 4 MiB budget before a byte has arrived: a third
		// is refused, though nothing is on disk yet (before, each checked an empty store and passed).
		let pa = s.begin(&h(&a), Outboard::of_bytes(&a)).unwrap();
		let pb = s.begin(&h(&b), Outboard::of_bytes(&b)).unwrap();
		assert_eq!((s.used(), s.reserved()), (4 * GROUP_LEN, 4 * GROUP_LEN));
		let err = s.begin(&h(&c), Outboard::of_bytes(&c)).err().unwrap();
		assert!(matches!(err, StoreError::Full { .. }), "{err}");
		// A reservation held by a push covers the fetch that follows it, and is not counted twice.
		drop(pb);
		let held = s.reserve(&h(&b), b.len() as u64).unwrap().expect("a new reservation");
		assert!(s.reserve(&h(&b), b.len() as u64).unwrap().is_none());
		let pb = s.begin(&h(&b), Outboard::of_bytes(&b)).unwrap();
		assert_eq!(s.used(), 4 * GROUP_LEN);
		// A finished transfer's room becomes its blob's.
		pb.write_group(0, &b[..G]).unwrap();
		pb.write_group(1, &b[G..]).unwrap();
		pb.finish().unwrap();
		drop(held);
		assert_eq!((s.used(), s.reserved()), (4 * GROUP_LEN, 2 * GROUP_LEN));
		// The other transfer is interrupted after one group: its partial file stays for a resume,
		// until room is needed and no transfer holds it.
		pa.write_group(0, &a[..G]).unwrap();
		drop(pa);
		assert_eq!(s.reserved(), 0);
		s.pin(&h(&b), "job:1", None).unwrap();
		s.put_bytes(&c).unwrap();
		assert!(s.has(&h(&c)));
		assert!(!s.root().join("partial").join(hex::encode(h(&a))).exists());
		assert!(s.used() <= 4 * GROUP_LEN);
	}
}
