//! The node's RPC: Substrate's defaults plus `system`/`payment` helpers, the datanets queries
//! (`datanets_*`), the rewards query (`rewards_claimable`), and in dev sealing modes the
//! `engine_*` block-sealing methods.

use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
	types::ErrorObjectOwned,
	RpcModule,
};
use pallet_datanets::{ContributorStats, DatanetId, DatanetsApi, LeaderboardEntry};
use pallet_rewards::{ClaimRefusal, Leaf, RewardsApi};
use sc_consensus_manual_seal::rpc::{EngineCommand, ManualSeal, ManualSealApiServer};
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use std::sync::Arc;
use tributary_runtime::{opaque::Block, AccountId, Balance, Hash, Nonce};

/// Largest leaderboard page one call returns.
pub const MAX_LEADERBOARD_PAGE: u32 = 1000;

/// What the RPC handlers need.
pub struct FullDeps<C, P> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	/// Present in the dev sealing modes: where `engine_createBlock` sends its commands.
	pub manual_seal: Option<futures::channel::mpsc::Sender<EngineCommand<Hash>>>,
}

/// A datanet's commitment as it stands: accepted count and MMR root (hex).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
pub struct Commitment {
	pub count: u64,
	pub root: String,
}

#[rpc(client, server)]
pub trait DatanetsRpc {
	/// Leaderboard of a datanet (or of all datanets when `datanet` is null), sorted by rank:
	/// accepted contributions, then accepted bytes, then the earliest first acceptance.
	#[method(name = "datanets_leaderboard")]
	fn leaderboard(
		&self,
		datanet: Option<DatanetId>,
		offset: Option<u32>,
		limit: Option<u32>,
		at: Option<Hash>,
	) -> RpcResult<Vec<LeaderboardEntry<AccountId>>>;

	/// One contributor's record in a datanet (or across all datanets when `datanet` is null).
	#[method(name = "datanets_contributorStats")]
	fn contributor_stats(
		&self,
		who: AccountId,
		datanet: Option<DatanetId>,
		at: Option<Hash>,
	) -> RpcResult<ContributorStats>;

	/// The accepted count and MMR root of a datanet as it stands; null for an unknown datanet.
	#[method(name = "datanets_commitment")]
	fn commitment(&self, datanet: DatanetId, at: Option<Hash>) -> RpcResult<Option<Commitment>>;
}

/// What a claim would pay, as `rewards_claimable` answers: the amount in plancks (a string: JSON
/// numbers lose precision past 2^53), or why the claim would be refused.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Claimable {
	pub amount: Option<String>,
	pub refused: Option<ClaimRefusal>,
}

#[rpc(client, server)]
pub trait RewardsRpc {
	/// What claiming leaf `index` of `job`'s payout table, with its Merkle proof (hex hashes),
	/// would pay now, or why the claim would be refused. Nothing is changed.
	#[method(name = "rewards_claimable")]
	fn claimable(
		&self,
		job: u64,
		index: u32,
		leaf: Leaf<AccountId>,
		proof: Vec<Hash>,
		at: Option<Hash>,
	) -> RpcResult<Claimable>;

	/// The same for leaf `index` of `job`'s fee pool of `period` (answer fees of the model the job
	/// trained).
	#[method(name = "rewards_claimableFees")]
	fn claimable_fees(
		&self,
		job: u64,
		period: u32,
		index: u32,
		leaf: Leaf<AccountId>,
		proof: Vec<Hash>,
		at: Option<Hash>,
	) -> RpcResult<Claimable>;
}

/// Serves [`RewardsRpcServer`] from the runtime's [`RewardsApi`].
pub struct Rewards<C> {
	client: Arc<C>,
}

#[async_trait]
impl<C> RewardsRpcServer for Rewards<C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: RewardsApi<Block, AccountId, Balance>,
{
	fn claimable(
		&self,
		job: u64,
		index: u32,
		leaf: Leaf<AccountId>,
		proof: Vec<Hash>,
		at: Option<Hash>,
	) -> RpcResult<Claimable> {
		let proof = proof.into_iter().map(|h| h.0).collect();
		let at = best_or(&*self.client, at);
		let r =
			self.client.runtime_api().claimable(at, job, index, leaf, proof).map_err(api_error)?;
		Ok(claimable(r))
	}

	fn claimable_fees(
		&self,
		job: u64,
		period: u32,
		index: u32,
		leaf: Leaf<AccountId>,
		proof: Vec<Hash>,
		at: Option<Hash>,
	) -> RpcResult<Claimable> {
		let proof = proof.into_iter().map(|h| h.0).collect();
		let at = best_or(&*self.client, at);
		let r = self
			.client
			.runtime_api()
			.claimable_fees(at, job, period, index, leaf, proof)
			.map_err(api_error)?;
		Ok(claimable(r))
	}
}

fn claimable(r: Result<Balance, ClaimRefusal>) -> Claimable {
	match r {
		Ok(amount) => Claimable { amount: Some(amount.to_string()), refused: None },
		Err(why) => Claimable { amount: None, refused: Some(why) },
	}
}

/// The block a query reads: the one asked for, or the best one.
fn best_or<C: HeaderBackend<Block>>(client: &C, at: Option<Hash>) -> Hash {
	at.unwrap_or_else(|| client.info().best_hash)
}

/// Serves [`DatanetsRpcServer`] from the runtime's [`DatanetsApi`].
pub struct Datanets<C> {
	client: Arc<C>,
}

fn api_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(1, format!("runtime API call failed: {e}"), None::<()>)
}

impl<C> Datanets<C>
where
	C: HeaderBackend<Block>,
{
	fn at(&self, at: Option<Hash>) -> Hash {
		best_or(&*self.client, at)
	}
}

#[async_trait]
impl<C> DatanetsRpcServer for Datanets<C>
where
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: DatanetsApi<Block, AccountId>,
{
	fn leaderboard(
		&self,
		datanet: Option<DatanetId>,
		offset: Option<u32>,
		limit: Option<u32>,
		at: Option<Hash>,
	) -> RpcResult<Vec<LeaderboardEntry<AccountId>>> {
		let limit = limit.unwrap_or(100);
		if limit > MAX_LEADERBOARD_PAGE {
			return Err(ErrorObjectOwned::owned(
				2,
				format!("limit {limit} is above the largest page, {MAX_LEADERBOARD_PAGE}"),
				None::<()>,
			));
		}
		self.client
			.runtime_api()
			.leaderboard(self.at(at), datanet, offset.unwrap_or(0), limit)
			.map_err(api_error)
	}

	fn contributor_stats(
		&self,
		who: AccountId,
		datanet: Option<DatanetId>,
		at: Option<Hash>,
	) -> RpcResult<ContributorStats> {
		self.client.runtime_api().contributor_stats(self.at(at), who, datanet).map_err(api_error)
	}

	fn commitment(&self, datanet: DatanetId, at: Option<Hash>) -> RpcResult<Option<Commitment>> {
		let c = self
			.client
			.runtime_api()
			.current_commitment(self.at(at), datanet)
			.map_err(api_error)?;
		Ok(c.map(|(count, root)| Commitment { count, root: format!("0x{}", hex(&root)) }))
	}
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// All RPC extensions of a full node.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ DatanetsApi<Block, AccountId>
		+ RewardsApi<Block, AccountId, Balance>
		+ BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, manual_seal } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(Rewards { client: client.clone() }.into_rpc())?;
	module.merge(Datanets { client }.into_rpc())?;
	if let Some(sink) = manual_seal {
		module.merge(ManualSeal::new(sink).into_rpc())?;
	}
	Ok(module)
}
