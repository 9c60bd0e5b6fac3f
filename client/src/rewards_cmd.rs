//! `tributary rewards`: a datanet's reward split, jobs' reward pools, their payout tables, and
//! claims.

use crate::training_cmd::fetch_verified;
use crate::{connect, print_json, signer, ss58, trib, Cli};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use tributary_client::payout::{AccountId32, PayoutTable};
use tributary_client::rewards::SplitView;
use tributary_client::training::JobState;
use tributary_client::Client;

#[derive(Subcommand)]
pub enum RewardsCmd {
	/// Show the split that applies to a datanet (its own, or the chain's default).
	Split {
		#[arg(long)]
		datanet: u32,
	},
	/// Publish a datanet's split, as its owner (--key): contributors,curators,worker,owner in
	/// percent, summing to 100 (e.g. 60,10,20,10).
	SetSplit {
		#[arg(long)]
		datanet: u32,
		#[arg(value_parser = SplitView::parse_percent)]
		percent: SplitView,
	},
	/// Show a job's reward pool while it is open (--period: its fee pool of that period, the
	/// fees paid for answers of the model it trained).
	Pool {
		job: u64,
		#[arg(long)]
		period: Option<u32>,
	},
	/// Fetch a job's payout table over the data plane, verified against the job's commitment, and
	/// show it (with --account: that account's lines, what each pays and whether it was claimed).
	Show {
		job: u64,
		#[arg(long)]
		account: Option<String>,
		#[command(flatten)]
		peers: TablePeers,
	},
	/// An account's rewards across every open pool, jobs' budgets and answer fees (--account, else
	/// the signing key's): each job's table is fetched from the peers and checked, and the node
	/// says what each line would pay now (`rewards_claimable`, `rewards_claimableFees`) or that it
	/// was claimed.
	Pending {
		#[arg(long)]
		account: Option<String>,
		#[command(flatten)]
		peers: TablePeers,
	},
	/// Claim every unpaid line of a job's payout table that pays an account (--for, else the
	/// signing key's): the table is fetched, verified, and each line is claimed with its proof.
	/// Anyone may sign; the line's account is paid.
	/// With --period, the line is claimed from the job's fee pool of that period instead.
	Claim {
		job: u64,
		#[arg(long = "for")]
		account: Option<String>,
		#[arg(long)]
		period: Option<u32>,
		#[command(flatten)]
		peers: TablePeers,
	},
}

#[derive(clap::Args)]
pub struct TablePeers {
	/// Data peer serving the table, ending in /p2p/<peer id> (repeatable); the trainer serves it.
	#[arg(long = "peer", env = "TRIBUTARY_PEERS", value_delimiter = ',', required = true)]
	peers: Vec<libp2p::Multiaddr>,
	/// Give up the fetch after this many seconds without progress.
	#[arg(long, default_value_t = 60)]
	timeout: u64,
}

/// `job`'s payout table: fetched by the hash its result commits to, parsed, and checked to be the
/// table committed (root, size, total).
async fn fetched_table(client: &Client, job: u64, peers: &TablePeers) -> Result<PayoutTable> {
	let commitment = match client.job(job).await?.state {
		JobState::Submitted { attribution, .. } | JobState::Finalized { attribution, .. } => {
			attribution
		}
		other => bail!("job {job} has no result yet ({other:?})"),
	};
	if commitment.table_bytes == 0 {
		bail!("job {job}'s result has no payout table (submitted before tables existed)");
	}
	let bytes =
		fetch_verified(&commitment.table, commitment.table_bytes, &peers.peers, peers.timeout)
			.await
			.context("fetching the payout table")?;
	Ok(PayoutTable::from_committed(&bytes, job, &commitment)?)
}

fn percent(ppm: u32) -> String {
	format!("{}%", ppm as f64 / 10_000.0)
}

pub async fn run_rewards(cli: &Cli, cmd: &RewardsCmd) -> Result<()> {
	let client = connect(cli).await?;
	match cmd {
		RewardsCmd::Show { .. } | RewardsCmd::Claim { .. } | RewardsCmd::Pending { .. } => {
			return run_table(cli, &client, cmd).await;
		}
		RewardsCmd::Split { datanet } => {
			let s = client.reward_split(*datanet).await?;
			if cli.json {
				print_json(&s);
				return Ok(());
			}
			println!(
				"datanet {datanet} ({}): contributors {}, curators {}, worker {}, owner {}",
				if s.published { "published" } else { "chain default" },
				percent(s.contributors),
				percent(s.curators),
				percent(s.worker),
				percent(s.owner)
			);
		}
		RewardsCmd::SetSplit { datanet, percent: split } => {
			client.set_reward_split(&signer(cli)?, *datanet, split).await?;
			println!(
				"datanet {datanet} now splits: contributors {}, curators {}, worker {}, owner {}",
				percent(split.contributors),
				percent(split.curators),
				percent(split.worker),
				percent(split.owner)
			);
		}
		RewardsCmd::Pool { job, period } => {
			let pool = match period {
				None => client.reward_pool(*job).await?,
				Some(p) => client.fee_pool(*job, *p).await?,
			};
			let Some(p) = pool else {
				match period {
					None => anyhow::bail!(
						"job {job} has no open reward pool (none yet, or swept after its claim period)"
					),
					Some(n) => anyhow::bail!(
						"job {job} has no fee pool of period {n} (no answer fees then, or swept)"
					),
				}
			};
			if cli.json {
				print_json(&p);
				return Ok(());
			}
			println!(
				"job {job} (datanet {}): contributors {} ({} claimed), curators {} ({} claimed), {} leaves, root {}, claims until block {}",
				p.datanet,
				trib(p.contributors),
				trib(p.contributors_paid),
				trib(p.curators),
				trib(p.curators_paid),
				p.leaves,
				p.root,
				p.expires_at
			);
		}
	}
	Ok(())
}

/// One line of a table that pays an account; `amount` in plancks (a string: JSON numbers lose
/// precision past 2^53).
#[derive(serde::Serialize)]
struct Line {
	index: u32,
	role: String,
	item: u64,
	ppm: u32,
	amount: Option<String>,
	claimed: bool,
}

fn account_or_signer(cli: &Cli, account: &Option<String>) -> Result<AccountId32> {
	match account {
		Some(a) => ss58(a),
		None => Ok(signer(cli)?.account_id()),
	}
}

async fn run_table(cli: &Cli, client: &Client, cmd: &RewardsCmd) -> Result<()> {
	match cmd {
		RewardsCmd::Show { job, account, peers } => {
			let table = fetched_table(client, *job, peers).await?;
			let Some(account) = account else {
				if cli.json {
					print_json(&table);
					return Ok(());
				}
				println!(
					"job {job}: datanet {} version {}, scores against the {} split",
					table.datanet, table.version, table.target
				);
				for c in &table.contributions {
					println!(
						"  contribution {:>6}  {}  score {:+.6e}  {:>9} ppm  ({} examples)",
						c.contribution, c.contributor, c.score, c.ppm, c.examples
					);
				}
				for c in &table.curators {
					println!(
						"  curator {}  {} approvals  {:>9} ppm",
						c.account, c.approvals, c.ppm
					);
				}
				return Ok(());
			};
			let account = ss58(account)?;
			let pool = client.reward_pool(*job).await?;
			let mut lines = Vec::new();
			for tributary_client::payout::LeafClaim { index, leaf, .. } in table.claims_of(&account)
			{
				let part = pool.as_ref().map(|p| match leaf.role {
					pallet_rewards::Role::Contributor => p.contributors,
					pallet_rewards::Role::Curator => p.curators,
				});
				lines.push(Line {
					index,
					role: format!("{:?}", leaf.role).to_lowercase(),
					item: leaf.item,
					ppm: leaf.ppm,
					amount: part.map(|p| pallet_rewards::share(p, leaf.ppm).to_string()),
					claimed: client.leaf_claimed(*job, index).await?,
				});
			}
			if cli.json {
				print_json(&lines);
				return Ok(());
			}
			if lines.is_empty() {
				println!("job {job}: nothing for {account}");
			}
			for l in &lines {
				let amount = match &l.amount {
					Some(a) => trib(a.parse().expect("a number")),
					None => "no pool (not final yet, or swept)".into(),
				};
				println!(
					"job {job} line {}: {} {} — {} ppm, {amount}{}",
					l.index,
					l.role,
					l.item,
					l.ppm,
					if l.claimed { ", claimed" } else { "" }
				);
			}
		}
		RewardsCmd::Pending { account, peers } => {
			let account = account_or_signer(cli, account)?;
			let (mut lines, mut pending, mut claimed, mut unreachable) =
				(vec![], 0u128, 0usize, vec![]);
			// Every job's budget pool, then every fee pool (answer fees, by period): each pays
			// by its job's table, fetched once.
			let mut pools: Vec<(u64, Option<u32>)> =
				client.reward_pools().await?.into_iter().map(|(job, _)| (job, None)).collect();
			pools.extend(client.fee_pools().await?.into_iter().map(|(j, p)| (j, Some(p))));
			let mut tables = std::collections::BTreeMap::new();
			for (job, period) in pools {
				if let std::collections::btree_map::Entry::Vacant(slot) = tables.entry(job) {
					let t = fetched_table(client, job, peers).await.map_err(|e| format!("{e:#}"));
					if let Err(e) = &t {
						unreachable.push(serde_json::json!({ "job": job, "error": e }));
					}
					slot.insert(t.ok());
				}
				let Some(Some(table)) = tables.get(&job) else { continue };
				for claim in table.claims_of(&account) {
					let status = client.claimable(job, period, &claim).await?;
					let (amount, state) = match &status {
						Ok(a) => {
							pending += a;
							(Some(a.to_string()), "pending".to_string())
						}
						Err(why) if why == "alreadyClaimed" => {
							claimed += 1;
							(None, "claimed".to_string())
						}
						Err(why) => (None, why.clone()),
					};
					lines.push(serde_json::json!({
						"job": job,
						"period": period,
						"index": claim.index,
						"role": format!("{:?}", claim.leaf.role).to_lowercase(),
						"item": claim.leaf.item,
						"ppm": claim.leaf.ppm,
						"amount": amount,
						"state": state,
					}));
				}
			}
			if cli.json {
				print_json(&serde_json::json!({
					"account": account.to_string(),
					"pending": pending.to_string(),
					"lines": lines,
					"claimed_lines": claimed,
					"tables_not_fetched": unreachable,
				}));
				return Ok(());
			}
			for l in &lines {
				let what = match l["amount"].as_str() {
					Some(a) => trib(a.parse().expect("a number")),
					None => l["state"].as_str().unwrap_or("").to_string(),
				};
				let pool = match l["period"].as_u64() {
					Some(p) => format!(" (fees of period {p})"),
					None => String::new(),
				};
				println!(
					"job {}{pool} line {}: {} {} — {} ppm: {what}",
					l["job"],
					l["index"],
					l["role"].as_str().unwrap_or(""),
					l["item"],
					l["ppm"]
				);
			}
			for u in &unreachable {
				println!("job {}: the table could not be had: {}", u["job"], u["error"]);
			}
			println!("{account}: {} pending, {claimed} line(s) claimed", trib(pending));
		}
		RewardsCmd::Claim { job, account, period, peers } => {
			let key = signer(cli)?;
			let account = account_or_signer(cli, account)?;
			let table = fetched_table(client, *job, peers).await?;
			let claimed = client.claim_rewards(&key, &table, &account, *period).await?;
			if cli.json {
				print_json(&claimed);
				return Ok(());
			}
			if claimed.is_empty() {
				println!("job {job}: nothing left to claim for {account}");
			}
			for c in &claimed {
				println!(
					"job {job} line {}: {} {} paid {} to {account}",
					c.index,
					c.role,
					c.item,
					trib(c.amount)
				);
			}
		}
		_ => unreachable!("not a table command"),
	}
	Ok(())
}
