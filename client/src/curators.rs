//! Curator bonds: a curator's votes count only while it holds the chain's `CuratorBond`.

use crate::{chain, keys::Key, Client, ClientError};
use serde::Serialize;
use subxt::utils::AccountId32;

/// A curator's bond as the chain holds it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CuratorBondView {
	/// Held, in plancks.
	pub amount: u128,
	/// The block from which it can be withdrawn, once the curator asked to leave.
	pub unbonding_at: Option<u32>,
	/// Whether the curator's votes count now.
	pub active: bool,
}

impl Client {
	/// The bond every curator must hold, in plancks.
	pub fn curator_bond_required(&self) -> Result<u128, ClientError> {
		Ok(self.api().constants().at(&chain::constants().datanets().curator_bond())?)
	}

	/// `who`'s curator bond, if it holds one.
	pub async fn curator_bond(
		&self,
		who: &AccountId32,
	) -> Result<Option<CuratorBondView>, ClientError> {
		let required = self.curator_bond_required()?;
		let at = self.state().await?;
		let bond = at.fetch(&chain::storage().datanets().curator_bonds(who.clone())).await?;
		Ok(bond.map(|b| CuratorBondView {
			amount: b.amount,
			unbonding_at: b.unbonding_at,
			active: b.unbonding_at.is_none() && b.amount >= required,
		}))
	}

	/// Holds `amount` more as `key`'s curator bond (cancelling an unbonding).
	pub async fn bond_curator(&self, key: &Key, amount: u128) -> Result<(), ClientError> {
		self.submit(&chain::tx().datanets().bond_curator(amount), key).await.map(|_| ())
	}

	/// Stops curating; returns the block from which the bond can be withdrawn.
	pub async fn unbond_curator(&self, key: &Key) -> Result<u32, ClientError> {
		let e: chain::datanets::events::CuratorUnbonding =
			self.submit_for(&chain::tx().datanets().unbond_curator(), key).await?;
		Ok(e.withdraw_at)
	}

	/// Releases the bond after the unbonding delay; returns what was released.
	pub async fn withdraw_curator_bond(&self, key: &Key) -> Result<u128, ClientError> {
		let e: chain::datanets::events::CuratorBondWithdrawn =
			self.submit_for(&chain::tx().datanets().withdraw_curator_bond(), key).await?;
		Ok(e.amount)
	}

	/// `curator`'s queue: pending contributions in the datanets it curates that it has not voted
	/// on, oldest first. Reads every stored contribution once (one storage iteration).
	pub async fn curator_queue(
		&self,
		curator: &AccountId32,
	) -> Result<Vec<crate::client::ContributionView>, ClientError> {
		use chain::runtime_types::pallet_datanets::types::ContributionStatus;
		let curated: Vec<u32> = self
			.datanets()
			.await?
			.into_iter()
			.filter(|d| d.curators.contains(&curator.to_string()))
			.map(|d| d.id)
			.collect();
		let at = self.state().await?;
		let mut all = at.iter(chain::storage().datanets().contributions_iter()).await?;
		let mut pending = Vec::new();
		while let Some(kv) = futures::StreamExt::next(&mut all).await {
			let kv = kv?;
			if matches!(kv.value.status, ContributionStatus::Pending)
				&& curated.contains(&kv.value.datanet)
			{
				if let Some(id) = crate::client::u64_key(&kv.key_bytes) {
					pending.push(id);
				}
			}
		}
		pending.sort_unstable();
		let mut out = Vec::new();
		for id in pending {
			if !self.has_voted(id, curator).await? {
				if let Some(c) = self.find_contribution(id).await? {
					out.push(c);
				}
			}
		}
		Ok(out)
	}
}
