// Chat with a served model (the base, a trained model-<id>, or datanet-<id> over a datanet's
// records), streamed, optionally side by side with another (its base or its parent) on the same
// questions. Answers of trained models are paid for when the worker sets a price: the page signs
// a voucher on the account's tab before it asks (see PayPanel).
import { useEffect, useRef, useState } from 'react';
import { useStudio } from '../studio';
import * as ai from '../chain/openai';
import * as fees from '../chain/fees';
import * as m from '../chain/models';
import { amount, parseAmount } from '../chain/format';
import { Conversation, type Turn } from '../components/Conversation';
import { PayPanel } from '../components/PayPanel';

const MAX_TOKENS = 128;

type Threads = Record<string, Turn[]>;

export function Chat() {
  const { config, chain, account, label } = useStudio();
  const base = config.api;
  const [list, setList] = useState<ai.ModelInfo[] | null>(null);
  const [trained, setTrained] = useState<m.TrainedModel[]>([]);
  const [model, setModel] = useState('');
  const [compare, setCompare] = useState('');
  const [threads, setThreads] = useState<Threads>({});
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [terms, setTerms] = useState<fees.Terms | null>(null);
  const [allowance, setAllowance] = useState('0.2');
  const [signedNote, setSignedNote] = useState<string | null>(null);
  const [answered, setAnswered] = useState(0);
  const stop = useRef<AbortController | null>(null);
  // Signed vouchers, by payer, tab and model: kept in memory only (each is a bearer
  // authorisation for the worker, up to its total).
  const vouchers = useRef(new Map<string, fees.Voucher>());

  useEffect(() => {
    if (!base) return;
    ai.models(base).then(
      (l) => {
        setList(l);
        setModel((cur) => cur || l.find((x) => x.id.startsWith('model-'))?.id || l[0]?.id || '');
      },
      (e) => setError(`The model API does not answer: ${e instanceof Error ? e.message : e}`),
    );
    fees.terms(base).then(setTerms, () => setTerms(null));
    m.trainedModels(chain).then(setTrained, () => setTrained([]));
  }, [base, chain]);

  if (!base) return <section><h1>Chat</h1><p>This Studio serves no model API (tributary-studio --no-api).</p></section>;

  const paid = (id: string) => !!terms && terms.price > 0n && id.startsWith('model-');
  const info = list?.find((x) => x.id === model);
  const lineage = trained.find((t) => `model-${t.id}` === model);
  const parentId = lineage?.parent != null ? `model-${lineage.parent}` : null;
  const role = (id: string) => (id === info?.parent ? ' (its base)' : id === parentId ? ' (its parent)' : '');

  /** The voucher header for an answer of `id` to `history`, signing a new voucher when the one
   * held (here or by the worker) does not cover what the request may cost. */
  const voucherFor = async (id: string, history: ai.Message[]): Promise<string | undefined> => {
    if (!paid(id) || !terms?.payee || !terms.genesis) return undefined;
    if (!account) throw new Error('Choose an account: answers of trained models are paid for on this worker.');
    const n = Number(id.slice('model-'.length));
    const line = await fees.line(base, account.address, n);
    if (!line) throw new Error('Open a tab with this worker first (Paying for answers, below).');
    if (line.closing) throw new Error('Your tab with this worker is closing: it takes no new requests. Withdraw, then open a new one.');
    const need = line.charged + line.reserved + fees.cost(terms.price, fees.mostTokens(history, MAX_TOKENS));
    const key = `${account.address}:${line.tab}:${n}`;
    let v = vouchers.current.get(key);
    if (!v || (v.cumulative < need && line.allows < need)) {
      const extra = parseAmount(chain, allowance) ?? 0n;
      v = await fees.sign(account, terms.genesis, { tab: line.tab, worker: terms.payee, model: n, cumulative: need + extra });
      vouchers.current.set(key, v);
      setSignedNote(`Signed a voucher: ${label(terms.payee)} may take up to ${amount(chain, v.cumulative)} in all for ${id} on tab #${line.tab}.`);
    }
    return fees.header(v);
  };

  const ask = async (e: React.FormEvent) => {
    e.preventDefault();
    const q = input.trim();
    if (!q || !model) return;
    setError(null);
    setBusy(true);
    setInput('');
    const targets = compare ? [model, compare] : [model];
    const update = (id: string, f: (t: Turn[]) => Turn[]) => setThreads((all) => ({ ...all, [id]: f(all[id] ?? []) }));
    const histories = targets.map((id): ai.Message[] => [
      ...(threads[id] ?? []).filter((t) => !t.error).map((t) => ({ role: t.role, content: t.content })),
      { role: 'user', content: q },
    ]);
    targets.forEach((id) => update(id, (t) => [...t, { role: 'user', content: q }, { role: 'assistant', content: '' }]));
    stop.current = new AbortController();
    const signal = stop.current.signal;
    const fail = (id: string, err: unknown) =>
      update(id, (t) => [...t.slice(0, -1), { role: 'assistant', content: '', error: err instanceof Error ? err.message : String(err) }]);
    // Vouchers first, one after another (a wallet asks once at a time), then the answers together.
    const headers: (string | undefined | null)[] = [];
    for (const [i, id] of targets.entries()) {
      try {
        headers.push(await voucherFor(id, histories[i]));
      } catch (err) {
        fail(id, err);
        headers.push(null);
      }
    }
    await Promise.all(
      targets.map(async (id, i) => {
        if (headers[i] === null) return;
        try {
          const answer = await ai.chat(base, id, histories[i], { maxTokens: MAX_TOKENS, temperature: 0, signal, voucher: headers[i] ?? undefined }, (soFar) =>
            update(id, (t) => [...t.slice(0, -1), { role: 'assistant', content: soFar }]),
          );
          update(id, (t) => [...t.slice(0, -1), { role: 'assistant', content: answer.text, answer }]);
        } catch (err) {
          if (!(err instanceof DOMException && err.name === 'AbortError')) fail(id, err);
        }
      }),
    );
    setAnswered((n) => n + 1);
    setBusy(false);
  };

  const choose = (id: string) => {
    setModel(id);
    setCompare('');
    setThreads({});
  };
  const others = (list ?? []).filter((x) => x.id !== model);
  others.sort((a, b) => (role(b.id) ? 1 : 0) - (role(a.id) ? 1 : 0));
  const shown = compare ? [model, compare] : [model];
  return (
    <section aria-labelledby="chat-title" className="chat">
      <h1 id="chat-title">Chat</h1>
      <div className="row">
        <label className="inline">
          Model{' '}
          <select value={model} onChange={(e) => choose(e.target.value)} data-testid="model-select">
            {(list ?? []).map((x) => <option key={x.id} value={x.id}>{x.id}{paid(x.id) ? ' (paid)' : ''}</option>)}
          </select>
        </label>
        <label className="inline">
          Side by side with{' '}
          <select value={compare} onChange={(e) => { setCompare(e.target.value); setThreads({}); }} data-testid="compare-select">
            <option value="">nothing</option>
            {others.map((x) => <option key={x.id} value={x.id}>{x.id}{role(x.id)}</option>)}
          </select>
        </label>
      </div>
      {info?.parent && <p className="hint">{model} is an adapter on {info.parent}{parentId ? `, trained on from ${parentId}` : ''}.</p>}
      {model.startsWith('datanet-') && <p className="hint">Answers from the datanet's records, with citations.</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {signedNote && <p className="hint" data-testid="voucher-note">{signedNote}</p>}
      <div className={shown.length > 1 ? 'chat-columns' : undefined}>
        {shown.map((id) => (
          <div key={id} className="chat-column">
            {shown.length > 1 && <h2 className="column-title">{id}{role(id)}</h2>}
            <Conversation model={id} turns={threads[id] ?? []} busy={busy} />
          </div>
        ))}
      </div>
      <form onSubmit={ask} className="ask">
        <label htmlFor="chat-input" className="sr-only">Message</label>
        <textarea
          id="chat-input"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              (e.currentTarget.form as HTMLFormElement).requestSubmit();
            }
          }}
          placeholder="Ask something (Enter sends, Shift+Enter for a new line)"
          rows={2}
          disabled={busy}
        />
        {busy ? (
          <button type="button" onClick={() => stop.current?.abort()}>Stop</button>
        ) : (
          <button type="submit" className="primary" disabled={!model}>Send</button>
        )}
      </form>
      {terms && terms.price > 0n && terms.payee && (
        <PayPanel terms={terms} allowance={allowance} setAllowance={setAllowance} answered={answered} />
      )}
    </section>
  );
}
