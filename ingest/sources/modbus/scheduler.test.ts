import { describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../../core/clock.ts';
import { Cadence, isLate, Limiter, reconnectDelay, staggerPhases } from './scheduler.ts';

describe('Limiter', () => {
  it('lets `limit` holders in and hands slots to waiters first come, first served', async () => {
    const l = new Limiter(2);
    const order: number[] = [];
    await l.acquire();
    await l.acquire();
    expect(l.active).toBe(2);
    const waits = [3, 4, 5].map((n) => l.acquire().then(() => order.push(n)));
    expect(l.waiting).toBe(3);
    l.release();
    l.release();
    await Promise.resolve();
    expect(order).toEqual([3, 4]);
    l.release();
    await Promise.all(waits);
    expect(order).toEqual([3, 4, 5]);
    expect(l.active).toBe(2);
    l.release();
    l.release();
    expect(l.active).toBe(0);
    expect(l.tryAcquire()).toBe(true);
  });
});

describe('staggerPhases', () => {
  it('spreads devices evenly over their interval', () => {
    expect(staggerPhases([1000, 1000, 1000, 1000])).toEqual([0, 250, 500, 750]);
    expect(staggerPhases([1000, 5000])).toEqual([0, 2500]);
    expect(staggerPhases([])).toEqual([]);
  });
});

describe('reconnectDelay', () => {
  it('retries at once, then doubles from minMs up to maxMs, with ±20 % jitter', () => {
    const mid = (): number => 0.5;
    expect([1, 2, 3, 4, 5, 10, 40].map((n) => reconnectDelay(n, 1000, 30_000, mid))).toEqual([0, 1000, 2000, 4000, 8000, 30_000, 30_000]);
    expect(reconnectDelay(3, 1000, 30_000, () => 0)).toBe(1600);
    expect(reconnectDelay(3, 1000, 30_000, () => 1)).toBe(2400);
  });
});

describe('isLate', () => {
  it('is late when the data came more than half an interval after the due time', () => {
    expect(isLate(1000, 1400, 1000)).toBe(false);
    expect(isLate(1000, 1500, 1000)).toBe(false);
    expect(isLate(1000, 1501, 1000)).toBe(true);
  });
});

describe('Cadence', () => {
  it('fires at phase + k·interval without drift', () => {
    const clock = new ManualClock(0);
    const dues: number[] = [];
    const c = new Cadence(clock, 1000, (due) => dues.push(due));
    c.start(250);
    clock.advance(3300);
    expect(dues).toEqual([250, 1250, 2250, 3250]);
    c.stop();
    clock.advance(5000);
    expect(dues).toHaveLength(4);
  });

  it('reports cycles passed over when it fired more than an interval late, and does not fire them', () => {
    let now = 0;
    const timers: (() => void)[] = [];
    const clock: Clock = { now: () => now, setTimeout: (fn) => (timers.push(fn), {}), clearTimeout: () => {} };
    const calls: [number, number][] = [];
    const c = new Cadence(clock, 1000, (due, skipped) => calls.push([due, skipped]));
    c.start(0);
    timers.shift()!();
    // The event loop was blocked: the timer for the cycle due at 1000 runs at 4500.
    now = 4500;
    timers.shift()!();
    expect(calls).toEqual([
      [0, 0],
      [4000, 3],
    ]);
    expect(c.nextDue).toBe(5000);
    c.stop();
  });
});
