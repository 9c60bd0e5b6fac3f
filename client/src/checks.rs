//! Spot checks of results' payout tables (the attribution pallet; docs/attribution.md): what a
//! check holds, and the verifier's calls.

use crate::payout::LeafClaim;
use crate::{chain, keys::Key, Client, ClientError};
use serde::Serialize;
use subxt::utils::AccountId32;

/// Where one verifier stands.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StandView {
	Committed,
	Revealed,
	Agreed,
	Disputed { index: u32, committed: u32, recomputed: u32 },
	Unavailable,
}

/// An open check, as the chain holds it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckView {
	pub job: u64,
	pub worker: AccountId32,
	#[serde(with = "crate::training::hex32")]
	pub root: [u8; 32],
	pub leaves: u32,
	pub entries: u32,
	pub commit_end: u32,
	pub reveal_end: u32,
	pub vote_end: u32,
	#[serde(with = "crate::training::hex32")]
	pub seed: [u8; 32],
	pub verifiers: Vec<(AccountId32, StandView)>,
}

impl CheckView {
	/// Where `who` stands in this check, if it joined.
	pub fn stand_of(&self, who: &AccountId32) -> Option<StandView> {
		self.verifiers.iter().find(|(a, _)| a == who).map(|(_, s)| *s)
	}

	/// The contributor leaves the seed samples, `min(checks, entries)` of them (final once the
	/// reveals are over).
	pub fn sample(&self, checks: u32) -> Vec<u32> {
		pallet_attribution::sampling::spot_checks(&self.seed, self.entries, checks)
	}
}

type ChainCheck = chain::runtime_types::pallet_attribution::types::Check<AccountId32, u32>;
type ChainStand = chain::runtime_types::pallet_attribution::types::Stand;

fn view(job: u64, c: ChainCheck) -> CheckView {
	CheckView {
		job,
		worker: c.worker,
		root: c.root,
		leaves: c.leaves,
		entries: c.entries,
		commit_end: c.commit_end,
		reveal_end: c.reveal_end,
		vote_end: c.vote_end,
		seed: c.seed,
		verifiers: c
			.verifiers
			.0
			.into_iter()
			.map(|v| {
				let stand = match v.stand {
					ChainStand::Committed => StandView::Committed,
					ChainStand::Revealed => StandView::Revealed,
					ChainStand::Agreed => StandView::Agreed,
					ChainStand::Disputed { index, committed, recomputed } => {
						StandView::Disputed { index, committed, recomputed }
					}
					ChainStand::Unavailable => StandView::Unavailable,
				};
				(v.account, stand)
			})
			.collect(),
	}
}

/// A verifier's commitment to `secret`: `BLAKE2-256(secret ‖ account)`, as the chain checks it.
pub fn commitment_of(secret: &[u8; 32], account: &AccountId32) -> [u8; 32] {
	pallet_attribution::commitment_of(secret, &account.0)
}

impl Client {
	/// `job`'s open check, if any (latest finalized block).
	pub async fn check(&self, job: u64) -> Result<Option<CheckView>, ClientError> {
		let at = self.state().await?;
		let c = at.fetch(&chain::storage().attribution().checks(job)).await?;
		Ok(c.map(|c| view(job, c)))
	}

	/// Every open check (latest finalized block).
	pub async fn checks(&self) -> Result<Vec<CheckView>, ClientError> {
		let at = self.state().await?;
		let mut all = at.iter(chain::storage().attribution().checks_iter()).await?;
		let mut out = Vec::new();
		while let Some(kv) = futures::StreamExt::next(&mut all).await {
			let kv = kv?;
			let Some(job) = crate::client::u64_key(&kv.key_bytes) else { continue };
			out.push(view(job, kv.value));
		}
		out.sort_by_key(|c| c.job);
		Ok(out)
	}

	/// Entries a check samples (the chain's `Checks` constant).
	pub fn checks_per_result(&self) -> Result<u32, ClientError> {
		Ok(self.api().constants().at(&chain::constants().attribution().checks())?)
	}

	/// Offers to verify `job`'s result with a commitment to `secret`.
	pub async fn commit_check(
		&self,
		key: &Key,
		job: u64,
		secret: &[u8; 32],
	) -> Result<(), ClientError> {
		let c = commitment_of(secret, &key.account_id());
		self.submit(&chain::tx().attribution().commit(job, c), key).await.map(|_| ())
	}

	/// Reveals the secret committed to.
	pub async fn reveal_check(
		&self,
		key: &Key,
		job: u64,
		secret: [u8; 32],
	) -> Result<(), ClientError> {
		self.submit(&chain::tx().attribution().reveal(job, secret), key).await.map(|_| ())
	}

	/// Votes that every sampled entry recomputes as committed.
	pub async fn agree_check(&self, key: &Key, job: u64) -> Result<(), ClientError> {
		self.submit(&chain::tx().attribution().agree(job), key).await.map(|_| ())
	}

	/// Votes that the committed table could not be had (not served, or not the one committed).
	pub async fn unavailable_check(&self, key: &Key, job: u64) -> Result<(), ClientError> {
		self.submit(&chain::tx().attribution().unavailable(job), key).await.map(|_| ())
	}

	/// Disputes the committed leaf `claim` (a sampled one): the re-run gives `recomputed` there.
	pub async fn dispute_check(
		&self,
		key: &Key,
		job: u64,
		claim: &LeafClaim,
		recomputed: &pallet_rewards::Leaf<[u8; 32]>,
	) -> Result<(), ClientError> {
		let call = chain::tx().attribution().dispute(
			job,
			claim.index,
			crate::rewards::chain_leaf(&claim.leaf),
			chain::runtime_types::bounded_collections::bounded_vec::BoundedVec(claim.proof.clone()),
			crate::rewards::chain_leaf(recomputed),
		);
		self.submit(&call, key).await.map(|_| ())
	}
}
