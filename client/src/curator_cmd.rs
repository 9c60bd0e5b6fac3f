//! `tributary curator`: the bond a curator holds for its votes to count.

use crate::{connect, print_json, signer, ss58, trib, Cli};
use anyhow::Result;
use clap::Subcommand;
use tributary_client::training::parse_trib;

#[derive(Subcommand)]
pub enum CuratorCmd {
	/// Hold a curator bond for --key (default: what the chain requires); votes count only with one.
	Bond {
		/// In TRIB; added to what is already held.
		#[arg(long)]
		amount: Option<String>,
	},
	/// Stop curating: votes stop counting now; the bond can be withdrawn after the delay.
	Unbond,
	/// Release the bond once the unbonding delay has passed.
	Withdraw,
	/// Show a curator's bond (--key's account, or the address given).
	Status { address: Option<String> },
	/// A curator's queue: pending contributions in the datanets it curates that it has not voted
	/// on (--key's account, or the address given).
	Queue { address: Option<String> },
	/// Burn up to `amount` TRIB of a curator's bond, as root (--key is the sudo key).
	Slash { address: String, amount: String },
}

pub async fn run_curator(cli: &Cli, cmd: &CuratorCmd) -> Result<()> {
	let client = connect(cli).await?;
	match cmd {
		CuratorCmd::Bond { amount } => {
			let key = signer(cli)?;
			let amount = match amount {
				Some(a) => parse_trib(a)?,
				None => client.curator_bond_required()?,
			};
			client.bond_curator(&key, amount).await?;
			println!("{} holds {} more as curator bond", key.ss58(), trib(amount));
		}
		CuratorCmd::Unbond => {
			let at = client.unbond_curator(&signer(cli)?).await?;
			println!("unbonding: votes no longer count; withdraw from block {at}");
		}
		CuratorCmd::Withdraw => {
			let amount = client.withdraw_curator_bond(&signer(cli)?).await?;
			println!("released {}", trib(amount));
		}
		CuratorCmd::Slash { address, amount } => {
			let who = ss58(address)?;
			client.slash_curator(&signer(cli)?, who, parse_trib(amount)?).await?;
			println!("slashed up to {amount} TRIB of {address}'s curator bond");
		}
		CuratorCmd::Queue { address } => {
			let who = match address {
				Some(a) => ss58(a)?,
				None => signer(cli)?.account_id(),
			};
			let queue = client.curator_queue(&who).await?;
			if cli.json {
				print_json(&queue);
			} else if queue.is_empty() {
				println!("nothing waits for {who}'s vote");
			} else {
				for c in queue {
					println!(
						"{}: datanet {}, {} bytes of {}, by {}, hash {}; {} approvals, {} rejections so far",
						c.id, c.datanet, c.bytes, c.format, c.contributor, c.content_hash, c.approvals, c.rejections
					);
				}
			}
		}
		CuratorCmd::Status { address } => {
			let who = match address {
				Some(a) => ss58(a)?,
				None => signer(cli)?.account_id(),
			};
			let bond = client.curator_bond(&who).await?;
			if cli.json {
				print_json(&bond);
				return Ok(());
			}
			match bond {
				None => println!("{who}: no curator bond (votes do not count)"),
				Some(b) => println!(
					"{who}: {} held, {}",
					trib(b.amount),
					match (b.active, b.unbonding_at) {
						(true, _) => "votes count".to_string(),
						(false, Some(at)) => format!("unbonding, withdrawable from block {at}"),
						(false, None) => "below the required bond: votes do not count".to_string(),
					}
				),
			}
		}
	}
	Ok(())
}
