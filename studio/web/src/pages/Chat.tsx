// Chat with a served model (the base, a trained model-<id>, or datanet-<id> over a datanet's
// records), streamed; each answer shows where it came from: the spans found word for word in the
// training data with their contributions, or the datanet passages it cites.
import { useEffect, useRef, useState } from 'react';
import { useStudio } from '../studio';
import * as ai from '../chain/openai';

interface Turn {
  role: 'user' | 'assistant';
  content: string;
  answer?: ai.Answer;
}

function Highlighted({ text, spans }: { text: string; spans: ai.Span[] }) {
  // Spans count characters (code points) of the answer.
  const chars = Array.from(text);
  const parts: React.ReactNode[] = [];
  let at = 0;
  [...spans].sort((a, b) => a.start - b.start).forEach((s, i) => {
    if (s.start < at) return;
    parts.push(chars.slice(at, s.start).join(''));
    parts.push(
      <mark key={i} title={`found ${s.occurrences}× in the training data; contributions ${s.contributions.join(', ')}`}>
        {chars.slice(s.start, s.end).join('')}
      </mark>,
    );
    at = s.end;
  });
  parts.push(chars.slice(at).join(''));
  return <>{parts}</>;
}

function Sources({ a }: { a: ai.Answer }) {
  return (
    <div className="sources" data-testid="sources">
      {a.attribution && (
        <p>
          Trained on datanet <a href={`#/datanets/${a.attribution.dataset.datanet}`}>{a.attribution.dataset.datanet}</a> version {a.attribution.dataset.version}.{' '}
          {a.attribution.spans.length === 0
            ? 'No part of this answer appears word for word in it.'
            : `${a.attribution.spans.length} highlighted span(s) appear word for word in it, from contributions ${[...new Set(a.attribution.spans.flatMap((s) => s.contributions))].map((c) => `#${c}`).join(', ')}.`}
        </p>
      )}
      {a.citations.length > 0 && (
        <ol className="citations" data-testid="citations">
          {a.citations.map((c) => (
            <li key={c.n} value={c.n}>
              <a href={`#/contributions/${c.contribution}`}>contribution {c.contribution}</a>
              {c.cited ? ' (cited)' : ''}: <q>{c.text.length > 160 ? c.text.slice(0, 160) + '…' : c.text}</q>
            </li>
          ))}
        </ol>
      )}
      {a.usage && <p className="hint">{a.usage.prompt_tokens} prompt + {a.usage.completion_tokens} answer tokens · {a.finish}</p>}
    </div>
  );
}

export function Chat() {
  const { config } = useStudio();
  const base = config.api;
  const [list, setList] = useState<ai.ModelInfo[] | null>(null);
  const [model, setModel] = useState('');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const stop = useRef<AbortController | null>(null);

  useEffect(() => {
    if (!base) return;
    ai.models(base).then(
      (m) => {
        setList(m);
        setModel((cur) => cur || m.find((x) => x.id.startsWith('model-'))?.id || m[0]?.id || '');
      },
      (e) => setError(`The model API does not answer: ${e instanceof Error ? e.message : e}`),
    );
  }, [base]);

  if (!base) return <section><h1>Chat</h1><p>This Studio serves no model API (tributary-studio --no-api).</p></section>;

  const ask = async (e: React.FormEvent) => {
    e.preventDefault();
    const q = input.trim();
    if (!q || !model) return;
    setError(null);
    setBusy(true);
    setInput('');
    const history: ai.Message[] = [...turns.map((t) => ({ role: t.role, content: t.content })), { role: 'user', content: q }];
    const next: Turn[] = [...turns, { role: 'user', content: q }, { role: 'assistant', content: '' }];
    setTurns(next);
    stop.current = new AbortController();
    try {
      const answer = await ai.chat(base, model, history, { maxTokens: 128, temperature: 0, signal: stop.current.signal }, (soFar) =>
        setTurns((t) => [...t.slice(0, -1), { role: 'assistant', content: soFar }]),
      );
      setTurns((t) => [...t.slice(0, -1), { role: 'assistant', content: answer.text, answer }]);
    } catch (err) {
      if (!(err instanceof DOMException && err.name === 'AbortError')) setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const info = list?.find((m) => m.id === model);
  return (
    <section aria-labelledby="chat-title" className="chat">
      <h1 id="chat-title">Chat</h1>
      <label className="inline">
        Model{' '}
        <select value={model} onChange={(e) => { setModel(e.target.value); setTurns([]); }} data-testid="model-select">
          {(list ?? []).map((m) => <option key={m.id} value={m.id}>{m.id}</option>)}
        </select>
      </label>
      {info?.parent && <span className="hint"> adapter on {info.parent}</span>}
      {model.startsWith('datanet-') && <span className="hint"> answers from the datanet's records, with citations</span>}
      {error && <p role="alert" className="error">{error}</p>}
      <ol className="turns" aria-live="polite" data-testid="turns">
        {turns.map((t, i) => (
          <li key={i} className={`turn ${t.role}`}>
            <span className="who">{t.role === 'user' ? 'You' : model}</span>
            <p className="text" data-testid={t.role === 'assistant' ? 'answer' : undefined}>
              {t.answer?.attribution ? <Highlighted text={t.content} spans={t.answer.attribution.spans} /> : t.content}
              {busy && i === turns.length - 1 && t.role === 'assistant' && <span className="cursor" aria-hidden="true">▍</span>}
            </p>
            {t.answer && <Sources a={t.answer} />}
          </li>
        ))}
      </ol>
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
    </section>
  );
}
