import { describe, expect, it } from 'vitest';
import { computeAdvice, type AdviceConfig, type AdviceInputs } from './advice.ts';
import { presetCurve } from './curves.ts';
import { effectiveOutdoor, fitLinear, fitTimeConstant, forecastFromFields, forecastTotal, hourlyOutdoor, leadHours, outdoorAt } from './forecast.ts';
import { DEFAULT_FEEDBACK, indoorStats, type RoomSample } from './indoor.ts';

const NOW = Date.UTC(2026, 0, 15, 12);
const H = 3_600_000;

describe('forecast fields and the effective outdoor temperature', () => {
  it('reads forecast_<h>h_temp_c fields, counting leads from the reading that carried them', () => {
    const f = new Map([
      ['outdoor_temp_c', { value: 1, ts: NOW - 0.5 * H, quality: 'good' }],
      ['forecast_1h_temp_c', { value: 0, ts: NOW - 0.5 * H, quality: 'good' }],
      ['forecast_3h_temp_c', { value: -2, ts: NOW - 0.5 * H, quality: 'good' }],
      ['forecast_24h_temp_c', { value: -6, ts: NOW - 0.5 * H, quality: 'bad' }],
      ['forecast_12h_temp_c', { value: 'x', ts: NOW - 0.5 * H, quality: 'good' }],
    ]);
    const fc = forecastFromFields(f, NOW)!;
    expect(fc.points).toEqual([
      { leadH: 0.5, tempC: 0 },
      { leadH: 2.5, tempC: -2 },
    ]);
    expect(forecastFromFields(f, NOW + 4 * H)).toBeNull();
  });

  it('interpolates between the measured value now and the forecast points', () => {
    const pts = [
      { leadH: 1, tempC: 0 },
      { leadH: 3, tempC: -4 },
    ];
    expect(outdoorAt(0, 2, pts)).toBe(2);
    expect(outdoorAt(0.5, 2, pts)).toBe(1);
    expect(outdoorAt(2, 2, pts)).toBe(-2);
    expect(outdoorAt(10, 2, pts)).toBe(-4);
  });

  it('averages over the lead window, and without a forecast is the measured value', () => {
    const pts = [
      { leadH: 3, tempC: -6 },
      { leadH: 6, tempC: -6 },
    ];
    const e = effectiveOutdoor(0, pts, 6);
    // Linear fall over 3 h then flat: mean = (−3·3 − 6·3)/6 = −4.5.
    expect(e.forwardC).toBeCloseTo(-4.5, 6);
    expect(e.usedForecast).toBe(true);
    expect(effectiveOutdoor(0, null, 6)).toMatchObject({ effectiveC: 0, usedForecast: false });
    expect(effectiveOutdoor(0, pts, 6, { attenuatedC: 2, attenuatedWeight: 0.5 }).effectiveC).toBeCloseTo(-1.25, 6);
    expect(leadHours(1, 50, 0.05, 12)).toBeCloseTo(3.5, 9);
    expect(leadHours(6, 200, 0.05, 12)).toBe(12);
  });
});

function flats(n: number, lo: number, hi: number): RoomSample[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `a${i}`,
    building: 'b1',
    suspended: false,
    sensor: { value: lo + ((hi - lo) * i) / (n - 1), ts: NOW - 60_000, quality: 'good' as const, changedAt: NOW - 600_000, ref: 0 },
  }));
}

const CFG: AdviceConfig = {
  curve: presetCurve('radiator', -5.3),
  feedback: DEFAULT_FEEDBACK,
  forecast: { emitterLagH: 1, tauFactor: 0.05, maxLeadH: 12, attenuatedWeight: 0 },
  flow: { stages: [], designDpMpa: null },
};

function inputs(over: Partial<AdviceInputs> = {}): AdviceInputs {
  return {
    now: NOW,
    outdoorC: 2,
    outdoorSource: 'substation',
    forecast: null,
    tauH: 50,
    tauSource: 'default',
    attenuatedC: null,
    stats: indoorStats(flats(60, 18.5, 21), NOW),
    currentSetpointC: 60,
    measuredSupplyC: 59.8,
    ...over,
  };
}

describe('advice anticipates the weather', () => {
  it('a cold snap ahead raises the advice now, while the rooms are still on target', () => {
    const snap = { issuedTs: NOW, points: [1, 3, 6, 12, 24].map((h) => ({ leadH: h, tempC: h <= 1 ? 1 : -8 })) };
    const steady = { issuedTs: NOW, points: [1, 3, 6, 12, 24].map((h) => ({ leadH: h, tempC: 2 })) };
    const fb = { integralK: 0, lastTs: NOW - 900_000 };
    const calm = computeAdvice(CFG, inputs({ forecast: steady }), fb).advice;
    const ahead = computeAdvice(CFG, inputs({ forecast: snap }), fb).advice;
    expect(ahead.recommendedC! - calm.recommendedC!).toBeGreaterThan(3);
    expect(ahead.explanation.forecastTermK).toBeGreaterThan(3);
    // The indoor feedback has nothing to do with it: the rooms are the same in both cases.
    expect(ahead.explanation.feedbackTermK).toBe(calm.explanation.feedbackTermK);
    expect(calm.explanation.forecastTermK).toBeCloseTo(0, 6);
  });

  it('a heavier building looks further ahead', () => {
    const snap = { issuedTs: NOW, points: [1, 3, 6, 12, 24].map((h) => ({ leadH: h, tempC: h < 6 ? 2 : -8 })) };
    const fb = { integralK: 0, lastTs: NOW - 900_000 };
    const light = computeAdvice(CFG, inputs({ forecast: snap, tauH: 10 }), fb).advice;
    const heavy = computeAdvice(CFG, inputs({ forecast: snap, tauH: 150 }), fb).advice;
    expect(heavy.explanation.forecast.leadH).toBeGreaterThan(light.explanation.forecast.leadH);
    expect(heavy.recommendedC!).toBeGreaterThan(light.recommendedC!);
  });

  it('explains every term and names the bound that held it', () => {
    const fb = { integralK: 0, lastTs: NOW - 900_000 };
    const a = computeAdvice(CFG, inputs({ outdoorC: -25 }), { integralK: 5, lastTs: NOW - 900_000 }).advice;
    expect(a.recommendedC).toBe(85);
    expect(a.explanation.boundBy).toContain('max');
    expect(a.explanation.unclampedC!).toBeGreaterThan(85);
    const b = computeAdvice(CFG, inputs(), fb).advice;
    expect(b.recommendedC!).toBeCloseTo(b.explanation.curveC! + b.explanation.forecastTermK! + b.explanation.feedbackTermK, 0);
    expect(b.changeK).toBeCloseTo(b.recommendedC! - 60, 6);
  });

  it('gives no advice without an outdoor temperature, and keeps the learned shift', () => {
    const r = computeAdvice(CFG, inputs({ outdoorC: null }), { integralK: 2, lastTs: NOW - 900_000 });
    expect(r.advice).toMatchObject({ valid: false, recommendedC: null });
    expect(r.feedback.integralK).toBe(2);
  });

  it('gives stepped-flow and pump ΔP advice when stages are configured', () => {
    const cfg = { ...CFG, flow: { stages: [{ belowOutdoorC: 5, relFlow: 0.8 }, { belowOutdoorC: -3, relFlow: 1 }], designDpMpa: 0.15 } };
    const a = computeAdvice(cfg, inputs({ outdoorC: 2 }), { integralK: 0, lastTs: null }).advice;
    expect(a.explanation.flow).toEqual({ mode: 'stepped', relFlow: 0.8, pumpDpMpa: 0.096 });
  });
});

describe('time constant from history', () => {
  it('recovers the time constant of a simulated first-order building', () => {
    const tau = 40;
    const b = 0.3 / tau;
    const a = 0.7 / tau;
    const tIn: number[] = [20];
    const tSup: number[] = [];
    const tOut: number[] = [];
    for (let k = 0; k < 24 * 10; k++) {
      const to = -2 + 5 * Math.sin((2 * Math.PI * k) / 24) + (k > 100 ? -6 : 0);
      const ts = 60 - 1.5 * to + (k % 37 < 5 ? 8 : 0);
      tOut.push(to);
      tSup.push(ts);
      const ti = tIn[k]!;
      tIn.push(ti + a * (to - ti) + b * (ts - ti) + 0.02);
    }
    tSup.push(NaN);
    tOut.push(NaN);
    const fit = fitTimeConstant(tIn, tSup, tOut)!;
    expect(fit.tauH).toBeGreaterThan(38);
    expect(fit.tauH).toBeLessThan(42);
    expect(fitTimeConstant(tIn.slice(0, 20), tSup.slice(0, 20), tOut.slice(0, 20))).toBeNull();
  });
});

describe('24 h load forecast', () => {
  it('fits load on outdoor temperature and sums the next 24 h with an error estimate', () => {
    const xs: number[] = [];
    const ys: number[] = [];
    let noise = 0;
    for (let k = 0; k < 24 * 7; k++) {
      const x = 2 + 4 * Math.sin((2 * Math.PI * k) / 24);
      noise = 0.6 * noise + 10 * Math.sin(k * 12.9898);
      xs.push(x);
      ys.push(800 - 30 * x + noise);
    }
    const fit = fitLinear(xs, ys)!;
    expect(fit.slope).toBeCloseTo(-30, 0);
    expect(fit.residualLag1).toBeGreaterThan(0);
    const fc = forecastTotal(fit, hourlyOutdoor(2, [{ leadH: 24, tempC: -4 }]));
    // Mean outdoor over hours 1..24 of a straight fall from 2 to −4 is −1.125.
    expect(fc.total).toBeCloseTo(24 * (fit.intercept + fit.slope * -1.125), 3);
    expect(fc.weatherSd).toBeGreaterThan(0);
    expect(fc.sd).toBeGreaterThanOrEqual(Math.max(fc.weatherSd, fc.residualSd));
    expect(fc.hourly).toHaveLength(24);
    expect(fitLinear([1, 2], [3, 4])).toBeNull();
  });
});
