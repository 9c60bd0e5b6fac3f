// The lineage of trained models as a graph: each base model a root, each trained model drawn to
// the right of what it was trained from (its parent model, else its base), labelled with the
// datanet version it learned; a model links to the job that trained it.
import type { BaseModel, TrainedModel } from '../chain/models';

const COL = 190;
const ROW = 46;
const W = 160;
const H = 32;

interface Node {
  key: string;
  label: string;
  sub: string;
  depth: number;
  row: number;
  from: string | null;
  href: string | null;
}

export function Lineage({ bases, models }: { bases: BaseModel[]; models: TrainedModel[] }) {
  const byId = new Map(models.map((m) => [m.id, m]));
  const depth = (m: TrainedModel, seen = 0): number =>
    m.parent != null && byId.has(m.parent) && seen < models.length ? 1 + depth(byId.get(m.parent)!, seen + 1) : 1;
  // Depth-first from each base, so children sit just below their parent.
  const nodes: Node[] = [];
  const children = (from: (m: TrainedModel) => boolean) => models.filter(from).sort((a, b) => a.id - b.id);
  const visit = (m: TrainedModel) => {
    nodes.push({
      key: `m${m.id}`,
      label: `model-${m.id}`,
      sub: `datanet ${m.datanet} v${m.version}`,
      depth: depth(m),
      row: nodes.length,
      from: m.parent != null && byId.has(m.parent) ? `m${m.parent}` : `b${m.base}`,
      href: `#/jobs/${m.job}`,
    });
    children((c) => c.parent === m.id).forEach(visit);
  };
  for (const b of bases) {
    const roots = children((m) => m.base === b.id && (m.parent == null || !byId.has(m.parent)));
    if (roots.length === 0) continue;
    nodes.push({ key: `b${b.id}`, label: b.name, sub: `base ${b.id} · ${b.family}`, depth: 0, row: nodes.length, from: null, href: null });
    roots.forEach(visit);
  }
  if (nodes.length === 0) return null;
  const at = new Map(nodes.map((n) => [n.key, n]));
  const x = (n: Node) => 8 + n.depth * COL;
  const y = (n: Node) => 8 + n.row * ROW;
  const width = 16 + (Math.max(...nodes.map((n) => n.depth)) + 1) * COL;
  const height = 16 + nodes.length * ROW;
  return (
    <figure className="lineage">
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="Lineage of the trained models" data-testid="lineage">
        {nodes.map((n) => {
          const p = n.from ? at.get(n.from) : undefined;
          if (!p) return null;
          const [x1, y1, x2, y2] = [x(p) + 12, y(p) + H, x(n), y(n) + H / 2];
          return <path key={`e-${n.key}`} d={`M${x1},${y1} V${y2} H${x2}`} fill="none" stroke="#8b95a5" />;
        })}
        {nodes.map((n) => {
          const box = (
            <g key={n.key} data-node={n.label}>
              <rect x={x(n)} y={y(n)} width={W} height={H} rx={6} fill={n.depth === 0 ? '#eef4fc' : '#fff'} stroke="#0b5cad" />
              <text x={x(n) + 8} y={y(n) + 14} fontSize="12" fontWeight="600">{n.label}</text>
              <text x={x(n) + 8} y={y(n) + 27} fontSize="10" fill="#4a5565">{n.sub}</text>
            </g>
          );
          return n.href ? <a key={n.key} href={n.href} aria-label={`${n.label}: its job`}>{box}</a> : box;
        })}
      </svg>
      <figcaption className="hint">Each model is drawn from what it was trained on: its parent model, else its base.</figcaption>
    </figure>
  );
}
