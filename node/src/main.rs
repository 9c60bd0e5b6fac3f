//! The Tributary node.

// sc_cli::Error and sc_service::Error are large by Substrate's design; every fn here returns them.
#![allow(clippy::result_large_err)]

mod aura_equivocation;
mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
