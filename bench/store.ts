/**
 * bench/store: the embedded telemetry store at the size the issue asks for.
 *
 * Builds a store of 10,000 series (250 substations x 40 fields) and 50 M samples (5,000 scans, one per minute, so
 * about 3.5 days ending now), written as the hub writes them: one batch per scan (10,000 values), every series
 * interleaved in time order, compaction called after every scan as its timer would (it seals once per hour of data). Then 200 queries of a random
 * series: the last 24 h in 1-minute buckets, mean.
 *
 * Baseline, measured in the same run: the same rows through a bare DuckDB appender into a plain table (one
 * transaction per batch, columns prepared in advance, no Reading conversion, no seal), and the same query as one
 * prepared GROUP BY on that plain, time-ordered table.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import type { Reading } from '../ingest/reading.ts';
import { EmbeddedTelemetryStore } from '../store/embedded/embedded-store.ts';
import { appendSamples, SAMPLE_TYPES, SampleColumns } from '../store/embedded/writer.ts';
import { median, quantile, report } from './lib.ts';

const ASSETS = 250;
const FIELDS = 40;
const SERIES = ASSETS * FIELDS;
const STEPS = Number(process.env['BENCH_STORE_STEPS'] ?? 5_000);
const STEP_MS = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const QUERIES = 200;

const END = Math.floor(Date.now() / HOUR) * HOUR;
const START = END - STEPS * STEP_MS;
const fieldNames = Array.from({ length: FIELDS }, (_, k) => `f${String(k).padStart(2, '0')}_c`);

/** Deterministic, not too compressible: a slow wave per series plus noise, at two decimals like a heat meter. */
let seed = 12345;
function noise(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function valueAt(step: number, a: number, k: number): number {
  return Math.round((60 + 15 * Math.sin(step / 240 + a * 0.1 + k) + noise()) * 100) / 100;
}

function scan(step: number): Reading[] {
  const ts = START + step * STEP_MS;
  const out: Reading[] = new Array<Reading>(ASSETS);
  for (let a = 0; a < ASSETS; a++) {
    const fields: Record<string, number> = {};
    for (let k = 0; k < FIELDS; k++) fields[fieldNames[k]!] = valueAt(step, a, k);
    out[a] = { asset: `ss${String(a).padStart(3, '0')}`, ts, fields, quality: 'good', source: 'bench:store' };
  }
  return out;
}

function dirSize(dir: string, file: string): number {
  let total = 0;
  for (const f of [file, `${file}.wal`]) {
    try {
      total += statSync(path.join(dir, f)).size;
    } catch {
      // No WAL after a clean close.
    }
  }
  return total;
}

async function benchStore(dir: string, querySeries: number[]) {
  const store = new EmbeddedTelemetryStore({ dir, compactEveryMs: 0 });
  await store.open();
  const writeRates: number[] = [];
  const compactMs: number[] = [];
  let writeTotalMs = 0;
  let compactTotalMs = 0;
  let sealedRows = 0;
  for (let step = 0; step < STEPS; step++) {
    const batch = scan(step);
    const t0 = performance.now();
    await store.write(batch);
    const ms = performance.now() - t0;
    writeTotalMs += ms;
    writeRates.push(SERIES / (ms / 1000));
    // The store's timer would call this about once a minute of wall time; here once per scan (a minute of data).
    const c0 = performance.now();
    const c = await store.compact();
    const cms = performance.now() - c0;
    if (c.sealedRows > 0) {
      sealedRows += c.sealedRows;
      compactMs.push(cms);
    }
    compactTotalMs += cms;
    if ((step + 1) % 1000 === 0) console.log(`  store: ${((step + 1) * SERIES / 1e6).toFixed(0)} M rows written`);
  }
  const to = END;
  const from = to - DAY;
  const latency: number[] = [];
  let points = 0;
  for (let i = 0; i < 20; i++) await store.history({ asset: 'ss000', fields: [fieldNames[i % FIELDS]!], from, to, bucket: '1m', aggregate: 'mean' });
  for (const s of querySeries) {
    const asset = `ss${String(Math.floor(s / FIELDS)).padStart(3, '0')}`;
    const t0 = performance.now();
    const r = await store.history({ asset, fields: [fieldNames[s % FIELDS]!], from, to, bucket: '1m', aggregate: 'mean' });
    latency.push(performance.now() - t0);
    points += r.series[fieldNames[s % FIELDS]!]!.length;
  }
  const rss = process.memoryUsage().rss;
  await store.close();
  return {
    insertMedian: median(writeRates),
    insertP5: quantile(writeRates, 0.05),
    sustained: (STEPS * SERIES) / ((writeTotalMs + compactTotalMs) / 1000),
    compactMedianMs: median(compactMs),
    compactMaxMs: Math.max(...compactMs),
    sealedRows,
    queryMedian: median(latency),
    queryP95: quantile(latency, 0.95),
    pointsPerQuery: points / querySeries.length,
    fileBytes: dirSize(dir, path.basename(store.file)),
    rssBytes: rss,
  };
}

async function benchBaseline(dir: string, querySeries: number[]) {
  const file = 'baseline.duckdb';
  const instance = await DuckDBInstance.create(path.join(dir, file));
  const conn = await instance.connect();
  await conn.run('CREATE TABLE plain (series INTEGER, ts BIGINT, value DOUBLE, quality UTINYINT)');
  const appender = await conn.createAppender('plain');
  const chunk = DuckDBDataChunk.create(SAMPLE_TYPES);
  const cols = new SampleColumns(SERIES);
  const rates: number[] = [];
  seed = 12345;
  for (let step = 0; step < STEPS; step++) {
    cols.clear();
    const ts = START + step * STEP_MS;
    for (let a = 0; a < ASSETS; a++) for (let k = 0; k < FIELDS; k++) cols.push(a * FIELDS + k, ts, valueAt(step, a, k), 0);
    const t0 = performance.now();
    await conn.run('BEGIN TRANSACTION');
    appendSamples(appender, chunk, cols, 0, cols.length);
    appender.flushSync();
    await conn.run('COMMIT');
    rates.push(SERIES / ((performance.now() - t0) / 1000));
    if ((step + 1) % 1000 === 0) console.log(`  baseline: ${((step + 1) * SERIES / 1e6).toFixed(0)} M rows written`);
  }
  appender.closeSync();
  const stmt = await conn.prepare(
    'SELECT ts - ts % 60000 AS bucket, avg(value) FROM plain WHERE series = $1 AND ts >= $2 AND ts < $3 AND quality < 2 GROUP BY bucket ORDER BY bucket',
  );
  const to = BigInt(END);
  const from = BigInt(END - DAY);
  const run = async (s: number): Promise<number> => {
    stmt.bindInteger(1, s);
    stmt.bindBigInt(2, from);
    stmt.bindBigInt(3, to);
    const r = await stmt.runAndReadAll();
    return r.currentRowCount;
  };
  for (let i = 0; i < 20; i++) await run(i);
  const latency: number[] = [];
  for (const s of querySeries) {
    const t0 = performance.now();
    await run(s);
    latency.push(performance.now() - t0);
  }
  stmt.destroySync();
  await conn.run('CHECKPOINT');
  conn.closeSync();
  instance.closeSync();
  return { insertMedian: median(rates), queryMedian: median(latency), queryP95: quantile(latency, 0.95), fileBytes: dirSize(dir, file) };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-bench-store-'));
try {
  const querySeries = Array.from({ length: QUERIES }, () => Math.floor(Math.random() * SERIES));
  const loadAtStart = os.loadavg()[0]!;
  const started = performance.now();
  console.log(`bench/store: ${SERIES} series, ${STEPS} scans, ${((STEPS * SERIES) / 1e6).toFixed(0)} M rows, in ${dir}`);
  const store = await benchStore(path.join(dir, 'telemetry'), querySeries);
  const base = await benchBaseline(dir, querySeries);
  const totalS = (performance.now() - started) / 1000;
  const insertMet = store.insertMedian >= 500_000;
  const queryMet = store.queryMedian < 20;
  report({
    name: 'store',
    figures: {
      series: SERIES,
      rows: STEPS * SERIES,
      batch_rows: SERIES,
      insert_rows_per_s_median: store.insertMedian,
      insert_rows_per_s_p5: store.insertP5,
      insert_rows_per_s_sustained_incl_seal: store.sustained,
      seal_ms_median_per_hour_of_data: store.compactMedianMs,
      seal_ms_max: store.compactMaxMs,
      sealed_rows: store.sealedRows,
      query_24h_1m_mean_ms_median: store.queryMedian,
      query_24h_1m_mean_ms_p95: store.queryP95,
      points_per_query: store.pointsPerQuery,
      file_mib: store.fileBytes / 2 ** 20,
      rss_mib: store.rssBytes / 2 ** 20,
      insert_ratio_vs_baseline: store.insertMedian / base.insertMedian,
      query_speedup_vs_baseline: base.queryMedian / store.queryMedian,
      bench_seconds: totalS,
    },
    baseline: {
      bare_appender_rows_per_s_median: base.insertMedian,
      plain_table_query_ms_median: base.queryMedian,
      plain_table_query_ms_p95: base.queryP95,
      plain_file_mib: base.fileBytes / 2 ** 20,
    },
    targets: {
      insert_rows_per_s_median: '>= 500,000 rows/s in batches',
      query_24h_1m_mean_ms_median: '< 20 ms with 10,000 series and >= 50 M rows',
    },
    met: insertMet && queryMet && STEPS * SERIES >= 50_000_000,
    notes: [
      `one batch = one scan of ${ASSETS} substations x ${FIELDS} fields; compact() runs after every scan and seals once per hour of data`,
      'the store file also holds the 1m/15m/1h/1d rollups; the baseline file holds the plain table only',
      `1-minute load average ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end (other work on the machine inflates timings)`,
    ],
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
