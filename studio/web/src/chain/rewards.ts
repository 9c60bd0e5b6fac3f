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
  datanet: number;
  contributors: bigint;
  contributorsPaid: bigint;
  curators: bigint;
  curatorsPaid: bigint;
  leaves: number;
  expiresAt: number;
}

export async function pools(chain: Chain): Promise<Pool[]> {
  const all = await chain.api.query.rewards.pools.entries();
  return all
    .map(([k, v]: [Json, Json]) => {
      const p = v.unwrap().toJSON();
      return {
        job: Number(k.args[0].toString()),
        datanet: Number(p.datanet),
        contributors: big(p.contributors),
        contributorsPaid: big(p.contributorsPaid),
        curators: big(p.curators),
        curatorsPaid: big(p.curatorsPaid),
        leaves: Number(p.leaves),
        expiresAt: Number(p.expiresAt),
      };
    })
    .sort((a: Pool, b: Pool) => b.job - a.job);
}

export interface Leaf {
  role: 'contributor' | 'curator';
  account: string;
  item: number;
  ppm: number;
}

export interface Line {
  job: number;
  index: number;
  leaf: Leaf;
  proof: string[];
  /** Plancks the claim would pay now, or null with `state` saying why not. */
  amount: bigint | null;
  state: 'pending' | 'claimed' | string;
}

/** `account`'s lines in `job`'s payout table (fetched and checked by the Studio's server), each
 * with what the node says claiming it would pay now. */
export async function linesOf(chain: Chain, job: number, account: string): Promise<Line[]> {
  const res = await fetch(`/rewards/${job}/${account}`);
  const j = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(j.error ?? `HTTP ${res.status}`);
  const out: Line[] = [];
  for (const l of j.lines as { index: number; leaf: Leaf; proof: string[] }[]) {
    const r = (await chain.provider.send('rewards_claimable', [job, l.index, l.leaf, l.proof])) as { amount?: string; refused?: string };
    out.push({
      job,
      index: l.index,
      leaf: l.leaf,
      proof: l.proof,
      amount: r.amount != null ? BigInt(r.amount) : null,
      state: r.amount != null ? 'pending' : r.refused === 'alreadyClaimed' ? 'claimed' : r.refused ?? 'refused',
    });
  }
  return out;
}

/** The leaf as the `claim` call takes it. */
export function leafArg(l: Leaf) {
  return { role: l.role === 'contributor' ? 'Contributor' : 'Curator', account: l.account, item: l.item, ppm: l.ppm };
}
