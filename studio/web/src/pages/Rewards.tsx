// Rewards: the open reward pools of final jobs and of the answer fees their models earned (what
// contributors and curators may still claim), an account's lines in them, and a claim button.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as rw from '../chain/rewards';
import { amount } from '../chain/format';
import { TxButton } from '../components/TxButton';

export function Rewards() {
  const { chain, best, account, config, label } = useStudio();
  const [pools, setPools] = useState<rw.Pool[] | null>(null);
  const [lines, setLines] = useState<rw.Line[] | null>(null);
  const [errors, setErrors] = useState<string[]>([]);
  const [refresh, setRefresh] = useState(0);
  useEffect(() => {
    rw.pools(chain).then(setPools);
  }, [chain, best]);
  // An account's lines: fetched once per pool set and after a claim (not every block: each
  // needs the table from a data peer).
  // A fee pool's lines turn claimable when its period ends: re-read them then too.
  const periodLength = rw.feePeriodLength(chain);
  const ended = (pools ?? []).filter((p) => p.period != null && best >= (p.period + 1) * periodLength).length;
  const jobs = (pools ?? []).map((p) => `${p.job}/${p.period}`).join(',') + `|${ended}`;
  useEffect(() => {
    if (!account || !config.upload || pools == null) return;
    let live = true;
    (async () => {
      const all: rw.Line[] = [];
      const errs: string[] = [];
      const byJob = new Map<number, (number | null)[]>();
      for (const p of pools) byJob.set(p.job, [...(byJob.get(p.job) ?? []), p.period]);
      for (const [job, periods] of byJob) {
        try {
          all.push(...(await rw.linesOf(chain, job, periods, account.address)));
        } catch (e) {
          errs.push(`job ${job}: ${e instanceof Error ? e.message : e}`);
        }
      }
      if (live) {
        setLines(all);
        setErrors(errs);
      }
    })();
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [chain, account, jobs, refresh]);
  const unpaid = (lines ?? []).filter((l) => l.amount != null);
  const pending = unpaid.reduce((a, l) => a + (l.amount ?? 0n), 0n);
  const poolName = (period: number | null) => (period == null ? 'budget' : `answer fees, period ${period}`);
  const state = (l: rw.Line) =>
    l.amount != null
      ? amount(chain, l.amount)
      : l.state === 'poolFilling' && l.period != null
        ? `filling until block #${(l.period + 1) * periodLength}`
        : l.state;
  // The line's amount from its pool's part for its role and its share, as the chain computes it.
  const formula = (l: rw.Line) => {
    const p = (pools ?? []).find((p) => p.job === l.job && p.period === l.period);
    if (!p) return '—';
    const part = l.leaf.role === 'contributor' ? p.contributors : p.curators;
    const paid = rw.share(part, l.leaf.ppm);
    return (
      <span data-testid="line-formula" data-plancks={paid.toString()}>
        ⌊{amount(chain, part)} × {l.leaf.ppm.toLocaleString('en-US')} / 10⁶⌋ = {amount(chain, paid)}
        {l.period != null && l.state === 'poolFilling' ? ' so far' : ''}
      </span>
    );
  };
  return (
    <section aria-labelledby="rewards-title">
      <h1 id="rewards-title">Rewards</h1>
      <p className="lead">
        When a job is final its budget is split by its datanet's published split: the worker and the owner are paid at once; contributors
        (by the job's attribution table) and curators (by their approving votes) claim their lines from the job's pool for 30 days.
        Each paid answer of a trained model is split the same way: the serving worker and the owner at once, contributors and curators
        through a fee pool of the job that trained the model, one per fee period of {periodLength} blocks, claimable once its period
        ends. Each datanet's page shows its split.
      </p>
      <h2>Your rewards</h2>
      {!account && <p>Choose an account to see its rewards.</p>}
      {account && !config.upload && <p className="hint">This Studio reaches no data peer, so it cannot fetch payout tables.</p>}
      {account && lines && (
        <>
          <p data-testid="pending-total">
            {label(account.address)}: <strong>{amount(chain, pending)}</strong> to claim in {unpaid.length} line(s);{' '}
            {lines.filter((l) => l.state === 'claimed').length} line(s) claimed.
          </p>
          {lines.length > 0 && (
            <div className="table-wrap">
              <table data-testid="reward-lines">
                <thead><tr><th scope="col">Job</th><th scope="col">Pool</th><th scope="col">As</th><th scope="col">For</th><th scope="col">Share</th><th scope="col">Formula</th><th scope="col">Amount</th></tr></thead>
                <tbody>{lines.map((l) => (
                  <tr key={`${l.job}-${l.period}-${l.index}`}>
                    <td><a href={`#/jobs/${l.job}`}>{l.job}</a></td>
                    <td>{poolName(l.period)}</td>
                    <td>{l.leaf.role}</td>
                    <td>{l.leaf.role === 'contributor' ? <a href={`#/contributions/${l.leaf.item}`}>contribution {l.leaf.item}</a> : `${l.leaf.item} approving vote(s)`}</td>
                    <td>{(l.leaf.ppm / 10_000).toFixed(2)}% of the {l.leaf.role}s' part</td>
                    <td>{formula(l)}</td>
                    <td data-testid="line-state">{state(l)}</td>
                  </tr>
                ))}</tbody>
              </table>
            </div>
          )}
          <p className="hint">A line pays its share (parts per million) of the pool's part for its role, rounded down: contributors' shares come from the job's attribution table (each contribution's positive score over the sum of the positive scores), curators' from their approving votes over all approving votes.</p>
          <TxButton
            label={`Claim ${unpaid.length} line(s)`}
            className="primary"
            build={() => unpaid.map((l) => rw.claimCall(chain, l))}
            disabledReason={unpaid.length === 0 ? 'Nothing to claim' : null}
            explain="Each line is paid to its account, whoever signs; the chain checks the proof against the pool's root."
            onDone={() => setRefresh((r) => r + 1)}
          />
        </>
      )}
      {errors.map((e) => <p key={e} className="error" role="alert">{e}</p>)}
      <h2>Open pools</h2>
      {pools && pools.length === 0 && <p>No open pool: no job is final yet, or their claim periods ended.</p>}
      {pools && pools.length > 0 && (
        <div className="table-wrap">
          <table data-testid="pools">
            <thead><tr><th scope="col">Job</th><th scope="col">Pool</th><th scope="col">Datanet</th><th scope="col">Contributors (claimed)</th><th scope="col">Curators (claimed)</th><th scope="col">Lines</th><th scope="col">Claims until</th></tr></thead>
            <tbody>{pools.map((p) => (
              <tr key={`${p.job}-${p.period}`}>
                <td><a href={`#/jobs/${p.job}`}>{p.job}</a></td>
                <td>{poolName(p.period)}</td>
                <td><a href={`#/datanets/${p.datanet}`}>{p.datanet}</a></td>
                <td>{amount(chain, p.contributors)} ({amount(chain, p.contributorsPaid)})</td>
                <td>{amount(chain, p.curators)} ({amount(chain, p.curatorsPaid)})</td>
                <td>{p.leaves}</td>
                <td>block #{p.expiresAt}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      <p className="hint">
        The same from a terminal: <code>tributary rewards pending --account ADDRESS --peer …</code> and <code>tributary rewards claim JOB [--period P] --key …</code> (docs/rewards.md, docs/fees.md).
      </p>
    </section>
  );
}
