// The accounts this browser can sign with, their balances, and wallet connection.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import { amount } from '../chain/format';

interface Balance {
  free: bigint;
  reserved: bigint;
}

export function Accounts() {
  const { chain, accounts, account, selectAccount, connectWallet, walletError, best } = useStudio();
  const [balances, setBalances] = useState<Record<string, Balance>>({});
  useEffect(() => {
    Promise.all(
      accounts.map(async (a) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const info = (await chain.api.query.system.account(a.address)) as any;
        return [a.address, { free: info.data.free.toBigInt(), reserved: info.data.reserved.toBigInt() }] as const;
      }),
    ).then((rows) => setBalances(Object.fromEntries(rows)));
  }, [chain, accounts, best]);
  return (
    <section aria-labelledby="acc-title">
      <h1 id="acc-title">Accounts</h1>
      <p className="lead">
        Sign with a browser wallet (the polkadot.js extension, Talisman, SubWallet){chain.isDev ? ', or, on this development chain, with the well-known dev accounts' : ''}. Keys never leave the wallet.
      </p>
      <button type="button" onClick={() => void connectWallet()}>Connect wallet</button>
      {walletError && <p role="alert" className="error">{walletError}</p>}
      <div className="table-wrap">
        <table data-testid="accounts">
          <thead><tr><th scope="col">Name</th><th scope="col">Address</th><th scope="col">Source</th><th scope="col">Free</th><th scope="col">Held</th><th scope="col"><span className="sr-only">Use</span></th></tr></thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={`${a.source}-${a.address}`} aria-current={account?.address === a.address ? 'true' : undefined}>
                <td>{a.name}</td>
                <td><code className="hash">{a.address}</code></td>
                <td>{a.source === 'dev' ? 'dev account' : a.source}</td>
                <td>{balances[a.address] ? amount(chain, balances[a.address].free) : '…'}</td>
                <td>{balances[a.address] ? amount(chain, balances[a.address].reserved) : '…'}</td>
                <td>
                  {account?.address === a.address ? <strong>in use</strong> : (
                    <button type="button" onClick={() => selectAccount(a.address)}>Use {a.name}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
