//! The curator agent's memory across restarts: what it voted, what it abstained on and why, which
//! contributions it could not fetch yet, and its per-datanet near-duplicate indexes.
//!
//! The chain is the authority on votes (the agent also asks it before voting); the journal saves work
//! and remembers decisions the chain does not record (abstentions, fetch retries).
//!
//! On disk it is an append-only log of JSON lines: a snapshot of the whole state, then one line per
//! change, so a change costs one short append whatever the journal holds (it used to rewrite the
//! whole state, every signature of every index, with an fsync, per record). Outcomes are synced as
//! they are recorded; other changes at the end of each round ([`Journal::flush`]). When the log has
//! grown to several times the state it describes, it is rewritten as one snapshot (a synced
//! temporary file renamed over it, then the directory synced). A torn last line, from a crash
//! mid-append, is dropped on open; a damaged line before it is an error.

use content_check::dedupe::{Fingerprint, NearDupIndex};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
	/// We voted (the text is the vote, e.g. `approve` or `reject:Malformed`).
	Voted(String),
	/// We will not vote: the content cannot be judged automatically, or it is our own.
	Abstained(String),
	/// The bytes could not be fetched after every retry; left for others, never voted down.
	GaveUp(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retry {
	pub attempts: u32,
	/// Unix seconds before which the next attempt is not made.
	pub not_before: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct JournalData {
	/// Every contribution id below this is settled for us (decided on chain, done by us, or in a
	/// datanet we do not curate).
	pub low_water: u64,
	/// The datanets we curated when `low_water` was last advanced. When a datanet adds us as curator,
	/// the scan starts again from 0 (outcomes already recorded are not redone).
	#[serde(default)]
	pub curated: BTreeSet<u32>,
	pub outcomes: BTreeMap<u64, Outcome>,
	pub retries: BTreeMap<u64, Retry>,
	/// Contributions whose bytes we pinned for the chain while they were pending (id -> hex hash):
	/// unpinned when rejected, kept when accepted.
	#[serde(default)]
	pub pinned_pending: BTreeMap<u64, String>,
	pub dedupe: BTreeMap<u32, NearDupIndex>,
}

/// One line of the log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Change {
	Snapshot(JournalData),
	LowWater(u64),
	Curated(BTreeSet<u32>),
	Outcome(u64, Outcome),
	Retry(u64, Retry),
	Pinned(u64, String),
	Unpinned(u64),
	/// An approved text joins its datanet's duplicate index.
	Indexed(u32, u64, Fingerprint),
}

impl JournalData {
	fn apply(&mut self, change: Change) {
		match change {
			Change::Snapshot(data) => *self = data,
			Change::LowWater(n) => self.low_water = n,
			Change::Curated(set) => self.curated = set,
			Change::Outcome(id, outcome) => {
				self.retries.remove(&id);
				self.outcomes.insert(id, outcome);
			}
			Change::Retry(id, retry) => {
				self.retries.insert(id, retry);
			}
			Change::Pinned(id, hash) => {
				self.pinned_pending.insert(id, hash);
			}
			Change::Unpinned(id) => {
				self.pinned_pending.remove(&id);
			}
			Change::Indexed(datanet, id, fp) => {
				self.dedupe.entry(datanet).or_default().insert_fingerprint(id, fp)
			}
		}
	}

	/// Roughly how many lines a snapshot stands for (to decide when to compact).
	fn size(&self) -> u64 {
		let indexed: usize = self.dedupe.values().map(|i| i.len()).sum();
		(self.outcomes.len() + self.retries.len() + self.pinned_pending.len() + indexed) as u64
	}
}

/// The log is rewritten once it has this many lines and more than `COMPACT_RATIO` lines per item of
/// state: each rewrite is paid for by at least as many appends as the state it writes.
const COMPACT_MIN_LINES: u64 = 1024;
const COMPACT_RATIO: u64 = 4;

pub struct Journal {
	path: PathBuf,
	data: JournalData,
	log: File,
	lines: u64,
}

impl Journal {
	pub fn open(path: impl Into<PathBuf>) -> anyhow::Result<Self> {
		let path = path.into();
		let damaged = |why: String| {
			anyhow::anyhow!("{} is damaged ({why}); move it away to start afresh", path.display())
		};
		let (data, lines, keep) = match std::fs::read(&path) {
			Ok(bytes) => match serde_json::from_slice::<JournalData>(&bytes) {
				// The journal of earlier versions: one JSON document, rewritten whole.
				Ok(data) => (data, u64::MAX, None),
				Err(_) => {
					let (data, lines, keep) = replay(&bytes).map_err(damaged)?;
					(data, lines, (keep < bytes.len()).then_some(keep))
				}
			},
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => (JournalData::default(), 0, None),
			Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
		};
		if let Some(dir) = path.parent() {
			std::fs::create_dir_all(dir)?;
		}
		if let Some(len) = keep {
			tracing::warn!(journal = %path.display(), "dropping a torn last line (a crash mid-write)");
			OpenOptions::new().write(true).open(&path)?.set_len(len as u64)?;
		}
		let log = OpenOptions::new().create(true).append(true).open(&path)?;
		let mut j = Self { path, data, log, lines };
		if j.lines == 0 || j.lines == u64::MAX {
			j.compact()?;
		}
		Ok(j)
	}

	pub fn path(&self) -> &Path {
		&self.path
	}

	pub fn data(&self) -> &JournalData {
		&self.data
	}

	/// Records what became of contribution `id` (synced before it returns).
	pub fn record(&mut self, id: u64, outcome: Outcome) -> anyhow::Result<()> {
		self.change(Change::Outcome(id, outcome))?;
		self.log.sync_data()?;
		Ok(())
	}

	pub fn set_low_water(&mut self, n: u64) -> anyhow::Result<()> {
		if n == self.data.low_water {
			return Ok(());
		}
		self.change(Change::LowWater(n))
	}

	pub fn set_curated(&mut self, datanets: BTreeSet<u32>) -> anyhow::Result<()> {
		if datanets == self.data.curated {
			return Ok(());
		}
		self.change(Change::Curated(datanets))
	}

	pub fn retry(&mut self, id: u64, retry: Retry) -> anyhow::Result<()> {
		self.change(Change::Retry(id, retry))
	}

	pub fn pin_pending(&mut self, id: u64, hash: String) -> anyhow::Result<()> {
		if self.data.pinned_pending.get(&id) == Some(&hash) {
			return Ok(());
		}
		self.change(Change::Pinned(id, hash))
	}

	pub fn unpin_pending(&mut self, id: u64) -> anyhow::Result<()> {
		self.change(Change::Unpinned(id))
	}

	/// Adds an approved text to `datanet`'s duplicate index.
	pub fn index(&mut self, datanet: u32, id: u64, fp: Fingerprint) -> anyhow::Result<()> {
		if self.data.dedupe.get(&datanet).is_some_and(|i| i.contains(id)) {
			return Ok(());
		}
		self.change(Change::Indexed(datanet, id, fp))
	}

	/// Makes every change so far durable.
	pub fn flush(&mut self) -> anyhow::Result<()> {
		self.log.sync_data()?;
		Ok(())
	}

	fn change(&mut self, change: Change) -> anyhow::Result<()> {
		let mut line = serde_json::to_vec(&change)?;
		line.push(b'\n');
		self.log.write_all(&line)?;
		self.data.apply(change);
		self.lines += 1;
		if self.lines >= COMPACT_MIN_LINES && self.lines > COMPACT_RATIO * self.data.size() {
			self.compact()?;
		}
		Ok(())
	}

	/// Rewrites the log as one snapshot line.
	fn compact(&mut self) -> anyhow::Result<()> {
		let dir = self.path.parent().unwrap_or(Path::new("."));
		let tmp = dir.join(format!(".{}.tmp", self.path.file_name().unwrap().to_string_lossy()));
		let mut f = File::create(&tmp)?;
		let snapshot = Change::Snapshot(std::mem::take(&mut self.data));
		let written = serde_json::to_writer(&mut f, &snapshot);
		let Change::Snapshot(data) = snapshot else { unreachable!() };
		self.data = data;
		written?;
		f.write_all(b"\n")?;
		f.sync_all()?;
		std::fs::rename(&tmp, &self.path)?;
		File::open(dir)?.sync_all()?;
		self.log = OpenOptions::new().append(true).open(&self.path)?;
		self.lines = 1;
		Ok(())
	}
}

/// Applies the log's lines in order. Returns the state, the number of lines, and how many bytes
/// to keep (less than all when the last line is torn).
fn replay(bytes: &[u8]) -> Result<(JournalData, u64, usize), String> {
	let mut data = JournalData::default();
	let (mut lines, mut at) = (0u64, 0usize);
	while at < bytes.len() {
		let end = bytes[at..].iter().position(|b| *b == b'\n').map(|i| at + i);
		let line = &bytes[at..end.unwrap_or(bytes.len())];
		match serde_json::from_slice::<Change>(line) {
			Ok(change) if end.is_some() => data.apply(change),
			// Unterminated, or unreadable with nothing after it: a torn append.
			_ if end.is_none_or(|e| e + 1 == bytes.len()) => return Ok((data, lines, at)),
			Ok(_) => unreachable!("terminated lines parse above"),
			Err(e) => return Err(format!("line {}: {e}", lines + 1)),
		}
		lines += 1;
		at = end.expect("terminated") + 1;
	}
	Ok((data, lines, at))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_journal_survives_a_restart_and_refuses_a_damaged_file() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("j.json");
		let mut j = Journal::open(&p).unwrap();
		j.set_low_water(3).unwrap();
		j.retry(4, Retry { attempts: 1, not_before: 99 }).unwrap();
		j.index(0, 4, Fingerprint::of("some text of a contribution here")).unwrap();
		j.pin_pending(5, "ab".into()).unwrap();
		j.record(4, Outcome::Voted("approve".into())).unwrap();
		j.flush().unwrap();
		drop(j);
		let j = Journal::open(&p).unwrap();
		assert_eq!(j.data().low_water, 3);
		assert_eq!(j.data().outcomes.get(&4), Some(&Outcome::Voted("approve".into())));
		assert!(j.data().retries.is_empty(), "a recorded outcome clears its retries");
		assert!(j.data().dedupe[&0].contains(4));
		assert_eq!(j.data().pinned_pending.get(&5).map(String::as_str), Some("ab"));
		drop(j);
		// A damaged line with more after it is not a torn append: refused, nothing overwritten.
		let mut bytes = std::fs::read(&p).unwrap();
		let first_newline = bytes.iter().position(|b| *b == b'\n').unwrap();
		bytes[first_newline + 2] = b'#';
		std::fs::write(&p, &bytes).unwrap();
		let err = Journal::open(&p).err().unwrap().to_string();
		assert!(err.contains("damaged"), "{err}");
		assert_eq!(std::fs::read(&p).unwrap(), bytes);
	}

	#[test]
	fn a_torn_last_line_is_dropped_and_a_journal_of_the_old_format_is_read() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("j.json");
		let mut j = Journal::open(&p).unwrap();
		j.record(1, Outcome::Abstained("own contribution".into())).unwrap();
		j.record(2, Outcome::Voted("approve".into())).unwrap();
		drop(j);
		// A crash halfway through the append of outcome 2.
		let bytes = std::fs::read(&p).unwrap();
		std::fs::write(&p, &bytes[..bytes.len() - 9]).unwrap();
		let mut j = Journal::open(&p).unwrap();
		assert_eq!(j.data().outcomes.keys().copied().collect::<Vec<_>>(), vec![1]);
		// Appends after the repair land on a line of their own.
		j.record(3, Outcome::Voted("approve".into())).unwrap();
		drop(j);
		let j = Journal::open(&p).unwrap();
		assert_eq!(j.data().outcomes.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
		drop(j);

		// The old format: one pretty JSON document.
		let mut old = JournalData { low_water: 7, ..Default::default() };
		old.outcomes.insert(6, Outcome::GaveUp("unavailable".into()));
		std::fs::write(&p, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
		let mut j = Journal::open(&p).unwrap();
		assert_eq!(j.data().low_water, 7);
		j.record(8, Outcome::Voted("approve".into())).unwrap();
		drop(j);
		let j = Journal::open(&p).unwrap();
		assert_eq!((j.data().low_water, j.data().outcomes.len()), (7, 2));
	}

	#[test]
	fn a_record_costs_the_same_whatever_the_journal_holds_and_compaction_keeps_the_state() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("j.json");
		let mut j = Journal::open(&p).unwrap();
		let text = |i: u64| format!("text number {i} about rivers, deltas and the sea {}", i * 7);
		let mut appended = vec![];
		for id in 0..3000u64 {
			let before = std::fs::metadata(&p).unwrap().len();
			j.index(1, id, Fingerprint::of(&text(id))).unwrap();
			j.record(id, Outcome::Voted("approve".into())).unwrap();
			let after = std::fs::metadata(&p).unwrap().len();
			if after > before {
				appended.push(after - before);
			}
		}
		// Each record appends a few KiB at most (the old journal rewrote every signature).
		assert!(appended.iter().all(|n| *n < 8 << 10), "{:?}", appended.iter().max());
		// 6000 changes for 6000 items of state: not enough to compact.
		let lines = std::fs::read(&p).unwrap().iter().filter(|b| **b == b'\n').count();
		assert_eq!(lines, 6001);
		// Churn (retries rewritten again and again) makes the log long: it is compacted.
		for round in 0..30u32 {
			for id in 0..1000u64 {
				j.retry(10_000 + id, Retry { attempts: round, not_before: 0 }).unwrap();
			}
		}
		let lines = std::fs::read(&p).unwrap().iter().filter(|b| **b == b'\n').count();
		assert!(lines < 4 * 7000 + 1, "{lines} lines");
		drop(j);
		let j = Journal::open(&p).unwrap();
		assert_eq!(j.data().outcomes.len(), 3000);
		assert_eq!(j.data().dedupe[&1].len(), 3000);
		assert_eq!(j.data().retries.len(), 1000);
		assert_eq!(j.data().retries[&10_500].attempts, 29);
		assert!(matches!(
			j.data().dedupe[&1].find(&text(42)),
			Some(content_check::dedupe::Dup::Exact { of: 42 })
		));
	}
}
