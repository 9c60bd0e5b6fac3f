//! What one forward pass runs over, shared by every family's trunk: no cache (training, scoring),
//! one cache that every row of the batch continues (generation of one sequence), or one cache per
//! row (batched decoding, where each row is its own sequence at its own position, and may carry its
//! own adapter).
//!
//! With a cache per row there is no padding and no padding mask: the linear layers, which cost
//! most, run on the whole batch at once, and attention runs row by row against that row's keys and
//! values, at that row's positions. Rows may hold sequences of any lengths.

use crate::lora::Linear;
use crate::model::Cache;
use crate::multi_lora::RowAdapters;
use candle_core::{DType, Device, Result, Tensor};

enum Caches<'a> {
	None,
	Shared(&'a mut Cache),
	PerRow(&'a mut [Cache]),
}

pub struct Pass<'a> {
	caches: Caches<'a>,
	adapters: Option<&'a RowAdapters>,
	/// Enables dropout.
	pub train: bool,
	/// Logits for each row's last position only (a prompt's prefill needs no others).
	last_only: bool,
}

impl<'a> Pass<'a> {
	/// Every position from 0, nothing kept (training and scoring).
	pub fn plain(train: bool) -> Self {
		Self { caches: Caches::None, adapters: None, train, last_only: false }
	}

	/// The batch continues the sequence `cache` holds.
	pub fn cached(cache: &'a mut Cache) -> Self {
		Self { caches: Caches::Shared(cache), adapters: None, train: false, last_only: false }
	}

	/// Row `r` continues the sequence `caches[r]` holds, with the adapter `adapters` gives it.
	pub fn rows(caches: &'a mut [Cache], adapters: Option<&'a RowAdapters>) -> Self {
		Self { caches: Caches::PerRow(caches), adapters, train: false, last_only: false }
	}

	/// This pass's logits are wanted for each row's last position only.
	pub fn last_only(mut self) -> Self {
		self.last_only = true;
		self
	}

	/// What the LM head runs on: the final hidden states (batch, seq, hidden), or only their last
	/// position when that is all the pass wants (the head's product over a vocabulary of tens of
	/// thousands is then one position's, not the whole chunk's).
	pub fn head_input(&self, h: Tensor) -> Result<Tensor> {
		let t = h.dim(1)?;
		if self.last_only && t > 1 {
			h.narrow(1, t - 1, 1)
		} else {
			Ok(h)
		}
	}

	/// Checks the batch size against the caches and adapters given per row.
	pub fn check_rows(&self, b: usize) -> Result<()> {
		if let Caches::PerRow(c) = &self.caches {
			if c.len() != b {
				candle_core::bail!("{b} rows but {} caches", c.len());
			}
		}
		if let Some(a) = self.adapters {
			if a.len() != b {
				candle_core::bail!("{b} rows but {} adapters", a.len());
			}
		}
		Ok(())
	}

	/// The first position of each group of rows that share their positions: one group for the whole
	/// batch, or one per row when each row has its own cache. Index the group as [`Pass::attend`]
	/// does.
	pub fn offsets(&self) -> Vec<usize> {
		match &self.caches {
			Caches::None => vec![0],
			Caches::Shared(c) => vec![c.len],
			Caches::PerRow(cs) => cs.iter().map(|c| c.len).collect(),
		}
	}

	/// The highest position any row reaches with `t` more tokens, plus one.
	pub fn end(&self, t: usize) -> usize {
		self.offsets().into_iter().max().unwrap_or(0) + t
	}

	/// Rotary tables (cos, sin) for `t` new positions of each group of rows ([`Pass::offsets`]);
	/// with dynamic NTK scaling, each group's frequencies are those of its length so far.
	pub fn rope_tables(
		&self,
		inv_freq: &[f64],
		dynamic: Option<&crate::ops::DynamicNtk>,
		t: usize,
		interleaved: bool,
		dtype: DType,
		dev: &Device,
	) -> Result<Vec<(Tensor, Tensor)>> {
		self.offsets()
			.into_iter()
			.map(|o| {
				let scaled = dynamic.and_then(|d| d.inv_freq(o + t));
				let f = scaled.as_deref().unwrap_or(inv_freq);
				crate::ops::rope_tables(f, o, t, interleaved, dtype, dev)
			})
			.collect()
	}

	/// Position ids (b, t), for learned position embeddings.
	pub fn positions(&self, b: usize, t: usize, dev: &Device) -> Result<Tensor> {
		let offsets = self.offsets();
		let ids: Vec<u32> = (0..b)
			.flat_map(|r| {
				let o = if offsets.len() == 1 { offsets[0] } else { offsets[r] };
				(o..o + t).map(|p| p as u32)
			})
			.collect();
		Tensor::from_vec(ids, (b, t), dev)
	}

	/// `l` applied to `x`, with each row's adapter when rows carry adapters.
	pub fn linear(&self, l: &Linear, x: &Tensor) -> Result<Tensor> {
		let y = l.forward(x, self.train)?;
		match self.adapters {
			Some(a) => a.apply(l, x, y),
			None => Ok(y),
		}
	}

	/// Whether rows carry adapters of their own (then a layer that regroups tokens across rows
	/// must apply them row by row, with [`Pass::linear_row`]).
	pub fn has_row_adapters(&self) -> bool {
		self.adapters.is_some()
	}

	/// `l` applied to `x` (tokens of batch row `row` only), with that row's adapter.
	pub fn linear_row(&self, l: &Linear, x: &Tensor, row: usize) -> Result<Tensor> {
		let y = l.forward(x, self.train)?;
		match self.adapters {
			Some(a) => a.apply_row(l, &x.unsqueeze(0)?, y.unsqueeze(0)?, row)?.squeeze(0),
			None => Ok(y),
		}
	}

	/// Attention of one layer: `q` (b, heads, t, d), `k` and `v` (b, kv_heads, t, d) of the new
	/// positions. `rotate(group, q, k)` applies position encodings to a group of rows (see
	/// [`Pass::offsets`]); then the keys and values join the group's cache, and
	/// `attend(q, keys, values, offset)` computes the group's output, (rows, t, heads * d).
	pub fn attend(
		&mut self,
		layer: usize,
		q: Tensor,
		k: Tensor,
		v: Tensor,
		rotate: impl Fn(usize, Tensor, Tensor) -> Result<(Tensor, Tensor)>,
		attend: impl Fn(&Tensor, &Tensor, &Tensor, usize) -> Result<Tensor>,
	) -> Result<Tensor> {
		match &mut self.caches {
			Caches::None => {
				let (q, k) = rotate(0, q, k)?;
				attend(&q, &k, &v, 0)
			}
			Caches::Shared(c) => {
				let offset = c.len;
				let (q, k) = rotate(0, q, k)?;
				let (k, v) = c.extend(layer, k, v)?;
				attend(&q, &k, &v, offset)
			}
			Caches::PerRow(cs) => {
				let mut out = Vec::with_capacity(cs.len());
				for (r, c) in cs.iter_mut().enumerate() {
					// Copies, so a row's cache never keeps the whole batch's tensors alive.
					let row = |x: &Tensor| x.narrow(0, r, 1)?.contiguous();
					let (q, k) = rotate(r, row(&q)?, row(&k)?)?;
					let offset = c.len;
					let (k, v) = c.extend(layer, k, row(&v)?)?;
					out.push(attend(&q, &k, &v, offset)?);
				}
				Tensor::cat(&out, 0)
			}
		}
	}

	/// Records that `t` positions were added to every cache; call once, after the last layer.
	pub fn advance(&mut self, t: usize) {
		match &mut self.caches {
			Caches::None => {}
			Caches::Shared(c) => c.len += t,
			Caches::PerRow(cs) => cs.iter_mut().for_each(|c| c.len += t),
		}
	}
}
