import type { Bucket } from '../api/types.ts';

const H = 3_600_000;
export const BUCKET_MS: Record<Bucket, number> = { raw: 0, '1m': 60_000, '15m': 900_000, '1h': H, '1d': 24 * H };

/** The history bucket for a time range: a few hundred points per series at most (the hub serves up to 50,000). */
export function bucketFor(ms: number): Bucket {
  if (ms <= 2 * H) return 'raw';
  if (ms <= 12 * H) return '1m';
  if (ms <= 96 * H) return '15m';
  if (ms <= 62 * 24 * H) return '1h';
  return '1d';
}
