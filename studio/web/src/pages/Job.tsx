// One training job: its state on chain, and, when the Studio forwards its worker's endpoint, the
// live events (train and eval loss, learning rate, tokens/s, ETA) as a chart. The worker replays a
// job's events to every new viewer, so a reload loses nothing.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as m from '../chain/models';
import { amount } from '../chain/format';
import { sorted, useJobEvents, useProgressIndex } from '../chain/progress';
import { LossChart } from '../components/LossChart';
import { TxButton } from '../components/TxButton';

export function JobPage({ id }: { id: number }) {
  const { chain, best, config, account, label } = useStudio();
  const [job, setJob] = useState<m.Job | null | undefined>(undefined);
  const [log, setLog] = useState(false);

  useEffect(() => {
    m.job(chain, id).then(setJob);
  }, [chain, id, best]);
  const { index: found, endpoint } = useProgressIndex(chain, config.progress, job?.worker ?? null);
  const index = found ?? -1;
  const live = useJobEvents(found, id);
  const streamNote = live.interrupted ? 'The live stream is interrupted; it reconnects on its own.' : null;

  if (job === undefined) return <p>Loading…</p>;
  if (job === null) return <p role="alert">No job {id}.</p>;
  const train = sorted(live.train);
  const evals = sorted(live.evals);
  const done = train.length ? train[train.length - 1].step + 1 : job.progress?.step ?? 0;
  const total = live.total ?? job.progress?.total ?? null;
  const gaps = live.arrivals.slice(1).map((t, i) => t - live.arrivals[i]).filter((g) => g > 5);
  const perStep = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : null;
  const eta = total != null && perStep != null && !live.end ? Math.max(0, ((total - done) * perStep) / 1000) : null;

  return (
    <section aria-labelledby="job-title">
      <p><a href="#/models">← Models</a></p>
      <h1 id="job-title">Job {id}</h1>
      <dl className="facts">
        <dt>Data</dt><dd><a href={`#/datanets/${job.datanet}`}>datanet {job.datanet}</a> version {job.version}</dd>
        <dt>Status</dt><dd data-testid="job-status">{job.status}{job.worker ? ` by ${label(job.worker)}` : ''}{job.model != null ? ` → model-${job.model}` : ''}</dd>
        <dt>Budget</dt><dd>{amount(chain, job.budget)}</dd>
        <dt>Creator</dt><dd>{label(job.creator)}</dd>
      </dl>
      {job.status === 'Open' && account?.address === job.creator && (
        <p><TxButton label="Cancel the job" build={() => chain.api.tx.jobs.cancelJob(id)} explain="Only an open job can be cancelled; the budget comes back." /></p>
      )}
      {job.status === 'Claimed' && account?.address === job.creator && (
        <p>
          <TxButton
            label="Stop the job"
            build={() => chain.api.tx.jobs.stopJob(id)}
            explain="Training ends and no model comes of it. The worker is paid for the share of the steps it reported done, of its part of the budget by the datanet's split; the rest comes back to you."
          />
        </p>
      )}
      {job.status === 'Stopped' && (
        <p data-testid="job-stopped">
          Stopped by its creator at step {job.progress?.step ?? 0} of {job.progress?.total ?? '?'}: the worker was paid for that share, the rest of the budget refunded; no model.
        </p>
      )}
      <h2>Training</h2>
      {index < 0 && job.worker && (
        <p className="hint">
          {endpoint ? `The worker publishes ${endpoint}, which this Studio does not forward (tributary-studio --progress);` : 'The worker publishes no endpoint;'} the progress below is what its heartbeats put on chain.
        </p>
      )}
      {!job.worker && job.status === 'Open' && <p>Waiting for a worker to claim it.</p>}
      <dl className="facts" data-testid="job-live">
        <dt>Steps</dt><dd data-testid="job-steps">{done}{total != null ? ` of ${total}` : ''}</dd>
        <dt>Latest loss</dt><dd>{train.length ? train[train.length - 1].loss.toFixed(4) : job.progress?.loss?.toFixed(4) ?? '—'}</dd>
        <dt>Learning rate</dt><dd>{live.lr != null ? live.lr.toExponential(2) : '—'}</dd>
        <dt>Tokens/s</dt><dd>{live.tokensPerS != null ? live.tokensPerS.toFixed(0) : '—'}</dd>
        <dt>ETA</dt><dd>{eta != null ? `${Math.round(eta)} s` : live.end ? 'done' : '—'}</dd>
      </dl>
      {streamNote && !live.end && <p className="hint">{streamNote}</p>}
      {live.end && <p role="status" data-testid="job-end">Training {live.end}</p>}
      {index >= 0 && (
        <>
          <label className="inline"><input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} /> Log scale</label>
          <LossChart train={train} evals={evals} log={log} />
        </>
      )}
    </section>
  );
}
