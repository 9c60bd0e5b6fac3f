// Transactions: what will be signed (call, arguments, signer, fee) shown before signing, then the
// signed extrinsic followed to its block, with the chain's own error if it fails.
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { ISubmittableResult } from '@polkadot/types/types';
import type { Chain } from './connection';
import { signerFor, type Account } from './accounts';
import { amount } from './format';

export type Tx = SubmittableExtrinsic<'promise', ISubmittableResult>;

export interface TxPreview {
  call: string;
  args: Record<string, unknown>;
  fee: string;
}

export async function preview(chain: Chain, tx: Tx, account: Account): Promise<TxPreview> {
  const m = tx.method;
  const args: Record<string, unknown> = {};
  m.meta.args.forEach((a, i) => {
    args[a.name.toString()] = m.args[i].toHuman();
  });
  const info = await tx.paymentInfo(account.address);
  return { call: `${m.section}.${m.method}`, args, fee: amount(chain, info.partialFee.toBigInt()) };
}

export interface TxEvent {
  /** `datanets.ContributionSubmitted` */
  name: string;
  /** The event's fields as JSON, positionally. */
  data: unknown[];
}

export interface TxOutcome {
  block: string;
  events: TxEvent[];
}

/** Signs and submits; resolves once the extrinsic is in a block and succeeded, rejects with the
 * chain's error (`datanets.AlreadyVoted: ...`) otherwise. */
export async function send(chain: Chain, tx: Tx, account: Account, onStatus: (s: string) => void): Promise<TxOutcome> {
  const { pair, signer } = await signerFor(account);
  return new Promise<TxOutcome>((resolve, reject) => {
    let unsub: (() => void) | undefined;
    const done = () => unsub?.();
    const cb = (r: ISubmittableResult) => {
      if (r.status.isReady) onStatus('submitted, waiting for a block');
      if (r.status.isInBlock || r.status.isFinalized) {
        const block = (r.status.isInBlock ? r.status.asInBlock : r.status.asFinalized).toHex();
        if (r.dispatchError) {
          done();
          reject(new Error(explain(chain, r.dispatchError)));
          return;
        }
        done();
        const events = r.events.map(({ event }) => ({
          name: `${event.section}.${event.method}`,
          data: event.data.toJSON() as unknown[],
        }));
        resolve({ block, events });
      }
      if (r.status.isInvalid || r.status.isDropped || r.status.isUsurped) {
        done();
        reject(new Error(`transaction ${r.status.type.toLowerCase()}`));
      }
    };
    const go = pair ? tx.signAndSend(pair, cb) : tx.signAndSend(account.address, { signer }, cb);
    go.then((u) => (unsub = u)).catch((e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
  });
}

function explain(chain: Chain, err: NonNullable<ISubmittableResult['dispatchError']>): string {
  if (err.isModule) {
    const meta = chain.api.registry.findMetaError(err.asModule);
    return `${meta.section}.${meta.name}: ${meta.docs.join(' ').trim()}`;
  }
  return err.toString();
}
