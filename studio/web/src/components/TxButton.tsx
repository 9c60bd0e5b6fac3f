// A button that shows what it will sign (call, arguments, signer, fee) and asks before signing.
// Several transactions are signed one after another, each once the one before is in a block
// (a contribution's commitment, then its reveal).
import { useRef, useState, useEffect } from 'react';
import { useStudio } from '../studio';
import { preview, send, type Tx, type TxPreview, type TxOutcome } from '../chain/tx';

interface Props {
  label: string;
  /** Builds the extrinsic(s) when clicked (null: nothing to send). */
  build: () => Tx | Tx[] | null | Promise<Tx | Tx[] | null>;
  onDone?: (o: TxOutcome[]) => void | Promise<void>;
  /** Shown in the dialog under the title. */
  explain?: string;
  className?: string;
  disabledReason?: string | null;
}

export function TxButton({ label, build, onDone, className, disabledReason, explain }: Props) {
  const { chain, account, label: name } = useStudio();
  const [tx, setTx] = useState<Tx[] | null>(null);
  const [pv, setPv] = useState<TxPreview[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const dialog = useRef<HTMLDialogElement>(null);

  useEffect(() => {
    if (tx && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [tx]);

  const open = async () => {
    setError(null);
    setStatus(null);
    if (!account) return;
    try {
      const built = await build();
      if (!built) return;
      const t = Array.isArray(built) ? built : [built];
      setTx(t);
      setPv(null);
      setPv(await Promise.all(t.map((x) => preview(chain, x, account))));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const close = () => {
    dialog.current?.close();
    setTx(null);
  };
  const sign = async () => {
    if (!tx || !account) return;
    setBusy(true);
    setError(null);
    try {
      const outs: TxOutcome[] = [];
      for (const [i, t] of tx.entries()) {
        const step = tx.length > 1 ? `${i + 1} of ${tx.length}: ` : '';
        outs.push(await send(chain, t, account, (s) => setStatus(step + s)));
      }
      close();
      await onDone?.(outs);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setStatus(null);
    } finally {
      setBusy(false);
    }
  };

  const why = !account ? 'Choose an account first' : disabledReason ?? null;
  return (
    <>
      <button type="button" className={className} onClick={open} disabled={!!why} title={why ?? undefined}>
        {label}
      </button>
      {error && !tx && <span role="alert" className="error">{error}</span>}
      {tx && (
        <dialog ref={dialog} className="tx-dialog" aria-labelledby="tx-title" onCancel={close}>
          <h2 id="tx-title">{tx.length > 1 ? `Sign these ${tx.length} transactions?` : 'Sign this transaction?'}</h2>
          {explain && <p className="hint">{explain}</p>}
          <p>Signer: {account && `${name(account.address)} (${account.address})`}</p>
          {pv ? (
            pv.map((p, i) => (
              <dl className="tx-preview" key={i}>
                <dt>Call{tx.length > 1 ? ` ${i + 1}` : ''}</dt>
                <dd><code data-testid="tx-call">{p.call}</code></dd>
                <dt>Arguments</dt>
                <dd><pre data-testid="tx-args">{JSON.stringify(p.args, null, 2)}</pre></dd>
                <dt>Estimated fee</dt>
                <dd data-testid="tx-fee">{p.fee}</dd>
              </dl>
            ))
          ) : (
            <p>Estimating the fee…</p>
          )}
          {status && <p role="status">{status}</p>}
          {error && <p role="alert" className="error">{error}</p>}
          <div className="actions">
            <button type="button" onClick={close} disabled={busy}>Cancel</button>
            <button type="button" className="primary" onClick={sign} disabled={busy || !pv}>
              {busy ? 'Signing…' : tx.length > 1 ? `Sign and submit all ${tx.length}` : 'Sign and submit'}
            </button>
          </div>
        </dialog>
      )}
    </>
  );
}
