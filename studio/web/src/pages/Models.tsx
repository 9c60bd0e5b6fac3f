// Models: the base models, the trained models with their lineage (base, parent, datanet version,
// job; also drawn as a graph) and their adapters to download, and training jobs with their
// on-chain progress, re-read at every block.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as m from '../chain/models';
import { amount, bytes } from '../chain/format';
import { Lineage } from '../components/Lineage';

export function Models() {
  const { chain, best, label, config } = useStudio();
  const [bases, setBases] = useState<m.BaseModel[]>([]);
  const [models, setModels] = useState<m.TrainedModel[]>([]);
  const [jobs, setJobs] = useState<m.Job[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<number[]>([]);
  const choose = (id: number, on: boolean) => setChosen((c) => (on ? [...c.filter((x) => x !== id), id].sort((a, b) => a - b) : c.filter((x) => x !== id)));
  useEffect(() => {
    Promise.all([m.baseModels(chain), m.trainedModels(chain), m.jobs(chain)]).then(
      ([b, t, j]) => {
        setBases(b);
        setModels(t);
        setJobs(j.reverse());
      },
      (e) => setError(String(e)),
    );
  }, [chain, best]);
  const baseName = (id: number) => bases.find((b) => b.id === id)?.name ?? `base ${id}`;
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Models</h1>
      <p className="lead">Base models anyone can fine-tune, the models trained on datanet versions, and the jobs that trained them. Chat with any of them on the Chat page.</p>
      {error && <p role="alert" className="error">{error}</p>}
      <h2>Training jobs</h2>
      {jobs.length === 0 ? <p>No job yet: create one on the <a href="#/train">Train page</a> (or <code>tributary job create</code>).</p> : (
        <div className="table-wrap">
          <table data-testid="jobs">
            <thead><tr><th scope="col">Compare</th><th scope="col">Job</th><th scope="col">Data</th><th scope="col">Base</th><th scope="col">Budget</th><th scope="col">Status</th><th scope="col">Progress</th></tr></thead>
            <tbody>{jobs.map((j) => (
              <tr key={j.id}>
                <td><input type="checkbox" aria-label={`Compare job ${j.id}`} checked={chosen.includes(j.id)} onChange={(e) => choose(j.id, e.target.checked)} /></td>
                <td><a href={`#/jobs/${j.id}`}>{j.id}</a></td>
                <td><a href={`#/datanets/${j.datanet}`}>datanet {j.datanet}</a> v{j.version}</td>
                <td>{baseName(j.base)}{j.parent != null ? ` + model ${j.parent}` : ''}</td>
                <td>{amount(chain, j.budget)}</td>
                <td>{j.status}{j.worker ? ` by ${label(j.worker)}` : ''}{j.model != null ? ` → model ${j.model}` : ''}</td>
                <td>
                  {j.progress ? (
                    <>
                      <progress max={j.progress.total} value={j.progress.step} aria-label={`Job ${j.id} progress`} /> {j.progress.step}/{j.progress.total}
                      {j.progress.loss != null && <> · loss {j.progress.loss.toFixed(3)}</>}
                    </>
                  ) : '—'}
                </td>
              </tr>
            ))}</tbody>
          </table>
        </div>
      )}
      {jobs.length > 1 && (
        <p>
          {chosen.length >= 2 ? (
            <a href={`#/compare/${chosen.join(',')}`} data-testid="compare-link">Compare runs {chosen.map((c) => `#${c}`).join(', ')}</a>
          ) : (
            <span className="hint">Tick two runs or more to compare their loss and settings.</span>
          )}
        </p>
      )}
      <h2>Trained models</h2>
      {models.length === 0 ? <p>No trained model yet.</p> : (
        <>
        <Lineage bases={bases} models={models} />
        <div className="table-wrap">
          <table data-testid="models">
            <thead><tr><th scope="col">Model</th><th scope="col">Lineage</th><th scope="col">Adapter</th><th scope="col">Loss (train / eval)</th><th scope="col">Trained</th><th scope="col">Owner</th></tr></thead>
            <tbody>{models.map((t) => (
              <tr key={t.id}>
                <td>model-{t.id}</td>
                <td>
                  {baseName(t.base)}{t.parent != null ? ` → model-${t.parent}` : ''} → <a href={`#/datanets/${t.datanet}`}>datanet {t.datanet}</a> v{t.version} (job {t.job})
                </td>
                <td>
                  {t.method} r{t.rank}, {bytes(t.adapterBytes)}<br /><code className="hash">{t.adapterHash}</code>
                  {config.upload && (
                    <>
                      <br />
                      <a href={`/adapters/${t.id}`} download={`model-${t.id}-adapter.tar`} data-testid={`download-${t.id}`}>
                        Download the PEFT adapter
                      </a>{' '}
                      <span className="hint">(.tar: <code>tar xf</code> gives adapter_config.json and adapter_model.safetensors)</span>
                    </>
                  )}
                </td>
                <td>{t.trainLoss.toFixed(3)} / {t.evalLoss == null ? '—' : t.evalLoss.toFixed(3)}</td>
                <td>{t.steps} steps, {t.tokens.toLocaleString('en-US')} tokens, by {label(t.trainer)}</td>
                <td>{label(t.owner)}</td>
              </tr>
            ))}</tbody>
          </table>
        </div>
        </>
      )}
      <h2>Base models</h2>
      <div className="table-wrap">
        <table data-testid="bases">
          <thead><tr><th scope="col">#</th><th scope="col">Name</th><th scope="col">Family</th><th scope="col">Licence</th><th scope="col">Parameters</th></tr></thead>
          <tbody>{bases.map((b) => (
            <tr key={b.id}><td>{b.id}</td><td>{b.name}{b.retired ? ' (retired)' : ''}</td><td>{b.family}</td><td>{b.license}</td><td>{b.params < 1_000_000n ? b.params.toLocaleString('en-US') : `${(Number(b.params) / 1e6).toFixed(0)} M`}</td></tr>
          ))}</tbody>
        </table>
      </div>
      {bases.length === 0 && <p>No base model registered (<code>tributary base register</code>).</p>}
    </section>
  );
}
