// Several runs' train loss against the step on one chart (uPlot), one colour per run.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Point } from '../chain/progress';

const COLOURS = ['#0b5cad', '#c2410c', '#0d6b2f', '#7c3aed', '#a3121f', '#0e7490'];

export interface Run {
  label: string;
  train: Point[];
}

export function RunsChart({ runs, log }: { runs: Run[]; log: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const steps = [...new Set(runs.flatMap((r) => r.train.map((p) => p.step)))].sort((a, b) => a - b);
  const data: uPlot.AlignedData = [steps, ...runs.map((r) => steps.map((s) => r.train.find((p) => p.step === s)?.loss ?? null))];
  const labels = runs.map((r) => r.label).join('|');

  useEffect(() => {
    if (!box.current) return;
    const opts: uPlot.Options = {
      width: Math.max(280, box.current.clientWidth),
      height: 280,
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      axes: [{ label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, { label: 'train loss' }],
      series: [
        { label: 'step' },
        ...runs.map((r, i) => ({ label: r.label, stroke: COLOURS[i % COLOURS.length], width: 2, spanGaps: true, points: { show: true } })),
      ],
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt when the scale or the set of runs changes; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [log, labels]);
  useEffect(() => {
    plot.current?.setData(data);
  });
  const points = runs.map((r) => r.train.length).join(',');
  return <div ref={box} className="chart" role="img" aria-label={`Train loss of ${runs.length} runs`} data-testid="runs-chart" data-points={points} />;
}
