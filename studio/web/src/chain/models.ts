// Base models, trained models with their lineage, and training jobs (pallets `models` and `jobs`,
// docs/jobs.md). Reads only.
import type { Chain } from './connection';
import { big, text, variant } from './codec';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface BaseModel {
  id: number;
  name: string;
  family: string;
  license: string;
  params: bigint;
  retired: boolean;
}

export interface TrainedModel {
  id: number;
  owner: string;
  trainer: string;
  base: number;
  parent: number | null;
  job: number;
  datanet: number;
  version: number;
  adapterHash: string;
  adapterBytes: bigint;
  method: string;
  rank: number;
  trainLoss: number;
  evalLoss: number | null;
  steps: number;
  tokens: bigint;
}

export interface Job {
  id: number;
  creator: string;
  datanet: number;
  version: number;
  base: number;
  parent: number | null;
  budget: bigint;
  status: string;
  worker: string | null;
  /** Claimed (or Stopped): step / total and the latest loss the worker reported on chain. */
  progress: { step: number; total: number; loss: number | null } | null;
  model: number | null;
  /** The training settings, as label and value, in the Train form's order, then the attribution
   * method the chain fixed for the job (how its payout table is computed). */
  config: [string, string][];
}

/** A job's `AttributionMethod` from `toJSON()`, in one line. */
function describeAttribution(m: Json): string {
  if (!m) return 'unknown';
  const projection = Number(m.projection) === 0 ? 'exact gradients' : `projection ${m.projection} per side`;
  const scores = m.optimizerAware ? 'AdamW-aware scores' : 'TracIn scores';
  const damping = m.dampingMicro == null ? 'no damping' : `damping ${Number(m.dampingMicro) / 1e6}`;
  return `${projection}, ${m.checkpoints} checkpoints, ${scores}, ${damping}, seed ${m.seed}`;
}

/** A job's `TrainingConfig` from `toJSON()`, as label and value. */
function describeConfig(c: Json): [string, string][] {
  if (!c) return [];
  const len = variant(c.length);
  const targets = Array.isArray(c.targetModules) ? c.targetModules.map(text).join(', ') : String(c.targetModules);
  return [
    ['method', variant(c.method).name],
    ['rank', String(c.rank)],
    ['alpha', String(c.alpha)],
    ['dropout', `${Number(c.dropout) / 10_000}%`],
    ['targets', targets],
    ['learning rate', (Number(c.learningRate) / 1e9).toExponential(1)],
    ['warm-up steps', String(c.warmupSteps)],
    ['length', `${String(len.data)} ${len.name.toLowerCase()}`],
    ['batch', String(c.batchSize)],
    ['sequence length', String(c.maxSeqLen)],
    ['seed', String(c.seed)],
    ['eval share', `${Number(c.evalFraction) / 10_000}%`],
  ];
}

async function entries(q: Json): Promise<[number, Json][]> {
  const all = await q.entries();
  return all
    .map(([k, v]: [Json, Json]) => [Number(k.args[0].toString()), v.unwrap().toJSON()] as [number, Json])
    .sort((a: [number, Json], b: [number, Json]) => a[0] - b[0]);
}

export async function baseModels(chain: Chain): Promise<BaseModel[]> {
  return (await entries(chain.api.query.models.baseModels)).map(([id, b]) => ({
    id,
    name: text(b.name),
    family: variant(b.family).name,
    license: text(b.license),
    params: big(b.params),
    retired: !!b.retired,
  }));
}

export async function trainedModels(chain: Chain): Promise<TrainedModel[]> {
  return (await entries(chain.api.query.models.models)).map(([id, m]) => ({
    id,
    owner: m.owner,
    trainer: m.trainer,
    base: Number(m.lineage.base),
    parent: m.lineage.parent ?? null,
    job: Number(m.lineage.job),
    datanet: Number(m.lineage.datanet),
    version: Number(m.lineage.version),
    adapterHash: m.adapter.hash,
    adapterBytes: big(m.adapter.bytes),
    method: variant(m.config.method).name,
    rank: Number(m.config.rank),
    trainLoss: Number(m.metrics.trainLossMicro) / 1e6,
    evalLoss: m.metrics.evalLossMicro == null ? null : Number(m.metrics.evalLossMicro) / 1e6,
    steps: Number(m.metrics.steps),
    tokens: big(m.metrics.tokens),
  }));
}

export async function jobs(chain: Chain): Promise<Job[]> {
  return (await entries(chain.api.query.jobs.jobInfo)).map(([id, j]) => {
    const s = variant(j.status);
    const d = (s.data ?? {}) as Json;
    return {
      id,
      creator: j.creator,
      datanet: Number(j.datanet),
      version: Number(j.version),
      base: Number(j.base),
      parent: j.parent ?? null,
      budget: big(j.budget),
      status: s.name,
      worker: d.worker ?? null,
      progress: d.progress
        ? { step: Number(d.progress.step), total: Number(d.progress.totalSteps), loss: d.progress.lossMicro == null ? null : Number(d.progress.lossMicro) / 1e6 }
        : null,
      model: d.model ?? null,
      config: [...describeConfig(j.config), ['attribution', describeAttribution(j.attribution)]],
    };
  });
}

/** The HTTP endpoint `worker` publishes on chain (live progress at `{endpoint}/jobs/{id}/events`). */
export async function endpointOf(chain: Chain, worker: string): Promise<string | null> {
  const v = (await chain.api.query.workers.endpoints(worker)) as Json;
  return v.isSome ? text(v.unwrap().toJSON()) : null;
}

export async function job(chain: Chain, id: number): Promise<Job | null> {
  return (await jobs(chain)).find((j) => j.id === id) ?? null;
}
