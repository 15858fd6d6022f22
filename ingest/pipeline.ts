/**
 * The ingest pipeline: validate → scale → range check → deadband → latest → store (batched, acknowledged) + live bus.
 *
 * Contract:
 * - `ingest(readings)` resolves once every accepted reading is durable in the store; only then may a source
 *   acknowledge upstream. It never throws for bad input: bad readings and fields are rejected, counted by reason,
 *   and reported in the result; the good ones go on. It rejects only when the store could not take the batch.
 * - Source timestamps are kept. A reading without one must be stamped by its source with the hub's clock.
 * - Per-asset state (series with their deadband memory and rule, latest values, status) lives here: one map lookup per
 *   reading and one per field on the hot path; rule matching (globs) is resolved once per series.
 * - A reading whose fields all pass unchanged is stored and published as it came; one with a dropped or scaled field
 *   as a copy with the stored values.
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
/** Series (distinct fields) per asset; a device inventing field names beyond it is refused, so memory stays bounded. */
export const MAX_SERIES_PER_ASSET = 5000;

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
  /** The rule of this field for the asset's kind, resolved when the series is first seen. */
  rule: ResolvedRule;
  /** Last stored value and time, for the deadband. */
  storedValue: FieldValue;
  storedTs: number;
  storedQuality: Quality;
}

/** Everything the hot path needs about one asset, behind one map lookup per reading. */
interface AssetState {
  kind: string;
  series: Map<string, SeriesState>;
  latest: Map<string, LatestValue>;
  status: AssetStatus | undefined;
}

/** Distinct field names whose rules are cached per asset kind; names beyond it are resolved each time (bounded memory). */
const RULE_CACHE_LIMIT = 10_000;

export interface AssetStatus {
  lastTs: number;
  quality: Quality;
  source: string;
}

/** The fields names[0..upTo) of a reading, all kept as they came: the start of its stored copy once one differs. */
function copyKept(fields: Readonly<Record<string, FieldValue>>, names: readonly string[], upTo: number): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (let i = 0; i < upTo; i++) out[names[i]!] = fields[names[i]!]!;
  return out;
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
  readonly #ruleCache = new Map<string, Map<string, ResolvedRule>>();
  /** Per asset: series state, latest values, status. Only assets of the tree get an entry, so bad input cannot grow it. */
  readonly #state = new Map<string, AssetState>();
  /** Metric label of each source name ("mqtt:bench" → "mqtt"). */
  readonly #sourceLabel = new Map<string, string>();
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
      const st = this.#stateOf(asset);
      if (!st) continue;
      for (const [field, v] of fields) {
        st.latest.set(field, v);
        st.series.set(field, { rule: this.#ruleFor(st.kind, field), storedValue: v.value, storedTs: v.ts, storedQuality: v.quality });
      }
    }
  }

  #ruleFor(kind: string, field: string): ResolvedRule {
    let cache = this.#ruleCache.get(kind);
    if (!cache) this.#ruleCache.set(kind, (cache = new Map()));
    let r = cache.get(field);
    if (!r) {
      // The last matching rule wins whole (no key-by-key merging), so one rule says everything about a field.
      r = IDENTITY_RULE;
      for (const cand of this.#rules) if ((cand.kind === '*' || cand.kind === kind) && cand.re.test(field)) r = cand.rule;
      if (cache.size < RULE_CACHE_LIMIT) cache.set(field, r);
    }
    return r;
  }

  #stateOf(id: string): AssetState | undefined {
    let st = this.#state.get(id);
    if (!st) {
      const asset = this.#assets.get(id);
      if (!asset) return undefined;
      this.#state.set(id, (st = { kind: asset.kind, series: new Map(), latest: new Map(), status: undefined }));
    }
    return st;
  }

  #labelOf(source: string): string {
    let l = this.#sourceLabel.get(source);
    if (l === undefined) {
      l = source.split(':')[0] ?? source;
      // Source names come from configuration, so this stays small; the guard keeps it so whatever calls ingest().
      if (this.#sourceLabel.size < 1000) this.#sourceLabel.set(source, l);
    }
    return l;
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

    // Counted here and added to the metrics once per call: a labelled counter costs a hash lookup per increment.
    let deadbanded = 0;
    let inLabel = '';
    let inCount = 0;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      const st = typeof r.asset === 'string' ? this.#stateOf(r.asset) : undefined;
      if (!st) {
        bad(i, 'unknown_asset', `unknown asset "${String(r.asset).slice(0, 80)}"`, true);
        continue;
      }
      const ts = r.ts;
      if (typeof ts !== 'number' || !Number.isFinite(ts)) {
        bad(i, 'ts_invalid', 'timestamp is not a finite number of epoch milliseconds', true);
        continue;
      }
      if (ts > now + this.#maxFutureMs) {
        bad(i, 'ts_future', `timestamp ${new Date(ts).toISOString()} is more than ${this.#maxFutureMs} ms ahead of the hub clock`, true);
        continue;
      }
      if (ts < now - this.#maxPastMs) {
        bad(i, 'ts_past', `timestamp ${new Date(ts).toISOString()} is more than ${this.#maxPastMs} ms in the past`, true);
        continue;
      }
      const quality = r.quality;
      if (quality !== 'good' && quality !== 'uncertain' && quality !== 'bad') {
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

      const series = st.series;
      const latest = st.latest;
      // The stored fields, made only once one differs from the reading's own (dropped, or scaled): most readings pass
      // whole and are stored as they came.
      let out: Record<string, FieldValue> | null = null;
      let kept = 0;
      let valid = 0;
      for (let f = 0; f < names.length; f++) {
        const name = names[f]!;
        const raw = fields[name];
        const s = series.get(name);
        // A name with a series was checked when the series began.
        if (s === undefined) {
          if (!FIELD_NAME_RE.test(name)) {
            bad(i, 'invalid_field', `field name "${name.slice(0, 64)}" is not snake_case`, false);
            out ??= copyKept(fields, names, f);
            continue;
          }
          if (series.size >= MAX_SERIES_PER_ASSET) {
            bad(i, 'oversize', `${r.asset} already has ${MAX_SERIES_PER_ASSET} fields; new field ${name} not taken`, false);
            out ??= copyKept(fields, names, f);
            continue;
          }
        }
        let v: FieldValue;
        if (typeof raw === 'number') {
          if (!Number.isFinite(raw)) {
            bad(i, 'invalid_value', `${name} is not a finite number`, false);
            out ??= copyKept(fields, names, f);
            continue;
          }
          const rule = s !== undefined ? s.rule : this.#ruleFor(st.kind, name);
          v = raw;
          if (rule !== IDENTITY_RULE) {
            v = raw * rule.scale + rule.offset;
            if (v < rule.min || v > rule.max) {
              bad(i, 'out_of_range', `${name}=${v} outside ${rule.min}..${rule.max}`, false);
              out ??= copyKept(fields, names, f);
              continue;
            }
            if (v !== raw) out ??= copyKept(fields, names, f);
          }
          valid++;
          if (
            s !== undefined &&
            rule.deadband > 0 &&
            typeof s.storedValue === 'number' &&
            s.storedQuality === quality &&
            Math.abs(v - s.storedValue) < rule.deadband &&
            ts - s.storedTs < rule.heartbeatMs &&
            ts >= s.storedTs
          ) {
            deadbanded++;
            out ??= copyKept(fields, names, f);
            continue;
          }
        } else if (typeof raw === 'boolean') {
          v = raw;
          valid++;
        } else if (typeof raw === 'string') {
          if (raw.length > MAX_STRING_FIELD) {
            bad(i, 'invalid_value', `${name} is longer than ${MAX_STRING_FIELD} characters`, false);
            out ??= copyKept(fields, names, f);
            continue;
          }
          v = raw;
          valid++;
        } else {
          bad(i, 'invalid_value', `${name} must be a number, boolean or string`, false);
          out ??= copyKept(fields, names, f);
          continue;
        }
        if (out !== null) out[name] = v;
        kept++;
        if (s !== undefined) {
          s.storedValue = v;
          s.storedTs = ts;
          s.storedQuality = quality;
        } else {
          series.set(name, { rule: this.#ruleFor(st.kind, name), storedValue: v, storedTs: ts, storedQuality: quality });
        }
        const l = latest.get(name);
        if (l === undefined || ts >= l.ts) latest.set(name, { value: v, ts, quality });
      }

      if (valid === 0 && names.length > 0) {
        result.rejected++;
        this.#metrics.readingsRejected.inc({ reason: 'no_fields' });
        result.reasons.no_fields = (result.reasons.no_fields ?? 0) + 1;
        continue;
      }
      const status = st.status;
      if (status === undefined) st.status = { lastTs: ts, quality, source: r.source };
      else if (ts >= status.lastTs || quality !== status.quality) {
        if (ts > status.lastTs) status.lastTs = ts;
        status.quality = quality;
        status.source = r.source;
      }
      if (names.length === 0) {
        // A status-only reading (e.g. "device not answering"): it marks the asset's latest values with its quality.
        if (quality !== 'good') for (const [k, l] of latest) latest.set(k, { ...l, quality });
      }
      result.accepted++;
      const label = this.#labelOf(r.source);
      if (label !== inLabel) {
        if (inCount > 0) this.#metrics.readingsIn.inc({ source: inLabel }, inCount);
        inLabel = label;
        inCount = 0;
      }
      inCount++;
      const accepted: Reading = out === null ? r : { ...r, fields: out };
      this.#bus.publishReading(accepted);
      if (kept > 0) toStore.push(accepted);
    }
    if (inCount > 0) this.#metrics.readingsIn.inc({ source: inLabel }, inCount);
    if (deadbanded > 0) this.#metrics.fieldsDeadband.inc(deadbanded);

    if (toStore.length > 0) {
      await this.writer.waitForRoom();
      const durable = this.writer.add(toStore);
      this.#metrics.queueDepth.set(this.writer.pending);
      await durable;
    }
    return result;
  }

  latest(asset: string): ReadonlyMap<string, LatestValue> | undefined {
    return this.#state.get(asset)?.latest;
  }

  /** A copy: the pipeline updates its own in place. */
  status(asset: string): AssetStatus | undefined {
    const st = this.#state.get(asset)?.status;
    return st && { ...st };
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
