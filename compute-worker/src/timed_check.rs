//! Content checks off the async runtime, within a time budget.
//!
//! Decoding a hostile file (a huge image, hours of audio) is CPU work that must neither stall the
//! worker's network and chain tasks nor run without end. A check runs on the blocking pool; past
//! its budget the caller stops waiting (the curator abstains). The check itself cannot be
//! cancelled, so no new one starts while an overdue one is still running: they cannot pile up.

use content_check::{Checked, Declared, Limits, Modality, Reason};
use std::time::Duration;

/// What a timed check ended with.
#[derive(Debug)]
pub enum Timed {
	Done(Result<Checked, Reason>),
	/// Still running after the budget.
	Overdue,
	/// An earlier overdue check is still running: try again later.
	Busy,
}

/// The declaration a check compares the bytes with, owned (it moves to the blocking pool).
#[derive(Debug, Clone)]
pub struct Declaration {
	pub hash: [u8; 32],
	pub size: u64,
	pub format: String,
	pub modality: Modality,
	pub allowed: Vec<String>,
}

pub struct TimedChecker {
	budget: Duration,
	limits: Limits,
	overdue: Option<tokio::task::JoinHandle<()>>,
}

impl TimedChecker {
	pub fn new(budget: Duration, limits: Limits) -> Self {
		Self { budget, limits, overdue: None }
	}

	pub fn budget(&self) -> Duration {
		self.budget
	}

	pub async fn check(&mut self, bytes: Vec<u8>, d: Declaration) -> Timed {
		if let Some(task) = &self.overdue {
			if !task.is_finished() {
				return Timed::Busy;
			}
			self.overdue = None;
		}
		let limits = self.limits.clone();
		let (tx, rx) = tokio::sync::oneshot::channel();
		let task = tokio::task::spawn_blocking(move || {
			let declared = Declared {
				hash: d.hash,
				size: d.size,
				format: &d.format,
				modality: d.modality,
				allowed: &d.allowed,
			};
			let _ = tx.send(content_check::check(&bytes, &declared, &limits));
		});
		match tokio::time::timeout(self.budget, rx).await {
			Ok(Ok(checked)) => Timed::Done(checked),
			// The check panicked (content_check turns decoder panics into reasons; this is a bug).
			Ok(Err(_)) => Timed::Done(Err(Reason::Unsupported {
				format: "?".into(),
				why: "the check failed".into(),
			})),
			Err(_) => {
				self.overdue = Some(task);
				Timed::Overdue
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn text(t: &str) -> (Vec<u8>, Declaration) {
		let bytes = t.as_bytes().to_vec();
		let d = Declaration {
			hash: *blake3::hash(&bytes).as_bytes(),
			size: bytes.len() as u64,
			format: "txt".into(),
			modality: Modality::Text,
			allowed: vec!["txt".into()],
		};
		(bytes, d)
	}

	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn a_check_past_its_budget_is_given_up_and_blocks_the_next_until_it_ends() {
		// Within budget: the check's own answer.
		let mut c = TimedChecker::new(Duration::from_secs(30), Limits::default());
		let (bytes, d) = text("A plain text of a few words, long enough to be judged.");
		assert!(matches!(c.check(bytes, d).await, Timed::Done(Ok(Checked::Text { .. }))));
		// A budget no check meets: overdue, and the next one waits for it.
		let mut c = TimedChecker::new(Duration::ZERO, Limits::default());
		let big: String = (0..1_000_000).map(|i| format!("word{i} ")).collect();
		let (bytes, d) = text(&big);
		assert!(matches!(c.check(bytes, d.clone()).await, Timed::Overdue));
		let (small, ds) = text("Another short text that would be quick to check.");
		assert!(matches!(c.check(small.clone(), ds.clone()).await, Timed::Busy));
		// Once the overdue check has ended, checks start again.
		for _ in 0..200 {
			if c.overdue.as_ref().is_some_and(|t| t.is_finished()) {
				break;
			}
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
		assert!(!matches!(c.check(small, ds).await, Timed::Busy));
	}
}
