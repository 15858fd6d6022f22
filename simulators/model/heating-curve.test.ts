import { describe, expect, it } from 'vitest';
import { designSupplySetpoint, emitterDesign, qualityRegulation, SUPPLY_LIMITS } from './heating-curve.ts';

describe('quality regulation curve (DOMAIN.md §2.1 check values)', () => {
  const jinan = emitterDesign('radiator', -5.3);
  const harbin = emitterDesign('radiator', -24.2);

  it.each([
    [jinan, 5, 0.56, 53.4, 39.4],
    [jinan, 0, 0.77, 64.1, 44.8],
    [jinan, -5.3, 1.0, 75.0, 50.0],
    [harbin, -10, 0.66, 58.8, 42.2],
  ])('t_w = %#: Q̄, supply and return', (design, tw, q, supply, ret) => {
    const p = qualityRegulation(tw, design);
    expect(p.rel_load).toBeCloseTo(q, 2);
    expect(p.supply_c).toBeCloseTo(supply, 1);
    expect(p.return_c).toBeCloseTo(ret, 1);
  });

  it('clamps the relative load to [0, 1.2]', () => {
    expect(qualityRegulation(30, jinan).rel_load).toBe(0);
    expect(qualityRegulation(-40, jinan).rel_load).toBe(1.2);
  });

  it('a lower relative flow widens the drop around the same mean', () => {
    const full = qualityRegulation(0, jinan, 1);
    const half = qualityRegulation(0, jinan, 0.5);
    expect(half.supply_c - half.return_c).toBeCloseTo(2 * (full.supply_c - full.return_c), 10);
    expect((half.supply_c + half.return_c) / 2).toBeCloseTo((full.supply_c + full.return_c) / 2, 10);
  });

  it('the setpoint schedule is clamped to the controller limits', () => {
    expect(designSupplySetpoint(20, jinan, SUPPLY_LIMITS.radiator)).toBe(SUPPLY_LIMITS.radiator.minC);
    // Q̄ clamps at 1.2, which on a 75/50 design gives 84.2 °C, just inside the 85 °C limit.
    expect(designSupplySetpoint(-40, jinan, SUPPLY_LIMITS.radiator)).toBeCloseTo(84.2, 1);
    expect(designSupplySetpoint(-40, { ...jinan, supplyC: 90 }, SUPPLY_LIMITS.radiator)).toBe(SUPPLY_LIMITS.radiator.maxC);
    expect(designSupplySetpoint(-5.3, jinan, SUPPLY_LIMITS.radiator)).toBeCloseTo(75, 6);
  });

  it('floor heating defaults to 45/35 and its own limits', () => {
    const floor = emitterDesign('floor', -5.3);
    expect(qualityRegulation(-5.3, floor).supply_c).toBeCloseTo(45, 6);
    expect(designSupplySetpoint(-30, floor, SUPPLY_LIMITS.floor)).toBeLessThanOrEqual(60);
  });
});
