// The serving worker charges for answers of trained models: its price, the account's tab with it
// (held on chain for that worker alone: open, top up, close, withdraw), and how much each voucher
// the page signs may let it take.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import { TxButton } from './TxButton';
import * as fees from '../chain/fees';
import { amount, parseAmount } from '../chain/format';

interface Props {
  terms: fees.Terms;
  /** What each voucher lets the worker take beyond what the request needs, as typed. */
  allowance: string;
  setAllowance: (s: string) => void;
  /** Bumped after each answer, to re-read the tab. */
  answered: number;
}

export function PayPanel({ terms, allowance, setAllowance, answered }: Props) {
  const { chain, account, best, label } = useStudio();
  const [tab, setTab] = useState<fees.Tab | null>(null);
  const [fund, setFund] = useState('1');
  const payee = terms.payee!;
  useEffect(() => {
    if (!account) return setTab(null);
    fees.tabOf(chain, account.address, payee).then(setTab, () => setTab(null));
  }, [chain, account, payee, best, answered]);
  const planck = parseAmount(chain, fund);
  const open = tab && tab.closesAt == null;
  return (
    <aside className="pay" aria-labelledby="pay-title" data-testid="pay-panel">
      <h2 id="pay-title">Paying for answers</h2>
      <p>
        This worker charges <strong data-testid="price">{amount(chain, terms.price)}</strong> per 1,000 tokens (prompt and answer) for
        the trained models, paid to {label(payee)} and shared by the model's datanet split with its contributors and curators.
        The base model and chat over a datanet are free.
      </p>
      {!account ? (
        <p>Choose an account to open a tab.</p>
      ) : (
        <>
          <p data-testid="tab">
            {tab == null
              ? 'You have no tab with this worker: open one to pay for answers.'
              : `Your tab #${tab.id} holds ${amount(chain, tab.balance)} for this worker${tab.closesAt != null ? `, closing: withdraw from block #${tab.closesAt}` : ''}.`}
          </p>
          <div className="row">
            {(tab == null || open) && (
              <>
                <label className="inline">
                  Amount{' '}
                  <input value={fund} onChange={(e) => setFund(e.target.value)} inputMode="decimal" size={8} data-testid="tab-amount" />
                </label>
                <TxButton
                  label={tab == null ? 'Open a tab' : 'Top up the tab'}
                  className="primary"
                  disabledReason={planck == null ? 'Type an amount' : null}
                  explain="The amount is held on your account for this worker alone; it is paid only as far as the vouchers you sign allow."
                  build={() => (planck == null ? null : chain.api.tx.fees.fundTab(payee, planck))}
                  onDone={() => fees.tabOf(chain, account.address, payee).then(setTab)}
                />
              </>
            )}
            {open && (
              <TxButton
                label="Close the tab"
                explain="The worker takes no new requests on it; what it still holds can be withdrawn after three fee periods."
                build={() => chain.api.tx.fees.closeTab(payee)}
                onDone={() => fees.tabOf(chain, account.address, payee).then(setTab)}
              />
            )}
            {tab?.closesAt != null && (
              <TxButton
                label="Withdraw"
                disabledReason={best < tab.closesAt ? `Withdraw from block #${tab.closesAt}` : null}
                build={() => chain.api.tx.fees.withdraw(payee)}
                onDone={() => fees.tabOf(chain, account.address, payee).then(setTab)}
              />
            )}
          </div>
          <label className="inline">
            Each voucher may spend up to{' '}
            <input value={allowance} onChange={(e) => setAllowance(e.target.value)} inputMode="decimal" size={8} data-testid="allowance" />{' '}
            {chain.symbol} beyond what the question needs
          </label>
          <p className="hint">
            Before an answer the page signs a voucher (your wallet asks) that lets this worker take that much more, in all, for the
            model; it is signed again only when used up. Smaller steps ask more often and risk less.
          </p>
        </>
      )}
    </aside>
  );
}
