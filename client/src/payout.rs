//! A job's payout table: who shaped the model (contributors, by attribution score) and who
//! curated its data (curators, by approving votes), in the form the chain commits to and pays from.
//!
//! The worker that trained the job builds it, publishes it as a blob on the data plane and commits
//! to it in its result ([`CommitmentSpec`]). Anyone can fetch the blob by its hash, check it
//! against the commitment ([`PayoutTable::commitment`]) and claim a leaf with its proof
//! ([`PayoutTable::proof`]). The leaves and their Merkle tree are the rewards pallet's own
//! (`pallet_rewards::merkle`), so a root computed here is the root the chain checks.

use pallet_rewards::{merkle, Leaf, Role};
use serde::{Deserialize, Serialize};
pub use subxt::utils::AccountId32;

/// Parts per million that make a whole.
pub const PPM: u32 = 1_000_000;
/// The table blob's format tag.
pub const FORMAT: &str = "tributary-payout-table/1";
/// Units of [`CommitmentSpec::total`] per unit of score.
pub const TOTAL_SCALE: f64 = 1e18;

/// One contribution's line: its attribution score summed over its training examples, and its
/// share of the contributors' part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContributionLine {
	pub contribution: u64,
	pub contributor: AccountId32,
	/// How much training on it lowered the target's loss, to first order (docs/attribution.md).
	pub score: f64,
	/// Its examples in the training split (0: all of them were held out, or none was usable).
	pub examples: u64,
	pub self_influence: f64,
	pub ppm: u32,
}

/// One curator's line: approving votes on the version's items, and its share of the curators' part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CuratorLine {
	pub account: AccountId32,
	pub approvals: u64,
	pub ppm: u32,
}

/// The whole table, as published on the data plane (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoutTable {
	pub format: String,
	pub job: u64,
	pub datanet: u32,
	pub version: u32,
	/// What the scores were measured against (`eval`: the held-out split; `train`: the training
	/// split itself, when the job holds nothing out).
	pub target: String,
	/// One line per item of the version, by contribution id.
	pub contributions: Vec<ContributionLine>,
	/// One line per curator with approving votes, by account.
	pub curators: Vec<CuratorLine>,
}

/// A leaf at its index in the table, with its Merkle proof: what a claim submits.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafClaim {
	pub index: u32,
	pub leaf: Leaf<[u8; 32]>,
	pub proof: Vec<[u8; 32]>,
}

/// What a result commits to (the chain's `AttributionCommitment`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentSpec {
	#[serde(with = "crate::training::hex32")]
	pub root: [u8; 32],
	pub leaves: u32,
	/// The sum of the positive scores, in units of 10⁻¹⁸.
	pub total: u128,
	#[serde(with = "crate::training::hex32")]
	pub table: [u8; 32],
	pub table_bytes: u64,
}

type ChainCommitment = crate::chain::runtime_types::pallet_jobs::types::AttributionCommitment;

impl CommitmentSpec {
	pub fn to_chain(&self) -> ChainCommitment {
		ChainCommitment {
			root: self.root,
			leaves: self.leaves,
			total: self.total,
			table: self.table,
			table_bytes: self.table_bytes,
		}
	}

	pub fn from_chain(c: &ChainCommitment) -> Self {
		Self {
			root: c.root,
			leaves: c.leaves,
			total: c.total,
			table: c.table,
			table_bytes: c.table_bytes,
		}
	}
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TableError {
	#[error("not a payout table: {0}")]
	Parse(String),
	#[error("the table's format is `{0}`, not `{FORMAT}`")]
	Format(String),
	#[error("the contributions are not in strictly increasing id order at line {0}")]
	Unsorted(usize),
	#[error("the curators are not in strictly increasing account order at line {0}")]
	CuratorsUnsorted(usize),
	#[error("contribution {contribution}'s {ppm} ppm is not its share of the scores ({expected})")]
	WrongShare { contribution: u64, ppm: u32, expected: u32 },
	#[error("curator {account}'s {ppm} ppm is not its share of the approvals ({expected})")]
	WrongCuratorShare { account: String, ppm: u32, expected: u32 },
	#[error("the table is for job {table}, not {job}")]
	OtherJob { table: u64, job: u64 },
	#[error("the table does not match job {0}'s commitment (root, leaves or total differ)")]
	NotCommitted(u64),
}

impl PayoutTable {
	/// A table from per-contribution scores (any order; one line per item of the version) and
	/// approving votes per curator. A score that is not a finite number is recorded as 0. The
	/// shares are computed here: [`contributor_shares`] and
	/// [`curator_shares`].
	pub fn new(
		job: u64,
		datanet: u32,
		version: u32,
		target: &str,
		mut contributions: Vec<ContributionLine>,
		approvals: impl IntoIterator<Item = (AccountId32, u64)>,
	) -> Self {
		contributions.sort_by_key(|c| c.contribution);
		// JSON has no NaN or infinity; such a score counts as 0 anyway.
		for c in &mut contributions {
			if !c.score.is_finite() {
				c.score = 0.0;
			}
			if !c.self_influence.is_finite() {
				c.self_influence = 0.0;
			}
		}
		let scores: Vec<f64> = contributions.iter().map(|c| c.score).collect();
		for (c, ppm) in contributions.iter_mut().zip(contributor_shares(&scores)) {
			c.ppm = ppm;
		}
		let mut curators: Vec<(AccountId32, u64)> =
			approvals.into_iter().filter(|(_, n)| *n > 0).collect();
		curators.sort_by_key(|c| c.0 .0);
		let counts: Vec<u64> = curators.iter().map(|c| c.1).collect();
		let curators = curators
			.into_iter()
			.zip(curator_shares(&counts))
			.map(|((account, approvals), ppm)| CuratorLine { account, approvals, ppm })
			.collect();
		Self {
			format: FORMAT.into(),
			job,
			datanet,
			version,
			target: target.into(),
			contributions,
			curators,
		}
	}

	/// Parses the bytes fetched for `job`'s table (by the hash its result commits to) and checks
	/// that they are the table committed: well formed, for that job, with the committed root,
	/// leaf count and total.
	pub fn from_committed(
		bytes: &[u8],
		job: u64,
		commitment: &CommitmentSpec,
	) -> Result<Self, TableError> {
		let table = Self::from_bytes(bytes)?;
		if table.job != job {
			return Err(TableError::OtherJob { table: table.job, job });
		}
		if table.commitment(bytes) != *commitment {
			return Err(TableError::NotCommitted(job));
		}
		Ok(table)
	}

	/// Parses a published table and checks that it is well formed: its order, and every share
	/// recomputed from the scores and votes it lists.
	pub fn from_bytes(bytes: &[u8]) -> Result<Self, TableError> {
		let t: Self =
			serde_json::from_slice(bytes).map_err(|e| TableError::Parse(e.to_string()))?;
		if t.format != FORMAT {
			return Err(TableError::Format(t.format));
		}
		for (i, w) in t.contributions.windows(2).enumerate() {
			if w[0].contribution >= w[1].contribution {
				return Err(TableError::Unsorted(i + 1));
			}
		}
		for (i, w) in t.curators.windows(2).enumerate() {
			if w[0].account.0 >= w[1].account.0 {
				return Err(TableError::CuratorsUnsorted(i + 1));
			}
		}
		let scores: Vec<f64> = t.contributions.iter().map(|c| c.score).collect();
		for (c, expected) in t.contributions.iter().zip(contributor_shares(&scores)) {
			if c.ppm != expected {
				return Err(TableError::WrongShare {
					contribution: c.contribution,
					ppm: c.ppm,
					expected,
				});
			}
		}
		let counts: Vec<u64> = t.curators.iter().map(|c| c.approvals).collect();
		for (c, expected) in t.curators.iter().zip(curator_shares(&counts)) {
			if c.ppm != expected {
				return Err(TableError::WrongCuratorShare {
					account: c.account.to_string(),
					ppm: c.ppm,
					expected,
				});
			}
		}
		Ok(t)
	}

	pub fn to_bytes(&self) -> Vec<u8> {
		serde_json::to_vec_pretty(self).expect("a table serializes")
	}

	/// The leaves, in table order: contributors by contribution id, then curators by account.
	pub fn leaves(&self) -> Vec<Leaf<[u8; 32]>> {
		let contributors = self.contributions.iter().map(|c| Leaf {
			role: Role::Contributor,
			account: c.contributor.0,
			item: c.contribution,
			ppm: c.ppm,
		});
		let curators = self.curators.iter().map(|c| Leaf {
			role: Role::Curator,
			account: c.account.0,
			item: c.approvals,
			ppm: c.ppm,
		});
		contributors.chain(curators).collect()
	}

	/// The sum of the positive scores, in units of 10⁻¹⁸ (saturating).
	pub fn total(&self) -> u128 {
		let sum: f64 =
			self.contributions.iter().map(|c| c.score).filter(|s| s.is_finite() && *s > 0.0).sum();
		(sum * TOTAL_SCALE) as u128
	}

	/// What a result commits to for this table published as `bytes` (its [`Self::to_bytes`]).
	pub fn commitment(&self, bytes: &[u8]) -> CommitmentSpec {
		let leaves = self.leaves();
		CommitmentSpec {
			root: merkle::root(&leaves),
			leaves: leaves.len() as u32,
			total: self.total(),
			table: *blake3::hash(bytes).as_bytes(),
			table_bytes: bytes.len() as u64,
		}
	}

	/// The leaf at `index` with its proof.
	pub fn claim_at(&self, index: u32) -> Option<LeafClaim> {
		let leaves = self.leaves();
		let leaf = leaves.get(index as usize)?.clone();
		Some(LeafClaim { index, leaf, proof: merkle::proof(&leaves, index) })
	}

	/// The leaves paying `account`, with their index and proof.
	pub fn claims_of(&self, account: &AccountId32) -> Vec<LeafClaim> {
		let leaves = self.leaves();
		leaves
			.iter()
			.enumerate()
			.filter(|(_, l)| l.account == account.0 && l.ppm > 0)
			.map(|(i, l)| LeafClaim {
				index: i as u32,
				leaf: l.clone(),
				proof: merkle::proof(&leaves, i as u32),
			})
			.collect()
	}
}

/// The Merkle root of `table`'s leaves, as its pool holds it.
pub fn merkle_root(table: &PayoutTable) -> [u8; 32] {
	merkle::root(&table.leaves())
}

/// Contributors' shares: `p_c = max(0, s_c)` (a score that is not a finite number counts as 0),
/// each gets `⌊10⁶ p_c / Σp⌋`, and the units left over go one each to the largest remainders (ties:
/// the earlier line). The shares sum to exactly 10⁶, or are all 0 when no score is positive.
pub fn contributor_shares(scores: &[f64]) -> Vec<u32> {
	let positive: Vec<f64> =
		scores.iter().map(|s| if s.is_finite() { s.max(0.0) } else { 0.0 }).collect();
	let total: f64 = positive.iter().sum();
	if total <= 0.0 || !total.is_finite() {
		return vec![0; scores.len()];
	}
	let exact: Vec<f64> = positive.iter().map(|p| p / total * PPM as f64).collect();
	largest_remainder(&exact)
}

/// Curators' shares: each gets `⌊10⁶ n_k / Σn⌋` of its `n_k` approving votes, and the units left
/// over go one each to the largest remainders (ties: the earlier line); exact integer arithmetic.
pub fn curator_shares(approvals: &[u64]) -> Vec<u32> {
	let total: u128 = approvals.iter().map(|n| *n as u128).sum();
	if total == 0 {
		return vec![0; approvals.len()];
	}
	let mut shares: Vec<u32> =
		approvals.iter().map(|n| (*n as u128 * PPM as u128 / total) as u32).collect();
	let rem = |i: usize| approvals[i] as u128 * PPM as u128 % total;
	let left = PPM - shares.iter().sum::<u32>();
	let mut order: Vec<usize> = (0..approvals.len()).collect();
	order.sort_by(|&a, &b| rem(b).cmp(&rem(a)).then(a.cmp(&b)));
	for &i in order.iter().take(left as usize) {
		shares[i] += 1;
	}
	shares
}

/// Floors of `exact` (which sum to 10⁶), plus one unit each for the largest fractional parts
/// until the sum is 10⁶.
fn largest_remainder(exact: &[f64]) -> Vec<u32> {
	let mut shares: Vec<u32> = exact.iter().map(|e| e.floor().min(PPM as f64) as u32).collect();
	let given: u64 = shares.iter().map(|s| *s as u64).sum();
	let frac = |i: usize| exact[i] - exact[i].floor();
	let mut order: Vec<usize> = (0..exact.len()).filter(|&i| frac(i) > 0.0).collect();
	order.sort_by(|&a, &b| frac(b).total_cmp(&frac(a)).then(a.cmp(&b)));
	for &i in order.iter().take((PPM as u64).saturating_sub(given) as usize) {
		shares[i] += 1;
	}
	shares
}

#[cfg(test)]
mod tests {
	use super::*;

	fn acct(b: u8) -> AccountId32 {
		AccountId32([b; 32])
	}

	fn line(id: u64, who: u8, score: f64) -> ContributionLine {
		ContributionLine {
			contribution: id,
			contributor: acct(who),
			score,
			examples: 1,
			self_influence: 0.0,
			ppm: 0,
		}
	}

	fn table() -> PayoutTable {
		PayoutTable::new(
			7,
			1,
			2,
			"eval",
			vec![line(9, 3, 1.0), line(4, 1, 2.0), line(5, 2, -1.0), line(6, 1, f64::NAN)],
			[(acct(8), 3), (acct(7), 1), (acct(6), 0)],
		)
	}

	#[test]
	fn shares_are_whole_and_follow_scores_and_votes() {
		let t = table();
		let ids: Vec<u64> = t.contributions.iter().map(|c| c.contribution).collect();
		assert_eq!(ids, [4, 5, 6, 9]);
		let ppm: Vec<u32> = t.contributions.iter().map(|c| c.ppm).collect();
		// 2/3 and 1/3 of a million: the unit left over goes to the larger remainder (id 4's .67).
		assert_eq!(ppm, [666_667, 0, 0, 333_333]);
		// A curator without approvals has no line; the others by account, 3:1.
		let cur: Vec<(u8, u64, u32)> =
			t.curators.iter().map(|c| (c.account.0[0], c.approvals, c.ppm)).collect();
		assert_eq!(cur, [(7, 1, 250_000), (8, 3, 750_000)]);
		assert_eq!(curator_shares(&[1, 1, 1]), [333_334, 333_333, 333_333]);
		assert_eq!(contributor_shares(&[-1.0, 0.0]), [0, 0]);
		assert_eq!(t.total(), 3_000_000_000_000_000_000);
	}

	#[test]
	fn a_published_table_round_trips_and_a_doctored_one_does_not_parse() {
		let t = table();
		let bytes = t.to_bytes();
		assert_eq!(PayoutTable::from_bytes(&bytes).unwrap(), t);
		let c = t.commitment(&bytes);
		assert_eq!((c.leaves, c.table_bytes), (6, bytes.len() as u64));
		// A contributor who raised their own share, without the score to back it.
		let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
		v["contributions"][3]["ppm"] = 400_000.into();
		let doctored = serde_json::to_vec(&v).unwrap();
		assert!(matches!(
			PayoutTable::from_bytes(&doctored),
			Err(TableError::WrongShare { contribution: 9, .. })
		));
		let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
		v["curators"][0]["ppm"] = 300_000.into();
		assert!(matches!(
			PayoutTable::from_bytes(&serde_json::to_vec(&v).unwrap()),
			Err(TableError::WrongCuratorShare { ppm: 300_000, expected: 250_000, .. })
		));
		let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
		v["contributions"].as_array_mut().unwrap().swap(0, 1);
		assert!(matches!(
			PayoutTable::from_bytes(&serde_json::to_vec(&v).unwrap()),
			Err(TableError::Unsorted(1))
		));
	}

	#[test]
	fn a_fetched_table_is_taken_only_as_the_one_its_job_committed() {
		let t = table();
		let bytes = t.to_bytes();
		let c = t.commitment(&bytes);
		assert_eq!(PayoutTable::from_committed(&bytes, 7, &c).unwrap(), t);
		assert!(matches!(
			PayoutTable::from_committed(&bytes, 8, &c),
			Err(TableError::OtherJob { table: 7, job: 8 })
		));
		// Another well-formed table of the same job (a curator's vote dropped): not the one committed.
		let other = PayoutTable::new(7, 1, 2, "eval", vec![line(9, 3, 1.0)], [(acct(8), 3)]);
		assert!(matches!(
			PayoutTable::from_committed(&other.to_bytes(), 7, &c),
			Err(TableError::NotCommitted(7))
		));
	}

	#[test]
	fn every_claim_verifies_against_the_root_the_chain_holds() {
		let t = table();
		let c = t.commitment(&t.to_bytes());
		let mut claimed = 0;
		for who in [1u8, 3, 7, 8, 2] {
			for LeafClaim { index, leaf, proof } in t.claims_of(&acct(who)) {
				assert!(merkle::verify(&c.root, c.leaves, index, &leaf, &proof));
				// The same leaf at another index, or with another share, does not.
				assert!(!merkle::verify(&c.root, c.leaves, index ^ 1, &leaf, &proof));
				let inflated = Leaf { ppm: leaf.ppm + 1, ..leaf.clone() };
				assert!(!merkle::verify(&c.root, c.leaves, index, &inflated, &proof));
				claimed += 1;
			}
		}
		// Account 1's two lines: one with a share, one (a NaN score) with nothing to claim.
		// Account 2's negative score pays nothing either.
		assert_eq!(claimed, 4);
	}
}
