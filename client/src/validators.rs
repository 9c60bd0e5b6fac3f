//! The validator set: who validates this session and who is planned next, session keys, and the
//! changes root (governance later) makes.

use crate::{
	chain::{
		self,
		runtime_types::{
			pallet_validators::pallet::Call as ValidatorsCall, tributary_runtime::RuntimeCall,
		},
	},
	keys::Key,
	Client, ClientError,
};
use serde::Serialize;
use subxt::ext::codec::Encode;
use subxt::{backend::rpc::RpcClient, ext::subxt_rpcs::rpc_params, utils::AccountId32};

/// The set as the chain holds it.
#[derive(Debug, Clone, Serialize)]
pub struct ValidatorSetView {
	/// The current session.
	pub session: u32,
	/// Blocks per session.
	pub session_length: u32,
	/// Validating this session (SS58), in authority order.
	pub active: Vec<String>,
	/// Active but disabled for the rest of the session (an offence was reported).
	pub disabled: Vec<String>,
	/// The set the next planned session gets.
	pub planned: Vec<String>,
}

#[derive(serde::Deserialize)]
struct GeneratedKeys {
	keys: String,
	proof: Option<String>,
}

fn unhex(s: &str) -> Result<Vec<u8>, ClientError> {
	hex::decode(s.trim_start_matches("0x"))
		.map_err(|e| ClientError::Other(format!("the node returned bad hex ({e})")))
}

impl Client {
	/// The current session's validators, the disabled ones, and the planned set.
	pub async fn validator_set(&self) -> Result<ValidatorSetView, ClientError> {
		let at = self.state().await?;
		let session = at.fetch_or_default(&chain::storage().session().current_index()).await?;
		let active = at.fetch_or_default(&chain::storage().session().validators()).await?;
		let disabled =
			at.fetch_or_default(&chain::storage().session().disabled_validators()).await?;
		let planned =
			at.fetch_or_default(&chain::storage().validators().planned_validators()).await?;
		let session_length =
			at.fetch_or_default(&chain::storage().validators().session_length()).await?;
		let ss58 = |a: &AccountId32| a.to_string();
		Ok(ValidatorSetView {
			session,
			session_length,
			disabled: disabled
				.iter()
				.filter_map(|(i, _)| active.get(*i as usize))
				.map(ss58)
				.collect(),
			active: active.iter().map(ss58).collect(),
			planned: planned.0.iter().map(ss58).collect(),
		})
	}

	/// Has the validator node at `node_url` make fresh session keys for `key`'s account (kept in
	/// that node's keystore) and registers them on chain with their ownership proof. Returns the
	/// keys, hex. `node_url` must allow unsafe RPCs (a node's own localhost RPC does).
	pub async fn set_session_keys(&self, node_url: &str, key: &Key) -> Result<String, ClientError> {
		let node = RpcClient::from_insecure_url(node_url).await.map_err(|e| {
			ClientError::Unreachable { url: node_url.to_string(), reason: e.to_string() }
		})?;
		let owner = format!("0x{}", hex::encode(key.account_id().encode()));
		let generated: GeneratedKeys = node
			.request("author_rotateKeysWithOwner", rpc_params![owner])
			.await
			.map_err(|e| ClientError::Other(format!("{node_url} would not make session keys ({e}): is it a validator node with unsafe RPCs allowed?")))?;
		let keys = unhex(&generated.keys)?;
		let proof = unhex(generated.proof.as_deref().unwrap_or("0x"))?;
		self.submit(&SetKeys { keys, proof }, key).await?;
		Ok(generated.keys)
	}

	/// Adds `who` to the planned set (it must have set session keys), as root through sudo.
	pub async fn add_validator(&self, root: &Key, who: AccountId32) -> Result<(), ClientError> {
		self.sudo(root, RuntimeCall::Validators(ValidatorsCall::add_validator { who })).await
	}

	/// Removes `who` from the planned set, as root through sudo.
	pub async fn remove_validator(&self, root: &Key, who: AccountId32) -> Result<(), ClientError> {
		self.sudo(root, RuntimeCall::Validators(ValidatorsCall::remove_validator { who })).await
	}
}

/// `Session::set_keys` with the keys exactly as the node encoded them (the runtime's
/// `SessionKeys`), so the client needs no knowledge of their layout.
struct SetKeys {
	keys: Vec<u8>,
	proof: Vec<u8>,
}

impl subxt::tx::Payload for SetKeys {
	fn encode_call_data_to(
		&self,
		metadata: &subxt::Metadata,
		out: &mut Vec<u8>,
	) -> Result<(), subxt::ext::subxt_core::Error> {
		use subxt::ext::subxt_core::error::MetadataError;
		let pallet = metadata
			.pallet_by_name("Session")
			.ok_or_else(|| MetadataError::PalletNameNotFound("Session".into()))?;
		let call = pallet
			.call_variant_by_name("set_keys")
			.ok_or_else(|| MetadataError::CallNameNotFound("set_keys".into()))?;
		out.push(pallet.index());
		out.push(call.index);
		out.extend_from_slice(&self.keys);
		self.proof.encode_to(out);
		Ok(())
	}
}
