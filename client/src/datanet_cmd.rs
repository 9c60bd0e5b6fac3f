//! `tributary datanet`: create, list and show datanets; what owners change later (rules,
//! curators, closing); and the force origin's close.

use crate::{connect, print_json, signer, table, trib, Cli};
use anyhow::{Context, Result};
use clap::Subcommand;
use tributary_client::{
	client::{ModalityArg, NewDatanet, RulesArg},
	content,
};

fn address(s: &str) -> Result<subxt::utils::AccountId32> {
	s.parse().map_err(|_| anyhow::anyhow!("`{s}` is not an SS58 address"))
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
		#[arg(long, default_value_t = 1)]
		approval_quorum: u32,
		#[arg(long, default_value_t = 1)]
		rejection_quorum: u32,
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
		/// Deposit held per pending contribution, in plancks.
		#[arg(long, default_value_t = 0)]
		deposit: u128,
		/// Paid per curator vote from the datanet's curation pot, in plancks.
		#[arg(long, default_value_t = 0)]
		curator_fee: u128,
		/// Blocks a contribution may stay pending before it expires (its deposit then goes to the
		/// curation pot). Default: a week of 6 s blocks.
		#[arg(long)]
		pending_blocks: Option<u32>,
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
	/// Change a datanet's rules (owner only); what is not given stays. Caps and the pending time
	/// apply at once; a new fee, quorum or deposit waits a day (`datanet show` says when).
	UpdateRules {
		id: u32,
		#[arg(long)]
		approval_quorum: Option<u32>,
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
		#[arg(long)]
		datanet_daily_items: Option<u32>,
		/// Deposit held per pending contribution, in plancks.
		#[arg(long)]
		deposit: Option<u128>,
		/// Paid per decision from the datanet's curation pot, in plancks.
		#[arg(long)]
		curator_fee: Option<u128>,
		#[arg(long)]
		pending_blocks: Option<u32>,
	},
	/// Add a curator (owner only); its votes count once it holds a curator bond.
	AddCurator { id: u32, curator: String },
	/// Remove a curator (owner only; not below the quorums).
	RemoveCurator { id: u32, curator: String },
	/// Close a datanet to new submissions (owner only); pending ones can still be decided.
	Close { id: u32 },
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
			approval_quorum,
			rejection_quorum,
			max_item_bytes,
			contributor_daily_bytes,
			contributor_daily_items,
			datanet_daily_bytes,
			datanet_daily_items,
			deposit,
			curator_fee,
			pending_blocks,
			global_board,
		} => {
			let key = signer(cli)?;
			let defaults = RulesArg::default();
			let rules = RulesArg {
				max_item_bytes: max_item_bytes.unwrap_or(defaults.max_item_bytes),
				contributor_daily_bytes: contributor_daily_bytes
					.unwrap_or(defaults.contributor_daily_bytes),
				contributor_daily_items: contributor_daily_items
					.unwrap_or(defaults.contributor_daily_items),
				datanet_daily_bytes: datanet_daily_bytes.unwrap_or(defaults.datanet_daily_bytes),
				datanet_daily_items: datanet_daily_items.unwrap_or(defaults.datanet_daily_items),
				approval_quorum: *approval_quorum,
				rejection_quorum: *rejection_quorum,
				contribution_deposit: *deposit,
				curator_fee: *curator_fee,
				pending_blocks: pending_blocks.unwrap_or(defaults.pending_blocks),
			};
			let curators = curators
				.iter()
				.map(|c| {
					c.parse::<subxt::utils::AccountId32>()
						.map_err(|_| anyhow::anyhow!("`{c}` is not an SS58 address"))
				})
				.collect::<Result<Vec<_>>>()?;
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
		DatanetCmd::UpdateRules {
			id,
			approval_quorum,
			rejection_quorum,
			max_item_bytes,
			contributor_daily_bytes,
			contributor_daily_items,
			datanet_daily_bytes,
			datanet_daily_items,
			deposit,
			curator_fee,
			pending_blocks,
		} => {
			let key = signer(cli)?;
			let client = connect(cli).await?;
			let current =
				client.datanet(*id).await?.with_context(|| format!("no datanet {id} on chain"))?;
			let mut r = current.rules;
			// A change already scheduled is the base for the delayed fields.
			if let Some(s) = &current.scheduled_rules {
				r.approval_quorum = s.approval_quorum;
				r.rejection_quorum = s.rejection_quorum;
				r.contribution_deposit = s.contribution_deposit;
				r.curator_fee = s.curator_fee;
			}
			r.approval_quorum = approval_quorum.unwrap_or(r.approval_quorum);
			r.rejection_quorum = rejection_quorum.unwrap_or(r.rejection_quorum);
			r.max_item_bytes = max_item_bytes.unwrap_or(r.max_item_bytes);
			r.contributor_daily_bytes =
				contributor_daily_bytes.unwrap_or(r.contributor_daily_bytes);
			r.contributor_daily_items =
				contributor_daily_items.unwrap_or(r.contributor_daily_items);
			r.datanet_daily_bytes = datanet_daily_bytes.unwrap_or(r.datanet_daily_bytes);
			r.datanet_daily_items = datanet_daily_items.unwrap_or(r.datanet_daily_items);
			r.contribution_deposit = deposit.unwrap_or(r.contribution_deposit);
			r.curator_fee = curator_fee.unwrap_or(r.curator_fee);
			r.pending_blocks = pending_blocks.unwrap_or(r.pending_blocks);
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
			connect(cli).await?.add_curator(&signer(cli)?, *id, address(curator)?).await?;
			println!("{curator} curates datanet {id} (its votes count with a curator bond)");
			Ok(())
		}
		DatanetCmd::RemoveCurator { id, curator } => {
			connect(cli).await?.remove_curator(&signer(cli)?, *id, address(curator)?).await?;
			println!("{curator} no longer curates datanet {id}");
			Ok(())
		}
		DatanetCmd::Close { id } => {
			connect(cli).await?.close_datanet(&signer(cli)?, *id).await?;
			println!("datanet {id} closed to new submissions");
			Ok(())
		}
		DatanetCmd::ForceClose { id, slash, pot_to } => {
			let to = pot_to.as_deref().map(address).transpose()?;
			connect(cli).await?.force_close_datanet(&signer(cli)?, *id, *slash, to).await?;
			println!("datanet {id} closed by force");
			Ok(())
		}
	}
}
