//! Checkpoint tensors by Hugging Face name, taken one by one with their shapes checked.

use candle_core::{DType, Tensor};
use std::collections::HashMap;

/// Why weights could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
	#[error("the checkpoint has no tensor {0}")]
	Missing(String),
	#[error("tensor {name} has shape {got:?}, expected {want:?}")]
	Shape { name: String, got: Vec<usize>, want: Vec<usize> },
	#[error("{0}")]
	Config(String),
	#[error(transparent)]
	Candle(#[from] candle_core::Error),
}

/// The tensors of a checkpoint, converted to `dtype` as they are taken.
pub struct Weights {
	map: HashMap<String, Tensor>,
	dtype: DType,
}

impl Weights {
	pub fn new(map: HashMap<String, Tensor>, dtype: DType) -> Self {
		Self { map, dtype }
	}

	/// Whether the checkpoint (still) holds tensor `name`.
	pub fn has(&self, name: &str) -> bool {
		self.map.contains_key(name)
	}

	/// Removes tensor `name`, which must have shape `shape`.
	pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor, LoadError> {
		let t = self.map.remove(name).ok_or_else(|| LoadError::Missing(name.into()))?;
		if t.dims() != shape {
			return Err(LoadError::Shape {
				name: name.into(),
				got: t.dims().to_vec(),
				want: shape.to_vec(),
			});
		}
		Ok(t.to_dtype(self.dtype)?)
	}
}
