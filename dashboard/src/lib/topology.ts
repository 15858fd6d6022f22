/**
 * Where each asset sits on the wall's schematic (0..1 on both axes, y downwards). Substations use their `x`, `y`
 * attributes (network.yaml `position`); those without are placed by the layout below: each network gets a cell of a
 * grid and its substations a sunflower spiral around the cell's centre. A heat source sits at the centre of its
 * substations.
 */
import type { Asset } from '../api/types.ts';

export interface Placed {
  id: string;
  x: number;
  y: number;
}

export interface Topology {
  substations: Placed[];
  heatSources: Placed[];
  /** Substation index → heat source index (for the pipes drawn from each source). */
  sourceOf: Int32Array;
  /** Network id → substation indexes. */
  districts: Map<string, number[]>;
}

/** A substation's state on the schematic, worst last (the page picks the highest that applies). */
export const STATE = { normal: 0, auto: 1, manual: 2, comm: 3, alarmLow: 4, alarmHigh: 5, alarmCritical: 6 } as const;

const GOLDEN = Math.PI * (3 - Math.sqrt(5));

export function layoutTopology(substations: readonly Asset[], heatSources: readonly Asset[], networks: readonly Asset[]): Topology {
  const netIds = networks.map((n) => n.id);
  const districts = new Map<string, number[]>(netIds.map((id) => [id, []]));
  substations.forEach((s, i) => {
    const net = s.parent ?? '';
    let list = districts.get(net);
    if (!list) districts.set(net, (list = []));
    list.push(i);
  });
  const placed: Placed[] = substations.map((s) => ({ id: s.id, x: NaN, y: NaN }));
  // Networks whose substations lack positions: a grid of cells, a spiral in each.
  const unplaced = [...districts.entries()].filter(([, idx]) => idx.some((i) => typeof substations[i]!.attrs['x'] !== 'number' || typeof substations[i]!.attrs['y'] !== 'number'));
  const cols = Math.ceil(Math.sqrt(unplaced.length || 1));
  const rows = Math.ceil((unplaced.length || 1) / cols);
  unplaced.forEach(([, idx], k) => {
    const cx = (k % cols + 0.5) / cols;
    const cy = (Math.floor(k / cols) + 0.5) / rows;
    const r = 0.42 / Math.max(cols, rows);
    idx.forEach((i, j) => {
      const a = substations[i]!;
      if (typeof a.attrs['x'] === 'number' && typeof a.attrs['y'] === 'number') return;
      const rad = r * Math.sqrt((j + 0.5) / idx.length);
      placed[i]!.x = cx + rad * Math.cos(j * GOLDEN);
      placed[i]!.y = cy + rad * Math.sin(j * GOLDEN);
    });
  });
  substations.forEach((s, i) => {
    if (typeof s.attrs['x'] === 'number' && typeof s.attrs['y'] === 'number') {
      placed[i]!.x = s.attrs['x'];
      placed[i]!.y = s.attrs['y'];
    }
  });

  // A substation's heat source: the parent of its network.
  const netToSource = new Map(networks.map((n) => [n.id, n.parent ?? '']));
  const sourceIndex = new Map(heatSources.map((h, i) => [h.id, i]));
  const sourceOf = new Int32Array(substations.length).fill(-1);
  const sums = heatSources.map(() => ({ x: 0, y: 0, n: 0 }));
  substations.forEach((s, i) => {
    const k = sourceIndex.get(netToSource.get(s.parent ?? '') ?? '');
    if (k === undefined) return;
    sourceOf[i] = k;
    sums[k]!.x += placed[i]!.x;
    sums[k]!.y += placed[i]!.y;
    sums[k]!.n++;
  });
  const hs = heatSources.map((h, k) => {
    const s = sums[k]!;
    return { id: h.id, x: s.n ? s.x / s.n : 0.5, y: s.n ? s.y / s.n : 0.5 };
  });
  return { substations: placed, heatSources: hs, sourceOf, districts };
}
