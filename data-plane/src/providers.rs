//! Kademlia's record store for the data plane: provider records only, with our own kept apart.
//!
//! libp2p's `MemoryStore` counts every provider key (ours and the ones other peers announce to
//! us) against one limit, 1024 by default, and refuses new keys past it. A worker holding more
//! than 1024 blobs then silently stopped announcing them, and any peer could fill the limit with
//! announcements of random keys so that we stopped announcing anything new. Here:
//! - the keys we provide ourselves are never refused (the content store bounds them);
//! - other peers' records are bounded in keys, providers per key and keys per provider, and
//!   expired ones are dropped to make room before anything new is refused.
//!
//! The data plane stores no value records (`put` is refused).

use libp2p::kad::store::{Error, RecordStore, Result};
use libp2p::kad::{ProviderRecord, Record, RecordKey, K_VALUE};
use libp2p::PeerId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct ProviderLimits {
	/// Keys announced by other peers that we keep.
	pub keys: usize,
	/// Providers kept per key (Kademlia's replication factor).
	pub per_key: usize,
	/// Keys one other peer may have us keep.
	pub per_provider: usize,
}

impl Default for ProviderLimits {
	fn default() -> Self {
		Self { keys: 65_536, per_key: K_VALUE.get(), per_provider: 4_096 }
	}
}

pub struct ProviderStore {
	local: PeerId,
	limits: ProviderLimits,
	own: HashMap<RecordKey, ProviderRecord>,
	others: HashMap<RecordKey, Vec<ProviderRecord>>,
	per_provider: HashMap<PeerId, usize>,
}

impl ProviderStore {
	pub fn new(local: PeerId, limits: ProviderLimits) -> Self {
		Self {
			local,
			limits,
			own: HashMap::new(),
			others: HashMap::new(),
			per_provider: HashMap::new(),
		}
	}

	/// Keys we provide, and keys others announced to us.
	pub fn counts(&self) -> (usize, usize) {
		(self.own.len(), self.others.len())
	}

	fn forget(&mut self, provider: &PeerId) {
		if let Some(n) = self.per_provider.get_mut(provider) {
			*n -= 1;
			if *n == 0 {
				self.per_provider.remove(provider);
			}
		}
	}

	fn drop_expired(&mut self) {
		let now = Instant::now();
		let mut gone = vec![];
		self.others.retain(|_, records| {
			records.retain(|r| {
				let live = r.expires.is_none_or(|t| t > now);
				if !live {
					gone.push(r.provider);
				}
				live
			});
			!records.is_empty()
		});
		for p in gone {
			self.forget(&p);
		}
	}
}

impl RecordStore for ProviderStore {
	type RecordsIter<'a> = std::iter::Empty<Cow<'a, Record>>;
	type ProvidedIter<'a> = Box<dyn Iterator<Item = Cow<'a, ProviderRecord>> + 'a>;

	fn get(&self, _: &RecordKey) -> Option<Cow<'_, Record>> {
		None
	}

	fn put(&mut self, _: Record) -> Result<()> {
		Err(Error::MaxRecords)
	}

	fn remove(&mut self, _: &RecordKey) {}

	fn records(&self) -> Self::RecordsIter<'_> {
		std::iter::empty()
	}

	fn add_provider(&mut self, record: ProviderRecord) -> Result<()> {
		if record.provider == self.local {
			self.own.insert(record.key.clone(), record);
			return Ok(());
		}
		if let Some(records) = self.others.get_mut(&record.key) {
			if let Some(r) = records.iter_mut().find(|r| r.provider == record.provider) {
				*r = record; // a republication
				return Ok(());
			}
		}
		let provider = record.provider;
		if self.per_provider.get(&provider).copied().unwrap_or(0) >= self.limits.per_provider {
			return Err(Error::MaxProvidedKeys);
		}
		if !self.others.contains_key(&record.key) && self.others.len() >= self.limits.keys {
			self.drop_expired();
			if self.others.len() >= self.limits.keys {
				return Err(Error::MaxProvidedKeys);
			}
		}
		let records = self.others.entry(record.key.clone()).or_default();
		if records.len() >= self.limits.per_key {
			return Ok(()); // like libp2p's store: enough providers of this key are known
		}
		records.push(record);
		*self.per_provider.entry(provider).or_default() += 1;
		Ok(())
	}

	fn providers(&self, key: &RecordKey) -> Vec<ProviderRecord> {
		let now = Instant::now();
		let own = self.own.get(key).cloned();
		let others = self.others.get(key).into_iter().flatten();
		own.into_iter()
			.chain(others.filter(|r| r.expires.is_none_or(|t| t > now)).cloned())
			.collect()
	}

	fn provided(&self) -> Self::ProvidedIter<'_> {
		Box::new(self.own.values().map(Cow::Borrowed))
	}

	fn remove_provider(&mut self, key: &RecordKey, provider: &PeerId) {
		if *provider == self.local {
			self.own.remove(key);
			return;
		}
		let Some(records) = self.others.get_mut(key) else { return };
		let before = records.len();
		records.retain(|r| r.provider != *provider);
		let removed = before != records.len();
		if records.is_empty() {
			self.others.remove(key);
		}
		if removed {
			self.forget(provider);
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	fn key(i: u32) -> RecordKey {
		RecordKey::new(&blake3::hash(&i.to_le_bytes()).as_bytes().to_vec())
	}

	fn record(k: RecordKey, provider: PeerId, expires: Option<Instant>) -> ProviderRecord {
		ProviderRecord { key: k, provider, expires, addresses: vec![] }
	}

	#[test]
	fn our_own_keys_are_never_refused_and_others_cannot_crowd_them_out() {
		let me = PeerId::random();
		let limits = ProviderLimits { keys: 100, per_key: 3, per_provider: 40 };
		let mut s = ProviderStore::new(me, limits);
		// Far more than libp2p's default limit of 1024 keys of our own.
		for i in 0..5000 {
			s.add_provider(record(key(i), me, None)).unwrap();
		}
		assert_eq!(s.provided().count(), 5000);
		// One peer may have us keep 40 keys; 100 keys in all, whoever sends them.
		let flooder = PeerId::random();
		let refused =
			(0..1000).filter(|i| s.add_provider(record(key(10_000 + i), flooder, None)).is_err());
		assert_eq!(refused.count(), 960);
		let sybils: Vec<PeerId> = (0..10).map(|_| PeerId::random()).collect();
		let mut kept = 0;
		for (n, p) in sybils.iter().enumerate() {
			for i in 0..40 {
				kept += s.add_provider(record(key(20_000 + n as u32 * 40 + i), *p, None)).is_ok()
					as usize;
			}
		}
		assert_eq!((kept, s.counts()), (60, (5000, 100)));
		// Still, every key of ours is provided and answered for.
		s.add_provider(record(key(5000), me, None)).unwrap();
		assert_eq!(s.providers(&key(4999)).len(), 1);
		assert_eq!(s.provided().count(), 5001);
		// A republication updates in place; a key holds at most `per_key` providers.
		s.add_provider(record(key(10_000), flooder, None)).unwrap();
		let k = key(20_000);
		for p in &sybils[1..5] {
			s.add_provider(record(k.clone(), *p, None)).unwrap();
		}
		assert_eq!(s.providers(&k).len(), 3);
		// Value records are not stored at all.
		assert!(s.put(Record::new(key(1), vec![1])).is_err());
	}

	#[test]
	fn expired_records_make_room_and_removal_frees_a_providers_quota() {
		let me = PeerId::random();
		let limits = ProviderLimits { keys: 10, per_key: 20, per_provider: 10 };
		let mut s = ProviderStore::new(me, limits);
		let (old, new) = (PeerId::random(), PeerId::random());
		let past = Instant::now() - Duration::from_secs(1);
		for i in 0..10 {
			s.add_provider(record(key(i), old, Some(past))).unwrap();
		}
		assert!(s.providers(&key(3)).is_empty(), "expired records are not answered");
		// Full of expired records: they go to make room.
		for i in 10..20 {
			s.add_provider(record(key(i), new, None)).unwrap();
		}
		assert_eq!(s.counts().1, 10);
		assert!(s.add_provider(record(key(20), new, None)).is_err());
		s.remove_provider(&key(10), &new);
		s.remove_provider(&key(10), &new);
		s.add_provider(record(key(20), new, None)).unwrap();
		assert_eq!(s.providers(&key(20))[0].provider, new);
	}
}
