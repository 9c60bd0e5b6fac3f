//! Aura equivocations: two different blocks for one slot, each sealed by the same Aura key.
//!
//! Aura's seal is the last digest item, `Seal(AURA_ENGINE_ID, signature)`, where the signature is
//! over the hash of the header without it; the slot is the `PreRuntime(AURA_ENGINE_ID, slot)` item.
//! Two headers whose pre-seal hashes differ (sr25519 signatures are randomised, so one block sealed
//! twice is not two blocks) but whose seals verify under one key for one slot are the proof.

use crate::{Config, Error, Pallet};
use codec::Decode;
use frame_support::traits::Get;
use sp_consensus_aura::{
	sr25519::{AuthorityId, AuthoritySignature},
	Slot, AURA_ENGINE_ID,
};
use sp_runtime::{traits::Header as HeaderT, DigestItem, RuntimeAppPublic};

/// Two headers for one slot sealed by `offender`.
pub type AuraEquivocationProof<Header> = sp_consensus_slots::EquivocationProof<Header, AuthorityId>;

/// Why a proof does not hold.
#[derive(Debug, PartialEq, Eq)]
pub enum InvalidAuraProof {
	/// Both headers are the same block.
	SameBlock,
	/// A header has no Aura seal, or the seal is not the offender's signature.
	BadSeal,
	/// A header claims another slot than the proof.
	WrongSlot,
}

/// The pre-seal hash and claimed slot of `header` if `author` sealed it.
fn sealed_by<H: HeaderT>(
	header: &H,
	author: &AuthorityId,
) -> Result<(H::Hash, Slot), InvalidAuraProof> {
	let mut unsealed = header.clone();
	let signature = match unsealed.digest_mut().pop() {
		Some(DigestItem::Seal(id, bytes)) if id == AURA_ENGINE_ID => {
			AuthoritySignature::decode(&mut &bytes[..]).map_err(|_| InvalidAuraProof::BadSeal)?
		}
		_ => return Err(InvalidAuraProof::BadSeal),
	};
	let pre_hash = unsealed.hash();
	if !author.verify(&pre_hash.as_ref(), &signature) {
		return Err(InvalidAuraProof::BadSeal);
	}
	let slot = unsealed
		.digest()
		.logs()
		.iter()
		.find_map(|d| d.pre_runtime_try_to::<Slot>(&AURA_ENGINE_ID))
		.ok_or(InvalidAuraProof::WrongSlot)?;
	Ok((pre_hash, slot))
}

/// Whether `proof` shows two different blocks for its slot, both sealed by its offender.
pub fn verify<H: HeaderT>(proof: &AuraEquivocationProof<H>) -> Result<(), InvalidAuraProof> {
	let (first, slot_a) = sealed_by(&proof.first_header, &proof.offender)?;
	let (second, slot_b) = sealed_by(&proof.second_header, &proof.offender)?;
	if slot_a != proof.slot || slot_b != proof.slot {
		return Err(InvalidAuraProof::WrongSlot);
	}
	if first == second {
		return Err(InvalidAuraProof::SameBlock);
	}
	Ok(())
}

impl<T: Config> Pallet<T> {
	/// The account behind a valid, reportable Aura equivocation: the proof holds, the slot is not
	/// in the future nor older than `AuraReportWindow` slots, and the key belongs to a validator
	/// of the current session.
	pub(crate) fn check_aura_report(
		proof: &AuraEquivocationProof<frame_system::pallet_prelude::HeaderFor<T>>,
	) -> Result<T::AccountId, Error<T>> {
		verify(proof).map_err(|_| Error::<T>::InvalidEquivocationProof)?;
		let now = u64::from(pallet_aura::CurrentSlot::<T>::get());
		let slot = u64::from(proof.slot);
		if slot > now || slot.saturating_add(T::AuraReportWindow::get()) < now {
			return Err(Error::<T>::NotReportable);
		}
		let key = (
			<AuthorityId as RuntimeAppPublic>::ID,
			AsRef::<[u8]>::as_ref(&proof.offender).to_vec(),
		);
		let owner = pallet_session::KeyOwner::<T>::get(key).ok_or(Error::<T>::NotReportable)?;
		pallet_session::Pallet::<T>::validator_id_to_index(&owner)
			.ok_or(Error::<T>::NotReportable)?;
		Ok(owner)
	}
}
