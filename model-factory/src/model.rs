//! One interface over every model family: full-sequence logits for training, cached decoding for
//! generation, and the adaptable linear layers by their Hugging Face module paths. Training,
//! generation and adapter files only ever see a `dyn CausalLm`.
//!
//! [`load`] opens a Hugging Face style folder (`config.json` + `*.safetensors`) and picks the family
//! from `model_type`.

use crate::lora::{Linear, LoraConfig};
use crate::multi_lora::RowAdapters;
use crate::pass::Pass;
use crate::weights::LoadError;
use candle_core::{DType, Device, Result, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

/// The model families this engine implements, by their Hugging Face `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
	/// `llama` (incl. Llama 3 rope scaling; DeepSeek's llama-architecture models and R1 distills).
	Llama,
	/// `mistral` (sliding-window attention).
	Mistral,
	/// `qwen2` (Qwen2 and Qwen2.5; biases on q, k, v).
	Qwen2,
	/// `qwen3` (per-head RMSNorm on q and k).
	Qwen3,
	/// `qwen2_moe` (Qwen1.5-MoE, Qwen2-57B-A14B: experts with a shared expert).
	Qwen2Moe,
	/// `qwen3_moe` (Qwen3-30B-A3B, Qwen3-235B-A22B: experts, q/k norms).
	Qwen3Moe,
	/// `deepseek_v2` (DeepSeek-V2, V2-Lite, V2.5: latent attention, DeepSeekMoE).
	DeepseekV2,
	/// `deepseek_v3` (DeepSeek-V3, R1: V2 with sigmoid routing and a choice bias).
	DeepseekV3,
	/// `gpt2` (Conv1D weights, learned positions).
	Gpt2,
	/// `bloom` (ALiBi, fused interleaved q/k/v).
	Bloom,
	/// `glm` (GLM-4, transformers' `GlmForCausalLM`: partial interleaved rotary, fused gate/up).
	Glm,
	/// `glm4` (GLM-4-0414, `Glm4ForCausalLM`: GLM plus two more norms per layer).
	Glm4,
	/// `chatglm` (ChatGLM2/3, remote-code glm-4-9b: GLM in THUDM's layout, fused q/k/v).
	ChatGlm,
}

impl Family {
	pub const ALL: [Family; 13] = [
		Family::Llama,
		Family::Mistral,
		Family::Qwen2,
		Family::Qwen3,
		Family::Qwen2Moe,
		Family::Qwen3Moe,
		Family::DeepseekV2,
		Family::DeepseekV3,
		Family::Gpt2,
		Family::Bloom,
		Family::Glm,
		Family::Glm4,
		Family::ChatGlm,
	];

	pub fn from_model_type(t: &str) -> Option<Family> {
		Some(match t {
			"llama" => Family::Llama,
			"mistral" => Family::Mistral,
			"qwen2" => Family::Qwen2,
			"qwen3" => Family::Qwen3,
			"qwen2_moe" => Family::Qwen2Moe,
			"qwen3_moe" => Family::Qwen3Moe,
			"deepseek_v2" => Family::DeepseekV2,
			"deepseek_v3" => Family::DeepseekV3,
			"gpt2" => Family::Gpt2,
			"bloom" => Family::Bloom,
			"glm" => Family::Glm,
			"glm4" => Family::Glm4,
			"chatglm" => Family::ChatGlm,
			_ => return None,
		})
	}

	pub fn model_type(self) -> &'static str {
		match self {
			Family::Llama => "llama",
			Family::Mistral => "mistral",
			Family::Qwen2 => "qwen2",
			Family::Qwen3 => "qwen3",
			Family::Qwen2Moe => "qwen2_moe",
			Family::Qwen3Moe => "qwen3_moe",
			Family::DeepseekV2 => "deepseek_v2",
			Family::DeepseekV3 => "deepseek_v3",
			Family::Gpt2 => "gpt2",
			Family::Bloom => "bloom",
			Family::Glm => "glm",
			Family::Glm4 => "glm4",
			Family::ChatGlm => "chatglm",
		}
	}

	/// PEFT's default LoRA targets for the family (its `TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES`).
	pub fn default_targets(self) -> Vec<String> {
		let t: &[&str] = match self {
			Family::Gpt2 => &["c_attn"],
			Family::Bloom | Family::ChatGlm => &["query_key_value"],
			Family::DeepseekV2 | Family::DeepseekV3 => &["q_proj", "q_b_proj", "kv_b_proj"],
			_ => &["q_proj", "v_proj"],
		};
		t.iter().map(|s| s.to_string()).collect()
	}

	/// Every linear module name inside the blocks (PEFT's `all-linear`, less the LM head).
	pub fn all_linear(self) -> Vec<String> {
		let t: &[&str] = match self {
			Family::Gpt2 => &["c_attn", "c_proj", "c_fc"],
			Family::Bloom => &["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
			Family::Glm | Family::Glm4 => {
				&["q_proj", "k_proj", "v_proj", "o_proj", "gate_up_proj", "down_proj"]
			}
			Family::ChatGlm => &["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],
			// The routed experts are not modules (transformers 5 fuses them): the shared
			// expert, its gate and any dense layers' MLPs are.
			Family::Qwen2Moe => &[
				"q_proj",
				"k_proj",
				"v_proj",
				"o_proj",
				"gate_proj",
				"up_proj",
				"down_proj",
				"shared_expert_gate",
			],
			// Every layer of the released Qwen3-MoE models is sparse, without a shared expert.
			Family::Qwen3Moe => &["q_proj", "k_proj", "v_proj", "o_proj"],
			// Queries directly (V2-Lite) or through a low-rank pair (see `moe_mlp_names`).
			Family::DeepseekV2 | Family::DeepseekV3 => {
				&["q_proj", "q_a_proj", "q_b_proj", "kv_a_proj_with_mqa", "kv_b_proj", "o_proj"]
			}
			_ => &["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
		};
		t.iter().map(|s| s.to_string()).collect()
	}
}

impl Family {
	/// Whether PEFT reads `gate_proj`, `up_proj` and `down_proj` targets as LoRA on the fused
	/// routed experts (`target_parameters`) for this family, as PEFT 0.21 does for Qwen3-MoE and
	/// DeepSeek on transformers 5: the engine does not implement that, and LoRA on the dense or
	/// shared MLPs under those names would load differently in PEFT, so such targets are refused.
	pub fn moe_mlp_names(self) -> bool {
		matches!(self, Family::Qwen3Moe | Family::DeepseekV2 | Family::DeepseekV3)
	}
}

/// A causal language model with adaptable linear layers.
/// A model's LM head: a linear layer (which may carry an adapter), or the tied embedding table used
/// as a frozen weight (GPT-2, BLOOM).
pub enum Head<'a> {
	Linear(&'a Linear),
	Tied(&'a Tensor),
}

impl Head<'_> {
	/// The weight when the head is exactly `h W^T`.
	pub fn frozen(&self) -> Option<&Tensor> {
		match self {
			Head::Linear(l) => l.frozen_dense(),
			Head::Tied(w) => Some(w),
		}
	}
	pub fn forward(&self, h: &Tensor, train: bool) -> Result<Tensor> {
		match self {
			Head::Linear(l) => l.forward(h, train),
			Head::Tied(w) => crate::ops::frozen_linear(h, w),
		}
	}
}

/// The masked loss of the logits `head(h)`, fused with the head where it can be.
fn head_loss(
	h: &Tensor,
	head: &Head,
	targets: &Tensor,
	mask: &Tensor,
	train: bool,
) -> Result<Tensor> {
	let fused = crate::fused::linear_cross_entropy_usable(h);
	if let Some(w) = head.frozen().filter(|_| fused) {
		let k = h.dim(candle_core::D::Minus1)?;
		return crate::fused::linear_cross_entropy(&h.reshape(((), k))?, w, targets, mask);
	}
	crate::ops::masked_loss(&head.forward(h, train)?, targets, mask)
}

pub trait CausalLm: Send + Sync {
	fn family(&self) -> Family;
	/// The token embedding table, (vocab, hidden); its dtype and device are the model's.
	fn embeddings(&self) -> &Tensor;
	fn num_layers(&self) -> usize;
	/// The longest sequence the model can take (learned positions), if bounded.
	fn max_positions(&self) -> Option<usize> {
		None
	}
	/// Logits (batch, seq, vocab) for `ids` (batch, seq) over what `pass` says: from position 0, or
	/// continuing the sequence of one cache, or of one cache per row (see [`Pass`]).
	fn run(&self, ids: &Tensor, pass: &mut Pass) -> Result<Tensor>;

	fn vocab_size(&self) -> usize {
		self.embeddings().dims().first().copied().unwrap_or(0)
	}
	fn dtype(&self) -> DType {
		self.embeddings().dtype()
	}
	fn device(&self) -> Device {
		self.embeddings().device().clone()
	}
	/// Logits for every position: `ids` (batch, seq) -> (batch, seq, vocab). `train` enables dropout.
	fn forward(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
		self.run(ids, &mut Pass::plain(train))
	}
	/// The final hidden states (batch, seq, hidden), after the last norm, and the LM head that turns
	/// them into logits; `None` for families that do not split there (then [`CausalLm::loss`] goes
	/// through [`CausalLm::forward`]).
	fn hidden_and_head(&self, _ids: &Tensor, _train: bool) -> Result<Option<(Tensor, Head<'_>)>> {
		Ok(None)
	}
	/// The mean masked next-token loss of `ids` against `targets` ([`crate::ops::masked_loss`] of the
	/// logits). With a frozen full-precision head on the CPU it runs through
	/// [`crate::fused::linear_cross_entropy`], which never forms the vocabulary-sized logits.
	fn loss(&self, ids: &Tensor, targets: &Tensor, mask: &Tensor, train: bool) -> Result<Tensor> {
		match self.hidden_and_head(ids, train)? {
			Some((h, head)) => head_loss(&h, &head, targets, mask, train),
			None => crate::ops::masked_loss(&self.forward(ids, train)?, targets, mask),
		}
	}
	/// [`CausalLm::loss`] for evaluation: no dropout, and nothing is kept or formed for a backward pass.
	fn eval_loss(&self, ids: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<Tensor> {
		match self.hidden_and_head(ids, false)? {
			Some((h, head)) => head_loss(&h.detach(), &head, targets, mask, false),
			None => crate::ops::masked_loss(&self.forward(ids, false)?.detach(), targets, mask),
		}
	}
	/// Logits for `ids`, which continue the sequence held in `cache` (whose keys and values are
	/// extended). For generation: feed the prompt once, then one token at a time.
	fn forward_cached(&self, ids: &Tensor, cache: &mut Cache) -> Result<Tensor> {
		self.run(ids, &mut Pass::cached(cache))
	}
	/// Batched decoding: row `r` of `ids` (rows, seq) continues the sequence `caches[r]` holds, with
	/// the adapter `adapters` gives that row (if any). Rows may be at different positions. Logits
	/// (rows, seq, vocab).
	fn forward_rows(
		&self,
		ids: &Tensor,
		caches: &mut [Cache],
		adapters: Option<&RowAdapters>,
	) -> Result<Tensor> {
		self.run(ids, &mut Pass::rows(caches, adapters))
	}
	/// [`CausalLm::forward_rows`] returning only each row's last position's logits (rows, 1,
	/// vocab): a prompt's prefill.
	fn forward_rows_last(
		&self,
		ids: &Tensor,
		caches: &mut [Cache],
		adapters: Option<&RowAdapters>,
	) -> Result<Tensor> {
		self.run(ids, &mut Pass::rows(caches, adapters).last_only())
	}
	/// Numbers the adaptable layers in [`CausalLm::linears_mut`] order, so that per-row adapters
	/// find their part of each; returns the layers' paths in that order.
	fn number_linears(&mut self) -> Vec<String> {
		let mut paths = Vec::new();
		for (i, (path, l)) in self.linears_mut().into_iter().enumerate() {
			l.slot = Some(i);
			paths.push(path);
		}
		paths
	}
	/// The adaptable linear layers by their Hugging Face module path.
	fn linears_mut(&mut self) -> Vec<(String, &mut Linear)>;

	/// An empty key/value cache for this model.
	fn cache(&self) -> Cache {
		Cache::new(self.num_layers())
	}

	/// Attaches fresh LoRA adapters (seeded) to every module `cfg` targets; returns their paths.
	fn attach_lora(&mut self, cfg: &LoraConfig, seed: u64) -> Result<Vec<String>> {
		let mlp = ["gate_proj", "up_proj", "down_proj"];
		if let Some(t) = cfg.target_modules.iter().find(|t| mlp.contains(&t.as_str())) {
			if self.family().moe_mlp_names() {
				candle_core::bail!(
					"LoRA target {t} of a {} model means its routed experts in PEFT, which this \
					 engine does not train yet: target the attention",
					self.family().model_type()
				);
			}
		}
		let done = crate::lora::attach_targets(self.linears_mut(), cfg, seed)?;
		if done.is_empty() {
			candle_core::bail!(
				"no module of this {} model matches the LoRA targets {:?}",
				self.family().model_type(),
				cfg.target_modules
			);
		}
		Ok(done)
	}

	/// Takes every LoRA adapter off (the base as loaded, or as quantized).
	fn detach_lora(&mut self) {
		for (_, l) in self.linears_mut() {
			l.lora = None;
		}
	}

	/// The trainable parameters, by PEFT tensor name (`base_model.model.<path>.lora_A.weight`).
	fn lora_vars(&mut self) -> Vec<(String, Var)> {
		crate::lora::peft_vars(self.linears_mut())
	}

	/// The LM head's module path among [`CausalLm::linears_mut`] (THUDM's GLM layout names it
	/// `transformer.output_layer`).
	fn head_path(&self) -> &'static str {
		"lm_head"
	}

	/// QLoRA: stores every adaptable linear weight of the blocks in NF4 (the LM head, embeddings and
	/// norms stay in full precision, as bitsandbytes leaves them). Returns how many were quantized.
	fn quantize_nf4(&mut self) -> Result<usize> {
		let mut n = 0;
		let head = self.head_path();
		for (path, l) in self.linears_mut() {
			if path != head {
				l.quantize_nf4()?;
				n += 1;
			}
		}
		Ok(n)
	}

	/// Folds every adapter into its base weight (or takes it back out).
	fn merge_lora(&mut self, merge: bool) -> Result<()> {
		for (_, l) in self.linears_mut() {
			if merge {
				l.merge()?
			} else {
				l.unmerge()?
			}
		}
		Ok(())
	}
}

/// Keys and values of the positions seen so far, per layer, in buffers with room to spare: a new
/// position is written in place, and the buffer is reallocated (twice as large) only when full,
/// so a sequence of n tokens copies O(n) keys in all rather than O(n²) when each step
/// concatenated. Attention reads the filled part as a view. A clone shares the buffers until
/// either side extends: then that side copies what it holds first (the buffers are written in
/// place), so extending one never changes the other.
#[derive(Clone)]
pub struct Cache {
	kv: Vec<Option<Buffers>>,
	/// Positions already held.
	pub len: usize,
	growth: Growth,
}

/// How a cache makes room for new positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Growth {
	/// Buffers with spare room, written in place, doubled when full.
	Preallocated,
	/// Every step concatenates the old keys with the new ones (a full copy each step): the
	/// baseline `scripts/bench-serve` measures the buffers against.
	Concatenated,
}

/// One layer's keys and values: (batch, kv heads, capacity, head dim), the first `filled`
/// positions in use. `owner` counts the caches sharing them.
#[derive(Clone)]
struct Buffers {
	k: Tensor,
	v: Tensor,
	filled: usize,
	owner: std::sync::Arc<()>,
}

/// Room a new buffer starts with, in positions, at least.
const FIRST_ROOM: usize = 16;

impl Cache {
	pub fn new(layers: usize) -> Self {
		Self::with_growth(layers, Growth::Preallocated)
	}

	pub fn with_growth(layers: usize, growth: Growth) -> Self {
		Self { kv: vec![None; layers], len: 0, growth }
	}

	/// Appends this step's keys and values (batch, heads, new, dim) for `layer`; returns all of them.
	pub fn extend(&mut self, layer: usize, k: Tensor, v: Tensor) -> Result<(Tensor, Tensor)> {
		if self.growth == Growth::Concatenated {
			let (k, v) = match &self.kv[layer] {
				Some(b) => (Tensor::cat(&[&b.k, &k], 2)?, Tensor::cat(&[&b.v, &v], 2)?),
				None => (k, v),
			};
			let filled = k.dim(2)?;
			let owner = Default::default();
			self.kv[layer] = Some(Buffers { k: k.clone(), v: v.clone(), filled, owner });
			return Ok((k, v));
		}
		let new = k.dim(2)?;
		let room = self.room(layer);
		let slot = &mut self.kv[layer];
		let filled = slot.as_ref().map_or(0, |b| b.filled);
		let shared = slot.as_ref().is_some_and(|b| std::sync::Arc::strong_count(&b.owner) > 1);
		if slot.is_none() || filled + new > room || shared {
			let need = filled + new;
			let room = if need > room {
				(2 * room).max(need.next_power_of_two()).max(FIRST_ROOM)
			} else {
				room
			};
			// Keys and values may differ in head dim (DeepSeek's MLA).
			let fresh = |like: &Tensor| {
				let (b, h, _, d) = like.dims4()?;
				Tensor::zeros((b, h, room, d), like.dtype(), like.device())
			};
			let (nk, nv) = (fresh(&k)?, fresh(&v)?);
			if let Some(old) = slot.as_ref() {
				if filled > 0 {
					nk.slice_set(&old.k.narrow(2, 0, filled)?.contiguous()?, 2, 0)?;
					nv.slice_set(&old.v.narrow(2, 0, filled)?.contiguous()?, 2, 0)?;
				}
			}
			*slot = Some(Buffers { k: nk, v: nv, filled, owner: Default::default() });
		}
		let buf = slot.as_mut().expect("a buffer");
		buf.k.slice_set(&k.contiguous()?, 2, filled)?;
		buf.v.slice_set(&v.contiguous()?, 2, filled)?;
		buf.filled = filled + new;
		Ok((buf.k.narrow(2, 0, buf.filled)?, buf.v.narrow(2, 0, buf.filled)?))
	}

	/// Positions this cache has room for in `layer` before it must reallocate.
	pub fn room(&self, layer: usize) -> usize {
		self.kv[layer].as_ref().map_or(0, |b| b.k.dim(2).unwrap_or(0))
	}
}

/// Why a model folder could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
	#[error("cannot read {path}: {reason}")]
	Io { path: String, reason: String },
	#[error("{path} is not a usable config: {reason}")]
	Config { path: String, reason: String },
	#[error("model_type {0:?} is not supported (supported: llama, mistral, qwen2, qwen3, gpt2, bloom, glm, glm4)")]
	Unsupported(String),
	#[error("{0} has no *.safetensors file")]
	NoWeights(String),
	#[error(transparent)]
	Load(#[from] LoadError),
}

/// Reads every `*.safetensors` file in `dir` (sharded checkpoints included) into one map.
pub fn read_safetensors(
	dir: &Path,
	dev: &Device,
) -> std::result::Result<HashMap<String, Tensor>, OpenError> {
	let io = |p: &Path, e: &dyn std::fmt::Display| OpenError::Io {
		path: p.display().to_string(),
		reason: e.to_string(),
	};
	let mut files: Vec<_> = std::fs::read_dir(dir)
		.map_err(|e| io(dir, &e))?
		.filter_map(|e| e.ok().map(|e| e.path()))
		.filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
		.filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("adapter_")))
		.collect();
	files.sort();
	if files.is_empty() {
		return Err(OpenError::NoWeights(dir.display().to_string()));
	}
	let mut all = HashMap::new();
	for f in files {
		all.extend(crate::weights::read_file(&f, dev).map_err(|e| io(&f, &e))?);
	}
	Ok(all)
}

/// Opens a Hugging Face style model folder (`config.json` and safetensors) as `dtype` on `dev`.
pub fn load(
	dir: &Path,
	dtype: DType,
	dev: &Device,
) -> std::result::Result<Box<dyn CausalLm>, OpenError> {
	let cpath = dir.join("config.json");
	let raw = std::fs::read(&cpath)
		.map_err(|e| OpenError::Io { path: cpath.display().to_string(), reason: e.to_string() })?;
	let bad = |e: serde_json::Error| OpenError::Config {
		path: cpath.display().to_string(),
		reason: e.to_string(),
	};
	let json: serde_json::Value = serde_json::from_slice(&raw).map_err(bad)?;
	let mt = json.get("model_type").and_then(|v| v.as_str()).unwrap_or("").to_string();
	let family = Family::from_model_type(&mt).ok_or(OpenError::Unsupported(mt))?;
	let w = read_safetensors(dir, dev)?;
	build(family, json, w, dtype).map_err(|e| match e {
		OpenError::Config { reason, .. } => {
			OpenError::Config { path: cpath.display().to_string(), reason }
		}
		e => e,
	})
}

/// Builds a model of `family` from a parsed `config.json` and Hugging Face-named tensors.
pub fn build(
	family: Family,
	json: serde_json::Value,
	w: HashMap<String, Tensor>,
	dtype: DType,
) -> std::result::Result<Box<dyn CausalLm>, OpenError> {
	let bad =
		|e: serde_json::Error| OpenError::Config { path: "config".into(), reason: e.to_string() };
	Ok(match family {
		Family::Llama
		| Family::Mistral
		| Family::Qwen2
		| Family::Qwen3
		| Family::Qwen2Moe
		| Family::Qwen3Moe => {
			let cfg = serde_json::from_value(json).map_err(bad)?;
			Box::new(crate::llama::Llama::from_tensors(cfg, w, dtype)?)
		}
		Family::DeepseekV2 | Family::DeepseekV3 => {
			let cfg = serde_json::from_value(json).map_err(bad)?;
			Box::new(crate::deepseek::Deepseek::from_tensors(cfg, w, dtype)?)
		}
		Family::Gpt2 => {
			let cfg = serde_json::from_value(json).map_err(bad)?;
			Box::new(crate::gpt2::Gpt2::from_tensors(cfg, w, dtype)?)
		}
		Family::Bloom => {
			let cfg = serde_json::from_value(json).map_err(bad)?;
			Box::new(crate::bloom::Bloom::from_tensors(cfg, w, dtype)?)
		}
		Family::Glm | Family::Glm4 => {
			let cfg = serde_json::from_value(json).map_err(bad)?;
			Box::new(crate::glm::Glm::from_tensors(cfg, w, dtype)?)
		}
		Family::ChatGlm => {
			let cfg = crate::glm::ChatGlmConfig::parse(json)
				.map_err(|reason| OpenError::Config { path: "config".into(), reason })?;
			Box::new(crate::glm::Glm::from_tensors(cfg.to_glm(), w, dtype)?)
		}
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	/// `loss` (the fused head + cross-entropy where it applies) equals the masked loss of `forward`'s
	/// logits, in value and in every LoRA gradient, for every family (separate heads and tied ones).
	#[test]
	fn every_familys_loss_equals_the_masked_loss_of_its_logits() {
		let root = crate::testutil::testdata().join("reference");
		for f in Family::ALL {
			let mut m = load(&root.join(f.model_type()), DType::F64, &Device::Cpu).unwrap();
			let targets = f.all_linear();
			let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
			m.attach_lora(&crate::testutil::lora(2, &targets), 3).unwrap();
			let vars = m.lora_vars();
			crate::testutil::randomize_lora_b(&vars);
			let (ids, tgt, mask) = crate::testutil::batch();
			let fused = m.loss(&ids, &tgt, &mask, false).unwrap();
			let plain =
				crate::ops::masked_loss(&m.forward(&ids, false).unwrap(), &tgt, &mask).unwrap();
			assert!(crate::testutil::max_diff(&fused, &plain) < 1e-12, "{f:?}");
			let eval = m.eval_loss(&ids, &tgt, &mask).unwrap();
			assert!(crate::testutil::max_diff(&eval, &plain) < 1e-12, "{f:?} eval");
			let (g1, g2) = (fused.backward().unwrap(), plain.backward().unwrap());
			for (name, v) in &vars {
				let (a, b) = (g1.get(v.as_tensor()).unwrap(), g2.get(v.as_tensor()).unwrap());
				assert!(crate::testutil::max_diff(a, b) < 1e-12, "{f:?} {name}");
			}
		}
	}
}
