//! `tributary datanet`: create, list and show datanets; what owners change later (rules,
//! curators, closing); and the force origin's close.

use crate::{connect, print_json, signer, ss58, table, trib, Cli};
use anyhow::{Context, Result};
use clap::Subcommand;
use tributary_client::{
	client::{ModalityArg, NewDatanet, RulesArg},
	content,
};

/// The rules a datanet's owner sets; a flag not given keeps the base value (the chain's defaults
/// when creating, the current or scheduled rules when updating).
#[derive(clap::Args)]
pub struct RuleFlags {
	/// Curator approvals that accept a contribution (default 1).
	#[arg(long)]
	approval_quorum: Option<u32>,
	/// Curator rejections that reject one (default 1).
	#[arg(long)]
	rejection_quorum: Option<u32>,
	#[arg(long)]
	max_item_bytes: Option<u64>,
	#[arg(long)]
	contributor_daily_bytes: Option<u64>,
	#[arg(long)]
	contributor_daily_items: Option<u32>,
	#[arg(long)]
	datanet_daily_bytes: Option<u64>,
	/// Items all contributors together may submit per day (at least 10).
	#[arg(long)]
	datanet_daily_items: Option<u32>,
	/// Deposit held per pending contribution, in plancks (default 0).
	#[arg(long)]
	deposit: Option<u128>,
	/// Paid per decision from the datanet's curation pot, in plancks (default 0).
	#[arg(long)]
	curator_fee: Option<u128>,
	/// Blocks a contribution may stay pending before it expires (its deposit then goes to the
	/// curation pot). Default: a week of 6 s blocks.
	#[arg(long)]
	pending_blocks: Option<u32>,
}

impl RuleFlags {
	/// `base` with every given flag applied.
	fn over(&self, base: RulesArg) -> RulesArg {
		RulesArg {
			max_item_bytes: self.max_item_bytes.unwrap_or(base.max_item_bytes),
			contributor_daily_bytes: self
				.contributor_daily_bytes
				.unwrap_or(base.contributor_daily_bytes),
			contributor_daily_items: self
				.contributor_daily_items
				.unwrap_or(base.contributor_daily_items),
			datanet_daily_bytes: self.datanet_daily_bytes.unwrap_or(base.datanet_daily_bytes),
			datanet_daily_items: self.datanet_daily_items.unwrap_or(base.datanet_daily_items),
			approval_quorum: self.approval_quorum.unwrap_or(base.approval_quorum),
			rejection_quorum: self.rejection_quorum.unwrap_or(base.rejection_quorum),
			contribution_deposit: self.deposit.unwrap_or(base.contribution_deposit),
			curator_fee: self.curator_fee.unwrap_or(base.curator_fee),
			pending_blocks: self.pending_blocks.unwrap_or(base.pending_blocks),
		}
	}
}

// Parsed once per process: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum DatanetCmd {
	/// Create a datanet owned by --key.
	Create {
		#[arg(long)]
		name: String,
		#[arg(long, default_value = "")]
		description: String,
		#[arg(long, value_enum)]
		modality: ModalityArg,
		/// Allowed formats, comma separated (e.g. txt,md,jsonl).
		#[arg(long, value_delimiter = ',', required = true)]
		formats: Vec<String>,
		/// A curator's SS58 address; repeat for more.
		#[arg(long = "curator")]
		curators: Vec<String>,
		#[command(flatten)]
		rules: RuleFlags,
		/// Put the datanet on the global board: its contributors' records count across datanets.
		/// Holds the chain's global-board bond from you for good.
		#[arg(long)]
		global_board: bool,
	},
	/// List all datanets.
	List,
	/// Show one datanet, its rules and curators.
	Show { id: u32 },
	/// Publish the accepted list as a new dataset version (owner only).
	Publish { id: u32 },
	/// List a datanet's published versions, newest first.
	Versions { id: u32 },
	/// Show a datanet's commitment as it stands: the accepted count and the MMR root.
	Commitment { id: u32 },
	/// Move TRIB into a datanet's curation pot (anyone), which pays curators per decision.
	Fund {
		id: u32,
		/// In TRIB, e.g. 10.
		amount: String,
	},
	/// Change a datanet's rules (owner only); what is not given stays. Caps and the pending time
	/// apply at once; a new fee, quorum or deposit waits a day (`datanet show` says when).
	UpdateRules {
		id: u32,
		#[command(flatten)]
		rules: RuleFlags,
	},
	/// Add a curator (owner only); its votes count once it holds a curator bond.
	AddCurator { id: u32, curator: String },
	/// Remove a curator (owner only; not below the quorums).
	RemoveCurator { id: u32, curator: String },
	/// Close a datanet to new submissions (owner only); pending ones can still be decided. Its
	/// deposit stays held until the datanet is cleared.
	Close { id: u32 },
	/// Clear a closed datanet's storage (anyone, once the chain's clear delay has passed since
	/// it closed), in calls of at most --max-keys entries until nothing is left. Free: each
	/// record deposit goes back to its contributor, the datanet deposit to the owner.
	Clear {
		id: u32,
		#[arg(long, default_value_t = 200)]
		max_keys: u32,
	},
	/// Close any datanet as root (--key is the sudo key): burn the owner's deposit with --slash,
	/// move the curation pot with --pot-to.
	ForceClose {
		id: u32,
		#[arg(long)]
		slash: bool,
		#[arg(long)]
		pot_to: Option<String>,
	},
}

pub async fn run_datanet(cli: &Cli, cmd: &DatanetCmd) -> Result<()> {
	match cmd {
		DatanetCmd::Create {
			name,
			description,
			modality,
			formats,
			curators,
			rules,
			global_board,
		} => {
			let key = signer(cli)?;
			let rules = rules.over(RulesArg::default());
			let curators = curators.iter().map(|c| ss58(c)).collect::<Result<Vec<_>>>()?;
			let def = NewDatanet {
				name: name.clone(),
				description: description.clone(),
				modality: *modality,
				formats: formats.iter().map(|f| content::canonical_format(f)).collect(),
				curators,
				rules,
			};
			let client = connect(cli).await?;
			let id = client.create_datanet(&key, &def).await?;
			if *global_board {
				client.join_global_board(&key, id).await?;
			}
			if cli.json {
				print_json(&serde_json::json!({ "datanet": id, "global_board": global_board }));
			} else {
				let board = if *global_board { " (on the global board)" } else { "" };
				println!("datanet {id} created: {name}{board}");
			}
			Ok(())
		}
		DatanetCmd::List => {
			let all = connect(cli).await?.datanets().await?;
			if cli.json {
				print_json(&all);
				return Ok(());
			}
			let rows: Vec<Vec<String>> = all
				.iter()
				.map(|d| {
					vec![
						d.id.to_string(),
						d.name.clone(),
						d.modality.clone(),
						d.formats.join(","),
						d.status.clone(),
						d.accepted.to_string(),
						d.submitted.to_string(),
					]
				})
				.collect();
			println!(
				"{}",
				table(
					&["ID", "NAME", "MODALITY", "FORMATS", "STATUS", "ACCEPTED", "SUBMITTED"],
					&rows
				)
			);
			Ok(())
		}
		DatanetCmd::Show { id } => {
			let d = connect(cli).await?.datanet(*id).await?.with_context(|| {
				format!("no datanet {id} on chain: `tributary datanet list` shows them")
			})?;
			if cli.json {
				print_json(&d);
				return Ok(());
			}
			println!("datanet {} — {} ({}, {})", d.id, d.name, d.modality, d.status);
			if !d.description.is_empty() {
				println!("  {}", d.description);
			}
			println!("  owner            {}", d.owner);
			println!("  formats          {}", d.formats.join(", "));
			println!("  item limit       {} bytes", d.rules.max_item_bytes);
			println!(
				"  per contributor  {} bytes, {} items per day",
				d.rules.contributor_daily_bytes, d.rules.contributor_daily_items
			);
			println!(
				"  per datanet      {} bytes, {} items per day",
				d.rules.datanet_daily_bytes, d.rules.datanet_daily_items
			);
			println!(
				"  quorum           {} to accept, {} to reject, of {} curators",
				d.rules.approval_quorum,
				d.rules.rejection_quorum,
				d.curators.len()
			);
			println!(
				"  deposit          {}  curator fee {}",
				trib(d.rules.contribution_deposit),
				trib(d.rules.curator_fee)
			);
			println!("  pending for      at most {} blocks, then expires", d.rules.pending_blocks);
			println!(
				"  global board     {}",
				if d.on_global_board { "yes: its records count across datanets" } else { "no" }
			);
			if let Some(c) = &d.scheduled_rules {
				println!(
					"  from block {:<6} quorum {} / {}, deposit {}, curator fee {} (scheduled)",
					c.at_block,
					c.approval_quorum,
					c.rejection_quorum,
					trib(c.contribution_deposit),
					trib(c.curator_fee)
				);
			}
			println!(
				"  contributions    {} submitted, {} accepted, {} rejected; latest version {}",
				d.submitted, d.accepted, d.rejected, d.latest_version
			);
			for c in &d.curators {
				println!("  curator          {c}");
			}
			Ok(())
		}
		DatanetCmd::Publish { id } => {
			let key = signer(cli)?;
			let (version, count, root) = connect(cli).await?.publish_version(&key, *id).await?;
			if cli.json {
				print_json(
					&serde_json::json!({"version": version, "count": count, "root": format!("0x{}", hex::encode(root))}),
				);
			} else {
				println!(
					"datanet {id} version {version}: {count} contributions, root 0x{}",
					hex::encode(root)
				);
			}
			Ok(())
		}
		DatanetCmd::Versions { id } => {
			let versions = connect(cli).await?.dataset_versions(*id).await?;
			if cli.json {
				let rows: Vec<_> = versions
					.iter()
					.map(|(n, v)| serde_json::json!({"version": n, "count": v.count, "root": format!("0x{}", hex::encode(v.root)), "published_at": v.published_at}))
					.collect();
				print_json(&rows);
			} else if versions.is_empty() {
				println!("datanet {id} has no published version");
			} else {
				for (n, v) in versions {
					println!(
						"version {n}: {} contributions, root 0x{}, block {}",
						v.count,
						hex::encode(v.root),
						v.published_at
					);
				}
			}
			Ok(())
		}
		DatanetCmd::Commitment { id } => {
			let Some(c) = connect(cli).await?.commitment(*id).await? else {
				anyhow::bail!("no datanet {id}");
			};
			if cli.json {
				print_json(&c);
			} else {
				println!("datanet {id}: {} accepted, root {}", c.count, c.root);
			}
			Ok(())
		}
		DatanetCmd::Fund { id, amount } => {
			let key = signer(cli)?;
			let plancks = tributary_client::training::parse_trib(amount)?;
			let client = connect(cli).await?;
			client.fund_curation_pot(&key, *id, plancks).await?;
			let pot = tributary_client::curation_pot::curation_pot(*id);
			let now = client.balance(&pot).await?.free;
			println!(
				"datanet {id}'s curation pot ({pot}) received {}; it holds {}",
				trib(plancks),
				trib(now)
			);
			Ok(())
		}
		DatanetCmd::UpdateRules { id, rules } => {
			let key = signer(cli)?;
			let client = connect(cli).await?;
			let current =
				client.datanet(*id).await?.with_context(|| format!("no datanet {id} on chain"))?;
			let mut base = current.rules;
			// A change already scheduled is the base for the delayed fields.
			if let Some(s) = &current.scheduled_rules {
				base.approval_quorum = s.approval_quorum;
				base.rejection_quorum = s.rejection_quorum;
				base.contribution_deposit = s.contribution_deposit;
				base.curator_fee = s.curator_fee;
			}
			let r = rules.over(base);
			client.update_rules(&key, *id, &r).await?;
			let after =
				client.datanet(*id).await?.with_context(|| format!("no datanet {id} on chain"))?;
			if cli.json {
				print_json(&after);
			} else if let Some(s) = &after.scheduled_rules {
				println!(
					"rules of datanet {id} updated; fee, quorums and deposit change at block {}",
					s.at_block
				);
			} else {
				println!("rules of datanet {id} updated");
			}
			Ok(())
		}
		DatanetCmd::AddCurator { id, curator } => {
			connect(cli).await?.add_curator(&signer(cli)?, *id, ss58(curator)?).await?;
			println!("{curator} curates datanet {id} (its votes count with a curator bond)");
			Ok(())
		}
		DatanetCmd::RemoveCurator { id, curator } => {
			connect(cli).await?.remove_curator(&signer(cli)?, *id, ss58(curator)?).await?;
			println!("{curator} no longer curates datanet {id}");
			Ok(())
		}
		DatanetCmd::Close { id } => {
			connect(cli).await?.close_datanet(&signer(cli)?, *id).await?;
			println!("datanet {id} closed to new submissions");
			Ok(())
		}
		DatanetCmd::Clear { id, max_keys } => {
			let (key, client) = (signer(cli)?, connect(cli).await?);
			let (mut items, mut keys) = (0u64, 0u64);
			loop {
				let (i, k, done) = client.clear_closed_datanet(&key, *id, *max_keys).await?;
				(items, keys) = (items + u64::from(i), keys + u64::from(k));
				if done {
					break;
				}
			}
			if cli.json {
				print_json(
					&serde_json::json!({ "datanet": id, "contributions": items, "keys": keys }),
				);
			} else {
				println!(
					"datanet {id} cleared: {items} accepted contributions and {keys} other entries \
					 removed; deposits went back to those who paid them"
				);
			}
			Ok(())
		}
		DatanetCmd::ForceClose { id, slash, pot_to } => {
			let to = pot_to.as_deref().map(ss58).transpose()?;
			connect(cli).await?.force_close_datanet(&signer(cli)?, *id, *slash, to).await?;
			println!("datanet {id} closed by force");
			Ok(())
		}
	}
}
