//! Which model a request's `model` field names, and where its adapter lies on disk.
//!
//! - The base, under its id.
//! - Adapters given on the command line (`--adapter ID=FOLDER`).
//! - With a chain (`--base N`): every trained model the chain's registry records on that base, as
//!   `model-<id>`. The first request for one fetches its adapter blob over the data plane by the
//!   hash the chain records (verified as it arrives), unpacks it (the canonical two-member archive
//!   only) and keeps the folder; later requests find it on disk. A model trained on another base
//!   is refused, never answered by this one. Its dataset version's text is fetched and indexed
//!   for exact-span attribution (`model_factory::attribution::spans`) once per version.
//! - With a chain, every datanet with a published version of text, as `datanet-<id>`: chat over
//!   the datanet. The base answers from passages of the datanet's latest version that retrieval
//!   ([`super::retrieval`]) finds for the question, citing them.

use super::engine::Adapter;
use super::influence::{Split, TrainingText};
use super::retrieval::{Bm25, Passage};
use data_plane::DataNode;
use model_factory::attribution::spans::{Document, SpanIndex};
use model_factory::data::Record;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
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
	/// The chain's models on this base and its datanets with a version, kept for a few seconds.
	listed: tokio::sync::Mutex<Option<(Instant, Vec<Listed>)>>,
	/// Versions' text indexes by (datanet, version), built once each; a failure is kept a minute
	/// before the next try, so an unreachable dataset does not hold every request up.
	indexes: tokio::sync::Mutex<IndexCache>,
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
			indexes: Default::default(),
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

/// What a request's model needs: its adapter (`None`: the bare base) and, for a model the chain
/// records, the dataset version its answers are searched in (the training text of a trained
/// model; for chat over a datanet, `grounded`, also where passages come from).
#[derive(Clone, Default)]
pub struct Resolved {
	pub adapter: Option<Adapter>,
	pub source: Option<Source>,
	pub grounded: bool,
}

/// A trained model the chain records on this server's base, before anything is fetched for it.
pub struct Found<'a> {
	chain: &'a ChainModels,
	id: ModelId,
	view: ModelView,
	/// The id the request named (`model-<id>`).
	model: &'a str,
}

/// A dataset version, and its text's indexes (or why there are none).
#[derive(Clone)]
pub struct Source {
	pub datanet: u32,
	pub version: u32,
	pub text: Result<Arc<VersionText>, String>,
	/// A trained model's: how its job split this text (for influence).
	pub split: Option<Split>,
}

/// A version's records, indexed for exact spans and for retrieval.
pub struct VersionText {
	pub spans: SpanIndex,
	pub passages: Bm25,
	/// The records themselves, each with its contribution.
	pub training: Arc<TrainingText>,
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

type IndexCache = HashMap<(u32, u32), (Instant, Result<Arc<VersionText>, String>)>;

const CHAIN_PREFIX: &str = "model-";
const DATANET_PREFIX: &str = "datanet-";
const RETRY_INDEX_AFTER: Duration = Duration::from_secs(60);
const LIST_FOR: Duration = Duration::from_secs(5);

impl Models {
	/// What `model` needs to answer.
	pub async fn resolve(&self, model: &str) -> Result<Resolved, ResolveError> {
		if model == self.base_id {
			return Ok(Resolved::default());
		}
		if let Some(dir) = self.local.get(model) {
			let adapter = Some(Adapter { id: model.to_string(), dir: dir.clone() });
			return Ok(Resolved { adapter, source: None, grounded: false });
		}
		if let (Some(chain), Some(d)) =
			(&self.chain, model.strip_prefix(DATANET_PREFIX).and_then(|n| n.parse::<u32>().ok()))
		{
			return datanet(chain, model, d).await;
		}
		let found = self.chain_model(model).await?;
		self.fetch_chain_model(found).await
	}

	/// What a chain model [`Models::chain_model`] found needs to answer: its adapter, fetched
	/// and verified on first use, and its dataset version's text.
	pub async fn fetch_chain_model(&self, found: Found<'_>) -> Result<Resolved, ResolveError> {
		let Found { chain, id, view, model } = found;
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
		let text = version_text(chain, view.datanet, view.version).await;
		let split = Some(Split {
			seq_len: view.training.max_seq_len as usize,
			eval_fraction: view.training.eval_fraction,
			seed: view.training.seed,
		});
		Ok(Resolved {
			adapter: Some(Adapter { id: model.to_string(), dir }),
			source: Some(Source { datanet: view.datanet, version: view.version, text, split }),
			grounded: false,
		})
	}

	/// The chain's trained model `model-<id>` on this server's base, as the chain records it
	/// (one chain query; nothing fetched): found, or why not.
	pub async fn chain_model<'a>(&'a self, model: &'a str) -> Result<Found<'a>, ResolveError> {
		let not_found = || {
			ResolveError::NotFound(format!(
				"the model `{model}` does not exist here: GET /v1/models lists the models served"
			))
		};
		let (Some(chain), Some(id)) = (&self.chain, chain_model_id(model)) else {
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
		Ok(Found { chain, id, view, model })
	}

	/// Every model offered: the base, the local adapters, then the chain's models on the base and
	/// its datanets with a published version of text.
	pub async fn list(&self) -> Result<Vec<Listed>, ResolveError> {
		let mut out = vec![Listed { id: self.base_id.clone(), parent: None }];
		let parent = Some(self.base_id.clone());
		out.extend(self.local.keys().map(|id| Listed { id: id.clone(), parent: parent.clone() }));
		if let Some(chain) = &self.chain {
			let mut listed = chain.listed.lock().await;
			let fresh = listed.as_ref().is_some_and(|(at, _)| at.elapsed() < LIST_FOR);
			if !fresh {
				let chain_err = |e: tributary_client::ClientError| {
					ResolveError::Unavailable(format!("the chain: {e}"))
				};
				let models = chain.client.models().await.map_err(chain_err)?;
				let datanets = chain.client.datanets().await.map_err(chain_err)?;
				let ids = models
					.iter()
					.filter(|m| m.base == chain.base)
					.map(|m| format!("{CHAIN_PREFIX}{}", m.id))
					.chain(
						datanets
							.iter()
							.filter(|d| d.latest_version > 0 && d.modality == "text")
							.map(|d| format!("{DATANET_PREFIX}{}", d.id)),
					)
					.map(|id| Listed { id, parent: parent.clone() })
					.collect();
				*listed = Some((Instant::now(), ids));
			}
			out.extend(listed.as_ref().expect("just listed").1.iter().cloned());
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

/// Chat over datanet `d`: the base, grounded in its latest version.
async fn datanet(chain: &ChainModels, model: &str, d: u32) -> Result<Resolved, ResolveError> {
	let view = match chain.client.datanet(d).await {
		Ok(Some(v)) => v,
		Ok(None) => {
			return Err(ResolveError::NotFound(format!(
				"the model `{model}` does not exist here: there is no datanet {d}"
			)))
		}
		Err(e) => return Err(ResolveError::Unavailable(format!("the chain: {e}"))),
	};
	if view.latest_version == 0 || view.modality != "text" {
		return Err(ResolveError::NotFound(format!(
			"{model}: datanet {d} has no published version of text to chat over"
		)));
	}
	let version = view.latest_version;
	let text = version_text(chain, d, version).await;
	if let Err(e) = &text {
		// Without its passages there is nothing to ground an answer in.
		return Err(ResolveError::Unavailable(format!("{model}: {e}")));
	}
	let source = Some(Source { datanet: d, version, text, split: None });
	Ok(Resolved { adapter: None, source, grounded: true })
}

/// The indexes of a dataset version: built from its items (fetched and verified against the
/// chain's root, as a job's are) on first use, then kept.
async fn version_text(
	chain: &ChainModels,
	datanet: u32,
	version: u32,
) -> Result<Arc<VersionText>, String> {
	let mut indexes = chain.indexes.lock().await;
	match indexes.get(&(datanet, version)) {
		Some((_, Ok(i))) => return Ok(i.clone()),
		Some((at, Err(e))) if at.elapsed() < RETRY_INDEX_AFTER => return Err(e.clone()),
		_ => {}
	}
	let built = build_index(chain, datanet, version).await;
	indexes.insert((datanet, version), (Instant::now(), built.clone()));
	built
}

async fn build_index(
	chain: &ChainModels,
	datanet: u32,
	version: u32,
) -> Result<Arc<VersionText>, String> {
	let items = crate::jobs::dataset::fetch_version(
		&chain.client,
		&chain.node,
		datanet,
		version,
		chain.fetch_timeout,
	)
	.await
	.map_err(|e| format!("the training text could not be had: {e}"))?;
	let index = tokio::task::spawn_blocking(move || -> Result<VersionText, String> {
		let (records, origin) =
			crate::jobs::examples::records(&items).map_err(|e| e.to_string())?;
		let docs: Vec<Document> = records
			.iter()
			.zip(&origin)
			.map(|(r, &item)| Document {
				contribution: items[item].item.contribution,
				parts: match r {
					Record::Text(t) => vec![t.as_str()],
					Record::Chat(msgs) => msgs.iter().map(|m| m.content.as_str()).collect(),
				},
			})
			.collect();
		let passages = Bm25::build(
			docs.iter()
				.map(|d| Passage { contribution: d.contribution, text: d.parts.join("\n") })
				.collect(),
		);
		let spans = SpanIndex::build(&docs)?;
		let contributions = docs.iter().map(|d| d.contribution).collect();
		drop(docs);
		Ok(VersionText {
			spans,
			passages,
			training: Arc::new(TrainingText { records, contributions }),
		})
	})
	.await
	.map_err(|e| e.to_string())??;
	Ok(Arc::new(index))
}

/// The chain id of a trained model served as `model-<id>`.
pub fn chain_model_id(model: &str) -> Option<ModelId> {
	model.strip_prefix(CHAIN_PREFIX)?.parse().ok()
}
