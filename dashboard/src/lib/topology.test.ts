import { describe, expect, it } from 'vitest';
import type { Asset } from '../api/types.ts';
import { layoutTopology } from './topology.ts';

const asset = (id: string, kind: string, parent: string | null, attrs: Asset['attrs'] = {}): Asset => ({ id, kind, name: id, parent, path: [], childCount: 0, attrs });

describe('layoutTopology', () => {
  it('uses the schematic positions, and puts a heat source at the centre of its substations', () => {
    const t = layoutTopology(
      [asset('a', 'substation', 'n1', { x: 0.2, y: 0.4 }), asset('b', 'substation', 'n1', { x: 0.6, y: 0.8 })],
      [asset('hs', 'heat_source', 'c')],
      [asset('n1', 'network', 'hs')],
    );
    expect(t.substations).toEqual([{ id: 'a', x: 0.2, y: 0.4 }, { id: 'b', x: 0.6, y: 0.8 }]);
    expect(t.heatSources[0]!.x).toBeCloseTo(0.4);
    expect(t.heatSources[0]!.y).toBeCloseTo(0.6);
    expect([...t.sourceOf]).toEqual([0, 0]);
    expect(t.districts.get('n1')).toEqual([0, 1]);
  });

  it('places substations without positions inside their network’s cell, each network apart', () => {
    const subs = Array.from({ length: 400 }, (_, i) => asset(`s${i}`, 'substation', i < 200 ? 'n1' : 'n2'));
    const t = layoutTopology(subs, [asset('hs', 'heat_source', 'c')], [asset('n1', 'network', 'hs'), asset('n2', 'network', 'hs')]);
    for (const p of t.substations) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(1);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeLessThanOrEqual(1);
    }
    const maxX1 = Math.max(...t.substations.slice(0, 200).map((p) => p.x));
    const minX2 = Math.min(...t.substations.slice(200).map((p) => p.x));
    expect(maxX1).toBeLessThan(minX2);
    expect(new Set(t.substations.map((p) => `${p.x.toFixed(4)},${p.y.toFixed(4)}`)).size).toBe(400);
  });
});
