/**
 * On-disk layout of the embedded telemetry store (one DuckDB file under the store's directory).
 *
 * Tables and who writes them (all writes go through the store's single writer connection, one at a time):
 * - `series`: asset/field → integer id and the kind of its values. Appended by `write`, never deleted.
 * - `hot`: numeric samples (series, ts, value, quality) as they arrive: time-ordered, every series interleaved,
 *   possibly holding a retried sample twice (the last one appended wins). Appended by `write`, drained by the seal.
 * - `raw`: sealed numeric samples, deduplicated, each sealed range inserted sorted by (series, ts) so that the zone
 *   maps on `series` let a one-series query skip almost every row group. Filled by the seal, trimmed by retention.
 * - `r1m`, `r15m`, `r1h`, `r1d`: rollups of sealed samples of good or uncertain quality, one row per (series, bucket,
 *   seal) holding partial aggregates (count, sum, min, max, last); a bucket sealed in several steps has several rows,
 *   which queries combine. Filled by the seal, trimmed by retention. Stored compactly (see ROLLUP_COLUMNS).
 * - `text_hot`: string values since the last latest-snapshot (strings have no history; they are kept for `latest`).
 * - `latest`: a snapshot of the latest value per series, rewritten by each seal; at open, latest values are the
 *   snapshot merged with whatever is still in `hot` and `text_hot`.
 * - `late_stage`: always empty outside a write; holds samples older than the seal watermark while they are checked
 *   against `raw`.
 * - `meta`: schema version and the seal watermark (every sample with ts below it is in `raw`, not in `hot`, except
 *   samples that arrived late and wait in `hot` for the next seal).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { WarmgridError } from '../../core/errors.ts';
import type { Quality } from '../../ingest/reading.ts';
import type { Bucket } from '../telemetry-store.ts';

export const SCHEMA_VERSION = 1;
export const DB_FILE = 'telemetry.duckdb';

export const QUALITY_CODE: Readonly<Record<Quality, number>> = { good: 0, uncertain: 1, bad: 2 };
export const QUALITY_BY_CODE: readonly Quality[] = ['good', 'uncertain', 'bad'];
/** Samples with a quality code at or above this are left out of history and aggregates. */
export const BAD_CODE = 2;

export const KIND_NUMBER = 0;
export const KIND_BOOLEAN = 1;
export const KIND_TEXT = 2;
export type ValueKind = typeof KIND_NUMBER | typeof KIND_BOOLEAN | typeof KIND_TEXT;

export type RollupBucket = Exclude<Bucket, 'raw'>;
export const ROLLUP_TABLE: Readonly<Record<RollupBucket, string>> = { '1m': 'r1m', '15m': 'r15m', '1h': 'r1h', '1d': 'r1d' };
/** Each rollup is computed from the one before it, the first from the sealed samples. */
export const ROLLUP_ORDER: readonly RollupBucket[] = ['1m', '15m', '1h', '1d'];

/** SQL for the UTC-aligned start of the bucket of `col` (epoch ms); correct for negative timestamps too. */
export function bucketStartSql(col: string, ms: number): string {
  return `(${col} - ((${col} % ${ms}) + ${ms}) % ${ms})`;
}

const SAMPLE_COLUMNS = 'series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE NOT NULL, quality UTINYINT NOT NULL';
/**
 * A rollup row: `ts` is the bucket start; `min_v` is always set; `max_v`, `last_v` are NULL when equal to `min_v`
 * and `sum_v` is NULL when `n` is 1; `last_off` is the last sample's offset from the bucket start. With samples a
 * minute or more apart most 1-minute buckets hold one sample, and this way such a row costs about what a raw sample
 * costs instead of four doubles (NULL-only segments compress to nothing).
 */
const ROLLUP_COLUMNS =
  'series INTEGER NOT NULL, ts BIGINT NOT NULL, n UINTEGER NOT NULL, min_v DOUBLE NOT NULL, max_v DOUBLE, sum_v DOUBLE, ' +
  'last_v DOUBLE, last_off UINTEGER NOT NULL';

/** Columns of a stored rollup row as full partial aggregates (bucket, n, sum_v, min_v, max_v, last_ts, last_v). */
export const ROLLUP_EXPANDED =
  'ts AS bucket, n, coalesce(sum_v, min_v) AS sum_v, min_v, coalesce(max_v, min_v) AS max_v, ts + last_off AS last_ts, ' +
  'coalesce(last_v, min_v) AS last_v';

/** The stored form of full partial aggregates read from a relation with columns as in ROLLUP_EXPANDED. */
export const ROLLUP_COMPACTED =
  'series, bucket, n, min_v, CASE WHEN max_v = min_v THEN NULL ELSE max_v END, CASE WHEN n = 1 THEN NULL ELSE sum_v END, ' +
  'CASE WHEN last_v = min_v THEN NULL ELSE last_v END, (last_ts - bucket)::UINTEGER';

const DDL: readonly string[] = [
  'CREATE TABLE IF NOT EXISTS meta (key VARCHAR NOT NULL, value BIGINT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS series (id INTEGER NOT NULL, asset VARCHAR NOT NULL, field VARCHAR NOT NULL, kind UTINYINT NOT NULL)',
  `CREATE TABLE IF NOT EXISTS hot (${SAMPLE_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS raw (${SAMPLE_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS late_stage (${SAMPLE_COLUMNS})`,
  'CREATE TABLE IF NOT EXISTS text_hot (series INTEGER NOT NULL, ts BIGINT NOT NULL, value VARCHAR NOT NULL, quality UTINYINT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS latest (series INTEGER NOT NULL, ts BIGINT NOT NULL, kind UTINYINT NOT NULL, num DOUBLE, text VARCHAR, quality UTINYINT NOT NULL)',
  ...ROLLUP_ORDER.map((b) => `CREATE TABLE IF NOT EXISTS ${ROLLUP_TABLE[b]} (${ROLLUP_COLUMNS})`),
];

/** Creates missing tables and checks the schema version; refuses a file written by a newer version. */
export async function migrate(conn: DuckDBConnection): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const sql of DDL) await conn.run(sql);
    const version = await readMeta(conn, 'schema_version');
    if (version === null) {
      await writeMeta(conn, 'schema_version', SCHEMA_VERSION);
    } else if (version > SCHEMA_VERSION) {
      throw new WarmgridError('STORE_UNAVAILABLE', `telemetry file has schema version ${version}; this build reads up to ${SCHEMA_VERSION}`);
    }
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export async function readMeta(conn: DuckDBConnection, key: string): Promise<number | null> {
  const reader = await conn.runAndReadAll('SELECT value::DOUBLE FROM meta WHERE key = $1', [key]);
  const v = reader.getRows()[0]?.[0];
  return typeof v === 'number' ? v : null;
}

export async function writeMeta(conn: DuckDBConnection, key: string, value: number): Promise<void> {
  await conn.run('DELETE FROM meta WHERE key = $1', [key]);
  await conn.run('INSERT INTO meta VALUES ($1, $2::BIGINT)', [key, value]);
}
