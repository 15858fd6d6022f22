/**
 * EmbeddedTelemetryStore: the default TelemetryStore, one DuckDB file under a directory, no server.
 *
 * Connections: one writer connection used through a serial queue (writes, seals, retention, in call order) and a few
 * reader connections for history queries. Latest values live in memory (the series registry), updated after each
 * commit and rebuilt from the file at open.
 *
 * Durability: `write` resolves after COMMIT, which DuckDB makes durable through its write-ahead log; a kill -9 loses
 * at most the batch whose write has not resolved, and the file reopens intact (DuckDB replays the log). See
 * crash.int.test.ts. Retries: see writer.ts.
 *
 * Background work: one timer (unref'd, so it never keeps the process alive) runs `compact()` every
 * `compactEveryMs`: it seals everything older than the newest data (or now, if earlier) minus `sealGraceMs`, rounded
 * down to a multiple of `sealUnitMs`, and applies retention at most once per `retentionEveryMs`.
 *
 * Beyond the port: `compact()` to drive sealing and retention by hand, `stats()` with a few more counters, `file`.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { WarmgridError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { Reading } from '../../ingest/reading.ts';
import {
  DEFAULT_RETENTION,
  type ComponentHealth,
  type HistoryPoint,
  type HistoryQuery,
  type HistoryResult,
  type LatestByAsset,
  type RetentionPolicy,
  type StoreStats,
  type TelemetryStore,
} from '../telemetry-store.ts';
import { applyRetention, retentionCutoffs, seal } from './compaction.ts';
import { HistoryReaders, validateQuery } from './query.ts';
import { DB_FILE, KIND_BOOLEAN, migrate, QUALITY_BY_CODE, readMeta, type ValueKind } from './schema.ts';
import { SerialQueue } from './serial-queue.ts';
import { fromStored, SeriesRegistry } from './series-registry.ts';
import { TelemetryWriter } from './writer.ts';

export interface EmbeddedStoreOptions {
  /** Directory holding the store's file (created if missing), e.g. `<dataDir>/telemetry`. */
  dir: string;
  retention?: RetentionPolicy;
  clock?: Clock;
  log?: Logger;
  /** Length of the time ranges sealed into series-sorted storage; default 1 h. */
  sealUnitMs?: number;
  /** How far the seal stays behind the newest data, for stragglers; default 5 min. */
  sealGraceMs?: number;
  /** Period of the compaction timer; 0 turns the timer off (call `compact()` yourself). Default 60 s. */
  compactEveryMs?: number;
  /** Least time between two retention passes; default 1 h. */
  retentionEveryMs?: number;
  /** Reader connections for history queries; default 2. */
  readers?: number;
  /** DuckDB worker threads; default one per core. */
  threads?: number;
  /** DuckDB memory limit such as '2GB'; default DuckDB's own (80 % of RAM). */
  memoryLimit?: string;
  /** Further DuckDB settings by name (e.g. `checkpoint_threshold`), for tuning and tests. */
  duckdbConfig?: Readonly<Record<string, string>>;
}

export interface CompactOptions {
  /** Seal everything below this timestamp (Infinity: everything written so far) instead of the timer's choice. */
  sealBefore?: number;
  /** Apply retention now, however recently it last ran. */
  retention?: boolean;
}

export interface CompactResult {
  /** Samples moved from the unsealed table to series-sorted storage. */
  sealedRows: number;
  /** Every sample below this timestamp is sealed (late arrivals excepted until the next seal). */
  watermark: number;
  /** Rows deleted by retention in this pass (0 when it did not run). */
  retentionDeleted: number;
}

export interface EmbeddedStoreStats extends StoreStats {
  /** Field values that could not be stored (non-finite numbers, null, objects). */
  valuesSkipped: number;
  series: number;
  seals: number;
}

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

/** Text rows since the last snapshot above which a compaction snapshots even without anything to seal. */
const TEXT_ROWS_SNAPSHOT = 100_000;
/** The earliest time a JS Date holds; a watermark here seals nothing. */
const EARLIEST_TS = -8.64e15;

export class EmbeddedTelemetryStore implements TelemetryStore {
  readonly kind = 'embedded';
  readonly #opts: Required<Omit<EmbeddedStoreOptions, 'threads' | 'memoryLimit' | 'duckdbConfig'>> & Pick<EmbeddedStoreOptions, 'threads' | 'memoryLimit' | 'duckdbConfig'>;
  readonly #registry = new SeriesRegistry();
  readonly #queue = new SerialQueue();
  #state: State = 'new';
  #instance: DuckDBInstance | null = null;
  #conn: DuckDBConnection | null = null;
  #writer: TelemetryWriter | null = null;
  #readers: HistoryReaders | null = null;
  #timer: TimerHandle | null = null;
  #lastRetentionAt = -Infinity;
  #lastWriteError: string | null = null;
  #lastCompactionError: string | null = null;
  #lastCompactionAt: number | null = null;
  #stats = { rowsWritten: 0, batchesWritten: 0, writeErrors: 0, pending: 0, valuesSkipped: 0, seals: 0 };

  constructor(options: EmbeddedStoreOptions) {
    this.#opts = {
      retention: DEFAULT_RETENTION,
      clock: systemClock,
      log: silentLogger(),
      sealUnitMs: 3_600_000,
      sealGraceMs: 300_000,
      compactEveryMs: 60_000,
      retentionEveryMs: 3_600_000,
      readers: 2,
      ...options,
    };
    if (!(this.#opts.sealUnitMs > 0)) throw new WarmgridError('CONFIG_INVALID', 'sealUnitMs must be positive');
  }

  /** Path of the DuckDB file. */
  get file(): string {
    return path.join(this.#opts.dir, DB_FILE);
  }

  async open(): Promise<void> {
    if (this.#state !== 'new') throw new WarmgridError('STORE_UNAVAILABLE', `telemetry store cannot open from state ${this.#state}`);
    this.#state = 'opening';
    try {
      mkdirSync(this.#opts.dir, { recursive: true });
      const config: Record<string, string> = { ...this.#opts.duckdbConfig };
      if (this.#opts.threads !== undefined) config['threads'] = String(this.#opts.threads);
      if (this.#opts.memoryLimit !== undefined) config['memory_limit'] = this.#opts.memoryLimit;
      this.#instance = await DuckDBInstance.create(this.file, config);
      const conn = (this.#conn = await this.#instance.connect());
      await migrate(conn);
      const writer = (this.#writer = new TelemetryWriter(conn, this.#registry));
      await this.#load(conn, writer);
      this.#readers = await HistoryReaders.open(this.#instance, Math.max(1, this.#opts.readers));
    } catch (err) {
      await this.#release();
      this.#state = 'closed';
      throw new WarmgridError('STORE_UNAVAILABLE', `cannot open telemetry store at ${this.file}`, { cause: err });
    }
    this.#state = 'open';
    this.#schedule();
  }

  write(batch: readonly Reading[]): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#notOpen());
    const writer = this.#writer!;
    const stats = this.#stats;
    stats.pending += batch.length;
    return this.#queue.run(async () => {
      try {
        const r = await writer.write(batch);
        stats.rowsWritten += r.rows;
        stats.batchesWritten++;
        stats.valuesSkipped += r.skipped;
        this.#lastWriteError = null;
      } catch (err) {
        stats.writeErrors++;
        if (!(err instanceof WarmgridError && err.code === 'VALIDATION_FAILED')) this.#lastWriteError = messageOf(err);
        throw err;
      } finally {
        stats.pending -= batch.length;
      }
    });
  }

  async latest(assets?: readonly string[]): Promise<LatestByAsset> {
    if (this.#state !== 'open') throw this.#notOpen();
    return this.#registry.latest(assets);
  }

  async history(q: HistoryQuery): Promise<HistoryResult> {
    if (this.#state !== 'open') throw this.#notOpen();
    validateQuery(q);
    const readers = this.#readers!;
    const registry = this.#registry;
    let points: HistoryPoint[][];
    try {
      points = await Promise.all(
        q.fields.map((field) => {
          const entry = registry.get(q.asset, field);
          if (!entry) return [];
          return readers.query({ seriesId: entry.id, from: q.from, to: q.to, bucket: q.bucket, aggregate: q.aggregate, limit: q.limit });
        }),
      );
    } catch (err) {
      throw new WarmgridError('STORE_UNAVAILABLE', `history query for ${q.asset} failed`, { cause: err, retryable: true });
    }
    // fromEntries defines own properties, so a field named like an Object.prototype member stays a plain key.
    const ordered: HistoryResult['series'] = Object.fromEntries(q.fields.map((f, i) => [f, points[i]!]));
    return { asset: q.asset, bucket: q.bucket, aggregate: q.aggregate, series: ordered };
  }

  async health(): Promise<ComponentHealth> {
    const base = { series: this.#registry.size, pending: this.#stats.pending, lastCompactionAt: this.#lastCompactionAt };
    if (this.#state !== 'open') return { status: 'down', detail: `store is ${this.#state}`, ...base };
    const problem = this.#lastWriteError ?? this.#lastCompactionError;
    if (problem !== null) return { status: 'degraded', detail: problem, ...base };
    return { status: 'up', ...base };
  }

  stats(): EmbeddedStoreStats {
    return { ...this.#stats, series: this.#registry.size };
  }

  /**
   * Seals what is due, then applies retention if due; runs in the write queue. The timer calls it; tests and the
   * benchmark call it to drive sealing deterministically.
   */
  compact(opts: CompactOptions = {}): Promise<CompactResult> {
    if (this.#state !== 'open') return Promise.reject(this.#notOpen());
    return this.#queue.run(() => this.#compactNow(opts));
  }

  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#state = 'closing';
    if (this.#timer) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = null;
    // Calls accepted before close finish first; later ones were refused above.
    await this.#queue.idle();
    await this.#readers?.close();
    this.#readers = null;
    try {
      // Folds the write-ahead log into the file so the next open has nothing to replay. Nothing is lost if this
      // fails: committed data is in the log either way.
      await this.#conn?.run('CHECKPOINT');
    } catch (err) {
      this.#opts.log.warn({ err }, 'telemetry checkpoint at close failed; the next open replays the log');
    } finally {
      await this.#release();
      this.#state = 'closed';
    }
  }

  async #compactNow(opts: CompactOptions): Promise<CompactResult> {
    const conn = this.#conn!;
    const writer = this.#writer!;
    const o = this.#opts;
    let target: number;
    if (opts.sealBefore !== undefined) {
      target = opts.sealBefore === Infinity ? writer.maxTs + 1 : opts.sealBefore;
    } else {
      const reference = Math.min(o.clock.now(), writer.maxTs);
      target = Math.floor((reference - o.sealGraceMs) / o.sealUnitMs) * o.sealUnitMs;
    }
    if (!Number.isFinite(target) || target < writer.watermark) target = writer.watermark;
    // Before any numeric sample a snapshot of string values still needs a watermark to record.
    if (!Number.isFinite(target)) target = EARLIEST_TS;
    const result: CompactResult = { sealedRows: 0, watermark: writer.watermark, retentionDeleted: 0 };
    try {
      const due = target > writer.watermark || writer.lateRows > 0 || writer.textRows > TEXT_ROWS_SNAPSHOT;
      if (due) {
        const dedupe = writer.duplicateRiskTs !== -Infinity || writer.lateRows > 0;
        result.sealedRows = await seal(conn, this.#registry, target, dedupe);
        if (writer.duplicateRiskTs < target) writer.duplicateRiskTs = -Infinity;
        writer.watermark = result.watermark = target;
        writer.lateRows = 0;
        writer.textRows = 0;
        this.#stats.seals++;
      }
      const now = o.clock.now();
      if (opts.retention || now - this.#lastRetentionAt >= o.retentionEveryMs) {
        result.retentionDeleted = await applyRetention(conn, retentionCutoffs(o.retention, now));
        this.#lastRetentionAt = now;
      }
      this.#lastCompactionError = null;
      this.#lastCompactionAt = now;
    } catch (err) {
      this.#lastCompactionError = messageOf(err);
      throw new WarmgridError('STORE_WRITE_FAILED', 'telemetry compaction failed', { cause: err, retryable: true });
    }
    return result;
  }

  #schedule(): void {
    const every = this.#opts.compactEveryMs;
    if (every <= 0 || this.#state !== 'open') return;
    const timer = this.#opts.clock.setTimeout(() => {
      this.#timer = null;
      if (this.#state !== 'open') return;
      this.compact()
        .catch((err: unknown) => this.#opts.log.warn({ err }, 'telemetry compaction failed; retrying at the next tick'))
        .finally(() => this.#schedule());
    }, every);
    timer.unref?.();
    this.#timer = timer;
  }

  /** Rebuilds the in-memory state (series, latest values, watermark) from the file. */
  async #load(conn: DuckDBConnection, writer: TelemetryWriter): Promise<void> {
    const registry = this.#registry;
    const series = await conn.runAndReadAll('SELECT id, asset, field, kind FROM series ORDER BY id');
    for (const [id, asset, field, kind] of series.getRows() as [number, string, string, ValueKind][]) registry.load(id, asset, field, kind);

    const snapshot = await conn.runAndReadAll('SELECT series, ts::DOUBLE, kind, num, text, quality FROM latest');
    for (const [id, ts, kind, num, text, q] of snapshot.getRows() as [number, number, ValueKind, number | null, string | null, number][]) {
      const e = registry.byId(id);
      if (e) registry.offerLatest(e, ts, fromStored(kind, num, text), QUALITY_BY_CODE[q] ?? 'bad');
    }
    const hot = await conn.runAndReadAll(
      'SELECT series, ts::DOUBLE, value, quality FROM hot QUALIFY row_number() OVER (PARTITION BY series ORDER BY ts DESC, rowid DESC) = 1',
    );
    for (const [id, ts, value, q] of hot.getRows() as [number, number, number, number][]) {
      const e = registry.byId(id);
      if (e) registry.offerLatest(e, ts, e.kind === KIND_BOOLEAN ? value !== 0 : value, QUALITY_BY_CODE[q] ?? 'bad');
    }
    const text = await conn.runAndReadAll(
      'SELECT series, ts::DOUBLE, value, quality FROM text_hot QUALIFY row_number() OVER (PARTITION BY series ORDER BY ts DESC, rowid DESC) = 1',
    );
    for (const [id, ts, value, q] of text.getRows() as [number, number, string, number][]) {
      const e = registry.byId(id);
      if (e) registry.offerLatest(e, ts, value, QUALITY_BY_CODE[q] ?? 'bad');
    }

    const watermark = (await readMeta(conn, 'watermark')) ?? -Infinity;
    writer.watermark = watermark;
    const hotInfo = await conn.runAndReadAll(
      'SELECT max(ts)::DOUBLE, count(*) FILTER (WHERE ts < $1::DOUBLE)::DOUBLE, (SELECT count(*) FROM text_hot)::DOUBLE FROM hot',
      [Number.isFinite(watermark) ? watermark : EARLIEST_TS],
    );
    const [maxTs, lateRows, textRows] = (hotInfo.getRows()[0] ?? []) as [number | null, number, number];
    writer.maxTs = maxTs ?? -Infinity;
    // Unknown history: whatever is in `hot` may hold repeats, and each series may already have samples up to its latest.
    writer.duplicateRiskTs = writer.maxTs;
    for (const e of registry.all()) if (e) e.appendedTs = e.latestTs;
    writer.lateRows = lateRows;
    writer.textRows = textRows;
  }

  async #release(): Promise<void> {
    this.#writer?.close();
    this.#writer = null;
    await this.#readers?.close();
    this.#readers = null;
    this.#conn?.closeSync();
    this.#conn = null;
    this.#instance?.closeSync();
    this.#instance = null;
  }

  #notOpen(): WarmgridError {
    return this.#state === 'closing' || this.#state === 'closed'
      ? new WarmgridError('SHUTTING_DOWN', 'telemetry store is closed')
      : new WarmgridError('STORE_UNAVAILABLE', 'telemetry store is not open');
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
