//! The pallets benchmarked by `node benchmark pallet` (see scripts/bench-weights.sh).

frame_benchmarking::define_benchmarks!(
	[frame_system, SystemBench::<Runtime>]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_datanets, Datanets]
	[pallet_workers, Workers]
	[pallet_models, Models]
	[pallet_jobs, Jobs]
	[pallet_rewards, Rewards]
	[pallet_validators, Validators]
);
