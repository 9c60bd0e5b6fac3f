// Compare training runs: their train loss on one chart (from the workers' live events, when this
// Studio forwards them), their settings side by side with the ones that differ marked, and what
// each produced (the model, its losses, steps and tokens).
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as m from '../chain/models';
import { sorted, useJobEvents, useProgressIndex, type Point } from '../chain/progress';
import { RunsChart } from '../components/RunsChart';

/** Reports one job's live train loss upward (a hook per job needs a component per job). */
function RunEvents({ job, onPoints }: { job: m.Job; onPoints: (id: number, p: Point[]) => void }) {
  const { chain, config } = useStudio();
  const { index } = useProgressIndex(chain, config.progress, job.worker);
  const live = useJobEvents(index, job.id);
  const count = live.train.size;
  useEffect(() => {
    onPoints(job.id, sorted(live.train));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [count, job.id]);
  return null;
}

export function Compare({ ids }: { ids: number[] }) {
  const { chain, best } = useStudio();
  const [jobs, setJobs] = useState<m.Job[] | null>(null);
  const [models, setModels] = useState<m.TrainedModel[]>([]);
  const [bases, setBases] = useState<m.BaseModel[]>([]);
  const [points, setPoints] = useState<Record<number, Point[]>>({});
  const [log, setLog] = useState(false);
  const key = ids.join(',');
  useEffect(() => {
    Promise.all([m.jobs(chain), m.trainedModels(chain), m.baseModels(chain)]).then(([j, t, b]) => {
      setJobs(ids.map((id) => j.find((x) => x.id === id)).filter((x): x is m.Job => !!x));
      setModels(t);
      setBases(b);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [chain, best, key]);
  if (ids.length < 2) return <p role="alert">Choose two runs or more to compare, on the <a href="#/models">Models page</a>.</p>;
  if (!jobs) return <p>Loading…</p>;
  const missing = ids.filter((id) => !jobs.some((j) => j.id === id));
  const modelOf = (j: m.Job) => models.find((t) => t.job === j.id) ?? null;
  const baseName = (id: number) => bases.find((b) => b.id === id)?.name ?? `base ${id}`;
  const rows: [string, string[]][] = [
    ['data', jobs.map((j) => `datanet ${j.datanet} v${j.version}`)],
    ['from', jobs.map((j) => (j.parent != null ? `model-${j.parent}` : baseName(j.base)))],
    ...(jobs[0]?.config ?? []).map(([label], i): [string, string[]] => [label, jobs.map((j) => j.config[i]?.[1] ?? '—')]),
  ];
  const results: [string, string[]][] = [
    ['status', jobs.map((j) => j.status)],
    ['model', jobs.map((j) => (modelOf(j) ? `model-${modelOf(j)!.id}` : '—'))],
    ['train loss', jobs.map((j) => modelOf(j)?.trainLoss.toFixed(4) ?? (points[j.id]?.length ? `${points[j.id].at(-1)!.loss.toFixed(4)} (latest)` : '—'))],
    ['eval loss', jobs.map((j) => modelOf(j)?.evalLoss?.toFixed(4) ?? '—')],
    ['steps', jobs.map((j) => (modelOf(j) ? String(modelOf(j)!.steps) : j.progress ? `${j.progress.step} of ${j.progress.total}` : '—'))],
    ['tokens', jobs.map((j) => modelOf(j)?.tokens.toLocaleString('en-US') ?? '—')],
  ];
  const onPoints = (id: number, p: Point[]) => setPoints((all) => ({ ...all, [id]: p }));
  return (
    <section aria-labelledby="compare-title">
      <p><a href="#/models">← Models</a></p>
      <h1 id="compare-title">Compare runs {jobs.map((j) => `#${j.id}`).join(', ')}</h1>
      {missing.length > 0 && <p role="alert" className="error">No job {missing.join(', ')} on chain.</p>}
      {jobs.map((j) => <RunEvents key={j.id} job={j} onPoints={onPoints} />)}
      <h2>Train loss</h2>
      <label className="inline"><input type="checkbox" checked={log} onChange={(e) => setLog(e.target.checked)} /> Log scale</label>
      <RunsChart runs={jobs.map((j) => ({ label: `job ${j.id}`, train: points[j.id] ?? [] }))} log={log} />
      <p className="hint">From each worker's live events, when this Studio forwards its endpoint; the final losses below are the chain's.</p>
      <h2>Settings and results</h2>
      <div className="table-wrap">
        <table data-testid="compare-table">
          <thead><tr><th scope="col">Run</th>{jobs.map((j) => <th key={j.id} scope="col"><a href={`#/jobs/${j.id}`}>job {j.id}</a></th>)}</tr></thead>
          <tbody>
            {[...rows, ...results].map(([label, values]) => {
              const differs = rows.some(([l]) => l === label) && new Set(values).size > 1;
              return (
                <tr key={label} className={differs ? 'differs' : undefined} data-differs={differs ? 'yes' : undefined}>
                  <th scope="row">{label}{differs ? ' ≠' : ''}</th>
                  {values.map((v, i) => <td key={i}>{v}</td>)}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="hint">Settings that differ between the runs are marked ≠.</p>
    </section>
  );
}
