import type { FieldValue, Quality, Reading } from '../ingest/reading.ts';

/**
 * TelemetryStore: the port every telemetry backend implements (embedded, InfluxDB, ...).
 *
 * Lifecycle: `open()` once before anything else; then `write`, `latest`, `history` may be called concurrently;
 * `close()` once at the end, after which no call is made. `close()` flushes what was accepted.
 *
 * Contract for `write(batch)`:
 * - It resolves only once the whole batch is durable (survives a crash of this process); the pipeline acknowledges
 *   readings upstream (e.g. to an MQTT broker) only after that. It rejects when nothing of the batch may be assumed
 *   stored; the caller may retry the batch, so a write must be idempotent per (asset, field, ts).
 * - Writes of one caller are applied in call order. Timestamps are kept as given (epoch ms), never replaced.
 * - Numeric and boolean fields form history (booleans as 0/1). String fields are kept as latest values only.
 * - Readings of quality `bad` are stored with their quality; history aggregates skip bad samples.
 *
 * `history` returns, for each requested field, points in ascending time; with a bucket other than `raw`, one point per
 * non-empty bucket, stamped at the bucket's start (UTC-aligned), holding the chosen aggregate of the good samples in it.
 */
export interface TelemetryStore {
  readonly kind: string;
  open(): Promise<void>;
  write(batch: readonly Reading[]): Promise<void>;
  latest(assets?: readonly string[]): Promise<LatestByAsset>;
  history(query: HistoryQuery): Promise<HistoryResult>;
  /** Current health, cheap to call (used by /api/health). */
  health(): Promise<ComponentHealth>;
  stats(): StoreStats;
  close(): Promise<void>;
}

export const BUCKETS = ['raw', '1m', '15m', '1h', '1d'] as const;
export type Bucket = (typeof BUCKETS)[number];
export const BUCKET_MS: Readonly<Record<Exclude<Bucket, 'raw'>, number>> = {
  '1m': 60_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

export const AGGREGATES = ['mean', 'min', 'max', 'last'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface HistoryQuery {
  asset: string;
  fields: readonly string[];
  /** Inclusive start, epoch ms. */
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  bucket: Bucket;
  aggregate: Aggregate;
  /** Upper bound on points per field; raw queries past it are cut at the newest `limit` points. */
  limit?: number;
}

export interface HistoryPoint {
  ts: number;
  value: number;
}

export interface HistoryResult {
  asset: string;
  bucket: Bucket;
  aggregate: Aggregate;
  series: Record<string, HistoryPoint[]>;
}

export interface LatestValue {
  value: FieldValue;
  ts: number;
  quality: Quality;
}

/** asset id → field → latest value. */
export type LatestByAsset = Map<string, Map<string, LatestValue>>;

export type HealthStatus = 'up' | 'degraded' | 'down';

export interface ComponentHealth {
  status: HealthStatus;
  detail?: string;
  [key: string]: unknown;
}

export interface StoreStats {
  rowsWritten: number;
  batchesWritten: number;
  writeErrors: number;
  /** Readings accepted but not yet durable. */
  pending: number;
}

/** Retention per resolution, in days; 0 keeps forever. */
export interface RetentionPolicy {
  rawDays: number;
  '1mDays': number;
  '15mDays': number;
  '1hDays': number;
  '1dDays': number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  rawDays: 14,
  '1mDays': 90,
  '15mDays': 400,
  '1hDays': 3650,
  '1dDays': 0,
};
