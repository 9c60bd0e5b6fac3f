// The first items of a dataset version, as the job will train on them: a version is the first
// `count` entries of its datanet's accepted list; each item's content comes from a data peer
// (verified against the chain's hash) through the Studio.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import { bytes } from '../chain/format';
import { Preview } from './Preview';

const SHOWN = 3;

export function VersionPreview({ datanet, version, count }: { datanet: number; version: number; count: bigint }) {
  const { chain, config } = useStudio();
  const [items, setItems] = useState<dn.Contribution[] | null>(null);
  useEffect(() => {
    let live = true;
    (async () => {
      const n = Number(count < BigInt(SHOWN) ? count : BigInt(SHOWN));
      const out: dn.Contribution[] = [];
      for (let i = 0; i < n; i++) {
        const id = await dn.acceptedAt(chain, datanet, i);
        const c = id == null ? null : await dn.contribution(chain, id);
        if (c) out.push(c);
      }
      if (live) setItems(out);
    })();
    return () => {
      live = false;
    };
  }, [chain, datanet, version, count]);
  if (!items) return <p className="hint">Reading the version's items…</p>;
  return (
    <details className="version-preview" data-testid="version-preview" open>
      <summary>
        Version {version}: {count.toString()} item(s){count > BigInt(items.length) ? `, the first ${items.length} shown` : ''}
      </summary>
      <ol>
        {items.map((c) => (
          <li key={c.id}>
            <a href={`#/contributions/${c.id}`}>contribution {c.id}</a> · .{c.format} · {bytes(c.bytes)}
            {config.upload && <Preview hash={c.contentHash} size={c.bytes} format={c.format} />}
          </li>
        ))}
      </ol>
    </details>
  );
}
