//! The content store: blobs on disk, addressed by their BLAKE3 hash.
//!
//! Layout under the store's directory:
//! - `blobs/<hex>` the complete, verified bytes; `blobs/<hex>.ob` their outboard (group hashes).
//! - `partial/<hex>` and `partial/<hex>.ob` a transfer in progress (a sparse file of the final size).
//! - `tmp/` files being imported; anything here after a crash is garbage and is removed on open.
//! - `pins/<hex>` who keeps a blob and until when (JSON [`Pins`], see [`crate::pins`]).
//!
//! Guarantees: a blob appears under `blobs/` only by `rename` after every group verified and the bytes
//! were synced, so a crash never leaves a partial blob looking complete. Reads verify each group against
//! the outboard, and a blob found corrupt is removed instead of served. Partial transfers resume: on reopen
//! each group of the partial file is checked against its hash, and those that verify are kept.
//! The store keeps total bytes under a budget (see [`crate::budget`]): every transfer reserves its
//! size before its first byte, and unpinned blobs and idle partial transfers are evicted for room.

use crate::budget::{Reservation, Space};
use crate::pins::Pins;
use crate::pool::GroupBuf;
use crate::tree::{
	group_count, group_len, read_full, Hash, Outboard, OutboardBuilder, VerifyError, GROUP_LEN,
};
use codec::{Decode, Encode};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	#[error("content store I/O error at {path}: {source}")]
	Io { path: PathBuf, source: std::io::Error },
	#[error("blob {} is not in the store", hex::encode(.0))]
	NotFound(Hash),
	#[error("blob {} was corrupt on disk and has been removed: {reason}", hex::encode(.hash))]
	Corrupt { hash: Hash, reason: VerifyError },
	#[error(transparent)]
	Verify(#[from] VerifyError),
	#[error(
		"the store is full: {need} more bytes do not fit in the {budget}-byte budget ({pinned} bytes \
		 are pinned); raise the budget or unpin content"
	)]
	Full { need: u64, budget: u64, pinned: u64 },
	#[error("blob {} is still missing {missing} of its {groups} groups", hex::encode(.hash))]
	Incomplete { hash: Hash, missing: u64, groups: u64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
	r.map_err(|source| StoreError::Io { path: path.to_path_buf(), source })
}

pub fn now_secs() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub struct ContentStore {
	root: PathBuf,
	pub(crate) budget: u64,
	/// Serialises space accounting (the reservations it holds), eviction, pins and the final
	/// rename.
	pub(crate) space: Mutex<Space>,
	/// Transfers under way, by hash: one at a time writes a blob's partial file.
	transfers: Mutex<HashMap<Hash, std::sync::Weak<tokio::sync::Mutex<()>>>>,
}

impl ContentStore {
	/// Opens (creating if needed) a store at `root` holding at most `budget` bytes.
	pub fn open(root: impl Into<PathBuf>, budget: u64) -> Result<Self> {
		let root = root.into();
		for d in ["blobs", "partial", "pins"] {
			let p = root.join(d);
			io(&p, fs::create_dir_all(&p))?;
		}
		let tmp = root.join("tmp");
		if tmp.exists() {
			io(&tmp, fs::remove_dir_all(&tmp))?;
		}
		io(&tmp, fs::create_dir_all(&tmp))?;
		Ok(Self { root, budget, space: Mutex::new(Space::default()), transfers: Mutex::default() })
	}

	/// Waits until no other transfer of `hash` into this store is under way, and holds that
	/// until the guard drops. (A curator's fetch and an upload's pull of the same bytes used to
	/// write one partial file together, and one found it renamed away.)
	pub async fn transfer_slot(&self, hash: &Hash) -> tokio::sync::OwnedMutexGuard<()> {
		let lock = {
			let mut m = self.transfers.lock().expect("transfers lock");
			m.retain(|_, w| w.strong_count() > 0);
			match m.get(hash).and_then(std::sync::Weak::upgrade) {
				Some(l) => l,
				None => {
					let l = Arc::new(tokio::sync::Mutex::new(()));
					m.insert(*hash, Arc::downgrade(&l));
					l
				}
			}
		};
		lock.lock_owned().await
	}

	pub fn root(&self) -> &Path {
		&self.root
	}

	pub fn budget(&self) -> u64 {
		self.budget
	}

	/// Where a complete blob lives (whether or not it is there): read-only use, e.g. copying it out.
	pub fn blob_path(&self, hash: &Hash) -> PathBuf {
		self.root.join("blobs").join(hex::encode(hash))
	}
	pub(crate) fn ob_path(&self, hash: &Hash) -> PathBuf {
		self.root.join("blobs").join(format!("{}.ob", hex::encode(hash)))
	}
	pub(crate) fn partial_path(&self, hash: &Hash) -> PathBuf {
		self.root.join("partial").join(hex::encode(hash))
	}
	pub(crate) fn pin_path(&self, hash: &Hash) -> PathBuf {
		self.root.join("pins").join(hex::encode(hash))
	}

	/// Whether the complete blob is here.
	pub fn has(&self, hash: &Hash) -> bool {
		self.blob_path(hash).is_file()
	}

	/// Size of a complete blob.
	pub fn size(&self, hash: &Hash) -> Result<u64> {
		let p = self.blob_path(hash);
		match fs::metadata(&p) {
			Ok(m) => Ok(m.len()),
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound(*hash)),
			Err(e) => io(&p, Err(e)),
		}
	}

	/// The outboard of a complete blob, recomputed (and rewritten) if its file is missing or damaged.
	pub fn outboard(&self, hash: &Hash) -> Result<Outboard> {
		let size = self.size(hash)?;
		let p = self.ob_path(hash);
		if let Ok(bytes) = fs::read(&p) {
			if let Ok(ob) = Outboard::decode(&mut &bytes[..]) {
				if ob.size == size && ob.verify(hash).is_ok() {
					return Ok(ob);
				}
			}
		}
		let bp = self.blob_path(hash);
		let ob = io(&bp, File::open(&bp).and_then(Outboard::of_reader))?;
		if let Err(reason) = ob.verify(hash) {
			self.quarantine(hash);
			return Err(StoreError::Corrupt { hash: *hash, reason });
		}
		write_atomic(&self.root.join("tmp"), &p, &ob.encode())?;
		Ok(ob)
	}

	/// Reads group `index` of a complete blob and verifies it; a blob that fails is removed.
	pub fn read_group(&self, hash: &Hash, ob: &Outboard, index: u64) -> Result<GroupBuf> {
		let p = self.blob_path(hash);
		let f = match File::open(&p) {
			Ok(f) => f,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				return Err(StoreError::NotFound(*hash))
			}
			Err(e) => return io(&p, Err(e)),
		};
		let mut buf = crate::pool::take(group_len(ob.size, index) as usize);
		io(&p, f.read_exact_at(&mut buf, index * GROUP_LEN))?;
		if let Err(reason) = ob.verify_group(index, &buf) {
			self.quarantine(hash);
			return Err(StoreError::Corrupt { hash: *hash, reason });
		}
		Ok(buf)
	}

	/// Reads a whole blob, verified. Meant for content checks of contributions (bounded by the datanet's
	/// item size cap), not for streaming.
	pub fn read_all(&self, hash: &Hash) -> Result<Vec<u8>> {
		let ob = self.outboard(hash)?;
		let mut out = Vec::with_capacity(ob.size as usize);
		for i in 0..ob.groups() {
			let group = self.read_group(hash, &ob, i)?;
			out.extend_from_slice(&group);
		}
		self.touch(hash);
		Ok(out)
	}

	/// Copies a file into the store (hashing as it goes) and returns its hash and outboard.
	pub fn import_file(&self, path: &Path) -> Result<(Hash, Outboard)> {
		let src = io(path, File::open(path))?;
		let _room = self.reserve_anonymous(io(path, src.metadata())?.len())?;
		let tmp_dir = self.root.join("tmp");
		let mut tmp = io(&tmp_dir, tempfile_in(&tmp_dir))?;
		// One pass: copy each group while hashing it.
		let mut reader = std::io::BufReader::with_capacity(1 << 16, src);
		let mut buf = vec![0u8; GROUP_LEN as usize];
		let mut builder = OutboardBuilder::default();
		loop {
			let n = io(path, read_full(&mut reader, &mut buf))?;
			io(&tmp.1, tmp.0.write_all(&buf[..n]))?;
			builder.push_group(&buf[..n]);
			if n < buf.len() {
				break;
			}
		}
		io(&tmp.1, tmp.0.sync_all())?;
		let ob = builder.finish();
		let hash = ob.root().expect("outboard made here has the right shape");
		self.commit(&hash, &ob, &tmp.1)?;
		Ok((hash, ob))
	}

	/// Stores bytes held in memory.
	pub fn put_bytes(&self, bytes: &[u8]) -> Result<Hash> {
		let _room = self.reserve_anonymous(bytes.len() as u64)?;
		let tmp_dir = self.root.join("tmp");
		let mut tmp = io(&tmp_dir, tempfile_in(&tmp_dir))?;
		io(&tmp.1, tmp.0.write_all(bytes).and_then(|_| tmp.0.sync_all()))?;
		let ob = Outboard::of_bytes(bytes);
		let hash = ob.root().expect("outboard made here has the right shape");
		self.commit(&hash, &ob, &tmp.1)?;
		Ok(hash)
	}

	/// Moves verified, synced bytes at `from` into place as blob `hash`.
	fn commit(&self, hash: &Hash, ob: &Outboard, from: &Path) -> Result<()> {
		let _g = self.space.lock().unwrap();
		write_atomic(&self.root.join("tmp"), &self.ob_path(hash), &ob.encode())?;
		let to = self.blob_path(hash);
		io(&to, fs::rename(from, &to))?;
		sync_dir(&self.root.join("blobs"));
		Ok(())
	}

	/// Starts (or resumes) receiving blob `hash` described by `ob`, which must reproduce the hash.
	pub fn begin(self: &Arc<Self>, hash: &Hash, ob: Outboard) -> Result<Partial> {
		ob.verify(hash)?;
		let path = self.partial_path(hash);
		let resuming = path.is_file();
		// Room for the whole blob is held from the first byte (unless a push already holds it).
		let room = self.reserve(hash, ob.size)?;
		let file = io(
			&path,
			OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path),
		)?;
		let mut have = vec![false; ob.groups() as usize];
		if resuming {
			// The partial file is its own bitmap: a group is present exactly when its bytes verify.
			let mut buf = vec![0u8; GROUP_LEN as usize];
			for (i, h) in have.iter_mut().enumerate() {
				let n = group_len(ob.size, i as u64) as usize;
				if file.read_exact_at(&mut buf[..n], i as u64 * GROUP_LEN).is_ok() {
					*h = ob.verify_group(i as u64, &buf[..n]).is_ok();
				}
			}
		}
		Ok(Partial {
			_room: room,
			store: self.clone(),
			hash: *hash,
			ob,
			file,
			direct: open_direct(&path),
			direct_refused: Default::default(),
			direct_writes: Default::default(),
			path,
			have: Mutex::new(have),
			unflushed: Default::default(),
		})
	}

	/// Removes a partial transfer.
	pub fn abandon(&self, hash: &Hash) {
		let _ = fs::remove_file(self.partial_path(hash));
	}

	/// Pins `hash` for `holder` until `until` (Unix seconds) or, with `None`, until released
	/// (see [`crate::pins`]). Lapsed pins of other holders are dropped on the way.
	pub fn pin(&self, hash: &Hash, holder: &str, until: Option<u64>) -> Result<()> {
		let _g = self.space.lock().unwrap();
		let mut pins = self.pins_of(hash);
		pins.prune(now_secs());
		pins.add(holder, until);
		self.write_pins(hash, &pins)
	}

	/// Releases `holder`'s pin on `hash`; the blob stays while other holders pin it.
	pub fn unpin(&self, hash: &Hash, holder: &str) -> Result<()> {
		let _g = self.space.lock().unwrap();
		let mut pins = self.pins_of(hash);
		if !pins.remove(holder) {
			return Ok(());
		}
		pins.prune(now_secs());
		self.write_pins(hash, &pins)
	}

	pub fn pins_of(&self, hash: &Hash) -> Pins {
		fs::read(self.pin_path(hash))
			.ok()
			.and_then(|b| serde_json::from_slice(&b).ok())
			.unwrap_or_default()
	}

	fn write_pins(&self, hash: &Hash, pins: &Pins) -> Result<()> {
		let path = self.pin_path(hash);
		if pins.holders.is_empty() {
			return match fs::remove_file(&path) {
				Err(e) if e.kind() != std::io::ErrorKind::NotFound => io(&path, Err(e)),
				_ => Ok(()),
			};
		}
		write_atomic(&self.root.join("tmp"), &path, &serde_json::to_vec(pins).unwrap())?;
		sync_dir(&self.root.join("pins"));
		Ok(())
	}

	/// Complete blobs: (hash, size).
	pub fn list(&self) -> Vec<(Hash, u64)> {
		let mut out = Vec::new();
		let Ok(rd) = fs::read_dir(self.root.join("blobs")) else { return out };
		for e in rd.flatten() {
			let name = e.file_name();
			let Some(name) = name.to_str() else { continue };
			let Ok(bytes) = hex::decode(name) else { continue };
			let Ok(hash) = <Hash>::try_from(bytes) else { continue };
			if let Ok(m) = e.metadata() {
				out.push((hash, m.len()));
			}
		}
		out
	}

	/// Deletes a blob, its outboard and its pin.
	pub fn remove(&self, hash: &Hash) {
		let _ = fs::remove_file(self.blob_path(hash));
		let _ = fs::remove_file(self.ob_path(hash));
		let _ = fs::remove_file(self.pin_path(hash));
	}

	fn quarantine(&self, hash: &Hash) {
		tracing::warn!(hash = %hex::encode(hash), "removing a blob that failed verification on disk");
		self.remove(hash);
	}

	/// Marks a blob as recently used (for eviction order).
	pub(crate) fn touch(&self, hash: &Hash) {
		if let Ok(f) = File::options().write(true).open(self.blob_path(hash)) {
			let _ = f.set_modified(SystemTime::now());
		}
	}
}

/// A blob being received: groups arrive in any order, each verified before it is written.
pub struct Partial {
	/// The blob's room in the budget while it is received.
	_room: Option<Reservation>,
	store: Arc<ContentStore>,
	hash: Hash,
	ob: Outboard,
	file: File,
	/// The same file opened for direct I/O (Linux's `O_DIRECT`): whole groups in page-aligned
	/// buffers go to the disk without the page cache, see [`Partial::write_at`]. `None` where
	/// the platform or filesystem has no direct I/O; `direct_refused` turns it off after an
	/// `EINVAL` from a write.
	direct: Option<File>,
	direct_refused: std::sync::atomic::AtomicBool,
	/// Groups written with direct I/O (for tests and diagnostics).
	direct_writes: std::sync::atomic::AtomicU64,
	path: PathBuf,
	have: Mutex<Vec<bool>>,
	/// Bytes written through the page cache since writeback was last started.
	unflushed: std::sync::atomic::AtomicU64,
}

/// A receiver starts the kernel's writeback after this many bytes, so the disk works while the
/// network does and `finish`'s sync has little left to wait for.
const WRITEBACK_EVERY: u64 = 32 << 20;

impl Partial {
	pub fn outboard(&self) -> &Outboard {
		&self.ob
	}

	/// Groups still to fetch, in order.
	pub fn missing(&self) -> Vec<u64> {
		let have = self.have.lock().unwrap();
		(0..have.len() as u64).filter(|i| !have[*i as usize]).collect()
	}

	/// Verifies group `index` and writes it in place. Bad bytes are refused and nothing is written.
	pub fn write_group(&self, index: u64, bytes: &[u8]) -> Result<()> {
		self.ob.verify_group(index, bytes)?;
		self.write_at(index, bytes)
	}

	/// Checks a received group against the outboard; only a [`VerifiedGroup`] can be
	/// [`write`](Self::write)n. This lets a receiver verify on its network path and leave the
	/// writing to another thread.
	pub fn verify(&self, index: u64, bytes: GroupBuf) -> Result<VerifiedGroup> {
		self.ob.verify_group(index, &bytes)?;
		Ok(VerifiedGroup { index, bytes })
	}

	/// Writes a verified group in place; its buffer goes back to the pool.
	pub fn write(&self, group: VerifiedGroup) -> Result<()> {
		self.write_at(group.index, &group.bytes)
	}

	/// Groups written with direct I/O so far.
	pub fn direct_writes(&self) -> u64 {
		self.direct_writes.load(std::sync::atomic::Ordering::Relaxed)
	}

	/// Writes group `index`, already verified, in place.
	///
	/// A whole group in a page-aligned buffer (what the fetch path receives into, see
	/// [`crate::pool`]) is written with direct I/O where the filesystem allows it. A received blob is
	/// bulk data that is synced at the end and read again, if at all, much later; through the page
	/// cache each MiB cost a copy into freshly allocated cache pages, and on the team VMs that was
	/// a third of the receiver's CPU time and the cause of its slowest transfers (docs/data-plane.md).
	/// Anything else (a blob's last, short group, an unaligned buffer) goes through the page cache.
	fn write_at(&self, index: u64, bytes: &[u8]) -> Result<()> {
		use std::sync::atomic::Ordering::Relaxed;
		let offset = index * GROUP_LEN;
		if !io(&self.path, self.write_direct(bytes, offset))? {
			io(&self.path, self.file.write_all_at(bytes, offset))?;
			if self.unflushed.fetch_add(bytes.len() as u64, Relaxed) + bytes.len() as u64
				>= WRITEBACK_EVERY
			{
				self.unflushed.store(0, Relaxed);
				start_writeback(&self.file);
			}
		}
		self.have.lock().unwrap()[index as usize] = true;
		Ok(())
	}

	/// Writes `bytes` at `offset` with direct I/O if it can; `Ok(false)` means "use the page cache".
	fn write_direct(&self, bytes: &[u8], offset: u64) -> std::io::Result<bool> {
		use std::sync::atomic::Ordering::Relaxed;
		let align = crate::pool::ALIGN;
		let Some(direct) = &self.direct else { return Ok(false) };
		if self.direct_refused.load(Relaxed)
			|| bytes.is_empty()
			|| !(bytes.as_ptr() as usize).is_multiple_of(align)
			|| !bytes.len().is_multiple_of(align)
			|| !offset.is_multiple_of(align as u64)
		{
			return Ok(false);
		}
		match direct.write_all_at(bytes, offset) {
			Ok(()) => {
				self.direct_writes.fetch_add(1, Relaxed);
				Ok(true)
			}
			// Alignment rules stricter than ours, or a filesystem that accepts O_DIRECT at open
			// but not on writes: the page cache then takes this write (all of it) and later ones.
			Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
				tracing::debug!(path = %self.path.display(), "direct I/O refused: {e}");
				self.direct_refused.store(true, Relaxed);
				Ok(false)
			}
			Err(e) => Err(e),
		}
	}

	/// Syncs and moves the blob into place once every group is present.
	pub fn finish(self) -> Result<Hash> {
		let missing = self.missing().len() as u64;
		if missing > 0 {
			return Err(StoreError::Incomplete {
				hash: self.hash,
				missing,
				groups: group_count(self.ob.size),
			});
		}
		io(&self.path, self.file.sync_all())?;
		self.store.commit(&self.hash, &self.ob, &self.path)?;
		Ok(self.hash)
	}
}

/// A received group that matched the blob's outboard (made by [`Partial::verify`]).
pub struct VerifiedGroup {
	index: u64,
	bytes: GroupBuf,
}

impl VerifiedGroup {
	pub fn index(&self) -> u64 {
		self.index
	}
}

/// Writes `bytes` to `to` through a synced temporary file in `tmp_dir` and a rename.
fn write_atomic(tmp_dir: &Path, to: &Path, bytes: &[u8]) -> Result<()> {
	let (mut f, p) = io(tmp_dir, tempfile_in(tmp_dir))?;
	io(&p, f.write_all(bytes).and_then(|_| f.sync_all()))?;
	io(to, fs::rename(&p, to))
}

/// `path` opened for writing with direct I/O (`O_DIRECT`), where the platform and filesystem have
/// it (tmpfs before Linux 6.6, for one, refuses it at open).
fn open_direct(path: &Path) -> Option<File> {
	#[cfg(target_os = "linux")]
	{
		use std::os::unix::fs::OpenOptionsExt;
		OpenOptions::new().write(true).custom_flags(libc::O_DIRECT).open(path).ok()
	}
	#[cfg(not(target_os = "linux"))]
	{
		let _ = path;
		None
	}
}

/// Asks the kernel to start writing the file's dirty pages out without waiting for them (Linux's
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`). Durability still comes from the `sync_all` before commit.
fn start_writeback(file: &File) {
	#[cfg(target_os = "linux")]
	{
		use std::os::fd::AsRawFd;
		// SAFETY: a plain syscall on a descriptor we own; it reads no memory of ours.
		unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
	}
	#[cfg(not(target_os = "linux"))]
	let _ = file;
}

fn tempfile_in(dir: &Path) -> std::io::Result<(File, PathBuf)> {
	loop {
		let p = dir.join(format!("{:016x}", rand::random::<u64>()));
		match OpenOptions::new().write(true).create_new(true).open(&p) {
			Ok(f) => return Ok((f, p)),
			Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
			Err(e) => return Err(e),
		}
	}
}

pub(crate) fn sync_dir(dir: &Path) {
	if let Ok(d) = File::open(dir) {
		let _ = d.sync_all();
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const G: usize = GROUP_LEN as usize;

	use crate::testing::random_bytes as data;

	fn store(dir: &Path, budget: u64) -> Arc<ContentStore> {
		Arc::new(ContentStore::open(dir, budget).unwrap())
	}

	#[test]
	fn import_and_put_store_verified_blobs() {
		let dir = tempfile::tempdir().unwrap();
		let s = store(dir.path(), 1 << 30);
		let d = data(2 * G + 99, 1);
		let f = dir.path().join("in.bin");
		fs::write(&f, &d).unwrap();
		let (h, ob) = s.import_file(&f).unwrap();
		assert_eq!(h, *blake3::hash(&d).as_bytes());
		assert_eq!(ob.groups(), 3);
		assert_eq!(s.read_all(&h).unwrap(), d);
		let small = s.put_bytes(b"hello").unwrap();
		assert_eq!(s.read_all(&small).unwrap(), b"hello");
		let mut listed = s.list();
		listed.sort();
		let mut want = vec![(h, d.len() as u64), (small, 5)];
		want.sort();
		assert_eq!(listed, want);
		assert_eq!(s.used(), d.len() as u64 + 5);
		// The outboard file is optional: it is rebuilt from the bytes when missing.
		fs::remove_file(s.ob_path(&h)).unwrap();
		assert_eq!(s.outboard(&h).unwrap(), ob);
	}

	#[test]
	fn a_crash_before_the_rename_never_leaves_a_complete_looking_blob() {
		let dir = tempfile::tempdir().unwrap();
		let d = data(3 * G + 5, 2);
		let h = *blake3::hash(&d).as_bytes();
		{
			let s = store(dir.path(), 1 << 30);
			let p = s.begin(&h, Outboard::of_bytes(&d)).unwrap();
			for i in 0..4u64 {
				let (a, b) = (i as usize * G, ((i as usize + 1) * G).min(d.len()));
				p.write_group(i, &d[a..b]).unwrap();
			}
			// Every byte is written and synced-or-not, but `finish` (the rename) never ran: the
			// process "crashes" here.
			assert!(!s.has(&h));
			assert!(s.list().is_empty());
			assert!(matches!(s.read_all(&h), Err(StoreError::NotFound(_))));
			// A half-written import left in tmp/ is garbage.
			fs::write(dir.path().join("tmp").join("leftover"), b"half").unwrap();
		}
		let s = store(dir.path(), 1 << 30);
		assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
		assert!(!s.has(&h));
		// Resuming finds every group already verified on disk and only renames.
		let p = s.begin(&h, Outboard::of_bytes(&d)).unwrap();
		assert!(p.missing().is_empty());
		p.finish().unwrap();
		assert_eq!(s.read_all(&h).unwrap(), d);
	}

	#[test]
	fn verified_groups_in_pool_buffers_go_around_the_page_cache_and_read_back() {
		let dir = tempfile::tempdir().unwrap();
		let s = store(dir.path(), 1 << 30);
		let d = data(3 * G + 4096 + 7, 8);
		let h = *blake3::hash(&d).as_bytes();
		let ob = Outboard::of_bytes(&d);
		let group = |i: u64| &d[i as usize * G..((i as usize + 1) * G).min(d.len())];
		let p = s.begin(&h, ob).unwrap();
		// Groups 2, 0 and the short last one arrive in pool buffers, group 1 as a plain slice.
		for i in [2u64, 0, 3] {
			let g = p.verify(i, GroupBuf::copy_of(group(i))).unwrap();
			assert_eq!(g.index(), i);
			p.write(g).unwrap();
		}
		p.write_group(1, group(1)).unwrap();
		// Bad bytes never become a VerifiedGroup.
		assert!(matches!(p.verify(1, GroupBuf::copy_of(group(2))), Err(StoreError::Verify(_))));
		// Where the filesystem has direct I/O (ext4, xfs, btrfs; not every tmpfs), the two whole
		// groups in aligned buffers took it; the short last group and the unaligned slice did not.
		if p.direct.is_some() {
			assert_eq!(p.direct_writes(), 2);
		} else {
			assert_eq!(p.direct_writes(), 0);
		}
		assert!(p.missing().is_empty());
		p.finish().unwrap();
		assert_eq!(s.read_all(&h).unwrap(), d);
		// Reopened, the blob still reads back whole.
		drop(s);
		let s = store(dir.path(), 1 << 30);
		assert_eq!(s.read_all(&h).unwrap(), d);
	}

	#[test]
	fn resume_keeps_only_groups_that_verify() {
		let dir = tempfile::tempdir().unwrap();
		let d = data(5 * G + 17, 3);
		let h = *blake3::hash(&d).as_bytes();
		let ob = Outboard::of_bytes(&d);
		let group = |i: u64| &d[i as usize * G..((i as usize + 1) * G).min(d.len())];
		{
			let s = store(dir.path(), 1 << 30);
			let p = s.begin(&h, ob.clone()).unwrap();
			for i in [0u64, 2, 3, 5] {
				p.write_group(i, group(i)).unwrap();
			}
			// Bad bytes are refused and not written.
			assert!(matches!(p.write_group(1, group(4)), Err(StoreError::Verify(_))));
			assert_eq!(p.missing(), vec![1, 4]);
			assert!(matches!(
				p.finish(),
				Err(StoreError::Incomplete { missing: 2, groups: 6, .. })
			));
		}
		// A torn write: group 3 on disk is damaged while the process was down.
		let part = dir.path().join("partial").join(hex::encode(h));
		let f = OpenOptions::new().write(true).open(&part).unwrap();
		f.write_all_at(&[0xff; 10], 3 * GROUP_LEN + 100).unwrap();
		drop(f);
		let s = store(dir.path(), 1 << 30);
		let p = s.begin(&h, ob.clone()).unwrap();
		assert_eq!(p.missing(), vec![1, 3, 4]);
		for i in p.missing() {
			p.write_group(i, group(i)).unwrap();
		}
		p.finish().unwrap();
		assert_eq!(s.read_all(&h).unwrap(), d);
		// An outboard that does not reproduce the hash cannot start a transfer.
		let mut bad = ob.clone();
		bad.cvs[2][0] ^= 1;
		assert!(matches!(s.begin(&[9; 32], ob), Err(StoreError::Verify(_))));
		assert!(matches!(s.begin(&h, bad), Err(StoreError::Verify(_))));
	}

	#[test]
	fn corrupt_blobs_are_removed_not_served() {
		let dir = tempfile::tempdir().unwrap();
		let s = store(dir.path(), 1 << 30);
		let d = data(2 * G, 4);
		let h = s.put_bytes(&d).unwrap();
		let f = OpenOptions::new().write(true).open(s.blob_path(&h)).unwrap();
		f.write_all_at(&[0], G as u64 + 7).unwrap();
		drop(f);
		let ob = s.outboard(&h).unwrap(); // the outboard file itself is intact
		s.read_group(&h, &ob, 0).unwrap();
		assert!(matches!(s.read_group(&h, &ob, 1), Err(StoreError::Corrupt { .. })));
		assert!(!s.has(&h));
	}
}
