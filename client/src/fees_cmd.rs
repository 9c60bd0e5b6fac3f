//! `tributary fees`: workers' prices, tabs with a serving worker, and the vouchers that pay for
//! answers (docs/fees.md).

use crate::{connect, print_json, signer, ss58, trib, Cli};
use anyhow::{bail, Result};
use clap::Subcommand;
use tributary_client::fees::sign_voucher;
use tributary_client::training::parse_trib;

#[derive(Subcommand)]
pub enum FeesCmd {
	/// A worker's price per 1,000 tokens (prompt and answer); free when none is published.
	Price { worker: String },
	/// Publish your price per 1,000 tokens as a serving worker (--key), in TRIB; 0 serves free.
	SetPrice { amount: String },
	/// Open a tab with a serving worker holding AMOUNT TRIB (held on your account), or top the
	/// open one up.
	Fund { worker: String, amount: String },
	/// Your tab with a worker (--payer: another account's).
	Tab {
		worker: String,
		#[arg(long)]
		payer: Option<String>,
	},
	/// Close your tab with a worker: it may settle for a while longer, then you withdraw.
	Close { worker: String },
	/// Withdraw what is left of your closed tab with a worker.
	Withdraw { worker: String },
	/// Sign a voucher: WORKER may take up to AMOUNT TRIB in all, over your open tab with it, for
	/// answers of model MODEL. Prints the `Tributary-Voucher` header value to send with requests.
	Voucher {
		worker: String,
		#[arg(long)]
		model: u64,
		/// Cumulative over the tab's life, in TRIB (raise it for later requests).
		#[arg(long)]
		amount: String,
	},
}

pub async fn run_fees(cli: &Cli, cmd: &FeesCmd) -> Result<()> {
	let client = connect(cli).await?;
	match cmd {
		FeesCmd::Price { worker } => {
			let price = client.price(&ss58(worker)?).await?;
			if cli.json {
				print_json(&serde_json::json!({ "worker": worker, "price": price.to_string() }));
			} else if price == 0 {
				println!("{worker} serves for free");
			} else {
				println!("{worker}: {} per 1,000 tokens", trib(price));
			}
		}
		FeesCmd::SetPrice { amount } => {
			let price = parse_trib(amount)?;
			client.set_price(&signer(cli)?, price).await?;
			println!("price set: {} per 1,000 tokens", trib(price));
		}
		FeesCmd::Fund { worker, amount } => {
			let t = client.fund_tab(&signer(cli)?, &ss58(worker)?, parse_trib(amount)?).await?;
			if cli.json {
				print_json(&t);
			} else {
				println!("tab {} with {worker} holds {}", t.id, trib(t.balance));
			}
		}
		FeesCmd::Tab { worker, payer } => {
			let payer = match payer {
				Some(p) => ss58(p)?,
				None => signer(cli)?.account_id(),
			};
			let Some(t) = client.tab(&payer, &ss58(worker)?).await? else {
				bail!("{payer} has no open tab with {worker}: open one with `tributary fees fund`");
			};
			if cli.json {
				print_json(&t);
			} else {
				println!("tab {} of {payer} with {worker}: {} held", t.id, trib(t.balance));
				if let Some(at) = t.closes_at {
					println!("  closing: withdraw from block {at}");
				}
			}
		}
		FeesCmd::Close { worker } => {
			let at = client.close_tab(&signer(cli)?, &ss58(worker)?).await?;
			println!("tab with {worker} closing: withdraw from block {at}");
		}
		FeesCmd::Withdraw { worker } => {
			let back = client.withdraw_tab(&signer(cli)?, &ss58(worker)?).await?;
			println!("withdrew {} from the tab with {worker}", trib(back));
		}
		FeesCmd::Voucher { worker, model, amount } => {
			let key = signer(cli)?;
			let worker = ss58(worker)?;
			let Some(tab) = client.tab(&key.account_id(), &worker).await? else {
				bail!("no open tab with {worker}: open one first with `tributary fees fund {worker} AMOUNT`");
			};
			if tab.closes_at.is_some() {
				bail!("your tab with {worker} is closing: withdraw it and open a new one");
			}
			let pass =
				sign_voucher(&key, &client.genesis(), tab.id, &worker, *model, parse_trib(amount)?);
			println!("{}", serde_json::to_string(&pass)?);
		}
	}
	Ok(())
}
