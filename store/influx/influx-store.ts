/**
 * InfluxTelemetryStore: the TelemetryStore port on InfluxDB 2.x (schema: docs/influxdb.md).
 *
 * Parts: LineEncoder (readings → line protocol), InfluxWriter (`/api/v2/write`, gzip, bounded retries), InfluxReader
 * (Flux). In production it sits behind the store-and-forward buffer (store/buffer), which makes writes survive an
 * outage; on its own a write fails once its retries are used up.
 *
 * - `open()` creates the client and, with `checkOnOpen`, asks the server whether the bucket exists in the
 *   organisation: a wrong token (401/403) or a missing bucket or organisation fails the start with a clear error, so
 *   a misconfigured hub stops at once instead of buffering forever. An unreachable server is not an error at open (the
 *   buffer covers it); it is logged as a warning.
 * - `write(batch)` resolves once InfluxDB accepted every line (see writer.ts); readings without a storable field are
 *   skipped. Idempotent per (asset, field, ts): the same reading always gives the same series key (line-protocol.ts).
 * - `latest` and `history` query Flux; failures reject with STORE_UNAVAILABLE naming the HTTP status.
 * - `health()` GETs `/health` at most every `healthCacheMs` and reports the last write's refusal, if any.
 *
 * Secrets: the token comes from the caller (config: INFLUX_TOKEN only) and is sent only as the Authorization header.
 */
import { InfluxDB } from '@influxdata/influxdb-client';
import { systemClock, type Clock } from '../../core/clock.ts';
import { WarmgridError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/log.ts';
import type { Reading } from '../../ingest/reading.ts';
import type { WireFormat } from '../buffer/remote.ts';
import { AGGREGATES, BUCKETS, type ComponentHealth, type HistoryQuery, type HistoryResult, type LatestByAsset, type StoreStats, type TelemetryStore } from '../telemetry-store.ts';
import { classifyInfluxError, influxError } from './errors.ts';
import { flatPlaces, LineEncoder, type PlaceResolver } from './line-protocol.ts';
import { InfluxReader } from './reader.ts';
import { InfluxWriter } from './writer.ts';

export interface InfluxStoreOptions {
  url: string;
  org: string;
  bucket: string;
  token: string;
  /** Measurement and place tags per asset; default: one measurement `asset`, no place tags. */
  place?: PlaceResolver;
  /** Socket timeout per HTTP request, ms (default 10 s). */
  timeoutMs?: number;
  /** Attempts after the first for a retryable write failure (default 2). */
  retries?: number;
  retryBaseMs?: number;
  maxLinesPerRequest?: number;
  gzip?: boolean;
  /** Check token, organisation and bucket at open (default true; off for servers that speak only the write API). */
  checkOnOpen?: boolean;
  /** How long a `/health` answer is reused (default 5 s). */
  healthCacheMs?: number;
  clock?: Clock;
  log?: Logger;
}

export interface InfluxStoreStats extends StoreStats {
  requests: number;
  bytesSent: number;
  /** Readings that held no storable field, and single values left out (non-finite numbers). */
  readingsSkipped: number;
  valuesSkipped: number;
}

type State = 'new' | 'open' | 'closed';

export class InfluxTelemetryStore implements TelemetryStore, WireFormat {
  readonly kind = 'influx';
  readonly #opts: InfluxStoreOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #encoder: LineEncoder;
  readonly #place: PlaceResolver;
  readonly #linesPerRequest: number;
  #client: InfluxDB | null = null;
  #writer: InfluxWriter | null = null;
  #reader: InfluxReader | null = null;
  #state: State = 'new';
  #stats: InfluxStoreStats = { rowsWritten: 0, batchesWritten: 0, writeErrors: 0, pending: 0, requests: 0, bytesSent: 0, readingsSkipped: 0, valuesSkipped: 0 };
  #lastWriteError: WarmgridError | null = null;
  #ping: { at: number; health: ComponentHealth; running: Promise<ComponentHealth> | null } = { at: -Infinity, health: { status: 'down', detail: 'not checked yet' }, running: null };

  constructor(opts: InfluxStoreOptions) {
    for (const k of ['url', 'org', 'bucket'] as const) {
      if (!opts[k]) throw new WarmgridError('CONFIG_INVALID', `InfluxDB ${k} is not set (store.influx.${k} or INFLUX_${k.toUpperCase()})`);
    }
    if (!opts.token) throw new WarmgridError('CONFIG_INVALID', 'InfluxDB token is not set: set INFLUX_TOKEN in the environment');
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.log ?? silentLogger();
    this.#place = opts.place ?? flatPlaces();
    this.#encoder = new LineEncoder(this.#place);
    this.#linesPerRequest = Math.max(1, opts.maxLinesPerRequest ?? 5000);
  }

  /** Server URL (no credentials in it). */
  get url(): string {
    return this.#opts.url;
  }

  /** The write side alone, e.g. to send prepared lines. */
  get writer(): InfluxWriter {
    if (!this.#writer) throw this.#notOpen();
    return this.#writer;
  }

  get encoder(): LineEncoder {
    return this.#encoder;
  }

  async open(): Promise<void> {
    if (this.#state !== 'new') throw new WarmgridError('STORE_UNAVAILABLE', `InfluxDB store cannot open from state ${this.#state}`);
    const o = this.#opts;
    const client = (this.#client = new InfluxDB({ url: o.url, token: o.token, timeout: o.timeoutMs ?? 10_000 }));
    this.#writer = new InfluxWriter({
      client,
      url: o.url,
      org: o.org,
      bucket: o.bucket,
      clock: this.#clock,
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.retryBaseMs !== undefined ? { retryBaseMs: o.retryBaseMs } : {}),
      ...(o.maxLinesPerRequest !== undefined ? { maxLinesPerRequest: o.maxLinesPerRequest } : {}),
      ...(o.gzip !== undefined ? { gzip: o.gzip } : {}),
    });
    this.#reader = new InfluxReader({ client, url: o.url, org: o.org, bucket: o.bucket, measurementOf: (a) => this.#place(a).measurement });
    if (o.checkOnOpen ?? true) await this.#check(client);
    this.#state = 'open';
  }

  async write(batch: readonly Reading[]): Promise<void> {
    if (this.#state !== 'open') throw this.#notOpen();
    if (batch.length === 0) return;
    // One request per slice, sent in order; the next slice is encoded while the previous request is in flight.
    const per = this.#linesPerRequest;
    await this.#send(batch.length, (function* (this: InfluxTelemetryStore) {
      for (let i = 0; i < batch.length; i += per) yield this.encodeBatch(i === 0 && batch.length <= per ? batch : batch.slice(i, i + per));
    }).call(this));
  }

  /** Line protocol for a batch (the buffer keeps these lines and sends them with `writeEncoded`). */
  encodeBatch(batch: readonly Reading[]): string[] {
    const enc = this.#encoder.encode(batch);
    this.#stats.readingsSkipped += enc.skippedReadings;
    this.#stats.valuesSkipped += enc.skippedValues;
    return enc.lines;
  }

  /** Sends lines made by `encodeBatch`, in order, in requests of at most `maxLinesPerRequest`. */
  async writeEncoded(lines: readonly string[]): Promise<void> {
    if (this.#state !== 'open') throw this.#notOpen();
    if (lines.length === 0) return;
    await this.#send(lines.length, [lines]);
  }

  async #send(count: number, slices: Iterable<readonly string[]>): Promise<void> {
    const stats = this.#stats;
    stats.pending += count;
    try {
      let inflight: Promise<unknown> | null = null;
      for (const lines of slices) {
        if (inflight) await inflight;
        if (lines.length === 0) continue;
        inflight = this.#writer!.write(lines).then((out) => {
          stats.requests += out.requests;
          stats.bytesSent += out.bytes;
          stats.rowsWritten += lines.length;
        });
      }
      if (inflight) await inflight;
      stats.batchesWritten++;
      this.#lastWriteError = null;
    } catch (err) {
      stats.writeErrors++;
      this.#lastWriteError = err instanceof WarmgridError ? err : influxError('write', this.#opts.url, classifyInfluxError(err), err);
      throw this.#lastWriteError;
    } finally {
      stats.pending -= count;
    }
  }

  async latest(assets?: readonly string[]): Promise<LatestByAsset> {
    if (this.#state !== 'open') throw this.#notOpen();
    return this.#reader!.latest(assets);
  }

  async history(q: HistoryQuery): Promise<HistoryResult> {
    if (this.#state !== 'open') throw this.#notOpen();
    validate(q);
    const series = await this.#reader!.history(q);
    return { asset: q.asset, bucket: q.bucket, aggregate: q.aggregate, series };
  }

  async health(): Promise<ComponentHealth> {
    if (this.#state !== 'open') return { status: 'down', detail: `store is ${this.#state}` };
    const err = this.#lastWriteError;
    const ping = await this.#pingCached();
    const base = { url: this.#opts.url, bucket: this.#opts.bucket };
    if (ping.status !== 'up') return { ...ping, ...base };
    if (err) {
      // Refused credentials or a missing bucket stop every write: down. A refused batch or a passing failure: degraded.
      const d = err.details as { httpStatus?: number; reason?: string } | undefined;
      const blocked = d?.reason === 'auth' || d?.reason === 'not_found';
      return { status: blocked ? 'down' : 'degraded', detail: err.message, ...base, ...(d?.httpStatus ? { httpStatus: d.httpStatus } : {}) };
    }
    return { status: 'up', ...base };
  }

  stats(): InfluxStoreStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    // Writes hold no state between calls: a write in flight settles on its own; nothing is queued here.
    this.#state = 'closed';
  }

  /** GET /health, reused for `healthCacheMs`; concurrent callers share one request. */
  #pingCached(): Promise<ComponentHealth> {
    const p = this.#ping;
    if (this.#clock.now() - p.at < (this.#opts.healthCacheMs ?? 5000)) return Promise.resolve(p.health);
    if (p.running) return p.running;
    p.running = this.#client!.transport.request('/health', '', { method: 'GET' }).then(
      (): ComponentHealth => ({ status: 'up' }),
      (err: unknown): ComponentHealth => ({ status: 'down', detail: influxError('check', this.#opts.url, classifyInfluxError(err), err).message }),
    ).then((h) => {
      p.at = this.#clock.now();
      p.health = h;
      p.running = null;
      return h;
    });
    return p.running;
  }

  async #check(client: InfluxDB): Promise<void> {
    const o = this.#opts;
    const path = `/api/v2/buckets?name=${encodeURIComponent(o.bucket)}&org=${encodeURIComponent(o.org)}`;
    let res: unknown;
    try {
      res = await client.transport.request(path, '', { method: 'GET' });
    } catch (err) {
      const f = classifyInfluxError(err);
      if (f.retryable) {
        this.#log.warn({ err, url: o.url }, 'InfluxDB is not reachable at start; writes go to the buffer until it is');
        return;
      }
      throw influxError('check', o.url, f, err);
    }
    const buckets = (res as { buckets?: { name?: string }[] } | undefined)?.buckets;
    if (!Array.isArray(buckets) || !buckets.some((b) => b.name === o.bucket)) {
      throw new WarmgridError('STORE_UNAVAILABLE', `InfluxDB at ${o.url} has no bucket "${o.bucket}" in organisation "${o.org}" (check INFLUX_BUCKET and INFLUX_ORG)`, {
        details: { reason: 'not_found' },
      });
    }
  }

  #notOpen(): WarmgridError {
    return this.#state === 'closed' ? new WarmgridError('SHUTTING_DOWN', 'telemetry store is closed') : new WarmgridError('STORE_UNAVAILABLE', 'telemetry store is not open');
  }
}

function validate(q: HistoryQuery): void {
  const bad = (m: string): never => {
    throw new WarmgridError('VALIDATION_FAILED', m);
  };
  if (typeof q.asset !== 'string') bad('asset must be a string');
  if (!Array.isArray(q.fields)) bad('fields must be an array');
  if (!(BUCKETS as readonly string[]).includes(q.bucket)) bad(`unknown bucket ${String(q.bucket)}`);
  if (!(AGGREGATES as readonly string[]).includes(q.aggregate)) bad(`unknown aggregate ${String(q.aggregate)}`);
  if (typeof q.from !== 'number' || typeof q.to !== 'number' || Number.isNaN(q.from) || Number.isNaN(q.to)) bad('from and to must be numbers');
  if (q.limit !== undefined && !(Number.isInteger(q.limit) && q.limit >= 0)) bad('limit must be a non-negative integer');
}
