// Contribute a file: pick a datanet, drop a file; the browser hashes it (BLAKE3), the account signs
// a commitment and then the declaration, the Studio hands the bytes to a data peer, and the
// contribution's status follows live until curators decide.
import { useEffect, useState } from 'react';
import { useStudio } from '../studio';
import * as dn from '../chain/datanets';
import * as contrib from '../chain/contribute';
import { bytes } from '../chain/format';
import { TxButton } from '../components/TxButton';

interface Picked {
  file: File;
  data: Uint8Array;
  decl: contrib.Declaration | null;
  error: string | null;
}

export function Contribute() {
  const { chain, best, account, config } = useStudio();
  const [list, setList] = useState<dn.Datanet[]>([]);
  const [datanetId, setDatanetId] = useState<number | null>(null);
  const [picked, setPicked] = useState<Picked | null>(null);
  const [metadata, setMetadata] = useState('');
  const [over, setOver] = useState(false);
  const [log, setLog] = useState<string[]>([]);
  const [id, setId] = useState<number | null>(null);
  const [status, setStatus] = useState<dn.Contribution | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    dn.datanets(chain).then((all) => {
      const open = all.filter((d) => d.status === 'Open');
      setList(open);
      setDatanetId((cur) => cur ?? open[0]?.id ?? null);
    });
  }, [chain]);
  useEffect(() => {
    if (id != null) dn.contribution(chain, id).then(setStatus);
  }, [chain, id, best]);

  const datanet = list.find((d) => d.id === datanetId) ?? null;

  const pick = async (file: File | undefined, d = datanet) => {
    setError(null);
    setLog([]);
    setId(null);
    setStatus(null);
    if (!file || !d) return;
    const data = new Uint8Array(await file.arrayBuffer());
    try {
      const decl = await contrib.declare(file, data, d);
      const held = await contrib.holder(chain, d.id, decl.hash);
      if (held != null) throw new Error(`These bytes are already in ${d.name}: contribution ${held} holds them (pending or accepted).`);
      setPicked({ file, data, decl, error: null });
    } catch (e) {
      setPicked({ file, data, decl: null, error: e instanceof Error ? e.message : String(e) });
    }
  };

  const build = () => {
    if (!account || !datanet || !picked?.decl) return null;
    const d = picked.decl;
    return [
      chain.api.tx.datanets.commitContribution(contrib.commitment(datanet.id, d.hash, account.address)),
      chain.api.tx.datanets.submitContribution(datanet.id, d.hash, d.bytes, d.format, metadata),
    ];
  };

  const after = async (outs: { events: { name: string; data: unknown[] }[] }[]) => {
    const submitted = outs[1]?.events.find((e) => e.name === 'datanets.ContributionSubmitted');
    if (!submitted || !picked) return;
    const cid = Number(submitted.data[0]);
    setId(cid);
    setLog([`Committed, then declared as contribution ${cid}.`, 'Sending the bytes to a data peer…']);
    try {
      const up = await contrib.upload(cid, picked.data);
      setLog((l) => [...l.slice(0, -1), `Stored on ${up.uploaded_to} data peer(s), verified against the chain's hash.`]);
    } catch (e) {
      setError(`Contribution ${cid} is on chain, but its bytes did not reach a data peer: ${e instanceof Error ? e.message : e}. Curators cannot check it without them.`);
    }
  };

  return (
    <section aria-labelledby="contribute-title">
      <h1 id="contribute-title">Contribute</h1>
      <p className="lead">
        Your file is hashed here (BLAKE3); you sign a commitment to it, then its declaration (hash, size, format) in a later block, so
        nobody who sees the bytes can take the credit; then the bytes go to a data peer, which checks them against the chain.
      </p>
      {!config.upload && <p role="alert" className="error">This Studio has no data peer to upload to (tributary-studio --peer).</p>}
      <label className="inline">
        Datanet{' '}
        <select
          value={datanetId ?? ''}
          onChange={(e) => {
            const d = list.find((x) => x.id === Number(e.target.value)) ?? null;
            setDatanetId(d?.id ?? null);
            if (picked) void pick(picked.file, d);
          }}
          data-testid="contribute-datanet"
        >
          {list.map((d) => <option key={d.id} value={d.id}>{d.id}: {d.name} ({d.modality.toLowerCase()}: {d.formats.join(', ')})</option>)}
        </select>
      </label>
      {datanet && (
        <p className="hint">
          At most {bytes(datanet.rules.maxItemBytes)} per file, {datanet.rules.contributorDailyItems} files a day; a deposit is held while it is pending and returned once it is decided.
        </p>
      )}
      <label
        className={`drop ${over ? 'over' : ''}`}
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); void pick(e.dataTransfer.files[0]); }}
        data-testid="drop"
      >
        Drop a file here, or choose one
        <input type="file" onChange={(e) => void pick(e.target.files?.[0] ?? undefined)} data-testid="file-input" />
      </label>
      {picked && (
        <div className="card">
          <dl className="facts">
            <dt>File</dt><dd>{picked.file.name}</dd>
            <dt>Size</dt><dd>{bytes(picked.data.length)}</dd>
            {picked.decl && <><dt>Format</dt><dd>{picked.decl.format}</dd><dt>BLAKE3</dt><dd><code className="hash" data-testid="file-hash">{picked.decl.hash}</code></dd></>}
          </dl>
          {picked.error && <p role="alert" className="error" data-testid="file-error">{picked.error}</p>}
          {picked.decl && (
            <>
              <label className="inline">
                Metadata (optional){' '}
                <input value={metadata} onChange={(e) => setMetadata(e.target.value)} placeholder='e.g. {"lang":"en","license":"cc-by"}' size={36} />
              </label>
              <div className="actions">
                <TxButton
                  label="Contribute"
                  className="primary"
                  build={build}
                  onDone={after}
                  explain="First the commitment, then, once it is in a block, the declaration that reveals it."
                  disabledReason={!config.upload ? 'No data peer to upload to' : id != null ? 'Submitted' : null}
                />
              </div>
            </>
          )}
        </div>
      )}
      {log.length > 0 && <ol className="steps" aria-live="polite">{log.map((l, i) => <li key={i}>{l}</li>)}</ol>}
      {error && <p role="alert" className="error">{error}</p>}
      {status && (
        <p role="status" data-testid="contribution-status">
          Contribution <a href={`#/contributions/${status.id}`}>{status.id}</a>: <strong>{status.status}</strong>
          {status.detail ? ` (${status.detail})` : ''} · {status.approvals} approval(s), {status.rejections} rejection(s)
        </p>
      )}
    </section>
  );
}
