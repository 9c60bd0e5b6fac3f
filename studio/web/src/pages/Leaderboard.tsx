// Leaderboards, per datanet and global, re-read at every new block.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import { bytes, ppm } from '../chain/format';

export function Leaderboard({ datanet }: { datanet: number | null }) {
  const { chain, best, label } = useStudio();
  const [list, setList] = useState<dn.Datanet[]>([]);
  const [rows, setRows] = useState<dn.BoardRow[] | null>(null);
  const [at, setAt] = useState<number>(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    dn.datanets(chain).then(setList);
  }, [chain]);
  useEffect(() => {
    let live = true;
    const block = best;
    dn.leaderboard(chain, datanet).then(
      (r) => {
        if (!live) return;
        setRows(r);
        setAt(block);
        setError(null);
      },
      (e) => live && setError(String(e)),
    );
    return () => {
      live = false;
    };
  }, [chain, datanet, best]);
  const pick = (v: string) => {
    location.hash = v === 'global' ? '#/leaderboard' : `#/leaderboard/${v}`;
  };
  return (
    <section aria-labelledby="lb-title">
      <h1 id="lb-title">Leaderboard</h1>
      <p className="lead">Ranked by accepted contributions, then accepted bytes, then the earliest acceptance. A rejection never lowers a rank.</p>
      <label className="inline">
        Board{' '}
        <select value={datanet == null ? 'global' : String(datanet)} onChange={(e) => pick(e.target.value)}>
          <option value="global">Global (datanets on the global board)</option>
          {list.map((d) => <option key={d.id} value={d.id}>{d.id}: {d.name}</option>)}
        </select>
      </label>
      <p className="hint" aria-live="polite">Live: as of block #{at}</p>
      {error && <p role="alert" className="error">{error}</p>}
      <div className="table-wrap">
        <table data-testid="leaderboard">
          <thead>
            <tr><th scope="col">Rank</th><th scope="col">Contributor</th><th scope="col">Accepted</th><th scope="col">Rejected</th><th scope="col">Submitted</th><th scope="col">Accepted bytes</th><th scope="col">Acceptance rate</th></tr>
          </thead>
          <tbody>
            {(rows ?? []).map((r) => (
              <tr key={r.account}>
                <td>{r.rank}</td>
                <td title={r.account}>{label(r.account)}</td>
                <td data-testid="lb-accepted">{r.stats.accepted}</td>
                <td>{r.stats.rejected}</td>
                <td>{r.stats.submitted}</td>
                <td>{bytes(r.stats.accepted_bytes)}</td>
                <td>{ppm(r.acceptance_rate_ppm)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows && rows.length === 0 && <p>No accepted contribution yet.</p>}
    </section>
  );
}
