//! # Fees pallet
//!
//! How callers pay for answers, and how each fee reaches the people whose data shaped the model.
//!
//! - **Prices.** A serving worker publishes its price per 1,000 tokens (prompt and answer);
//!   without one it serves for free.
//! - **Tabs.** A payer opens a tab with a worker: funds held on the payer's account for that
//!   worker alone, so the worker knows what it will be paid before it answers. The payer may top
//!   it up, and close it: after `CloseDelay` blocks (time for the worker to settle) the payer
//!   withdraws what is left.
//! - **Vouchers.** With each request the payer signs a [`Voucher`]: the worker may take up to a
//!   cumulative amount, over the tab's life, for answers of one model. Nothing goes on chain per
//!   request.
//! - **Settlement.** Once per fee period a worker settles: for each (payer, model) it submits the
//!   latest voucher and what it charges in all (its receipts' sum, at most the voucher's amount),
//!   with a commitment to the period's usage receipts. Each charge pays its rise over what was
//!   paid before, from the tab, through the rewards pallet: by the model's
//!   datanet's split, the serving worker and the datanet owner at once, contributors and
//!   curators through the fee pool of the model's job, by the job's payout table. A bad charge
//!   pays nothing and does not stop the others.
//!
//! What a payer risks is what it signed: a worker can take up to the voucher's amount, whatever
//! it served. What a worker risks is serving past its tab, or settling after the payer withdrew.
//! docs/fees.md gives the formats and the numbers.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod types;
pub mod voucher;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use pallet_rewards::{Period, RewardPools};
pub use types::*;
pub use weights::WeightInfo;

/// Trained models that fees may be paid for (the models and jobs pallets answer).
pub trait PaidModels {
	/// The job that trained `model`, its datanet and payout table; `None` when no trained model
	/// with a final job has this id.
	fn payout(model: ModelId) -> Option<ModelPayout>;
	/// A trained model fees may be paid for (benchmark set-up only). The default names none (a
	/// settlement benchmark then pays nothing): a runtime built with its own
	/// `runtime-benchmarks` feature provides one.
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_model() -> ModelId {
		ModelId::MAX
	}
}

/// Signs vouchers in benchmarks, where the pallet cannot hold keys of its own. `()` signs
/// nothing (the settlement benchmark then fails): a runtime built with its own
/// `runtime-benchmarks` feature provides a signer.
pub trait BenchmarkHelper<AccountId, Signature> {
	/// An account whose key the helper holds, and its signature over a payload.
	#[cfg(feature = "runtime-benchmarks")]
	fn signer() -> Option<(AccountId, Sign<Signature>)> {
		None
	}
}

impl<A, S> BenchmarkHelper<A, S> for () {}

/// Signs a payload (benchmarks).
pub type Sign<Signature> = fn(&[u8]) -> Signature;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::Precision,
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_runtime::traits::{IdentifyAccount, Saturating, Verify, Zero};

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type TabOf<T> = Tab<BalanceOf<T>, BlockNumberFor<T>>;
	pub type VoucherOf<T> = Voucher<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
	pub type SignedVoucherOf<T> = SignedVoucher<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		<T as Config>::Signature,
	>;
	pub type ChargeOf<T> =
		Charge<<T as frame_system::Config>::AccountId, BalanceOf<T>, <T as Config>::Signature>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency tabs are held and fees paid in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The signature payers sign vouchers with (the runtime's extrinsic signature).
		type Signature: Verify<Signer: IdentifyAccount<AccountId = Self::AccountId>>
			+ Parameter
			+ DecodeWithMemTracking
			+ MaxEncodedLen;
		/// Trained models and their payout tables.
		type Models: PaidModels;
		/// Shares each fee by the datanet's split.
		type Rewards: RewardPools<Self::AccountId, BalanceOf<Self>>;
		/// The smallest amount a new tab may hold (tabs are storage: no dust tabs).
		#[pallet::constant]
		type MinTab: Get<BalanceOf<Self>>;
		/// Blocks between a payer closing a tab and withdrawing what is left: the worker's time
		/// to settle. At least two fee periods, so that a worker settling once a period is never
		/// late.
		#[pallet::constant]
		type CloseDelay: Get<BlockNumberFor<Self>>;
		/// Most vouchers in one settlement.
		#[pallet::constant]
		type MaxVouchers: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// Signs vouchers in benchmarks.
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId, Self::Signature>;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// What a payer's open tabs hold.
		Tab,
	}

	/// Workers' prices: per 1,000 tokens of prompt and answer. No entry: free.
	#[pallet::storage]
	pub type Prices<T: Config> = StorageMap<_, Twox64Concat, T::AccountId, BalanceOf<T>>;

	/// The id the next tab gets.
	#[pallet::storage]
	pub type NextTabId<T> = StorageValue<_, TabId, ValueQuery>;

	/// Open tabs by payer and worker.
	#[pallet::storage]
	pub type Tabs<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Blake2_128Concat,
		T::AccountId,
		TabOf<T>,
	>;

	/// What vouchers already paid, by tab and model.
	#[pallet::storage]
	pub type Spent<T: Config> =
		StorageDoubleMap<_, Twox64Concat, TabId, Twox64Concat, ModelId, BalanceOf<T>, ValueQuery>;

	/// Each worker's settlement of a fee period: its usage commitment and what it was paid.
	#[pallet::storage]
	pub type Settlements<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Twox64Concat,
		Period,
		(UsageCommitment, BalanceOf<T>),
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker published its price per 1,000 tokens (zero: free).
		PriceSet { worker: T::AccountId, price: BalanceOf<T> },
		/// A payer opened or topped up a tab with a worker.
		TabFunded {
			payer: T::AccountId,
			worker: T::AccountId,
			tab: TabId,
			added: BalanceOf<T>,
			balance: BalanceOf<T>,
		},
		/// A payer closed a tab: the worker may settle until `closes_at`, then the payer
		/// withdraws.
		TabClosing {
			payer: T::AccountId,
			worker: T::AccountId,
			tab: TabId,
			closes_at: BlockNumberFor<T>,
		},
		/// A closed tab's remainder went back to its payer.
		TabWithdrawn {
			payer: T::AccountId,
			worker: T::AccountId,
			tab: TabId,
			returned: BalanceOf<T>,
		},
		/// A charge was paid: `amount` more for `model`, `spent` in all on this tab.
		VoucherPaid {
			payer: T::AccountId,
			worker: T::AccountId,
			tab: TabId,
			model: ModelId,
			amount: BalanceOf<T>,
			spent: BalanceOf<T>,
		},
		/// A charge of a settlement paid nothing.
		VoucherRefused {
			payer: T::AccountId,
			worker: T::AccountId,
			model: ModelId,
			reason: VoucherRefusal,
		},
		/// A worker settled a fee period.
		UsageSettled {
			worker: T::AccountId,
			period: Period,
			usage: UsageCommitment,
			paid: BalanceOf<T>,
			vouchers_paid: u32,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// A new tab must hold at least `MinTab`.
		TabTooSmall,
		/// The tab is closing: it takes no more funds (withdraw it, then open a new one).
		TabClosing,
		/// No tab with this worker.
		NoTab,
		/// The tab was not closed, or its close delay has not passed.
		TabNotClosed,
		/// This worker already settled this fee period.
		AlreadySettled,
		/// A tab with yourself.
		SelfTab,
		/// Tab ids ran out.
		Overflow,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Opens a tab with `worker` holding `amount`, or adds `amount` to the open one.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::fund_tab())]
		pub fn fund_tab(
			origin: OriginFor<T>,
			worker: T::AccountId,
			#[pallet::compact] amount: BalanceOf<T>,
		) -> DispatchResult {
			let payer = ensure_signed(origin)?;
			ensure!(payer != worker, Error::<T>::SelfTab);
			let mut tab = match Tabs::<T>::get(&payer, &worker) {
				Some(tab) => {
					ensure!(tab.closes_at.is_none(), Error::<T>::TabClosing);
					tab
				}
				None => {
					ensure!(amount >= T::MinTab::get(), Error::<T>::TabTooSmall);
					let id = NextTabId::<T>::get();
					NextTabId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
					Tab { id, balance: Zero::zero(), closes_at: None }
				}
			};
			T::Currency::hold(&HoldReason::Tab.into(), &payer, amount)?;
			tab.balance.saturating_accrue(amount);
			Self::deposit_event(Event::TabFunded {
				payer: payer.clone(),
				worker: worker.clone(),
				tab: tab.id,
				added: amount,
				balance: tab.balance,
			});
			Tabs::<T>::insert(&payer, &worker, tab);
			Ok(())
		}

		/// Closes the tab with `worker`: the worker may settle for `CloseDelay` more blocks, then
		/// the payer withdraws what is left.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::close_tab())]
		pub fn close_tab(origin: OriginFor<T>, worker: T::AccountId) -> DispatchResult {
			let payer = ensure_signed(origin)?;
			let mut tab = Tabs::<T>::get(&payer, &worker).ok_or(Error::<T>::NoTab)?;
			ensure!(tab.closes_at.is_none(), Error::<T>::TabClosing);
			let closes_at =
				frame_system::Pallet::<T>::block_number().saturating_add(T::CloseDelay::get());
			tab.closes_at = Some(closes_at);
			Self::deposit_event(Event::TabClosing {
				payer: payer.clone(),
				worker: worker.clone(),
				tab: tab.id,
				closes_at,
			});
			Tabs::<T>::insert(&payer, &worker, tab);
			Ok(())
		}

		/// Returns a closed tab's remainder to its payer once the close delay has passed.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>, worker: T::AccountId) -> DispatchResult {
			let payer = ensure_signed(origin)?;
			let tab = Tabs::<T>::get(&payer, &worker).ok_or(Error::<T>::NoTab)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(tab.closes_at.is_some_and(|at| now >= at), Error::<T>::TabNotClosed);
			let returned = T::Currency::release(
				&HoldReason::Tab.into(),
				&payer,
				tab.balance,
				Precision::BestEffort,
			)?;
			Tabs::<T>::remove(&payer, &worker);
			// Records of what the tab's vouchers paid: harmless if some remain (no voucher can
			// name this tab again), so the clean-up is bounded.
			let _ = Spent::<T>::clear_prefix(tab.id, T::MaxVouchers::get(), None);
			Self::deposit_event(Event::TabWithdrawn { payer, worker, tab: tab.id, returned });
			Ok(())
		}

		/// Publishes the caller's price per 1,000 tokens, as a serving worker (zero: free).
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::set_price())]
		pub fn set_price(
			origin: OriginFor<T>,
			#[pallet::compact] price: BalanceOf<T>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			if price.is_zero() {
				Prices::<T>::remove(&worker);
			} else {
				Prices::<T>::insert(&worker, price);
			}
			Self::deposit_event(Event::PriceSet { worker, price });
			Ok(())
		}

		/// Settles the caller's (a serving worker's) current fee period: commits to its usage
		/// receipts and is paid each charge's rise over what the tab already paid for its model.
		/// Once per period; charges that pay nothing are reported and skipped.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::settle(charges.len() as u32))]
		pub fn settle(
			origin: OriginFor<T>,
			usage: UsageCommitment,
			charges: BoundedVec<ChargeOf<T>, T::MaxVouchers>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let period = T::Rewards::fee_period();
			ensure!(!Settlements::<T>::contains_key(&worker, period), Error::<T>::AlreadySettled);
			let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			let mut paid: BalanceOf<T> = Zero::zero();
			let mut vouchers_paid = 0u32;
			for charge in charges {
				let payer = charge.signed.payer.clone();
				let model = charge.signed.voucher.model;
				match Self::pay_charge(&worker, &genesis, charge) {
					Ok(amount) => {
						paid.saturating_accrue(amount);
						vouchers_paid += 1;
					}
					Err(reason) => Self::deposit_event(Event::VoucherRefused {
						payer,
						worker: worker.clone(),
						model,
						reason,
					}),
				}
			}
			Settlements::<T>::insert(&worker, period, (usage, paid));
			Self::deposit_event(Event::UsageSettled { worker, period, usage, paid, vouchers_paid });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Pays one charge of `worker`'s settlement; returns the amount, or why it paid nothing
		/// (then nothing changed).
		fn pay_charge(
			worker: &T::AccountId,
			genesis: &T::Hash,
			charge: ChargeOf<T>,
		) -> Result<BalanceOf<T>, VoucherRefusal> {
			let Charge { signed: SignedVoucher { payer, voucher, signature }, total } = charge;
			let mut tab = Tabs::<T>::get(&payer, worker).ok_or(VoucherRefusal::NoTab)?;
			// A voucher for another worker names another tab key: it fails here or on the
			// signature, never pays this worker.
			ensure!(voucher.tab == tab.id && &voucher.worker == worker, VoucherRefusal::WrongTab);
			let payload = crate::voucher::payload(genesis, &voucher);
			ensure!(
				crate::voucher::verify(&signature, &payload, &payer),
				VoucherRefusal::BadSignature
			);
			ensure!(total <= voucher.cumulative, VoucherRefusal::OverVoucher);
			let spent = Spent::<T>::get(tab.id, voucher.model);
			let owed = total.saturating_sub(spent);
			ensure!(!owed.is_zero(), VoucherRefusal::NothingOwed);
			let amount = owed.min(tab.balance);
			ensure!(!amount.is_zero(), VoucherRefusal::TabEmpty);
			let model = T::Models::payout(voucher.model).ok_or(VoucherRefusal::UnknownModel)?;
			frame_support::storage::with_storage_layer(|| {
				T::Currency::release(&HoldReason::Tab.into(), &payer, amount, Precision::Exact)?;
				T::Rewards::pay_fees(
					model.job,
					model.datanet,
					&payer,
					amount,
					worker,
					model.root,
					model.leaves,
				)
			})
			.map_err(|_| VoucherRefusal::PaymentFailed)?;
			let spent = spent.saturating_add(amount);
			Spent::<T>::insert(tab.id, voucher.model, spent);
			tab.balance.saturating_reduce(amount);
			Tabs::<T>::insert(&payer, worker, &tab);
			Self::deposit_event(Event::VoucherPaid {
				payer,
				worker: worker.clone(),
				tab: tab.id,
				model: voucher.model,
				amount,
				spent,
			});
			Ok(amount)
		}

		/// What `payer` may still be charged on its tab with `worker` beyond the vouchers paid,
		/// for the worker to check before it answers: the tab's id and balance, if open.
		pub fn tab(payer: &T::AccountId, worker: &T::AccountId) -> Option<TabOf<T>> {
			Tabs::<T>::get(payer, worker)
		}

		/// Checks that every payer's held funds equal the balances of its tabs, and tab ids are
		/// below `NextTabId`.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let next = NextTabId::<T>::get();
			let mut held: alloc::collections::BTreeMap<T::AccountId, BalanceOf<T>> =
				Default::default();
			for (payer, _, tab) in Tabs::<T>::iter() {
				ensure!(tab.id < next, "tab id at or above NextTabId");
				held.entry(payer).or_insert_with(Zero::zero).saturating_accrue(tab.balance);
			}
			for (payer, sum) in held {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::Tab.into(), &payer) == sum,
					"a payer's held funds differ from its tabs"
				);
			}
			Ok(())
		}
	}
}
