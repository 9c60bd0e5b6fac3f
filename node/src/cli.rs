//! Command-line interface.

use std::str::FromStr;

/// How blocks are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
	/// Aura slots and GRANDPA finality: the production mode.
	Aura,
	/// A block as soon as a transaction arrives, finalized at once (dev/tests).
	Instant,
	/// A block every N milliseconds, finalized at once (dev/tests).
	Interval(u64),
	/// Blocks only on the `engine_createBlock` RPC (dev/tests).
	Manual,
}

impl FromStr for Sealing {
	type Err = String;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		match s {
			"aura" => Ok(Sealing::Aura),
			"instant" => Ok(Sealing::Instant),
			"manual" => Ok(Sealing::Manual),
			ms => ms.parse::<u64>().ok().filter(|ms| *ms > 0).map(Sealing::Interval).ok_or_else(
				|| {
					format!("unknown sealing `{s}`: use aura, instant, manual or a block interval in ms")
				},
			),
		}
	}
}

#[derive(Debug, clap::Parser)]
pub struct Cli {
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	/// How this node makes blocks: `aura` (slots + GRANDPA, the default), or for a single dev node
	/// `instant` (a block per transaction), `manual` (on `engine_createBlock`) or a block interval in
	/// milliseconds. The dev modes finalize each block themselves and need one authority.
	#[arg(long, default_value = "aura")]
	pub sealing: Sealing,
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management (generate, inspect, insert into the keystore).
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),
	/// Build a chain specification.
	#[deprecated(note = "use export-chain-spec")]
	BuildSpec(sc_cli::BuildSpecCmd),
	/// Export the chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),
	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),
	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),
	/// Export the state of a block as a chain spec.
	ExportState(sc_cli::ExportStateCmd),
	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),
	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),
	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),
	/// Runtime benchmarks (in builds with `--features runtime-benchmarks`).
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),
	/// Database metadata.
	ChainInfo(sc_cli::ChainInfoCmd),
}
