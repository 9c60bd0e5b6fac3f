// A training job's live events from its worker, through the Studio's `/progress/<n>/...`: train
// and eval loss per step, learning rate, tokens/s, the end. The worker replays a job's events to
// every new viewer, so a reload (or a second page on the same job) loses nothing.
import { useEffect, useState } from 'react';
import type { Chain } from './connection';
import { endpointOf } from './models';

export interface Point {
  step: number;
  loss: number;
}

export interface Live {
  total: number | null;
  train: Map<number, Point>;
  evals: Map<number, Point>;
  lr: number | null;
  tokensPerS: number | null;
  /** Arrival times of live step events, for the ETA. */
  arrivals: number[];
  end: string | null;
  /** Set while the stream is interrupted (EventSource reconnects by itself). */
  interrupted: boolean;
}

export const emptyLive = (): Live => ({
  total: null,
  train: new Map(),
  evals: new Map(),
  lr: null,
  tokensPerS: null,
  arrivals: [],
  end: null,
  interrupted: false,
});

/** Which forwarded progress endpoint (`config.progress`) serves `worker`'s events: the one it
 * publishes on chain, if this Studio forwards it; -1 otherwise, null while reading. */
export function useProgressIndex(chain: Chain, progress: string[], worker: string | null): { index: number | null; endpoint: string | null } {
  const [endpoint, setEndpoint] = useState<string | null>(null);
  const [read, setRead] = useState(false);
  useEffect(() => {
    if (!worker) return;
    endpointOf(chain, worker).then((e) => {
      setEndpoint(e);
      setRead(true);
    });
  }, [chain, worker]);
  if (!worker || !read) return { index: null, endpoint };
  const trim = (s: string) => s.replace(/\/$/, '');
  return { index: endpoint == null ? -1 : progress.findIndex((p) => trim(p) === trim(endpoint)), endpoint };
}

/** The live events of job `id` from forwarded endpoint `index` (nothing when it is null or -1). */
export function useJobEvents(index: number | null, id: number): Live {
  const [live, setLive] = useState<Live>(emptyLive);
  useEffect(() => {
    if (index == null || index < 0) return;
    setLive(emptyLive());
    const es = new EventSource(`/progress/${index}/jobs/${id}/events`);
    const on = (kind: string, f: (d: Record<string, number>, l: Live) => void) =>
      es.addEventListener(kind, (e) => {
        const d = JSON.parse((e as MessageEvent).data);
        setLive((l) => {
          const n: Live = { ...l, train: new Map(l.train), evals: new Map(l.evals) };
          f(d, n);
          return n;
        });
      });
    on('started', (d, l) => (l.total = d.total_steps));
    on('step', (d, l) => {
      l.train.set(d.step, { step: d.step, loss: d.loss });
      l.lr = d.lr;
      l.tokensPerS = d.tokens_per_s;
      l.arrivals = [...l.arrivals.slice(-10), performance.now()];
    });
    on('eval', (d, l) => l.evals.set(d.step, { step: d.step, loss: d.loss }));
    for (const end of ['submitted', 'failed']) {
      es.addEventListener(end, (e) => {
        const d = JSON.parse((e as MessageEvent).data);
        setLive((l) => ({ ...l, end: end === 'failed' ? `failed: ${d.reason}` : `submitted: adapter ${d.adapter}, final at block #${d.final_at}` }));
        es.close(); // the stream ends here; do not let EventSource reconnect and replay it
      });
    }
    es.onerror = () => setLive((l) => ({ ...l, interrupted: true }));
    es.onopen = () => setLive((l) => ({ ...l, interrupted: false }));
    return () => es.close();
  }, [index, id]);
  return live;
}

/** Points sorted by step. */
export function sorted(points: Map<number, Point>): Point[] {
  return [...points.values()].sort((a, b) => a.step - b.step);
}
