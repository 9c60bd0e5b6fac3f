// The node connection and the server's config. One ApiPromise for the whole app.
import { ApiPromise, WsProvider } from '@polkadot/api';

export interface StudioConfig {
  /** The node's WebSocket RPC. */
  node: string;
  /** Where the OpenAI-style API is reached from this page (`/v1`), or null when none is served. */
  api: string | null;
  /** Whether the server hands uploaded bytes to data peers (`/upload`). */
  upload: boolean;
  /** Workers' progress endpoints the server forwards (`/progress/<index>/jobs/<id>/events`). */
  progress: string[];
}

export async function loadConfig(): Promise<StudioConfig> {
  const override = new URLSearchParams(location.search).get('node');
  try {
    const res = await fetch('/studio.json', { cache: 'no-store' });
    if (res.ok) {
      const c = (await res.json()) as StudioConfig;
      return { node: override ?? c.node, api: c.api, upload: !!c.upload, progress: c.progress ?? [] };
    }
  } catch {
    // Served without tributary-studio (`npm run dev`): the defaults of scripts/up.sh.
  }
  return { node: override ?? 'ws://127.0.0.1:9944', api: '/v1', upload: false, progress: [] };
}

export interface Chain {
  api: ApiPromise;
  provider: WsProvider;
  name: string;
  /** A development or local chain: the well-known dev accounts may be offered. */
  isDev: boolean;
  symbol: string;
  decimals: number;
}

export async function connect(node: string): Promise<Chain> {
  const provider = new WsProvider(node, 2500);
  const api = await ApiPromise.create({ provider, throwOnConnect: false, noInitWarn: true });
  const [name, chainType] = await Promise.all([api.rpc.system.chain(), api.rpc.system.chainType()]);
  const symbol = api.registry.chainTokens[0] ?? 'UNIT';
  const decimals = api.registry.chainDecimals[0] ?? 12;
  return {
    api,
    provider,
    name: name.toString(),
    isDev: chainType.isDevelopment || chainType.isLocal,
    symbol,
    decimals,
  };
}

/** Calls one of the node's own RPCs (docs/chain.md: `datanets_*`, `rewards_*`). */
export async function rpc<T>(chain: Chain, method: string, params: unknown[]): Promise<T> {
  return (await chain.provider.send(method, params)) as T;
}
