//! Batched decoding with a different adapter per row equals each row run alone, for every family:
//! the rows' sequences have different lengths (so different positions), some rows share an
//! adapter, one has none. "Alone" is the plain path: the adapter attached to the model as training
//! attaches it, one sequence in its own cache.

use crate::model::{load, Cache, CausalLm, Family};
use crate::multi_lora::{BatchAdapter, RowAdapters};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::sync::Arc;

/// A random adapter on every linear layer of the model (its tensors by PEFT name); the model is left
/// bare.
fn random_adapter(m: &mut dyn CausalLm, seed: u64) -> HashMap<String, Tensor> {
	m.attach_lora(&cfg(m.family()), seed).unwrap();
	let vars = m.lora_vars();
	let mut rng = crate::lora::rng(seed + 100);
	let mut out = HashMap::new();
	for (name, v) in &vars {
		let t = if name.ends_with("lora_B.weight") {
			crate::lora::randn(v.dims(), 0.3, &mut rng, v.dtype()).unwrap()
		} else {
			v.as_tensor().copy().unwrap()
		};
		out.insert(name.clone(), t);
	}
	detach(m);
	out
}

/// Rank 2 on every linear layer of the family.
fn cfg(f: Family) -> crate::lora::LoraConfig {
	crate::lora::LoraConfig { target_modules: f.all_linear(), ..crate::testutil::lora(2, &[]) }
}

fn detach(m: &mut dyn CausalLm) {
	for (_, l) in m.linears_mut() {
		l.lora = None;
	}
}

/// The last position's logits after the prompt and after each of `follow`, one sequence alone.
fn alone(
	m: &mut dyn CausalLm,
	adapter: Option<&HashMap<String, Tensor>>,
	prompt: &[u32],
	follow: &[u32],
) -> Vec<Tensor> {
	detach(m);
	if let Some(t) = adapter {
		m.attach_lora(&cfg(m.family()), 0).unwrap();
		crate::adapter::assign(t, &m.lora_vars()).unwrap();
	}
	let mut cache = m.cache();
	let mut out = Vec::new();
	let mut input = prompt.to_vec();
	for next in std::iter::once(None).chain(follow.iter().map(Some)) {
		if let Some(t) = next {
			input = vec![*t];
		}
		let ids = Tensor::new(input.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
		let logits = m.forward_cached(&ids, &mut cache).unwrap();
		out.push(logits.get(0).unwrap().get(input.len() - 1).unwrap());
	}
	detach(m);
	out
}

#[test]
fn a_batch_of_rows_with_their_own_adapters_equals_each_row_alone_in_every_family() {
	let root = crate::testutil::testdata().join("reference");
	let prompts: [&[u32]; 4] = [&[1, 4, 2], &[7, 7, 0, 5, 3], &[9, 2], &[3, 8, 1, 6]];
	let follow: [&[u32]; 4] = [&[5, 6, 2], &[1, 1, 4], &[0, 3, 7], &[2, 9, 5]];
	// Every family, and dynamic NTK rope (a context of 4: each row's frequencies follow its own
	// length, so rows of different lengths in one batch still match themselves alone).
	let models =
		Family::ALL.iter().map(|f| (f.model_type(), *f)).chain([("llama_dynamic", Family::Llama)]);
	for (dir, f) in models {
		for (dtype, tol) in [(DType::F64, 1e-9), (DType::F32, 2e-4)] {
			let mut m = load(&root.join(dir), dtype, &Device::Cpu).unwrap();
			let raw: Vec<_> = (1..=2).map(|s| random_adapter(m.as_mut(), s)).collect();
			let cfg = cfg(f);
			let batch: Vec<Arc<BatchAdapter>> = raw
				.iter()
				.map(|t| Arc::new(BatchAdapter::new(m.as_mut(), &cfg, t).unwrap()))
				.collect();
			let which = [Some(0), None, Some(1), Some(0)];
			let rows =
				RowAdapters::new(which.iter().map(|w| w.map(|i| batch[i].clone())).collect());
			let want: Vec<Vec<Tensor>> = (0..4)
				.map(|r| alone(m.as_mut(), which[r].map(|i| &raw[i]), prompts[r], follow[r]))
				.collect();

			// Each row's prompt alone (its own adapter; the head on its last position only, as
			// a prefill runs), then every step as one batch.
			let mut caches: Vec<Cache> = (0..4).map(|_| m.cache()).collect();
			let mut got: Vec<Vec<Tensor>> = vec![vec![]; 4];
			for r in 0..4 {
				let one = RowAdapters::new(vec![which[r].map(|i| batch[i].clone())]);
				let ids = Tensor::new(prompts[r], &Device::Cpu).unwrap().unsqueeze(0).unwrap();
				let l = m.forward_rows_last(&ids, &mut caches[r..r + 1], Some(&one)).unwrap();
				assert_eq!(l.dims()[..2], [1, 1], "{f:?}: the last position's logits only");
				got[r].push(l.get(0).unwrap().get(0).unwrap());
			}
			for step in 0..3 {
				let next: Vec<u32> = follow.iter().map(|f| f[step]).collect();
				let ids = Tensor::new(next.as_slice(), &Device::Cpu).unwrap().unsqueeze(1).unwrap();
				let l = m.forward_rows(&ids, &mut caches, Some(&rows)).unwrap();
				for (r, g) in got.iter_mut().enumerate() {
					g.push(l.get(r).unwrap().get(0).unwrap());
				}
			}
			for r in 0..4 {
				for (step, (g, w)) in got[r].iter().zip(&want[r]).enumerate() {
					let d = crate::testutil::max_diff(g, w);
					assert!(d < tol, "{f:?} {dtype:?} row {r} step {step}: {d}");
				}
			}
			// The adapters matter: row 0 and row 3 share one, but another gives other logits.
			let other = alone(m.as_mut(), Some(&raw[1]), prompts[0], follow[0]);
			assert!(crate::testutil::max_diff(&other[3], &want[0][3]) > 1e-3, "{f:?}");
		}
	}
}

#[test]
fn adapters_that_do_not_fit_the_model_are_refused_by_name() {
	let root = crate::testutil::testdata().join("reference");
	let mut m = load(&root.join("llama"), DType::F32, &Device::Cpu).unwrap();
	let cfg = cfg(Family::Llama);
	let good = random_adapter(m.as_mut(), 1);
	assert!(BatchAdapter::new(m.as_mut(), &cfg, &good).is_ok());
	let mut missing = good.clone();
	let gone = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
	missing.remove(gone);
	let e = BatchAdapter::new(m.as_mut(), &cfg, &missing).err().unwrap().to_string();
	assert!(e.contains(gone), "{e}");
	let mut extra = good.clone();
	extra.insert("base_model.model.model.layers.99.mlp.x.lora_A.weight".into(), good[gone].clone());
	let e = BatchAdapter::new(m.as_mut(), &cfg, &extra).err().unwrap().to_string();
	assert!(e.contains("layers.99"), "{e}");
	let mut wrong = good.clone();
	wrong.insert(gone.into(), Tensor::zeros((3, 4), DType::F32, &Device::Cpu).unwrap());
	let e = BatchAdapter::new(m.as_mut(), &cfg, &wrong).err().unwrap().to_string();
	assert!(e.contains("has shape [3, 4]"), "{e}");
	// An adapter built for one model is refused by a layer of another shape, never applied.
	let mut gpt2 = load(&root.join("gpt2"), DType::F32, &Device::Cpu).unwrap();
	gpt2.number_linears();
	let rows =
		RowAdapters::new(vec![Some(Arc::new(BatchAdapter::new(m.as_mut(), &cfg, &good).unwrap()))]);
	let ids = Tensor::new(&[[1u32, 2]], &Device::Cpu).unwrap();
	let mut caches = vec![gpt2.cache()];
	assert!(gpt2.forward_rows(&ids, &mut caches, Some(&rows)).is_err());
}
