//! Which model a request's `model` field names, and where its adapter lies on disk.
//!
//! - The base, under its id.
//! - Adapters given on the command line (`--adapter ID=FOLDER`).
//! - With a chain (`--base N`): every trained model the chain's registry records on that base, as
//!   `model-<id>`. The first request for one fetches its adapter blob over the data plane by the
//!   hash the chain records (verified as it arrives), unpacks it (the canonical two-member archive
//!   only) and keeps the folder; later requests find it on disk. A model trained on another base
//!   is refused, never answered by this one.

use super::engine::Adapter;
use data_plane::DataNode;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tributary_client::training::{BaseModelId, ModelId, ModelView};
use tributary_client::Client;

/// The chain side of a catalogue.
pub struct ChainModels {
	pub client: Client,
	pub node: DataNode,
	pub base: BaseModelId,
	/// Unpacked adapters, one folder per model.
	pub dir: PathBuf,
	pub fetch_timeout: Duration,
	/// One fetch at a time (two requests for the same new model fetch it once).
	fetching: tokio::sync::Mutex<()>,
	/// The chain's models on this base, kept for a few seconds.
	listed: tokio::sync::Mutex<Option<(Instant, Vec<ModelView>)>>,
}

impl ChainModels {
	pub fn new(
		client: Client,
		node: DataNode,
		base: BaseModelId,
		dir: PathBuf,
		fetch_timeout: Duration,
	) -> Self {
		Self {
			client,
			node,
			base,
			dir,
			fetch_timeout,
			fetching: Default::default(),
			listed: Default::default(),
		}
	}
}

/// The models a server offers.
pub struct Models {
	pub base_id: String,
	pub local: BTreeMap<String, PathBuf>,
	pub chain: Option<ChainModels>,
}

/// A model as `/v1/models` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
	pub id: String,
	/// The base it is trained on (`None` for the base).
	pub parent: Option<String>,
}

/// Why a model cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
	/// No such model here (404).
	#[error("{0}")]
	NotFound(String),
	/// It exists but its adapter could not be had now (503: try again).
	#[error("{0}")]
	Unavailable(String),
}

const CHAIN_PREFIX: &str = "model-";
const LIST_FOR: Duration = Duration::from_secs(5);

impl Models {
	/// The adapter `model` needs (`None`: the bare base).
	pub async fn resolve(&self, model: &str) -> Result<Option<Adapter>, ResolveError> {
		if model == self.base_id {
			return Ok(None);
		}
		if let Some(dir) = self.local.get(model) {
			return Ok(Some(Adapter { id: model.to_string(), dir: dir.clone() }));
		}
		let not_found = || {
			ResolveError::NotFound(format!(
				"the model `{model}` does not exist here: GET /v1/models lists the models served"
			))
		};
		let (Some(chain), Some(id)) =
			(&self.chain, model.strip_prefix(CHAIN_PREFIX).and_then(|n| n.parse::<ModelId>().ok()))
		else {
			return Err(not_found());
		};
		let view = match chain.client.model(id).await {
			Ok(v) => v,
			Err(tributary_client::ClientError::NotFound { .. }) => return Err(not_found()),
			Err(e) => return Err(ResolveError::Unavailable(format!("the chain: {e}"))),
		};
		if view.base != chain.base {
			return Err(ResolveError::NotFound(format!(
				"{model} is trained on base model {}; this server serves base model {} ({})",
				view.base, chain.base, self.base_id
			)));
		}
		let dir = chain.dir.join(format!("{id}-{}", hex::encode(view.adapter_hash)));
		if !dir.join("adapter_model.safetensors").exists() {
			let _one = chain.fetching.lock().await;
			if !dir.join("adapter_model.safetensors").exists() {
				fetch_adapter(chain, &view, &dir).await.map_err(|e| {
					ResolveError::Unavailable(format!(
						"{model}'s adapter could not be fetched: {e}"
					))
				})?;
			}
		}
		Ok(Some(Adapter { id: model.to_string(), dir }))
	}

	/// Every model offered: the base, the local adapters, then the chain's models on the base.
	pub async fn list(&self) -> Result<Vec<Listed>, ResolveError> {
		let mut out = vec![Listed { id: self.base_id.clone(), parent: None }];
		let parent = Some(self.base_id.clone());
		out.extend(self.local.keys().map(|id| Listed { id: id.clone(), parent: parent.clone() }));
		if let Some(chain) = &self.chain {
			let mut listed = chain.listed.lock().await;
			let fresh = listed.as_ref().is_some_and(|(at, _)| at.elapsed() < LIST_FOR);
			if !fresh {
				let all = chain
					.client
					.models()
					.await
					.map_err(|e| ResolveError::Unavailable(format!("the chain: {e}")))?;
				*listed = Some((Instant::now(), all));
			}
			let (_, all) = listed.as_ref().expect("just listed");
			out.extend(
				all.iter().filter(|m| m.base == chain.base).map(|m| Listed {
					id: format!("{CHAIN_PREFIX}{}", m.id),
					parent: parent.clone(),
				}),
			);
		}
		Ok(out)
	}
}

/// Fetches a model's adapter blob by the chain's hash and unpacks it into `dir` (whole or not at
/// all: unpacked beside it, then renamed).
async fn fetch_adapter(
	chain: &ChainModels,
	view: &ModelView,
	dir: &std::path::Path,
) -> Result<(), String> {
	let blob = crate::jobs::dataset::fetch_blob(
		&chain.node,
		&view.adapter_hash,
		view.adapter_bytes,
		chain.fetch_timeout,
	)
	.await?;
	let bytes = tokio::fs::read(&blob).await.map_err(|e| format!("{}: {e}", blob.display()))?;
	std::fs::create_dir_all(&chain.dir).map_err(|e| format!("{}: {e}", chain.dir.display()))?;
	let tmp = tempfile::tempdir_in(&chain.dir).map_err(|e| e.to_string())?;
	let unpacked = tmp.path().join("adapter");
	tributary_client::adapter_blob::unpack(&bytes, &unpacked).map_err(|e| e.to_string())?;
	std::fs::rename(&unpacked, dir).map_err(|e| format!("{}: {e}", dir.display()))?;
	Ok(())
}
