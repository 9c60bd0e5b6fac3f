//! `tributary validator`: the validator set, session keys, and root's changes to the set.

use crate::{connect, print_json, signer, ss58, Cli};
use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ValidatorCmd {
	/// The current session's validators (disabled ones marked), the planned set and the session length.
	List,
	/// Have a validator node make fresh session keys for --key's account and register them on
	/// chain (holds the session key deposit). Run against the validator's own node.
	SetKeys {
		/// The validator node's RPC (it keeps the private keys); default: --url.
		#[arg(long)]
		node: Option<String>,
	},
	/// Add an account with session keys to the planned set (root: --key is the sudo key).
	Add { account: String },
	/// Remove an account from the planned set (root: --key is the sudo key).
	Remove { account: String },
}

pub async fn run_validator(cli: &Cli, cmd: &ValidatorCmd) -> Result<()> {
	let client = connect(cli).await?;
	match cmd {
		ValidatorCmd::List => {
			let set = client.validator_set().await?;
			if cli.json {
				print_json(&set);
				return Ok(());
			}
			println!("session {} ({} blocks each)", set.session, set.session_length);
			println!("validating now:");
			for v in &set.active {
				let note =
					if set.disabled.contains(v) { "  (disabled: offence reported)" } else { "" };
				println!("  {v}{note}");
			}
			println!("planned for the next session:");
			for v in &set.planned {
				println!("  {v}");
			}
		}
		ValidatorCmd::SetKeys { node } => {
			let key = signer(cli)?;
			let node = node.as_deref().unwrap_or(&cli.url);
			let keys = client.set_session_keys(node, &key).await?;
			if cli.json {
				print_json(&serde_json::json!({ "account": key.ss58(), "keys": keys }));
			} else {
				println!("session keys of {} set: {keys}", key.ss58());
				println!(
					"root can now add it: tributary validator add {} --key <sudo>",
					key.ss58()
				);
			}
		}
		ValidatorCmd::Add { account: who } => {
			client.add_validator(&signer(cli)?, ss58(who)?).await?;
			println!("{who} joins the set within two sessions");
		}
		ValidatorCmd::Remove { account: who } => {
			client.remove_validator(&signer(cli)?, ss58(who)?).await?;
			println!("{who} leaves the set within two sessions");
		}
	}
	Ok(())
}
