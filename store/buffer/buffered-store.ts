/**
 * BufferedTelemetryStore: a disk-backed store-and-forward buffer in front of a remote TelemetryStore (InfluxDB), and
 * itself a TelemetryStore. An outage of the remote store, or of the link to it, loses nothing: readings wait on local
 * disk and are delivered, in order and with their original timestamps, when the remote takes writes again.
 *
 * Modes:
 * - `direct` (the log is empty): `write` sends the batch to the remote and resolves when the remote accepted it. If the
 *   remote fails, or takes longer than `directTimeoutMs`, the batch is appended to the log instead and the buffer
 *   switches to `buffering`.
 * - `buffering` (the log holds undelivered data): every `write` appends its batch to the log (write + fdatasync) and
 *   resolves once it is on disk. One replay loop reads the log from its cursor, oldest first, sends up to
 *   `replayMaxReadings` readings per remote write, and moves the cursor past them once the remote accepted them. When
 *   the log is empty it switches back to `direct` — inside the write queue, so no batch can overtake one still in the
 *   log.
 *
 * Ordering: writes are applied one at a time in call order, and live data queues behind the backlog, so the remote
 * sees every batch in the order it was written — per series too. We chose this over sending live data in parallel
 * with the replay: the remote (and Grafana) see live data only once the backlog is through (under a minute for a
 * 5-minute outage, see docs/PERFORMANCE.md), but no reading can overtake an older one, and the dashboard's live values
 * come from the hub's live bus, not from the store. History is keyed by timestamp, so the order between series does
 * not matter anyway.
 *
 * Durability: `write` resolves only when the batch is in the remote store or on the buffer's disk (the pipeline then
 * acknowledges it upstream). The log survives a restart or kill -9 (segment-log.ts): the replay continues from the
 * persisted cursor; a record torn by the crash was never acknowledged and is dropped. A batch may reach the remote
 * twice (a direct write that timed out but landed, a replay cut by a crash before the cursor moved); the remote write
 * is idempotent per (asset, field, ts), so that is an overwrite with equal values, never a second point. When the
 * remote offers its wire format (remote.ts; InfluxDB: line protocol) a batch is encoded once, and the log keeps those
 * very lines: every retry and replay sends the same series keys, and a replay costs no decoding or encoding.
 *
 * When full (`maxBytes`): `write` rejects with BACKPRESSURE (retryable) and health is `down`. The pipeline's batch
 * writer retries, then fails the batch, so sources do not acknowledge: MQTT leaves the messages in the broker (QoS 1,
 * persistent session), a poller's readings for that time are not stored. We refuse the newest rather than drop the
 * oldest (as Telegraf does) because everything in the buffer has already been acknowledged upstream — it is the only
 * copy left — while a refused reading still exists at its source.
 *
 * Refusals: a remote error whose `details.reason` (remote.ts) is `data` can never succeed; the batch is split in halves
 * until the entries the remote refuses are isolated, and those go to `<dir>/dead-letter/` (JSON with the error and
 * the readings or lines), counted in `deadLetteredReadings`; the rest is delivered. `auth` and `not_found` keep
 * everything and retry every `refusedRetryMs` (someone must fix the token or bucket: logged as an error once).
 * Anything else backs off from `retryMinMs` to `retryMaxMs`.
 *
 * Reads: `history` goes to the remote (readings still in the buffer appear once replayed). `latest` merges the
 * remote's answer with the newest values of the readings in the log, and answers from those alone when the remote
 * cannot be reached, so a hub starts and shows values while the remote is down. The buffer knows the values it was
 * given since the process started; after a restart it also decodes records kept as readings, but not records in the
 * remote's wire format, whose values reappear in `latest` once the remote has them (live data refills screens within
 * a poll cycle anyway).
 *
 * `close()` finishes accepted writes, stops the replay (an in-flight remote write is abandoned after a short wait and
 * delivered again at the next start), and closes the log and the remote.
 */
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { WarmgridError } from '../../core/errors.ts';
import { RateLimitedLog, silentLogger, type Logger } from '../../core/log.ts';
import type { Reading } from '../../ingest/reading.ts';
import type { ComponentHealth, HealthStatus, HistoryQuery, HistoryResult, LatestByAsset, StoreStats, TelemetryStore } from '../telemetry-store.ts';
import { refusalOf, wireFormatOf, type RefusalReason, type WireFormat } from './remote.ts';
import { SegmentLog, type LogRecord, type Position, type RecoveryReport } from './segment-log.ts';

export interface BufferOptions {
  /** Directory of the log (created if missing), e.g. `<dataDir>/buffer`. */
  dir: string;
  /** Disk the log may use, bytes (default 1 GiB). */
  maxBytes?: number;
  /** Segment size, bytes (default 16 MiB). */
  segmentBytes?: number;
  /** A direct write slower than this goes to the log instead, ms (default 5 s). */
  directTimeoutMs?: number;
  /** Readings per remote write while replaying (default 10,000). */
  replayMaxReadings?: number;
  /** Log bytes read at once while replaying (default 4 MiB). */
  replayReadBytes?: number;
  /** Backoff while the remote is unavailable: first and longest pause, ms (default 250 ms, 5 s). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Pause after an `auth` or `not_found` refusal, ms (default 60 s). */
  refusedRetryMs?: number;
  /** Fill ratio from which health is degraded (default 0.8). */
  warnFill?: number;
  clock?: Clock;
  log?: Logger;
}

export type BufferMode = 'direct' | 'buffering';

export interface BufferedStoreStats extends StoreStats {
  mode: BufferMode;
  /** Bytes of log files on disk, and the bound. */
  bufferBytes: number;
  bufferMaxBytes: number;
  /** Undelivered batches and readings in the log. */
  bufferRecords: number;
  bufferReadings: number;
  /** Age of the oldest undelivered batch, ms (0 when the log is empty). */
  oldestAgeMs: number;
  /** Batches that went straight to the remote, and batches that went to the log. */
  directBatches: number;
  bufferedBatches: number;
  /** Readings delivered from the log. */
  replayedReadings: number;
  /** Readings the remote refused for their content, kept in dead-letter files. */
  deadLetteredReadings: number;
  /** Batches refused because the buffer was full. */
  refusedBatches: number;
  recovery: RecoveryReport;
  remote: StoreStats;
}

type State = 'new' | 'open' | 'closing' | 'closed';

interface Failure {
  reason: RefusalReason;
  message: string;
  since: number;
  httpStatus?: number;
}

const TIMED_OUT = Symbol('timed out');
/** How long health stays degraded after readings were dead-lettered. */
const DEAD_LETTER_NOTICE_MS = 3_600_000;

/** Log payloads: readings as JSON, or entries in the remote's wire format (remote.ts), as a JSON array of strings. */
const KIND_READINGS = 0x52; // 'R'
const KIND_WIRE = 0x57; // 'W'

/** What one remote call sends: readings, or entries in the remote's wire format. */
type Part = { kind: 'readings'; items: Reading[] } | { kind: 'wire'; items: string[] };

/** Records read from the log and what they hold, consecutive records of one kind merged. */
interface Chunk {
  records: LogRecord[];
  parts: Part[];
  entries: number;
}

export class BufferedTelemetryStore implements TelemetryStore {
  readonly kind: string;
  readonly remote: TelemetryStore;
  readonly #wire: WireFormat | null;
  readonly #o: Required<Omit<BufferOptions, 'clock' | 'log'>>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #warn: RateLimitedLog;
  #state: State = 'new';
  #mode: BufferMode = 'direct';
  #segments: SegmentLog | null = null;
  /** Tail of the write queue: writes (and the switch back to direct) run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #drainer: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #sleepTimer: TimerHandle | null = null;
  /** Newest value per asset and field among the readings in the log. */
  readonly #overlay: LatestByAsset = new Map();
  #failure: Failure | null = null;
  #refusing = false;
  #deadLetterSeq = 0;
  #lastDeadLetterAt = -Infinity;
  #stats = { rowsWritten: 0, batchesWritten: 0, writeErrors: 0, pending: 0, directBatches: 0, bufferedBatches: 0, replayedReadings: 0, deadLetteredReadings: 0, refusedBatches: 0 };

  constructor(remote: TelemetryStore, opts: BufferOptions) {
    this.remote = remote;
    this.#wire = wireFormatOf(remote);
    this.kind = remote.kind;
    this.#o = {
      maxBytes: 1024 ** 3,
      segmentBytes: 16 * 1024 ** 2,
      directTimeoutMs: 5000,
      replayMaxReadings: 10_000,
      replayReadBytes: 4 * 1024 ** 2,
      retryMinMs: 250,
      retryMaxMs: 5000,
      refusedRetryMs: 60_000,
      warnFill: 0.8,
      ...stripUndefined(opts),
      dir: opts.dir,
    };
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.log ?? silentLogger();
    this.#warn = new RateLimitedLog(this.#log, 1, 60_000, () => this.#clock.now());
  }

  get mode(): BufferMode {
    return this.#mode;
  }

  async open(): Promise<void> {
    if (this.#state !== 'new') throw new WarmgridError('STORE_UNAVAILABLE', `buffered store cannot open from state ${this.#state}`);
    const segments = await SegmentLog.open({
      dir: this.#o.dir,
      maxBytes: this.#o.maxBytes,
      segmentBytes: this.#o.segmentBytes,
      clock: this.#clock,
      log: this.#log,
      // Readings kept in the remote's wire format are not decoded back: latest values from them return with the remote.
      onRecovered: (payload) => {
        if (payload[0] === KIND_READINGS) this.#remember(decodePart(payload).items as Reading[]);
      },
    });
    try {
      await this.remote.open();
    } catch (err) {
      await segments.close();
      this.#state = 'closed';
      throw err;
    }
    this.#segments = segments;
    this.#state = 'open';
    const r = segments.report;
    if (r.tornBytes > 0 || r.corruptBytes > 0 || r.cursorReset) this.#log.warn({ recovery: r }, 'store-and-forward buffer recovered after an unclean stop');
    if (!segments.empty) {
      this.#log.info({ readings: r.readings, bytes: r.bytes }, 'store-and-forward buffer holds undelivered readings; replaying');
      this.#startBuffering(null);
    }
  }

  write(batch: readonly Reading[]): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#notOpen());
    if (batch.length === 0) return Promise.resolve();
    const stats = this.#stats;
    stats.pending += batch.length;
    return this.#serial(async () => {
      try {
        await this.#write(batch);
        stats.rowsWritten += batch.length;
        stats.batchesWritten++;
      } finally {
        stats.pending -= batch.length;
      }
    });
  }

  async latest(assets?: readonly string[]): Promise<LatestByAsset> {
    if (this.#state !== 'open') throw this.#notOpen();
    let out: LatestByAsset;
    try {
      out = await this.remote.latest(assets);
    } catch (err) {
      this.#warn.warn('latest', { err }, 'remote store did not answer latest values; answering from the buffer');
      out = new Map();
    }
    const wanted = assets ? new Set(assets) : null;
    for (const [asset, fields] of this.#overlay) {
      if (wanted && !wanted.has(asset)) continue;
      let mine = out.get(asset);
      if (!mine) out.set(asset, (mine = new Map()));
      for (const [field, v] of fields) {
        const prev = mine.get(field);
        if (!prev || v.ts >= prev.ts) mine.set(field, v);
      }
    }
    return out;
  }

  history(q: HistoryQuery): Promise<HistoryResult> {
    if (this.#state !== 'open') return Promise.reject(this.#notOpen());
    return this.remote.history(q);
  }

  async health(): Promise<ComponentHealth> {
    const s = this.stats();
    const buffer = {
      mode: s.mode,
      bufferBytes: s.bufferBytes,
      bufferMaxBytes: s.bufferMaxBytes,
      bufferFill: s.bufferMaxBytes > 0 ? Math.round((s.bufferBytes / s.bufferMaxBytes) * 1000) / 1000 : 0,
      bufferReadings: s.bufferReadings,
      oldestAgeS: Math.round(s.oldestAgeMs / 1000),
      deadLetteredReadings: s.deadLetteredReadings,
    };
    if (this.#state !== 'open') return { status: 'down', detail: `store is ${this.#state}`, ...buffer };
    let remote: ComponentHealth;
    try {
      remote = await this.remote.health();
    } catch (err) {
      remote = { status: 'down', detail: err instanceof Error ? err.message : String(err) };
    }
    const f = this.#failure;
    const why = f ? `: ${f.message}` : remote.detail ? `: ${String(remote.detail)}` : '';
    let status: HealthStatus = remote.status === 'up' ? 'up' : 'degraded';
    let detail: string | undefined = remote.status === 'up' ? undefined : `remote store ${remote.status}${why}; new readings will be buffered`;
    if (this.#mode === 'buffering') {
      status = 'degraded';
      detail = `remote store not taking writes${why}; ${s.bufferReadings} readings buffered on disk, oldest ${buffer.oldestAgeS} s`;
    }
    if (buffer.bufferFill >= this.#o.warnFill) {
      status = 'degraded';
      detail = `store-and-forward buffer ${Math.round(buffer.bufferFill * 100)} % full${detail ? `; ${detail}` : ''}`;
    }
    if (this.#refusing) {
      status = 'down';
      detail = `store-and-forward buffer full: new readings are refused until the remote store takes the backlog${why}`;
    }
    if (this.#clock.now() - this.#lastDeadLetterAt < DEAD_LETTER_NOTICE_MS && status === 'up') {
      status = 'degraded';
      detail = `${s.deadLetteredReadings} readings refused by the remote store for their content, kept in ${path.join(this.#o.dir, 'dead-letter')}`;
    }
    return { status, ...(detail ? { detail } : {}), ...buffer, ...(f?.httpStatus ? { httpStatus: f.httpStatus } : {}), remote: remote.status };
  }

  stats(): BufferedStoreStats {
    const l = this.#segments?.stats();
    const oldest = l?.oldestAppendedAt ?? null;
    return {
      ...this.#stats,
      mode: this.#mode,
      bufferBytes: l?.bytes ?? 0,
      bufferMaxBytes: this.#o.maxBytes,
      bufferRecords: l?.records ?? 0,
      bufferReadings: l?.readings ?? 0,
      oldestAgeMs: oldest === null ? 0 : Math.max(0, this.#clock.now() - oldest),
      recovery: this.#segments?.report ?? { segments: 0, records: 0, readings: 0, bytes: 0, tornBytes: 0, corruptBytes: 0, cursorReset: false },
      remote: this.remote.stats(),
    };
  }

  /** Resolves once the log is empty and the buffer is back in direct mode (tests, benchmarks, tools). */
  async drained(pollMs = 20): Promise<void> {
    while (this.#state === 'open' && this.#mode === 'buffering') await new Promise((r) => setTimeout(r, pollMs));
  }

  async close(): Promise<void> {
    if (this.#state !== 'open') {
      this.#state = 'closed';
      return;
    }
    this.#state = 'closing';
    await this.#queue;
    this.#wake?.();
    if (this.#drainer) {
      // A remote write in flight may take its full timeout; its records stay in the log and go again next time.
      let t: TimerHandle | undefined;
      await Promise.race([this.#drainer, new Promise<void>((r) => (t = this.#clock.setTimeout(r, 2000)))]);
      if (t) this.#clock.clearTimeout(t);
    }
    await this.#segments?.close();
    await this.remote.close();
    this.#state = 'closed';
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #write(batch: readonly Reading[]): Promise<void> {
    const part: Part = this.#wire ? { kind: 'wire', items: this.#wire.encodeBatch(batch) } : { kind: 'readings', items: [...batch] };
    if (part.items.length === 0) return;
    if (this.#mode === 'direct') {
      const err = await this.#direct(part);
      if (err === null) {
        this.#stats.directBatches++;
        return;
      }
      this.#startBuffering(err);
    }
    await this.#append(part, batch);
  }

  /** One attempt at the remote, bounded by `directTimeoutMs`; null when the batch is delivered (or dead-lettered). */
  async #direct(part: Part): Promise<unknown> {
    let timer: TimerHandle | undefined;
    const attempt = this.#deliver(part).then(
      () => null,
      (err: unknown) => err,
    );
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => (timer = this.#clock.setTimeout(() => resolve(TIMED_OUT), this.#o.directTimeoutMs)));
    const r = await Promise.race([attempt, timeout]);
    if (timer) this.#clock.clearTimeout(timer);
    if (r === TIMED_OUT) {
      return new WarmgridError('STORE_UNAVAILABLE', `remote store took longer than ${this.#o.directTimeoutMs} ms to accept a write`, { retryable: true, details: { reason: 'unavailable' } });
    }
    return r;
  }

  async #append(part: Part, batch: readonly Reading[]): Promise<void> {
    const segments = this.#segments!;
    try {
      await segments.append(encodePart(part), part.items.length);
    } catch (err) {
      if (err instanceof WarmgridError && err.code === 'BACKPRESSURE') {
        this.#stats.refusedBatches++;
        if (!this.#refusing) this.#log.error({ err }, 'store-and-forward buffer full: refusing new readings until the remote store takes the backlog');
        this.#refusing = true;
      }
      throw err;
    }
    this.#refusing = false;
    this.#stats.bufferedBatches++;
    this.#remember(batch);
  }

  /** Sends a part to the remote; entries it refuses for their content are isolated and dead-lettered. */
  async #deliver(part: Part): Promise<void> {
    try {
      if (part.kind === 'readings') await this.remote.write(part.items);
      else if (this.#wire) await this.#wire.writeEncoded(part.items);
      else throw new WarmgridError('STORE_WRITE_FAILED', `the buffer holds entries in a wire format the ${this.remote.kind} store does not take`, { details: { reason: 'data' } });
    } catch (err) {
      this.#stats.writeErrors++;
      if (refusalOf(err) !== 'data') throw err;
      if (part.items.length === 1) {
        await this.#deadLetter(part, err);
        return;
      }
      const mid = part.items.length >> 1;
      await this.#deliver(slicePart(part, 0, mid));
      await this.#deliver(slicePart(part, mid));
    }
  }

  async #deadLetter(part: Part, err: unknown): Promise<void> {
    const dir = path.join(this.#o.dir, 'dead-letter');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${new Date(this.#clock.now()).toISOString().replace(/[:.]/g, '-')}-${process.pid}-${++this.#deadLetterSeq}.json`);
    const fh = await open(file, 'wx');
    try {
      const body = { error: err instanceof Error ? err.message : String(err), details: err instanceof WarmgridError ? err.details : undefined, [part.kind === 'wire' ? 'lines' : 'readings']: part.items };
      await fh.writeFile(JSON.stringify(body));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.#stats.deadLetteredReadings += part.items.length;
    this.#lastDeadLetterAt = this.#clock.now();
    this.#log.error({ err, file, entries: part.items.length }, 'remote store refused readings for their content; kept in the dead-letter directory');
  }

  #remember(batch: readonly Reading[]): void {
    for (const r of batch) {
      let fields = this.#overlay.get(r.asset);
      for (const name in r.fields) {
        if (!fields) this.#overlay.set(r.asset, (fields = new Map()));
        const prev = fields.get(name);
        if (!prev || r.ts >= prev.ts) fields.set(name, { value: r.fields[name]!, ts: r.ts, quality: r.quality });
      }
    }
  }

  #startBuffering(err: unknown): void {
    if (err !== null) this.#noteFailure(err);
    this.#mode = 'buffering';
    this.#drainer ??= this.#drain().finally(() => (this.#drainer = null));
  }

  #noteFailure(err: unknown): void {
    const reason = refusalOf(err);
    const message = err instanceof Error ? err.message : String(err);
    const httpStatus = (err instanceof WarmgridError ? (err.details as { httpStatus?: number } | undefined)?.httpStatus : undefined) ?? undefined;
    const first = this.#failure === null || this.#failure.reason !== reason;
    this.#failure = { reason, message, since: this.#failure?.since ?? this.#clock.now(), ...(httpStatus !== undefined ? { httpStatus } : {}) };
    if (!first) return;
    if (reason === 'auth' || reason === 'not_found') this.#log.error({ err }, 'remote store refuses writes: fix its configuration; readings are kept in the buffer meanwhile');
    else this.#log.warn({ err }, 'remote store not taking writes; buffering readings on disk');
  }

  /**
   * The replay loop: runs while in buffering mode. Remote writes go one at a time, oldest first; the next chunk is
   * read and decoded while the current one is in flight.
   */
  async #drain(): Promise<void> {
    const segments = this.#segments!;
    const limits = { maxReadings: this.#o.replayMaxReadings, maxBytes: this.#o.replayReadBytes };
    const load = async (from?: Position): Promise<Chunk> => {
      const records = await segments.read(limits, from);
      const parts: Part[] = [];
      let entries = 0;
      for (const r of records) {
        const p = decodePart(r.payload);
        entries += p.items.length;
        const last = parts.at(-1);
        if (last && last.kind === p.kind) (last.items as unknown[]).push(...p.items);
        else parts.push(p);
      }
      return { records, parts, entries };
    };
    let failures = 0;
    const started = this.#clock.now();
    let replayed = 0;
    let ahead: Promise<Chunk> | null = null;
    while (this.#state === 'open') {
      let chunk: Chunk;
      try {
        chunk = await (ahead ?? load());
      } catch (err) {
        ahead = null;
        if (this.#state !== 'open') return;
        this.#log.error({ err }, 'cannot read the store-and-forward buffer; retrying');
        await this.#sleep(this.#o.retryMaxMs);
        continue;
      }
      ahead = null;
      if (chunk.records.length === 0) {
        const switched = await this.#serial(async () => {
          if (this.#state !== 'open' || !segments.empty) return false;
          this.#mode = 'direct';
          this.#refusing = false;
          this.#overlay.clear();
          return true;
        });
        if (switched) {
          if (this.#failure || replayed > 0) {
            this.#log.info({ readings: replayed, seconds: Math.round((this.#clock.now() - started) / 1000) }, 'remote store caught up; store-and-forward buffer empty');
          }
          this.#failure = null;
          return;
        }
        // A batch was appended meanwhile, or the cursor sits at the end of a segment: move on and read again.
        await segments.commit([]).catch(() => undefined);
        continue;
      }
      const last = chunk.records.at(-1)!;
      const next = load({ segment: last.at.segment, offset: last.at.offset + last.meta.size });
      next.catch(() => undefined);
      try {
        for (const part of chunk.parts) await this.#deliver(part);
      } catch (err) {
        if (this.#state !== 'open') return;
        this.#noteFailure(err);
        const reason = refusalOf(err);
        failures++;
        const pause = reason === 'auth' || reason === 'not_found' ? this.#o.refusedRetryMs : Math.min(this.#o.retryMaxMs, this.#o.retryMinMs * 2 ** Math.min(failures - 1, 20));
        await this.#sleep(pause);
        continue;
      }
      failures = 0;
      this.#failure = null;
      this.#stats.replayedReadings += chunk.entries;
      replayed += chunk.entries;
      try {
        await segments.commit(chunk.records);
        ahead = next;
      } catch (err) {
        if (this.#state !== 'open') return;
        this.#log.error({ err }, 'cannot move the store-and-forward buffer cursor; its records will be delivered again');
        await this.#sleep(this.#o.retryMinMs);
      }
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.#sleepTimer) this.#clock.clearTimeout(this.#sleepTimer);
        this.#sleepTimer = null;
        this.#wake = null;
        resolve();
      };
      this.#wake = done;
      this.#sleepTimer = this.#clock.setTimeout(done, ms);
    });
  }

  #notOpen(): WarmgridError {
    return this.#state === 'closing' || this.#state === 'closed' ? new WarmgridError('SHUTTING_DOWN', 'telemetry store is closed') : new WarmgridError('STORE_UNAVAILABLE', 'telemetry store is not open');
  }
}

function encodePart(part: Part): Buffer {
  const json = JSON.stringify(part.items);
  const buf = Buffer.allocUnsafe(1 + Buffer.byteLength(json));
  buf[0] = part.kind === 'wire' ? KIND_WIRE : KIND_READINGS;
  buf.write(json, 1);
  return buf;
}

function decodePart(payload: Buffer): Part {
  const v = JSON.parse(payload.toString('utf8', 1)) as unknown;
  const items = Array.isArray(v) ? v : [];
  return payload[0] === KIND_WIRE ? { kind: 'wire', items: items as string[] } : { kind: 'readings', items: items as Reading[] };
}

function slicePart(part: Part, start: number, end?: number): Part {
  return part.kind === 'wire' ? { kind: 'wire', items: part.items.slice(start, end) } : { kind: 'readings', items: part.items.slice(start, end) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
