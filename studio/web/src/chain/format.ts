// Display helpers: amounts, accounts, sizes, rates.
import type { Chain } from './connection';

export function amount(chain: Chain, planck: bigint): string {
  const unit = 10n ** BigInt(chain.decimals);
  const whole = planck / unit;
  const frac = planck % unit;
  let f = frac.toString().padStart(chain.decimals, '0').replace(/0+$/, '').slice(0, 4);
  return `${whole.toLocaleString('en-US')}${f ? '.' + f : ''} ${chain.symbol}`;
}

export function short(address: string): string {
  return address.length > 14 ? `${address.slice(0, 6)}…${address.slice(-6)}` : address;
}

export function bytes(n: bigint | number): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

export function ppm(rate: number | null | undefined): string {
  return rate == null ? '—' : `${(rate / 10_000).toFixed(1)}%`;
}

/** "1.5" (whole units) to plancks; null when it is not a positive amount with at most `decimals` places. */
export function parseAmount(chain: Chain, s: string): bigint | null {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(s);
  if (!m || (m[2] ?? '').length > chain.decimals) return null;
  const v = BigInt(m[1]) * 10n ** BigInt(chain.decimals) + BigInt((m[2] ?? '').padEnd(chain.decimals, '0') || '0');
  return v > 0n ? v : null;
}
