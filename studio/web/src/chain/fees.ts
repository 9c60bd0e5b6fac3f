// Paying for answers (pallet `fees`, docs/fees.md): a tab held for the serving worker on chain,
// and vouchers signed here (a dev key, or the wallet's raw signer) that let the worker charge up
// to a total for one model. The worker checks each voucher before any work; nothing goes on
// chain per answer.
import { bnToU8a, stringToU8a, u8aConcat, u8aToHex, hexToU8a } from '@polkadot/util';
import { decodeAddress } from '@polkadot/util-crypto';
import type { Chain } from './connection';
import { signerFor, type Account } from './accounts';
import { big } from './codec';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** The serving worker's terms (`GET /v1/billing`): free when `price` is 0. */
export interface Terms {
  /** Plancks per 1,000 tokens, prompt and answer together. */
  price: bigint;
  payee: string | null;
  genesis: string | null;
}

/** Where a payer's open tab stands for one model, as the worker counts it. */
export interface Line {
  tab: number;
  balance: bigint;
  closing: boolean;
  /** Owed to the worker on this tab beyond what the chain paid, over all models. */
  owed: bigint;
  /** Charged on this model in all: the next voucher must allow more. */
  charged: bigint;
  reserved: bigint;
  /** The highest voucher the worker holds for it (0: none). */
  allows: bigint;
}

export interface Tab {
  id: number;
  balance: bigint;
  closesAt: number | null;
}

/** A voucher as the worker takes it in the `Tributary-Voucher` header. */
export interface Voucher {
  payer: string;
  tab: number;
  worker: string;
  model: number;
  cumulative: bigint;
  signature: string;
}

async function json(res: Response): Promise<Json> {
  const j = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(j?.error?.message ?? `HTTP ${res.status}`);
  return j;
}

export async function terms(base: string): Promise<Terms> {
  const j = await json(await fetch(`${base}/billing`));
  return { price: BigInt(j.price_per_1k_tokens ?? '0'), payee: j.payee ?? null, genesis: j.genesis ?? null };
}

/** `payer`'s line for `model` at the worker; null when the payer has no open tab with it. */
export async function line(base: string, payer: string, model: number): Promise<Line | null> {
  const j = await json(await fetch(`${base}/billing?payer=${encodeURIComponent(payer)}&model=${model}`));
  const l = j.line;
  if (!l) return null;
  return {
    tab: Number(l.tab),
    balance: BigInt(l.balance),
    closing: !!l.closing,
    owed: BigInt(l.owed),
    charged: BigInt(l.charged),
    reserved: BigInt(l.reserved),
    allows: BigInt(l.allows),
  };
}

/** `payer`'s tab with `worker` on chain, or null. */
export async function tabOf(chain: Chain, payer: string, worker: string): Promise<Tab | null> {
  const v = (await chain.api.query.fees.tabs(payer, worker)) as Json;
  if (!v.isSome) return null;
  const t = v.unwrap().toJSON();
  return { id: Number(t.id), balance: big(t.balance), closesAt: t.closesAt ?? null };
}

/** The answer's cost at `price` per 1,000 tokens, rounded up, as the worker charges it. */
export function cost(price: bigint, tokens: number): bigint {
  return (price * BigInt(tokens) + 999n) / 1000n;
}

/** The most tokens the worker reserves for a chat request before it runs (docs/fees.md): a
 * token per prompt byte and 16 per message, 256 for the chat template, and `maxTokens`. */
export function mostTokens(messages: { content: string }[], maxTokens: number): number {
  const bytes = messages.reduce((n, m) => n + new TextEncoder().encode(m.content).length + 16, 0);
  return bytes + 256 + maxTokens;
}

/** The bytes a voucher's payer signs: SCALE of ("tributary/voucher", genesis, voucher), as the
 * chain's `pallet_fees::voucher::payload` builds them. */
export function payload(genesis: string, v: { tab: number; worker: string; model: number; cumulative: bigint }): Uint8Array {
  return u8aConcat(
    stringToU8a('tributary/voucher'),
    hexToU8a(genesis),
    bnToU8a(BigInt(v.tab), { bitLength: 64, isLe: true }),
    decodeAddress(v.worker),
    bnToU8a(BigInt(v.model), { bitLength: 64, isLe: true }),
    bnToU8a(v.cumulative, { bitLength: 128, isLe: true }),
  );
}

/** Signs a voucher with `account`: a dev key signs here; a wallet asks its user (it wraps raw
 * bytes in `<Bytes>`, which the chain accepts). Vouchers are sr25519 signatures. */
export async function sign(
  account: Account,
  genesis: string,
  v: { tab: number; worker: string; model: number; cumulative: bigint },
): Promise<Voucher> {
  const bytes = payload(genesis, v);
  const { pair, signer } = await signerFor(account);
  let signature: string;
  if (pair) {
    signature = u8aToHex(pair.sign(bytes));
  } else if (signer?.signRaw) {
    const r = await signer.signRaw({ address: account.address, data: u8aToHex(bytes), type: 'bytes' });
    signature = r.signature;
    // A MultiSignature (a type byte, then the signature): vouchers take sr25519's 64 bytes.
    if (signature.length === 2 + 2 * 65) {
      if (!signature.startsWith('0x01')) throw new Error('vouchers need an sr25519 account; this wallet signed with another scheme');
      signature = '0x' + signature.slice(4);
    }
  } else {
    throw new Error('this wallet cannot sign raw bytes, which a voucher needs');
  }
  return { payer: account.address, ...v, signature };
}

/** The `Tributary-Voucher` header's value. */
export function header(v: Voucher): string {
  return JSON.stringify({ payer: v.payer, tab: v.tab, worker: v.worker, model: v.model, cumulative: v.cumulative.toString(), signature: v.signature });
}
