// What every page shares: the chain connection, the accounts, the selected account and the best
// block (pages re-read chain state when it changes: "live per block").
import { createContext, useContext } from 'react';
import type { Chain, StudioConfig } from './chain/connection';
import type { Account } from './chain/accounts';

export interface Studio {
  config: StudioConfig;
  chain: Chain;
  accounts: Account[];
  account: Account | null;
  selectAccount: (address: string) => void;
  connectWallet: () => Promise<void>;
  walletError: string | null;
  /** Best block number: changes with every new block. */
  best: number;
  /** A display name for an address: a known account's name, else a shortened address. */
  label: (address: string) => string;
}

export const StudioContext = createContext<Studio | null>(null);

export function useStudio(): Studio {
  const s = useContext(StudioContext);
  if (!s) throw new Error('useStudio outside the app');
  return s;
}
