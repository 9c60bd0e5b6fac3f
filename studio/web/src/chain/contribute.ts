// Contributing a file from the browser, as `tributary contribute` does (docs/chain.md): hash it
// (BLAKE3, in WebAssembly), commit to (datanet, hash, account) in one block, reveal the
// declaration in a later one, then hand the bytes to a data peer through the Studio's /upload.
import { blake3 } from 'hash-wasm';
import { blake2AsU8a, decodeAddress } from '@polkadot/util-crypto';
import { u8aToHex } from '@polkadot/util';
import type { Chain } from './connection';
import type { Datanet } from './datanets';

/** Extension aliases the CLI folds too. */
const ALIASES: Record<string, string> = { jpg: 'jpeg', markdown: 'md', htm: 'html', tif: 'tiff' };

export function formatOf(name: string): string {
  const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  return ALIASES[ext] ?? ext;
}

export interface Declaration {
  hash: string;
  bytes: number;
  format: string;
}

/** What the chain will be told about `file`, or why `datanet` would refuse it. */
export async function declare(file: File, data: Uint8Array, datanet: Datanet): Promise<Declaration> {
  const format = formatOf(file.name);
  if (!datanet.formats.includes(format)) {
    throw new Error(`${datanet.name} takes ${datanet.formats.join(', ')}; “${file.name}” is ${format ? `.${format}` : 'without an extension'}.`);
  }
  if (data.length === 0) throw new Error(`“${file.name}” is empty.`);
  if (BigInt(data.length) > datanet.rules.maxItemBytes) {
    throw new Error(`“${file.name}” has ${data.length} bytes; ${datanet.name} takes at most ${datanet.rules.maxItemBytes}.`);
  }
  if (datanet.status !== 'Open') throw new Error(`${datanet.name} is ${datanet.status.toLowerCase()}: it takes no new contributions.`);
  return { hash: '0x' + (await blake3(data)), bytes: data.length, format };
}

/** `blake2_256("tributary/contribution-commitment/v1" ‖ datanet u32 LE ‖ hash ‖ account)`. */
export function commitment(datanet: number, hash: string, account: string): string {
  const domain = new TextEncoder().encode('tributary/contribution-commitment/v1');
  const pre = new Uint8Array(domain.length + 4 + 32 + 32);
  pre.set(domain, 0);
  new DataView(pre.buffer).setUint32(domain.length, datanet, true);
  pre.set(hexBytes(hash), domain.length + 4);
  pre.set(decodeAddress(account), domain.length + 36);
  return u8aToHex(blake2AsU8a(pre, 256));
}

function hexBytes(h: string): Uint8Array {
  const s = h.startsWith('0x') ? h.slice(2) : h;
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** The pending or accepted contribution already holding these bytes in the datanet, if any. */
export async function holder(chain: Chain, datanet: number, hash: string): Promise<number | null> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const v = (await chain.api.query.datanets.contributionByHash(datanet, hash)) as any;
  return v.isSome ? Number(v.unwrap().toString()) : null;
}

export interface Uploaded {
  hash: string;
  uploaded_to: number;
  refused: string[];
}

export async function upload(contribution: number, data: Uint8Array): Promise<Uploaded> {
  const res = await fetch(`/upload/${contribution}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: data as BodyInit,
  });
  const j = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(j.error ?? `upload failed: HTTP ${res.status}`);
  return j as Uploaded;
}
