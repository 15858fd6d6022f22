/**
 * The ingest pipeline: validate → scale → range check → deadband → latest → store (batched, acknowledged) + live bus.
 *
 * Contract:
 * - `ingest(readings)` resolves once every accepted reading is durable in the store; only then may a source
 *   acknowledge upstream. It never throws for bad input: bad readings and fields are rejected, counted by reason,
 *   and reported in the result; the good ones go on. It rejects only when the store could not take the batch.
 * - Source timestamps are kept. A reading without one must be stamped by its source with the hub's clock.
 * - Per-series state (deadband memory, latest values) lives here, so it is one map lookup per field on the hot path;
 *   rule matching (globs) is resolved once per (asset kind, field) pair and cached.
 * - Live listeners see accepted readings at once, before they are durable (screens want low latency).
 */
import type { AssetTree } from '../config/asset-tree.ts';
import type { PipelineRule } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { RateLimitedLog } from '../core/log.ts';
import type { Metrics } from '../core/metrics.ts';
import type { LatestByAsset, LatestValue, TelemetryStore } from '../store/telemetry-store.ts';
import { BatchWriter } from './batch-writer.ts';
import type { LiveBus } from './live-bus.ts';
import { FIELD_NAME_RE, QUALITIES, type FieldValue, type Quality, type Reading } from './reading.ts';

export const REJECT_REASONS = [
  'malformed',
  'oversize',
  'wrong_type',
  'unknown_asset',
  'unknown_device',
  'invalid_field',
  'invalid_value',
  'invalid_quality',
  'out_of_range',
  'ts_invalid',
  'ts_future',
  'ts_past',
  'no_fields',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const MAX_STRING_FIELD = 256;
export const MAX_FIELDS_PER_READING = 512;

export interface IngestResult {
  accepted: number;
  rejected: number;
  /** Per reason, both whole readings and single fields. */
  reasons: Partial<Record<RejectReason, number>>;
  /** The first few problems, for an API response or a log line. */
  problems: { index: number; reason: RejectReason; detail: string }[];
}

export interface PipelineOptions {
  assets: AssetTree;
  store: TelemetryStore;
  bus: LiveBus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  rules?: readonly PipelineRule[];
  batchSize?: number;
  flushMs?: number;
  queueLimit?: number;
  maxFutureMs?: number;
  maxPastMs?: number;
}

interface ResolvedRule {
  scale: number;
  offset: number;
  deadband: number;
  heartbeatMs: number;
  min: number;
  max: number;
}

const IDENTITY_RULE: ResolvedRule = { scale: 1, offset: 0, deadband: 0, heartbeatMs: 0, min: -Infinity, max: Infinity };

interface SeriesState {
  /** Last stored value and time, for the deadband. */
  storedValue: FieldValue;
  storedTs: number;
  storedQuality: Quality;
}

export interface AssetStatus {
  lastTs: number;
  quality: Quality;
  source: string;
}

function globToRegExp(glob: string): RegExp {
  const esc = glob.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${esc}$`);
}

export class Pipeline {
  readonly writer: BatchWriter;
  readonly #assets: AssetTree;
  readonly #bus: LiveBus;
  readonly #clock: Clock;
  readonly #metrics: Metrics;
  readonly #warn: RateLimitedLog;
  readonly #rules: { kind: string; re: RegExp; rule: ResolvedRule }[];
  readonly #ruleCache = new Map<string, ResolvedRule>();
  readonly #series = new Map<string, Map<string, SeriesState>>();
  readonly #latest: LatestByAsset = new Map();
  readonly #status = new Map<string, AssetStatus>();
  readonly #maxFutureMs: number;
  readonly #maxPastMs: number;

  constructor(opts: PipelineOptions) {
    this.#assets = opts.assets;
    this.#bus = opts.bus;
    this.#clock = opts.clock;
    this.#metrics = opts.metrics;
    this.#warn = new RateLimitedLog(opts.log, 5, 60_000, () => opts.clock.now());
    this.#maxFutureMs = opts.maxFutureMs ?? 300_000;
    this.#maxPastMs = opts.maxPastMs ?? 7 * 86_400_000;
    this.#rules = (opts.rules ?? []).map((r) => ({
      kind: r.kind,
      re: globToRegExp(r.field),
      rule: { scale: r.scale, offset: r.offset, deadband: r.deadband, heartbeatMs: r.heartbeatMs, min: r.min ?? -Infinity, max: r.max ?? Infinity },
    }));
    this.writer = new BatchWriter({
      store: opts.store,
      clock: opts.clock,
      batchSize: opts.batchSize ?? 5000,
      flushMs: opts.flushMs ?? 250,
      queueLimit: opts.queueLimit ?? 200_000,
      onWritten: (n, s) => {
        this.#metrics.storeRows.inc(n);
        this.#metrics.storeWriteSeconds.observe(s);
        this.#metrics.queueDepth.set(this.writer.pending);
      },
      onError: (err, attempt) => {
        this.#metrics.storeWriteErrors.inc();
        opts.log.warn({ err, attempt }, 'telemetry store write failed; retrying');
      },
    });
  }

  /** Seeds latest values (e.g. from the store after a restart) so screens and deadbands start from what was stored. */
  seedLatest(latest: LatestByAsset): void {
    for (const [asset, fields] of latest) {
      if (!this.#assets.has(asset)) continue;
      const mine = this.#latestOf(asset);
      const series = this.#seriesOf(asset);
      for (const [field, v] of fields) {
        mine.set(field, v);
        series.set(field, { storedValue: v.value, storedTs: v.ts, storedQuality: v.quality });
      }
    }
  }

  #ruleFor(kind: string, field: string): ResolvedRule {
    const key = `${kind}\u0000${field}`;
    let r = this.#ruleCache.get(key);
    if (!r) {
      // The last matching rule wins whole (no key-by-key merging), so one rule says everything about a field.
      r = IDENTITY_RULE;
      for (const cand of this.#rules) if ((cand.kind === '*' || cand.kind === kind) && cand.re.test(field)) r = cand.rule;
      this.#ruleCache.set(key, r);
    }
    return r;
  }

  #seriesOf(asset: string): Map<string, SeriesState> {
    let m = this.#series.get(asset);
    if (!m) this.#series.set(asset, (m = new Map()));
    return m;
  }

  #latestOf(asset: string): Map<string, LatestValue> {
    let m = this.#latest.get(asset);
    if (!m) this.#latest.set(asset, (m = new Map()));
    return m;
  }

  /** Counts input a source rejected before it became a Reading (a malformed payload, an unknown device). */
  reject(reason: RejectReason | string, detail: string, source = 'unknown'): void {
    this.#metrics.readingsRejected.inc({ reason });
    this.#warn.warn(`${source}:${reason}`, { source, reason, detail: detail.slice(0, 300) }, 'input rejected');
  }

  async ingest(readings: readonly Reading[]): Promise<IngestResult> {
    const result: IngestResult = { accepted: 0, rejected: 0, reasons: {}, problems: [] };
    const now = this.#clock.now();
    const toStore: Reading[] = [];
    const bad = (index: number, reason: RejectReason, detail: string, whole: boolean): void => {
      result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
      if (result.problems.length < 20) result.problems.push({ index, reason, detail });
      if (whole) {
        result.rejected++;
        this.#metrics.readingsRejected.inc({ reason });
      } else {
        this.#metrics.fieldsRejected.inc({ reason });
      }
    };

    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const asset = this.#assets.get(r.asset);
      if (!asset) {
        bad(i, 'unknown_asset', `unknown asset "${String(r.asset).slice(0, 80)}"`, true);
        continue;
      }
      if (typeof r.ts !== 'number' || !Number.isFinite(r.ts)) {
        bad(i, 'ts_invalid', 'timestamp is not a finite number of epoch milliseconds', true);
        continue;
      }
      if (r.ts > now + this.#maxFutureMs) {
        bad(i, 'ts_future', `timestamp ${new Date(r.ts).toISOString()} is more than ${this.#maxFutureMs} ms ahead of the hub clock`, true);
        continue;
      }
      if (r.ts < now - this.#maxPastMs) {
        bad(i, 'ts_past', `timestamp ${new Date(r.ts).toISOString()} is more than ${this.#maxPastMs} ms in the past`, true);
        continue;
      }
      if (!QUALITIES.includes(r.quality)) {
        bad(i, 'invalid_quality', `quality must be one of ${QUALITIES.join(', ')}`, true);
        continue;
      }
      const fields = r.fields;
      if (fields === null || typeof fields !== 'object') {
        bad(i, 'malformed', 'fields must be an object', true);
        continue;
      }
      const names = Object.keys(fields);
      if (names.length > MAX_FIELDS_PER_READING) {
        bad(i, 'oversize', `more than ${MAX_FIELDS_PER_READING} fields`, true);
        continue;
      }

      const series = this.#seriesOf(r.asset);
      const latest = this.#latestOf(r.asset);
      const out: Record<string, FieldValue> = {};
      let kept = 0;
      let valid = 0;
      for (const name of names) {
        if (!FIELD_NAME_RE.test(name)) {
          bad(i, 'invalid_field', `field name "${name.slice(0, 64)}" is not snake_case`, false);
          continue;
        }
        let v = fields[name];
        if (typeof v === 'number') {
          if (!Number.isFinite(v)) {
            bad(i, 'invalid_value', `${name} is not a finite number`, false);
            continue;
          }
          const rule = this.#ruleFor(asset.kind, name);
          if (rule !== IDENTITY_RULE) {
            v = v * rule.scale + rule.offset;
            if (v < rule.min || v > rule.max) {
              bad(i, 'out_of_range', `${name}=${v} outside ${rule.min}..${rule.max}`, false);
              continue;
            }
          }
          valid++;
          const prev = series.get(name);
          if (
            prev &&
            rule.deadband > 0 &&
            typeof prev.storedValue === 'number' &&
            prev.storedQuality === r.quality &&
            Math.abs(v - prev.storedValue) < rule.deadband &&
            r.ts - prev.storedTs < rule.heartbeatMs &&
            r.ts >= prev.storedTs
          ) {
            this.#metrics.fieldsDeadband.inc();
            continue;
          }
        } else if (typeof v === 'boolean') {
          valid++;
        } else if (typeof v === 'string') {
          if (v.length > MAX_STRING_FIELD) {
            bad(i, 'invalid_value', `${name} is longer than ${MAX_STRING_FIELD} characters`, false);
            continue;
          }
          valid++;
        } else {
          bad(i, 'invalid_value', `${name} must be a number, boolean or string`, false);
          continue;
        }
        out[name] = v;
        kept++;
        const s = series.get(name);
        if (s) {
          s.storedValue = v;
          s.storedTs = r.ts;
          s.storedQuality = r.quality;
        } else {
          series.set(name, { storedValue: v, storedTs: r.ts, storedQuality: r.quality });
        }
        const l = latest.get(name);
        if (!l || r.ts >= l.ts) latest.set(name, { value: v, ts: r.ts, quality: r.quality });
      }

      if (valid === 0 && names.length > 0) {
        result.rejected++;
        this.#metrics.readingsRejected.inc({ reason: 'no_fields' });
        result.reasons.no_fields = (result.reasons.no_fields ?? 0) + 1;
        continue;
      }
      const st = this.#status.get(r.asset);
      if (!st || r.ts >= st.lastTs || r.quality !== st.quality) this.#status.set(r.asset, { lastTs: Math.max(r.ts, st?.lastTs ?? 0), quality: r.quality, source: r.source });
      if (names.length === 0) {
        // A status-only reading (e.g. "device not answering"): it marks the asset's latest values with its quality.
        if (r.quality !== 'good') for (const [k, l] of latest) latest.set(k, { ...l, quality: r.quality });
      }
      result.accepted++;
      this.#metrics.readingsIn.inc({ source: r.source.split(':')[0] ?? r.source });
      const accepted: Reading = kept === names.length ? r : { ...r, fields: out };
      this.#bus.publishReading(accepted);
      if (kept > 0) toStore.push(accepted);
    }

    if (toStore.length > 0) {
      await this.writer.waitForRoom();
      const durable = this.writer.add(toStore);
      this.#metrics.queueDepth.set(this.writer.pending);
      await durable;
    }
    return result;
  }

  latest(asset: string): ReadonlyMap<string, LatestValue> | undefined {
    return this.#latest.get(asset);
  }

  status(asset: string): AssetStatus | undefined {
    return this.#status.get(asset);
  }

  get pending(): number {
    return this.writer.pending;
  }

  async flush(): Promise<void> {
    await this.writer.flush();
  }

  async close(): Promise<void> {
    await this.writer.close();
  }
}
