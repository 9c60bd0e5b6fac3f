//! Folding an adapter into its base checkpoint: the result is an ordinary Hugging Face model folder
//! (no adapter needed to load it) with the base's dtypes, tensor names and layout.

use crate::model::{read_safetensors, Family};
use candle_core::{DType, Device};
use std::path::Path;

/// Files copied unchanged from the base folder when present.
const COPIED: [&str; 7] = [
	"config.json",
	"generation_config.json",
	"tokenizer.json",
	"tokenizer_config.json",
	"special_tokens_map.json",
	"chat_template.jinja",
	"vocab.json",
];

fn err(e: impl std::fmt::Display) -> String {
	e.to_string()
}

/// Writes `base + adapter` to `out`: every adapted weight becomes `W + scale B A` (transposed back
/// for GPT-2's Conv1D), cast to the base tensor's dtype; everything else is copied. Returns the
/// number of weights changed.
pub fn merge(base: &Path, adapter_dir: &Path, out: &Path) -> Result<usize, String> {
	if !base.join("config.json").exists() {
		return Err(format!(
			"{} is not a model folder: merging writes a safetensors model, so the base must be one (a GGUF base cannot be merged into)",
			base.display()
		));
	}
	let dev = Device::Cpu;
	let mut model = crate::model::load(base, DType::F32, &dev).map_err(err)?;
	let cfg = crate::adapter::load_config(adapter_dir).map_err(err)?;
	model.attach_lora(&cfg, 0).map_err(err)?;
	crate::adapter::load_into(adapter_dir, &cfg, &model.lora_vars()).map_err(err)?;
	let family = model.family();
	let mut tensors = read_safetensors(base, &dev).map_err(err)?;
	let mut changed = 0;
	for (path, lin) in model.linears_mut() {
		let Some(delta) = lin.lora_delta().map_err(err)? else { continue };
		// GPT-2 and BLOOM checkpoints may or may not carry the `transformer.` prefix.
		let name = [
			format!("{path}.weight"),
			format!("{}.weight", path.trim_start_matches("transformer.")),
		]
		.into_iter()
		.find(|n| tensors.contains_key(n))
		.ok_or_else(|| {
			format!("the base checkpoint has no {path}.weight to merge into (a tied LM head?)")
		})?;
		let w = &tensors[&name];
		let delta = if family == Family::Gpt2 { delta.t().map_err(err)? } else { delta };
		let merged = (w.to_dtype(DType::F32).map_err(err)?
			+ delta.to_dtype(DType::F32).map_err(err)?)
		.and_then(|t| t.to_dtype(w.dtype()))
		.map_err(err)?;
		tensors.insert(name, merged);
		changed += 1;
	}
	std::fs::create_dir_all(out).map_err(err)?;
	for f in COPIED {
		let src = base.join(f);
		if src.exists() {
			std::fs::copy(&src, out.join(f)).map_err(err)?;
		}
	}
	let tmp = out.join("model.safetensors.partial");
	candle_core::safetensors::save(&tensors, &tmp).map_err(err)?;
	std::fs::rename(&tmp, out.join("model.safetensors")).map_err(err)?;
	Ok(changed)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::model::CausalLm;
	use crate::testutil::{max_diff, testdata};
	use candle_core::Tensor;

	/// Logits of `model` for a fixed probe batch (for checking a merge).
	fn probe(model: &dyn CausalLm) -> candle_core::Result<Tensor> {
		let ids = Tensor::new(&[[1u32, 5, 9, 2, 7, 3]], &model.device())?;
		model.forward(&ids, false)
	}

	/// The merged folder, loaded as a plain model, gives the logits of base + adapter (LLaMA, and
	/// GPT-2 whose Conv1D weights are stored transposed), and the base is left untouched.
	#[test]
	fn a_merged_checkpoint_equals_base_plus_adapter() {
		for name in ["llama", "gpt2", "bloom"] {
			let base = testdata().join("reference").join(name);
			let out = tempfile::tempdir().unwrap();
			let n = merge(&base, &base.join("adapter"), out.path()).unwrap();
			assert!(n >= 8, "{name}: {n}");
			let dev = Device::Cpu;
			let mut adapted = crate::model::load(&base, DType::F32, &dev).unwrap();
			let cfg = crate::adapter::load_config(&base.join("adapter")).unwrap();
			adapted.attach_lora(&cfg, 0).unwrap();
			crate::adapter::load_into(&base.join("adapter"), &cfg, &adapted.lora_vars()).unwrap();
			let merged = crate::model::load(out.path(), DType::F32, &dev).unwrap();
			let plain = crate::model::load(&base, DType::F32, &dev).unwrap();
			let (a, m, p) = (
				probe(adapted.as_ref()).unwrap(),
				probe(merged.as_ref()).unwrap(),
				probe(plain.as_ref()).unwrap(),
			);
			assert!(
				max_diff(&a, &m) < 1e-4,
				"{name}: merged differs from base + adapter by {}",
				max_diff(&a, &m)
			);
			assert!(max_diff(&a, &p) > 1e-2, "{name}: the adapter matters");
			assert!(out.path().join("config.json").exists());
		}
		let gguf = testdata().join("model.gguf");
		let e = merge(&gguf, &gguf, &gguf).unwrap_err();
		assert!(e.contains("is not a model folder"), "{e}");
	}
}
