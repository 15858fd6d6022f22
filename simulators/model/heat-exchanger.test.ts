import { describe, expect, it } from 'vitest';
import { counterflowEffectiveness, counterflowHx, hxUa, sizeHx } from './heat-exchanger.ts';
import { actuate, inherentKv, installedFlow } from './valve.ts';
import { W_PER_M3H_K } from './water.ts';

describe('counterflow ε-NTU (DOMAIN.md §3)', () => {
  it('equals NTU/(1 + NTU) when Cr = 1', () => {
    for (const ntu of [0.1, 0.5, 1, 2, 5, 10]) expect(counterflowEffectiveness(ntu, 1)).toBeCloseTo(ntu / (1 + ntu), 12);
  });

  it('is continuous as Cr approaches 1', () => {
    expect(counterflowEffectiveness(2, 1 - 1e-7)).toBeCloseTo(2 / 3, 6);
  });

  it('equals 1 − e^(−NTU) when Cr = 0 (one side condensing or very large)', () => {
    for (const ntu of [0.5, 1, 3]) expect(counterflowEffectiveness(ntu, 0)).toBeCloseTo(1 - Math.exp(-ntu), 12);
  });

  it('matches a textbook value: NTU = 2, Cr = 0.5 → 0.7746', () => {
    expect(counterflowEffectiveness(2, 0.5)).toBeCloseTo((1 - Math.exp(-1)) / (1 - 0.5 * Math.exp(-1)), 12);
    expect(counterflowEffectiveness(2, 0.5)).toBeCloseTo(0.7746, 4);
  });

  it('is 0 without area and never above 1', () => {
    expect(counterflowEffectiveness(0, 0.7)).toBe(0);
    expect(counterflowEffectiveness(50, 0.3)).toBeLessThanOrEqual(1);
  });

  it('conserves energy: heat lost by the hot side is gained by the cold side', () => {
    const r = counterflowHx(115, 12, 48, 30, 40_000);
    expect(r.qW).toBeGreaterThan(0);
    expect(12 * W_PER_M3H_K * (115 - r.t1OutC)).toBeCloseTo(r.qW, 6);
    expect(30 * W_PER_M3H_K * (r.t2OutC - 48)).toBeCloseTo(r.qW, 6);
    expect(r.t2OutC).toBeLessThan(115);
    expect(r.t1OutC).toBeGreaterThan(48);
  });

  it('exchanges nothing without flow on either side', () => {
    expect(counterflowHx(115, 0, 48, 30, 40_000)).toEqual({ qW: 0, t1OutC: 115, t2OutC: 48 });
    expect(counterflowHx(115, 10, 48, 0, 40_000).qW).toBe(0);
  });

  it('sizes UA to meet its design duty, and UA falls with flow as ṁ^0.8 per side', () => {
    const q = 1_000_000;
    const g1 = q / (W_PER_M3H_K * 60);
    const g2 = q / (W_PER_M3H_K * 25);
    const nom = sizeHx(q, 120, 60, 50, 75, g1, g2, 1);
    const r = counterflowHx(120, g1, 50, g2, hxUa(nom, g1, g2));
    expect(r.qW / q).toBeCloseTo(1, 3);
    expect(r.t2OutC).toBeCloseTo(75, 1);
    expect(hxUa(nom, g1 / 2, g2 / 2) / hxUa(nom, g1, g2)).toBeCloseTo(Math.pow(0.5, 0.8), 10);
    expect(hxUa(nom, 0, g2)).toBe(0);
  });
});

describe('control valve', () => {
  it('closes tight and opens fully with either characteristic', () => {
    for (const ch of ['equal_percentage', 'linear'] as const) {
      expect(inherentKv(0, ch)).toBe(0);
      expect(inherentKv(1, ch)).toBeCloseTo(1, 12);
    }
  });

  it('equal-percentage opens slowly at first', () => {
    expect(inherentKv(0.5, 'equal_percentage')).toBeLessThan(0.25);
    expect(inherentKv(0.5, 'linear')).toBe(0.5);
  });

  it('low authority makes the installed characteristic rise faster', () => {
    const kv = inherentKv(0.5, 'equal_percentage');
    expect(installedFlow(kv, 1)).toBeCloseTo(kv, 12);
    expect(installedFlow(kv, 0.3)).toBeGreaterThan(installedFlow(kv, 0.7));
    expect(installedFlow(1, 0.3)).toBeCloseTo(1, 12);
  });

  it('the actuator moves at its rate limit', () => {
    expect(actuate(10, 90, 0.5, 10)).toBe(15);
    expect(actuate(10, 12, 0.5, 10)).toBe(12);
    expect(actuate(50, 0, 1, 5)).toBe(45);
  });
});
