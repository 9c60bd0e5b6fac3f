//! Paid answers (docs/fees.md): with a price published, an answer of a chain model needs a
//! voucher from a payer with an open tab with this worker. Each request reserves its most
//! possible cost against the voucher and the tab, is charged what it used when it ends, and
//! leaves a receipt; once per fee period the worker settles its charges on chain with a
//! commitment to that period's receipts, which it serves at `/v1/receipts/<period>`.
//!
//! Who can cost us what: a caller with a forged, foreign or stale voucher is refused before any
//! compute; one whose voucher or tab cannot cover the request's most possible cost is refused
//! (402); a payer who withdraws before the worker settles can only do so `CloseDelay` blocks
//! after closing, longer than a period, and a closing tab takes no new requests.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tributary_client::fees::{receipts_root, Charge, Usage, Voucher, VoucherPass};
use tributary_client::keys::Key;
use tributary_client::Client;

/// The request header that carries the voucher, as JSON ([`VoucherPass`]).
pub const HEADER: &str = "tributary-voucher";

/// Why a request cannot be paid for: a sentence for the caller.
#[derive(Debug)]
pub struct PayError(pub String);

/// One answer's record, a line of the period's receipts file.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
	pub request: String,
	pub payer: String,
	pub tab: u64,
	pub model: u64,
	pub prompt_tokens: usize,
	pub completion_tokens: usize,
	/// Plancks, as a decimal string.
	pub cost: String,
	/// BLAKE3 of the answer's `attribution` object, as sent (hex), or empty.
	pub attribution: String,
}

/// One payer's standing with this worker for one model ([`Billing::line`]); plancks as decimal
/// strings.
#[derive(Debug, Clone, Serialize)]
pub struct LineView {
	/// The open tab's id, which the next voucher must name.
	pub tab: u64,
	/// What the tab holds on chain.
	pub balance: String,
	/// The payer closed it: it takes no new requests.
	pub closing: bool,
	/// What this worker is owed on the tab beyond what the chain paid, over all models.
	pub owed: String,
	/// Charged on this line in all (settled or not): the next voucher must allow more.
	pub charged: String,
	/// Held for answers still running.
	pub reserved: String,
	/// The highest voucher this worker holds for the line ("0": none).
	pub allows: String,
}

/// What one payer's vouchers for one model allow, and what was charged against them.
#[derive(Debug, Clone)]
struct Line {
	voucher: Voucher,
	/// Charged for finished answers, in all (settled or not).
	charged: u128,
	/// Held for answers still running.
	reserved: u128,
	/// Paid on chain.
	settled: u128,
}

#[derive(Default)]
struct Ledger {
	/// By (payer, tab, model).
	lines: BTreeMap<([u8; 32], u64, u64), Line>,
	/// Since the last settlement.
	receipts: Vec<Receipt>,
}

impl Ledger {
	/// What `payer`'s tab `tab` owes us beyond what the chain already paid, over all its models
	/// (charged and not settled, and held for running answers).
	fn owed(&self, payer: &[u8; 32], tab: u64) -> u128 {
		self.lines
			.iter()
			.filter(|((p, t, _), _)| p == payer && *t == tab)
			.map(|(_, l)| l.charged - l.settled + l.reserved)
			.sum()
	}
}

pub struct Billing {
	/// Plancks per 1,000 tokens.
	pub price: u128,
	client: Client,
	key: Key,
	genesis: [u8; 32],
	dir: PathBuf,
	ledger: Mutex<Ledger>,
	/// Bounds the chain reads `line` lookups cost (anyone may ask about any payer).
	pub line_reads: super::read_limit::ReadLimit,
}

/// `line` lookups per second, across all callers (a page re-reads its line about once a block).
pub const LINE_READS_PER_SECOND: u32 = 50;

/// A reservation for one running request; released if dropped unspent.
pub struct Hold {
	billing: Arc<Billing>,
	line: ([u8; 32], u64, u64),
	amount: u128,
	spent: bool,
}

/// The price of `tokens` at `price` per 1,000, rounded up.
pub fn cost(price: u128, tokens: usize) -> u128 {
	(price.saturating_mul(tokens as u128)).div_ceil(1000)
}

impl Billing {
	/// Publishes `price` (plancks per 1,000 tokens) for `key` on chain and starts billing.
	pub async fn start(client: Client, key: Key, price: u128, dir: PathBuf) -> Result<Arc<Self>> {
		if client.price(&key.account_id()).await? != price {
			client.set_price(&key, price).await.context("publishing the price")?;
		}
		std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
		let genesis = client.genesis();
		let line_reads = super::read_limit::ReadLimit::new(LINE_READS_PER_SECOND);
		Ok(Arc::new(Billing {
			price,
			client,
			key,
			genesis,
			dir,
			ledger: Default::default(),
			line_reads,
		}))
	}

	/// The account answers are paid to.
	pub fn payee(&self) -> String {
		self.key.ss58()
	}

	/// The chain's genesis hash, which vouchers are signed over.
	pub fn genesis(&self) -> [u8; 32] {
		self.genesis
	}

	/// Reserves `max_tokens` tokens' cost for an answer of `model` under the voucher in
	/// `header`: checked (signature, this worker, this model), its tab open on chain with room
	/// for what is charged and reserved, and the voucher above that too.
	pub async fn authorize(
		self: &Arc<Self>,
		header: Option<&str>,
		model: u64,
		max_tokens: usize,
	) -> Result<Hold, PayError> {
		let Some(header) = header else {
			return Err(PayError(format!(
				"this worker charges {} plancks per 1,000 tokens: send a `Tributary-Voucher` header \
				 (`tributary fees voucher {} --model {model} --amount …`)",
				self.price,
				self.payee()
			)));
		};
		let pass: VoucherPass = serde_json::from_str(header)
			.map_err(|e| PayError(format!("the Tributary-Voucher header is not a voucher: {e}")))?;
		let v = pass.verify(&self.genesis).map_err(PayError)?;
		if v.worker != self.key.public() {
			return Err(PayError(format!(
				"the voucher is for another worker; this one is {}",
				self.payee()
			)));
		}
		if v.model != model {
			return Err(PayError(format!(
				"the voucher is for model {}, not model {model}",
				v.model
			)));
		}
		let payer = tributary_client::payout::AccountId32(v.payer);
		let tab = self
			.client
			.tab(&payer, &self.key.account_id())
			.await
			.map_err(|e| PayError(format!("cannot read the payer's tab: {e}")))?
			.ok_or_else(|| PayError(format!("{payer} has no open tab with {}", self.payee())))?;
		if tab.id != v.tab {
			return Err(PayError(format!(
				"the voucher names tab {}, the open tab is {}",
				v.tab, tab.id
			)));
		}
		if tab.closes_at.is_some() {
			return Err(PayError("the payer's tab is closing: it takes no new requests".into()));
		}
		let amount = cost(self.price, max_tokens);
		let key = (v.payer, v.tab, v.model);
		// A line first seen (or seen again after a restart) starts from what the chain already
		// paid on it: charges count on from there.
		let known = self.ledger.lock().expect("ledger").lines.contains_key(&key);
		let paid = if known {
			0
		} else {
			self.client
				.tab_spent(v.tab, v.model)
				.await
				.map_err(|e| PayError(format!("cannot read what the tab paid: {e}")))?
		};
		let mut ledger = self.ledger.lock().expect("ledger");
		let owed = ledger.owed(&v.payer, v.tab);
		if owed + amount > tab.balance {
			return Err(PayError(format!(
				"the tab holds {} plancks, {owed} are owed already and this request may cost {amount}: top it up",
				tab.balance
			)));
		}
		let line = ledger.lines.entry(key).or_insert(Line {
			voucher: v,
			charged: paid,
			reserved: 0,
			settled: paid,
		});
		if v.cumulative > line.voucher.cumulative {
			line.voucher = v;
		}
		let need = line.charged + line.reserved + amount;
		if need > line.voucher.cumulative {
			return Err(PayError(format!(
				"the voucher allows {} plancks in all; this request needs it to allow {need}: sign a higher one",
				line.voucher.cumulative
			)));
		}
		line.reserved += amount;
		Ok(Hold { billing: self.clone(), line: key, amount, spent: false })
	}

	/// Charges `hold` for a finished answer and records its receipt; returns the cost and what
	/// its voucher line has been charged in all.
	fn charge(
		&self,
		hold: &Hold,
		request: &str,
		prompt: usize,
		completion: usize,
		attribution: Option<&serde_json::Value>,
	) -> (u128, u128) {
		let amount = cost(self.price, prompt + completion).min(hold.amount);
		let mut ledger = self.ledger.lock().expect("ledger");
		let Some(line) = ledger.lines.get_mut(&hold.line) else { return (0, 0) };
		line.reserved -= hold.amount;
		line.charged += amount;
		let charged = line.charged;
		let (payer, tab, model) = hold.line;
		let receipt = Receipt {
			request: request.to_string(),
			payer: tributary_client::payout::AccountId32(payer).to_string(),
			tab,
			model,
			prompt_tokens: prompt,
			completion_tokens: completion,
			cost: amount.to_string(),
			attribution: attribution
				.map(|a| blake3::hash(a.to_string().as_bytes()).to_hex().to_string())
				.unwrap_or_default(),
		};
		ledger.receipts.push(receipt);
		(amount, charged)
	}

	/// Where `payer`'s open tab with this worker stands for `model`, for a client to sign its
	/// next voucher just above what it was charged (`None`: no open tab). A line this worker has
	/// not seen since it started counts from what the chain paid on it.
	pub async fn line(
		&self,
		payer: &tributary_client::payout::AccountId32,
		model: u64,
	) -> Result<Option<LineView>, String> {
		let tab = self
			.client
			.tab(payer, &self.key.account_id())
			.await
			.map_err(|e| format!("cannot read the payer's tab: {e}"))?;
		let Some(tab) = tab else { return Ok(None) };
		let key = (payer.0, tab.id, model);
		let (known, owed) = {
			let ledger = self.ledger.lock().expect("ledger");
			let known =
				ledger.lines.get(&key).map(|l| (l.charged, l.reserved, l.voucher.cumulative));
			(known, ledger.owed(&payer.0, tab.id))
		};
		let (charged, reserved, allows) = match known {
			Some(k) => k,
			None => {
				let paid = self
					.client
					.tab_spent(tab.id, model)
					.await
					.map_err(|e| format!("cannot read what the tab paid: {e}"))?;
				(paid, 0, 0)
			}
		};
		Ok(Some(LineView {
			tab: tab.id,
			balance: tab.balance.to_string(),
			closing: tab.closes_at.is_some(),
			owed: owed.to_string(),
			charged: charged.to_string(),
			reserved: reserved.to_string(),
			allows: allows.to_string(),
		}))
	}

	/// The receipts file this worker committed to in its settlement of `period`, as the chain
	/// records it (its hash names the file).
	pub async fn receipts_file(&self, period: u32) -> Option<Vec<u8>> {
		let (usage, _) = self.client.settlement(&self.key.account_id(), period).await.ok()??;
		let name = format!("{}.jsonl", blake3::Hash::from_bytes(usage.file).to_hex());
		std::fs::read(self.dir.join(name)).ok()
	}

	/// Settles the current period if anything was charged or served since the last settlement:
	/// writes the receipts file, submits the charges with its commitment, and marks what the
	/// chain paid. Returns the settlement, or `None` when there was nothing to settle.
	pub async fn settle(&self) -> Result<Option<tributary_client::fees::Settled>> {
		let (charges, receipts) = {
			let ledger = self.ledger.lock().expect("ledger");
			let charges: Vec<Charge> = ledger
				.lines
				.values()
				.filter(|l| l.charged > l.settled)
				.map(|l| Charge { voucher: l.voucher, total: l.charged })
				.collect();
			(charges, ledger.receipts.clone())
		};
		if charges.is_empty() && receipts.is_empty() {
			return Ok(None);
		}
		let lines: Vec<Vec<u8>> =
			receipts.iter().map(|r| serde_json::to_vec(r).expect("a receipt serializes")).collect();
		let mut file = Vec::new();
		for l in &lines {
			file.extend_from_slice(l);
			file.push(b'\n');
		}
		// Named by its hash, which the settlement records: found from the chain's record of any
		// period, with no race against the settlement's inclusion.
		let hash = blake3::hash(&file);
		let path = self.dir.join(format!("{}.jsonl", hash.to_hex()));
		std::fs::write(&path, &file).with_context(|| format!("writing {}", path.display()))?;
		let usage = Usage {
			root: receipts_root(&lines),
			receipts: lines.len() as u32,
			file: *hash.as_bytes(),
			bytes: file.len() as u64,
		};
		let settled = self.client.settle(&self.key, usage, &charges).await?;
		let mut ledger = self.ledger.lock().expect("ledger");
		let done = receipts.len().min(ledger.receipts.len());
		ledger.receipts.drain(..done);
		for c in &charges {
			let refused = settled.refused.iter().any(|(p, m, _)| {
				*p == tributary_client::payout::AccountId32(c.voucher.payer).to_string()
					&& *m == c.voucher.model
			});
			if let Some(l) =
				ledger.lines.get_mut(&(c.voucher.payer, c.voucher.tab, c.voucher.model))
			{
				if !refused {
					l.settled = l.settled.max(c.total);
				}
			}
		}
		Ok(Some(settled))
	}

	/// Settles once per fee period, for as long as the server runs.
	pub async fn settle_every(self: Arc<Self>, check: std::time::Duration) {
		let mut last = None;
		loop {
			tokio::time::sleep(check).await;
			let Ok(period) = self.client.fee_period().await else { continue };
			if last == Some(period) {
				continue;
			}
			match self.settle().await {
				Ok(Some(s)) => {
					tracing::info!(period = s.period, paid = %s.paid, refused = s.refused.len(), "settled answer fees");
					last = Some(period);
				}
				Ok(None) => {}
				Err(e) => tracing::warn!("settling answer fees failed (retrying): {e:#}"),
			}
		}
	}
}

impl Hold {
	/// Charges the answer `request` and records its receipt; returns the cost and what the
	/// voucher line has been charged in all.
	pub fn charge(
		mut self,
		request: &str,
		prompt: usize,
		completion: usize,
		attribution: Option<&serde_json::Value>,
	) -> (u128, u128) {
		self.spent = true;
		self.billing.charge(&self, request, prompt, completion, attribution)
	}

	/// Charges the finished answer `body` (its `id`, its `attribution` as sent) and adds its
	/// `billing` object: payee, price, cost, and the total charged on the voucher.
	pub fn charge_into(self, body: &mut serde_json::Value, prompt: usize, completion: usize) {
		let billing = self.billing.clone();
		let id = body["id"].as_str().unwrap_or_default().to_string();
		let (cost, charged) = self.charge(&id, prompt, completion, body.get("attribution"));
		body["billing"] = serde_json::json!({
			"payee": billing.payee(),
			"price_per_1k_tokens": billing.price.to_string(),
			"cost": cost.to_string(),
			"charged": charged.to_string(),
		});
	}
}

impl Drop for Hold {
	fn drop(&mut self) {
		if self.spent {
			return;
		}
		if let Ok(mut ledger) = self.billing.ledger.lock() {
			if let Some(l) = ledger.lines.get_mut(&self.line) {
				l.reserved -= self.amount;
			}
		}
	}
}
