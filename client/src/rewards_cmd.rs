//! `tributary rewards`: a datanet's reward split, and jobs' reward pools.

use crate::{connect, print_json, signer, trib, Cli};
use anyhow::Result;
use clap::Subcommand;
use tributary_client::rewards::SplitView;

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
	/// Show a job's reward pool while it is open.
	Pool { job: u64 },
}

fn percent(ppm: u32) -> String {
	format!("{}%", ppm as f64 / 10_000.0)
}

pub async fn run_rewards(cli: &Cli, cmd: &RewardsCmd) -> Result<()> {
	let client = connect(cli).await?;
	match cmd {
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
		RewardsCmd::Pool { job } => {
			let Some(p) = client.reward_pool(*job).await? else {
				anyhow::bail!(
					"job {job} has no open reward pool (none yet, or swept after its claim period)"
				);
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
