// Reading chain values: the node's metadata describes every type, so storage decodes without
// hand-written type definitions; these helpers turn `toJSON()` output into plain values.
import { hexToString, isHex } from '@polkadot/util';

/** Bytes from `toJSON()` (hex) as text; undecodable bytes stay hex. */
export function text(v: unknown): string {
  if (typeof v !== 'string') return '';
  if (!isHex(v)) return v;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(hexBytes(v));
  } catch {
    return v;
  }
}

function hexBytes(h: string): Uint8Array {
  const s = h.slice(2);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** An integer from `toJSON()` (a number, or hex / decimal text for big ones). */
export function big(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return BigInt(v);
  if (typeof v === 'bigint') return v;
  return 0n;
}

/** The variant of an enum from `toJSON()`: `"Text"` or `{ accepted: {...} }` → name and data. */
export function variant(v: unknown): { name: string; data: unknown } {
  if (typeof v === 'string') return { name: v, data: null };
  if (v && typeof v === 'object') {
    const [k, data] = Object.entries(v as Record<string, unknown>)[0] ?? ['unknown', null];
    return { name: k.charAt(0).toUpperCase() + k.slice(1), data };
  }
  return { name: String(v), data: null };
}

export { hexToString };
