// Datanets, contributions and leaderboards as the chain stores them (pallet `datanets`,
// docs/chain.md). Reads only; calls are built where they are signed.
import type { Chain } from './connection';
import { rpc } from './connection';
import { encodeAddress } from '@polkadot/util-crypto';
import { big, text, variant } from './codec';

export type Modality = 'Text' | 'Image' | 'Audio';

export interface Rules {
  maxItemBytes: bigint;
  contributorDailyBytes: bigint;
  contributorDailyItems: number;
  datanetDailyBytes: bigint;
  datanetDailyItems: number;
  approvalQuorum: number;
  rejectionQuorum: number;
  contributionDeposit: bigint;
  curatorFee: bigint;
  pendingBlocks: number;
}

export interface Datanet {
  id: number;
  owner: string;
  name: string;
  description: string;
  modality: Modality;
  formats: string[];
  rules: Rules;
  status: string;
  submitted: bigint;
  accepted: bigint;
  rejected: bigint;
  globalBoard: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function rulesOf(r: Json): Rules {
  return {
    maxItemBytes: big(r.maxItemBytes),
    contributorDailyBytes: big(r.contributorDailyBytes),
    contributorDailyItems: Number(r.contributorDailyItems),
    datanetDailyBytes: big(r.datanetDailyBytes),
    datanetDailyItems: Number(r.datanetDailyItems),
    approvalQuorum: Number(r.approvalQuorum),
    rejectionQuorum: Number(r.rejectionQuorum),
    contributionDeposit: big(r.contributionDeposit),
    curatorFee: big(r.curatorFee),
    pendingBlocks: Number(r.pendingBlocks),
  };
}

function datanetOf(id: number, d: Json): Datanet {
  return {
    id,
    owner: d.owner,
    name: text(d.name),
    description: text(d.description),
    modality: variant(d.modality).name as Modality,
    formats: (d.formats as string[]).map(text),
    rules: rulesOf(d.rules),
    status: variant(d.status).name,
    submitted: big(d.submitted),
    accepted: big(d.accepted),
    rejected: big(d.rejected),
    globalBoard: d.boardBond != null,
  };
}

export async function datanets(chain: Chain): Promise<Datanet[]> {
  const entries = await chain.api.query.datanets.datanetInfo.entries();
  return entries
    .map(([k, v]) => datanetOf(Number(k.args[0].toString()), (v as Json).unwrap().toJSON()))
    .sort((a, b) => a.id - b.id);
}

export async function datanet(chain: Chain, id: number): Promise<Datanet | null> {
  const v = (await chain.api.query.datanets.datanetInfo(id)) as Json;
  return v.isSome ? datanetOf(id, v.unwrap().toJSON()) : null;
}

export async function curators(chain: Chain, id: number): Promise<string[]> {
  const v = await chain.api.query.datanets.curators(id);
  return (v.toJSON() as string[]).map(String);
}

export interface Version {
  version: number;
  count: bigint;
  root: string;
  publishedAt: number;
}

export async function versions(chain: Chain, id: number): Promise<Version[]> {
  const entries = await chain.api.query.datanets.versions.entries(id);
  return entries
    .map(([k, v]) => {
      const j = (v as Json).unwrap().toJSON();
      return { version: Number(k.args[1].toString()), count: big(j.count), root: j.root, publishedAt: Number(j.publishedAt) };
    })
    .sort((a, b) => b.version - a.version);
}

export interface Commitment {
  count: number;
  root: string;
}

export async function commitment(chain: Chain, id: number): Promise<Commitment | null> {
  return rpc<Commitment | null>(chain, 'datanets_commitment', [id]);
}

export interface Contribution {
  id: number;
  datanet: number;
  contributor: string;
  contentHash: string;
  bytes: bigint;
  format: string;
  metadata: string;
  submittedAt: number;
  approvals: number;
  rejections: number;
  status: string;
  /** Accepted: position in the list; Rejected: the reason; Superseded: by whom. */
  detail: string | null;
}

function contributionOf(id: number, c: Json): Contribution {
  const s = variant(c.status);
  let detail: string | null = null;
  if (s.name === 'Accepted') detail = `#${(s.data as Json).index} in the accepted list`;
  if (s.name === 'Rejected') detail = variant((s.data as Json).reason).name;
  if (s.name === 'Superseded') detail = `by contribution ${(s.data as Json).by}`;
  return {
    id,
    datanet: Number(c.datanet),
    contributor: c.contributor,
    contentHash: c.contentHash,
    bytes: big(c.bytes),
    format: text(c.format),
    metadata: text(c.metadata),
    submittedAt: Number(c.submittedAt),
    approvals: Number(c.approvals),
    rejections: Number(c.rejections),
    status: s.name,
    detail,
  };
}

export async function contribution(chain: Chain, id: number): Promise<Contribution | null> {
  const v = (await chain.api.query.datanets.contributions(id)) as Json;
  return v.isSome ? contributionOf(id, v.unwrap().toJSON()) : null;
}

/** The contribution at `position` of `datanet`'s accepted list (a version is its first `count`). */
export async function acceptedAt(chain: Chain, datanet: number, position: number): Promise<number | null> {
  const v = (await chain.api.query.datanets.acceptedList(datanet, position)) as Json;
  return v.isSome ? Number(v.unwrap().toString()) : null;
}

/** Every stored contribution. A dev chain holds few; a real queue wants an indexer (docs/studio.md). */
export async function allContributions(chain: Chain): Promise<Contribution[]> {
  const entries = await chain.api.query.datanets.contributions.entries();
  return entries
    .map(([k, v]) => contributionOf(Number(k.args[0].toString()), (v as Json).unwrap().toJSON()))
    .sort((a, b) => a.id - b.id);
}

/** The vote `curator` cast on a contribution, or null. */
export async function voteOf(chain: Chain, contribution: number, curator: string): Promise<string | null> {
  const v = (await chain.api.query.datanets.votes(contribution, curator)) as Json;
  return v.isSome ? variant(v.unwrap().toJSON()).name : null;
}

export interface BoardRow {
  rank: number;
  account: string;
  // The RPC's JSON keeps the runtime's field names.
  stats: { submitted: number; accepted: number; rejected: number; accepted_bytes: number; first_accepted: number | null };
  acceptance_rate_ppm: number | null;
}

export async function leaderboard(chain: Chain, datanetId: number | null, at?: string): Promise<BoardRow[]> {
  return rpc<BoardRow[]>(chain, 'datanets_leaderboard', [datanetId, 0, 100, at ?? null]);
}

export const REJECT_REASONS = ['Malformed', 'HashMismatch', 'OffTopic', 'Duplicate', 'LowQuality', 'PolicyViolation'] as const;

/** The datanet's curation pot: the pallet's sub-account `modl ‖ "trib/dnt" ‖ id (u32 LE)`,
 * zero-padded to 32 bytes (`PalletId::into_sub_account_truncating`). */
export function curationPot(chain: Chain, id: number): string {
  const raw = new Uint8Array(32);
  raw.set(new TextEncoder().encode('modltrib/dnt'), 0);
  new DataView(raw.buffer).setUint32(12, id, true);
  return encodeAddress(raw, chain.api.registry.chainSS58 ?? 42);
}

export async function freeBalance(chain: Chain, address: string): Promise<bigint> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const info = (await chain.api.query.system.account(address)) as any;
  return info.data.free.toBigInt();
}
