//! What a datanet's owner changes after creation (rules, curators, closing), and what the force
//! origin does to datanets and curators (through sudo on dev and local chains).

use crate::{
	chain::{
		self,
		runtime_types::{
			pallet_datanets::pallet::Call as DatanetsCall, tributary_runtime::RuntimeCall,
		},
	},
	client::{DatanetId, RulesArg},
	keys::Key,
	Client, ClientError,
};
use subxt::utils::AccountId32;

impl Client {
	/// Replaces the rules of `datanet` (owner only). Caps and the pending time change at once; a
	/// new fee, quorum or deposit waits the chain's delay (`datanet show` prints when).
	pub async fn update_rules(
		&self,
		owner: &Key,
		datanet: DatanetId,
		rules: &RulesArg,
	) -> Result<(), ClientError> {
		let call = chain::tx().datanets().update_rules(datanet, rules.into());
		self.submit(&call, owner).await.map(|_| ())
	}

	/// Adds a curator (owner only). Its votes count once it holds a curator bond.
	pub async fn add_curator(
		&self,
		owner: &Key,
		datanet: DatanetId,
		curator: AccountId32,
	) -> Result<(), ClientError> {
		self.submit(&chain::tx().datanets().add_curator(datanet, curator), owner).await.map(|_| ())
	}

	/// Removes a curator (owner only; not below the quorums, scheduled ones included).
	pub async fn remove_curator(
		&self,
		owner: &Key,
		datanet: DatanetId,
		curator: AccountId32,
	) -> Result<(), ClientError> {
		let call = chain::tx().datanets().remove_curator(datanet, curator);
		self.submit(&call, owner).await.map(|_| ())
	}

	/// Closes `datanet` to new submissions (owner only). Its deposit stays held until the
	/// datanet's storage is cleared (`clear_closed_datanet`, by anyone after the chain's delay).
	pub async fn close_datanet(&self, owner: &Key, datanet: DatanetId) -> Result<(), ClientError> {
		self.submit(&chain::tx().datanets().close_datanet(datanet), owner).await.map(|_| ())
	}

	/// Closes any datanet as root: burns the owner's deposit when `slash`, and sweeps the
	/// curation pot to `pot_to` when given.
	pub async fn force_close_datanet(
		&self,
		root: &Key,
		datanet: DatanetId,
		slash: bool,
		pot_to: Option<AccountId32>,
	) -> Result<(), ClientError> {
		let call = DatanetsCall::force_close_datanet { datanet, slash_deposit: slash, pot_to };
		self.sudo(root, RuntimeCall::Datanets(call)).await
	}

	/// Clears up to `max_keys` entries of a closed datanet's storage (anyone, `ClearDelay`
	/// blocks after closing; free when it clears something). Returns the accepted items and
	/// other keys removed, and whether the datanet is now fully cleared.
	pub async fn clear_closed_datanet(
		&self,
		key: &Key,
		datanet: DatanetId,
		max_keys: u32,
	) -> Result<(u32, u32, bool), ClientError> {
		let call = chain::tx().datanets().clear_closed_datanet(datanet, max_keys);
		let e: chain::datanets::events::DatanetStorageCleared = self.submit_for(&call, key).await?;
		Ok((e.contributions, e.keys, e.done))
	}

	/// Removes a rejected, expired or superseded contribution's record (its contributor, or
	/// anyone once the datanet can be cleared); returns the record deposit released.
	pub async fn remove_contribution(
		&self,
		key: &Key,
		contribution: u64,
	) -> Result<u128, ClientError> {
		let call = chain::tx().datanets().remove_contribution(contribution);
		let e: chain::datanets::events::ContributionRemoved = self.submit_for(&call, key).await?;
		Ok(e.released)
	}

	/// Burns up to `amount` of a curator's bond, as root.
	pub async fn slash_curator(
		&self,
		root: &Key,
		curator: AccountId32,
		amount: u128,
	) -> Result<(), ClientError> {
		self.sudo(root, RuntimeCall::Datanets(DatanetsCall::slash_curator { curator, amount }))
			.await
	}
}
