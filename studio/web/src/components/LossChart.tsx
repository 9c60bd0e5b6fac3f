// Train and eval loss against the step, drawn with uPlot; a log scale on demand.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Point } from '../chain/progress';

export function LossChart({ train, evals, log }: { train: Point[]; evals: Point[]; log: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  // Both series on the train steps; an eval loss sits at its step, gaps elsewhere.
  const steps = [...new Set([...train.map((p) => p.step), ...evals.map((p) => p.step)])].sort((a, b) => a - b);
  const at = (pts: Point[]) => steps.map((s) => pts.find((p) => p.step === s)?.loss ?? null);
  const data: uPlot.AlignedData = [steps, at(train), at(evals)];

  useEffect(() => {
    if (!box.current) return;
    const width = Math.max(280, box.current.clientWidth);
    const opts: uPlot.Options = {
      width,
      height: 260,
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      // Steps are whole numbers.
      axes: [{ label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, { label: 'loss' }],
      series: [
        { label: 'step' },
        { label: 'train loss', stroke: '#0b5cad', width: 2, spanGaps: true, points: { show: true } },
        { label: 'eval loss', stroke: '#c2410c', width: 2, spanGaps: true, points: { show: true, size: 7 } },
      ],
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the scale changes; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [log]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  return <div ref={box} className="chart" role="img" aria-label={`Loss chart: ${train.length} training steps, ${evals.length} evaluations`} data-testid="loss-chart" data-points={train.length} />;
}
