import { describe, expect, it } from 'vitest';
import { PlugFlowPipe } from './plug-flow-pipe.ts';

describe('plug-flow pipe (transport delay τ = V/G, DOMAIN.md §3)', () => {
  const LONG = 1e12; // effectively no heat loss

  /** Pushes `flowM3h` at `inletC` for `seconds` in 10 s steps; returns the time the outlet first exceeds `thresholdC`. */
  function arrival(pipe: PlugFlowPipe, flowM3h: number, inletC: number, thresholdC: number, t0: number): number {
    for (let t = t0 + 10; t < t0 + 20_000; t += 10) {
      pipe.push((flowM3h * 10) / 3600, inletC, t);
      if (pipe.outlet(10) > thresholdC) return t - t0;
    }
    return Infinity;
  }

  it('delivers a step in inlet temperature after V/G', () => {
    const pipe = new PlugFlowPipe(2, 50, LONG);
    // 2 m³ at 12 m³/h: 600 s.
    const t = arrival(pipe, 12, 70, 60, 0);
    expect(t).toBeGreaterThanOrEqual(590);
    expect(t).toBeLessThanOrEqual(620);
  });

  it('takes twice as long at half the flow', () => {
    const pipe = new PlugFlowPipe(2, 50, LONG);
    const t = arrival(pipe, 6, 70, 60, 0);
    expect(t).toBeGreaterThanOrEqual(1190);
    expect(t).toBeLessThanOrEqual(1220);
  });

  it('holds water in place without flow, and it cools toward the surroundings', () => {
    const pipe = new PlugFlowPipe(1, 70, 3600);
    pipe.push(0, 70, 0);
    expect(pipe.outlet(10)).toBeCloseTo(70, 6);
    pipe.push(0, 80, 3600);
    // One time constant parked: 10 + 60·e^(−1).
    expect(pipe.outlet(10)).toBeCloseTo(10 + 60 * Math.exp(-1), 3);
  });

  it('loses a little heat in transit', () => {
    const pipe = new PlugFlowPipe(1, 70, 30 * 3600);
    for (let t = 10; t <= 3600; t += 10) pipe.push(10 / 360, 70, t);
    // 360 s in transit at τ = 30 h: 60·(1 − e^(−1/300)) ≈ 0.2 K.
    expect(70 - pipe.outlet(10)).toBeCloseTo(60 * (1 - Math.exp(-360 / (30 * 3600))), 2);
  });
});
