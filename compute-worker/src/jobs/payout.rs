//! A job's payout table, from its training's attribution rows (docs/attribution.md): one line per
//! item of the version, its records' scores summed; curators by their approving votes on the
//! version's items. Published on the data plane; the result commits to it.

use super::prepare::Prepared;
use data_plane::DataNode;
use model_factory::attribution::SourceScore;
use std::collections::BTreeMap;

use tributary_client::payout::{AccountId32, CommitmentSpec, ContributionLine, PayoutTable};
use tributary_client::training::JobView;
use tributary_client::Client;

/// The table for `job` (its id, datanet and version) from `rows` (per record index, as the
/// training returns them) and the curators' `approvals`.
pub fn table(
	job: (u64, u32, u32),
	prepared: &Prepared,
	target: &str,
	rows: &[SourceScore],
	approvals: BTreeMap<AccountId32, u64>,
) -> PayoutTable {
	let mut lines: Vec<ContributionLine> = prepared
		.items
		.iter()
		.map(|i| ContributionLine {
			contribution: i.contribution,
			contributor: i.contributor.clone(),
			score: 0.0,
			examples: 0,
			self_influence: 0.0,
			ppm: 0,
		})
		.collect();
	for r in rows {
		let Some(&pos) = prepared.record_items.get(r.source as usize) else { continue };
		let line = &mut lines[pos];
		line.score += r.score;
		line.self_influence += r.self_influence;
		line.examples += r.examples as u64;
	}
	PayoutTable::new(job.0, job.1, job.2, target, lines, approvals)
}

/// The table of a finished training (the curators' votes read from the chain).
pub async fn build(
	client: &Client,
	job: &JobView,
	prepared: &Prepared,
	summary: &model_factory::finetune::Summary,
) -> anyhow::Result<PayoutTable> {
	let rows = summary
		.attribution
		.as_deref()
		.ok_or_else(|| anyhow::anyhow!("the training recorded no attribution"))?;
	let target = summary.attribution_target.as_deref().unwrap_or("eval");
	let ids: Vec<u64> = prepared.items.iter().map(|i| i.contribution).collect();
	let approvals = client.approvals(&ids).await?;
	Ok(table((job.id, job.datanet, job.version), prepared, target, rows, approvals))
}

/// Builds the table of a finished training, stores, pins and provides it; returns it with the
/// commitment a result carries.
pub async fn publish(
	client: &Client,
	node: &DataNode,
	job: &JobView,
	prepared: &Prepared,
	summary: &model_factory::finetune::Summary,
) -> anyhow::Result<(PayoutTable, CommitmentSpec)> {
	let table = build(client, job, prepared, summary).await?;
	#[cfg(feature = "falsify-attribution")]
	let table = falsified(table);
	let bytes = table.to_bytes();
	let store = node.store();
	let hash = store.put_bytes(&bytes)?;
	store.pin(&hash, super::dataset::TRAINING_PIN, None)?;
	node.provide(hash, bytes.len() as u64);
	Ok((table.clone(), table.commitment(&bytes)))
}

/// The table a lying worker publishes (tests only): the first and last contributions' scores
/// swapped (doubled if equal), shares recomputed, so the table is well formed and only a re-run
/// shows the lie.
#[cfg(feature = "falsify-attribution")]
fn falsified(t: PayoutTable) -> PayoutTable {
	let mut lines = t.contributions.clone();
	let n = lines.len();
	if n >= 2 && lines[0].score != lines[n - 1].score {
		let first = lines[0].score;
		lines[0].score = lines[n - 1].score;
		lines[n - 1].score = first;
	} else if let Some(l) = lines.first_mut() {
		l.score = 2.0 * l.score + 1.0;
	}
	tracing::warn!(job = t.job, "falsify-attribution: publishing a falsified payout table");
	let approvals = t.curators.iter().map(|c| (c.account.clone(), c.approvals));
	PayoutTable::new(t.job, t.datanet, t.version, &t.target, lines, approvals)
}

#[cfg(test)]
mod tests {
	use super::*;
	use tributary_client::dataset::DatasetItem;

	#[test]
	fn every_item_has_a_line_and_records_add_up_to_their_item() {
		let item = |id: u64, who: u8| DatasetItem {
			index: id,
			contribution: 100 - id,
			contributor: AccountId32([who; 32]),
			content_hash: [0; 32],
			bytes: 1,
			format: "jsonl".into(),
		};
		let prepared = Prepared {
			model_path: "m".into(),
			base_name: "tiny".into(),
			records: vec![],
			// Three items: the first gave two records, the second one, the third none that trained.
			items: vec![item(0, 1), item(1, 2), item(2, 3)],
			record_items: vec![0, 0, 1, 2],
		};
		let row = |source: u64, score: f64| SourceScore {
			source,
			score,
			self_influence: 1.0,
			examples: 1,
		};
		// Record 3 (item 2's) was held out: no row.
		let rows = [row(0, 1.0), row(1, 2.0), row(2, 1.0)];
		let approvals = [(AccountId32([9; 32]), 3)].into_iter().collect();
		let t = table((5, 1, 2), &prepared, "eval", &rows, approvals);
		let lines: Vec<(u64, u8, f64, u64, u32)> = t
			.contributions
			.iter()
			.map(|c| (c.contribution, c.contributor.0[0], c.score, c.examples, c.ppm))
			.collect();
		// By contribution id (items 2, 1, 0 have ids 98, 99, 100).
		assert_eq!(
			lines,
			[(98, 3, 0.0, 0, 0), (99, 2, 1.0, 1, 250_000), (100, 1, 3.0, 2, 750_000)]
		);
		assert_eq!((t.job, t.datanet, t.version), (5, 1, 2));
		assert_eq!(t.curators.len(), 1);
		assert_eq!(t.leaves().len(), 4);
	}
}
