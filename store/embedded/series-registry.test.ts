import { describe, expect, it } from 'vitest';
import { KIND_BOOLEAN, KIND_NUMBER, KIND_TEXT } from './schema.ts';
import { fromStored, kindOf, SeriesRegistry } from './series-registry.ts';

describe('SeriesRegistry', () => {
  it('undoes added series and kind changes on rollback and keeps them on commit', () => {
    const r = new SeriesRegistry();
    r.load(0, 'ss01', 'x', KIND_NUMBER);
    const x = r.get('ss01', 'x')!;
    r.add('ss01', 'y', KIND_NUMBER);
    r.add('ss02', 'z', KIND_TEXT);
    r.changeKind(x, KIND_BOOLEAN);
    expect(r.size).toBe(3);
    expect(r.added.map((e) => e.id)).toEqual([1, 2]);
    r.rollback();
    expect(r.size).toBe(1);
    expect(r.get('ss01', 'y')).toBeUndefined();
    expect(r.fieldsOf('ss02')).toBeUndefined();
    expect(x.kind).toBe(KIND_NUMBER);
    const y = r.add('ss01', 'y', KIND_NUMBER);
    r.commit();
    expect(y.id).toBe(1);
    expect(r.added).toEqual([]);
    expect(r.byId(1)).toBe(y);
  });

  it('keeps the newest latest value; equal timestamps go to the later offer', () => {
    const r = new SeriesRegistry();
    const e = r.add('ss01', 'x', KIND_NUMBER);
    r.commit();
    expect(r.latest().size).toBe(0);
    r.offerLatest(e, 20, 2, 'good');
    r.offerLatest(e, 10, 1, 'good');
    r.offerLatest(e, 20, 3, 'uncertain');
    expect(r.latest().get('ss01')?.get('x')).toEqual({ value: 3, ts: 20, quality: 'uncertain' });
    expect(r.latest(['other']).size).toBe(0);
  });

  it('returns copies from latest', () => {
    const r = new SeriesRegistry();
    r.offerLatest(r.add('ss01', 'x', KIND_NUMBER), 1, 1, 'good');
    r.latest().get('ss01')!.delete('x');
    expect(r.latest().get('ss01')?.has('x')).toBe(true);
  });
});

describe('value kinds', () => {
  it.each([
    [1.5, KIND_NUMBER],
    [true, KIND_BOOLEAN],
    ['on', KIND_TEXT],
    [Number.NaN, null],
    [-Infinity, null],
    [null, null],
    [{}, null],
  ])('kindOf(%s) is %s', (v, kind) => expect(kindOf(v)).toBe(kind));

  it('reads stored values back as their kind', () => {
    expect(fromStored(KIND_BOOLEAN, 1, null)).toBe(true);
    expect(fromStored(KIND_BOOLEAN, 0, null)).toBe(false);
    expect(fromStored(KIND_NUMBER, 2.5, null)).toBe(2.5);
    expect(fromStored(KIND_TEXT, null, 'auto')).toBe('auto');
  });
});
