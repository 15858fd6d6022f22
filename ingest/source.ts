/**
 * Source plugins: how devices get into the hub.
 *
 * A plugin is `{ kind, configSchema, create(config, ctx) }`, collected in one typed map (ingest/sources/index.ts).
 *
 * Lifecycle rules:
 * - `validate` runs at config load, before any connection opens; it returns every problem it finds (never throws).
 * - `create` must not do I/O. `start()` opens connections and begins polling or subscribing; it resolves once the source
 *   is running, even if some devices are unreachable (those are retried with backoff and reported in `health()`).
 * - A source hands readings to `ctx.emit`; the promise resolves once the pipeline has made them durable (store or
 *   store-and-forward buffer), which is when a source may acknowledge them upstream. Calls may overlap: the pipeline
 *   takes each call's readings in the order of the calls (deadbands, latest values and store batches follow it) and
 *   makes them durable in that order, so a source keeps per-device order by emitting in order.
 * - Errors during a poll belong to that device: record, mark quality, reconnect with backoff, keep the others going.
 * - `stop()` stops polling, waits for in-flight emits, and closes connections. It is called once.
 */
import type { TSchema } from '@sinclair/typebox';
import type { AssetTree } from '../config/asset-tree.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { ComponentHealth } from '../store/telemetry-store.ts';
import type { Reading } from './reading.ts';
import type { RejectReason } from './pipeline.ts';

export interface SourceContext {
  log: Logger;
  clock: Clock;
  assets: AssetTree;
  /** Device templates by id, as loaded from config (the plugin validated its own). */
  templates: ReadonlyMap<string, Record<string, unknown>>;
  /** The hub's data directory (absolute), for what a source keeps (e.g. OPC UA certificates under pki/). */
  dataDir?: string;
  emit(readings: Reading[]): Promise<void>;
  /** Count input rejected before it became a Reading (malformed payloads, unknown devices). */
  reject(reason: RejectReason | string, detail: string): void;
}

export interface Source {
  readonly id: string;
  readonly kind: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): ComponentHealth;
}

export interface ConfigProblem {
  /** JSON pointer into the source entry, e.g. "/devices/3/template". */
  path: string;
  message: string;
}

export interface ValidateContext {
  assets: AssetTree;
  templates: ReadonlyMap<string, Record<string, unknown>>;
}

/**
 * The checks every polled device gets: its asset exists, it names a template, the template exists, is for this
 * protocol and describes the asset's kind. Returns the template when the device can be checked further, else null
 * (the problems are added).
 */
export function checkDeviceTemplate(
  ctx: ValidateContext,
  dev: { asset: string; template: string | undefined | null },
  at: string,
  protocol: string,
  add: (path: string, message: string) => void,
): Record<string, unknown> | null {
  const asset = ctx.assets.get(dev.asset);
  if (!asset) add(`${at}/asset`, `unknown asset "${dev.asset}"`);
  if (!dev.template) {
    add(`${at}/template`, 'no template: set it on the device or in defaults.template');
    return null;
  }
  const tpl = ctx.templates.get(dev.template);
  if (!tpl) {
    add(`${at}/template`, `unknown template "${dev.template}" (known: ${[...ctx.templates.keys()].join(', ') || 'none'})`);
    return null;
  }
  if (tpl['protocol'] !== protocol) {
    add(`${at}/template`, `template "${dev.template}" is for protocol ${String(tpl['protocol'])}, not ${protocol}`);
    return null;
  }
  if (asset && tpl['assetKind'] !== asset.kind) add(`${at}/asset`, `asset "${dev.asset}" is a ${asset.kind}; template "${dev.template}" describes a ${String(tpl['assetKind'])}`);
  return tpl;
}

export interface SourcePlugin<C = Record<string, unknown>> {
  readonly kind: string;
  readonly configSchema: TSchema;
  /** Cross-checks beyond the schema (asset ids exist, templates exist and suit the protocol). */
  validate?(config: C, ctx: ValidateContext): ConfigProblem[];
  /** Checks a template of this protocol. */
  validateTemplate?(template: Record<string, unknown>): ConfigProblem[];
  create(config: C, ctx: SourceContext): Source;
}

/** Setpoint writes go through the source that reads the device (Modbus FC6/16, OPC UA write, MQTT command). */
export interface SetpointWriter {
  /** Writes one point of one asset and reads it back. Rejects with WRITE_REFUSED or WRITE_FAILED. */
  writePoint(asset: string, point: string, value: number | boolean): Promise<WriteResult>;
  /** Points of the asset that this writer can write, with their bounds from the template. */
  writablePoints(asset: string): WritablePoint[];
}

/** True when a source also writes setpoints (it implements SetpointWriter). */
export function isSetpointWriter(x: unknown): x is SetpointWriter {
  return typeof x === 'object' && x !== null && typeof (x as SetpointWriter).writePoint === 'function' && typeof (x as SetpointWriter).writablePoints === 'function';
}

/**
 * Finds the writer for an asset among the running sources: the one whose template lists writable points for it.
 * Control writes only through this; it never opens a protocol connection itself.
 */
export class SetpointWriters {
  readonly #sources: readonly unknown[];

  constructor(sources: readonly unknown[]) {
    this.#sources = sources;
  }

  writerFor(asset: string): SetpointWriter | undefined {
    for (const s of this.#sources) if (isSetpointWriter(s) && s.writablePoints(asset).length > 0) return s;
    return undefined;
  }
}

export interface WritablePoint {
  point: string;
  min?: number;
  max?: number;
  unit?: string;
}

export interface WriteResult {
  asset: string;
  point: string;
  requested: number | boolean;
  readBack: number | boolean | null;
  ok: boolean;
  message?: string;
}
