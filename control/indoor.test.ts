import { describe, expect, it } from 'vitest';
import { DEFAULT_FEEDBACK, DEFAULT_SENSOR_CHECKS, feedbackStep, indoorStats, RoomSensorTracker, type FeedbackState, type RoomSample } from './indoor.ts';

const NOW = Date.UTC(2026, 0, 15, 12);
const H = 3_600_000;

/** A substation of `n` apartments spread evenly between lo and hi, all with fresh, good, moving sensors. */
function flats(n: number, lo: number, hi: number, building = 'b1'): RoomSample[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${building}-${i}`,
    building,
    suspended: false,
    sensor: { value: lo + ((hi - lo) * i) / (n - 1), ts: NOW - 60_000, quality: 'good' as const, changedAt: NOW - 600_000, ref: 0 },
  }));
}

describe('indoor statistics', () => {
  it('gives mean, 10th percentile and the shares outside the 18–22 °C band', () => {
    const s = indoorStats(flats(101, 17, 23), NOW);
    expect(s.valid).toBe(101);
    expect(s.meanC).toBeCloseTo(20, 9);
    expect(s.quantileC).toBeCloseTo(17.6, 9);
    expect(s.shareBelowLow).toBeCloseTo(17 / 101, 9);
    expect(s.shareAboveHigh).toBeCloseTo(17 / 101, 9);
  });

  it('leaves out suspended accounts and dead, stale, pinned and stuck sensors, and says why', () => {
    const list = flats(40, 19, 21);
    list[0] = { ...list[0]!, suspended: true, sensor: { ...list[0]!.sensor!, value: 11 } };
    list[1] = { ...list[1]!, sensor: { ...list[1]!.sensor!, quality: 'bad' } };
    list[2] = { ...list[2]!, sensor: { ...list[2]!.sensor!, ts: NOW - 2 * H } };
    list[3] = { ...list[3]!, sensor: { ...list[3]!.sensor!, value: 0 } };
    list[4] = { ...list[4]!, sensor: { ...list[4]!.sensor!, value: 5 } };
    list[5] = { ...list[5]!, sensor: { ...list[5]!.sensor!, changedAt: NOW - 7 * H } };
    list[6] = { ...list[6]!, sensor: undefined };
    const s = indoorStats(list, NOW);
    expect(s.excluded).toMatchObject({ suspended: 1, bad: 1, stale: 1, sentinel: 1, range: 1, stuck: 1, missing: 1 });
    expect(s.valid).toBe(33);
    expect(s.minC).toBeGreaterThanOrEqual(19);
  });

  it('drops a value far from all the others as an outlier (a faulty sensor, or a flat that needs a repair)', () => {
    const list = flats(60, 19.5, 21);
    list[10] = { ...list[10]!, sensor: { ...list[10]!.sensor!, value: 12.5 } };
    const s = indoorStats(list, NOW);
    expect(s.excluded.outlier).toBe(1);
    expect(s.outliers).toEqual([{ id: 'b1-10', valueC: 12.5 }]);
    expect(s.quantileC).toBeGreaterThan(19.5);
  });

  it('keeps a whole building that runs colder than its neighbours (not outliers), and still drops an air lock in it', () => {
    // Three warm buildings and one cold one, as under one curve when emitters are sized with different margins.
    const list = [...flats(30, 22, 23, 'w1'), ...flats(30, 22, 23.5, 'w2'), ...flats(30, 21.5, 23, 'w3'), ...flats(12, 17.6, 18.6, 'cold')];
    const s = indoorStats(list, NOW);
    expect(s.excluded.outlier).toBe(0);
    expect(s.minC).toBeCloseTo(17.6, 9);
    expect(s.coldestBuilding?.id).toBe('cold');
    const withAirLock = list.map((x) => (x.id === 'cold-3' ? { ...x, sensor: { ...x.sensor!, value: 12 } } : x));
    const t = indoorStats(withAirLock, NOW);
    expect(t.outliers).toEqual([{ id: 'cold-3', valueC: 12 }]);
  });

  it('finds the coldest building by its own quantile', () => {
    const s = indoorStats([...flats(30, 19, 22, 'warm'), ...flats(30, 18, 20, 'cold')], NOW);
    expect(s.coldestBuilding?.id).toBe('cold');
    expect(s.coldestBuilding!.quantileC).toBeCloseTo(18.2, 9);
  });
});

describe('room sensor tracker', () => {
  it('notices a value that stops moving (stuck: zero variance over hours)', () => {
    const t = new RoomSensorTracker();
    for (let k = 0; k <= 8 * 12; k++) t.observe('a', 20 + 0.1 * (k % 3), NOW + k * 300_000, 'good');
    for (let k = 0; k <= 8 * 12; k++) t.observe('b', 19.4, NOW + k * 300_000, 'good');
    const end = NOW + 8 * H;
    const s = indoorStats(
      [
        { id: 'a', building: 'x', suspended: false, sensor: t.get('a') },
        { id: 'b', building: 'x', suspended: false, sensor: t.get('b') },
      ],
      end,
      { checks: DEFAULT_SENSOR_CHECKS },
    );
    expect(s.excluded.stuck).toBe(1);
    expect(s.valid).toBe(1);
  });

  it('keeps the last value when a status-only reading marks the device bad', () => {
    const t = new RoomSensorTracker();
    t.observe('a', 20.1, NOW, 'good');
    t.observe('a', null, NOW + 1000, 'bad');
    expect(t.get('a')).toMatchObject({ value: 20.1, quality: 'bad' });
  });
});

describe('feedback: a bounded parallel shift with PI action', () => {
  const cfg = { ...DEFAULT_FEEDBACK };

  it('raises the curve when the cold tail is below target and lowers it when it is above', () => {
    const cold = indoorStats(flats(50, 17.5, 20), NOW);
    const warm = indoorStats(flats(50, 20, 23), NOW);
    const s0: FeedbackState = { integralK: 0, lastTs: NOW - 900_000 };
    expect(feedbackStep(s0, NOW, cold, cfg).termK).toBeGreaterThan(0);
    expect(feedbackStep(s0, NOW, warm, cfg).termK).toBeLessThan(0);
  });

  it('one dead sensor at 5 °C does not raise the whole substation', () => {
    const good = flats(80, 18.8, 21.5);
    const dead = { ...good[7]!, id: 'b1-dead', sensor: { ...good[7]!.sensor!, value: 5 } };
    const withDead = [...good, dead];
    const s0: FeedbackState = { integralK: 1.2, lastTs: NOW - 900_000 };
    const a = feedbackStep(s0, NOW, indoorStats(good, NOW), cfg);
    const b = feedbackStep(s0, NOW, indoorStats(withDead, NOW), cfg);
    expect(Math.abs(b.termK - a.termK)).toBeLessThan(0.01);
    // Even if the plausible range let it through, the robust statistics would keep it out.
    const b2 = feedbackStep(s0, NOW, indoorStats(withDead, NOW, { checks: { ...DEFAULT_SENSOR_CHECKS, minC: -50 } }), cfg);
    expect(Math.abs(b2.termK - a.termK)).toBeLessThan(0.01);
    // A plain mean would have been pulled down by 0.17 K and asked for more heat.
    const naiveMean = (list: typeof good) => list.reduce((s, x) => s + x.sensor!.value!, 0) / list.length;
    expect(naiveMean(good) - naiveMean(withDead)).toBeGreaterThan(0.15);
  });

  it('pushes down harder when many flats are above 22 °C while the cold tail has margin', () => {
    const s0: FeedbackState = { integralK: 0, lastTs: NOW - 900_000 };
    const hot = indoorStats(flats(50, 18.7, 24), NOW);
    const plain = feedbackStep(s0, NOW, hot, { ...cfg, overheatGainK: 0 });
    const pushed = feedbackStep(s0, NOW, hot, cfg);
    expect(pushed.termK).toBeLessThan(plain.termK);
  });

  it('anti-windup: the integral stops while the setpoint is saturated, stays inside the bounds, and recovers at once', () => {
    const cold = indoorStats(flats(50, 15, 17), NOW);
    let st: FeedbackState = { integralK: 0, lastTs: NOW };
    let t = NOW;
    for (let k = 0; k < 400; k++) {
      t += 900_000;
      st = feedbackStep(st, t, cold, cfg).state;
    }
    expect(st.integralK).toBeLessThanOrEqual(cfg.shiftMaxK);
    const held = feedbackStep({ integralK: 3, lastTs: t }, t + 900_000, cold, cfg, 'max');
    expect(held.frozen).toBe('saturated');
    expect(held.iK).toBe(3);
    // Once the rooms are warm the shift comes down within a step, not after unwinding a huge integral.
    const warm = indoorStats(flats(50, 20, 22), NOW);
    const after = feedbackStep(st, t + 900_000, warm, cfg);
    expect(after.termK).toBeLessThan(st.integralK);
    expect(after.bounded === null || after.bounded === 'shift_max').toBe(true);
  });

  it('bounds the shift', () => {
    const freezing = indoorStats(flats(50, 9, 10), NOW);
    const r = feedbackStep({ integralK: 14, lastTs: NOW - 900_000 }, NOW, freezing, cfg);
    expect(r.termK).toBe(cfg.shiftMaxK);
    expect(r.bounded).toBe('shift_max');
  });

  it('holds the shift when too few sensors are valid', () => {
    const few = flats(50, 17, 18).map((a, i) => (i < 45 ? { ...a, sensor: undefined } : a));
    const r = feedbackStep({ integralK: 2.5, lastTs: NOW - 900_000 }, NOW, indoorStats(few, NOW), cfg);
    expect(r).toMatchObject({ frozen: 'too_few_valid', termK: 2.5, pK: 0 });
  });
});
