import { describe, expect, it } from 'vitest';
import type { Wire } from '../api/types.ts';
import { ComfortTracker, STALE_MS, SubstationTable } from './wall-model.ts';

const w = (v: number | boolean, ts = 1000, q: Wire[2] = 'good'): Wire => [v, ts, q];

describe('ComfortTracker', () => {
  it('counts apartments at 18 °C or above incrementally, leaving out bad values and suspended accounts', () => {
    const c = new ComfortTracker();
    c.apply('a', w(20));
    c.apply('b', w(17.9));
    c.apply('c', w(18));
    expect([c.ok, c.valid]).toEqual([2, 3]);
    c.apply('b', w(18.5));
    expect([c.ok, c.valid]).toEqual([3, 3]);
    c.apply('a', w(21, 2000, 'bad'));
    expect([c.ok, c.valid]).toEqual([2, 2]);
    c.markSuspended('c');
    c.markSuspended('c');
    expect([c.ok, c.valid]).toEqual([1, 1]);
    c.apply('c', w(10));
    expect(c.share()).toBe(1);
  });

  it('grows past its first capacity', () => {
    const c = new ComfortTracker();
    for (let i = 0; i < 5000; i++) c.apply(`x${i}`, w(i % 2 ? 19 : 17));
    expect([c.ok, c.valid, c.size]).toEqual([2500, 5000, 5000]);
  });
});

describe('SubstationTable', () => {
  it('keeps the wall’s fields, and aggregates over the substations heard from recently', () => {
    const t = new SubstationTable(['s1', 's2', 's3']);
    const now = 1_000_000;
    expect(t.apply('s1', { secondary_supply_temp_c: w(60), secondary_return_temp_c: w(40), heat_power_kw: w(500), remote: w(true), auto: w(false) }, now)).toBe(true);
    t.apply('s2', { secondary_supply_temp_c: w(70), heat_power_kw: w(300) }, now);
    expect(t.apply('other', { secondary_supply_temp_c: w(1) }, now)).toBe(false);
    const a = t.aggregate(now);
    expect(a).toMatchObject({ t2s: 65, t2r: 40, heatKw: 800, reporting: 2, total: 3 });
    expect([t.remote[0], t.auto[0], t.auto[1]]).toEqual([1, 0, -1]);
    expect(t.stale(2, now)).toBe(true);
    expect(t.aggregate(now + STALE_MS + 1).reporting).toBe(0);
  });

  it('takes a snapshot’s values as old as their timestamps', () => {
    const t = new SubstationTable(['s1']);
    t.apply('s1', { secondary_supply_temp_c: w(60, 5000) }, 10_000_000, true);
    expect(t.seenAt[0]).toBe(5000);
    expect(t.stale(0, 10_000_000)).toBe(true);
  });
});
