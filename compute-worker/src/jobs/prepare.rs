//! Everything a job needs before it is claimed: the base model's files fetched by hash and laid out
//! as its folder, and the dataset version's items fetched and verified against the chain's root,
//! turned into training records. A failure says whether trying later may help.

use super::dataset::{self, DatasetError};
use super::examples;
use super::runner::RunnerConfig;
use data_plane::DataNode;
use model_factory::data::Record;
use std::path::PathBuf;
use tributary_client::dataset::DatasetItem;
use tributary_client::training::{BaseModelView, JobView};
use tributary_client::Client;

/// What a job needs before it is claimed.
pub struct Prepared {
	pub model_path: PathBuf,
	pub base_name: String,
	pub records: Vec<Record>,
	/// The version's items, in order, and for each record the position of its item.
	pub items: Vec<DatasetItem>,
	pub record_items: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
	#[error(transparent)]
	Dataset(#[from] DatasetError),
	#[error(transparent)]
	Examples(#[from] examples::ExamplesError),
	#[error("base model file {name} (0x{hash}) could not be fetched verified: {reason}")]
	BaseFile { name: String, hash: String, reason: String },
	#[error("{0}")]
	Io(String),
	#[error(transparent)]
	Chain(#[from] tributary_client::ClientError),
}

impl PrepareError {
	/// Whether trying again later may succeed (data not reachable yet, a chain or disk hiccup), as
	/// opposed to data or a model that does not verify.
	pub fn is_passing(&self) -> bool {
		match self {
			Self::Dataset(d) => matches!(
				d,
				DatasetError::Fetch { .. } | DatasetError::Chain(_) | DatasetError::Store(_)
			),
			Self::Examples(_) => false,
			Self::BaseFile { .. } | Self::Io(_) | Self::Chain(_) => true,
		}
	}
}

/// Fetches and verifies a job's base model (`base`, the job's) and dataset, and builds its training
/// records.
pub async fn prepare(
	client: &Client,
	node: &DataNode,
	cfg: &RunnerConfig,
	job: &JobView,
	base: &BaseModelView,
) -> Result<Prepared, PrepareError> {
	let model_path = fetch_base(node, cfg, base).await?;
	let items =
		dataset::fetch_version(client, node, job.datanet, job.version, cfg.fetch_timeout).await?;
	let (records, record_items) = examples::records(&items)?;
	let items = items.into_iter().map(|i| i.item).collect();
	Ok(Prepared { model_path, base_name: base.spec.name.clone(), records, items, record_items })
}

/// Every file of a base model, fetched by hash and laid out as its folder (or its .gguf file),
/// under `cfg.work_dir/bases/<id>`.
pub async fn fetch_base(
	node: &DataNode,
	cfg: &RunnerConfig,
	base: &BaseModelView,
) -> Result<PathBuf, PrepareError> {
	let dir = cfg.work_dir.join("bases").join(base.id.to_string());
	std::fs::create_dir_all(&dir).map_err(|e| PrepareError::Io(e.to_string()))?;
	let mut gguf = None;
	for f in &base.spec.files {
		let blob = dataset::fetch_blob(node, &f.hash, f.bytes, cfg.fetch_timeout).await.map_err(
			|reason| PrepareError::BaseFile {
				name: f.name.clone(),
				hash: hex::encode(f.hash),
				reason,
			},
		)?;
		// Names are plain on chain (no paths); a link into the store costs no space.
		let target = dir.join(&f.name);
		if !target.exists() {
			std::fs::hard_link(&blob, &target)
				.or_else(|_| std::fs::copy(&blob, &target).map(|_| ()))
				.map_err(|e| PrepareError::Io(format!("{}: {e}", target.display())))?;
		}
		if f.name.ends_with(".gguf") {
			gguf = Some(target);
		}
	}
	Ok(gguf.unwrap_or(dir))
}
