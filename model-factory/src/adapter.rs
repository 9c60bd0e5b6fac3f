//! Saving and loading LoRA adapters in Hugging Face PEFT's layout: a directory with
//! `adapter_config.json` and `adapter_model.safetensors`, whose tensors are named
//! `base_model.model.<module path>.lora_A.weight` (r, in) and `...lora_B.weight` (out, r).

use crate::lora::LoraConfig;
use crate::model::Family;
use candle_core::{Device, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
	#[error("cannot read or write the adapter at {path}: {reason}")]
	Io { path: String, reason: String },
	#[error("the adapter has no tensor {0} that this model needs")]
	Missing(String),
	#[error("adapter tensor {name} has shape {got:?}, the model expects {want:?}")]
	Shape { name: String, got: Vec<usize>, want: Vec<usize> },
	#[error("the adapter config says {field} = {got}, the model was adapted with {want}")]
	Config { field: &'static str, got: String, want: String },
	#[error("the adapter uses {0}, which this engine does not implement")]
	Unsupported(String),
	#[error("the adapter holds {0}, for a layer this model is not adapted on")]
	Leftover(String),
}

fn io(path: &Path, e: impl std::fmt::Display) -> AdapterError {
	AdapterError::Io { path: path.display().to_string(), reason: e.to_string() }
}

/// Writes `adapter_config.json` (PEFT fields) and `adapter_model.safetensors` into `dir`.
/// `family` decides `fan_in_fan_out` (true for GPT-2's Conv1D weights, as PEFT sets it).
pub fn save(
	dir: &Path,
	cfg: &LoraConfig,
	base_model: &str,
	family: Family,
	vars: &[(String, Var)],
) -> Result<(), AdapterError> {
	std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
	let config = serde_json::json!({
		"peft_type": "LORA",
		"task_type": "CAUSAL_LM",
		"base_model_name_or_path": base_model,
		"r": cfg.r,
		// PEFT's field is an int; keep whole numbers whole so the file reads like PEFT's own.
		"lora_alpha": if cfg.lora_alpha.fract() == 0.0 && cfg.lora_alpha.abs() < 1e15 {
			serde_json::json!(cfg.lora_alpha as i64)
		} else {
			serde_json::json!(cfg.lora_alpha)
		},
		"lora_dropout": cfg.lora_dropout,
		"use_rslora": cfg.use_rslora,
		"target_modules": cfg.target_modules,
		"bias": "none",
		"fan_in_fan_out": family == Family::Gpt2,
		"inference_mode": true,
	});
	let cpath = dir.join("adapter_config.json");
	std::fs::write(&cpath, serde_json::to_vec_pretty(&config).expect("json"))
		.map_err(|e| io(&cpath, e))?;
	let tensors: HashMap<String, Tensor> =
		vars.iter().map(|(n, v)| (n.clone(), v.as_tensor().clone())).collect();
	let wpath = dir.join("adapter_model.safetensors");
	candle_core::safetensors::save(&tensors, &wpath).map_err(|e| io(&wpath, e))
}

/// Reads an adapter's config, refusing PEFT features that would change the computation and that
/// this engine does not implement (rather than silently computing something else).
pub fn load_config(dir: &Path) -> Result<LoraConfig, AdapterError> {
	let p = dir.join("adapter_config.json");
	let bytes = std::fs::read(&p).map_err(|e| io(&p, e))?;
	let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| io(&p, e))?;
	let set = |k: &str| match json.get(k) {
		None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => false,
		Some(serde_json::Value::Object(m)) => !m.is_empty(),
		Some(serde_json::Value::Array(a)) => !a.is_empty(),
		Some(serde_json::Value::String(s)) => !s.is_empty() && s != "none",
		Some(_) => true,
	};
	if json.get("peft_type").and_then(|v| v.as_str()).is_some_and(|t| t != "LORA") {
		return Err(AdapterError::Unsupported(format!("peft_type {}", json["peft_type"])));
	}
	// Each of these, when set, changes what the adapter computes or which weights it holds.
	for k in [
		"use_dora",
		"rank_pattern",
		"alpha_pattern",
		"lora_bias",
		"bias",
		"modules_to_save",
		"layers_to_transform",
		"layers_pattern",
		"exclude_modules",
		"layer_replication",
		"trainable_token_indices",
		"target_parameters",
		"megatron_config",
		"use_qalora",
		"alora_invocation_tokens",
	] {
		if set(k) {
			return Err(AdapterError::Unsupported(format!("{k} = {}", json[k])));
		}
	}
	if json.get("target_modules").is_some_and(|t| t.is_string()) {
		return Err(AdapterError::Unsupported("a regular expression for target_modules".into()));
	}
	serde_json::from_value(json).map_err(|e| io(&p, e))
}

/// Loads the adapter in `dir` into `vars` (the model's LoRA parameters, by PEFT name), checking that
/// it was trained as the model is adapted (rank, alpha, rsLoRA: together they fix the update's
/// scale), that every tensor is present with the right shape, and that it holds no LoRA tensor for
/// a layer the model does not adapt (which would be silently left out).
pub fn load_into(dir: &Path, cfg: &LoraConfig, vars: &[(String, Var)]) -> Result<(), AdapterError> {
	let saved = load_config(dir)?;
	let differ = |field: &'static str, got: String, want: String| {
		Err(AdapterError::Config { field, got, want })
	};
	if saved.r != cfg.r {
		return differ("r", saved.r.to_string(), cfg.r.to_string());
	}
	if saved.lora_alpha != cfg.lora_alpha {
		return differ("lora_alpha", saved.lora_alpha.to_string(), cfg.lora_alpha.to_string());
	}
	if saved.use_rslora != cfg.use_rslora {
		return differ("use_rslora", saved.use_rslora.to_string(), cfg.use_rslora.to_string());
	}
	let p = dir.join("adapter_model.safetensors");
	let tensors = candle_core::safetensors::load(&p, &Device::Cpu).map_err(|e| io(&p, e))?;
	let wanted: std::collections::HashSet<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
	if let Some(extra) = tensors.keys().filter(|n| !wanted.contains(n.as_str())).min() {
		return Err(AdapterError::Leftover(extra.clone()));
	}
	assign(&tensors, vars).map_err(|e| match e {
		AdapterError::Io { reason, .. } => io(&p, reason),
		other => other,
	})
}

/// Sets `vars` (the model's LoRA parameters, by PEFT name) from an adapter's `tensors`, checking
/// that every one is present with the right shape.
pub fn assign(
	tensors: &std::collections::HashMap<String, candle_core::Tensor>,
	vars: &[(String, Var)],
) -> Result<(), AdapterError> {
	for (name, var) in vars {
		let t = tensors.get(name).ok_or_else(|| AdapterError::Missing(name.clone()))?;
		if t.dims() != var.dims() {
			return Err(AdapterError::Shape {
				name: name.clone(),
				got: t.dims().to_vec(),
				want: var.dims().to_vec(),
			});
		}
		t.to_dtype(var.dtype())
			.and_then(|t| t.to_device(var.device()))
			.and_then(|t| var.set(&t))
			.map_err(|e| io(Path::new(name), e))?;
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::llama::{random_weights, Llama, LlamaConfig};
	use crate::model::CausalLm;
	use candle_core::DType;

	#[test]
	fn adapters_round_trip_in_peft_layout() {
		let cfg: LlamaConfig = serde_json::from_value(serde_json::json!({
			"vocab_size": 11, "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
			"num_attention_heads": 2, "num_key_value_heads": 1,
		}))
		.unwrap();
		let lcfg = LoraConfig {
			r: 2,
			lora_alpha: 16.0,
			lora_dropout: 0.05,
			use_rslora: false,
			target_modules: vec!["q_proj".into(), "v_proj".into()],
		};
		let mut m = Llama::from_tensors(
			cfg.clone(),
			random_weights(&cfg, 1, DType::F32).unwrap(),
			DType::F32,
		)
		.unwrap();
		m.attach_lora(&lcfg, 9).unwrap();
		let vars = m.lora_vars();
		assert_eq!(vars.len(), 8, "2 layers x 2 modules x (A, B)");
		assert_eq!(vars[0].0, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
		for (_, v) in &vars {
			v.set(&(v.as_tensor() + 0.25).unwrap()).unwrap();
		}
		let dir = tempfile::tempdir().unwrap();
		save(dir.path(), &lcfg, "tiny-llama", Family::Llama, &vars).unwrap();
		let json: serde_json::Value =
			serde_json::from_slice(&std::fs::read(dir.path().join("adapter_config.json")).unwrap())
				.unwrap();
		assert_eq!(json["peft_type"], "LORA");
		assert_eq!(json["target_modules"], serde_json::json!(["q_proj", "v_proj"]));
		assert_eq!(load_config(dir.path()).unwrap(), lcfg);

		let mut other = Llama::from_tensors(
			cfg.clone(),
			random_weights(&cfg, 1, DType::F32).unwrap(),
			DType::F32,
		)
		.unwrap();
		other.attach_lora(&lcfg, 10).unwrap();
		let ovars = other.lora_vars();
		load_into(dir.path(), &lcfg, &ovars).unwrap();
		for ((n, a), (_, b)) in vars.iter().zip(&ovars) {
			let d = (a.as_tensor() - b.as_tensor()).unwrap().abs().unwrap().max_all().unwrap();
			assert_eq!(d.to_scalar::<f32>().unwrap(), 0.0, "{n}");
		}
		// A different rank, alpha or rsLoRA is refused by name: each changes the update's scale.
		let r4 = LoraConfig { r: 4, ..lcfg.clone() };
		let e = load_into(dir.path(), &r4, &ovars).unwrap_err();
		assert_eq!(e.to_string(), "the adapter config says r = 2, the model was adapted with 4");
		let alpha = LoraConfig { lora_alpha: 8.0, ..lcfg.clone() };
		let e = load_into(dir.path(), &alpha, &ovars).unwrap_err();
		assert_eq!(
			e.to_string(),
			"the adapter config says lora_alpha = 16, the model was adapted with 8"
		);
		let rs = LoraConfig { use_rslora: true, ..lcfg.clone() };
		let e = load_into(dir.path(), &rs, &ovars).unwrap_err();
		assert_eq!(
			e.to_string(),
			"the adapter config says use_rslora = false, the model was adapted with true"
		);
		// An adapter with tensors for a layer the model is not adapted on: refused, not ignored.
		let q_only = LoraConfig { target_modules: vec!["q_proj".into()], ..lcfg.clone() };
		let mut fewer = Llama::from_tensors(
			cfg.clone(),
			random_weights(&cfg, 1, DType::F32).unwrap(),
			DType::F32,
		)
		.unwrap();
		fewer.attach_lora(&q_only, 10).unwrap();
		let e = load_into(dir.path(), &lcfg, &fewer.lora_vars()).unwrap_err();
		assert!(e.to_string().contains("v_proj.lora_A.weight, for a layer this model"), "{e}");
	}

	#[test]
	fn peft_fields_that_change_the_computation_are_refused_by_name() {
		let dir = tempfile::tempdir().unwrap();
		let write = |extra: serde_json::Value| {
			let mut c = serde_json::json!({
				"peft_type": "LORA", "r": 2, "lora_alpha": 4, "lora_dropout": 0.0,
				"target_modules": ["q_proj"], "bias": "none", "use_rslora": false,
				// What PEFT writes when these are unused.
				"exclude_modules": null, "layer_replication": null, "layers_to_transform": null,
				"rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": null,
				"trainable_token_indices": null, "target_parameters": null, "use_dora": false,
			});
			for (k, v) in extra.as_object().unwrap() {
				c[k] = v.clone();
			}
			std::fs::write(dir.path().join("adapter_config.json"), c.to_string()).unwrap();
		};
		write(serde_json::json!({}));
		assert_eq!(load_config(dir.path()).unwrap().r, 2);
		write(serde_json::json!({ "layers_to_transform": [] }));
		assert!(load_config(dir.path()).is_ok(), "an empty list changes nothing");
		for (k, v) in [
			("exclude_modules", serde_json::json!(["layers.0.self_attn.q_proj"])),
			("layer_replication", serde_json::json!([[0, 2], [1, 2]])),
			("trainable_token_indices", serde_json::json!([5, 9])),
			("target_parameters", serde_json::json!(["experts.gate_up_proj"])),
			("use_dora", serde_json::json!(true)),
			("alora_invocation_tokens", serde_json::json!([1, 2])),
		] {
			write(serde_json::json!({ k: v }));
			let e = load_config(dir.path()).unwrap_err().to_string();
			assert!(e.starts_with(&format!("the adapter uses {k} = ")), "{k}: {e}");
		}
	}
}
