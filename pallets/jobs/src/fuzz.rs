//! Random call sequences through the jobs pallet's mock runtime, which holds the real workers,
//! models and datanets pallets: every call of the workers, models and jobs pallets, from workers,
//! builders, owners, outsiders and an account with no funds, with valid and invalid arguments, and
//! blocks passing (leases lapse, results become final; creators cancel and stop jobs). Every
//! pallet's `try_state` is checked after every step; a failure prints the seed and step to replay.
//! (The datanets pallet's own calls are covered by its random sequences; here it provides
//! published versions.)
//!
//! `cargo test -p pallet-jobs random_call_sequences` runs `FUZZ_SEQUENCES` sequences (default
//! 200) from `FUZZ_SEED` (default a fixed one); `scripts/fuzz-chain` runs 10,000.

use crate::{
	mock::*,
	tests::{b, base, config, published, result},
	*,
};
use frame_support::{
	traits::{fungible::Mutate, Hooks},
	BoundedVec,
};
use pallet_datanets::fuzzing::{env_u64, Rng};
use pallet_datanets::Modality;
use pallet_models::{ModelFamily, ModelFile, TrainingLength};
use pallet_workers::{Capabilities, Device};

/// Funded accounts, and one with nothing (4321).
const ACCOUNTS: [AccountId; 9] =
	[OWNER, BUILDER, CONTRIBUTOR, CURATOR, W1, W2, SMALL, OUTSIDER, 4321];

/// Mostly a worker able to train the bases here; sometimes one that cannot, or a bad profile.
fn capabilities(rng: &mut Rng) -> Capabilities {
	if rng.chance(70) {
		return Capabilities { device: Device::Cpu, memory_mib: 8_192, max_model_params: u64::MAX };
	}
	Capabilities {
		device: rng.pick(&[Device::Cpu, Device::Cuda]),
		memory_mib: rng.pick(&[0, 8_192]),
		max_model_params: rng.pick(&[1, 1_000_000, u64::MAX]),
	}
}

fn training_config(rng: &mut Rng) -> TrainingConfig {
	let mut c = config();
	match rng.below(6) {
		0 => c.rank = 0,
		1 => c.rank = u16::MAX,
		2 => c.length = TrainingLength::Steps(0),
		3 => c.max_seq_len = u32::MAX,
		_ => {}
	}
	c
}

fn job_result(rng: &mut Rng) -> JobResult {
	let mut r = result();
	if rng.chance(10) {
		r.adapter.bytes = 0;
	}
	r
}

/// One random step; refusals are as good as successes as long as the invariants hold.
fn step(rng: &mut Rng) {
	// Workers' calls come mostly from the two workers, others' from anyone.
	let who = match rng.chance(50) {
		true => rng.pick(&[W1, W2]),
		false => rng.pick(&ACCOUNTS),
	};
	let origin = RuntimeOrigin::signed(who);
	let jobs = NextJobId::<Test>::get();
	let job = jobs.saturating_sub(rng.below(4));
	let bases = pallet_models::NextBaseModelId::<Test>::get() as u64;
	let base_id = rng.below(bases + 1) as u32;
	let models = pallet_models::NextModelId::<Test>::get();
	let datanets = pallet_datanets::NextDatanetId::<Test>::get() as u64;
	let _ = match rng.below(20) {
		0 => Workers::register(
			origin,
			match rng.chance(70) {
				true => MIN_BOND,
				false => rng.pick(&[MIN_BOND - 1, 2 * MIN_BOND, 10 * START_BALANCE]),
			},
			b(rng.pick(&["peer", ""])),
			BoundedVec::truncate_from(vec![b(rng.pick(&["/ip4/127.0.0.1/tcp/1", "nonsense"]))]),
			capabilities(rng),
		),
		1 => Workers::update(
			origin,
			b("peer"),
			BoundedVec::truncate_from(vec![b("/ip4/127.0.0.1/tcp/2")]),
			capabilities(rng),
		),
		2 => Workers::bond_extra(origin, rng.pick(&[0, 1, MIN_BOND, 10 * START_BALANCE])),
		3 => Workers::unbond(origin),
		4 => Workers::withdraw(origin),
		5 => {
			let endpoint = rng.pick(&[Some("http://127.0.0.1:8080/"), Some("ftp://x"), None]);
			Workers::set_endpoint(origin, endpoint.map(b))
		}
		6 => {
			let file = |n: &str| ModelFile { name: b(n), hash: [1u8; 32], bytes: 10 };
			let files = match rng.chance(85) {
				true => vec![file("config.json"), file("model.safetensors")],
				false => vec![file("a"), file("a")],
			};
			ModelCatalog::register_base(
				origin,
				b(rng.pick(&["tiny", ""])),
				ModelFamily::Llama,
				b("mit"),
				rng.pick(&[0, 1_000_000, 1_000_000_000_000]),
				BoundedVec::truncate_from(files),
			)
		}
		7 => ModelCatalog::retire_base(origin, base_id),
		8 | 9 if rng.chance(60) => {
			// A job that can run: the first text datanet's version 1 on the first base.
			Jobs::create_job(RuntimeOrigin::signed(BUILDER), 0, 1, 0, None, config(), 10_000)
		}
		8 | 9 => Jobs::create_job(
			origin,
			rng.below(datanets + 1) as u32,
			rng.pick(&[0, 1, 2]),
			base_id,
			rng.chance(20).then(|| models.saturating_sub(rng.below(2))),
			training_config(rng),
			rng.pick(&[0, MIN_BUDGET, 10_000, 10 * START_BALANCE]),
		),
		10 if rng.chance(50) => Jobs::cancel_job(origin, job),
		10 => Jobs::stop_job(origin, job),
		11 | 12 => Jobs::claim_job(origin, job),
		13 => Jobs::heartbeat(
			origin,
			job,
			Progress { step: rng.pick(&[0, 5, 20]), total_steps: 20, loss_micro: Some(1_000_000) },
		),
		14 => Jobs::submit_result(origin, job, job_result(rng)),
		15 => {
			// Someone with nothing gets funds; or a new base or datanet version appears.
			match rng.below(3) {
				0 => {
					Balances::set_balance(&4321, START_BALANCE);
				}
				1 => {
					base(rng.pick(&[1_000, 1_000_000]));
				}
				// A few more datanets (the contributor's daily cap bounds how many).
				_ if datanets < 6 => {
					match rng.chance(70) {
						true => published(Modality::Text, "jsonl"),
						false => published(Modality::Image, "png"),
					};
				}
				_ => {}
			}
			Ok(())
		}
		_ => {
			// Time passes: leases lapse, results become final, now and then unbonding runs out.
			if rng.chance(8) {
				// A long wait, checked once at the end of the step.
				for _ in 0..200 {
					let next = System::block_number() + 1;
					System::set_block_number(next);
					Jobs::on_initialize(next);
				}
			} else {
				run_to(System::block_number() + 1 + rng.below(12));
			}
			Ok(())
		}
	};
}

/// How far the sequences got, counted from events.
#[derive(Default, Debug)]
struct Reached {
	claimed: u64,
	lapsed: u64,
	finalized: u64,
	cancelled: u64,
	withdrawn: u64,
}

fn sequence(seed: u64, steps: usize, reached: &mut Reached) {
	new_test_ext().execute_with(|| {
		let mut rng = Rng::new(seed);
		// Something to train on from the start: a published text datanet and a base model.
		published(Modality::Text, "jsonl");
		base(1_000_000);
		for n in 0..steps {
			// `run_to` checks every block too: report the seed whichever check fails.
			let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
				step(&mut rng);
				check_all();
			}));
			if stepped.is_err() {
				panic!("seed {seed}, step {n}: an invariant broke (see above)");
			}
		}
		for e in System::events() {
			match e.event {
				RuntimeEvent::Jobs(Event::JobClaimed { .. }) => reached.claimed += 1,
				RuntimeEvent::Jobs(Event::LeaseLapsed { .. }) => reached.lapsed += 1,
				RuntimeEvent::Jobs(Event::JobFinalized { .. }) => reached.finalized += 1,
				RuntimeEvent::Jobs(Event::JobCancelled { .. }) => reached.cancelled += 1,
				RuntimeEvent::Workers(pallet_workers::Event::WorkerWithdrawn { .. }) => {
					reached.withdrawn += 1
				}
				_ => {}
			}
		}
	});
}

#[test]
fn random_call_sequences_keep_every_invariant() {
	let count = env_u64("FUZZ_SEQUENCES", 200);
	let first = env_u64("FUZZ_SEED", 0x0b5e_55ed);
	let mut reached = Reached::default();
	for i in 0..count {
		sequence(first.wrapping_add(i), 120, &mut reached);
	}
	println!(
		"random call sequences (workers, models, jobs): {count} of 120 steps from seed \
		 {first:#x}; reached {reached:?}"
	);
	// The generator must reach every outcome, or the invariants were checked on too little.
	assert!(
		reached.claimed > 0
			&& reached.lapsed > 0
			&& reached.finalized > 0
			&& reached.cancelled > 0
			&& reached.withdrawn > 0,
		"{reached:?}"
	);
}
