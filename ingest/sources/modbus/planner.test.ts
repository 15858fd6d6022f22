import { describe, expect, it } from 'vitest';
import { planReads, splitRequest, type PlanItem, type PlanOptions } from './planner.ts';

const reg = (index: number, address: number, count = 1, area: PlanItem['area'] = 'holding'): PlanItem => ({ index, area, address, count });
const opts = (o: Partial<PlanOptions> = {}): PlanOptions => ({ maxGap: 0, maxRegistersPerRead: 125, perField: false, ...o });
/** Requests as "area address+count [field@offset …]". */
const show = (items: PlanItem[], o: Partial<PlanOptions> = {}): string[] =>
  planReads(items, opts(o)).map((r) => `${r.area} ${r.address}+${r.count} [${r.fields.map((f) => `${f.index}@${f.offset}`).join(' ')}]`);

describe('planReads', () => {
  const cases: { name: string; items: PlanItem[]; opts?: Partial<PlanOptions>; want: string[] }[] = [
    { name: 'one field', items: [reg(0, 10)], want: ['holding 10+1 [0@0]'] },
    { name: 'contiguous fields coalesce', items: [reg(0, 0), reg(1, 1), reg(2, 2, 2)], want: ['holding 0+4 [0@0 1@1 2@2]'] },
    { name: 'input order does not matter', items: [reg(2, 2, 2), reg(0, 0), reg(1, 1)], want: ['holding 0+4 [0@0 1@1 2@2]'] },
    { name: 'a gap above maxGap splits', items: [reg(0, 0), reg(1, 5)], opts: { maxGap: 3 }, want: ['holding 0+1 [0@0]', 'holding 5+1 [1@0]'] },
    { name: 'a gap within maxGap is read through', items: [reg(0, 0), reg(1, 5)], opts: { maxGap: 4 }, want: ['holding 0+6 [0@0 1@5]'] },
    { name: 'maxGap 0 joins only adjacent fields', items: [reg(0, 0), reg(1, 1), reg(2, 3)], want: ['holding 0+2 [0@0 1@1]', 'holding 3+1 [2@0]'] },
    {
      name: 'never more than 125 registers per read (Modbus)',
      items: Array.from({ length: 130 }, (_, i) => reg(i, i)),
      want: [`holding 0+125 [${Array.from({ length: 125 }, (_, i) => `${i}@${i}`).join(' ')}]`, 'holding 125+5 [125@0 126@1 127@2 128@3 129@4]'],
    },
    {
      name: 'a field that would straddle the limit starts the next request',
      items: [reg(0, 0, 2), reg(1, 123, 2), reg(2, 125, 2)],
      opts: { maxGap: 125, maxRegistersPerRead: 124 },
      want: ['holding 0+2 [0@0]', 'holding 123+4 [1@0 2@2]'],
    },
    {
      name: 'a float64 at 122 does not fit a 125-register read from 0',
      items: [reg(0, 0), reg(1, 122, 4)],
      opts: { maxGap: 125 },
      want: ['holding 0+1 [0@0]', 'holding 122+4 [1@0]'],
    },
    { name: 'a configured smaller limit', items: [reg(0, 0, 2), reg(1, 2, 2), reg(2, 4, 2)], opts: { maxRegistersPerRead: 4 }, want: ['holding 0+4 [0@0 1@2]', 'holding 4+2 [2@0]'] },
    {
      name: 'areas are planned apart, in the order holding, input, coil, discrete',
      items: [reg(0, 0, 1, 'discrete'), reg(1, 0, 1, 'coil'), reg(2, 0, 2, 'input'), reg(3, 0, 1, 'holding'), reg(4, 1, 1, 'input')],
      want: ['holding 0+1 [3@0]', 'input 0+2 [2@0 4@1]', 'coil 0+1 [1@0]', 'discrete 0+1 [0@0]'],
    },
    {
      name: 'bits in one status word share their register',
      items: [reg(0, 14, 1, 'input'), reg(1, 14, 1, 'input'), reg(2, 14, 1, 'input')],
      want: ['input 14+1 [0@0 1@0 2@0]'],
    },
    {
      name: 'coils: up to 2000 per read (Modbus)',
      items: [reg(0, 0, 1, 'coil'), reg(1, 1999, 1, 'coil'), reg(2, 2000, 1, 'coil')],
      opts: { maxGap: 2000 },
      want: ['coil 0+2000 [0@0 1@1999]', 'coil 2000+1 [2@0]'],
    },
    {
      name: 'bit gaps count in bits',
      items: [reg(0, 0, 1, 'discrete'), reg(1, 8, 1, 'discrete'), reg(2, 30, 1, 'discrete')],
      opts: { maxGap: 7 },
      want: ['discrete 0+9 [0@0 1@8]', 'discrete 30+1 [2@0]'],
    },
    {
      name: 'per-field fallback: one request per field',
      items: [reg(0, 0), reg(1, 1, 2), reg(2, 3)],
      opts: { perField: true, maxGap: 10 },
      want: ['holding 0+1 [0@0]', 'holding 1+2 [1@0]', 'holding 3+1 [2@0]'],
    },
    {
      name: 'per-field fallback keeps bits of one word together',
      items: [reg(0, 14, 1, 'input'), reg(1, 14, 1, 'input'), reg(2, 15, 1, 'input')],
      opts: { perField: true },
      want: ['input 14+1 [0@0 1@0]', 'input 15+1 [2@0]'],
    },
    { name: 'the top of the address space', items: [reg(0, 65534, 2)], want: ['holding 65534+2 [0@0]'] },
    { name: 'nothing to read', items: [], want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(show(c.items, c.opts)).toEqual(c.want);
    });
  }

  it('rejects a field past the address space or longer than one read', () => {
    expect(() => planReads([reg(0, 65535, 2)], opts())).toThrow(/outside/);
    expect(() => planReads([reg(0, 0, 4)], opts({ maxRegistersPerRead: 2 }))).toThrow(/cannot be read/);
  });

  it('covers every field exactly once, inside its request, within the limits', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 200; trial++) {
      const items: PlanItem[] = [];
      for (let i = 0; i < 60; i++) {
        const area = (['holding', 'input', 'coil', 'discrete'] as const)[rnd(4)];
        items.push(reg(i, rnd(400), area === 'coil' || area === 'discrete' ? 1 : [1, 2, 4][rnd(3)]!, area));
      }
      const o = opts({ maxGap: rnd(20), maxRegistersPerRead: 4 + rnd(122), perField: rnd(5) === 0 });
      const plan = planReads(items, o);
      const seen = new Map<number, number>();
      for (const r of plan) {
        const bits = r.area === 'coil' || r.area === 'discrete';
        expect(r.count).toBeLessThanOrEqual(bits ? 2000 : o.maxRegistersPerRead);
        for (const f of r.fields) {
          const it = items[f.index]!;
          expect(it.area).toBe(r.area);
          expect(r.address + f.offset).toBe(it.address);
          expect(f.offset + it.count).toBeLessThanOrEqual(r.count);
          seen.set(f.index, (seen.get(f.index) ?? 0) + 1);
        }
      }
      expect(seen.size).toBe(items.length);
      for (const n of seen.values()) expect(n).toBe(1);
    }
  });
});

describe('splitRequest', () => {
  it('turns a coalesced read into one read per field span', () => {
    const [req] = planReads([reg(0, 0), reg(1, 1, 2), reg(2, 5, 1, 'holding')], opts({ maxGap: 5 }));
    expect(req!.count).toBe(6);
    const counts = [1, 2, 1];
    expect(splitRequest(req!, (i) => counts[i]!).map((r) => `${r.address}+${r.count} [${r.fields.map((f) => f.index).join(' ')}]`)).toEqual(['0+1 [0]', '1+2 [1]', '5+1 [2]']);
  });
});
