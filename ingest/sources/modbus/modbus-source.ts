/**
 * The Modbus TCP source: polls every configured device on its own cycle and writes setpoints through the same
 * per-device queue (it is both a `Source` and a `SetpointWriter`).
 *
 * - `create` compiles templates and plans (shared by every device with the same template and read settings); no I/O.
 * - `start` opens one connection per device (host, port, unit) and starts the staggered poll cycles; it resolves at
 *   once, whether or not devices answer (those are retried with backoff and shown in `health()`).
 * - Readings of all devices are handed to `ctx.emit` in batches, one emit in flight at a time: readings produced
 *   meanwhile form the next batch, in arrival order, so per-device order is kept (source.ts contract). While the store
 *   is slow at most `maxPendingReadings` wait; beyond that the oldest are dropped and counted.
 * - `stop` stops the cycles, waits for operations in progress, closes connections, and waits for the last emit.
 */
import { WarmgridError } from '../../../core/errors.ts';
import { RateLimitedLog } from '../../../core/log.ts';
import type { ComponentHealth } from '../../../store/telemetry-store.ts';
import { ReadingBatcher } from '../../reading-batcher.ts';
import type { Reading } from '../../reading.ts';
import type { SetpointWriter, Source, SourceContext, WritablePoint, WriteResult } from '../../source.ts';
import { resolveDevices, type ModbusSourceConfig, type ResolvedDevice } from './config.ts';
import { DevicePoller, type DeviceStats } from './device.ts';
import { planReads, type ReadRequest } from './planner.ts';
import { Limiter, staggerPhases } from './scheduler.ts';
import { compileModbusTemplate, type CompiledField, type CompiledTemplate } from './template.ts';

/** Above this many devices, health() lists only the devices that are not healthy (up to this many). */
const HEALTH_DEVICE_LIST = 100;

export class ModbusSource implements Source, SetpointWriter {
  readonly kind = 'modbus';
  readonly id: string;
  readonly #limiter: Limiter;
  readonly #warn: RateLimitedLog;
  readonly #devices: DevicePoller[] = [];
  readonly #byAsset = new Map<string, DevicePoller[]>();
  #started = false;
  readonly #batcher: ReadingBatcher;

  constructor(cfg: ModbusSourceConfig, ctx: SourceContext) {
    this.id = cfg.id;
    this.#limiter = new Limiter(cfg.concurrency);
    this.#warn = new RateLimitedLog(ctx.log, 5, 60_000, () => ctx.clock.now());
    this.#batcher = new ReadingBatcher({ emit: (readings) => ctx.emit(readings), maxPending: cfg.maxPendingReadings, warn: this.#warn, kind: 'modbus' });
    const templates = new Map<string, CompiledTemplate>();
    const plans = new Map<string, readonly ReadRequest[]>();
    const env = {
      clock: ctx.clock,
      limiter: this.#limiter,
      log: ctx.log,
      warn: this.#warn,
      connectTimeoutMs: cfg.connectTimeoutMs,
      reconnect: cfg.reconnect,
      deliver: (r: Reading) => this.#batcher.deliver(r),
    };
    for (const dev of resolveDevices(cfg)) {
      let tpl = templates.get(dev.template);
      if (!tpl) {
        const raw = ctx.templates.get(dev.template);
        if (!raw) throw new WarmgridError('CONFIG_INVALID', `modbus source ${cfg.id}: device ${dev.id}: unknown template "${dev.template}"`);
        tpl = compileModbusTemplate(raw);
        templates.set(dev.template, tpl);
      }
      const planKey = `${dev.template}|${dev.maxGap}|${dev.maxRegistersPerRead}|${dev.maxBitsPerRead}|${dev.perFieldReads}`;
      let plan = plans.get(planKey);
      if (!plan) {
        plan = planFor(tpl, dev);
        plans.set(planKey, plan);
      }
      const poller = new DevicePoller(dev, tpl, plan, env);
      this.#devices.push(poller);
      let list = this.#byAsset.get(dev.asset);
      if (!list) this.#byAsset.set(dev.asset, (list = []));
      list.push(poller);
    }
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const phases = staggerPhases(this.#devices.map((d) => d.cfg.intervalMs));
    this.#devices.forEach((d, i) => d.start(phases[i]!));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#devices.map((d) => d.stop()));
    await this.#batcher.drain();
  }

  // ---- readings -----------------------------------------------------------------------------------------------

  // ---- health -------------------------------------------------------------------------------------------------

  /** Statistics of every device (for health, metrics and benchmarks). */
  deviceStats(): DeviceStats[] {
    return this.#devices.map((d) => d.stats());
  }

  health(): ComponentHealth {
    const all = this.deviceStats();
    const down = all.filter((d) => d.commOk === false);
    const waiting = all.filter((d) => d.commOk === null);
    const sum = (k: keyof DeviceStats): number => all.reduce((a, d) => a + (d[k] as number), 0);
    const status = all.length > 0 && down.length === all.length ? 'down' : down.length > 0 || this.#batcher.stats.emitFailures > 0 ? 'degraded' : 'up';
    const shown = all.length <= HEALTH_DEVICE_LIST ? all : all.filter((d) => d.commOk !== true).slice(0, HEALTH_DEVICE_LIST);
    return {
      status,
      ...(down.length > 0 ? { detail: `${down.length} of ${all.length} devices not answering` } : {}),
      devices: all.length,
      devicesUp: all.length - down.length - waiting.length,
      devicesDown: down.length,
      devicesWaiting: waiting.length,
      cycles: sum('cycles'),
      polls: sum('polls'),
      pollsFailed: sum('pollsFailed'),
      missed: sum('missed'),
      late: sum('late'),
      requests: sum('requests'),
      timeouts: sum('timeouts'),
      exceptions: sum('exceptions'),
      inFlight: this.#limiter.active,
      queued: this.#limiter.waiting,
      ...this.#batcher.stats,
      pendingReadings: this.#batcher.pending,
      deviceStats: shown,
    };
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  writablePoints(asset: string): WritablePoint[] {
    const out: WritablePoint[] = [];
    for (const d of this.#byAsset.get(asset) ?? []) {
      for (const f of writableFields(d)) {
        out.push({ point: f.name, ...(f.min !== undefined ? { min: f.min } : {}), ...(f.max !== undefined ? { max: f.max } : {}), ...(f.unit !== undefined ? { unit: f.unit } : {}) });
      }
    }
    return out;
  }

  async writePoint(asset: string, point: string, value: number | boolean): Promise<WriteResult> {
    const refuse = (message: string): WarmgridError => new WarmgridError('WRITE_REFUSED', `${asset}.${point}: ${message}`, { details: { asset, point, value } });
    const devices = this.#byAsset.get(asset);
    if (!devices || devices.length === 0) throw refuse(`no device of modbus source ${this.id} reads asset ${asset}`);
    const withField = devices.filter((d) => d.template.byName.has(point));
    if (withField.length === 0) throw refuse(`template ${devices.map((d) => d.cfg.template).join(', ')} has no field "${point}"`);
    const writable = withField.filter((d) => d.template.byName.get(point)!.writable);
    if (writable.length === 0) throw refuse(`"${point}" is not writable (the template does not mark it writable)`);
    const enabled = writable.filter((d) => d.cfg.writes.enabled);
    if (enabled.length === 0) throw refuse(`writes are disabled for device ${writable[0]!.cfg.id} (set writes.enabled: true for it in sources.yaml)`);
    const allowed = enabled.filter((d) => d.cfg.writes.points === null || d.cfg.writes.points.includes(point));
    if (allowed.length === 0) throw refuse(`"${point}" is not in writes.points of device ${enabled[0]!.cfg.id}`);
    const dev = allowed[0]!;
    const field = dev.template.byName.get(point)!;
    checkValue(field, value, refuse);
    return dev.write(field, value);
  }
}

/** The read plan of a device: coalesced per its settings, or one request per field. */
export function planFor(tpl: CompiledTemplate, dev: Pick<ResolvedDevice, 'maxGap' | 'maxRegistersPerRead' | 'maxBitsPerRead' | 'perFieldReads'>): ReadRequest[] {
  return planReads(
    tpl.fields.map((f) => ({ index: f.index, area: f.area, address: f.address, count: f.count })),
    { maxGap: dev.maxGap, maxRegistersPerRead: dev.maxRegistersPerRead, maxBitsPerRead: dev.maxBitsPerRead, perField: dev.perFieldReads },
  );
}

function writableFields(d: DevicePoller): CompiledField[] {
  if (!d.cfg.writes.enabled) return [];
  const pts = d.cfg.writes.points;
  return d.template.fields.filter((f) => f.writable && (pts === null || pts.includes(f.name)));
}

/** Type and range guards of a write, from the template. */
function checkValue(field: CompiledField, value: number | boolean, refuse: (m: string) => WarmgridError): void {
  if (field.area === 'coil') {
    if (typeof value !== 'boolean' && value !== 0 && value !== 1) throw refuse(`a coil takes true or false, not ${String(value)}`);
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw refuse(`needs a finite number, not ${String(value)}`);
  if (field.min !== undefined && value < field.min) throw refuse(`${value} is below the minimum ${field.min}${field.unit ? ` ${field.unit}` : ''}`);
  if (field.max !== undefined && value > field.max) throw refuse(`${value} is above the maximum ${field.max}${field.unit ? ` ${field.unit}` : ''}`);
}
