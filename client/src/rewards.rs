//! Rewards: each datanet's published split, and the pools jobs leave for claims (see
//! docs/rewards.md).

use crate::{chain, keys::Key, Client, ClientError};
use serde::Serialize;

/// Parts per million that make a whole.
pub const PPM: u32 = 1_000_000;

/// How a datanet shares what is paid for models trained on it, in parts per million.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct SplitView {
	pub contributors: u32,
	pub curators: u32,
	pub worker: u32,
	pub owner: u32,
	/// False when the datanet has published none and the chain's default applies.
	pub published: bool,
}

impl SplitView {
	/// Parses `contributors,curators,worker,owner` in percent (decimals allowed, e.g.
	/// `62.5,7.5,20,10`); the four must sum to exactly 100.
	pub fn parse_percent(s: &str) -> Result<Self, String> {
		let parts: Vec<&str> = s.split(',').map(str::trim).collect();
		let [c, k, w, o] = parts[..] else {
			return Err(format!(
				"`{s}`: give four percentages, contributors,curators,worker,owner (e.g. 60,10,20,10)"
			));
		};
		let ppm = |p: &str| -> Result<u32, String> {
			let v: f64 = p.parse().map_err(|_| format!("`{p}` is not a percentage"))?;
			if !(0.0..=100.0).contains(&v) {
				return Err(format!("`{p}` is not between 0 and 100"));
			}
			let ppm = v * 10_000.0;
			if (ppm - ppm.round()).abs() > 1e-6 {
				return Err(format!("`{p}`: at most four decimals (parts per million)"));
			}
			Ok(ppm.round() as u32)
		};
		let v = SplitView {
			contributors: ppm(c)?,
			curators: ppm(k)?,
			worker: ppm(w)?,
			owner: ppm(o)?,
			published: true,
		};
		let total = v.contributors + v.curators + v.worker + v.owner;
		if total != PPM {
			return Err(format!("the parts sum to {}%, not 100%", total as f64 / 10_000.0));
		}
		Ok(v)
	}
}

/// A job's reward pool, as the chain holds it (amounts in plancks).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PoolView {
	pub datanet: u32,
	pub contributors: u128,
	pub contributors_paid: u128,
	pub curators: u128,
	pub curators_paid: u128,
	/// Root of the payout table (hex), and its number of leaves.
	pub root: String,
	pub leaves: u32,
	pub expires_at: u32,
}

type Split = chain::runtime_types::pallet_rewards::types::RewardSplit;

impl Client {
	/// The split that applies to `datanet` now: its published one, or the chain's default.
	pub async fn reward_split(&self, datanet: u32) -> Result<SplitView, ClientError> {
		let at = self.state().await?;
		let published = at.fetch(&chain::storage().rewards().splits(datanet)).await?;
		let (s, published) = match published {
			Some(s) => (s, true),
			None => {
				(self.api().constants().at(&chain::constants().rewards().default_split())?, false)
			}
		};
		Ok(SplitView {
			contributors: s.contributors,
			curators: s.curators,
			worker: s.worker,
			owner: s.owner,
			published,
		})
	}

	/// Publishes `datanet`'s split (signed by its owner).
	pub async fn set_reward_split(
		&self,
		key: &Key,
		datanet: u32,
		split: &SplitView,
	) -> Result<(), ClientError> {
		let split = Split {
			contributors: split.contributors,
			curators: split.curators,
			worker: split.worker,
			owner: split.owner,
		};
		self.submit(&chain::tx().rewards().set_split(datanet, split), key).await.map(|_| ())
	}

	/// `job`'s reward pool, while it is open.
	pub async fn reward_pool(&self, job: u64) -> Result<Option<PoolView>, ClientError> {
		let at = self.state().await?;
		let pool = at.fetch(&chain::storage().rewards().pools(job)).await?;
		Ok(pool.map(|p| PoolView {
			datanet: p.datanet,
			contributors: p.contributors,
			contributors_paid: p.contributors_paid,
			curators: p.curators,
			curators_paid: p.curators_paid,
			root: format!("0x{}", hex::encode(p.root)),
			leaves: p.leaves,
			expires_at: p.expires_at,
		}))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn splits_are_four_percentages_that_make_a_whole() {
		let s = SplitView::parse_percent("62.5, 7.5,20,10").unwrap();
		assert_eq!(
			(s.contributors, s.curators, s.worker, s.owner),
			(625_000, 75_000, 200_000, 100_000)
		);
		assert!(SplitView::parse_percent("60,10,20").unwrap_err().contains("four percentages"));
		assert!(SplitView::parse_percent("60,10,20,11").unwrap_err().contains("101%"));
		assert!(SplitView::parse_percent("60,10,-20,50")
			.unwrap_err()
			.contains("between 0 and 100"));
		assert!(SplitView::parse_percent("60.00001,10,20,9.99999")
			.unwrap_err()
			.contains("decimals"));
		assert!(SplitView::parse_percent("sixty,10,20,10")
			.unwrap_err()
			.contains("not a percentage"));
	}
}
