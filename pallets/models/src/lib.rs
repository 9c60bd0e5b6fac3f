//! # Models pallet
//!
//! The catalogue of models. **Base models** are registered by anyone with a deposit: name, family,
//! licence, parameter count and the BLAKE3 hash and size of every file (config, tokenizer, weights),
//! which workers fetch over the data plane as content-addressed blobs. **Trained models** are
//! registered by the jobs pallet (through [`ModelRegistry`]) when a job's result becomes final: the
//! adapter's hash and size, the training configuration, metrics and lineage (base, parent model,
//! datanet version, job). Both are listed by datanet and by base through prefix maps.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

pub mod types;
pub mod weights;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use types::*;
pub use weights::WeightInfo;

/// What the jobs pallet needs to know of a base model.
#[derive(Clone, Copy, Eq, PartialEq, Debug)]
pub struct BaseSummary {
	pub family: ModelFamily,
	pub params: u64,
	pub retired: bool,
}

/// How other pallets read and extend the catalogue.
pub trait ModelRegistry<AccountId, BlockNumber> {
	/// A base model's family, size and whether it is retired.
	fn base(id: BaseModelId) -> Option<BaseSummary>;
	/// The base model a trained model was trained on.
	fn base_of_trained(id: ModelId) -> Option<BaseModelId>;
	/// Records a trained model; returns its id.
	fn register_trained(
		model: TrainedModel<AccountId, BlockNumber>,
	) -> Result<ModelId, sp_runtime::DispatchError>;
	/// Registers a small base model owned by `owner` (benchmark set-up only).
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_register_base(owner: &AccountId) -> BaseModelId;
}

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
	use sp_runtime::traits::{CheckedAdd, Zero};

	pub type BalanceOf<T> =
		<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
	pub type FileOf<T> = ModelFile<<T as Config>::MaxFileNameLen>;
	pub type FilesOf<T> = BoundedVec<FileOf<T>, <T as Config>::MaxFiles>;
	pub type BaseModelOf<T> = BaseModel<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxNameLen,
		<T as Config>::MaxLicenseLen,
		<T as Config>::MaxFiles,
		<T as Config>::MaxFileNameLen,
	>;
	pub type TrainedModelOf<T> =
		TrainedModel<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency deposits are held in.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// Held from whoever lists a base model, until it is retired.
		#[pallet::constant]
		type BaseModelDeposit: Get<BalanceOf<Self>>;
		/// Longest model name, in bytes.
		#[pallet::constant]
		type MaxNameLen: Get<u32>;
		/// Longest licence, in bytes.
		#[pallet::constant]
		type MaxLicenseLen: Get<u32>;
		/// Most files of one base model.
		#[pallet::constant]
		type MaxFiles: Get<u32>;
		/// Longest file name, in bytes.
		#[pallet::constant]
		type MaxFileNameLen: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Reasons this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A listed base model's deposit.
		BaseModelDeposit,
	}

	/// The id the next base model gets.
	#[pallet::storage]
	pub type NextBaseModelId<T> = StorageValue<_, BaseModelId, ValueQuery>;

	/// Base models by id.
	#[pallet::storage]
	pub type BaseModels<T: Config> = StorageMap<_, Twox64Concat, BaseModelId, BaseModelOf<T>>;

	/// The id the next trained model gets.
	#[pallet::storage]
	pub type NextModelId<T> = StorageValue<_, ModelId, ValueQuery>;

	/// Trained models by id.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Twox64Concat, ModelId, TrainedModelOf<T>>;

	/// Trained models per datanet: iterate the prefix of a datanet.
	#[pallet::storage]
	pub type ModelsByDatanet<T> =
		StorageDoubleMap<_, Twox64Concat, u32, Twox64Concat, ModelId, (), OptionQuery>;

	/// Trained models per base model: iterate the prefix of a base.
	#[pallet::storage]
	pub type ModelsByBase<T> =
		StorageDoubleMap<_, Twox64Concat, BaseModelId, Twox64Concat, ModelId, (), OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A base model was listed.
		BaseModelRegistered { base: BaseModelId, owner: T::AccountId, family: ModelFamily },
		/// A base model was retired: it takes no new jobs and its deposit was released.
		BaseModelRetired { base: BaseModelId },
		/// A trained model was registered with its lineage.
		ModelRegistered { model: ModelId, lineage: Lineage, adapter: AdapterRef },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No base model has this id.
		UnknownBaseModel,
		/// Only the base model's owner may do this.
		NotOwner,
		/// The base model is already retired.
		AlreadyRetired,
		/// The model name is empty.
		EmptyName,
		/// The parameter count is zero.
		ZeroParams,
		/// A file name is empty, starts with a dot, or has a character other than
		/// `A-Z a-z 0-9 . _ -` (no paths).
		BadFileName,
		/// A file name is listed twice.
		DuplicateFile,
		/// A file's size is zero.
		EmptyFile,
		/// Safetensors weights need a `config.json` beside them.
		MissingConfig,
		/// A base model must include weights: a `.gguf` file or `.safetensors` files.
		MissingWeights,
		/// A counter reached its maximum.
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
		/// List a base model owned by the caller, holding `BaseModelDeposit` until it is retired.
		///
		/// `files` name every file of the model folder with its BLAKE3 hash and size: a `.gguf` file,
		/// or `.safetensors` weights with their `config.json` (and tokenizer files). File names are
		/// plain names (no paths), since workers write them to disk.
		///
		/// Emits `BaseModelRegistered`.
		///
		/// Weight: `O(f²)` in files (bounded; duplicate check).
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_base(files.len() as u32))]
		pub fn register_base(
			origin: OriginFor<T>,
			name: BoundedVec<u8, T::MaxNameLen>,
			family: ModelFamily,
			license: BoundedVec<u8, T::MaxLicenseLen>,
			params: u64,
			files: FilesOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			ensure!(!name.is_empty(), Error::<T>::EmptyName);
			ensure!(params > 0, Error::<T>::ZeroParams);
			for (i, f) in files.iter().enumerate() {
				ensure!(plain_file_name(&f.name), Error::<T>::BadFileName);
				ensure!(f.bytes > 0, Error::<T>::EmptyFile);
				ensure!(!files[..i].iter().any(|g| g.name == f.name), Error::<T>::DuplicateFile);
			}
			// Weights come as one GGUF file (config and tokenizer inside), or as safetensors beside
			// a config.json.
			let gguf = files.iter().any(|f| f.name.ends_with(b".gguf"));
			let safetensors = files.iter().any(|f| f.name.ends_with(b".safetensors"));
			ensure!(gguf || safetensors, Error::<T>::MissingWeights);
			ensure!(
				gguf || files.iter().any(|f| f.name.as_slice() == b"config.json"),
				Error::<T>::MissingConfig
			);
			let id = NextBaseModelId::<T>::get();
			NextBaseModelId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
			let deposit = T::BaseModelDeposit::get();
			T::Currency::hold(&HoldReason::BaseModelDeposit.into(), &owner, deposit)?;
			BaseModels::<T>::insert(
				id,
				BaseModel {
					owner: owner.clone(),
					name,
					family,
					license,
					params,
					files,
					deposit,
					retired: false,
					registered_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::BaseModelRegistered { base: id, owner, family });
			Ok(())
		}

		/// Retire a base model: it takes no new jobs (jobs already open still run) and its deposit is
		/// released. Owner only. The record stays, since trained models name it.
		///
		/// Emits `BaseModelRetired`.
		///
		/// Weight: `O(1)`
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::retire_base())]
		pub fn retire_base(origin: OriginFor<T>, base: BaseModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			BaseModels::<T>::try_mutate(base, |m| {
				let m = m.as_mut().ok_or(Error::<T>::UnknownBaseModel)?;
				ensure!(m.owner == who, Error::<T>::NotOwner);
				ensure!(!m.retired, Error::<T>::AlreadyRetired);
				T::Currency::release(
					&HoldReason::BaseModelDeposit.into(),
					&who,
					m.deposit,
					Precision::BestEffort,
				)?;
				m.deposit = Zero::zero();
				m.retired = true;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::BaseModelRetired { base });
			Ok(())
		}
	}

	/// A bare file name: non-empty, not starting with a dot, only `A-Z a-z 0-9 . _ -`.
	fn plain_file_name(name: &[u8]) -> bool {
		!name.is_empty()
			&& name[0] != b'.'
			&& name.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
	}

	impl<T: Config> Pallet<T> {
		/// Checks the pallet's invariants: deposits held per owner equal the deposits recorded on
		/// listed models, and every trained model is indexed by datanet and base.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let mut per_owner: alloc::collections::BTreeMap<T::AccountId, BalanceOf<T>> =
				Default::default();
			let next_base = NextBaseModelId::<T>::get();
			for (id, m) in BaseModels::<T>::iter() {
				ensure!(id < next_base, "base model id at or above NextBaseModelId");
				ensure!(!m.retired || m.deposit.is_zero(), "retired model holds a deposit");
				let e = per_owner.entry(m.owner).or_insert_with(Zero::zero);
				*e = e.checked_add(&m.deposit).ok_or("base model deposits overflow")?;
			}
			for (owner, deposit) in per_owner {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::BaseModelDeposit.into(), &owner)
						== deposit,
					"base model deposits differ from the balance held"
				);
			}
			let next_model = NextModelId::<T>::get();
			for (id, m) in Models::<T>::iter() {
				ensure!(id < next_model, "model id at or above NextModelId");
				ensure!(BaseModels::<T>::contains_key(m.lineage.base), "model of an unknown base");
				ensure!(
					ModelsByDatanet::<T>::contains_key(m.lineage.datanet, id)
						&& ModelsByBase::<T>::contains_key(m.lineage.base, id),
					"trained model missing from an index"
				);
			}
			Ok(())
		}
	}

	impl<T: Config> ModelRegistry<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
		fn base(id: BaseModelId) -> Option<BaseSummary> {
			BaseModels::<T>::get(id).map(|m| BaseSummary {
				family: m.family,
				params: m.params,
				retired: m.retired,
			})
		}

		fn base_of_trained(id: ModelId) -> Option<BaseModelId> {
			Models::<T>::get(id).map(|m| m.lineage.base)
		}

		fn register_trained(model: TrainedModelOf<T>) -> Result<ModelId, DispatchError> {
			ensure!(
				BaseModels::<T>::contains_key(model.lineage.base),
				Error::<T>::UnknownBaseModel
			);
			let id = NextModelId::<T>::get();
			NextModelId::<T>::put(id.checked_add(1).ok_or(Error::<T>::Overflow)?);
			ModelsByDatanet::<T>::insert(model.lineage.datanet, id, ());
			ModelsByBase::<T>::insert(model.lineage.base, id, ());
			Self::deposit_event(Event::ModelRegistered {
				model: id,
				lineage: model.lineage,
				adapter: model.adapter,
			});
			Models::<T>::insert(id, model);
			Ok(id)
		}

		#[cfg(feature = "runtime-benchmarks")]
		fn bench_register_base(owner: &T::AccountId) -> BaseModelId {
			use sp_runtime::traits::Saturating;
			let need = T::BaseModelDeposit::get().saturating_add(T::Currency::minimum_balance());
			if T::Currency::balance(owner) < need {
				T::Currency::set_balance(owner, need.saturating_mul(2u32.into()));
			}
			let id = NextBaseModelId::<T>::get();
			let file = |name: &[u8]| ModelFile {
				name: BoundedVec::truncate_from(name.to_vec()),
				hash: [9u8; 32],
				bytes: 1024,
			};
			Pallet::<T>::register_base(
				frame_system::RawOrigin::Signed(owner.clone()).into(),
				BoundedVec::truncate_from(b"bench-model".to_vec()),
				ModelFamily::Llama,
				BoundedVec::truncate_from(b"apache-2.0".to_vec()),
				1_000_000,
				BoundedVec::truncate_from(alloc::vec![
					file(b"config.json"),
					file(b"model.safetensors")
				]),
			)
			.expect("benchmark base model registers");
			id
		}
	}
}
