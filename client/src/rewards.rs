//! Rewards: each datanet's published split, and the pools jobs leave for claims (see
//! docs/rewards.md).

use crate::payout::PayoutTable;
use crate::{chain, keys::Key, Client, ClientError};
use serde::Serialize;
use std::collections::BTreeMap;
use subxt::utils::AccountId32;

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
type ChainLeaf = chain::runtime_types::pallet_rewards::types::Leaf<AccountId32>;
type ChainRole = chain::runtime_types::pallet_rewards::types::Role;

fn pool_view(p: chain::runtime_types::pallet_rewards::types::Pool<u128, u32>) -> PoolView {
	PoolView {
		datanet: p.datanet,
		contributors: p.contributors,
		contributors_paid: p.contributors_paid,
		curators: p.curators,
		curators_paid: p.curators_paid,
		root: format!("0x{}", hex::encode(p.root)),
		leaves: p.leaves,
		expires_at: p.expires_at,
	}
}

/// A table leaf as the chain's call takes it.
pub(crate) fn chain_leaf(leaf: &pallet_rewards::Leaf<[u8; 32]>) -> ChainLeaf {
	let role = match leaf.role {
		pallet_rewards::Role::Contributor => ChainRole::Contributor,
		pallet_rewards::Role::Curator => ChainRole::Curator,
	};
	ChainLeaf { role, account: AccountId32(leaf.account), item: leaf.item, ppm: leaf.ppm }
}

/// One leaf paid by a claim.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Claimed {
	pub job: u64,
	pub index: u32,
	pub role: String,
	pub item: u64,
	pub amount: u128,
}

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
		Ok(at.fetch(&chain::storage().rewards().pools(job)).await?.map(pool_view))
	}

	/// `job`'s fee pool of `period` (answer fees of the model the job trained), while open.
	pub async fn fee_pool(&self, job: u64, period: u32) -> Result<Option<PoolView>, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().rewards().fee_pools(job, period)).await?.map(pool_view))
	}

	/// Every open fee pool, as (job, period) (latest finalized block).
	pub async fn fee_pools(&self) -> Result<Vec<(u64, u32)>, ClientError> {
		let at = self.state().await?;
		let mut all = at.iter(chain::storage().rewards().fee_pools_iter()).await?;
		let mut out = Vec::new();
		while let Some(kv) = futures::StreamExt::next(&mut all).await {
			// Twox64Concat keys end with: the job (8), the period's hash (8), the period (4).
			let k = kv?.key_bytes;
			let Some(tail) = k.len().checked_sub(20) else { continue };
			let job = u64::from_le_bytes(k[tail..tail + 8].try_into().expect("8 bytes"));
			let period = u32::from_le_bytes(k[tail + 16..].try_into().expect("4 bytes"));
			out.push((job, period));
		}
		out.sort_unstable();
		Ok(out)
	}

	/// Every open pool, by job (latest finalized block).
	pub async fn reward_pools(&self) -> Result<Vec<(u64, PoolView)>, ClientError> {
		let at = self.state().await?;
		let mut all = at.iter(chain::storage().rewards().pools_iter()).await?;
		let mut jobs = Vec::new();
		while let Some(kv) = futures::StreamExt::next(&mut all).await {
			let kv = kv?;
			if let Some(job) = crate::client::u64_key(&kv.key_bytes) {
				jobs.push(job);
			}
		}
		jobs.sort_unstable();
		let mut out = Vec::new();
		for job in jobs {
			if let Some(p) = self.reward_pool(job).await? {
				out.push((job, p));
			}
		}
		Ok(out)
	}

	/// What claiming `claim` from `job`'s pool would pay now, or why it would be refused (the
	/// node's `rewards_claimable`, the same checks as the claim itself). With `period`, from the
	/// job's fee pool of that period (`rewards_claimableFees`).
	pub async fn claimable(
		&self,
		job: u64,
		period: Option<u32>,
		claim: &crate::payout::LeafClaim,
	) -> Result<Result<u128, String>, ClientError> {
		let leaf = serde_json::json!({
			"role": format!("{:?}", claim.leaf.role).to_lowercase(),
			"account": AccountId32(claim.leaf.account).to_string(),
			"item": claim.leaf.item,
			"ppm": claim.leaf.ppm,
		});
		let proof: Vec<String> =
			claim.proof.iter().map(|h| format!("0x{}", hex::encode(h))).collect();
		let (method, r) = match period {
			None => (
				"rewards_claimable",
				self.rpc
					.request::<serde_json::Value>(
						"rewards_claimable",
						subxt::ext::subxt_rpcs::rpc_params![job, claim.index, leaf, proof],
					)
					.await,
			),
			Some(p) => (
				"rewards_claimableFees",
				self.rpc
					.request::<serde_json::Value>(
						"rewards_claimableFees",
						subxt::ext::subxt_rpcs::rpc_params![job, p, claim.index, leaf, proof],
					)
					.await,
			),
		};
		let r = r.map_err(|e| ClientError::Other(format!("{method}: {e}")))?;
		match (r["amount"].as_str(), r["refused"].as_str()) {
			(Some(a), _) => {
				a.parse().map(Ok).map_err(|_| ClientError::Other(format!("{method}: amount `{a}`")))
			}
			(None, Some(why)) => Ok(Err(why.to_string())),
			_ => Err(ClientError::Other(format!("{method}: unexpected answer {r}"))),
		}
	}

	/// Approving votes per curator on `contributions`, as of one block (the latest finalized).
	pub async fn approvals(
		&self,
		contributions: &[u64],
	) -> Result<BTreeMap<AccountId32, u64>, ClientError> {
		use chain::runtime_types::pallet_datanets::types::Vote;
		let at = self.state().await?;
		let mut out = BTreeMap::new();
		for &id in contributions {
			let mut votes = at.iter(chain::storage().datanets().votes_iter1(id)).await?;
			while let Some(kv) = votes.next().await {
				let kv = kv?;
				if !matches!(kv.value, Vote::Approve) {
					continue;
				}
				// The key ends with the curator's account (`Blake2_128Concat` keeps it whole).
				let Some(tail) = kv.key_bytes.len().checked_sub(32) else { continue };
				let account: [u8; 32] = kv.key_bytes[tail..].try_into().expect("32 bytes");
				*out.entry(AccountId32(account)).or_default() += 1;
			}
		}
		Ok(out)
	}

	/// Whether leaf `index` of `job`'s pool was paid.
	pub async fn leaf_claimed(&self, job: u64, index: u32) -> Result<bool, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().rewards().claimed(job, index)).await?.is_some())
	}

	/// Claims every leaf of `table` (job `table.job`'s, checked against its pool's root) that pays
	/// `account` and is not paid yet; signed by `key` (anyone may sign: the leaf's account is paid).
	/// With `period`, from the job's fee pool of that period (answer fees) instead of its budget's.
	pub async fn claim_rewards(
		&self,
		key: &Key,
		table: &PayoutTable,
		account: &AccountId32,
		period: Option<u32>,
	) -> Result<Vec<Claimed>, ClientError> {
		let job = table.job;
		let pool = match period {
			None => self.reward_pool(job).await?,
			Some(p) => self.fee_pool(job, p).await?,
		};
		let pool = pool.ok_or_else(|| {
			ClientError::Invalid(match period {
				None => format!(
					"job {job} has no open reward pool (not final yet, or expired and swept)"
				),
				Some(p) => {
					format!("job {job} has no fee pool of period {p} (no fees then, or swept)")
				}
			})
		})?;
		let root = crate::payout::merkle_root(table);
		if format!("0x{}", hex::encode(root)) != pool.root {
			return Err(ClientError::Invalid(format!(
				"this table's root 0x{} is not job {job}'s pool root {}",
				hex::encode(root),
				pool.root
			)));
		}
		let mut out = Vec::new();
		for crate::payout::LeafClaim { index, leaf, proof } in table.claims_of(account) {
			let chain_leaf = chain_leaf(&leaf);
			let proof = chain::runtime_types::bounded_collections::bounded_vec::BoundedVec(proof);
			let amount = match period {
				None => {
					if self.leaf_claimed(job, index).await? {
						continue;
					}
					let call = chain::tx().rewards().claim(job, index, chain_leaf, proof);
					self.submit_for::<chain::rewards::events::RewardClaimed, _>(&call, key)
						.await?
						.amount
				}
				Some(p) => {
					let at = self.state().await?;
					if at
						.fetch(&chain::storage().rewards().fee_claimed(job, p, index))
						.await?
						.is_some()
					{
						continue;
					}
					let call = chain::tx().rewards().claim_fees(job, p, index, chain_leaf, proof);
					self.submit_for::<chain::rewards::events::FeeRewardClaimed, _>(&call, key)
						.await?
						.amount
				}
			};
			out.push(Claimed {
				job,
				index,
				role: format!("{:?}", leaf.role).to_lowercase(),
				item: leaf.item,
				amount,
			});
		}
		Ok(out)
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
