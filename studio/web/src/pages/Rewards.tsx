// Rewards: the open reward pools of final jobs (what contributors and curators may still claim),
// and how each datanet splits a job's budget.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as rw from '../chain/rewards';
import { amount } from '../chain/format';

export function Rewards() {
  const { chain, best } = useStudio();
  const [pools, setPools] = useState<rw.Pool[] | null>(null);
  useEffect(() => {
    rw.pools(chain).then(setPools);
  }, [chain, best]);
  return (
    <section aria-labelledby="rewards-title">
      <h1 id="rewards-title">Rewards</h1>
      <p className="lead">
        When a job is final its budget is split by its datanet's published split: the worker and the owner are paid at once; contributors
        (by the job's attribution table) and curators (by their approving votes) claim their lines from the job's pool for 30 days.
        Each datanet's page shows its split.
      </p>
      <h2>Open pools</h2>
      {pools && pools.length === 0 && <p>No open pool: no job is final yet, or their claim periods ended.</p>}
      {pools && pools.length > 0 && (
        <div className="table-wrap">
          <table data-testid="pools">
            <thead><tr><th scope="col">Job</th><th scope="col">Datanet</th><th scope="col">Contributors (claimed)</th><th scope="col">Curators (claimed)</th><th scope="col">Lines</th><th scope="col">Claims until</th></tr></thead>
            <tbody>{pools.map((p) => (
              <tr key={p.job}>
                <td><a href={`#/jobs/${p.job}`}>{p.job}</a></td>
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
        Claiming needs the job's payout table with its Merkle proofs, which the trainer serves over the data plane: for now,
        <code> tributary rewards pending --account ADDRESS --peer …</code> and <code>tributary rewards claim JOB --key …</code> (docs/rewards.md).
      </p>
    </section>
  );
}
