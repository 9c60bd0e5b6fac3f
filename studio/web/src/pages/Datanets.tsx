// Browse datanets, filter by modality, and open one: rules, curators, versions, commitment.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import { amount, bytes, parseAmount } from '../chain/format';
import { TxButton } from '../components/TxButton';
import { SplitEditor } from '../components/SplitEditor';

export function DatanetList() {
  const { chain, best, label } = useStudio();
  const [list, setList] = useState<dn.Datanet[] | null>(null);
  const [modality, setModality] = useState<string>('all');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    dn.datanets(chain).then(setList, (e) => setError(String(e)));
  }, [chain, best]);
  const shown = (list ?? []).filter((d) => modality === 'all' || d.modality === modality);
  return (
    <section aria-labelledby="datanets-title">
      <h1 id="datanets-title">Datanets</h1>
      <p className="lead">Datasets with rules: what they take, who curates them, and what was accepted. <a href="#/datanets/new">Create one →</a></p>
      <label className="inline">
        Modality{' '}
        <select value={modality} onChange={(e) => setModality(e.target.value)} aria-label="Filter by modality">
          <option value="all">All</option>
          <option value="Text">Text</option>
          <option value="Image">Image</option>
          <option value="Audio">Audio</option>
        </select>
      </label>
      {error && <p role="alert" className="error">{error}</p>}
      {!list && !error && <p>Loading…</p>}
      <div className="table-wrap">
        <table data-testid="datanet-table">
          <thead>
            <tr><th scope="col">#</th><th scope="col">Name</th><th scope="col">Modality</th><th scope="col">Formats</th><th scope="col">Accepted / submitted</th><th scope="col">Owner</th><th scope="col">Status</th></tr>
          </thead>
          <tbody>
            {shown.map((d) => (
              <tr key={d.id}>
                <td>{d.id}</td>
                <td><a href={`#/datanets/${d.id}`}>{d.name}</a></td>
                <td><span className={`tag ${d.modality.toLowerCase()}`}>{d.modality}</span></td>
                <td>{d.formats.join(', ')}</td>
                <td>{d.accepted.toString()} / {d.submitted.toString()}</td>
                <td>{label(d.owner)}</td>
                <td>{d.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list && shown.length === 0 && <p>No datanet of this modality.</p>}
    </section>
  );
}

export function DatanetPage({ id }: { id: number }) {
  const { chain, best, label, account } = useStudio();
  const [d, setD] = useState<dn.Datanet | null | undefined>(undefined);
  const [cur, setCur] = useState<string[]>([]);
  const [vers, setVers] = useState<dn.Version[]>([]);
  const [com, setCom] = useState<dn.Commitment | null>(null);
  const [pot, setPot] = useState<bigint | null>(null);
  const [fund, setFund] = useState('1');
  useEffect(() => {
    dn.freeBalance(chain, dn.curationPot(chain, id)).then(setPot);
    dn.datanet(chain, id).then(setD);
    dn.curators(chain, id).then(setCur);
    dn.versions(chain, id).then(setVers);
    dn.commitment(chain, id).then(setCom);
  }, [chain, id, best]);
  if (d === undefined) return <p>Loading…</p>;
  if (d === null) return <p role="alert">No datanet {id}.</p>;
  const r = d.rules;
  const isOwner = account?.address === d.owner;
  return (
    <section aria-labelledby="dn-title">
      <p><a href="#/datanets">← Datanets</a></p>
      <h1 id="dn-title">{d.name} <span className={`tag ${d.modality.toLowerCase()}`}>{d.modality}</span></h1>
      <p className="lead">{d.description}</p>
      <div className="cards">
        <div className="card">
          <h2>Rules</h2>
          <dl className="facts">
            <dt>Formats</dt><dd>{d.formats.join(', ')}</dd>
            <dt>Largest item</dt><dd>{bytes(r.maxItemBytes)}</dd>
            <dt>Per contributor per day</dt><dd>{bytes(r.contributorDailyBytes)}, {r.contributorDailyItems} items</dd>
            <dt>Per datanet per day</dt><dd>{bytes(r.datanetDailyBytes)}, {r.datanetDailyItems} items</dd>
            <dt>Approvals to accept</dt><dd>{r.approvalQuorum}</dd>
            <dt>Rejections to reject</dt><dd>{r.rejectionQuorum}</dd>
            <dt>Deposit while pending</dt><dd>{amount(chain, r.contributionDeposit)}</dd>
            <dt>Curator fee per decision</dt><dd>{amount(chain, r.curatorFee)}</dd>
            <dt>Time to decide</dt><dd>{r.pendingBlocks.toLocaleString('en-US')} blocks</dd>
          </dl>
        </div>
        <div className="card">
          <h2>State</h2>
          <dl className="facts">
            <dt>Owner</dt><dd>{label(d.owner)}</dd>
            <dt>Status</dt><dd>{d.status}</dd>
            <dt>Submitted</dt><dd>{d.submitted.toString()}</dd>
            <dt>Accepted</dt><dd data-testid="dn-accepted">{d.accepted.toString()}</dd>
            <dt>Rejected</dt><dd>{d.rejected.toString()}</dd>
            <dt>Global board</dt><dd>{d.globalBoard ? 'yes' : 'no'}</dd>
            <dt>Commitment</dt>
            <dd>{com ? <><span data-testid="dn-commit-count">{com.count}</span> accepted, root <code className="hash">{com.root}</code></> : '—'}</dd>
          </dl>
          <h3>Curators</h3>
          <ul>{cur.map((c) => <li key={c}>{label(c)} <code className="hash">{c}</code></li>)}</ul>
        </div>
      </div>
      <h2>Versions</h2>
      {vers.length === 0 ? <p>No published version yet.</p> : (
        <div className="table-wrap">
          <table data-testid="versions">
            <thead><tr><th scope="col">Version</th><th scope="col">Items</th><th scope="col">Root</th><th scope="col">Block</th></tr></thead>
            <tbody>{vers.map((v) => (
              <tr key={v.version}><td>{v.version}</td><td>{v.count.toString()}</td><td><code className="hash">{v.root}</code></td><td>#{v.publishedAt}</td></tr>
            ))}</tbody>
          </table>
        </div>
      )}
      {isOwner && (
        <p>
          <TxButton label={`Publish version ${vers.length + 1}`} build={() => chain.api.tx.datanets.publishVersion(id)} />
          <span className="hint"> Pins the {com?.count ?? 0} accepted items as a version training jobs can name.</span>
        </p>
      )}
      <h2>Rewards</h2>
      <SplitEditor datanet={id} owner={d.owner} />
      <h2>Curation pot</h2>
      <p>
        Pays curators their fee per decision. Holds <strong data-testid="dn-pot">{pot == null ? '…' : amount(chain, pot)}</strong>.
      </p>
      <div className="actions">
        <label className="inline">
          Amount ({chain.symbol}) <input value={fund} onChange={(e) => setFund(e.target.value)} inputMode="decimal" size={10} data-testid="fund-amount" />
        </label>
        <TxButton
          label="Fund the pot"
          build={() => chain.api.tx.datanets.fundCurationPot(id, parseAmount(chain, fund) ?? 0n)}
          disabledReason={parseAmount(chain, fund) == null ? 'Enter a positive amount' : null}
        />
      </div>
      <p><a href={`#/leaderboard/${id}`}>Leaderboard of this datanet →</a></p>
    </section>
  );
}
