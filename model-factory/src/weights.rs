//! Checkpoint tensors by Hugging Face name, taken one by one with their shapes checked.

use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

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

	/// Removes the linear layer `name`: its `(out, inp)` weight and, with `bias`, its `(out)` bias.
	pub fn linear(
		&mut self,
		name: &str,
		out: usize,
		inp: usize,
		bias: bool,
	) -> Result<crate::lora::Linear, LoadError> {
		let weight = self.take(&format!("{name}.weight"), &[out, inp])?;
		let b = if bias { Some(self.take(&format!("{name}.bias"), &[out])?) } else { None };
		Ok(crate::lora::Linear::new(weight, b))
	}
}

/// Every tensor of one safetensors file, read one at a time from the file into its own memory:
/// the peak is the tensors plus the largest one's bytes, not the tensors plus the whole file
/// (as reading the file first, or mapping it, holds).
pub fn read_file(path: &Path, dev: &Device) -> candle_core::Result<HashMap<String, Tensor>> {
	let bad = |m: String| candle_core::Error::Msg(format!("{}: {m}", path.display()));
	let mut f = std::fs::File::open(path)?;
	let file_len = f.metadata()?.len();
	let mut len = [0u8; 8];
	f.read_exact(&mut len)?;
	let header_len = u64::from_le_bytes(len);
	if header_len > 100 << 20 || 8 + header_len > file_len {
		return Err(bad(format!("a header of {header_len} bytes")));
	}
	let mut header = vec![0u8; header_len as usize];
	f.read_exact(&mut header)?;
	let header: serde_json::Map<String, serde_json::Value> =
		serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
	let data_start = 8 + header_len;
	let mut out = HashMap::new();
	for (name, info) in &header {
		if name == "__metadata__" {
			continue;
		}
		let field = |k: &str| info.get(k).ok_or_else(|| bad(format!("{name}: no {k}")));
		let dtype = match field("dtype")?.as_str().unwrap_or("") {
			"F64" => DType::F64,
			"F32" => DType::F32,
			"F16" => DType::F16,
			"BF16" => DType::BF16,
			"I64" => DType::I64,
			"U32" => DType::U32,
			"U8" => DType::U8,
			other => return Err(bad(format!("{name}: dtype {other} is not supported"))),
		};
		let nums = |k: &str| -> candle_core::Result<Vec<usize>> {
			field(k)?
				.as_array()
				.and_then(|a| a.iter().map(|v| v.as_u64().map(|x| x as usize)).collect())
				.ok_or_else(|| bad(format!("{name}: {k} is not a list of sizes")))
		};
		let (shape, offsets) = (nums("shape")?, nums("data_offsets")?);
		let [start, end] = offsets[..] else { return Err(bad(format!("{name}: data_offsets"))) };
		let want = shape.iter().product::<usize>() * dtype.size_in_bytes();
		if end < start || end - start != want || data_start + end as u64 > file_len {
			return Err(bad(format!("{name}: {} bytes at {start}..{end}", want)));
		}
		let mut bytes = vec![0u8; want];
		f.seek(SeekFrom::Start(data_start + start as u64))?;
		f.read_exact(&mut bytes)?;
		out.insert(name.clone(), Tensor::from_raw_buffer(&bytes, dtype, &shape, dev)?);
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_file_reads_back_tensor_by_tensor_and_damage_is_named() {
		let dir = tempfile::tempdir().unwrap();
		let p = dir.path().join("m.safetensors");
		let dev = Device::Cpu;
		let t = HashMap::from([
			("a".to_string(), Tensor::arange(0f32, 6.0, &dev).unwrap().reshape((2, 3)).unwrap()),
			(
				"b".to_string(),
				Tensor::new(&[1.5f64, -2.0], &dev).unwrap().to_dtype(DType::BF16).unwrap(),
			),
			("c".to_string(), Tensor::new(&[7u32, 8, 9], &dev).unwrap()),
		]);
		candle_core::safetensors::save(&t, &p).unwrap();
		let back = read_file(&p, &dev).unwrap();
		assert_eq!(back.len(), 3);
		for (k, v) in &t {
			assert_eq!(back[k].dims(), v.dims(), "{k}");
			assert_eq!(back[k].dtype(), v.dtype(), "{k}");
			let (x, y) = (back[k].to_dtype(DType::F64).unwrap(), v.to_dtype(DType::F64).unwrap());
			assert_eq!(
				x.flatten_all().unwrap().to_vec1::<f64>().unwrap(),
				y.flatten_all().unwrap().to_vec1::<f64>().unwrap()
			);
		}
		// A file cut short names the tensor it cannot read, rather than reading past the end.
		let bytes = std::fs::read(&p).unwrap();
		std::fs::write(&p, &bytes[..bytes.len() - 4]).unwrap();
		let e = read_file(&p, &dev).unwrap_err().to_string();
		assert!(e.contains("bytes at"), "{e}");
		std::fs::write(&p, [255u8; 16]).unwrap();
		assert!(read_file(&p, &dev).unwrap_err().to_string().contains("a header of"));
	}
}
