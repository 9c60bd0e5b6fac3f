// A datanet's reward split: what each role gets of a job's budget, and, for its owner, a form to
// publish another (whole percents summing to 100; the chain refuses anything else).
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as rw from '../chain/rewards';
import { TxButton } from './TxButton';

const ROLES = ['contributors', 'curators', 'worker', 'owner'] as const;

export function SplitEditor({ datanet, owner }: { datanet: number; owner: string }) {
  const { chain, account, best } = useStudio();
  const [split, setSplit] = useState<rw.Split | null>(null);
  const [draft, setDraft] = useState<Record<string, string> | null>(null);
  useEffect(() => {
    rw.splitOf(chain, datanet).then(setSplit);
  }, [chain, datanet, best]);
  if (!split) return null;
  const pct = (ppm: number) => `${ppm / 10_000}%`;
  const parts = draft ? ROLES.map((r) => Number(draft[r])) : [];
  const problem = draft
    ? parts.some((p) => !Number.isInteger(p) || p < 0)
      ? 'Whole percents, none negative.'
      : parts.reduce((a, b) => a + b, 0) !== 100
        ? `They add up to ${parts.reduce((a, b) => a + b, 0)}%, not 100%.`
        : null
    : null;
  return (
    <div>
      <p data-testid="split">
        A job's budget goes {ROLES.map((r) => `${pct(split[r])} to ${r === 'worker' ? 'the worker' : r === 'owner' ? 'the owner' : r}`).join(', ')}
        {split.published ? '' : ' (the chain\'s default: this datanet has published none)'}.
      </p>
      {account?.address === owner && !draft && (
        <button type="button" onClick={() => setDraft(Object.fromEntries(ROLES.map((r) => [r, String(split[r] / 10_000)])))}>Change the split</button>
      )}
      {draft && (
        <div className="actions">
          {ROLES.map((r) => (
            <label key={r} className="inline">
              {r} % <input value={draft[r]} onChange={(e) => setDraft({ ...draft, [r]: e.target.value })} inputMode="numeric" size={4} />
            </label>
          ))}
          <TxButton
            label="Publish the split"
            build={() => chain.api.tx.rewards.setSplit(datanet, Object.fromEntries(ROLES.map((r, i) => [r, parts[i] * 10_000])))}
            disabledReason={problem}
            onDone={() => setDraft(null)}
          />
          <button type="button" onClick={() => setDraft(null)}>Cancel</button>
          {problem && <span role="alert" className="error" data-testid="split-problem">{problem}</span>}
        </div>
      )}
    </div>
  );
}
