//! Curator bonds: a curator's votes count only while it holds at least `CuratorBond`. Leaving takes
//! `CuratorUnbondDelay` blocks, during which the bond stays slashable, so a curator cannot vote
//! junk through and walk away; `ForceOrigin` slashes.

use crate::{
	pallet::{BalanceOf, Config, CuratorBonds, Error, Event, HoldReason, Pallet},
	types::CuratorBondInfo,
};
use frame_support::{
	ensure,
	pallet_prelude::DispatchResult,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision},
		Get,
	},
};
use sp_runtime::traits::{Saturating, Zero};

impl<T: Config> Pallet<T> {
	/// Whether `who`'s votes count: it holds at least `CuratorBond` and is not unbonding.
	pub fn is_bonded_curator(who: &T::AccountId) -> bool {
		CuratorBonds::<T>::get(who)
			.is_some_and(|b| b.unbonding_at.is_none() && b.amount >= T::CuratorBond::get())
	}

	pub(crate) fn do_bond_curator(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		let mut bond = CuratorBonds::<T>::get(who)
			.unwrap_or(CuratorBondInfo { amount: Zero::zero(), unbonding_at: None });
		bond.amount = bond.amount.saturating_add(amount);
		ensure!(bond.amount >= T::CuratorBond::get(), Error::<T>::CuratorBondTooSmall);
		T::Currency::hold(&HoldReason::CuratorBond.into(), who, amount)?;
		bond.unbonding_at = None;
		let total = bond.amount;
		CuratorBonds::<T>::insert(who, bond);
		Self::deposit_event(Event::CuratorBonded { curator: who.clone(), total });
		Ok(())
	}

	pub(crate) fn do_unbond_curator(who: &T::AccountId) -> DispatchResult {
		let mut bond = CuratorBonds::<T>::get(who).ok_or(Error::<T>::NotUnbondable)?;
		ensure!(bond.unbonding_at.is_none(), Error::<T>::NotUnbondable);
		let withdraw_at = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::CuratorUnbondDelay::get().into());
		bond.unbonding_at = Some(withdraw_at);
		CuratorBonds::<T>::insert(who, bond);
		Self::deposit_event(Event::CuratorUnbonding { curator: who.clone(), withdraw_at });
		Ok(())
	}

	pub(crate) fn do_withdraw_curator_bond(who: &T::AccountId) -> DispatchResult {
		let bond = CuratorBonds::<T>::get(who).ok_or(Error::<T>::BondStillLocked)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(bond.unbonding_at.is_some_and(|at| now >= at), Error::<T>::BondStillLocked);
		let amount = T::Currency::release(
			&HoldReason::CuratorBond.into(),
			who,
			bond.amount,
			Precision::BestEffort,
		)?;
		CuratorBonds::<T>::remove(who);
		Self::deposit_event(Event::CuratorBondWithdrawn { curator: who.clone(), amount });
		Ok(())
	}

	pub(crate) fn do_slash_curator(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		let mut bond = CuratorBonds::<T>::get(who).ok_or(Error::<T>::CuratorNotBonded)?;
		let burned = T::Currency::burn_held(
			&HoldReason::CuratorBond.into(),
			who,
			amount.min(bond.amount),
			Precision::BestEffort,
			Fortitude::Force,
		)?;
		bond.amount = bond.amount.saturating_sub(burned);
		match bond.amount.is_zero() {
			true => CuratorBonds::<T>::remove(who),
			false => CuratorBonds::<T>::insert(who, bond),
		}
		Self::deposit_event(Event::CuratorSlashed { curator: who.clone(), amount: burned });
		Ok(())
	}
}
