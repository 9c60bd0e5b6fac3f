//! Fees for answers (docs/fees.md): workers' prices, tabs a payer opens with a worker, the
//! vouchers a payer signs per request, and a worker's settlement of a fee period.

use crate::{chain, keys::Key, Client, ClientError};
use serde::{Deserialize, Serialize};
use sp_core::sr25519;
use subxt::utils::AccountId32;

/// A tab as the chain holds it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct TabView {
	pub id: u64,
	/// Held for the worker and not yet paid, in plancks.
	pub balance: u128,
	/// Set once the payer closed it: the block from which it may be withdrawn.
	pub closes_at: Option<u32>,
}

/// A signed voucher in the form it travels in: JSON, in a request's `Tributary-Voucher` header
/// (amounts as decimal strings, accounts in SS58, the signature in hex).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VoucherPass {
	pub payer: String,
	pub tab: u64,
	pub worker: String,
	pub model: u64,
	pub cumulative: String,
	pub signature: String,
}

/// A voucher's fields, checked and decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Voucher {
	pub payer: [u8; 32],
	pub tab: u64,
	pub worker: [u8; 32],
	pub model: u64,
	pub cumulative: u128,
	pub signature: [u8; 64],
}

/// The bytes a payer signs (the runtime's `pallet_fees::voucher::payload`).
pub fn payload(
	genesis: &[u8; 32],
	tab: u64,
	worker: &[u8; 32],
	model: u64,
	cumulative: u128,
) -> Vec<u8> {
	let v = pallet_fees::Voucher { tab, worker: *worker, model, cumulative };
	pallet_fees::voucher::payload(genesis, &v)
}

/// `key`'s voucher: `worker` may take up to `cumulative` in all on tab `tab` for `model`.
pub fn sign_voucher(
	key: &Key,
	genesis: &[u8; 32],
	tab: u64,
	worker: &AccountId32,
	model: u64,
	cumulative: u128,
) -> VoucherPass {
	let signature = key.sign_bytes(&payload(genesis, tab, &worker.0, model, cumulative));
	VoucherPass {
		payer: key.ss58(),
		tab,
		worker: worker.to_string(),
		model,
		cumulative: cumulative.to_string(),
		signature: format!("0x{}", hex::encode(signature)),
	}
}

impl VoucherPass {
	/// Decodes and checks the voucher: well formed, and signed by its payer over this chain's
	/// `genesis` (plainly or as browser wallets wrap raw bytes). Errors are sentences for the
	/// caller.
	pub fn verify(&self, genesis: &[u8; 32]) -> Result<Voucher, String> {
		let account = |s: &str, what: &str| -> Result<[u8; 32], String> {
			s.parse::<AccountId32>()
				.map(|a| a.0)
				.map_err(|_| format!("the voucher's {what} `{s}` is not an SS58 address"))
		};
		let payer = account(&self.payer, "payer")?;
		let worker = account(&self.worker, "worker")?;
		let cumulative: u128 = self.cumulative.parse().map_err(|_| {
			format!(
				"the voucher's cumulative `{}` is not a whole number of plancks",
				self.cumulative
			)
		})?;
		let sig = hex::decode(self.signature.trim_start_matches("0x"))
			.ok()
			.and_then(|b| <[u8; 64]>::try_from(b).ok())
			.ok_or("the voucher's signature is not 64 bytes of hex")?;
		let bytes = payload(genesis, self.tab, &worker, self.model, cumulative);
		let public = sr25519::Public::from_raw(payer);
		let signature = sr25519::Signature::from_raw(sig);
		// The chain's own check: plain, or wrapped as browser wallets sign raw bytes.
		if !pallet_fees::voucher::verify(&signature, &bytes, &public) {
			return Err(
				"the voucher's signature is not its payer's over these fields on this chain".into(),
			);
		}
		Ok(Voucher { payer, tab: self.tab, worker, model: self.model, cumulative, signature: sig })
	}
}

/// One charge of a settlement: a checked voucher and the worker's total on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
	pub voucher: Voucher,
	pub total: u128,
}

/// A worker's commitment to a period's receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
	pub root: [u8; 32],
	pub receipts: u32,
	pub file: [u8; 32],
	pub bytes: u64,
}

/// What a settlement paid, and which charges were refused (payer, model, reason).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Settled {
	pub period: u32,
	pub paid: u128,
	pub charges_paid: u32,
	pub refused: Vec<(String, u64, String)>,
}

/// The root of a receipts file's lines: each line hashed with BLAKE3, pairs hashed together
/// up to one (an odd node out is promoted), as the payout table's tree is built. Zero for none.
pub fn receipts_root(lines: &[Vec<u8>]) -> [u8; 32] {
	let mut level: Vec<[u8; 32]> = lines.iter().map(|l| *blake3::hash(l).as_bytes()).collect();
	if level.is_empty() {
		return [0; 32];
	}
	while level.len() > 1 {
		level = level
			.chunks(2)
			.map(|p| match p {
				[a, b] => *blake3::hash(&[a.as_slice(), b.as_slice()].concat()).as_bytes(),
				[a] => *a,
				_ => unreachable!(),
			})
			.collect();
	}
	level[0]
}

type ChainMultiSignature = chain::runtime_types::sp_runtime::MultiSignature;

impl Client {
	/// The chain's genesis hash (vouchers are signed over it).
	pub fn genesis(&self) -> [u8; 32] {
		self.api().genesis_hash().0
	}

	/// `worker`'s price per 1,000 tokens (zero: free).
	pub async fn price(&self, worker: &AccountId32) -> Result<u128, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().fees().prices(worker.clone())).await?.unwrap_or(0))
	}

	/// Publishes the signer's price per 1,000 tokens, as a serving worker.
	pub async fn set_price(&self, key: &Key, price: u128) -> Result<(), ClientError> {
		self.submit(&chain::tx().fees().set_price(price), key).await.map(|_| ())
	}

	/// `payer`'s tab with `worker`, if open (latest finalized block).
	pub async fn tab(
		&self,
		payer: &AccountId32,
		worker: &AccountId32,
	) -> Result<Option<TabView>, ClientError> {
		let at = self.state().await?;
		let t = at.fetch(&chain::storage().fees().tabs(payer.clone(), worker.clone())).await?;
		Ok(t.map(|t| TabView { id: t.id, balance: t.balance, closes_at: t.closes_at }))
	}

	/// What `tab`'s charges for `model` paid so far.
	pub async fn tab_spent(&self, tab: u64, model: u64) -> Result<u128, ClientError> {
		let at = self.state().await?;
		Ok(at.fetch(&chain::storage().fees().spent(tab, model)).await?.unwrap_or(0))
	}

	/// Opens a tab with `worker` holding `amount`, or tops the open one up; returns it.
	pub async fn fund_tab(
		&self,
		key: &Key,
		worker: &AccountId32,
		amount: u128,
	) -> Result<TabView, ClientError> {
		let e: chain::fees::events::TabFunded =
			self.submit_for(&chain::tx().fees().fund_tab(worker.clone(), amount), key).await?;
		Ok(TabView { id: e.tab, balance: e.balance, closes_at: None })
	}

	/// Closes the signer's tab with `worker`; returns the block it may be withdrawn from.
	pub async fn close_tab(&self, key: &Key, worker: &AccountId32) -> Result<u32, ClientError> {
		let e: chain::fees::events::TabClosing =
			self.submit_for(&chain::tx().fees().close_tab(worker.clone()), key).await?;
		Ok(e.closes_at)
	}

	/// Withdraws what is left of the signer's closed tab with `worker`; returns it.
	pub async fn withdraw_tab(&self, key: &Key, worker: &AccountId32) -> Result<u128, ClientError> {
		let e: chain::fees::events::TabWithdrawn =
			self.submit_for(&chain::tx().fees().withdraw(worker.clone()), key).await?;
		Ok(e.returned)
	}

	/// `worker`'s settlement of `period`: its usage commitment and what it was paid.
	pub async fn settlement(
		&self,
		worker: &AccountId32,
		period: u32,
	) -> Result<Option<(Usage, u128)>, ClientError> {
		let at = self.state().await?;
		let s = at.fetch(&chain::storage().fees().settlements(worker.clone(), period)).await?;
		Ok(s.map(|(u, paid)| {
			(Usage { root: u.root, receipts: u.receipts, file: u.file, bytes: u.bytes }, paid)
		}))
	}

	/// The fee period now (settlements and fee pools are per period).
	pub async fn fee_period(&self) -> Result<u32, ClientError> {
		let length = self.api().constants().at(&chain::constants().rewards().fee_period())?;
		let now = self.state().await?;
		let block = now.fetch(&chain::storage().system().number()).await?.unwrap_or(0);
		Ok(block / length.max(1))
	}

	/// Settles the signer's (a worker's) current fee period with `charges` and the `usage`
	/// commitment.
	pub async fn settle(
		&self,
		key: &Key,
		usage: Usage,
		charges: &[Charge],
	) -> Result<Settled, ClientError> {
		use chain::runtime_types::pallet_fees::types as t;
		let charges: Vec<_> = charges
			.iter()
			.map(|c| t::Charge {
				signed: t::SignedVoucher {
					payer: AccountId32(c.voucher.payer),
					voucher: t::Voucher {
						tab: c.voucher.tab,
						worker: AccountId32(c.voucher.worker),
						model: c.voucher.model,
						cumulative: c.voucher.cumulative,
					},
					signature: ChainMultiSignature::Sr25519(c.voucher.signature),
				},
				total: c.total,
			})
			.collect();
		let usage = t::UsageCommitment {
			root: usage.root,
			receipts: usage.receipts,
			file: usage.file,
			bytes: usage.bytes,
		};
		let call = chain::tx().fees().settle(
			usage,
			chain::runtime_types::bounded_collections::bounded_vec::BoundedVec(charges),
		);
		let events = self.submit(&call, key).await?;
		let mut out = Settled::default();
		for e in events.find::<chain::fees::events::VoucherRefused>() {
			let e = e?;
			out.refused.push((e.payer.to_string(), e.model, format!("{:?}", e.reason)));
		}
		let s = events.find_first::<chain::fees::events::UsageSettled>()?.ok_or_else(|| {
			ClientError::Other("the settlement succeeded without a UsageSettled event".into())
		})?;
		out.period = s.period;
		out.paid = s.paid;
		out.charges_paid = s.vouchers_paid;
		Ok(out)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_voucher_verifies_only_as_signed_on_its_chain() {
		let key = Key::from_suri("//Alice").unwrap();
		let worker = Key::from_suri("//Bob").unwrap().account_id();
		let genesis = [3u8; 32];
		let pass = sign_voucher(&key, &genesis, 4, &worker, 9, 12_345);
		let v = pass.verify(&genesis).unwrap();
		assert_eq!(
			(v.payer, v.tab, v.worker, v.model, v.cumulative),
			(key.public(), 4, worker.0, 9, 12_345)
		);
		assert!(pass.verify(&[4u8; 32]).unwrap_err().contains("signature"));
		let raised = VoucherPass { cumulative: "99999".into(), ..pass.clone() };
		assert!(raised.verify(&genesis).unwrap_err().contains("signature"));
		let bad = VoucherPass { cumulative: "-1".into(), ..pass.clone() };
		assert!(bad.verify(&genesis).unwrap_err().contains("whole number"));
		let other = VoucherPass { payer: Key::from_suri("//Eve").unwrap().ss58(), ..pass };
		assert!(other.verify(&genesis).unwrap_err().contains("signature"));
	}

	#[test]
	fn the_voucher_payload_is_the_runtimes() {
		// The pallet encodes `(context, genesis, Voucher<AccountId32, u128>)`.
		let p = payload(&[1; 32], 2, &[5; 32], 7, 11);
		assert_eq!(&p[..17], b"tributary/voucher");
		assert_eq!(p.len(), 17 + 32 + 8 + 32 + 8 + 16);
	}

	#[test]
	fn receipts_roots_commit_to_every_line_in_order() {
		let lines: Vec<Vec<u8>> = (0..5).map(|i| format!("line {i}").into_bytes()).collect();
		let root = receipts_root(&lines);
		let mut swapped = lines.clone();
		swapped.swap(1, 2);
		assert_ne!(root, receipts_root(&swapped));
		assert_ne!(root, receipts_root(&lines[..4]));
		assert_eq!(receipts_root(&[]), [0; 32]);
		assert_eq!(receipts_root(&lines[..1]), *blake3::hash(&lines[0]).as_bytes());
	}
}
