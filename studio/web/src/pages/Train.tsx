// ModelFactory: fine-tune a base (or a trained model, as its child) on a published version of a
// text datanet. The form keeps its values across reloads; the dialog shows the `jobs.createJob`
// call, its arguments and fee before signing; the budget is held until the job is final.
import { useEffect, useMemo, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import * as m from '../chain/models';
import { amount, parseAmount } from '../chain/format';
import { TxButton } from '../components/TxButton';
import { VersionPreview } from '../components/VersionPreview';

interface Form {
  datanet: string;
  version: string;
  base: string;
  parent: string;
  method: 'Lora' | 'Qlora';
  rank: string;
  alpha: string;
  dropout: string;
  targets: string;
  lr: string;
  warmup: string;
  lengthKind: 'Steps' | 'Epochs';
  length: string;
  batch: string;
  seqLen: string;
  seed: string;
  evalFraction: string;
  budget: string;
}

const DEFAULTS: Form = {
  datanet: '', version: '', base: '', parent: '', method: 'Lora', rank: '8', alpha: '16', dropout: '0',
  targets: 'q_proj,v_proj', lr: '2e-4', warmup: '0', lengthKind: 'Steps', length: '100', batch: '4',
  seqLen: '512', seed: '42', evalFraction: '0.1', budget: '5',
};
const SAVED = 'tributary.train-form';

const HELP: Record<string, string> = {
  method: 'LoRA trains small low-rank matrices beside the frozen base; QLoRA does it over a 4-bit (NF4) base, for less memory.',
  rank: 'Size of the low-rank update: more capacity, more parameters (4 to 64 is usual).',
  alpha: 'Scales the update by alpha / rank; twice the rank is a common choice.',
  dropout: 'Share of the adapter input dropped while training (0 to 0.1), against overfitting.',
  targets: 'Which projections get adapters, comma separated (q_proj,v_proj; GPT-2: c_attn).',
  lr: 'Peak learning rate (1e-4 to 3e-4 for LoRA).',
  warmup: 'Steps the learning rate takes to rise to its peak.',
  length: 'How long it trains: optimizer steps, or whole passes over the data.',
  batch: 'Sequences per optimizer step.',
  seqLen: 'Tokens per sequence; longer examples are cut.',
  seed: 'Fixes shuffling and initialisation: the same job trains the same adapter, bit for bit on CPU.',
  evalFraction: 'Share of the version held out to measure the eval loss.',
  budget: 'Held until the job is final; 30% pays the worker, the rest goes to contributors and curators.',
};

function num(s: string): number {
  const v = Number(s);
  return Number.isFinite(v) ? v : NaN;
}

export function Train() {
  const { chain, best } = useStudio();
  const [form, setForm] = useState<Form>(() => ({ ...DEFAULTS, ...JSON.parse(localStorage.getItem(SAVED) ?? '{}') }));
  const [datanets, setDatanets] = useState<dn.Datanet[]>([]);
  const [versions, setVersions] = useState<dn.Version[]>([]);
  const [bases, setBases] = useState<m.BaseModel[]>([]);
  const [models, setModels] = useState<m.TrainedModel[]>([]);
  const [created, setCreated] = useState<number | null>(null);

  useEffect(() => localStorage.setItem(SAVED, JSON.stringify(form)), [form]);
  useEffect(() => {
    dn.datanets(chain).then((all) => setDatanets(all.filter((d) => d.modality === 'Text')));
    m.baseModels(chain).then((b) => setBases(b.filter((x) => !x.retired)));
    m.trainedModels(chain).then(setModels);
  }, [chain, best]);
  const datanetId = form.datanet === '' ? datanets[0]?.id : Number(form.datanet);
  useEffect(() => {
    if (datanetId != null) dn.versions(chain, datanetId).then(setVersions);
  }, [chain, datanetId, best]);
  const baseId = form.base === '' ? bases[0]?.id : Number(form.base);
  const version = form.version === '' ? versions[0]?.version : Number(form.version);

  const set = (k: keyof Form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  const problem = useMemo(() => {
    if (datanetId == null) return 'No text datanet.';
    if (version == null) return 'This datanet has no published version yet: its owner publishes one first.';
    if (baseId == null) return 'No base model is registered.';
    const ints: [keyof Form, number, number][] = [['rank', 1, 256], ['alpha', 1, 4096], ['warmup', 0, 1e6], ['length', 1, 1e7], ['batch', 1, 1024], ['seqLen', 8, 32768]];
    for (const [k, lo, hi] of ints) {
      const v = num(form[k]);
      if (!Number.isInteger(v) || v < lo || v > hi) return `${k} must be a whole number from ${lo} to ${hi}.`;
    }
    if (!(num(form.lr) > 0 && num(form.lr) < 1)) return 'The learning rate is a fraction between 0 and 1.';
    if (!(num(form.dropout) >= 0 && num(form.dropout) < 1)) return 'Dropout is from 0 to below 1.';
    if (!(num(form.evalFraction) >= 0 && num(form.evalFraction) < 1)) return 'The eval share is from 0 to below 1.';
    if (!/^\d+$/.test(form.seed)) return 'The seed is a whole number.';
    if (!form.targets.split(',').map((t) => t.trim()).every((t) => /^[A-Za-z0-9_.]{1,32}$/.test(t))) return 'Targets are module names separated by commas.';
    if (parseAmount(chain, form.budget) == null) return 'The budget is a positive amount.';
    return null;
  }, [form, datanetId, version, baseId, chain]);

  const build = () => {
    if (problem) return null;
    const config = {
      method: form.method,
      rank: num(form.rank),
      alpha: num(form.alpha),
      dropout: Math.round(num(form.dropout) * 1e6),
      targetModules: form.targets.split(',').map((t) => t.trim()),
      learningRate: Math.round(num(form.lr) * 1e9),
      warmupSteps: num(form.warmup),
      length: { [form.lengthKind]: num(form.length) },
      batchSize: num(form.batch),
      maxSeqLen: num(form.seqLen),
      seed: form.seed,
      evalFraction: Math.round(num(form.evalFraction) * 1e6),
    };
    const parent = form.parent === '' ? null : Number(form.parent);
    return chain.api.tx.jobs.createJob(datanetId!, version!, baseId!, parent, config, parseAmount(chain, form.budget)!);
  };

  const field = (k: keyof Form, label: string, props: Record<string, unknown> = {}) => (
    <div className="field">
      <label htmlFor={`f-${k}`}>{label}</label>
      <input id={`f-${k}`} value={form[k]} onChange={set(k)} aria-describedby={`h-${k}`} {...props} />
      {HELP[k] && <small id={`h-${k}`}>{HELP[k]}</small>}
    </div>
  );

  return (
    <section aria-labelledby="train-title">
      <h1 id="train-title">Train</h1>
      <p className="lead">Fine-tune a model on a published dataset version. A bonded worker claims the job, trains, and publishes the adapter and its attribution; others spot-check it.</p>
      <form className="train" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>Data and model</legend>
          <div className="field">
            <label htmlFor="f-datanet">Datanet</label>
            <select id="f-datanet" value={datanetId ?? ''} onChange={(e) => setForm({ ...form, datanet: e.target.value, version: '' })}>
              {datanets.map((d) => <option key={d.id} value={d.id}>{d.id}: {d.name}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-version">Version</label>
            <select id="f-version" value={version ?? ''} onChange={set('version')}>
              {versions.map((v) => <option key={v.version} value={v.version}>v{v.version}: {v.count.toString()} items</option>)}
            </select>
            <small>A version pins the accepted items the job trains on (its MMR root is on chain).</small>
            {datanetId != null && version != null && versions.find((v) => v.version === version) && (
              <VersionPreview datanet={datanetId} version={version} count={versions.find((v) => v.version === version)!.count} />
            )}
          </div>
          <div className="field">
            <label htmlFor="f-base">Base model</label>
            <select id="f-base" value={baseId ?? ''} onChange={(e) => setForm({ ...form, base: e.target.value, parent: '' })}>
              {bases.map((b) => <option key={b.id} value={b.id}>{b.id}: {b.name} ({b.family})</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-parent">Continue from (child model)</label>
            <select id="f-parent" value={form.parent} onChange={set('parent')}>
              <option value="">— the base itself —</option>
              {models.filter((t) => t.base === baseId).map((t) => <option key={t.id} value={t.id}>model-{t.id} (datanet {t.datanet} v{t.version})</option>)}
            </select>
            <small>Adjust and retrain: the new adapter starts from this model's and records it as its parent.</small>
          </div>
        </fieldset>
        <fieldset>
          <legend>Method</legend>
          <div className="field">
            <label htmlFor="f-method">Method</label>
            <select id="f-method" value={form.method} onChange={set('method')} aria-describedby="h-method">
              <option value="Lora">LoRA</option>
              <option value="Qlora">QLoRA (NF4 base)</option>
            </select>
            <small id="h-method">{HELP.method}</small>
          </div>
          {field('rank', 'Rank', { inputMode: 'numeric' })}
          {field('alpha', 'Alpha', { inputMode: 'numeric' })}
          {field('dropout', 'Dropout', { inputMode: 'decimal' })}
          {field('targets', 'Target modules')}
        </fieldset>
        <fieldset>
          <legend>Schedule</legend>
          {field('lr', 'Learning rate', { inputMode: 'decimal' })}
          {field('warmup', 'Warm-up steps', { inputMode: 'numeric' })}
          <div className="field">
            <label htmlFor="f-length">Length</label>
            <span className="inline">
              <input id="f-length" value={form.length} onChange={set('length')} inputMode="numeric" size={8} aria-describedby="h-length" />
              <select value={form.lengthKind} onChange={set('lengthKind')} aria-label="Length unit">
                <option value="Steps">steps</option>
                <option value="Epochs">epochs</option>
              </select>
            </span>
            <small id="h-length">{HELP.length}</small>
          </div>
          {field('batch', 'Batch size', { inputMode: 'numeric' })}
          {field('seqLen', 'Sequence length', { inputMode: 'numeric' })}
          {field('seed', 'Seed', { inputMode: 'numeric' })}
          {field('evalFraction', 'Eval share', { inputMode: 'decimal' })}
          {field('budget', `Budget (${chain.symbol})`, { inputMode: 'decimal' })}
        </fieldset>
      </form>
      {problem && <p role="alert" className="error" data-testid="train-problem">{problem}</p>}
      <div className="actions">
        <TxButton
          label="Create the job"
          className="primary"
          build={build}
          disabledReason={problem}
          explain={`Holds ${form.budget} ${chain.symbol} from you until the job is final.`}
          onDone={(outs) => {
            const ev = outs[0]?.events.find((e) => e.name === 'jobs.JobCreated');
            if (ev) setCreated(Number(ev.data[0]));
          }}
        />
        <button type="button" onClick={() => setForm(DEFAULTS)}>Reset to defaults</button>
      </div>
      {created != null && (
        <p role="status" className="ok" data-testid="job-created">
          Job {created} created: a worker claims it within a few blocks. <a href={`#/jobs/${created}`}>Follow it live →</a>
        </p>
      )}
      {parseAmount(chain, form.budget) != null && <p className="hint">Budget {amount(chain, parseAmount(chain, form.budget)!)}.</p>}
    </section>
  );
}
