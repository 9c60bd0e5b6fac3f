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

/** The pool dropped the transaction because another one from the same account took its nonce
 * (a worker or the CLI with the same key, signing at the same moment). */
class NonceTaken extends Error {}

/** Signs and submits; resolves once the extrinsic is in a block and succeeded, rejects with the
 * chain's error (`datanets.AlreadyVoted: ...`) otherwise. When another transaction of the account
 * took the nonce (the pool reports ours invalid, usurped or dropped and the account's nonce moved
 * past it), the call is signed again with the next nonce, twice at most. */
export async function send(chain: Chain, tx: Tx, account: Account, onStatus: (s: string) => void): Promise<TxOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      // A fresh extrinsic of the same call each time: it is signed with the nonce of that moment.
      return await sendOnce(chain, attempt === 0 ? tx : chain.api.tx(chain.api.createType('Call', tx.method.toU8a())), account, onStatus);
    } catch (e) {
      if (!(e instanceof NonceTaken) || attempt >= 2) throw e;
      onStatus('another transaction from this account took its nonce: signing again');
    }
  }
}

async function sendOnce(chain: Chain, tx: Tx, account: Account, onStatus: (s: string) => void): Promise<TxOutcome> {
  const { pair, signer } = await signerFor(account);
  // The nonce as the node's pool sees it (`system_accountNextIndex` counts transactions still in
  // the pool): polkadot.js's default reads the account's nonce in the chain's state, which a
  // transaction waiting in the pool has not raised yet, and so reuses its nonce.
  const nonce = await chain.api.rpc.system.accountNextIndex(account.address);
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
        const why = `transaction ${r.status.type.toLowerCase()}`;
        const used = tx.nonce.toBigInt();
        chain.api.rpc.system.accountNextIndex(account.address).then(
          (next) => reject(next.toBigInt() > used ? new NonceTaken(why) : new Error(why)),
          () => reject(new Error(why)),
        );
      }
    };
    const go = pair ? tx.signAndSend(pair, { nonce }, cb) : tx.signAndSend(account.address, { signer, nonce }, cb);
    go.then((u) => (unsub = u)).catch((e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      // Refused at once: another transaction with this nonce waits in the pool, or is in a block.
      if (/Priority is too low|outdated/i.test(err.message) && !tx.nonce.isEmpty) {
        const used = tx.nonce.toBigInt();
        chain.api.rpc.system.accountNextIndex(account.address).then(
          (next) => reject(next.toBigInt() > used ? new NonceTaken(err.message) : err),
          () => reject(err),
        );
        return;
      }
      reject(err);
    });
  });
}

function explain(chain: Chain, err: NonNullable<ISubmittableResult['dispatchError']>): string {
  if (err.isModule) {
    const meta = chain.api.registry.findMetaError(err.asModule);
    return `${meta.section}.${meta.name}: ${meta.docs.join(' ').trim()}`;
  }
  return err.toString();
}
