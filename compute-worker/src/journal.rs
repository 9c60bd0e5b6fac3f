//! The curator agent's memory across restarts: what it voted, what it abstained on and why, which
//! contributions it could not fetch yet, and its per-datanet near-duplicate indexes.
//!
//! The chain is the authority on votes (the agent also asks it before voting); the journal saves work
//! and remembers decisions the chain does not record (abstentions, fetch retries). It is written
//! atomically (temp file, fsync, rename) after every change.

use content_check::dedupe::NearDupIndex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
	pub curated: std::collections::BTreeSet<u32>,
	pub outcomes: BTreeMap<u64, Outcome>,
	pub retries: BTreeMap<u64, Retry>,
	/// Contributions whose bytes we pinned for the chain while they were pending (id -> hex hash):
	/// unpinned when rejected, kept when accepted.
	#[serde(default)]
	pub pinned_pending: BTreeMap<u64, String>,
	pub dedupe: BTreeMap<u32, NearDupIndex>,
}

pub struct Journal {
	path: PathBuf,
	pub data: JournalData,
}

impl Journal {
	pub fn open(path: impl Into<PathBuf>) -> anyhow::Result<Self> {
		let path = path.into();
		let data = match std::fs::read(&path) {
			Ok(b) => serde_json::from_slice(&b).map_err(|e| {
				anyhow::anyhow!("{} is damaged ({e}); move it away to start afresh", path.display())
			})?,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => JournalData::default(),
			Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
		};
		Ok(Self { path, data })
	}

	pub fn path(&self) -> &Path {
		&self.path
	}

	pub fn save(&self) -> anyhow::Result<()> {
		use std::io::Write;
		let dir = self.path.parent().unwrap_or(Path::new("."));
		std::fs::create_dir_all(dir)?;
		let tmp = dir.join(format!(".{}.tmp", self.path.file_name().unwrap().to_string_lossy()));
		let mut f = std::fs::File::create(&tmp)?;
		f.write_all(&serde_json::to_vec_pretty(&self.data)?)?;
		f.sync_all()?;
		std::fs::rename(&tmp, &self.path)?;
		Ok(())
	}

	pub fn record(&mut self, id: u64, outcome: Outcome) -> anyhow::Result<()> {
		self.data.retries.remove(&id);
		self.data.outcomes.insert(id, outcome);
		self.save()
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_journal_survives_a_restart_and_refuses_a_damaged_file() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("j.json");
		let mut j = Journal::open(&p).unwrap();
		j.data.low_water = 3;
		j.data.retries.insert(4, Retry { attempts: 1, not_before: 99 });
		j.data.dedupe.entry(0).or_default().insert(4, "some text of a contribution here");
		j.record(4, Outcome::Voted("approve".into())).unwrap();
		let j = Journal::open(&p).unwrap();
		assert_eq!(j.data.low_water, 3);
		assert_eq!(j.data.outcomes.get(&4), Some(&Outcome::Voted("approve".into())));
		assert!(j.data.retries.is_empty(), "a recorded outcome clears its retries");
		assert!(j.data.dedupe[&0].contains(4));
		std::fs::write(&p, b"{ not json").unwrap();
		let err = Journal::open(&p).err().unwrap().to_string();
		assert!(err.contains("damaged"), "{err}");
	}
}
