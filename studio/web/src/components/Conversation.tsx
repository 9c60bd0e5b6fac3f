// One model's side of a chat: the turns, each answer with where it came from (spans found word
// for word in the training data with their contributions, or the datanet passages it cites) and,
// when it was paid for, what it cost.
import * as ai from '../chain/openai';
import { useStudio } from '../studio';
import { amount } from '../chain/format';

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  answer?: ai.Answer;
  /** Why this model gave no answer (payment refused, the API failed). */
  error?: string;
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
      <mark key={i} data-contributions={s.contributions.join(',')} title={`found ${s.occurrences}× in the training data; contributions ${s.contributions.join(', ')}`}>
        {chars.slice(s.start, s.end).join('')}
      </mark>,
    );
    at = s.end;
  });
  parts.push(chars.slice(at).join(''));
  return <>{parts}</>;
}

/** Which contributions most shaped the answer, whether or not it repeats them: those whose
 * training pushes towards it (a positive score); when none does, the closest, said as such. */
function Shaped({ influence }: { influence: ai.Influence }) {
  if (influence.status === 'indexing') return <p className="hint">Influence: the model's training text is being indexed; ask again shortly.</p>;
  if (influence.status !== 'ready') return <p className="hint">Influence unavailable: {influence.error}</p>;
  const all = influence.contributions ?? [];
  const helped = all.filter((c) => c.score > 0);
  const links = (list: { contribution: number; score: number }[]) =>
    list.map((c, i) => (
      <span key={c.contribution}>
        {i > 0 && ', '}
        <a href={`#/contributions/${c.contribution}`}>#{c.contribution}</a> ({c.score.toFixed(2)})
      </span>
    ));
  return (
    <p data-testid="influence">
      {helped.length > 0 ? (
        <>Shaped most by {links(helped)}</>
      ) : all.length > 0 ? (
        <>No contribution's training pushes towards this answer; the closest: {links(all.slice(0, 1))}</>
      ) : (
        'No contribution scored'
      )}
      <span className="hint"> (gradient similarity with the answer, from −1 to 1)</span>.
    </p>
  );
}

function Sources({ a, model }: { a: ai.Answer; model: string }) {
  const { chain } = useStudio();
  return (
    <div className="sources" data-testid="sources">
      {a.attribution && (
        <p>
          Trained on datanet <a href={`#/datanets/${a.attribution.dataset.datanet}`}>{a.attribution.dataset.datanet}</a> version {a.attribution.dataset.version}.{' '}
          {a.attribution.spans.length === 0 ? (
            'No part of this answer appears word for word in it.'
          ) : (
            <>
              {a.attribution.spans.length} highlighted span(s) appear word for word in it, from contribution(s){' '}
              <span data-testid="span-contributions">
                {[...new Set(a.attribution.spans.flatMap((s) => s.contributions))].map((c, i) => (
                  <span key={c}>
                    {i > 0 && ', '}
                    <a href={`#/contributions/${c}`}>#{c}</a>
                  </span>
                ))}
              </span>
              .
            </>
          )}
        </p>
      )}
      {a.attribution?.influence && <Shaped influence={a.attribution.influence} />}
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
      {a.billing && (
        <p className="hint" data-testid="answer-cost">
          Cost {amount(chain, BigInt(a.billing.cost))} at {amount(chain, BigInt(a.billing.price_per_1k_tokens))} per 1,000 tokens;{' '}
          {amount(chain, BigInt(a.billing.charged))} charged for {model} on your tab so far.
        </p>
      )}
    </div>
  );
}

export function Conversation({ model, turns, busy }: { model: string; turns: Turn[]; busy: boolean }) {
  return (
    <ol className="turns" aria-live="polite" aria-label={`Conversation with ${model}`} data-testid={`turns-${model}`}>
      {turns.map((t, i) => (
        <li key={i} className={`turn ${t.role}`}>
          <span className="who">{t.role === 'user' ? 'You' : model}</span>
          {t.error ? (
            <p role="alert" className="error" data-testid="answer-error">{t.error}</p>
          ) : (
            <p className="text" data-testid={t.role === 'assistant' ? 'answer' : undefined}>
              {t.answer?.attribution ? <Highlighted text={t.content} spans={t.answer.attribution.spans} /> : t.content}
              {busy && i === turns.length - 1 && t.role === 'assistant' && !t.answer && <span className="cursor" aria-hidden="true">▍</span>}
            </p>
          )}
          {t.answer && <Sources a={t.answer} model={model} />}
        </li>
      ))}
    </ol>
  );
}
