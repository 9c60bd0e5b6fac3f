//! Why a blob is kept: each holder pins it under its own name, and the blob stays while any of
//! its pins is live. A holder releases only its own pin, so a curator unpinning a rejected
//! contribution cannot take away the pin of a job that trains on the same bytes.
//!
//! Holder names say who and what for, e.g. `curator:17` (contribution 17, while the chain needs
//! it), `job:4` (a job's dataset or adapter), `upload` (a push waiting for its submission, until a
//! time), `serve` (files a user asked to serve).
//!
//! On disk, `pins/<hex>` holds the JSON of [`Pins`]; a blob without the file has no pin. Files of
//! the earlier format (`{"chain": bool, "until": time}`) read as the holders `chain` and `upload`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The pins of one blob: holder name to the Unix time (seconds) the pin lapses at, or `None` for
/// a pin held until released.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PinsFile")]
pub struct Pins {
	pub holders: BTreeMap<String, Option<u64>>,
}

impl Pins {
	/// Whether any pin still holds at `now`.
	pub fn live(&self, now: u64) -> bool {
		self.holders.values().any(|until| until.is_none_or(|t| t > now))
	}

	/// Whether `holder` holds a pin (live or lapsed).
	pub fn held_by(&self, holder: &str) -> bool {
		self.holders.contains_key(holder)
	}

	/// Adds or extends `holder`'s pin: a pin without end wins over a dated one, a later date over
	/// an earlier one.
	pub fn add(&mut self, holder: &str, until: Option<u64>) {
		let merged = match (self.holders.get(holder), until) {
			(Some(None), _) | (_, None) => None,
			(Some(Some(a)), Some(b)) => Some((*a).max(b)),
			(None, Some(b)) => Some(b),
		};
		self.holders.insert(holder.to_string(), merged);
	}

	/// Releases `holder`'s pin; returns whether it had one.
	pub fn remove(&mut self, holder: &str) -> bool {
		self.holders.remove(holder).is_some()
	}

	/// Drops the pins that lapsed before `now`.
	pub fn prune(&mut self, now: u64) {
		self.holders.retain(|_, until| until.is_none_or(|t| t > now));
	}
}

/// Either format of the pin file.
#[derive(Deserialize)]
#[serde(untagged)]
enum PinsFile {
	Holders { holders: BTreeMap<String, Option<u64>> },
	Before { chain: bool, until: Option<u64> },
}

impl From<PinsFile> for Pins {
	fn from(f: PinsFile) -> Self {
		match f {
			PinsFile::Holders { holders } => Pins { holders },
			PinsFile::Before { chain, until } => {
				let mut p = Pins::default();
				if chain {
					p.add("chain", None);
				}
				if let Some(t) = until {
					p.add("upload", Some(t));
				}
				p
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn each_holder_releases_only_its_own_pin() {
		let mut p = Pins::default();
		assert!(!p.live(100));
		p.add("curator:3", None);
		p.add("job:9", None);
		p.add("upload", Some(150));
		p.add("upload", Some(120)); // an earlier date does not shorten it
		assert_eq!(p.holders["upload"], Some(150));
		assert!(p.remove("curator:3"));
		assert!(!p.remove("curator:3"));
		assert!(p.live(1000), "the job still holds it");
		assert!(p.remove("job:9"));
		assert!(p.live(149) && !p.live(150));
		p.prune(200);
		assert!(p.holders.is_empty());
		p.add("serve", Some(5));
		p.add("serve", None);
		assert_eq!(p.holders["serve"], None);
	}

	#[test]
	fn pin_files_of_both_formats_read() {
		let now: Pins = serde_json::from_str(r#"{"holders":{"job:1":null,"upload":7}}"#).unwrap();
		assert!(now.held_by("job:1") && now.holders["upload"] == Some(7));
		let before: Pins = serde_json::from_str(r#"{"chain":true,"until":null}"#).unwrap();
		assert_eq!(before.holders.keys().collect::<Vec<_>>(), ["chain"]);
		let before: Pins = serde_json::from_str(r#"{"chain":false,"until":12}"#).unwrap();
		assert_eq!(before.holders["upload"], Some(12));
		// What is written reads back.
		let text = serde_json::to_string(&now).unwrap();
		assert_eq!(serde_json::from_str::<Pins>(&text).unwrap(), now);
	}
}
