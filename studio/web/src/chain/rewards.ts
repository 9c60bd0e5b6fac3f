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
