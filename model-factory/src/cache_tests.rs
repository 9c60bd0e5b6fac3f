//! The key/value cache written in place equals the one grown by concatenation, in every family,
//! across its reallocations; clones diverge without touching each other.

use crate::model::{load, Cache, CausalLm, Family, Growth};
use candle_core::{DType, Device, Tensor};

/// The last position's logits after `prompt`, then after each token of `follow`, in `cache`.
fn decode(m: &dyn CausalLm, cache: &mut Cache, prompt: &[u32], follow: &[u32]) -> Vec<Tensor> {
	let mut out = Vec::new();
	let mut input = prompt.to_vec();
	for next in std::iter::once(None).chain(follow.iter().map(Some)) {
		if let Some(t) = next {
			input = vec![*t];
		}
		let ids = Tensor::new(input.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
		let logits = m.forward_cached(&ids, cache).unwrap();
		out.push(logits.get(0).unwrap().get(input.len() - 1).unwrap());
	}
	out
}

fn tokens(n: usize, seed: u32) -> Vec<u32> {
	(0..n as u32).map(|i| (i * 7 + seed * 13) % 61 + 1).collect()
}

fn same(a: &[Tensor], b: &[Tensor], what: &str) {
	assert_eq!(a.len(), b.len());
	for (step, (x, y)) in a.iter().zip(b).enumerate() {
		let d = crate::testutil::max_diff(x, y);
		assert!(d < 1e-12, "{what} step {step}: {d}");
	}
}

#[test]
fn the_cache_written_in_place_equals_concatenation_across_reallocations_in_every_family() {
	let root = crate::testutil::testdata().join("reference");
	for f in Family::ALL {
		let m = load(&root.join(f.model_type()), DType::F64, &Device::Cpu).unwrap();
		assert_eq!(m.cache().room(0), 0, "a fresh cache has no buffers yet");
		// GPT-2's tiny config has 32 positions; the others 128. Past 16, 32 (and 64) positions
		// the buffers are reallocated.
		let total = if f == Family::Gpt2 { 31 } else { 100 };
		let (prompt, follow) = (tokens(5, 1), tokens(total - 5, 2));
		let mut grown = m.cache();
		let mut cat = Cache::with_growth(m.num_layers(), Growth::Concatenated);
		let want = decode(m.as_ref(), &mut cat, &prompt, &follow);
		let got = decode(m.as_ref(), &mut grown, &prompt, &follow);
		same(&got, &want, &format!("{f:?}"));
		assert!(grown.room(0) >= total && grown.room(0) < 2 * total.next_power_of_two());

		// A clone shares the buffers until either extends: then each continues on its own, even
		// when the two take turns.
		let mut a = m.cache();
		decode(m.as_ref(), &mut a, &prompt, &[]);
		let mut b = a.clone();
		let (ta, tb) = (tokens(8, 3), tokens(8, 4));
		let (mut ga, mut gb) = (Vec::new(), Vec::new());
		for i in 0..ta.len() {
			ga.extend(decode(m.as_ref(), &mut a, &[ta[i]], &[]));
			gb.extend(decode(m.as_ref(), &mut b, &[tb[i]], &[]));
		}
		for (got, t) in [(ga, &ta), (gb, &tb)] {
			let mut fresh = Cache::with_growth(m.num_layers(), Growth::Concatenated);
			let whole: Vec<u32> = prompt.iter().chain(t.iter()).copied().collect();
			let want = decode(m.as_ref(), &mut fresh, &whole[..prompt.len() + 1], &t[1..]);
			same(&got, &want, &format!("{f:?} clone"));
		}
	}
}
