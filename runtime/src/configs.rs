//! Pallet configurations.

use frame_support::dispatch::DispatchClass;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstBool, ConstU128, ConstU16, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		IdentityFee, Weight,
	},
	PalletId,
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{traits::One, Perbill};
use sp_version::RuntimeVersion;

use super::*;

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per six-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	pub RuntimeBlockLength: BlockLength =
		BlockLength::builder()
			.max_length(5 * 1024 * 1024)
			.modify_max_length_for_class(DispatchClass::Normal, |m| *m = NORMAL_DISPATCH_RATIO * *m)
			.build();
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = ParityDbWeight;
	// The transaction extensions' storage priced with the database the node runs (ParityDB);
	// the default (`()`) prices it as RocksDB, about 170 µs more per extrinsic.
	type ExtensionsWeightInfo = frame_system::SubstrateExtensionsWeight<Runtime>;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = Session;
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<{ VALIDATOR_HISTORY_DEPTH as u64 }>;
	type KeyOwnerProof = sp_session::MembershipProof;
	type EquivocationReportSystem =
		pallet_grandpa::EquivocationReportSystem<Self, Validators, Historical, ReportLongevity>;
}

/// Sessions whose validator sets are kept, so equivocations in them can still be proven.
pub const VALIDATOR_HISTORY_DEPTH: u32 = 28;
/// The shortest session: a set change needs a session to queue and one to apply.
pub const MIN_SESSION_LENGTH: BlockNumber = 4;

parameter_types! {
	/// How long an unsigned equivocation report stays in the pool: a day of blocks.
	pub const ReportLongevity: u64 = 24 * HOURS as u64;
}

impl pallet_authorship::Config for Runtime {
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Aura>;
	type EventHandler = ();
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = sp_runtime::traits::ConvertInto;
	type ShouldEndSession = Validators;
	type NextSessionRotation = Validators;
	type SessionManager = pallet_session::historical::NoteHistoricalRoot<Self, Validators>;
	type SessionHandler = <SessionKeys as sp_runtime::traits::OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	// At most a third of the set disabled at once (the Byzantine bound).
	type DisablingStrategy = pallet_session::disabling::UpToLimitDisablingStrategy;
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	/// Held while session keys are set: key storage is paid for by whoever fills it.
	type KeyDeposit = ConstU128<{ 10 * UNIT }>;
}

impl pallet_session::historical::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type FullIdentification = ();
	type FullIdentificationOf = pallet_validators::NoIdentification;
}

impl pallet_validators::Config for Runtime {
	type ValidatorOrigin = frame_system::EnsureRoot<AccountId>;
	type MaxValidators = ConstU32<32>;
	type MinValidators = ConstU32<1>;
	type MinSessionLength = ConstU32<MIN_SESSION_LENGTH>;
	type HistoryDepth = ConstU32<VALIDATOR_HISTORY_DEPTH>;
	/// A day of slots.
	type AuraReportWindow = ConstU64<{ 24 * HOURS as u64 }>;
	type WeightInfo = pallet_validators::weights::SubstrateWeight<Runtime>;
}

/// Unsigned transactions built inside the runtime (GRANDPA's equivocation reports).
impl<C> frame_system::offchain::CreateTransactionBase<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extrinsic = UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<C> frame_system::offchain::CreateBare<C> for Runtime
where
	RuntimeCall: From<C>,
{
	fn create_bare(call: RuntimeCall) -> UncheckedExtrinsic {
		UncheckedExtrinsic::new_bare(call)
	}
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	/// One planck per unit of ref-time: a contribution costs a few thousandths of a TRIB.
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const DatanetsPalletId: PalletId = PalletId(*b"trib/dnt");
}

impl pallet_datanets::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Time = Timestamp;
	type PalletId = DatanetsPalletId;
	type DatanetDeposit = ConstU128<{ 10 * UNIT }>;
	// Held for good from a datanet that counts on the global board: a board farmed from
	// self-made datanets costs this much per datanet.
	type GlobalBoardBond = ConstU128<{ 100 * UNIT }>;
	// A contribution's record, votes and index entries cost this while stored: 0.01 TRIB, and
	// 0.00001 TRIB per metadata byte (512 bytes: 0.005 TRIB more).
	type RecordDepositBase = ConstU128<{ 10 * MILLI_UNIT }>;
	type RecordDepositPerByte = ConstU128<{ MILLI_UNIT / 100 }>;
	// A day more than the longest pending time (30 days): nothing is pending when clearing
	// starts, and jobs on the last versions have had a month.
	type ClearDelay = ConstU32<{ 31 * 14_400 }>;
	type MaxNameLen = ConstU32<64>;
	type MaxDescriptionLen = ConstU32<1024>;
	type MaxFormats = ConstU32<16>;
	type MaxFormatLen = ConstU32<16>;
	type MaxCurators = ConstU32<64>;
	type MaxMetadataLen = ConstU32<512>;
	type MaxPendingBlocks = ConstU32<{ 30 * 14_400 }>;
	// Above the ~400 submissions a 6 s block holds (scripts/bench-chain): at 256 a sustained flood
	// filled the spill window and was refused with `ExpiryScheduleFull`. 512 expiries weigh about
	// 0.27 s of a block's 2 s, once, a week after their submissions.
	type MaxExpiriesPerBlock = ConstU32<512>;
	// A day of 6 s blocks between an owner changing a fee, quorum or deposit and the change.
	type RulesChangeDelay = ConstU32<14_400>;
	type ForceOrigin = frame_system::EnsureRoot<AccountId>;
	// One page of the RPC's default size; each acceptance rewrites two boards of this many.
	type MaxLeaderboardLen = ConstU32<100>;
	// A contributor's day is 20 items by default; 64 open commitments leave room for retries.
	type MaxCommitments = ConstU32<64>;
	// A day of 6 s blocks to reveal.
	type CommitmentLifetime = ConstU32<14_400>;
	/// A curator's bond: 50 TRIB.
	type CuratorBond = ConstU128<{ 50 * UNIT }>;
	/// A week: the bond stays slashable that long after the last vote.
	type CuratorUnbondDelay = ConstU32<100_800>;
	type WeightInfo = pallet_datanets::weights::SubstrateWeight<Runtime>;
}

/// Blocks per minute at the target block time.
const MINUTES: BlockNumber = (60_000 / MILLI_SECS_PER_BLOCK) as BlockNumber;
const HOURS: BlockNumber = 60 * MINUTES;

/// A claim's lease: a worker heartbeats well within it (the job runner does every ~30 s).
pub const LEASE_PERIOD: BlockNumber = 2 * MINUTES;
/// The longest one claim may run, heartbeats included.
pub const MAX_CLAIM_BLOCKS: BlockNumber = 24 * HOURS;
/// Between a result and its finality, at least: the result's spot check (commits, reveals and a
/// re-run by each verifier, `CHECK_*` below) sets the real window.
pub const CHALLENGE_WINDOW: BlockNumber = 2 * MINUTES;
/// Verifiers offer to check a result for this long after it is submitted.
pub const CHECK_COMMIT: BlockNumber = MINUTES;
/// Then reveal their secrets (the seed that picks the entries to check).
pub const CHECK_REVEAL: BlockNumber = MINUTES;
/// Then vote: each re-runs the job (started when it committed) and compares the sampled entries.
/// Ten minutes cover the small models CPU workers train today; larger models need a longer
/// period (a vote period sized from the job is future work).
pub const CHECK_VOTE: BlockNumber = 10 * MINUTES;
/// Most lease expiries or finalizations one block processes (a full bucket spills into the next).
pub const JOBS_PER_BLOCK: u32 = 16;

impl pallet_workers::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinBond = ConstU128<{ 100 * UNIT }>;
	/// Longer than any claim plus its challenge window or spot check and spill-over, so a worker
	/// still answers with its bond for every result it submitted and every check it joined.
	type UnbondDelay = ConstU32<
		{
			MAX_CLAIM_BLOCKS
				+ CHALLENGE_WINDOW
				+ CHECK_COMMIT
				+ CHECK_REVEAL
				+ CHECK_VOTE + 2 * JOBS_PER_BLOCK
				+ HOURS
		},
	>;
	type MaxPeerIdLen = ConstU32<64>;
	type MaxAddrs = ConstU32<8>;
	type MaxAddrLen = ConstU32<128>;
	type MaxEndpointLen = ConstU32<128>;
	type WeightInfo = pallet_workers::weights::SubstrateWeight<Runtime>;
}

impl pallet_models::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type BaseModelDeposit = ConstU128<{ 10 * UNIT }>;
	type MaxNameLen = ConstU32<64>;
	type MaxLicenseLen = ConstU32<64>;
	type MaxFiles = ConstU32<16>;
	type MaxFileNameLen = ConstU32<64>;
	type WeightInfo = pallet_models::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// How jobs opened from now on compute their payout tables (docs/attribution.md): 16
	/// projected dimensions per side, 3 checkpoints, AdamW-aware scores, self-influence damped by
	/// 0.1. A runtime upgrade that changes it leaves open jobs with the method they were opened
	/// with.
	pub const JobAttribution: pallet_jobs::AttributionMethod = pallet_jobs::AttributionMethod {
		projection: 16,
		seed: 0,
		checkpoints: 3,
		damping_micro: Some(100_000),
		optimizer_aware: true,
	};
}

impl pallet_jobs::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Datasets = Datanets;
	type Workers = Workers;
	type Models = Models;
	type Rewards = Rewards;
	type Checks = Attribution;
	type MinBudget = ConstU128<UNIT>;
	type LeasePeriod = ConstU32<LEASE_PERIOD>;
	type MaxClaimBlocks = ConstU32<MAX_CLAIM_BLOCKS>;
	type ChallengeWindow = ConstU32<CHALLENGE_WINDOW>;
	type LapsePenalty = ConstU128<{ 10 * UNIT }>;
	type MaxPerBlock = ConstU32<JOBS_PER_BLOCK>;
	type MaxRank = ConstU16<256>;
	type MaxSeqLen = ConstU32<32_768>;
	type MaxSteps = ConstU32<1_000_000>;
	type AttributionMethod = JobAttribution;
	type WeightInfo = pallet_jobs::weights::SubstrateWeight<Runtime>;
}

/// A model's rewards can be claimed for this long; then what is left goes to the datanet's pot.
pub const REWARD_CLAIM_PERIOD: BlockNumber = 30 * 24 * HOURS;

parameter_types! {
	pub const RewardsPalletId: PalletId = PalletId(*b"trib/rwd");
	/// Until a datanet publishes its own: half to contributors (by attribution), 30% to the
	/// worker, a tenth each to curators and the owner.
	pub const DefaultRewardSplit: pallet_rewards::RewardSplit = pallet_rewards::RewardSplit {
		contributors: 500_000,
		curators: 100_000,
		worker: 300_000,
		owner: 100_000,
	};
}

/// The rewards pallet asks the datanets pallet who owns a datanet.
pub struct DatanetOwners;
impl pallet_rewards::DatanetOwners<AccountId> for DatanetOwners {
	fn owner(datanet: pallet_rewards::DatanetId) -> Option<AccountId> {
		<Datanets as pallet_datanets::DatasetRead<AccountId>>::owner(datanet)
	}
	#[cfg(feature = "runtime-benchmarks")]
	fn bench_datanet(owner: &AccountId) -> pallet_rewards::DatanetId {
		<Datanets as pallet_datanets::DatasetRead<AccountId>>::bench_text_version(owner)
	}
}

impl pallet_rewards::Config for Runtime {
	type Currency = Balances;
	type Datanets = DatanetOwners;
	type PalletId = RewardsPalletId;
	type DefaultSplit = DefaultRewardSplit;
	type ClaimPeriod = ConstU32<REWARD_CLAIM_PERIOD>;
	type FeePeriod = ConstU32<FEE_PERIOD>;
	type MaxProofLen = ConstU32<32>;
	type WeightInfo = pallet_rewards::weights::SubstrateWeight<Runtime>;
}

/// Answer fees of one period share a pool per model, which pays claims once the period is over;
/// each serving worker settles once a period.
pub const FEE_PERIOD: BlockNumber = 10 * MINUTES;

/// The fees pallet finds a trained model's job, datanet and payout table in the models and jobs
/// pallets: only models whose job is final (its table committed and past its challenge window).
pub struct ModelPayouts;
impl pallet_fees::PaidModels for ModelPayouts {
	fn payout(model: pallet_fees::ModelId) -> Option<pallet_fees::ModelPayout> {
		let m = pallet_models::Models::<Runtime>::get(model)?;
		let job = pallet_jobs::JobInfo::<Runtime>::get(m.lineage.job)?;
		match job.status {
			pallet_jobs::JobStatus::Finalized { attribution, .. } => {
				Some(pallet_fees::ModelPayout {
					job: m.lineage.job,
					datanet: m.lineage.datanet,
					root: attribution.root,
					leaves: attribution.leaves,
				})
			}
			_ => None,
		}
	}
}

/// Signs vouchers with a key the benchmark's keystore generates.
pub struct VoucherSigner;
impl pallet_fees::BenchmarkHelper<AccountId, Signature> for VoucherSigner {
	#[cfg(feature = "runtime-benchmarks")]
	fn signer() -> Option<(AccountId, pallet_fees::Sign<Signature>)> {
		use sp_runtime::app_crypto::RuntimePublic;
		fn key() -> sp_core::sr25519::Public {
			sp_core::sr25519::Public::generate_pair(
				sp_core::crypto::key_types::ACCOUNT,
				Some(b"//Payer".to_vec()),
			)
		}
		let sign = |payload: &[u8]| -> Signature {
			key()
				.sign(sp_core::crypto::key_types::ACCOUNT, &payload)
				.expect("the benchmark keystore signs")
				.into()
		};
		Some((sp_runtime::MultiSigner::from(key()).into_account(), sign))
	}
}

impl pallet_fees::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Signature = Signature;
	type Models = ModelPayouts;
	type Rewards = Rewards;
	type MinTab = ConstU128<UNIT>;
	type CloseDelay = ConstU32<{ 3 * FEE_PERIOD }>;
	type MaxVouchers = ConstU32<256>;
	type WeightInfo = pallet_fees::weights::SubstrateWeight<Runtime>;
	type BenchmarkHelper = VoucherSigner;
}

parameter_types! {
	/// Half of a voided result's penalty goes to the verifiers who disputed it.
	pub const ChallengerShare: Perbill = Perbill::from_percent(50);
}

impl pallet_attribution::Config for Runtime {
	type Balance = Balance;
	type Workers = Workers;
	type Results = Jobs;
	type CommitPeriod = ConstU32<CHECK_COMMIT>;
	type RevealPeriod = ConstU32<CHECK_REVEAL>;
	type VotePeriod = ConstU32<CHECK_VOTE>;
	type MaxVerifiers = ConstU32<8>;
	/// Catches a worker that falsified 5% of a table's entries 99% of the time (docs/attribution.md).
	type Checks = ConstU32<{ pallet_attribution::sampling::CHECKS }>;
	type MaxProofLen = ConstU32<32>;
	type MaxPerBlock = ConstU32<JOBS_PER_BLOCK>;
	/// Half the minimum worker bond.
	type FraudPenalty = ConstU128<{ 50 * UNIT }>;
	type ChallengerShare = ChallengerShare;
	type WrongVotePenalty = ConstU128<{ 10 * UNIT }>;
	type NoShowPenalty = ConstU128<{ 5 * UNIT }>;
}
