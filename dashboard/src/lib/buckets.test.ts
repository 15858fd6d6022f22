import { describe, expect, it } from 'vitest';
import { bucketFor } from './buckets.ts';

const H = 3_600_000;

describe('bucketFor', () => {
  it.each([
    [1 * H, 'raw'],
    [6 * H, '1m'],
    [24 * H, '15m'],
    [7 * 24 * H, '1h'],
    [30 * 24 * H, '1h'],
    [365 * 24 * H, '1d'],
  ])('%d ms → %s', (ms, bucket) => {
    expect(bucketFor(ms)).toBe(bucket);
  });

  it('keeps every range far below the hub’s 50,000 points per field', () => {
    // Raw at one sample a second, the fastest a device here reports.
    const per = { raw: 1000, '1m': 60_000, '15m': 900_000, '1h': H, '1d': 24 * H } as const;
    for (const ms of [2 * H, 12 * H, 96 * H, 62 * 24 * H, 3 * 365 * 24 * H]) expect(ms / per[bucketFor(ms)]).toBeLessThanOrEqual(10_000);
    // Aggregated ranges stay a chart's width of points.
    for (const ms of [12 * H, 96 * H, 62 * 24 * H, 3 * 365 * 24 * H]) expect(ms / per[bucketFor(ms)]).toBeLessThanOrEqual(1500);
  });
});
