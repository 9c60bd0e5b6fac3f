// One training job: its state on chain, and, when the Studio forwards its worker's endpoint, the
// live events (train and eval loss, learning rate, tokens/s, ETA) as a chart. The worker replays a
// job's events to every new viewer, so a reload loses nothing.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as m from '../chain/models';
import { amount } from '../chain/format';
import { LossChart, type Point } from '../components/LossChart';
import { TxButton } from '../components/TxButton';

interface Live {
  total: number | null;
  train: Map<number, Point>;
  evals: Map<number, Point>;
  lr: number | null;
  tokensPerS: number | null;
  /** Arrival times of live step events, for the ETA. */
  arrivals: number[];
  end: string | null;
}

const empty = (): Live => ({ total: null, train: new Map(), evals: new Map(), lr: null, tokensPerS: null, arrivals: [], end: null });

export function JobPage({ id }: { id: number }) {
  const { chain, best, config, account, label } = useStudio();
  const [job, setJob] = useState<m.Job | null | undefined>(undefined);
  const [endpoint, setEndpoint] = useState<string | null>(null);
  const [live, setLive] = useState<Live>(empty);
  const [log, setLog] = useState(false);
  const [streamNote, setStreamNote] = useState<string | null>(null);

  useEffect(() => {
    m.job(chain, id).then(setJob);
  }, [chain, id, best]);
  const worker = job?.worker ?? null;
  useEffect(() => {
    if (worker) m.endpointOf(chain, worker).then(setEndpoint);
  }, [chain, worker]);

  const index = endpoint == null ? -1 : config.progress.findIndex((p) => p.replace(/\/$/, '') === endpoint.replace(/\/$/, ''));
  useEffect(() => {
    if (index < 0) return;
    setLive(empty());
    const es = new EventSource(`/progress/${index}/jobs/${id}/events`);
    const on = (kind: string, f: (d: Record<string, number>, l: Live) => void) =>
      es.addEventListener(kind, (e) => {
        const d = JSON.parse((e as MessageEvent).data);
        setLive((l) => {
          const n: Live = { ...l, train: new Map(l.train), evals: new Map(l.evals), arrivals: l.arrivals };
          f(d, n);
          return n;
        });
      });
    on('started', (d, l) => (l.total = d.total_steps));
    on('step', (d, l) => {
      l.train.set(d.step, { step: d.step, loss: d.loss });
      l.lr = d.lr;
      l.tokensPerS = d.tokens_per_s;
      l.arrivals = [...l.arrivals.slice(-10), performance.now()];
    });
    on('eval', (d, l) => l.evals.set(d.step, { step: d.step, loss: d.loss }));
    for (const end of ['submitted', 'failed']) {
      es.addEventListener(end, (e) => {
        const d = JSON.parse((e as MessageEvent).data);
        setLive((l) => ({ ...l, end: end === 'failed' ? `failed: ${d.reason}` : `submitted: adapter ${d.adapter}, final at block #${d.final_at}` }));
        es.close(); // the stream ends here; do not let EventSource reconnect and replay it
      });
    }
    es.onerror = () => setStreamNote('The live stream is interrupted; it reconnects on its own.');
    es.onopen = () => setStreamNote(null);
    return () => es.close();
  }, [index, id]);

  if (job === undefined) return <p>Loading…</p>;
  if (job === null) return <p role="alert">No job {id}.</p>;
  const train = [...live.train.values()].sort((a, b) => a.step - b.step);
  const evals = [...live.evals.values()].sort((a, b) => a.step - b.step);
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
