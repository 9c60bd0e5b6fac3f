// The serving worker's OpenAI-style API (docs/serving.md), reached through tributary-studio at /v1.

export interface ModelInfo {
  id: string;
  owned_by?: string;
  parent?: string | null;
  root?: string | null;
}

export interface Span {
  start: number;
  end: number;
  text: string;
  occurrences: number;
  contributions: number[];
}

/** The contributions that most shaped an answer (cosine of gradient features, highest first),
 * or why there are none yet. */
export interface Influence {
  status: 'ready' | 'indexing' | 'unavailable';
  contributions?: { contribution: number; score: number }[];
  error?: string;
}

export interface Attribution {
  dataset: { datanet: number; version: number };
  spans: Span[];
  influence?: Influence;
}

export interface Citation {
  n: number;
  contribution: number;
  score: number;
  text: string;
  cited: boolean;
}

export interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What a paid answer cost (plancks, as decimal strings): `charged` is the voucher line's total. */
export interface Billing {
  payee: string;
  price_per_1k_tokens: string;
  cost: string;
  charged: string;
}

export interface Answer {
  text: string;
  finish: string | null;
  attribution: Attribution | null;
  citations: Citation[];
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  billing: Billing | null;
}

/** The API's refusal: its HTTP status and OpenAI-style code (`payment_required` for 402). */
export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code: string | null) {
    super(message);
  }
}

async function failure(res: Response): Promise<Error> {
  try {
    const j = await res.json();
    return new ApiError(j?.error?.message ?? `HTTP ${res.status}`, res.status, j?.error?.code ?? null);
  } catch {
    return new ApiError(`HTTP ${res.status}`, res.status, null);
  }
}

export async function models(base: string): Promise<ModelInfo[]> {
  const res = await fetch(`${base}/models`);
  if (!res.ok) throw await failure(res);
  return ((await res.json()).data ?? []) as ModelInfo[];
}

/** Streams a chat answer: `onText` gets the answer so far at every chunk. */
export async function chat(
  base: string,
  model: string,
  messages: Message[],
  opts: { maxTokens: number; temperature: number; signal?: AbortSignal; voucher?: string },
  onText: (soFar: string) => void,
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.voucher) headers['tributary-voucher'] = opts.voucher;
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: opts.maxTokens,
      temperature: opts.temperature,
    }),
    signal: opts.signal,
  });
  if (!res.ok || !res.body) throw await failure(res);
  const answer: Answer = { text: '', finish: null, attribution: null, citations: [], usage: null, billing: null };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return answer;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message ?? 'the model failed');
        const choice = chunk.choices?.[0];
        if (choice?.delta?.content) {
          answer.text += choice.delta.content;
          onText(answer.text);
        }
        if (choice?.finish_reason) answer.finish = choice.finish_reason;
        if (chunk.attribution) answer.attribution = chunk.attribution;
        if (chunk.citations) answer.citations = chunk.citations;
        if (chunk.usage) answer.usage = chunk.usage;
        if (chunk.billing) answer.billing = chunk.billing;
      }
    }
  }
  return answer;
}
