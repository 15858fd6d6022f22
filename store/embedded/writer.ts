/**
 * The write path: a batch of readings becomes column vectors (series id, ts, value, quality) appended through DuckDB
 * appenders inside one transaction on the writer connection.
 *
 * Contract: `write` is called by one caller at a time (the store's serial queue). It resolves after COMMIT, so the
 * batch is in the WAL and survives a kill of the process; it throws after ROLLBACK, leaving nothing of the batch in
 * the file and nothing of it in the series registry. Latest values are updated only after COMMIT.
 *
 * Retries: a sample whose (series, ts) is still unsealed is appended again and the last one appended wins when read
 * or sealed; a sample whose (series, ts) is already sealed into `raw` is dropped (the sealed value wins), so a
 * retried batch never counts twice.
 */
import {
  DuckDBBigIntType,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBIntegerType,
  DuckDBUTinyIntType,
  type DuckDBAppender,
  type DuckDBBigIntVector,
  type DuckDBConnection,
  type DuckDBDoubleVector,
  type DuckDBIntegerVector,
  type DuckDBUTinyIntVector,
} from '@duckdb/node-api';
import { WarmgridError } from '../../core/errors.ts';
import type { FieldValue, Reading } from '../../ingest/reading.ts';
import { KIND_BOOLEAN, KIND_TEXT, QUALITY_CODE } from './schema.ts';
import { kindOf, type SeriesEntry, type SeriesRegistry } from './series-registry.ts';

/** DuckDB's vector size: the most rows one data chunk holds. */
export const CHUNK_ROWS = 2048;
/** Chunks appended between yields to the event loop, so a huge batch does not stall timers and sockets. */
const CHUNKS_PER_YIELD = 64;

/** Growable column buffers for numeric samples; reused across batches. */
export class SampleColumns {
  series: Int32Array;
  ts: Float64Array;
  value: Float64Array;
  quality: Uint8Array;
  length = 0;

  constructor(capacity = 4096) {
    this.series = new Int32Array(capacity);
    this.ts = new Float64Array(capacity);
    this.value = new Float64Array(capacity);
    this.quality = new Uint8Array(capacity);
  }

  push(series: number, ts: number, value: number, quality: number): void {
    if (this.length === this.series.length) this.#grow();
    const i = this.length++;
    this.series[i] = series;
    this.ts[i] = ts;
    this.value[i] = value;
    this.quality[i] = quality;
  }

  clear(): void {
    this.length = 0;
  }

  #grow(): void {
    const cap = this.series.length * 2;
    const series = new Int32Array(cap);
    series.set(this.series);
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const value = new Float64Array(cap);
    value.set(this.value);
    const quality = new Uint8Array(cap);
    quality.set(this.quality);
    Object.assign(this, { series, ts, value, quality });
  }
}

export const SAMPLE_TYPES = [DuckDBIntegerType.instance, DuckDBBigIntType.instance, DuckDBDoubleType.instance, DuckDBUTinyIntType.instance];

/** Appends rows [from, to) of `cols` through `appender`, one data chunk of up to CHUNK_ROWS rows at a time. */
export function appendSamples(appender: DuckDBAppender, chunk: DuckDBDataChunk, cols: SampleColumns, from: number, to: number): void {
  for (let off = from; off < to; off += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, to - off);
    chunk.reset();
    chunk.rowCount = n;
    const vSeries = chunk.getColumnVector(0) as DuckDBIntegerVector;
    const vTs = chunk.getColumnVector(1) as DuckDBBigIntVector;
    const vValue = chunk.getColumnVector(2) as DuckDBDoubleVector;
    const vQuality = chunk.getColumnVector(3) as DuckDBUTinyIntVector;
    // Fields of one reading share its timestamp, so one BigInt serves a run of rows.
    let prevTs = NaN;
    let prevBig = 0n;
    for (let i = 0; i < n; i++) {
      const r = off + i;
      const t = cols.ts[r]!;
      if (t !== prevTs) {
        prevTs = t;
        prevBig = BigInt(t);
      }
      vSeries.setItem(i, cols.series[r]!);
      vTs.setItem(i, prevBig);
      vValue.setItem(i, cols.value[r]!);
      vQuality.setItem(i, cols.quality[r]!);
    }
    vSeries.flush();
    vTs.flush();
    vValue.flush();
    vQuality.flush();
    appender.appendDataChunk(chunk);
  }
}

async function appendSamplesYielding(appender: DuckDBAppender, chunk: DuckDBDataChunk, cols: SampleColumns): Promise<void> {
  const step = CHUNK_ROWS * CHUNKS_PER_YIELD;
  for (let off = 0; off < cols.length; off += step) {
    if (off > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    appendSamples(appender, chunk, cols, off, Math.min(cols.length, off + step));
  }
}

export interface WriteOutcome {
  /** Values stored (numeric samples plus string values). */
  rows: number;
  /** Field values that could not be stored (non-finite numbers, null, objects). */
  skipped: number;
}

interface TextRow {
  series: number;
  ts: number;
  value: string;
  quality: number;
}

export class TelemetryWriter {
  readonly #conn: DuckDBConnection;
  readonly #registry: SeriesRegistry;
  readonly #chunk = DuckDBDataChunk.create(SAMPLE_TYPES);
  readonly #samples = new SampleColumns();
  readonly #late = new SampleColumns(256);
  #texts: TextRow[] = [];
  // Per stored value, what `latest` needs once the batch has committed.
  #touched: SeriesEntry[] = [];
  #touchedValue: FieldValue[] = [];
  #touchedReading: number[] = [];
  /** Sealed-range samples replace the latest value only if strictly newer, matching "the sealed value wins". */
  #touchedLate: boolean[] = [];
  #batchMaxTs = -Infinity;
  #appenders: Appenders | null = null;
  /** Samples with ts below this were sealed already; see the retry rule above. */
  watermark = -Infinity;
  /** Highest unsealed sample timestamp (drives the seal). */
  maxTs = -Infinity;
  /** Samples below the watermark appended since the last seal (they wait in `hot` for the next one). */
  lateRows = 0;
  /** String values appended since the last latest-snapshot. */
  textRows = 0;
  /**
   * Newest ts of an appended sample that may repeat an unsealed (series, ts); -Infinity when none. While the seal
   * range reaches it, the seal deduplicates; in-order data, the normal case, never sets it.
   */
  duplicateRiskTs = -Infinity;

  constructor(conn: DuckDBConnection, registry: SeriesRegistry) {
    this.#conn = conn;
    this.#registry = registry;
  }

  async write(batch: readonly Reading[]): Promise<WriteOutcome> {
    const skipped = this.#convert(batch);
    const samples = this.#samples;
    const late = this.#late;
    const rows = samples.length + late.length + this.#texts.length;
    const registry = this.#registry;
    if (rows === 0 && registry.added.length === 0) {
      registry.commit();
      return { rows: 0, skipped };
    }
    let inTransaction = false;
    try {
      const app = await this.#appendersReady();
      await this.#conn.run('BEGIN TRANSACTION');
      inTransaction = true;
      for (const e of registry.added) {
        app.series.appendInteger(e.id);
        app.series.appendVarchar(e.asset);
        app.series.appendVarchar(e.field);
        app.series.appendUTinyInt(e.kind);
        app.series.endRow();
      }
      app.series.flushSync();
      for (const c of registry.kindChanges) {
        await this.#conn.run('UPDATE series SET kind = $2::UTINYINT WHERE id = $1::INTEGER', [c.entry.id, c.entry.kind]);
      }
      await appendSamplesYielding(app.hot, this.#chunk, samples);
      app.hot.flushSync();
      if (late.length > 0) await this.#insertLate(app.late, late);
      for (const t of this.#texts) {
        app.text.appendInteger(t.series);
        app.text.appendBigInt(BigInt(t.ts));
        app.text.appendVarchar(t.value);
        app.text.appendUTinyInt(t.quality);
        app.text.endRow();
      }
      app.text.flushSync();
      await this.#conn.run('COMMIT');
      inTransaction = false;
    } catch (err) {
      await this.#abandon(inTransaction);
      throw new WarmgridError('STORE_WRITE_FAILED', `telemetry write of ${batch.length} readings failed`, { cause: err, retryable: true });
    }
    registry.commit();
    this.#applyLatest(batch);
    this.lateRows += late.length;
    this.textRows += this.#texts.length;
    if (this.#batchMaxTs > this.maxTs) this.maxTs = this.#batchMaxTs;
    return { rows, skipped };
  }

  /** Closes the appenders (they hold buffers and table references). */
  close(): void {
    const app = this.#appenders;
    this.#appenders = null;
    if (app) for (const a of Object.values(app)) closeQuietly(a);
  }

  /**
   * Fills the column buffers from the batch. Throws VALIDATION_FAILED (with nothing changed) for a reading the store
   * cannot key: a timestamp that is not a safe integer or an unknown quality.
   */
  #convert(batch: readonly Reading[]): number {
    const registry = this.#registry;
    const samples = this.#samples;
    const late = this.#late;
    samples.clear();
    late.clear();
    this.#texts = [];
    this.#touched.length = 0;
    this.#touchedValue.length = 0;
    this.#touchedReading.length = 0;
    this.#touchedLate.length = 0;
    const watermark = this.watermark;
    let duplicateRisk = this.duplicateRiskTs;
    let batchMaxTs = -Infinity;
    let skipped = 0;
    try {
      for (let ri = 0; ri < batch.length; ri++) {
        const r = batch[ri]!;
        const ts = r.ts;
        if (!Number.isSafeInteger(ts)) throw invalid(`reading of ${r.asset} has timestamp ${String(ts)}; expected integer epoch ms`);
        if (typeof r.asset !== 'string' || r.asset === '') throw invalid('reading without an asset id');
        const q = Object.hasOwn(QUALITY_CODE, r.quality) ? QUALITY_CODE[r.quality] : undefined;
        if (q === undefined) throw invalid(`reading of ${r.asset} has unknown quality ${String(r.quality)}`);
        const fields = r.fields;
        let known = registry.fieldsOf(r.asset);
        for (const name of Object.keys(fields)) {
          const v = fields[name];
          const kind = kindOf(v);
          if (kind === null) {
            skipped++;
            continue;
          }
          let entry = known?.get(name);
          if (!entry) {
            entry = registry.add(r.asset, name, kind);
            known ??= registry.fieldsOf(r.asset);
          } else if (entry.kind !== kind) {
            registry.changeKind(entry, kind);
          }
          const isLate = kind !== KIND_TEXT && ts < watermark;
          if (kind === KIND_TEXT) {
            this.#texts.push({ series: entry.id, ts, value: v as string, quality: q });
          } else {
            const num = kind === KIND_BOOLEAN ? (v ? 1 : 0) : (v as number);
            (isLate ? late : samples).push(entry.id, ts, num, q);
            if (ts > batchMaxTs) batchMaxTs = ts;
            if (ts > entry.appendedTs) entry.appendedTs = ts;
            else if (ts > duplicateRisk) duplicateRisk = ts;
          }
          this.#touched.push(entry);
          this.#touchedValue.push(v as FieldValue);
          this.#touchedReading.push(ri);
          this.#touchedLate.push(isLate);
        }
      }
    } catch (err) {
      registry.rollback();
      throw err;
    }
    // Kept even if the batch then fails: an overestimate only costs a deduplicating seal.
    this.duplicateRiskTs = duplicateRisk;
    this.#batchMaxTs = batchMaxTs;
    return skipped;
  }

  async #insertLate(appender: DuckDBAppender, late: SampleColumns): Promise<void> {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < late.length; i++) {
      const t = late.ts[i]!;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    appendSamples(appender, this.#chunk, late, 0, late.length);
    appender.flushSync();
    // The ts bounds let zone maps skip every sealed range the late samples cannot collide with.
    await this.#conn.run(
      `INSERT INTO hot
       SELECT l.series, l.ts, l.value, l.quality FROM late_stage l
       WHERE NOT EXISTS (SELECT 1 FROM raw r WHERE r.series = l.series AND r.ts = l.ts AND r.ts >= $1::BIGINT AND r.ts <= $2::BIGINT)
       ORDER BY l.rowid`,
      [lo, hi],
    );
    await this.#conn.run('DELETE FROM late_stage');
  }

  #applyLatest(batch: readonly Reading[]): void {
    const registry = this.#registry;
    const touched = this.#touched;
    for (let i = 0; i < touched.length; i++) {
      const r = batch[this.#touchedReading[i]!]!;
      const entry = touched[i]!;
      if (this.#touchedLate[i] && r.ts <= entry.latestTs) continue;
      registry.offerLatest(entry, r.ts, this.#touchedValue[i]!, r.quality);
    }
    touched.length = 0;
    this.#touchedValue.length = 0;
    this.#touchedReading.length = 0;
    this.#touchedLate.length = 0;
  }

  async #abandon(inTransaction: boolean): Promise<void> {
    // An appender that failed mid-batch may hold rows or be unusable: drop all of them and start afresh next time.
    this.close();
    if (inTransaction) await this.#conn.run('ROLLBACK').catch(() => undefined);
    this.#registry.rollback();
  }

  async #appendersReady(): Promise<Appenders> {
    if (!this.#appenders) {
      const c = this.#conn;
      this.#appenders = {
        series: await c.createAppender('series'),
        hot: await c.createAppender('hot'),
        late: await c.createAppender('late_stage'),
        text: await c.createAppender('text_hot'),
      };
    }
    return this.#appenders;
  }
}

interface Appenders {
  series: DuckDBAppender;
  hot: DuckDBAppender;
  late: DuckDBAppender;
  text: DuckDBAppender;
}

function closeQuietly(a: DuckDBAppender): void {
  try {
    a.clear();
  } catch {
    // The appender may already be invalid after a failed flush; closing is best effort.
  }
  try {
    a.closeSync();
  } catch {
    // Same as above.
  }
}

function invalid(message: string): WarmgridError {
  return new WarmgridError('VALIDATION_FAILED', message);
}
