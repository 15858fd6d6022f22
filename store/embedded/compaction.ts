/**
 * Sealing, rollups and retention: the periodic work that keeps queries fast and the file bounded.
 *
 * Contract: every function here runs on the writer connection through the store's serial queue, never at the same
 * time as a write, and each one is a single transaction: a kill at any point leaves either the state before or the
 * state after, never a half-sealed range.
 *
 * The seal moves every sample with ts below the new watermark from `hot` to `raw` (deduplicated, last appended wins,
 * sorted by series then ts so each sealed range is clustered by series), appends partial rollups of exactly those
 * samples to every rollup table, snapshots the latest values and advances the watermark. Samples that arrive later
 * with ts below the watermark wait in `hot` for the next seal; their rollup rows then join the earlier ones for the
 * same buckets, which is why rollup rows are partial aggregates that queries combine.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { slicer } from '../../core/slicer.ts';
import { BUCKET_MS, type RetentionPolicy } from '../telemetry-store.ts';
import {
  BAD_CODE,
  bucketStartSql,
  KIND_BOOLEAN,
  KIND_NUMBER,
  KIND_TEXT,
  QUALITY_CODE,
  ROLLUP_COMPACTED,
  ROLLUP_ORDER,
  ROLLUP_TABLE,
  writeMeta,
} from './schema.ts';
import type { SeriesRegistry } from './series-registry.ts';

const DAY_MS = 86_400_000;

function rollupTemp(bucket: string): string {
  return `roll_${bucket}`;
}

/**
 * Seals samples with ts < `watermark` and rewrites the latest snapshot. Returns the number of samples moved to `raw`.
 * The caller guarantees `watermark` never decreases, and passes `dedupe` whenever `hot` may hold a (series, ts) twice
 * below the watermark; without it the seal skips the grouping, which is most of its cost.
 */
export async function seal(conn: DuckDBConnection, registry: SeriesRegistry, watermark: number, dedupe: boolean): Promise<number> {
  const temps = ['seal_rows', ...ROLLUP_ORDER.map(rollupTemp)];
  await conn.run('BEGIN TRANSACTION');
  try {
    const select = dedupe
      ? `SELECT series, ts, arg_max(value, rowid) AS value, arg_max(quality, rowid) AS quality
         FROM hot WHERE ts < $1::BIGINT GROUP BY series, ts`
      : 'SELECT series, ts, value, quality FROM hot WHERE ts < $1::BIGINT';
    await conn.run(`CREATE OR REPLACE TEMP TABLE seal_rows AS ${select} ORDER BY series, ts`, [watermark]);
    // seal_rows is in (series, ts) order and an insert keeps the order it reads.
    const inserted = await conn.run('INSERT INTO raw SELECT series, ts, value, quality FROM seal_rows');
    const sealed = Number(inserted.rowsChanged);
    if (sealed > 0) {
      let source = 'seal_rows';
      for (const bucket of ROLLUP_ORDER) {
        const start = bucketStartSql(source === 'seal_rows' ? 'ts' : 'bucket', BUCKET_MS[bucket]);
        const select =
          source === 'seal_rows'
            ? `SELECT series, ${start} AS bucket, count(*)::UINTEGER AS n, sum(value) AS sum_v, min(value) AS min_v,
                 max(value) AS max_v, max(ts) AS last_ts, arg_max(value, ts) AS last_v
               FROM seal_rows WHERE quality < ${BAD_CODE} GROUP BY ALL`
            : `SELECT series, ${start} AS bucket, sum(n)::UINTEGER AS n, sum(sum_v) AS sum_v, min(min_v) AS min_v,
                 max(max_v) AS max_v, max(last_ts) AS last_ts, arg_max(last_v, last_ts) AS last_v
               FROM ${source} GROUP BY ALL`;
        const temp = rollupTemp(bucket);
        await conn.run(`CREATE OR REPLACE TEMP TABLE ${temp} AS ${select}`);
        await conn.run(`INSERT INTO ${ROLLUP_TABLE[bucket]} SELECT ${ROLLUP_COMPACTED} FROM ${temp} ORDER BY series, bucket`);
        source = temp;
      }
    }
    await conn.run('DELETE FROM hot WHERE ts < $1::BIGINT', [watermark]);
    await writeLatestSnapshot(conn, registry);
    await conn.run('DELETE FROM text_hot');
    await writeMeta(conn, 'watermark', watermark);
    await conn.run('COMMIT');
    return sealed;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    for (const t of temps) await conn.run(`DROP TABLE IF EXISTS temp.${t}`).catch(() => undefined);
  }
}

/** Replaces the `latest` table with the registry's latest values (the caller holds the transaction). */
async function writeLatestSnapshot(conn: DuckDBConnection, registry: SeriesRegistry): Promise<void> {
  await conn.run('DELETE FROM latest');
  const app = await conn.createAppender('latest');
  // Hundreds of thousands of series in a city: in slices, so the event loop keeps turning (the write queue holds every
  // other use of this connection and of the registry until the seal is done).
  const pause = slicer();
  try {
    for (const e of registry.withLatest()) {
      await pause();
      app.appendInteger(e.id);
      app.appendBigInt(BigInt(e.latestTs));
      const v = e.latestValue;
      app.appendUTinyInt(typeof v === 'string' ? KIND_TEXT : typeof v === 'boolean' ? KIND_BOOLEAN : KIND_NUMBER);
      if (typeof v === 'string') {
        app.appendNull();
        app.appendVarchar(v);
      } else {
        app.appendDouble(typeof v === 'boolean' ? (v ? 1 : 0) : v);
        app.appendNull();
      }
      app.appendUTinyInt(QUALITY_CODE[e.latestQuality]);
      app.endRow();
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
}

export interface RetentionCutoffs {
  raw: number | null;
  '1m': number | null;
  '15m': number | null;
  '1h': number | null;
  '1d': number | null;
}

/** Oldest timestamp kept per resolution at time `now`; null keeps everything. */
export function retentionCutoffs(policy: RetentionPolicy, now: number): RetentionCutoffs {
  const cut = (days: number): number | null => (days > 0 ? now - days * DAY_MS : null);
  return {
    raw: cut(policy.rawDays),
    '1m': cut(policy['1mDays']),
    '15m': cut(policy['15mDays']),
    '1h': cut(policy['1hDays']),
    '1d': cut(policy['1dDays']),
  };
}

/** Deletes what retention no longer keeps, in one transaction. Returns the number of rows deleted. */
export async function applyRetention(conn: DuckDBConnection, cutoffs: RetentionCutoffs): Promise<number> {
  const work: [string, number][] = [];
  if (cutoffs.raw !== null) work.push(['raw', cutoffs.raw], ['hot', cutoffs.raw]);
  for (const b of ROLLUP_ORDER) {
    const c = cutoffs[b];
    if (c !== null) work.push([ROLLUP_TABLE[b], c]);
  }
  if (work.length === 0) return 0;
  let deleted = 0;
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const [table, cutoff] of work) {
      const r = await conn.run(`DELETE FROM ${table} WHERE ts < $1::BIGINT`, [cutoff]);
      deleted += Number(r.rowsChanged);
    }
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return deleted;
}
