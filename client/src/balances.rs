//! Balances: what an account holds (free, held, frozen) and plain transfers.

use crate::{chain, keys::Key, Client, ClientError};
use serde::Serialize;
use subxt::utils::{AccountId32, MultiAddress};

/// An account's balance, in plancks.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct BalanceView {
	/// Spendable, less what is frozen.
	pub free: u128,
	/// Held by pallets: deposits, bonds (released by the call that took them).
	pub reserved: u128,
	/// The part of `free` that locks keep from being spent.
	pub frozen: u128,
}

impl Client {
	/// `who`'s balance (zero for an account the chain does not know).
	pub async fn balance(&self, who: &AccountId32) -> Result<BalanceView, ClientError> {
		let at = self.state().await?;
		Ok(at
			.fetch(&chain::storage().system().account(who.clone()))
			.await?
			.map(|a| BalanceView {
				free: a.data.free,
				reserved: a.data.reserved,
				frozen: a.data.frozen,
			})
			.unwrap_or_default())
	}

	/// Sends `amount` plancks from `key` to `to`, refusing to leave `key`'s account below the
	/// existential deposit (`transfer_keep_alive`: a transfer never reaps the sender).
	pub async fn transfer(
		&self,
		key: &Key,
		to: AccountId32,
		amount: u128,
	) -> Result<(), ClientError> {
		let call = chain::tx().balances().transfer_keep_alive(MultiAddress::Id(to), amount);
		let _: chain::balances::events::Transfer = self.submit_for(&call, key).await?;
		Ok(())
	}
}
