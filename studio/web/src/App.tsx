// The app shell: connection, accounts, navigation (hash routes), and the page.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { StudioContext, type Studio } from './studio';
import { connect, loadConfig, type Chain, type StudioConfig } from './chain/connection';
import { devAccounts, walletAccounts, type Account } from './chain/accounts';
import { short } from './chain/format';
import { DatanetList, DatanetPage } from './pages/Datanets';
import { Leaderboard } from './pages/Leaderboard';
import { Curate } from './pages/Curate';
import { Contributions } from './pages/Contributions';
import { Contribute } from './pages/Contribute';
import { Chat } from './pages/Chat';
import { Models } from './pages/Models';
import { Train } from './pages/Train';
import { CreateDatanet } from './pages/CreateDatanet';
import { JobPage } from './pages/Job';
import { Compare } from './pages/Compare';
import { Rewards } from './pages/Rewards';
import { Accounts } from './pages/Accounts';

const NAV = [
  ['datanets', 'Datanets'],
  ['contribute', 'Contribute'],
  ['contributions', 'Contributions'],
  ['curate', 'Curate'],
  ['leaderboard', 'Leaderboard'],
  ['train', 'Train'],
  ['models', 'Models'],
  ['chat', 'Chat'],
  ['rewards', 'Rewards'],
  ['accounts', 'Accounts'],
] as const;

function useHash(): string[] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#\/?/, '').split('/').filter(Boolean);
}

function Page({ route }: { route: string[] }) {
  const [page, arg] = route;
  const n = arg != null && /^\d+$/.test(arg) ? Number(arg) : null;
  switch (page ?? 'datanets') {
    case 'datanets':
      if (arg === 'new') return <CreateDatanet />;
      return n == null ? <DatanetList /> : <DatanetPage id={n} />;
    case 'leaderboard':
      return <Leaderboard datanet={n} />;
    case 'curate':
      return <Curate />;
    case 'contribute':
      return <Contribute />;
    case 'contributions':
      return <Contributions id={n} />;
    case 'train':
      return <Train />;
    case 'jobs':
      return n == null ? <Models /> : <JobPage id={n} />;
    case 'models':
      return <Models />;
    case 'compare':
      return <Compare ids={(arg ?? '').split(',').filter((x) => /^\d+$/.test(x)).map(Number)} />;
    case 'rewards':
      return <Rewards />;
    case 'chat':
      return <Chat />;
    case 'accounts':
      return <Accounts />;
    default:
      return <p role="alert">No page “{page}”. <a href="#/datanets">Datanets</a></p>;
  }
}

const SELECTED = 'tributary.account';
const WALLET = 'tributary.wallet';

export function App() {
  const route = useHash();
  const [config, setConfig] = useState<StudioConfig | null>(null);
  const [chain, setChain] = useState<Chain | null>(null);
  const [fatal, setFatal] = useState<string | null>(null);
  const [dev, setDev] = useState<Account[]>([]);
  const [wallet, setWallet] = useState<Account[]>([]);
  const [walletError, setWalletError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(localStorage.getItem(SELECTED));
  const [best, setBest] = useState(0);
  const [connected, setConnected] = useState(true);

  useEffect(() => {
    let unsub: (() => void) | undefined;
    (async () => {
      const c = await loadConfig();
      setConfig(c);
      const ch = await connect(c.node);
      setChain(ch);
      const ss58 = ch.api.registry.chainSS58 ?? 42;
      if (ch.isDev) setDev(await devAccounts(ss58));
      ch.provider.on('disconnected', () => setConnected(false));
      ch.provider.on('connected', () => setConnected(true));
      unsub = await ch.api.rpc.chain.subscribeNewHeads((h) => setBest(h.number.toNumber()));
    })().catch((e) => setFatal(`Cannot reach the node: ${e instanceof Error ? e.message : e}`));
    return () => unsub?.();
  }, []);

  const connectWallet = useCallback(async () => {
    if (!chain) return;
    try {
      setWalletError(null);
      setWallet(await walletAccounts(chain.api.registry.chainSS58 ?? 42));
      localStorage.setItem(WALLET, 'yes');
    } catch (e) {
      setWalletError(e instanceof Error ? e.message : String(e));
    }
  }, [chain]);
  // Reconnect a wallet this browser allowed before (the wallet remembers the permission).
  useEffect(() => {
    if (chain && localStorage.getItem(WALLET) === 'yes') void connectWallet();
  }, [chain, connectWallet]);

  const accounts = useMemo(() => [...wallet, ...dev], [wallet, dev]);
  const account = accounts.find((a) => a.address === selected) ?? null;
  const selectAccount = useCallback((address: string) => {
    setSelected(address);
    localStorage.setItem(SELECTED, address);
  }, []);
  const label = useCallback(
    (address: string) => accounts.find((a) => a.address === address)?.name ?? short(address),
    [accounts],
  );

  if (fatal) return <main className="fatal"><h1>Tributary Studio</h1><p role="alert">{fatal}</p></main>;
  if (!config || !chain) return <main className="fatal"><p>Connecting to the node…</p></main>;
  const studio: Studio = { config, chain, accounts, account, selectAccount, connectWallet, walletError, best, label };
  const current = route[0] ?? 'datanets';
  return (
    <StudioContext.Provider value={studio}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <a className="brand" href="#/datanets">Tributary <span>Studio</span></a>
        <nav aria-label="Pages">
          {NAV.map(([k, name]) => (
            <a key={k} href={`#/${k}`} aria-current={current === k ? 'page' : undefined}>{name}</a>
          ))}
        </nav>
        <div className="who">
          <span className={`chain ${connected ? '' : 'down'}`} data-testid="chain-status">
            {chain.name} · #{best}{connected ? '' : ' (reconnecting)'}
          </span>
          <label>
            <span className="sr-only">Account</span>
            <select value={account?.address ?? ''} onChange={(e) => selectAccount(e.target.value)} data-testid="account-select">
              <option value="">Choose an account</option>
              {accounts.map((a) => <option key={`${a.source}-${a.address}`} value={a.address}>{a.name} ({a.source === 'dev' ? 'dev' : a.source})</option>)}
            </select>
          </label>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </StudioContext.Provider>
  );
}
