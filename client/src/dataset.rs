//! Reading a published dataset version: its `(count, root)` and the accepted items it names, so a
//! worker can fetch exactly that dataset and prove it against the root.

use crate::{
	chain,
	client::{Client, ClientError, ContributionId, DatanetId},
};
use subxt::utils::AccountId32;

/// A published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionView {
	pub count: u64,
	pub root: [u8; 32],
	pub published_at: u32,
}

/// One item of a version: what the chain recorded of an accepted contribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetItem {
	pub index: u64,
	pub contribution: ContributionId,
	pub contributor: AccountId32,
	pub content_hash: [u8; 32],
	pub bytes: u64,
	pub format: String,
}

impl Client {
	/// Version `version` of `datanet`, if published.
	pub async fn dataset_version(
		&self,
		datanet: DatanetId,
		version: u32,
	) -> Result<Option<VersionView>, ClientError> {
		let at = self.state().await?;
		let v = at.fetch(&chain::storage().datanets().versions(datanet, version)).await?;
		Ok(v.map(|v| VersionView { count: v.count, root: v.root, published_at: v.published_at }))
	}

	/// The first `count` items of `datanet`'s accepted list, in order (a version's items).
	pub async fn dataset_items(
		&self,
		datanet: DatanetId,
		count: u64,
	) -> Result<Vec<DatasetItem>, ClientError> {
		let at = self.state().await?;
		let q = chain::storage().datanets();
		let mut out = Vec::with_capacity(count as usize);
		for index in 0..count {
			let id = at.fetch(&q.accepted_list(datanet, index)).await?.ok_or_else(|| {
				ClientError::Other(format!("datanet {datanet} has no accepted item {index}"))
			})?;
			let c = at
				.fetch(&q.contributions(id))
				.await?
				.ok_or(ClientError::NotFound { what: "contribution", id })?;
			out.push(DatasetItem {
				index,
				contribution: id,
				contributor: c.contributor,
				content_hash: c.content_hash,
				bytes: c.bytes,
				format: String::from_utf8_lossy(&c.format.0).into_owned(),
			});
		}
		Ok(out)
	}
}

/// A datanet's accepted list as it stands, from the node's `datanets_commitment` RPC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommitmentView {
	pub count: u64,
	/// The MMR root, 0x hex.
	pub root: String,
}

impl Client {
	/// Every published version of `datanet`, newest first, with its number.
	pub async fn dataset_versions(
		&self,
		datanet: DatanetId,
	) -> Result<Vec<(u32, VersionView)>, ClientError> {
		let at = self.state().await?;
		let latest = at.fetch(&chain::storage().datanets().latest_version(datanet)).await?;
		let mut out = Vec::new();
		for version in (1..=latest.unwrap_or(0)).rev() {
			if let Some(v) =
				at.fetch(&chain::storage().datanets().versions(datanet, version)).await?
			{
				out.push((
					version,
					VersionView { count: v.count, root: v.root, published_at: v.published_at },
				));
			}
		}
		Ok(out)
	}

	/// `datanet`'s accepted count and MMR root (`None`: no such datanet), at the block storage
	/// reads go to.
	pub async fn commitment(
		&self,
		datanet: DatanetId,
	) -> Result<Option<CommitmentView>, ClientError> {
		let at = self.read_hash().await?;
		self.rpc
			.request("datanets_commitment", subxt::ext::subxt_rpcs::rpc_params![datanet, at])
			.await
			.map_err(|e| ClientError::Other(format!("datanets_commitment: {e}")))
	}
}
