/**
 * The read path: history queries on reader connections of their own, so they never wait behind a write and always
 * see a committed state (a seal moves rows from `hot` to `raw` and the rollups in one transaction).
 *
 * How a query is answered, for one series and [from, to):
 * - raw bucket: sealed samples from `raw` plus unsealed ones from `hot` (deduplicated, last appended wins).
 * - other buckets: buckets lying wholly inside [from, to) come from the rollup table (sealed data only); samples of
 *   the partly covered edge buckets come from `raw`; unsealed samples from `hot`. All three give partial aggregates
 *   (count, sum, min, max, last) per bucket, combined in one GROUP BY, so the result does not depend on how much has
 *   been sealed. Rollups keep nothing of bad quality; `raw` and `hot` samples of bad quality are filtered here.
 *
 * Each SQL text is prepared once per connection and reused with new bindings (planning costs about as much as a
 * small query).
 */
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { WarmgridError } from '../../core/errors.ts';
import { AGGREGATES, BUCKET_MS, BUCKETS, type Aggregate, type HistoryPoint, type HistoryQuery } from '../telemetry-store.ts';
import { BAD_CODE, bucketStartSql, ROLLUP_EXPANDED, ROLLUP_TABLE, type RollupBucket } from './schema.ts';
import { SerialQueue } from './serial-queue.ts';

/** Bound for "no limit"; far above any real point count, well inside BIGINT. */
const NO_LIMIT = 2 ** 52;
/** Timestamps are clamped to the range a JS Date can hold. */
const TS_MAX = 8.64e15;

const FINAL_AGGREGATE: Readonly<Record<Aggregate, string>> = {
  mean: 'sum(sum_v) / sum(n)',
  min: 'min(min_v)',
  max: 'max(max_v)',
  last: 'arg_max(last_v, last_ts)',
};

type Param = 'series' | 'from' | 'to' | 'a' | 'b' | 'limit';

/** SQL text plus the order its positional parameters are bound in. */
export interface QueryPlan {
  sql: string;
  params: Param[];
}

class ParamList {
  readonly names: Param[] = [];
  ref(name: Param): string {
    let i = this.names.indexOf(name);
    if (i < 0) i = this.names.push(name) - 1;
    return `$${i + 1}`;
  }
}

/** Unsealed samples of one series in [from, to), one per timestamp (the last appended), bad ones included. */
function hotDeduped(p: ParamList): string {
  return `SELECT ts, arg_max(value, rowid) AS value, arg_max(quality, rowid) AS quality FROM hot
    WHERE series = ${p.ref('series')} AND ts >= ${p.ref('from')} AND ts < ${p.ref('to')} GROUP BY ts`;
}

export function rawPlan(): QueryPlan {
  const p = new ParamList();
  const sql = `SELECT ts::DOUBLE AS ts, value FROM (
    SELECT ts, value FROM raw
      WHERE series = ${p.ref('series')} AND ts >= ${p.ref('from')} AND ts < ${p.ref('to')} AND quality < ${BAD_CODE}
    UNION ALL
    SELECT ts, value FROM (${hotDeduped(p)}) WHERE quality < ${BAD_CODE}
  ) ORDER BY ts DESC LIMIT ${p.ref('limit')}`;
  return { sql, params: p.names };
}

/** Which parts of [from, to) a bucketed query needs: the aligned interior [a, b) and the edges outside it. */
export interface BucketParts {
  interior: boolean;
  left: boolean;
  right: boolean;
}

/**
 * A bucketed query made of the parts that exist for this range, so an aligned range never scans `raw` for edges.
 * Each part yields partial aggregates per bucket; the outer GROUP BY combines them.
 */
export function bucketPlan(bucket: RollupBucket, aggregate: Aggregate, parts: BucketParts): QueryPlan {
  const p = new ParamList();
  const start = bucketStartSql('ts', BUCKET_MS[bucket]);
  const sample = `${start} AS bucket, 1 AS n, value AS sum_v, value AS min_v, value AS max_v, ts AS last_ts, value AS last_v`;
  const branches: string[] = [];
  if (parts.interior) {
    branches.push(`SELECT ${ROLLUP_EXPANDED} FROM ${ROLLUP_TABLE[bucket]}
      WHERE series = ${p.ref('series')} AND ts >= ${p.ref('a')} AND ts < ${p.ref('b')}`);
  }
  if (parts.left) {
    branches.push(`SELECT ${sample} FROM raw
      WHERE series = ${p.ref('series')} AND ts >= ${p.ref('from')} AND ts < ${p.ref('a')} AND quality < ${BAD_CODE}`);
  }
  if (parts.right) {
    branches.push(`SELECT ${sample} FROM raw
      WHERE series = ${p.ref('series')} AND ts >= ${p.ref('b')} AND ts < ${p.ref('to')} AND quality < ${BAD_CODE}`);
  }
  branches.push(`SELECT ${sample} FROM (${hotDeduped(p)}) WHERE quality < ${BAD_CODE}`);
  const sql = `SELECT bucket::DOUBLE AS ts, ${FINAL_AGGREGATE[aggregate]} AS value FROM (
    ${branches.join('\n    UNION ALL\n    ')}
  ) GROUP BY bucket ORDER BY bucket DESC LIMIT ${p.ref('limit')}`;
  return { sql, params: p.names };
}

interface Reader {
  conn: DuckDBConnection;
  queue: SerialQueue;
  statements: Map<string, DuckDBPreparedStatement>;
}

/** Plans by shape (bucket, aggregate, parts); the SQL text does not depend on the connection. */
const plans = new Map<string, QueryPlan>();

export interface SeriesQuery {
  seriesId: number;
  from: number;
  to: number;
  bucket: HistoryQuery['bucket'];
  aggregate: Aggregate;
  limit: number | undefined;
}

/** Checks a history query; throws VALIDATION_FAILED for anything the port does not define. */
export function validateQuery(q: HistoryQuery): void {
  const bad = (m: string): never => {
    throw new WarmgridError('VALIDATION_FAILED', m);
  };
  if (typeof q.asset !== 'string') bad('asset must be a string');
  if (!Array.isArray(q.fields)) bad('fields must be an array');
  if (!(BUCKETS as readonly string[]).includes(q.bucket)) bad(`unknown bucket ${String(q.bucket)}`);
  if (!(AGGREGATES as readonly string[]).includes(q.aggregate)) bad(`unknown aggregate ${String(q.aggregate)}`);
  if (Number.isNaN(q.from) || Number.isNaN(q.to) || typeof q.from !== 'number' || typeof q.to !== 'number') bad('from and to must be numbers');
  if (q.limit !== undefined && !(Number.isInteger(q.limit) && q.limit >= 0)) bad('limit must be a non-negative integer');
}

export class HistoryReaders {
  readonly #readers: Reader[] = [];

  static async open(instance: DuckDBInstance, count: number): Promise<HistoryReaders> {
    const r = new HistoryReaders();
    for (let i = 0; i < count; i++) r.#readers.push({ conn: await instance.connect(), queue: new SerialQueue(), statements: new Map() });
    return r;
  }

  /** Points of one series in ascending time, at most `limit` (the newest). */
  query(q: SeriesQuery): Promise<HistoryPoint[]> {
    const reader = this.#pick();
    return reader.queue.run(() => runSeriesQuery(reader, q));
  }

  async close(): Promise<void> {
    for (const r of this.#readers) {
      await r.queue.idle();
      for (const s of r.statements.values()) s.destroySync();
      r.statements.clear();
      r.conn.closeSync();
    }
    this.#readers.length = 0;
  }

  #pick(): Reader {
    let best = this.#readers[0];
    if (!best) throw new WarmgridError('STORE_UNAVAILABLE', 'telemetry store is closed');
    for (const r of this.#readers) if (r.queue.depth < best.queue.depth) best = r;
    return best;
  }
}

async function runSeriesQuery(reader: Reader, q: SeriesQuery): Promise<HistoryPoint[]> {
  const from = BigInt(clampTs(Math.ceil(q.from)));
  const to = BigInt(clampTs(Math.ceil(q.to)));
  if (from >= to || q.limit === 0) return [];
  const values: Record<Param, bigint> = { series: BigInt(q.seriesId), from, to, a: to, b: to, limit: BigInt(q.limit ?? NO_LIMIT) };
  let plan: QueryPlan;
  if (q.bucket === 'raw') {
    plan = cachedPlan('raw', rawPlan);
  } else {
    const ms = BigInt(BUCKET_MS[q.bucket]);
    let a = ceilTo(from, ms);
    let b = floorTo(to, ms);
    if (a >= b) a = b = to;
    values.a = a;
    values.b = b;
    const parts: BucketParts = { interior: a < b, left: from < a, right: b < to };
    const key = `${q.bucket}:${q.aggregate}:${+parts.interior}${+parts.left}${+parts.right}`;
    const bucket = q.bucket;
    plan = cachedPlan(key, () => bucketPlan(bucket, q.aggregate, parts));
  }
  const stmt = await prepared(reader, plan.sql);
  plan.params.forEach((name, i) => {
    if (name === 'series') stmt.bindInteger(i + 1, q.seriesId);
    else stmt.bindBigInt(i + 1, values[name]);
  });
  const result = await stmt.runAndReadAll();
  const [tsCol, valueCol] = result.getColumns() as [number[], number[]];
  const n = result.currentRowCount;
  const out: HistoryPoint[] = new Array<HistoryPoint>(n);
  // Rows come newest first (so LIMIT keeps the newest); the port wants ascending time.
  for (let i = 0; i < n; i++) out[n - 1 - i] = { ts: tsCol[i]!, value: valueCol[i]! };
  return out;
}

function cachedPlan(key: string, make: () => QueryPlan): QueryPlan {
  let plan = plans.get(key);
  if (!plan) {
    plan = make();
    plans.set(key, plan);
  }
  return plan;
}

async function prepared(reader: Reader, sql: string): Promise<DuckDBPreparedStatement> {
  let stmt = reader.statements.get(sql);
  if (!stmt) {
    stmt = await reader.conn.prepare(sql);
    reader.statements.set(sql, stmt);
  }
  return stmt;
}

function clampTs(t: number): number {
  return Math.min(TS_MAX, Math.max(-TS_MAX, t));
}

function floorTo(t: bigint, ms: bigint): bigint {
  const r = ((t % ms) + ms) % ms;
  return t - r;
}

function ceilTo(t: bigint, ms: bigint): bigint {
  const f = floorTo(t, ms);
  return f === t ? t : f + ms;
}
