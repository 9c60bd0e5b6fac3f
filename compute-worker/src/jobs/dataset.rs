//! Getting exactly the dataset a job names: the version's `(count, root)` and items from the chain,
//! the root rebuilt from those items and compared (any mismatch refuses the job), then every item's
//! bytes fetched over the data plane, each verified against its BLAKE3 hash as it arrives.

use data_plane::{fetch, DataNode, FetchOptions};

/// The holder name of the pins on what jobs train on and produce (see `data_plane::pins`): kept
/// while this worker may run or reproduce them.
pub const TRAINING_PIN: &str = "training";
use pallet_datanets::mmr;
use std::path::PathBuf;
use std::time::Duration;
use tributary_client::{dataset::DatasetItem, Client, ClientError};

/// A dataset item with its verified bytes in the local store.
#[derive(Debug, Clone)]
pub struct LocalItem {
	pub item: DatasetItem,
	pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
	#[error("datanet {datanet} has no published version {version}")]
	NotPublished { datanet: u32, version: u32 },
	#[error("the chain lists {found} items for a version of {count}")]
	CountMismatch { count: u64, found: u64 },
	#[error("the items rebuild root 0x{rebuilt}, but version {version} of datanet {datanet} commits 0x{expected}: refusing to train on a dataset that is not the one named")]
	RootMismatch { datanet: u32, version: u32, expected: String, rebuilt: String },
	#[error("item {index} (0x{hash}) could not be fetched verified: {reason}")]
	Fetch { index: u64, hash: String, reason: String },
	#[error(transparent)]
	Chain(#[from] ClientError),
	#[error("content store: {0}")]
	Store(String),
}

/// The MMR root the chain would compute over `items`, in order (see `pallet_datanets::mmr`).
pub fn rebuild_root(items: &[DatasetItem]) -> [u8; 32] {
	let leaves: Vec<_> = items
		.iter()
		.map(|i| mmr::leaf_hash(i.contribution, &i.contributor.0, &i.content_hash))
		.collect();
	mmr::root_from_leaves(&leaves)
}

/// Checks `items` are exactly the version `(count, root)`.
pub fn verify(
	datanet: u32,
	version: u32,
	count: u64,
	root: &[u8; 32],
	items: &[DatasetItem],
) -> Result<(), DatasetError> {
	if items.len() as u64 != count {
		return Err(DatasetError::CountMismatch { count, found: items.len() as u64 });
	}
	let rebuilt = rebuild_root(items);
	if &rebuilt != root {
		return Err(DatasetError::RootMismatch {
			datanet,
			version,
			expected: hex::encode(root),
			rebuilt: hex::encode(rebuilt),
		});
	}
	Ok(())
}

/// Reads version `version` of `datanet` from the chain, verifies its items against the root, and
/// fetches every item's bytes (pinned while the job needs them).
pub async fn fetch_version(
	client: &Client,
	node: &DataNode,
	datanet: u32,
	version: u32,
	give_up_after: Duration,
) -> Result<Vec<LocalItem>, DatasetError> {
	let v = client
		.dataset_version(datanet, version)
		.await?
		.ok_or(DatasetError::NotPublished { datanet, version })?;
	let items = client.dataset_items(datanet, v.count).await?;
	verify(datanet, version, v.count, &v.root, &items)?;
	let mut out = Vec::with_capacity(items.len());
	for item in items {
		let path = fetch_blob(node, &item.content_hash, item.bytes, give_up_after).await.map_err(
			|reason| DatasetError::Fetch {
				index: item.index,
				hash: hex::encode(item.content_hash),
				reason,
			},
		)?;
		out.push(LocalItem { item, path });
	}
	Ok(out)
}

/// Fetches one blob of `bytes` bytes by hash (verified group by group) unless the store has it, pins
/// it, and returns its path in the store.
pub async fn fetch_blob(
	node: &DataNode,
	hash: &[u8; 32],
	bytes: u64,
	give_up_after: Duration,
) -> Result<PathBuf, String> {
	let store = node.store().clone();
	store.pin(hash, TRAINING_PIN, None).map_err(|e| e.to_string())?;
	if !store.has(hash) {
		let opts = FetchOptions { expected_size: Some(bytes), give_up_after, ..Default::default() };
		fetch(node, *hash, opts).await.map_err(|e| e.to_string())?;
	}
	let size = store.size(hash).map_err(|e| e.to_string())?;
	if size != bytes {
		return Err(format!("the chain declares {bytes} bytes, the content has {size}"));
	}
	Ok(store.blob_path(hash))
}

#[cfg(test)]
mod tests {
	use super::*;
	use subxt::utils::AccountId32;

	fn item(i: u64, id: u64, byte: u8) -> DatasetItem {
		DatasetItem {
			index: i,
			contribution: id,
			contributor: AccountId32([1u8; 32]),
			content_hash: [byte; 32],
			bytes: 10,
			format: "jsonl".into(),
		}
	}

	#[test]
	fn only_the_exact_items_of_a_version_verify() {
		let items: Vec<_> = (0..5).map(|i| item(i, 10 + i, i as u8)).collect();
		let root = rebuild_root(&items);
		verify(0, 1, 5, &root, &items).unwrap();
		// A swapped hash, a reordered list, a missing or an extra item: all refused.
		let mut tampered = items.clone();
		tampered[2].content_hash = [9u8; 32];
		assert!(matches!(
			verify(0, 1, 5, &root, &tampered),
			Err(DatasetError::RootMismatch { .. })
		));
		// The same bytes credited to someone else are another dataset: the leaf commits the
		// contributor, so rewards follow the version's root.
		let mut recredited = items.clone();
		recredited[3].contributor = AccountId32([2u8; 32]);
		assert!(matches!(
			verify(0, 1, 5, &root, &recredited),
			Err(DatasetError::RootMismatch { .. })
		));
		let mut reordered = items.clone();
		reordered.swap(0, 1);
		assert!(matches!(
			verify(0, 1, 5, &root, &reordered),
			Err(DatasetError::RootMismatch { .. })
		));
		assert!(matches!(
			verify(0, 1, 5, &root, &items[..4]),
			Err(DatasetError::CountMismatch { .. })
		));
		// Another version's root (the first four items) does not verify these five.
		let older = rebuild_root(&items[..4]);
		let e = verify(0, 1, 5, &older, &items).unwrap_err().to_string();
		assert!(e.contains("refusing to train"), "{e}");
	}
}
