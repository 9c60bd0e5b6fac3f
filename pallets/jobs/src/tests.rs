//! Unit tests of the jobs pallet against the real datanets, workers and models pallets. Every test
//! ends with every pallet's `try_state`; `run_to` checks them after each block too.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold, Mutate},
	BoundedVec,
};
use pallet_datanets::{Modality, Rules, Vote};
use pallet_models::{
	AdapterRef, ModelFamily, ModelFile, TrainingLength, TrainingMethod, TrainingMetrics,
};
use pallet_workers::{Capabilities, Device};
use sp_runtime::{Perbill, Permill, TokenError};

type E = Error<Test>;

pub(crate) fn b<L: frame_support::traits::Get<u32>>(s: &str) -> BoundedVec<u8, L> {
	BoundedVec::truncate_from(s.as_bytes().to_vec())
}

/// A datanet of `modality` owned by OWNER with CURATOR (quorum 1), one accepted item, version 1.
pub(crate) fn published(modality: Modality, format: &str) -> u32 {
	let id = pallet_datanets::NextDatanetId::<Test>::get();
	assert_ok!(Datanets::create_datanet(
		RuntimeOrigin::signed(OWNER),
		b("set"),
		b(""),
		modality,
		BoundedVec::truncate_from(vec![b(format)]),
		Rules::with_defaults(),
		BoundedVec::truncate_from(vec![CURATOR]),
	));
	let cid = pallet_datanets::NextContributionId::<Test>::get();
	let mut hash = [0u8; 32];
	hash[..8].copy_from_slice(&cid.to_le_bytes());
	// Committed in the previous block (the tests' timelines start at block 1).
	let now = System::block_number();
	System::set_block_number(now - 1);
	assert_ok!(Datanets::commit_contribution(
		RuntimeOrigin::signed(CONTRIBUTOR),
		pallet_datanets::commitment_of(id, &hash, &CONTRIBUTOR)
	));
	System::set_block_number(now);
	assert_ok!(Datanets::submit_contribution(
		RuntimeOrigin::signed(CONTRIBUTOR),
		id,
		hash,
		100,
		b(format),
		BoundedVec::new()
	));
	assert_ok!(Datanets::vote(RuntimeOrigin::signed(CURATOR), cid, Vote::Approve));
	assert_ok!(Datanets::publish_version(RuntimeOrigin::signed(OWNER), id));
	id
}

pub(crate) fn published_text() -> u32 {
	text()
}

fn text() -> u32 {
	published(Modality::Text, "jsonl")
}

/// A base model of `params` parameters listed by OWNER.
pub(crate) fn base(params: u64) -> u32 {
	let id = pallet_models::NextBaseModelId::<Test>::get();
	let file = |n: &str| ModelFile { name: b(n), hash: [1u8; 32], bytes: 10 };
	assert_ok!(ModelCatalog::register_base(
		RuntimeOrigin::signed(OWNER),
		b("tiny"),
		ModelFamily::Llama,
		b("mit"),
		params,
		BoundedVec::truncate_from(vec![file("config.json"), file("model.safetensors")]),
	));
	id
}

fn worker(who: AccountId, max_params: u64) {
	if Balances::balance(&who) < 10 * MIN_BOND {
		Balances::set_balance(&who, 10 * MIN_BOND);
	}
	assert_ok!(Workers::register(
		RuntimeOrigin::signed(who),
		MIN_BOND,
		b("peer"),
		BoundedVec::truncate_from(vec![b("/ip4/127.0.0.1/tcp/1")]),
		Capabilities { device: Device::Cpu, memory_mib: 8_192, max_model_params: max_params },
	));
}

pub(crate) fn config() -> TrainingConfig {
	TrainingConfig {
		method: TrainingMethod::Lora,
		rank: 8,
		alpha: 16,
		dropout: Permill::from_percent(5),
		target_modules: BoundedVec::truncate_from(vec![b("q_proj"), b("v_proj")]),
		learning_rate: Perbill::from_parts(200_000),
		warmup_steps: 2,
		length: TrainingLength::Steps(20),
		batch_size: 4,
		max_seq_len: 256,
		seed: 42,
		eval_fraction: Permill::from_percent(10),
	}
}

fn create_on(
	datanet: u32,
	base: u32,
	parent: Option<u64>,
	c: TrainingConfig,
	budget: Balance,
) -> sp_runtime::DispatchResult {
	Jobs::create_job(RuntimeOrigin::signed(BUILDER), datanet, 1, base, parent, c, budget)
}

/// A text datanet, a 1M-parameter base, and job 0 with a budget of 10_000.
fn setup() -> JobId {
	let d = text();
	let m = base(1_000_000);
	let id = NextJobId::<Test>::get();
	assert_ok!(create_on(d, m, None, config(), 10_000));
	id
}

pub(crate) fn result() -> JobResult {
	JobResult {
		adapter: AdapterRef { hash: [7u8; 32], bytes: 4_096 },
		metrics: TrainingMetrics {
			train_loss_micro: 1_500_000,
			eval_loss_micro: Some(1_700_000),
			tokens: 20_480,
			steps: 20,
		},
		attribution: commitment(&table()),
	}
}

/// The payout table of job 0's version (contribution 0 by CONTRIBUTOR, approved by CURATOR).
pub(crate) fn table() -> Vec<pallet_rewards::Leaf<AccountId>> {
	use pallet_rewards::{Leaf, Role};
	vec![
		Leaf { role: Role::Contributor, account: CONTRIBUTOR, item: 0, ppm: 1_000_000 },
		Leaf { role: Role::Curator, account: CURATOR, item: 1, ppm: 1_000_000 },
	]
}

pub(crate) fn commitment(leaves: &[pallet_rewards::Leaf<AccountId>]) -> AttributionCommitment {
	AttributionCommitment {
		root: pallet_rewards::merkle::root(leaves),
		leaves: leaves.len() as u32,
		total: 123_456,
		table: [9u8; 32],
		table_bytes: 300,
	}
}

fn escrow_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::JobEscrow.into(), &who)
}

fn status(job: JobId) -> JobStatus<AccountId, u64> {
	JobInfo::<Test>::get(job).unwrap().status
}

#[test]
fn create_job_holds_the_budget_and_records_the_job() {
	run_test(|| {
		let job = setup();
		assert_eq!(escrow_held(BUILDER), 10_000);
		let j = JobInfo::<Test>::get(job).unwrap();
		assert_eq!(
			(j.creator, j.datanet, j.version, j.base, j.budget, j.escrow),
			(BUILDER, 0, 1, 0, 10_000, 10_000)
		);
		assert_eq!(j.status, JobStatus::Open);
		System::assert_last_event(
			Event::JobCreated {
				job,
				creator: BUILDER,
				datanet: 0,
				version: 1,
				base: 0,
				budget: 10_000,
			}
			.into(),
		);
	});
}

#[test]
fn a_job_keeps_the_attribution_method_it_was_opened_with() {
	run_test(|| {
		let first = setup();
		assert_eq!(JobInfo::<Test>::get(first).unwrap().attribution, Method::get());
		// A runtime upgrade changes the method: the open job keeps its own, new jobs get the new.
		let new = AttributionMethod { checkpoints: 6, damping_micro: None, ..Method::get() };
		let old = Method::get();
		Method::set(new);
		assert_ok!(Jobs::create_job(
			RuntimeOrigin::signed(BUILDER),
			0,
			1,
			0,
			None,
			config(),
			10_000
		));
		assert_eq!(JobInfo::<Test>::get(first).unwrap().attribution, old);
		assert_eq!(JobInfo::<Test>::get(first + 1).unwrap().attribution, new);
	});
}

#[test]
fn create_job_refuses_what_cannot_be_trained() {
	run_test(|| {
		let d = text();
		let image = published(Modality::Image, "png");
		let m = base(1_000_000);
		let other = base(1_000_000);
		// Wrong dataset.
		assert_noop!(
			Jobs::create_job(RuntimeOrigin::signed(BUILDER), d, 2, m, None, config(), 10_000),
			E::UnknownVersion
		);
		assert_noop!(
			Jobs::create_job(RuntimeOrigin::signed(BUILDER), 77, 1, m, None, config(), 10_000),
			E::UnknownVersion
		);
		assert_noop!(create_on(image, m, None, config(), 10_000), E::NotTextDatanet);
		// Wrong model.
		assert_noop!(create_on(d, 9, None, config(), 10_000), E::UnknownBaseModel);
		assert_noop!(create_on(d, m, Some(0), config(), 10_000), E::UnknownParentModel);
		assert_ok!(ModelCatalog::retire_base(RuntimeOrigin::signed(OWNER), other));
		assert_noop!(create_on(d, other, None, config(), 10_000), E::BaseModelRetired);
		// Wrong parameters.
		let bad = |f: fn(&mut TrainingConfig)| {
			let mut c = config();
			f(&mut c);
			c
		};
		assert_noop!(create_on(d, m, None, bad(|c| c.rank = 0), 10_000), E::InvalidRank);
		assert_noop!(create_on(d, m, None, bad(|c| c.rank = 65), 10_000), E::InvalidRank);
		assert_noop!(create_on(d, m, None, bad(|c| c.alpha = 0), 10_000), E::ZeroAlpha);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.dropout = Permill::one()), 10_000),
			E::InvalidDropout
		);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.target_modules = BoundedVec::new()), 10_000),
			E::InvalidTargetModules
		);
		assert_noop!(
			create_on(
				d,
				m,
				None,
				bad(|c| c.target_modules = BoundedVec::truncate_from(vec![b("q_proj/../x")])),
				10_000
			),
			E::InvalidTargetModules
		);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.learning_rate = Perbill::zero()), 10_000),
			E::ZeroLearningRate
		);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.length = TrainingLength::Steps(0)), 10_000),
			E::InvalidLength
		);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.length = TrainingLength::Steps(10_001)), 10_000),
			E::InvalidLength
		);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.length = TrainingLength::Epochs(0)), 10_000),
			E::InvalidLength
		);
		assert_noop!(create_on(d, m, None, bad(|c| c.batch_size = 0), 10_000), E::ZeroBatchSize);
		assert_noop!(create_on(d, m, None, bad(|c| c.max_seq_len = 0), 10_000), E::InvalidSeqLen);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.max_seq_len = 4097), 10_000),
			E::InvalidSeqLen
		);
		assert_noop!(
			create_on(d, m, None, bad(|c| c.eval_fraction = Permill::from_percent(51)), 10_000),
			E::EvalFractionTooLarge
		);
		// Wrong money.
		assert_noop!(create_on(d, m, None, config(), MIN_BUDGET - 1), E::BudgetTooLow);
		assert_noop!(
			create_on(d, m, None, config(), START_BALANCE * 2),
			TokenError::FundsUnavailable
		);
		assert_eq!(NextJobId::<Test>::get(), 0);
	});
}

#[test]
fn cancel_refunds_an_open_job_to_its_creator_only() {
	run_test(|| {
		let job = setup();
		assert_noop!(Jobs::cancel_job(RuntimeOrigin::signed(OUTSIDER), job), E::NotCreator);
		assert_noop!(Jobs::cancel_job(RuntimeOrigin::signed(BUILDER), 5), E::UnknownJob);
		assert_ok!(Jobs::cancel_job(RuntimeOrigin::signed(BUILDER), job));
		assert_eq!(escrow_held(BUILDER), 0);
		assert_eq!(Balances::balance(&BUILDER), START_BALANCE);
		assert_eq!(status(job), JobStatus::Cancelled);
		assert_noop!(Jobs::cancel_job(RuntimeOrigin::signed(BUILDER), job), E::NotOpen);
		worker(W1, u64::MAX);
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(W1), job), E::NotOpen);
	});
}

#[test]
fn a_claimed_job_cannot_be_cancelled() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		assert_noop!(Jobs::cancel_job(RuntimeOrigin::signed(BUILDER), job), E::NotOpen);
	});
}

#[test]
fn claims_need_an_active_capable_idle_worker() {
	run_test(|| {
		let job = setup();
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(OUTSIDER), job), E::NotActiveWorker);
		worker(SMALL, 999_999);
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(SMALL), job), E::WorkerTooSmall);
		worker(W2, u64::MAX);
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(W2)));
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(W2), job), E::NotActiveWorker);
		worker(W1, u64::MAX);
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(W1), 9), E::UnknownJob);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		System::assert_last_event(
			Event::JobClaimed { job, worker: W1, lease_until: 1 + LEASE }.into(),
		);
		assert_eq!(ClaimedBy::<Test>::get(W1), Some(job));
		// One job at a time.
		assert_ok!(create_on(0, 0, None, config(), 10_000));
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(W1), job + 1), E::WorkerBusy);
		// Nobody takes a claimed job.
		Workers::bond_extra(RuntimeOrigin::signed(SMALL), 1).unwrap();
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(SMALL), job), E::NotOpen);
	});
}

#[test]
fn heartbeats_renew_the_lease_of_its_holder_up_to_the_deadline() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		worker(W2, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		let p = Progress { step: 3, total_steps: 20, loss_micro: Some(2_000_000) };
		assert_noop!(Jobs::heartbeat(RuntimeOrigin::signed(W2), job, p), E::NotLeaseHolder);
		assert_noop!(
			Jobs::heartbeat(RuntimeOrigin::signed(W1), job, Progress { step: 21, ..p }),
			E::InvalidProgress
		);
		run_to(6);
		assert_ok!(Jobs::heartbeat(RuntimeOrigin::signed(W1), job, p));
		assert!(LeaseExpiries::<Test>::get(1 + LEASE).is_empty(), "old bucket emptied");
		assert_eq!(LeaseExpiries::<Test>::get(6 + LEASE).to_vec(), vec![job]);
		match status(job) {
			JobStatus::Claimed { lease_until, progress, deadline, .. } => {
				assert_eq!((lease_until, progress, deadline), (6 + LEASE, p, 1 + MAX_CLAIM));
			}
			s => panic!("unexpected {s:?}"),
		}
		// Heartbeats every 5 blocks keep it alive, but never past the claim's deadline.
		let mut n = 6;
		while n + 5 < 1 + MAX_CLAIM {
			n += 5;
			run_to(n);
			assert_ok!(Jobs::heartbeat(RuntimeOrigin::signed(W1), job, p));
		}
		match status(job) {
			JobStatus::Claimed { lease_until, .. } => assert_eq!(lease_until, 1 + MAX_CLAIM),
			s => panic!("unexpected {s:?}"),
		}
		run_to(1 + MAX_CLAIM);
		assert_eq!(status(job), JobStatus::Open);
	});
}

#[test]
fn a_lapsed_lease_burns_the_penalty_and_another_worker_finishes_the_job() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		worker(W2, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		let issuance = Balances::total_issuance();
		run_to(LEASE);
		assert!(matches!(status(job), JobStatus::Claimed { .. }));
		run_to(1 + LEASE);
		System::assert_has_event(Event::LeaseLapsed { job, worker: W1, penalty: PENALTY }.into());
		assert_eq!(status(job), JobStatus::Open);
		assert_eq!(JobInfo::<Test>::get(job).unwrap().lapses, 1);
		assert_eq!(Balances::total_issuance(), issuance - PENALTY);
		assert_eq!(ClaimedBy::<Test>::get(W1), None);
		// The lapsed worker's bond is below the minimum: it cannot grab the job again for free.
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(W1), job), E::NotActiveWorker);
		// Nor can it submit a result for a lease it lost.
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(W1), job, result()),
			E::NotLeaseHolder
		);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W2), job));
		assert_ok!(Jobs::submit_result(RuntimeOrigin::signed(W2), job, result()));
		run_to(1 + LEASE + WINDOW);
		assert!(matches!(status(job), JobStatus::Finalized { worker: W2, .. }));
	});
}

#[test]
fn a_result_becomes_final_after_the_window_registers_the_model_and_pays_the_escrow_by_the_split() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		run_to(4);
		let free_before = Balances::balance(&W1);
		let owner_before = Balances::balance(&OWNER);
		assert_ok!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, result()));
		System::assert_last_event(
			Event::ResultSubmitted { job, worker: W1, result: result(), final_at: 4 + WINDOW }
				.into(),
		);
		// The worker is free for other work at once; its lease bucket is cleared.
		assert_eq!(ClaimedBy::<Test>::get(W1), None);
		assert!(LeaseExpiries::<Test>::get(1 + LEASE).is_empty());
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(W1), job, result()),
			E::NotLeaseHolder
		);
		run_to(3 + WINDOW);
		assert!(matches!(status(job), JobStatus::Submitted { .. }));
		run_to(4 + WINDOW);
		assert_eq!(
			status(job),
			JobStatus::Finalized { worker: W1, model: 0, attribution: result().attribution }
		);
		System::assert_has_event(
			Event::JobFinalized { job, model: 0, worker: W1, paid: 10_000 }.into(),
		);
		// The whole escrow is paid by the default split: 30% to the worker, 10% to the owner at
		// once; the contributors' 50% and the curators' 10% wait in the pool for claims.
		assert_eq!(Balances::balance(&W1), free_before + 3_000);
		assert_eq!(Balances::balance(&OWNER), owner_before + 1_000);
		assert_eq!(JobInfo::<Test>::get(job).unwrap().escrow, 0);
		assert_eq!(escrow_held(BUILDER), 0);
		let pool = pallet_rewards::Pools::<Test>::get(job).unwrap();
		assert_eq!((pool.contributors, pool.curators), (5_000, 1_000));
		assert_eq!((pool.root, pool.leaves), (result().attribution.root, 2));
		// Each leaf of the committed table claims its part, exactly, once.
		for (i, leaf) in table().into_iter().enumerate() {
			let before = Balances::balance(&leaf.account);
			let proof = pallet_rewards::merkle::proof(&table(), i as u32);
			assert_ok!(Rewards::claim(
				RuntimeOrigin::signed(OUTSIDER),
				job,
				i as u32,
				leaf.clone(),
				BoundedVec::truncate_from(proof),
			));
			let part = if i == 0 { 5_000 } else { 1_000 };
			assert_eq!(Balances::balance(&leaf.account), before + part);
		}
		let m = pallet_models::Models::<Test>::get(0).unwrap();
		assert_eq!((m.owner, m.trainer), (BUILDER, W1));
		assert_eq!(
			m.lineage,
			pallet_models::Lineage { base: 0, parent: None, job, datanet: 0, version: 1 }
		);
		assert_eq!(m.adapter, result().adapter);
		assert_eq!(m.metrics, result().metrics);
		assert_eq!(m.config, config());
		// A job may continue from it, on the same base only.
		assert_ok!(create_on(0, 0, Some(0), config(), 10_000));
		let other = base(1_000_000);
		assert_noop!(create_on(0, other, Some(0), config(), 10_000), E::ParentOnOtherBase);
	});
}

#[test]
fn results_must_name_an_adapter_and_steps() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		let mut r = result();
		r.adapter.bytes = 0;
		assert_noop!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, r), E::InvalidResult);
		let mut r = result();
		r.metrics.steps = 0;
		assert_noop!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, r), E::InvalidResult);
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(OUTSIDER), job, result()),
			E::NotLeaseHolder
		);
	});
}

#[test]
fn full_buckets_push_leases_to_later_blocks_and_then_refuse() {
	run_test(|| {
		let d = text();
		let m = base(1_000_000);
		let n = PER_BLOCK * PER_BLOCK + 1;
		for i in 0..n {
			assert_ok!(create_on(d, m, None, config(), MIN_BUDGET));
			worker(100 + i as u64, u64::MAX);
		}
		for i in 0..n - 1 {
			assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(100 + i as u64), i as u64));
			let JobStatus::Claimed { lease_until, .. } = status(i as u64) else { panic!() };
			assert_eq!(lease_until, 1 + LEASE + (i / PER_BLOCK) as u64);
		}
		assert_noop!(
			Jobs::claim_job(RuntimeOrigin::signed(100 + n as u64 - 1), n as u64 - 1),
			E::ScheduleFull
		);
		// Every lease still lapses in its own block, bucket by bucket.
		run_to(1 + LEASE + PER_BLOCK as u64);
		assert!((0..n as u64 - 1).all(|j| status(j) == JobStatus::Open));
	});
}

#[test]
fn try_state_catches_escrow_and_bucket_drift() {
	new_test_ext().execute_with(|| {
		let job = setup();
		worker(W1, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		check_all();
		LeaseExpiries::<Test>::remove(1 + LEASE);
		assert!(Jobs::do_try_state().is_err());
		LeaseExpiries::<Test>::insert(1 + LEASE, BoundedVec::truncate_from(vec![job]));
		assert!(Jobs::do_try_state().is_ok());
		JobInfo::<Test>::mutate(job, |j| j.as_mut().unwrap().escrow = 9_999);
		assert!(Jobs::do_try_state().is_err());
	});
}

#[test]
fn a_result_whose_table_leaves_out_items_is_refused() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		// The version has one item: a table without leaves cannot commit to its contributor.
		let mut r = result();
		r.attribution = commitment(&[]);
		assert_noop!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, r), E::InvalidAttribution);
		// Nor can a commitment without a table anyone could fetch.
		let mut r = result();
		r.attribution.table_bytes = 0;
		assert_noop!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, r), E::InvalidAttribution);
		assert_ok!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, result()));
	});
}

#[test]
fn a_voided_result_opens_the_job_again_for_anyone_but_its_author() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		worker(W2, u64::MAX);
		// Nothing to void before a result.
		assert!(!<Jobs as VoidResult>::void(job));
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		assert_ok!(Jobs::submit_result(RuntimeOrigin::signed(W1), job, result()));
		let JobStatus::Submitted { final_at, .. } = status(job) else { panic!() };
		assert!(<Jobs as VoidResult>::void(job));
		System::assert_last_event(Event::ResultVoided { job, worker: W1 }.into());
		assert_eq!(status(job), JobStatus::Open);
		assert!(Finalizing::<Test>::get(final_at).is_empty());
		// The escrow is still held for whoever does the job right.
		assert_eq!(escrow_held(BUILDER), 10_000);
		assert_noop!(Jobs::claim_job(RuntimeOrigin::signed(W1), job), E::ResultWasVoided);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W2), job));
		assert_ok!(Jobs::submit_result(RuntimeOrigin::signed(W2), job, result()));
		run_to(System::block_number() + WINDOW);
		assert!(matches!(status(job), JobStatus::Finalized { worker: W2, .. }));
	});
}

#[test]
fn the_creator_stops_a_claimed_job_and_pays_the_worker_for_the_share_it_reported_done() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		// Only a claimed job can be stopped (an open one is cancelled), and only by its creator.
		assert_noop!(Jobs::stop_job(RuntimeOrigin::signed(BUILDER), job), E::NotClaimed);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		assert_noop!(Jobs::stop_job(RuntimeOrigin::signed(W1), job), E::NotCreator);
		assert_noop!(Jobs::stop_job(RuntimeOrigin::signed(BUILDER), 77), E::UnknownJob);
		let progress = Progress { step: 5, total_steps: 20, loss_micro: Some(2_000_000) };
		assert_ok!(Jobs::heartbeat(RuntimeOrigin::signed(W1), job, progress));
		let (builder, w1, issuance) =
			(Balances::balance(&BUILDER), Balances::balance(&W1), Balances::total_issuance());
		assert_ok!(Jobs::stop_job(RuntimeOrigin::signed(BUILDER), job));
		// A quarter of the steps, of the worker's 30% of the 10_000 budget.
		let paid = 750;
		assert_eq!(Balances::balance(&W1) - w1, paid);
		assert_eq!(Balances::balance(&BUILDER) - builder, 10_000 - paid);
		assert_eq!(Balances::total_issuance(), issuance, "nothing is burned");
		assert_eq!(escrow_held(BUILDER), 0);
		assert_eq!(JobInfo::<Test>::get(job).unwrap().escrow, 0);
		assert_eq!(status(job), JobStatus::Stopped { worker: W1, progress });
		System::assert_last_event(
			Event::JobStopped { job, worker: W1, paid, refunded: 10_000 - paid }.into(),
		);
		// The stopped job takes no heartbeat, result, second stop or cancel; the worker is free.
		assert_noop!(Jobs::heartbeat(RuntimeOrigin::signed(W1), job, progress), E::NotLeaseHolder);
		assert_noop!(
			Jobs::submit_result(RuntimeOrigin::signed(W1), job, result()),
			E::NotLeaseHolder
		);
		assert_noop!(Jobs::stop_job(RuntimeOrigin::signed(BUILDER), job), E::NotClaimed);
		assert_noop!(Jobs::cancel_job(RuntimeOrigin::signed(BUILDER), job), E::NotOpen);
		assert_eq!(ClaimedBy::<Test>::get(W1), None);
		// Its lease left the schedule: no lapse, no penalty when the lease would have ended.
		let bond = Balances::total_issuance();
		run_to(2 + LEASE);
		assert_eq!(Balances::total_issuance(), bond);
		assert_eq!(status(job), JobStatus::Stopped { worker: W1, progress });
		let next = NextJobId::<Test>::get();
		assert_ok!(create_on(0, 0, None, config(), 10_000));
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), next));
	});
}

#[test]
fn a_job_stopped_before_any_progress_pays_the_worker_nothing() {
	run_test(|| {
		let job = setup();
		worker(W1, u64::MAX);
		assert_ok!(Jobs::claim_job(RuntimeOrigin::signed(W1), job));
		let (builder, w1) = (Balances::balance(&BUILDER), Balances::balance(&W1));
		assert_ok!(Jobs::stop_job(RuntimeOrigin::signed(BUILDER), job));
		assert_eq!(Balances::balance(&W1), w1);
		assert_eq!(Balances::balance(&BUILDER) - builder, 10_000);
		System::assert_last_event(
			Event::JobStopped { job, worker: W1, paid: 0, refunded: 10_000 }.into(),
		);
	});
}
