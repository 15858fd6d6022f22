import { describe, expect, it } from 'vitest';
import {
  DANFOSS_FACTORY_EXAMPLE,
  DANFOSS_FLOOR_EXAMPLE,
  DANFOSS_OUTDOOR_C,
  danfossCurve,
  danfossPointsFromSlope,
  danfossSlope,
  designFor,
  evaluateCurve,
  presetCurve,
  pumpDpForFlow,
  qualityRegulation,
  quantityRegulation,
  relativeLoad,
  siemensCurve,
  steppedFlow,
  type GradientCurve,
  type LawCurve,
} from './curves.ts';

const radiator = (outdoorDesignC: number) => designFor('radiator', outdoorDesignC);

describe('quality regulation, DOMAIN.md §2.1 check values (t_n 18, 75/50, m 1.3, Ḡ 1)', () => {
  it.each([
    { city: 'Jinan', design: -5.3, tw: 5, q: 0.56, supply: 53.4, ret: 39.4 },
    { city: 'Jinan', design: -5.3, tw: 0, q: 0.77, supply: 64.1, ret: 44.8 },
    { city: 'Jinan', design: -5.3, tw: -5.3, q: 1.0, supply: 75.0, ret: 50.0 },
    { city: 'Harbin', design: -24.2, tw: -10, q: 0.66, supply: 58.8, ret: 42.2 },
  ])('$city at t_w = $tw: Q̄ $q, $supply / $ret', ({ design, tw, q, supply, ret }) => {
    const r = qualityRegulation(tw, radiator(design));
    expect(Math.abs(r.relLoad - q)).toBeLessThan(0.005);
    expect(Math.abs(r.supplyC - supply)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(r.returnC - ret)).toBeLessThanOrEqual(0.1);
  });

  it('clamps the relative load to [0, 1.2]', () => {
    const d = radiator(-5.3);
    expect(relativeLoad(25, d)).toBe(0);
    expect(relativeLoad(-40, d)).toBe(1.2);
    expect(qualityRegulation(25, d).supplyC).toBeCloseTo(18, 6);
  });

  it('a larger relative flow lowers the supply and narrows the drop', () => {
    const d = radiator(-5.3);
    const g1 = qualityRegulation(0, d, 1);
    const g2 = qualityRegulation(0, d, 1.25);
    expect(g2.supplyC).toBeLessThan(g1.supplyC);
    expect(g2.supplyC - g2.returnC).toBeCloseTo((g1.supplyC - g1.returnC) / 1.25, 6);
  });

  it('a free-heat offset moves the zero-load point and keeps the design point', () => {
    const d = designFor('radiator', -5.3, { indoorC: 20 });
    expect(relativeLoad(12, d, 8)).toBe(0);
    expect(relativeLoad(-5.3, d, 8)).toBeCloseTo(1, 9);
    expect(qualityRegulation(-5.3, d, 1, 8).supplyC).toBeCloseTo(75, 6);
    expect(qualityRegulation(5, d, 1, 8).supplyC).toBeLessThan(qualityRegulation(5, d).supplyC);
  });
});

describe('evaluateCurve: shift and clamp', () => {
  const law: LawCurve = { ...presetCurve('radiator', -5.3), shiftK: 2 };

  it('adds the parallel shift to supply and return', () => {
    const v = evaluateCurve(law, 0);
    expect(v.supplyC).toBeCloseTo(66.1, 1);
    expect(v.returnC).toBeCloseTo(46.8, 1);
    expect(v.clampedBy).toBeNull();
  });

  it('clamps at the emitter limits and says which bound it hit', () => {
    expect(evaluateCurve(law, -30)).toMatchObject({ supplyC: 85, clampedBy: 'max' });
    expect(evaluateCurve(law, 20)).toMatchObject({ supplyC: 30, clampedBy: 'min' });
    expect(evaluateCurve(law, -30).unclampedC).toBeGreaterThan(85);
    expect(evaluateCurve(law, 0, { extraShiftK: -3 }).supplyC).toBeCloseTo(63.1, 1);
  });

  it('has floor-heating presets within the floor limits', () => {
    const floor = presetCurve('floor', -5.3);
    expect(floor.design).toMatchObject({ supplyC: 45, returnC: 35 });
    expect(evaluateCurve(floor, -5.3).supplyC).toBeCloseTo(45, 6);
    expect(evaluateCurve(floor, -40).supplyC).toBeLessThanOrEqual(55);
  });
});

describe('vendor curves, DOMAIN.md §2.3', () => {
  it('a Danfoss curve passes through its six points and is flat beyond them', () => {
    for (const flows of [DANFOSS_FLOOR_EXAMPLE, DANFOSS_FACTORY_EXAMPLE]) {
      const c = danfossCurve(flows);
      DANFOSS_OUTDOOR_C.forEach((t, i) => expect(evaluateCurve(c, t).supplyC).toBeCloseTo(flows[i]!, 9));
      expect(evaluateCurve(c, -40).supplyC).toBe(flows[0]);
      expect(evaluateCurve(c, 25).supplyC).toBe(flows[5]);
    }
    expect(evaluateCurve(danfossCurve(DANFOSS_FACTORY_EXAMPLE), -10).supplyC).toBeCloseTo(55, 9);
    expect(evaluateCurve(danfossCurve(DANFOSS_FLOOR_EXAMPLE), 2.5).supplyC).toBeCloseTo(31, 9);
  });

  it('a Danfoss slope of 1.0 reproduces the factory curve within 2 K, and the room correction is (T − 20)·slope·2.5', () => {
    const pts = danfossPointsFromSlope(1.0);
    pts.forEach((p, i) => expect(Math.abs(p.supplyC - DANFOSS_FACTORY_EXAMPLE[i]!)).toBeLessThanOrEqual(1.65));
    expect(danfossSlope(pts)).toBeCloseTo(1.0, 9);
    const base = danfossCurve(pts.map((p) => p.supplyC));
    const warm = danfossCurve(pts.map((p) => p.supplyC), { roomC: 22 });
    expect(evaluateCurve(warm, 0).supplyC - evaluateCurve(base, 0).supplyC).toBeCloseTo(5, 9);
  });

  it('a Siemens two-point curve is the straight line through −5 and +15 °C, with a parallel shift', () => {
    const c = siemensCurve(60, 30, { shiftK: -2 });
    expect(evaluateCurve(c, -5).supplyC).toBeCloseTo(58, 9);
    expect(evaluateCurve(c, 5).supplyC).toBeCloseTo(43, 9);
    expect(evaluateCurve(c, -15).supplyC).toBeCloseTo(73, 9);
  });

  it('a CODESYS gradient curve: T_room_ref + shift − gradient·(T_out − 24), clamped 30–75', () => {
    const c: GradientCurve = { kind: 'gradient', roomRefC: 20, gradient: 1.2, shiftK: 1, minC: 30, maxC: 75 };
    expect(evaluateCurve(c, -10).supplyC).toBeCloseTo(61.8, 9);
    expect(evaluateCurve(c, 18).supplyC).toBe(30);
    expect(evaluateCurve(c, -40).supplyC).toBe(75);
  });
});

describe('flow regulation, DOMAIN.md §2.2', () => {
  it('quantity regulation gives design flow at the design supply and less flow at a milder load', () => {
    const d = radiator(-5.3);
    expect(quantityRegulation(-5.3, d, 75)!.relFlow).toBeCloseTo(1, 6);
    const mild = quantityRegulation(5, d, 75)!;
    expect(mild.relFlow).toBeGreaterThan(0);
    expect(mild.relFlow).toBeLessThan(0.4);
    // Round trip: the law with that flow gives back the fixed supply.
    expect(qualityRegulation(5, d, mild.relFlow).supplyC).toBeCloseTo(75, 6);
    expect(quantityRegulation(-5.3, d, 50)).toBeNull();
  });

  it('stepped flow picks the stage for the outdoor temperature', () => {
    const stages = [
      { belowOutdoorC: 5, relFlow: 0.75 },
      { belowOutdoorC: -2, relFlow: 1 },
    ];
    expect(steppedFlow(8, stages)).toBe(0.75);
    expect(steppedFlow(3, stages)).toBe(0.75);
    expect(steppedFlow(-4, stages)).toBe(1);
    expect(steppedFlow(0, [])).toBe(1);
    expect(pumpDpForFlow(0.15, 0.75)).toBeCloseTo(0.084375, 9);
  });
});
