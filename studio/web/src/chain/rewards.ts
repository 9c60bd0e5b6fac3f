// Reward splits and pools (pallet `rewards`, docs/rewards.md). Reads only.
import type { Chain } from './connection';
import { big } from './codec';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Parts per million of a job's budget: contributors, curators, worker, owner. */
export interface Split {
  contributors: number;
  curators: number;
  worker: number;
  owner: number;
  /** The datanet published it (else the chain's default applies). */
  published: boolean;
}

export async function splitOf(chain: Chain, datanet: number): Promise<Split> {
  const v = (await chain.api.query.rewards.splits(datanet)) as Json;
  const s = v.isSome ? v.unwrap().toJSON() : (chain.api.consts.rewards.defaultSplit as Json).toJSON();
  return { contributors: s.contributors, curators: s.curators, worker: s.worker, owner: s.owner, published: v.isSome };
}

export interface Pool {
  job: number;
  /** A fee pool's period (answer fees paid then); null for the job's budget pool. */
  period: number | null;
  datanet: number;
  contributors: bigint;
  contributorsPaid: bigint;
  curators: bigint;
  curatorsPaid: bigint;
  leaves: number;
  expiresAt: number;
}

function pool(job: number, period: number | null, v: Json): Pool {
  const p = v.unwrap().toJSON();
  return {
    job,
    period,
    datanet: Number(p.datanet),
    contributors: big(p.contributors),
    contributorsPaid: big(p.contributorsPaid),
    curators: big(p.curators),
    curatorsPaid: big(p.curatorsPaid),
    leaves: Number(p.leaves),
    expiresAt: Number(p.expiresAt),
  };
}

/** Every open pool: each final job's budget pool, and the answer-fee pools of the jobs whose
 * models were paid for, one per fee period. Newest job first, its budget pool before its fees. */
export async function pools(chain: Chain): Promise<Pool[]> {
  const budget = (await chain.api.query.rewards.pools.entries()).map(([k, v]: [Json, Json]) =>
    pool(Number(k.args[0].toString()), null, v),
  );
  const feeEntries = await chain.api.query.rewards.feePools.entries();
  const fee = feeEntries.map(([k, v]: [Json, Json]) => pool(Number(k.args[0].toString()), Number(k.args[1].toString()), v));
  return [...budget, ...fee].sort((a, b) => b.job - a.job || (a.period ?? -1) - (b.period ?? -1));
}

/** Blocks per fee period: period `p` runs from block `p × length` up to the next. */
export function feePeriodLength(chain: Chain): number {
  return Number((chain.api.consts.rewards.feePeriod as Json).toString());
}

export interface Leaf {
  role: 'contributor' | 'curator';
  account: string;
  item: number;
  ppm: number;
}

export interface Line {
  job: number;
  /** The fee pool's period, or null for the job's budget pool. */
  period: number | null;
  index: number;
  leaf: Leaf;
  proof: string[];
  /** Plancks the claim would pay now, or null with `state` saying why not. */
  amount: bigint | null;
  state: 'pending' | 'claimed' | string;
}

/** `account`'s lines in `job`'s payout table (fetched and checked by the Studio's server), one
 * per open pool of the job (its budget pool and its fee pools, `periods`; null is the budget
 * pool), each with what the node says claiming it would pay now. */
export async function linesOf(chain: Chain, job: number, periods: (number | null)[], account: string): Promise<Line[]> {
  const res = await fetch(`/rewards/${job}/${account}`);
  const j = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(j.error ?? `HTTP ${res.status}`);
  const out: Line[] = [];
  for (const l of j.lines as { index: number; leaf: Leaf; proof: string[] }[]) {
    for (const period of periods) {
      const r = (period == null
        ? await chain.provider.send('rewards_claimable', [job, l.index, l.leaf, l.proof])
        : await chain.provider.send('rewards_claimableFees', [job, period, l.index, l.leaf, l.proof])) as { amount?: string; refused?: string };
      out.push({
        job,
        period,
        index: l.index,
        leaf: l.leaf,
        proof: l.proof,
        amount: r.amount != null ? BigInt(r.amount) : null,
        state: r.amount != null ? 'pending' : r.refused === 'alreadyClaimed' ? 'claimed' : r.refused ?? 'refused',
      });
    }
  }
  return out;
}

/** What a line of `ppm` parts per million of `part` pays: `⌊part × ppm / 10⁶⌋`, as the chain
 * computes it (pallet rewards' `share`). */
export function share(part: bigint, ppm: number): bigint {
  const whole = 1_000_000n;
  const p = BigInt(Math.min(ppm, 1_000_000));
  return (part / whole) * p + ((part % whole) * p) / whole;
}

/** The call that claims `l`: from the job's budget pool, or from a fee pool. */
export function claimCall(chain: Chain, l: Line) {
  return l.period == null
    ? chain.api.tx.rewards.claim(l.job, l.index, leafArg(l.leaf), l.proof)
    : chain.api.tx.rewards.claimFees(l.job, l.period, l.index, leafArg(l.leaf), l.proof);
}

/** The leaf as the `claim` call takes it. */
export function leafArg(l: Leaf) {
  return { role: l.role === 'contributor' ? 'Contributor' : 'Curator', account: l.account, item: l.item, ppm: l.ppm };
}
