import { describe, expect, it } from 'vitest';
import { HeatSource } from './heat-source.ts';

describe('heat source and primary network', () => {
  function settledAt(outdoorC: number): HeatSource {
    const hs = new HeatSource('hs', -5.3, outdoorC, 0);
    for (let t = 60; t <= 12 * 3600; t += 60) hs.step(60, t, outdoorC);
    return hs;
  }

  it('runs 110–130 °C at the design outdoor temperature and about 70 °C in mild weather', () => {
    const cold = settledAt(-5.3).supplyC;
    expect(cold).toBeGreaterThanOrEqual(110);
    expect(cold).toBeLessThanOrEqual(130);
    expect(settledAt(8).supplyC).toBeCloseTo(70, 0);
    expect(settledAt(0).supplyC).toBeGreaterThan(settledAt(5).supplyC);
  });

  it('remembers its supply for the substations’ transport delays', () => {
    const hs = new HeatSource('hs', -5.3, 5, 0);
    for (let t = 60; t <= 3600; t += 60) hs.step(60, t, 5);
    hs.drops.set('f', { dropK: 20, trip: false });
    for (let t = 3660; t <= 3 * 3600; t += 60) hs.step(60, t, 5);
    expect(hs.supplyAt(3000)).toBeGreaterThan(hs.supplyAt(3 * 3600) + 10);
  });

  it('solves the primary flow so every substation draws a·√ΔP at its own pressure drop', () => {
    const hs = new HeatSource('hs', -5.3, -5.3, 0);
    hs.designFlowM3h = 100;
    const a = [20, 35, 10, 40];
    const d = [0.2, 0.5, 0.8, 1];
    hs.solveFlow(a, d);
    let sum = 0;
    for (let i = 0; i < a.length; i++) {
      const p = hs.pressuresFor(d[i]!);
      sum += a[i]! * Math.sqrt(Math.max(0, p.supplyMpa - p.returnMpa));
    }
    expect(hs.flowM3h).toBeCloseTo(sum, 6);
    // Far substations see less differential pressure.
    const near = hs.pressuresFor(0.2);
    const far = hs.pressuresFor(1);
    expect(far.supplyMpa - far.returnMpa).toBeLessThan(near.supplyMpa - near.returnMpa);
    // Opening everything starves the far end rather than oscillating.
    hs.solveFlow(a.map((x) => 10 * x), d);
    const starved = hs.pressuresFor(1);
    expect(starved.supplyMpa - starved.returnMpa).toBeLessThan(0.05);
    expect(hs.flowM3h).toBeGreaterThan(0);
  });
});
