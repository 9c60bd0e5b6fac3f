// A curator's queue: pending contributions in the datanets the account curates that it has not
// voted on yet, each with its content and what the workers' automatic checks find; approve, or
// reject with a reason (a failing check's reason offered first).
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import { bytes } from '../chain/format';
import { TxButton } from '../components/TxButton';
import { Preview } from '../components/Preview';
import { CheckResult } from '../components/CheckResult';

interface Item {
  c: dn.Contribution;
  d: dn.Datanet;
}

export function Curate() {
  const { chain, best, account, label, config } = useStudio();
  const [curated, setCurated] = useState<dn.Datanet[] | null>(null);
  const [queue, setQueue] = useState<Item[]>([]);
  const [reasons, setReasons] = useState<Record<number, string>>({});
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    if (!account) return;
    let live = true;
    (async () => {
      const all = await dn.datanets(chain);
      const mine: dn.Datanet[] = [];
      for (const d of all) if ((await dn.curators(chain, d.id)).includes(account.address)) mine.push(d);
      const pending = (await dn.allContributions(chain)).filter((c) => c.status === 'Pending');
      const items: Item[] = [];
      for (const c of pending) {
        const d = mine.find((m) => m.id === c.datanet);
        if (d && (await dn.voteOf(chain, c.id, account.address)) === null) items.push({ c, d });
      }
      if (live) {
        setCurated(mine);
        setQueue(items);
      }
    })();
    return () => {
      live = false;
    };
  }, [chain, account, best]);

  if (!account) return <section><h1>Curate</h1><p>Choose an account (top right) to see its queue.</p></section>;
  return (
    <section aria-labelledby="curate-title">
      <h1 id="curate-title">Curate</h1>
      <p className="lead">
        {label(account.address)} curates {curated ? (curated.length ? curated.map((d) => d.name).join(', ') : 'no datanet') : '…'}.
        A vote counts only while the account holds a curator bond.
      </p>
      {done && <p role="status" className="ok">{done}</p>}
      {curated && queue.length === 0 && <p data-testid="queue-empty">Nothing waits for your vote.</p>}
      <ul className="queue" data-testid="curate-queue">
        {queue.map(({ c, d }) => {
          const reason = reasons[c.id] ?? 'LowQuality';
          return (
            <li key={c.id} className="card" data-testid={`pending-${c.id}`}>
              <h2>Contribution {c.id} <span className="hint">to {d.name}</span></h2>
              <dl className="facts">
                <dt>Contributor</dt><dd>{label(c.contributor)}</dd>
                <dt>Format, size</dt><dd>{c.format}, {bytes(c.bytes)}</dd>
                <dt>Content hash (BLAKE3)</dt><dd><code className="hash">{c.contentHash}</code></dd>
                {c.metadata && <><dt>Metadata</dt><dd>{c.metadata}</dd></>}
                <dt>Votes</dt><dd>{c.approvals} of {d.rules.approvalQuorum} approvals, {c.rejections} of {d.rules.rejectionQuorum} rejections</dd>
                <dt>Submitted</dt><dd>block #{c.submittedAt}</dd>
              </dl>
              {config.upload ? (
                <>
                  <Preview hash={c.contentHash} size={c.bytes} format={c.format} />
                  <CheckResult
                    contribution={c.id}
                    onResult={(r) => r.code && !reasons[c.id] && setReasons((all) => ({ ...all, [c.id]: all[c.id] ?? r.code! }))}
                  />
                </>
              ) : (
                <p className="hint">No data peer to preview from.</p>
              )}
              <div className="actions">
                <TxButton
                  label="Approve"
                  className="primary"
                  build={() => chain.api.tx.datanets.vote(c.id, 'Approve')}
                  onDone={() => setDone(`Approved contribution ${c.id}.`)}
                />
                <label className="inline">
                  Reason{' '}
                  <select value={reason} onChange={(e) => setReasons({ ...reasons, [c.id]: e.target.value })} aria-label={`Reason to reject contribution ${c.id}`}>
                    {dn.REJECT_REASONS.map((r) => <option key={r} value={r}>{r}</option>)}
                  </select>
                </label>
                <TxButton
                  label="Reject"
                  build={() => chain.api.tx.datanets.vote(c.id, { Reject: reason })}
                  onDone={() => setDone(`Rejected contribution ${c.id} (${reason}).`)}
                />
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
