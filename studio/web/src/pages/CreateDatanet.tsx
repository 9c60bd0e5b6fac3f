// Create a datanet: its modality and formats, caps, curators and quorums, deposit and curator fee.
// The chain holds the datanet deposit from the creator until the datanet is cleared.
import { useMemo, useState } from 'react';
import { decodeAddress } from '@polkadot/util-crypto';
import { useStudio } from '../studio';
import { parseAmount } from '../chain/format';
import { TxButton } from '../components/TxButton';

const FORMATS: Record<string, string[]> = {
  Text: ['txt', 'md', 'jsonl', 'json', 'csv', 'pdf', 'docx', 'html'],
  Image: ['png', 'jpeg', 'webp', 'gif', 'bmp', 'tiff'],
  Audio: ['wav', 'flac', 'mp3', 'ogg', 'opus', 'm4a'],
};
const MIB = 1024 * 1024;

export function CreateDatanet() {
  const { chain, accounts } = useStudio();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [modality, setModality] = useState<'Text' | 'Image' | 'Audio'>('Text');
  const [formats, setFormats] = useState<string[]>(['txt']);
  const [curators, setCurators] = useState('');
  const [approval, setApproval] = useState('1');
  const [rejection, setRejection] = useState('1');
  const [maxItemMiB, setMaxItemMiB] = useState('1');
  const [deposit, setDeposit] = useState('0');
  const [fee, setFee] = useState('0');
  const [created, setCreated] = useState<number | null>(null);

  const curatorList = curators.split(/[\s,]+/).filter(Boolean);
  const problem = useMemo(() => {
    if (!name.trim()) return 'Give it a name.';
    if (formats.length === 0) return 'Allow at least one format.';
    for (const c of curatorList) {
      try {
        decodeAddress(c);
      } catch {
        return `“${c}” is not an address.`;
      }
    }
    const a = Number(approval), r = Number(rejection);
    if (!Number.isInteger(a) || a < 1 || !Number.isInteger(r) || r < 1) return 'Quorums are whole numbers of at least 1.';
    if (a > curatorList.length || r > curatorList.length) return `A quorum cannot exceed the ${curatorList.length} curator(s).`;
    const mib = Number(maxItemMiB);
    if (!(mib > 0 && mib <= 1)) return 'With the default daily caps (10 MiB), an item is at most 1 MiB (a day must hold ten).';
    if (parseAmount(chain, deposit) == null && Number(deposit) !== 0) return 'The deposit is an amount (0 for none).';
    if (parseAmount(chain, fee) == null && Number(fee) !== 0) return 'The fee is an amount (0 for none).';
    return null;
  }, [name, formats, curatorList, approval, rejection, maxItemMiB, deposit, fee, chain]);

  const build = () => {
    if (problem) return null;
    const rules = {
      maxItemBytes: Math.floor(Number(maxItemMiB) * MIB),
      contributorDailyBytes: 10 * MIB,
      contributorDailyItems: 20,
      datanetDailyBytes: 10 * MIB,
      datanetDailyItems: 1000,
      approvalQuorum: Number(approval),
      rejectionQuorum: Number(rejection),
      contributionDeposit: parseAmount(chain, deposit) ?? 0n,
      curatorFee: parseAmount(chain, fee) ?? 0n,
      pendingBlocks: 7 * 14_400,
    };
    return chain.api.tx.datanets.createDatanet(name.trim(), description, modality, formats, rules, curatorList);
  };

  return (
    <section aria-labelledby="create-title">
      <p><a href="#/datanets">← Datanets</a></p>
      <h1 id="create-title">Create a datanet</h1>
      <p className="lead">A dataset with rules: what it takes, who decides, and what a submission costs. The chain holds a deposit from you while it exists.</p>
      <form className="train" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>What it collects</legend>
          <div className="field"><label htmlFor="d-name">Name</label><input id="d-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={64} /></div>
          <div className="field"><label htmlFor="d-desc">Description</label><textarea id="d-desc" value={description} onChange={(e) => setDescription(e.target.value)} rows={3} /></div>
          <div className="field">
            <label htmlFor="d-modality">Modality</label>
            <select id="d-modality" value={modality} onChange={(e) => { const m = e.target.value as 'Text'; setModality(m); setFormats([FORMATS[m][0]]); }}>
              <option>Text</option><option>Image</option><option>Audio</option>
            </select>
            <small>One modality per datanet; workers check each file's content against it.</small>
          </div>
          <fieldset className="formats">
            <legend>Formats</legend>
            {FORMATS[modality].map((f) => (
              <label key={f} className="inline">
                <input type="checkbox" checked={formats.includes(f)} onChange={(e) => setFormats(e.target.checked ? [...formats, f] : formats.filter((x) => x !== f))} /> {f}
              </label>
            ))}
          </fieldset>
        </fieldset>
        <fieldset>
          <legend>Who decides</legend>
          <div className="field">
            <label htmlFor="d-curators">Curators</label>
            <textarea id="d-curators" value={curators} onChange={(e) => setCurators(e.target.value)} rows={3} placeholder="SS58 addresses, one per line" aria-describedby="h-curators" />
            <small id="h-curators">Their votes count only while they hold a curator bond. {accounts.length > 0 && `Known: ${accounts.slice(0, 3).map((a) => a.name).join(', ')}…`}</small>
          </div>
          <div className="field"><label htmlFor="d-approval">Approvals to accept</label><input id="d-approval" value={approval} onChange={(e) => setApproval(e.target.value)} inputMode="numeric" /></div>
          <div className="field"><label htmlFor="d-rejection">Rejections to reject</label><input id="d-rejection" value={rejection} onChange={(e) => setRejection(e.target.value)} inputMode="numeric" /></div>
        </fieldset>
        <fieldset>
          <legend>Costs and caps</legend>
          <div className="field"><label htmlFor="d-max">Largest file (MiB)</label><input id="d-max" value={maxItemMiB} onChange={(e) => setMaxItemMiB(e.target.value)} inputMode="decimal" /><small>Per contributor per day: 10 MiB and 20 files; per datanet: 10 MiB and 1,000 files (the CLI sets other caps).</small></div>
          <div className="field"><label htmlFor="d-deposit">Deposit while pending ({chain.symbol})</label><input id="d-deposit" value={deposit} onChange={(e) => setDeposit(e.target.value)} inputMode="decimal" /><small>Held from a contributor until curators decide; returned either way.</small></div>
          <div className="field"><label htmlFor="d-fee">Curator fee per decision ({chain.symbol})</label><input id="d-fee" value={fee} onChange={(e) => setFee(e.target.value)} inputMode="decimal" /><small>Paid from the datanet's curation pot to the curators who voted with the decision.</small></div>
        </fieldset>
      </form>
      {problem && <p role="alert" className="error" data-testid="create-problem">{problem}</p>}
      <div className="actions">
        <TxButton
          label="Create the datanet"
          className="primary"
          build={build}
          disabledReason={problem}
          onDone={(outs) => {
            const ev = outs[0]?.events.find((e) => e.name === 'datanets.DatanetCreated');
            if (ev) setCreated(Number(ev.data[0]));
          }}
        />
      </div>
      {created != null && <p role="status" className="ok" data-testid="datanet-created">Datanet {created} created. <a href={`#/datanets/${created}`}>Open it →</a></p>}
    </section>
  );
}
