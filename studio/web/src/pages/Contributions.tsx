// Contributions: one by id, followed live, and the selected account's own.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import { bytes } from '../chain/format';

function Status({ c }: { c: dn.Contribution }) {
  return (
    <span className={`status ${c.status.toLowerCase()}`} data-testid={`status-${c.id}`}>
      {c.status}{c.detail ? ` (${c.detail})` : ''}
    </span>
  );
}

export function Contributions({ id }: { id: number | null }) {
  const { chain, best, account, label } = useStudio();
  const [one, setOne] = useState<dn.Contribution | null | undefined>(undefined);
  const [mine, setMine] = useState<dn.Contribution[]>([]);
  const [lookup, setLookup] = useState(id == null ? '' : String(id));
  useEffect(() => {
    if (id != null) dn.contribution(chain, id).then(setOne);
  }, [chain, id, best]);
  useEffect(() => {
    if (!account) return;
    dn.allContributions(chain).then((all) => setMine(all.filter((c) => c.contributor === account.address).reverse()));
  }, [chain, account, best]);
  return (
    <section aria-labelledby="contrib-title">
      <h1 id="contrib-title">Contributions</h1>
      <form
        className="inline"
        onSubmit={(e) => {
          e.preventDefault();
          if (/^\d+$/.test(lookup)) location.hash = `#/contributions/${lookup}`;
        }}
      >
        <label>Contribution id <input value={lookup} onChange={(e) => setLookup(e.target.value)} inputMode="numeric" size={8} /></label>{' '}
        <button type="submit">Show</button>
      </form>
      {id != null && one === null && <p role="alert">No contribution {id}.</p>}
      {one && (
        <div className="card">
          <h2>Contribution {one.id}: <Status c={one} /></h2>
          <dl className="facts">
            <dt>Datanet</dt><dd><a href={`#/datanets/${one.datanet}`}>{one.datanet}</a></dd>
            <dt>Contributor</dt><dd>{label(one.contributor)}</dd>
            <dt>Format, size</dt><dd>{one.format}, {bytes(one.bytes)}</dd>
            <dt>Content hash (BLAKE3)</dt><dd><code className="hash">{one.contentHash}</code></dd>
            <dt>Votes</dt><dd>{one.approvals} approve, {one.rejections} reject</dd>
            <dt>Submitted</dt><dd>block #{one.submittedAt}</dd>
          </dl>
        </div>
      )}
      {account && (
        <>
          <h2>{label(account.address)}'s contributions</h2>
          {mine.length === 0 ? <p>None yet.</p> : (
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">#</th><th scope="col">Datanet</th><th scope="col">Format</th><th scope="col">Size</th><th scope="col">Status</th></tr></thead>
                <tbody>{mine.map((c) => (
                  <tr key={c.id}><td><a href={`#/contributions/${c.id}`}>{c.id}</a></td><td>{c.datanet}</td><td>{c.format}</td><td>{bytes(c.bytes)}</td><td><Status c={c} /></td></tr>
                ))}</tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
