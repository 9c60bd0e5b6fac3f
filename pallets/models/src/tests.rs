//! Unit tests of the models pallet. Every test ends with `try_state`.

use crate::{mock::*, *};
use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use sp_runtime::{Perbill, Permill, TokenError};

type E = Error<Test>;

fn file(name: &str, bytes: u64) -> FileOf<Test> {
	ModelFile { name: BoundedVec::truncate_from(name.as_bytes().to_vec()), hash: [3u8; 32], bytes }
}

fn files(fs: &[(&str, u64)]) -> FilesOf<Test> {
	BoundedVec::truncate_from(fs.iter().map(|(n, b)| file(n, *b)).collect())
}

fn good_files() -> FilesOf<Test> {
	files(&[("config.json", 700), ("tokenizer.json", 2_000), ("model.safetensors", 270_000_000)])
}

fn register(who: AccountId, fs: FilesOf<Test>) -> sp_runtime::DispatchResult {
	ModelCatalog::register_base(
		RuntimeOrigin::signed(who),
		BoundedVec::truncate_from(b"SmolLM2-135M".to_vec()),
		ModelFamily::Llama,
		BoundedVec::truncate_from(b"apache-2.0".to_vec()),
		134_515_008,
		fs,
	)
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::BaseModelDeposit.into(), &who)
}

pub fn config() -> TrainingConfig {
	TrainingConfig {
		method: TrainingMethod::Lora,
		rank: 8,
		alpha: 16,
		dropout: Permill::zero(),
		target_modules: BoundedVec::truncate_from(vec![BoundedVec::truncate_from(
			b"q_proj".to_vec(),
		)]),
		learning_rate: Perbill::from_parts(200_000),
		warmup_steps: 0,
		length: TrainingLength::Steps(10),
		batch_size: 4,
		max_seq_len: 256,
		seed: 7,
		eval_fraction: Permill::from_percent(10),
	}
}

fn trained(base: BaseModelId, datanet: u32) -> TrainedModel<AccountId, u64> {
	TrainedModel {
		owner: ALICE,
		trainer: BOB,
		lineage: Lineage { base, parent: None, job: 0, datanet, version: 1 },
		adapter: AdapterRef { hash: [5u8; 32], bytes: 1234 },
		config: config(),
		metrics: TrainingMetrics::default(),
		registered_at: 1,
	}
}

#[test]
fn register_base_holds_the_deposit_and_records_the_files() {
	run_test(|| {
		assert_ok!(register(ALICE, good_files()));
		assert_eq!(held(ALICE), BASE_DEPOSIT);
		let m = BaseModels::<Test>::get(0).unwrap();
		assert_eq!(
			(m.owner, m.family, m.params, m.files.len()),
			(ALICE, ModelFamily::Llama, 134_515_008, 3)
		);
		assert_eq!(
			ModelCatalog::base(0),
			Some(BaseSummary { family: ModelFamily::Llama, params: 134_515_008, retired: false })
		);
		System::assert_last_event(
			Event::BaseModelRegistered { base: 0, owner: ALICE, family: ModelFamily::Llama }.into(),
		);
	});
}

#[test]
fn register_base_refuses_bad_listings() {
	run_test(|| {
		assert_noop!(register(ALICE, files(&[("model.safetensors", 1)])), E::MissingConfig);
		assert_noop!(register(ALICE, files(&[("config.json", 1)])), E::MissingWeights);
		assert_noop!(
			register(ALICE, files(&[("config.json", 1), ("model.bin", 1)])),
			E::MissingWeights
		);
		assert_noop!(
			register(ALICE, files(&[("config.json", 1), ("model.safetensors", 0)])),
			E::EmptyFile
		);
		assert_noop!(
			register(ALICE, files(&[("config.json", 1), ("config.json", 2), ("a.safetensors", 1)])),
			E::DuplicateFile
		);
		// Names become paths on workers' disks: no traversal, no hidden files, no separators.
		for bad in ["../config.json", "a/b.safetensors", ".env", "", "x y", "c:\\w"] {
			assert_noop!(
				register(ALICE, files(&[("config.json", 1), ("w.safetensors", 1), (bad, 1)])),
				E::BadFileName
			);
		}
		assert_noop!(
			ModelCatalog::register_base(
				RuntimeOrigin::signed(ALICE),
				BoundedVec::new(),
				ModelFamily::Llama,
				BoundedVec::new(),
				1,
				good_files()
			),
			E::EmptyName
		);
		assert_noop!(
			ModelCatalog::register_base(
				RuntimeOrigin::signed(ALICE),
				BoundedVec::truncate_from(b"m".to_vec()),
				ModelFamily::Llama,
				BoundedVec::new(),
				0,
				good_files()
			),
			E::ZeroParams
		);
		assert_noop!(register(POOR, good_files()), TokenError::FundsUnavailable);
	});
}

#[test]
fn a_single_gguf_file_is_a_complete_base_model() {
	run_test(|| {
		assert_ok!(register(ALICE, files(&[("SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432)])));
		assert_eq!(BaseModels::<Test>::get(0).unwrap().files.len(), 1);
	});
}

#[test]
fn retiring_releases_the_deposit_and_keeps_the_record() {
	run_test(|| {
		assert_ok!(register(ALICE, good_files()));
		assert_noop!(ModelCatalog::retire_base(RuntimeOrigin::signed(BOB), 0), E::NotOwner);
		assert_noop!(
			ModelCatalog::retire_base(RuntimeOrigin::signed(ALICE), 9),
			E::UnknownBaseModel
		);
		assert_ok!(ModelCatalog::retire_base(RuntimeOrigin::signed(ALICE), 0));
		assert_eq!(held(ALICE), 0);
		assert_eq!(Balances::balance(&ALICE), START_BALANCE);
		assert!(ModelCatalog::base(0).unwrap().retired);
		assert_noop!(ModelCatalog::retire_base(RuntimeOrigin::signed(ALICE), 0), E::AlreadyRetired);
	});
}

#[test]
fn trained_models_are_indexed_by_datanet_and_base() {
	run_test(|| {
		assert_ok!(register(ALICE, good_files()));
		assert_ok!(register(BOB, good_files()));
		assert_eq!(ModelCatalog::register_trained(trained(0, 4)), Ok(0));
		assert_eq!(ModelCatalog::register_trained(trained(1, 4)), Ok(1));
		assert_eq!(ModelCatalog::register_trained(trained(0, 5)), Ok(2));
		assert_noop!(ModelCatalog::register_trained(trained(7, 4)), E::UnknownBaseModel);
		// Prefix iteration follows the key hashes, not the ids: sort.
		let mut by_datanet: Vec<ModelId> = ModelsByDatanet::<Test>::iter_key_prefix(4).collect();
		by_datanet.sort();
		assert_eq!(by_datanet, vec![0, 1]);
		let mut by_base: Vec<ModelId> = ModelsByBase::<Test>::iter_key_prefix(0).collect();
		by_base.sort();
		assert_eq!(by_base, vec![0, 2]);
		assert_eq!(ModelCatalog::base_of_trained(1), Some(1));
		assert_eq!(ModelCatalog::base_of_trained(3), None);
	});
}

#[test]
fn try_state_catches_an_unindexed_model_and_a_wrong_deposit() {
	new_test_ext().execute_with(|| {
		assert_ok!(register(ALICE, good_files()));
		assert_ok!(ModelCatalog::register_trained(trained(0, 4)));
		ModelsByBase::<Test>::remove(0, 0);
		assert!(ModelCatalog::do_try_state().is_err());
		ModelsByBase::<Test>::insert(0, 0, ());
		assert!(ModelCatalog::do_try_state().is_ok());
		BaseModels::<Test>::mutate(0, |m| m.as_mut().unwrap().deposit = 1);
		assert!(ModelCatalog::do_try_state().is_err());
	});
}
