//! sr25519 keys: parsing SURIs and mnemonics the way `subkey` does, subkey-style reports, and a
//! file keystore (one JSON file per key, readable by its owner only).

use serde::{Deserialize, Serialize};
use sp_core::{
	crypto::{Ss58Codec, Zeroize},
	sr25519, Pair as _,
};
use std::{
	fmt::Write as _,
	path::{Path, PathBuf},
};
use subxt::{
	utils::{AccountId32, MultiSignature},
	SubstrateConfig,
};

/// A signing key and the secret URI it came from.
#[derive(Clone)]
pub struct Key {
	pair: sr25519::Pair,
	suri: String,
	seed: Option<[u8; 32]>,
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
	#[error(
		"`{0}` is not a valid secret: give a 12 or 24 word phrase, a 0x-prefixed 32-byte seed, or a \
		 dev URI such as //Alice (optionally with //hard/soft derivations)"
	)]
	BadSecret(String),
	#[error("no key named `{name}` in {dir}: create one with `tributary key generate --name {name}` or `key import`")]
	NotFound { name: String, dir: String },
	#[error("a key named `{0}` already exists: pick another name or remove the file first")]
	Exists(String),
	#[error("key names may use letters, digits, '-' and '_' only: `{0}`")]
	BadName(String),
	#[error("keystore {path}: {source}")]
	Io { path: String, source: std::io::Error },
	#[error("keystore file {path} is damaged: {reason}")]
	Damaged { path: String, reason: String },
}

impl std::fmt::Debug for Key {
	/// Shows the address only: secrets never reach logs.
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "Key({})", self.ss58())
	}
}

impl Key {
	/// Parses a secret URI: a phrase, a hex seed, or `//Dev` paths, with optional `///password`.
	pub fn from_suri(suri: &str) -> Result<Self, KeyError> {
		let suri = suri.trim();
		let (pair, seed) = sr25519::Pair::from_string_with_seed(suri, None)
			.map_err(|_| KeyError::BadSecret(redact(suri)))?;
		Ok(Key { pair, suri: suri.to_string(), seed })
	}

	/// A fresh key from a new random mnemonic of `words` words (12, 15, 18, 21 or 24).
	pub fn generate(words: usize) -> Result<(Self, String), KeyError> {
		let entropy_bytes = match words {
			12 => 16,
			15 => 20,
			18 => 24,
			21 => 28,
			24 => 32,
			_ => return Err(KeyError::BadSecret(format!("{words} words"))),
		};
		let mut entropy = vec![0u8; entropy_bytes];
		rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut entropy);
		let phrase = bip39::Mnemonic::from_entropy(&entropy)
			.map_err(|_| KeyError::BadSecret("entropy".into()))?
			.to_string();
		entropy.zeroize();
		Ok((Self::from_suri(&phrase)?, phrase))
	}

	pub fn public(&self) -> [u8; 32] {
		self.pair.public().0
	}

	pub fn account_id(&self) -> AccountId32 {
		AccountId32(self.public())
	}

	/// The key's sr25519 signature over `bytes` (vouchers and other off-chain messages).
	pub fn sign_bytes(&self, bytes: &[u8]) -> [u8; 64] {
		self.pair.sign(bytes).0
	}

	/// SS58 address with the generic Substrate prefix (42), as the chain uses.
	pub fn ss58(&self) -> String {
		self.pair.public().to_ss58check()
	}

	pub fn suri(&self) -> &str {
		&self.suri
	}

	/// A `subkey inspect`-style report. `phrase` is printed when given (for `generate`).
	pub fn report(&self, phrase: Option<&str>) -> String {
		let mut out = String::new();
		match phrase {
			Some(p) => writeln!(out, "Secret phrase:       {p}").unwrap(),
			None => writeln!(out, "Secret Key URI `{}` is account:", self.suri).unwrap(),
		}
		let public = format!("0x{}", hex::encode(self.public()));
		let seed =
			self.seed.map(|s| format!("0x{}", hex::encode(s))).unwrap_or_else(|| "n/a".into());
		writeln!(out, "  Network ID:        substrate").unwrap();
		writeln!(out, "  Secret seed:       {seed}").unwrap();
		writeln!(out, "  Public key (hex):  {public}").unwrap();
		writeln!(out, "  Account ID:        {public}").unwrap();
		writeln!(out, "  Public key (SS58): {}", self.ss58()).unwrap();
		write!(out, "  SS58 Address:      {}", self.ss58()).unwrap();
		out
	}
}

/// Shows the first word of a phrase only, so secrets stay out of error messages and logs.
fn redact(suri: &str) -> String {
	if suri.starts_with("//") || suri.len() < 12 {
		return suri.to_string();
	}
	let first = suri.split_whitespace().next().unwrap_or("");
	format!("{}…", &first[..first.len().min(6)])
}

impl subxt::tx::Signer<SubstrateConfig> for Key {
	fn account_id(&self) -> AccountId32 {
		Key::account_id(self)
	}

	fn sign(&self, payload: &[u8]) -> MultiSignature {
		MultiSignature::Sr25519(self.pair.sign(payload).0)
	}
}

/// One stored key.
#[derive(Serialize, Deserialize)]
struct StoredKey {
	name: String,
	address: String,
	suri: String,
}

/// A directory of keys, one `<name>.json` per key, mode 0600 in a 0700 directory.
pub struct Keystore {
	dir: PathBuf,
}

impl Keystore {
	/// `$TRIBUTARY_HOME/keys`, else `~/.tributary/keys`.
	pub fn default_dir() -> PathBuf {
		let home = std::env::var_os("TRIBUTARY_HOME")
			.map(PathBuf::from)
			.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".tributary")))
			.unwrap_or_else(|| PathBuf::from(".tributary"));
		home.join("keys")
	}

	pub fn open(dir: impl Into<PathBuf>) -> Self {
		Keystore { dir: dir.into() }
	}

	pub fn dir(&self) -> &Path {
		&self.dir
	}

	fn path(&self, name: &str) -> Result<PathBuf, KeyError> {
		if name.is_empty()
			|| !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
		{
			return Err(KeyError::BadName(name.into()));
		}
		Ok(self.dir.join(format!("{name}.json")))
	}

	fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
		move |source| KeyError::Io { path: path.display().to_string(), source }
	}

	/// Stores `key` under `name`; never overwrites.
	pub fn save(&self, name: &str, key: &Key) -> Result<PathBuf, KeyError> {
		use std::io::Write;
		#[cfg(unix)]
		use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
		let path = self.path(name)?;
		let mut builder = std::fs::DirBuilder::new();
		builder.recursive(true);
		#[cfg(unix)]
		builder.mode(0o700);
		builder.create(&self.dir).map_err(Self::io(&self.dir))?;
		let mut opts = std::fs::OpenOptions::new();
		opts.write(true).create_new(true);
		#[cfg(unix)]
		opts.mode(0o600);
		let mut f = opts.open(&path).map_err(|e| match e.kind() {
			std::io::ErrorKind::AlreadyExists => KeyError::Exists(name.into()),
			_ => KeyError::Io { path: path.display().to_string(), source: e },
		})?;
		let stored =
			StoredKey { name: name.into(), address: key.ss58(), suri: key.suri().to_string() };
		let json = serde_json::to_string_pretty(&stored).expect("plain struct serializes");
		f.write_all(json.as_bytes()).and_then(|_| f.sync_all()).map_err(Self::io(&path))?;
		Ok(path)
	}

	/// Loads the key stored under `name`.
	pub fn load(&self, name: &str) -> Result<Key, KeyError> {
		let path = self.path(name)?;
		let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
			std::io::ErrorKind::NotFound => {
				KeyError::NotFound { name: name.into(), dir: self.dir.display().to_string() }
			}
			_ => KeyError::Io { path: path.display().to_string(), source: e },
		})?;
		let damaged =
			|reason: String| KeyError::Damaged { path: path.display().to_string(), reason };
		let stored: StoredKey = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
		let key = Key::from_suri(&stored.suri).map_err(|e| damaged(e.to_string()))?;
		if key.ss58() != stored.address {
			return Err(damaged("its secret does not give its recorded address".into()));
		}
		Ok(key)
	}

	/// Names and addresses of all stored keys, sorted by name.
	pub fn list(&self) -> Result<Vec<(String, String)>, KeyError> {
		let entries = match std::fs::read_dir(&self.dir) {
			Ok(e) => e,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
			Err(e) => return Err(Self::io(&self.dir)(e)),
		};
		let mut out = vec![];
		for entry in entries.flatten() {
			let p = entry.path();
			if p.extension().and_then(|e| e.to_str()) != Some("json") {
				continue;
			}
			if let Ok(stored) = std::fs::read_to_string(&p)
				.map_err(|e| e.to_string())
				.and_then(|t| serde_json::from_str::<StoredKey>(&t).map_err(|e| e.to_string()))
			{
				out.push((stored.name, stored.address));
			}
		}
		out.sort();
		Ok(out)
	}

	/// A key given on the command line: a stored key's name, or else a secret URI.
	pub fn resolve(&self, name_or_suri: &str) -> Result<Key, KeyError> {
		match self.path(name_or_suri) {
			Ok(path) if path.exists() => self.load(name_or_suri),
			Ok(_)
				if !name_or_suri.starts_with("//")
					&& !name_or_suri.contains(' ')
					&& !name_or_suri.starts_with("0x") =>
			{
				Err(KeyError::NotFound {
					name: name_or_suri.into(),
					dir: self.dir.display().to_string(),
				})
			}
			_ => Key::from_suri(name_or_suri),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

	#[test]
	fn dev_uris_match_subkey() {
		let k = Key::from_suri("//Alice").unwrap();
		assert_eq!(k.ss58(), ALICE);
		assert_eq!(
			hex::encode(k.public()),
			"d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
		);
		let report = k.report(None);
		assert!(report.contains(&format!("SS58 Address:      {ALICE}")));
		assert!(report.starts_with("Secret Key URI `//Alice` is account:"));
	}

	#[test]
	fn phrases_round_trip_and_bad_secrets_are_refused() {
		for words in [12, 24] {
			let (k, phrase) = Key::generate(words).unwrap();
			assert_eq!(phrase.split_whitespace().count(), words);
			assert_eq!(Key::from_suri(&phrase).unwrap().ss58(), k.ss58());
			assert!(k.report(Some(&phrase)).contains("Secret seed:       0x"));
		}
		let a = Key::generate(12).unwrap().1;
		let b = Key::generate(12).unwrap().1;
		assert_ne!(a, b);
		let err = Key::from_suri("these are not bip39 words at all nope").unwrap_err();
		assert!(err.to_string().contains("not a valid secret"));
		assert!(!err.to_string().contains("bip39 words"), "secrets stay out of errors");
		assert!(Key::generate(13).is_err());
	}

	#[test]
	fn keystore_saves_privately_loads_and_never_overwrites() {
		let dir = tempfile::tempdir().unwrap();
		let ks = Keystore::open(dir.path().join("keys"));
		let (k, _) = Key::generate(12).unwrap();
		let path = ks.save("curator-1", &k).unwrap();
		#[cfg(unix)]
		{
			use std::os::unix::fs::PermissionsExt;
			assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
			assert_eq!(std::fs::metadata(ks.dir()).unwrap().permissions().mode() & 0o777, 0o700);
		}
		assert_eq!(ks.load("curator-1").unwrap().ss58(), k.ss58());
		assert_eq!(ks.resolve("curator-1").unwrap().ss58(), k.ss58());
		assert_eq!(ks.resolve("//Alice").unwrap().ss58(), ALICE);
		assert!(matches!(ks.save("curator-1", &k), Err(KeyError::Exists(_))));
		assert!(matches!(ks.resolve("nobody"), Err(KeyError::NotFound { .. })));
		assert!(matches!(ks.save("../evil", &k), Err(KeyError::BadName(_))));
		assert_eq!(ks.list().unwrap(), vec![("curator-1".to_string(), k.ss58())]);

		// A tampered file is refused, not silently used.
		let text = std::fs::read_to_string(&path).unwrap().replace(&k.ss58(), ALICE);
		std::fs::write(&path, text).unwrap();
		assert!(matches!(ks.load("curator-1"), Err(KeyError::Damaged { .. })));
	}
}
