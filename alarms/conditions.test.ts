import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  applyDelay,
  delayDue,
  evalBaseline,
  evalDeviation,
  evalDiscrete,
  evalFlatline,
  evalNeighbour,
  evalRate,
  evalShare,
  evalSpike,
  evalStale,
  evalThreshold,
  guardHolds,
  newDelayState,
  newLearnState,
  newSeriesBuffer,
  newSpikeState,
  pollDelay,
  type Verdict,
} from './conditions.ts';
import { Rule, ruleProblems, type BaselineRule, type DeviationRule, type FlatlineRule, type NeighbourRule, type RateRule, type ShareRule, type SpikeRule, type ThresholdRule } from './rules.ts';

const base = { id: 'r', name: 'r', assetKind: 'substation', category: 'equipment' };
function rule<T>(x: Record<string, unknown>): T {
  const r = Value.Default(Rule, { ...base, ...x });
  if (!Value.Check(Rule, r)) throw new Error([...Value.Errors(Rule, r)].map((e) => `${e.path} ${e.message}`).join('; '));
  expect(ruleProblems(r)).toEqual([]);
  return r as T;
}
const S = 1000;
const M = 60_000;
const shown = (v: Verdict | null) => (v === null ? null : v.active ? (v.level ?? 'on') : 'off');

describe('threshold HH/H/L/LL with deadband', () => {
  const r = rule<ThresholdRule>({ kind: 'threshold', field: 'x', hh: 90, h: 85, l: 20, ll: 10, deadband: 2 });
  it.each([
    // value sequence → level after each
    [[50, 85, 84, 83.1, 83, 50], ['off', 'h', 'h', 'h', 'off', 'off']],
    [[50, 91, 89, 88.5, 88, 86, 82.9], ['off', 'hh', 'hh', 'hh', 'h', 'h', 'off']],
    [[50, 20, 21.9, 22, 9, 11.9, 12, 30], ['off', 'l', 'l', 'off', 'll', 'll', 'l', 'off']],
    [[95, 5], ['hh', 'll']],
  ])('%j → %j', (values, levels) => {
    const st = { level: null };
    expect(values.map((v) => shown(evalThreshold(r, st, v)))).toEqual(levels);
  });

  it('compares the absolute value when asked (command − feedback either way)', () => {
    const a = rule<ThresholdRule>({ kind: 'threshold', field: 'cmd', minus: 'pos', abs: true, h: 5 });
    const st = { level: null };
    expect([-6, 6, 4].map((v) => shown(evalThreshold(a, st, v)))).toEqual(['h', 'h', 'off']);
  });

  it('refuses limits out of order and rules without a limit', () => {
    const bad = Value.Default(Rule, { ...base, kind: 'threshold', field: 'x', h: 10, hh: 5 }) as Rule;
    expect(ruleProblems(bad).map((p) => p[0])).toContain('/h');
    expect(ruleProblems(Value.Default(Rule, { ...base, kind: 'threshold', field: 'x' }) as Rule)[0]![1]).toMatch(/at least one/);
  });
});

describe('discrete and guards', () => {
  it('matches booleans, their 0/1 form, and strings', () => {
    const r = rule<Extract<Rule, { kind: 'discrete' }>>({ kind: 'discrete', field: 'vfd_fault', equals: true });
    expect([true, false, 1, 0].map((v) => shown(evalDiscrete(r, v)))).toEqual(['on', 'off', 'on', 'off']);
    expect(shown(evalDiscrete(rule({ kind: 'discrete', field: 'mode', equals: 'local' }), 'local'))).toBe('on');
  });

  it('a guard holds only when its field is present and within every bound', () => {
    expect(guardHolds({ field: 'f', above: 1 }, 2)).toBe(true);
    expect(guardHolds({ field: 'f', above: 1 }, 1)).toBe(false);
    expect(guardHolds({ field: 'f', above: 1, below: 3 }, 3)).toBe(false);
    expect(guardHolds({ field: 'f', equals: true }, true)).toBe(true);
    expect(guardHolds({ field: 'f', equals: true }, undefined)).toBe(false);
  });
});

describe('rate of change', () => {
  const r = rule<RateRule>({ kind: 'rate', field: 'supply_temp_c', windowS: 600, fallPerH: 12 });
  it('needs half a window of history, then compares the slope over the window', () => {
    const buf = newSeriesBuffer();
    const t0 = 1_000_000;
    // 100 °C, falling 1 K per minute (60 K/h) from minute 2.
    const out: (string | null)[] = [];
    for (let m = 0; m <= 12; m++) out.push(shown(evalRate(r, buf, t0 + m * M, m < 2 ? 100 : 100 - (m - 2))));
    expect(out.slice(0, 5)).toEqual([null, null, null, null, null]);
    expect(out[5]).toBe('on');
    expect(out[12]).toBe('on');
  });

  it('does not alarm on the slow weather-curve drift, and ignores out-of-order samples', () => {
    const buf = newSeriesBuffer();
    let last: Verdict | null = null;
    for (let m = 0; m <= 30; m++) last = evalRate(r, buf, m * M, 100 - m * 0.05);
    expect(shown(last)).toBe('off');
    expect(evalRate(r, buf, 5 * M, 0)).toBeNull();
  });
});

describe('stale', () => {
  it('is stale past maxAge or at once on a bad-quality status', () => {
    const st = { lastSeen: 0, bad: false };
    expect(shown(evalStale(30 * S, st, 30 * S))).toBe('off');
    expect(shown(evalStale(30 * S, st, 31 * S))).toBe('on');
    st.lastSeen = 40 * S;
    expect(shown(evalStale(30 * S, st, 41 * S))).toBe('off');
    st.bad = true;
    expect(shown(evalStale(30 * S, st, 41 * S))).toBe('on');
  });
});

describe('deviation from a setpoint', () => {
  it('holds until back inside band − deadband; one direction when asked', () => {
    const r = rule<DeviationRule>({ kind: 'deviation', field: 't', setpoint: 'sp', band: 5, deadband: 1 });
    const st = { active: false };
    expect([[60, 60], [54, 60], [55.5, 60], [56.5, 60], [66, 60]].map(([v, sp]) => shown(evalDeviation(r, st, v!, sp!)))).toEqual(['off', 'on', 'on', 'off', 'on']);
    const below = rule<DeviationRule>({ kind: 'deviation', field: 't', setpoint: 60, band: 5, direction: 'below' });
    expect(shown(evalDeviation(below, { active: false }, 70, 60))).toBe('off');
    expect(shown(evalDeviation(below, { active: false }, 50, 60))).toBe('on');
  });
});

describe('flat line (stuck sensor)', () => {
  const r = rule<FlatlineRule>({ kind: 'flatline', field: 't', windowS: 600, maxStdDev: 0.001, minSamples: 5 });
  it('judges only a full window, then alarms when the variance collapses', () => {
    const buf = newSeriesBuffer();
    const noisy = [60.1, 59.9, 60.05, 60.2, 59.95, 60.0, 60.1, 59.9, 60.05, 60.1, 60.0];
    const v = noisy.map((x, i) => shown(evalFlatline(r, buf, i * M, x)));
    expect(v.slice(0, 9)).toEqual(Array(9).fill(null));
    expect(v[10]).toBe('off');
    let last: Verdict | null = null;
    for (let i = 11; i <= 22; i++) last = evalFlatline(r, buf, i * M, 60.0);
    expect(shown(last)).toBe('on');
    expect(shown(evalFlatline(r, buf, 23 * M, 60.3))).toBe('off');
  });
});

describe('spike (modified z-score on the MAD)', () => {
  const r = rule<SpikeRule>({ kind: 'spike', field: 't', samples: 20, z: 6, minMad: 0.2, holdS: 3600, minCount: 2 });
  const wobble = (i: number) => 60 + 0.1 * Math.sin(i);

  it('counts isolated outliers and alarms at minCount within the hold, then ages them out', () => {
    const st = newSpikeState();
    const seq: [number, number][] = [];
    for (let i = 0; i < 20; i++) seq.push([i * 10 * S, wobble(i)]);
    seq.push([200 * S, 80], [210 * S, wobble(21)]);
    for (let i = 22; i < 30; i++) seq.push([i * 10 * S, wobble(i)]);
    seq.push([300 * S, 40], [310 * S, wobble(31)]);
    const out = seq.map(([t, v]) => shown(evalSpike(r, st, t, v)));
    expect(out.filter((x) => x === 'on')).not.toHaveLength(0);
    expect(out[out.length - 1]).toBe('on');
    expect(out.indexOf('on')).toBe(seq.length - 1);
    expect(shown(evalSpike(r, st, 4000 * S, wobble(40)))).toBe('off');
  });

  it('does not take a step (a hot front arriving) for spikes', () => {
    const st = newSpikeState();
    const out: (string | null)[] = [];
    for (let i = 0; i < 20; i++) out.push(shown(evalSpike(r, st, i * 10 * S, wobble(i))));
    for (let i = 20; i < 60; i++) out.push(shown(evalSpike(r, st, i * 10 * S, 70 + wobble(i))));
    expect(out).not.toContain('on');
    expect(st.spikes).toEqual([]);
  });
});

describe('share of members beyond a limit', () => {
  const r = rule<ShareRule>({ kind: 'share', assetKind: 'building', member: { kind: 'apartment' }, field: 'room_temp_c', below: 18, minShare: 0.2, minMembers: 5, deadband: 0.05 });
  it.each([
    [[[1, 10]], ['off']],
    [[[2, 10]], ['on']],
    [[[2, 10], [1.6, 10], [1.4, 10]], ['on', 'on', 'off']],
    [[[3, 4]], [null]],
  ])('%j → %j', (rounds, want) => {
    const st = { active: false };
    expect(rounds.map(([b, n]) => shown(evalShare(r, st, b!, n!)))).toEqual(want);
  });
});

describe('learned baseline (leak = make-up flow above its own normal)', () => {
  const r = rule<BaselineRule>({ kind: 'baseline', field: 'makeup_flow_m3h', factor: 3, margin: 0.1, learnHours: 6, warmupHours: 0.5 });
  it('learns during warm-up, alarms above baseline × factor + margin, and does not learn the leak', () => {
    const st = newLearnState();
    const H = 3_600_000;
    let v: Verdict | null = null;
    for (let t = 0; t <= H; t += 30 * S) v = evalBaseline(r, st, 0.11, t, false);
    expect(shown(v)).toBe('off');
    expect(st.value).toBeCloseTo(0.11, 5);
    for (let t = H; t <= 3 * H; t += 30 * S) v = evalBaseline(r, st, 0.98, t, v?.active ?? false);
    expect(shown(v)).toBe('on');
    expect(st.value).toBeCloseTo(0.11, 5);
    v = evalBaseline(r, st, 0.12, 3 * H + 30 * S, true);
    expect(shown(v)).toBe('off');
  });

  it('cannot judge before the warm-up', () => {
    const st = newLearnState();
    expect(evalBaseline(r, st, 5, 0, false)).toBeNull();
    expect(evalBaseline(r, st, 5, 60 * S, false)).toBeNull();
  });
});

describe('neighbours (heat theft, cold flat)', () => {
  const H = 3_600_000;
  it('learns each flat\'s usual offset from its neighbours and alarms on a departure', () => {
    const r = rule<NeighbourRule>({ kind: 'neighbour', assetKind: 'apartment', field: 'room_temp_c', offset: 'learn', aboveK: 2.5, learnHours: 24, warmupHours: 2 });
    const st = newLearnState();
    let v: Verdict | null = null;
    for (let t = 0; t <= 3 * H; t += 5 * M) v = evalNeighbour(r, st, 13, 21, t, false);
    expect(shown(v)).toBe('off');
    v = evalNeighbour(r, st, 15, 21, 3 * H + 5 * M, false);
    expect(shown(v)).toBe('off');
    v = evalNeighbour(r, st, 16, 21, 3 * H + 10 * M, false);
    expect(shown(v)).toBe('on');
    expect(v!.value).toBeCloseTo(3, 1);
  });

  it('with a fixed offset it judges at once', () => {
    const r = rule<NeighbourRule>({ kind: 'neighbour', assetKind: 'apartment', field: 'room_temp_c', offset: 0, belowK: 3 });
    expect(shown(evalNeighbour(r, newLearnState(), 19, 21, 0, false))).toBe('off');
    expect(shown(evalNeighbour(r, newLearnState(), 17.5, 21, 0, false))).toBe('on');
  });
});

describe('on- and off-delay', () => {
  it('flips only after the condition held for the delay, stamped when the delay ran out', () => {
    const st = newDelayState();
    const on = 60 * S;
    const off = 30 * S;
    expect(applyDelay(st, true, 0, on, off)).toBeNull();
    expect(delayDue(st, on, off)).toBe(60 * S);
    expect(applyDelay(st, true, 50 * S, on, off)).toBeNull();
    expect(applyDelay(st, false, 55 * S, on, off)).toBeNull();
    expect(delayDue(st, on, off)).toBeNull();
    expect(applyDelay(st, true, 70 * S, on, off)).toBeNull();
    expect(pollDelay(st, 129 * S, on, off)).toBeNull();
    expect(pollDelay(st, 135 * S, on, off)).toBe(130 * S);
    expect(st.out).toBe(true);
    expect(applyDelay(st, false, 200 * S, on, off)).toBeNull();
    expect(applyDelay(st, false, 240 * S, on, off)).toBe(230 * S);
    expect(st.out).toBe(false);
  });

  it('without delays flips at once', () => {
    const st = newDelayState();
    expect(applyDelay(st, true, 5, 0, 0)).toBe(5);
    expect(applyDelay(st, false, 6, 0, 0)).toBe(6);
  });
});
