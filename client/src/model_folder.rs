//! What a model folder on disk says about itself before it goes on chain.

use crate::training::FamilyArg;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The family of the model at `path`: `given`, or its config.json's `model_type`; a config that
/// names another family than the one given is refused (workers load by the config).
pub fn family_of(path: &Path, given: Option<FamilyArg>) -> Result<FamilyArg> {
	let config = path.join("config.json");
	let named = if path.is_dir() && config.exists() {
		let raw =
			std::fs::read(&config).with_context(|| format!("cannot read {}", config.display()))?;
		let json: serde_json::Value = serde_json::from_slice(&raw)
			.with_context(|| format!("{} is not JSON", config.display()))?;
		json["model_type"].as_str().map(str::to_string)
	} else {
		None
	};
	match (given, named) {
		(Some(f), Some(t)) if f.model_type() != t => bail!(
			"{} says model_type {t:?}, not {:?}: give --family {t} if the chain knows it",
			config.display(),
			f.model_type()
		),
		(Some(f), _) => Ok(f),
		(None, Some(t)) => FamilyArg::from_model_type(&t).with_context(|| {
			format!("{}: model_type {t:?} is not a family the chain knows", config.display())
		}),
		(None, None) => bail!("give --family: {} has no config.json naming it", path.display()),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_base_models_family_comes_from_its_config_and_must_agree_with_the_one_given() {
		let dir = tempfile::tempdir().unwrap();
		let e = family_of(dir.path(), None).unwrap_err().to_string();
		assert!(e.starts_with("give --family"), "{e}");
		assert_eq!(family_of(dir.path(), Some(FamilyArg::Gpt2)).unwrap(), FamilyArg::Gpt2);
		std::fs::write(dir.path().join("config.json"), r#"{"model_type": "deepseek_v3"}"#).unwrap();
		assert_eq!(family_of(dir.path(), None).unwrap(), FamilyArg::DeepseekV3);
		let e = family_of(dir.path(), Some(FamilyArg::Llama)).unwrap_err().to_string();
		assert!(e.contains("says model_type \"deepseek_v3\", not \"llama\""), "{e}");
		std::fs::write(dir.path().join("config.json"), r#"{"model_type": "mamba"}"#).unwrap();
		let e = family_of(dir.path(), None).unwrap_err().to_string();
		assert!(e.contains("model_type \"mamba\" is not a family the chain knows"), "{e}");
		// Every family's model_type is the ModelFactory's name for it.
		for f in <FamilyArg as clap::ValueEnum>::value_variants() {
			assert_eq!(FamilyArg::from_model_type(f.model_type()), Some(*f));
		}
	}
}
