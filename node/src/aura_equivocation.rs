//! Watches imported blocks for Aura equivocations (two blocks for one slot by one author) and
//! reports each to the chain as an unsigned `Validators::report_aura_equivocation` from this node.
//!
//! Runs on validators only: the runtime takes unsigned reports from a node's own pool (never from
//! the network, where they would be free spam), so a report reaches the chain when this validator
//! authors. Anyone else can send the same proof signed.

use crate::service::{FullClient, Pool};
use futures::StreamExt;
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sc_transaction_pool_api::{TransactionPool, TransactionSource};
use sp_api::ProvideRuntimeApi;
use sp_consensus_aura::{sr25519::AuthorityId, AuraApi, Slot, AURA_ENGINE_ID};
use sp_runtime::traits::Header as _;
use std::{collections::BTreeMap, sync::Arc};
use tributary_runtime::{Header, RuntimeCall, UncheckedExtrinsic};

/// How many slots back headers are remembered (enough for forks that arrive late).
const REMEMBERED_SLOTS: u64 = 1024;

/// Follows block imports until the node stops.
pub async fn watch(client: Arc<FullClient>, pool: Arc<Pool>) {
	let mut imports = client.import_notification_stream();
	// Per slot: each imported block's author, hash and header.
	let mut seen: BTreeMap<u64, Vec<(AuthorityId, tributary_runtime::Hash, Header)>> =
		BTreeMap::new();
	while let Some(imported) = imports.next().await {
		let header = imported.header;
		let Some(slot) = header
			.digest()
			.logs()
			.iter()
			.find_map(|d| d.pre_runtime_try_to::<Slot>(&AURA_ENGINE_ID))
		else {
			continue;
		};
		// The import queue checked the seal: the author is the slot's authority at the parent.
		let Ok(authorities) = client.runtime_api().authorities(*header.parent_hash()) else {
			continue;
		};
		if authorities.is_empty() {
			continue;
		}
		let author = authorities[(u64::from(slot) % authorities.len() as u64) as usize].clone();
		let hash = header.hash();
		let blocks = seen.entry(u64::from(slot)).or_default();
		if let Some((_, _, first)) = blocks.iter().find(|(a, h, _)| a == &author && *h != hash) {
			let proof = pallet_validators::AuraEquivocationProof {
				offender: author.clone(),
				slot,
				first_header: first.clone(),
				second_header: header.clone(),
			};
			report(&client, &pool, proof).await;
		}
		blocks.push((author, hash, header));
		while let Some((&oldest, _)) = seen.first_key_value() {
			if oldest.saturating_add(REMEMBERED_SLOTS) >= u64::from(slot) {
				break;
			}
			seen.pop_first();
		}
	}
}

async fn report(
	client: &FullClient,
	pool: &Pool,
	proof: pallet_validators::AuraEquivocationProof<Header>,
) {
	use codec::Encode;
	let (offender, slot) = (proof.offender.clone(), u64::from(proof.slot));
	let call = RuntimeCall::Validators(pallet_validators::Call::report_aura_equivocation {
		proof: Box::new(proof),
	});
	let encoded = UncheckedExtrinsic::new_bare(call).encode();
	let xt = match sp_runtime::OpaqueExtrinsic::try_from_encoded_extrinsic(&encoded) {
		Ok(xt) => xt,
		Err(e) => return log::error!("cannot encode an Aura equivocation report: {e}"),
	};
	let best = client.info().best_hash;
	match pool.submit_one(best, TransactionSource::Local, xt).await {
		Ok(_) => log::warn!("Aura equivocation by {offender} at slot {slot}: reported"),
		Err(e) => log::warn!("Aura equivocation by {offender} at slot {slot} not reported: {e}"),
	}
}
