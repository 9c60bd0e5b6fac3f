//! A datanet's curation pot: the account that pays curators their fee per decision, which anyone
//! may fund.

use crate::{chain, client::DatanetId, keys::Key, Client, ClientError};
use subxt::utils::AccountId32;

/// The pot's account: the datanets pallet's sub-account for `datanet`
/// (`PalletId(*b"trib/dnt").into_sub_account_truncating(datanet)`: `modl ‖ trib/dnt ‖ id (u32 LE)`,
/// zero-padded to 32 bytes).
pub fn curation_pot(datanet: DatanetId) -> AccountId32 {
	let mut raw = [0u8; 32];
	raw[..4].copy_from_slice(b"modl");
	raw[4..12].copy_from_slice(b"trib/dnt");
	raw[12..16].copy_from_slice(&datanet.to_le_bytes());
	AccountId32(raw)
}

impl Client {
	/// Moves `amount` plancks from `key` into `datanet`'s curation pot.
	pub async fn fund_curation_pot(
		&self,
		key: &Key,
		datanet: DatanetId,
		amount: u128,
	) -> Result<(), ClientError> {
		let call = chain::tx().datanets().fund_curation_pot(datanet, amount);
		let _: chain::datanets::events::CurationPotFunded = self.submit_for(&call, key).await?;
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	#[test]
	fn the_pot_is_the_runtimes_sub_account() {
		for id in [0u32, 7, u32::MAX] {
			let want = tributary_runtime::Datanets::curation_pot(id);
			let want: &[u8; 32] = want.as_ref();
			assert_eq!(&super::curation_pot(id).0, want, "datanet {id}");
		}
	}
}
