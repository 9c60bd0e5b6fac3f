//! Commit-reveal for contributions: knowing a content hash is worth nothing.
//!
//! A contributor first posts `commitment(datanet, hash, contributor)`, which says nothing about
//! the bytes and cannot be made for anyone else, and reveals (`submit_contribution`) in a later
//! block; only then does the honest client send the bytes to data peers. Someone who learns the
//! hash (from the reveal, or from the bytes) can only commit after the author did. If their reveal
//! still lands first, the author's reveal takes the hash over while it is pending: the later
//! committer's contribution is marked `Superseded` and its deposit goes to the curation pot. It
//! cannot be accepted before that, since curators cannot fetch bytes the author has not sent yet.
//!
//! Commitments live `CommitmentLifetime` blocks, at most `MaxCommitments` per account; expired ones
//! are dropped whenever the account commits or reveals, so the storage an account can hold is
//! bounded and self-cleaning.

use crate::{pallet::*, types::*};
use codec::Encode;
use frame_support::{ensure, pallet_prelude::*};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::Saturating;

/// Prefix of every commitment preimage.
pub const COMMITMENT_DOMAIN: &[u8] = b"tributary/contribution-commitment/v1";

/// `blake2_256(COMMITMENT_DOMAIN ‖ datanet:u32 LE ‖ content_hash ‖ SCALE(contributor))`: what a
/// contributor posts with `commit_contribution` before revealing `content_hash`.
pub fn commitment_of<AccountId: Encode>(
	datanet: DatanetId,
	content_hash: &ContentHash,
	contributor: &AccountId,
) -> Commitment {
	let mut preimage = alloc::vec::Vec::with_capacity(COMMITMENT_DOMAIN.len() + 4 + 32 + 32);
	preimage.extend_from_slice(COMMITMENT_DOMAIN);
	preimage.extend_from_slice(&datanet.to_le_bytes());
	preimage.extend_from_slice(content_hash);
	contributor.encode_to(&mut preimage);
	sp_io::hashing::blake2_256(&preimage)
}

impl<T: Config> Pallet<T> {
	/// Whether a commitment made in block `made` can still be revealed in block `now`.
	fn commitment_live(made: BlockNumberFor<T>, now: BlockNumberFor<T>) -> bool {
		made.saturating_add(T::CommitmentLifetime::get().into()) >= now
	}

	/// Records `commitment` for `who` in the current block. Committing again to a live
	/// commitment keeps its original block (the earliest claim counts).
	pub(crate) fn do_commit(who: &T::AccountId, commitment: Commitment) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		Commitments::<T>::try_mutate(who, |list| {
			list.retain(|(_, made)| Self::commitment_live(*made, now));
			if list.iter().any(|(c, _)| *c == commitment) {
				return Ok(());
			}
			list.try_push((commitment, now)).map_err(|_| Error::<T>::TooManyCommitments.into())
		})
	}

	/// Takes `who`'s live commitment to `content_hash` in `datanet`, made before the current
	/// block; returns the block it was made in and how many commitments `who` held (the list's
	/// cost).
	pub(crate) fn take_commitment(
		who: &T::AccountId,
		datanet: DatanetId,
		content_hash: &ContentHash,
	) -> Result<(BlockNumberFor<T>, u32), DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let wanted = commitment_of(datanet, content_hash, who);
		let mut list = Commitments::<T>::get(who);
		let held = list.len() as u32;
		list.retain(|(_, made)| Self::commitment_live(*made, now));
		let at = list.iter().position(|(c, _)| *c == wanted).ok_or(Error::<T>::NotCommitted)?;
		let made = list[at].1;
		ensure!(made < now, Error::<T>::CommitmentTooRecent);
		list.remove(at);
		if list.is_empty() {
			Commitments::<T>::remove(who);
		} else {
			Commitments::<T>::insert(who, list);
		}
		Ok((made, held))
	}

	/// Whether a reveal committed in block `committed` takes the hash from `holder`: only from
	/// a pending one, and only with a strictly earlier commitment. Contributions pending from
	/// before commitments existed count as committed at block 0.
	pub(crate) fn takes_over(holder: &ContributionOf<T>, committed: BlockNumberFor<T>) -> bool {
		holder.status == ContributionStatus::Pending && committed < holder.committed_at
	}

	/// `old` (its record `c`) lost its hash to `by`, whose author committed to the bytes first:
	/// it leaves its expiry bucket and its deposit goes to the curation pot. The caller
	/// re-points the hash.
	pub(crate) fn supersede(old: ContributionId, mut c: ContributionOf<T>, by: ContributionId) {
		Self::end_pending(old, c.expires_at);
		c.status = ContributionStatus::Superseded { by };
		let forfeited = Self::forfeit_deposit(&c);
		let (datanet, contributor) = (c.datanet, c.contributor.clone());
		Contributions::<T>::insert(old, c);
		Self::deposit_event(Event::ContributionSuperseded {
			contribution: old,
			by,
			datanet,
			contributor,
			forfeited,
		});
	}
}
