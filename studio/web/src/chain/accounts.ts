// Accounts: the injected-accounts API of browser wallets (polkadot.js extension, Talisman,
// SubWallet, ...) and, on a development chain only, the well-known dev accounts.
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { web3Accounts, web3Enable, web3FromSource } from '@polkadot/extension-dapp';
import type { Signer } from '@polkadot/api/types';

export interface Account {
  address: string;
  name: string;
  /** `dev` for a dev account, else the wallet extension's name. */
  source: string;
}

const DEV_NAMES = ['Alice', 'Bob', 'Charlie', 'Dave', 'Eve', 'Ferdie'];
const devPairs = new Map<string, KeyringPair>();

export async function devAccounts(ss58Format: number): Promise<Account[]> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format });
  return DEV_NAMES.map((name) => {
    const pair = keyring.addFromUri(`//${name}`, { name });
    devPairs.set(pair.address, pair);
    return { address: pair.address, name, source: 'dev' };
  });
}

/** Asks the installed wallets for access (each shows its own prompt) and lists their accounts. */
export async function walletAccounts(ss58Format: number): Promise<Account[]> {
  const extensions = await web3Enable('Tributary Studio');
  if (extensions.length === 0) {
    throw new Error('No wallet answered: install or unlock the polkadot.js extension, Talisman or SubWallet, and allow this site.');
  }
  const accounts = await web3Accounts({ ss58Format, accountType: ['sr25519', 'ed25519'] });
  return accounts.map((a) => ({ address: a.address, name: a.meta.name ?? a.address, source: a.meta.source }));
}

/** What signs for an account: its dev key pair, or its wallet's signer. */
export async function signerFor(account: Account): Promise<{ pair?: KeyringPair; signer?: Signer }> {
  if (account.source === 'dev') {
    const pair = devPairs.get(account.address);
    if (!pair) throw new Error(`no dev key for ${account.address}`);
    return { pair };
  }
  const injector = await web3FromSource(account.source);
  return { signer: injector.signer };
}

/** A readable name for a known account (dev accounts, wallet accounts), else null. */
export function nameOf(accounts: Account[], address: string): string | null {
  return accounts.find((a) => a.address === address)?.name ?? null;
}
