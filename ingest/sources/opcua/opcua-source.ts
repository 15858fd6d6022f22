/**
 * The OPC UA source: reads devices (substation controllers, a plant DCS) from OPC UA servers through subscriptions,
 * and writes setpoints through the same sessions (it is both a `Source` and a `SetpointWriter`).
 *
 * - `create` compiles templates and every device's addresses, and groups devices by server endpoint; no I/O, and no
 *   node-opcua either: the protocol library (large) is loaded by `start`, so a hub without OPC UA sources never loads it.
 * - `start` opens the PKI (making the hub's certificate on first run) and starts one `EndpointLink` per endpoint (one
 *   connection, one session, one subscription each; endpoint.ts). It resolves at once, whether or not servers answer.
 * - Readings of all endpoints are handed to `ctx.emit` in batches, one emit in flight at a time, per-device order kept
 *   (source.ts contract). While the store is slow at most `maxPendingReadings` wait; beyond that the oldest are dropped.
 * - `stop` stops every link (closing its session on the server), waits for the last emit, and releases the PKI.
 */
import os from 'node:os';
import path from 'node:path';
import { WarmgridError } from '../../../core/errors.ts';
import { RateLimitedLog } from '../../../core/log.ts';
import type { ComponentHealth } from '../../../store/telemetry-store.ts';
import { ReadingBatcher } from '../../reading-batcher.ts';
import type { SetpointWriter, Source, SourceContext, WritablePoint, WriteResult } from '../../source.ts';
import { endpointKey, resolveOpcuaDevices, type OpcuaSourceConfig, type ResolvedOpcuaDevice } from './config.ts';
import type { DevicePlan, DeviceStats, EndpointLink, EndpointPlan, EndpointStats } from './endpoint.ts';
import type { Pki } from './pki.ts';
import { compileOpcuaTemplate, deviceAddresses, type CompiledOpcuaField, type CompiledOpcuaTemplate } from './template.ts';

/** Above this many devices, health() lists only the devices that are not healthy (up to this many). */
const HEALTH_LIST = 100;

/** A source context that may carry the hub's data directory (for the default PKI location). */
export interface OpcuaSourceContext extends SourceContext {
  dataDir?: string;
}

export class OpcuaSource implements Source, SetpointWriter {
  readonly kind = 'opcua';
  readonly id: string;
  readonly #cfg: OpcuaSourceConfig;
  readonly #ctx: OpcuaSourceContext;
  readonly #warn: RateLimitedLog;
  readonly #plans: EndpointPlan[] = [];
  readonly #devices: { cfg: ResolvedOpcuaDevice; template: CompiledOpcuaTemplate; endpoint: number }[] = [];
  readonly #byAsset = new Map<string, number[]>();
  #links: EndpointLink[] = [];
  #pki: Pki | null = null;
  #started = false;
  #stopped = false;
  readonly #batcher: ReadingBatcher;

  constructor(cfg: OpcuaSourceConfig, ctx: OpcuaSourceContext) {
    this.id = cfg.id;
    this.#cfg = cfg;
    this.#ctx = ctx;
    this.#warn = new RateLimitedLog(ctx.log, 5, 60_000, () => ctx.clock.now());
    this.#batcher = new ReadingBatcher({ emit: (readings) => ctx.emit(readings), maxPending: cfg.maxPendingReadings, warn: this.#warn, kind: 'opcua' });
    const templates = new Map<string, CompiledOpcuaTemplate>();
    const byEndpoint = new Map<string, { url: string; cfg: ResolvedOpcuaDevice; devices: DevicePlan[]; index: number }>();
    for (const dev of resolveOpcuaDevices(cfg)) {
      let tpl = templates.get(dev.template);
      if (!tpl) {
        const raw = ctx.templates.get(dev.template);
        if (!raw) throw new WarmgridError('CONFIG_INVALID', `opcua source ${cfg.id}: device ${dev.id}: unknown template "${dev.template}"`);
        tpl = compileOpcuaTemplate(raw);
        templates.set(dev.template, tpl);
      }
      let addresses;
      try {
        addresses = deviceAddresses(tpl, { asset: dev.asset, device: dev.id }, dev.root ?? undefined);
      } catch (err) {
        throw new WarmgridError('CONFIG_INVALID', `opcua source ${cfg.id}: ${(err as Error).message}`, { cause: err });
      }
      const key = endpointKey(dev.endpointUrl);
      let ep = byEndpoint.get(key);
      if (!ep) byEndpoint.set(key, (ep = { url: dev.endpointUrl, cfg: dev, devices: [], index: byEndpoint.size }));
      ep.devices.push({ cfg: dev, template: tpl, addresses });
      this.#devices.push({ cfg: dev, template: tpl, endpoint: ep.index });
      let list = this.#byAsset.get(dev.asset);
      if (!list) this.#byAsset.set(dev.asset, (list = []));
      list.push(this.#devices.length - 1);
    }
    for (const ep of byEndpoint.values()) {
      this.#plans.push({ url: ep.url, cfg: { security: ep.cfg.security, user: ep.cfg.user, mode: ep.cfg.mode, intervalMs: ep.cfg.intervalMs }, devices: ep.devices });
    }
  }

  /** Where the PKI lives: `pki.dir`, else `<dataDir>/pki` (the hub's data directory, or DATA_DIR, or ./data). */
  get pkiDir(): string {
    if (this.#cfg.pki.dir) return path.resolve(this.#cfg.pki.dir);
    return path.resolve(this.#ctx.dataDir ?? process.env['DATA_DIR'] ?? './data', 'pki');
  }

  get applicationUri(): string {
    return this.#cfg.applicationUri ?? `urn:${os.hostname()}:warmgrid:hub`;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { routeLibraryLogs } = await import('./library-log.ts');
    routeLibraryLogs(this.#ctx.log);
    const [{ EndpointLink: Link }, { openPki }] = await Promise.all([import('./endpoint.ts'), import('./pki.ts')]);
    const app = { applicationName: this.#cfg.applicationName, applicationUri: this.applicationUri };
    try {
      this.#pki = await openPki(this.pkiDir, app);
    } catch (err) {
      throw new WarmgridError('OPCUA_ERROR', `opcua source ${this.id}: cannot open the PKI in ${this.pkiDir}: ${(err as Error).message}`, { cause: err });
    }
    if (this.#stopped) {
      await this.#pki.release();
      return;
    }
    const pki = this.#pki;
    this.#links = this.#plans.map(
      (plan) =>
        new Link(plan, {
          clock: this.#ctx.clock,
          log: this.#ctx.log,
          warn: this.#warn,
          pki,
          app,
          source: this.#cfg,
          deliver: (r) => this.#batcher.deliver(r),
        }),
    );
    for (const l of this.#links) l.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#links.map((l) => l.stop()));
    await this.#batcher.drain();
    await this.#pki?.release();
    this.#pki = null;
  }

  // ---- readings -----------------------------------------------------------------------------------------------

  // ---- health -------------------------------------------------------------------------------------------------

  endpointStats(): EndpointStats[] {
    return this.#links.map((l) => l.stats());
  }

  deviceStats(): DeviceStats[] {
    return this.#links.flatMap((l) => l.deviceStats());
  }

  health(): ComponentHealth {
    const endpoints = this.endpointStats();
    const devices = this.deviceStats();
    const down = devices.filter((d) => d.commOk === false);
    const waiting = devices.filter((d) => d.commOk === null);
    const untrusted = endpoints.filter((e) => e.untrustedCertificate);
    const sum = (k: keyof EndpointStats): number => endpoints.reduce((a, e) => a + (e[k] as number), 0);
    const status = devices.length > 0 && down.length === devices.length ? 'down' : down.length > 0 || this.#batcher.stats.emitFailures > 0 || untrusted.length > 0 ? 'degraded' : 'up';
    const detail = untrusted.length > 0 ? untrusted[0]!.lastError : down.length > 0 ? `${down.length} of ${devices.length} devices not answering` : undefined;
    return {
      status,
      ...(detail ? { detail } : {}),
      endpoints: endpoints.length,
      endpointsUp: endpoints.filter((e) => e.state === 'up').length,
      devices: devices.length,
      devicesUp: devices.length - down.length - waiting.length,
      devicesDown: down.length,
      devicesWaiting: waiting.length,
      monitoredItems: sum('monitoredItems'),
      polledItems: sum('polledItems'),
      unresolved: sum('unresolved'),
      notifications: sum('notifications'),
      losses: sum('losses'),
      ...this.#batcher.stats,
      pendingReadings: this.#batcher.pending,
      pkiDir: this.pkiDir,
      endpointStats: endpoints.length <= HEALTH_LIST ? endpoints : endpoints.filter((e) => e.state !== 'up').slice(0, HEALTH_LIST),
      deviceStats: devices.length <= HEALTH_LIST ? devices : devices.filter((d) => d.commOk !== true).slice(0, HEALTH_LIST),
    };
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  writablePoints(asset: string): WritablePoint[] {
    const out: WritablePoint[] = [];
    for (const k of this.#byAsset.get(asset) ?? []) {
      const d = this.#devices[k]!;
      for (const f of writableFields(d.cfg, d.template)) {
        out.push({ point: f.name, ...(f.min !== undefined ? { min: f.min } : {}), ...(f.max !== undefined ? { max: f.max } : {}), ...(f.unit !== undefined ? { unit: f.unit } : {}) });
      }
    }
    return out;
  }

  async writePoint(asset: string, point: string, value: number | boolean): Promise<WriteResult> {
    const refuse = (message: string): WarmgridError => new WarmgridError('WRITE_REFUSED', `${asset}.${point}: ${message}`, { details: { asset, point, value } });
    const devices = (this.#byAsset.get(asset) ?? []).map((k) => this.#devices[k]!);
    if (devices.length === 0) throw refuse(`no device of opcua source ${this.id} reads asset ${asset}`);
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
    const link = this.#links[dev.endpoint];
    if (!link) throw new WarmgridError('WRITE_FAILED', `${asset}.${point}: opcua source ${this.id} is not started`, { retryable: true, details: { asset, point, value } });
    return link.write(dev.cfg.id, field, value);
  }
}

function writableFields(cfg: ResolvedOpcuaDevice, tpl: CompiledOpcuaTemplate): CompiledOpcuaField[] {
  if (!cfg.writes.enabled) return [];
  const pts = cfg.writes.points;
  return tpl.fields.filter((f) => f.writable && (pts === null || pts.includes(f.name)));
}

/** Type and range guards of a write, from the template. */
function checkValue(field: CompiledOpcuaField, value: number | boolean, refuse: (m: string) => WarmgridError): void {
  if (field.valueType === 'boolean') {
    if (typeof value !== 'boolean' && value !== 0 && value !== 1) throw refuse(`takes true or false, not ${String(value)}`);
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw refuse(`needs a finite number, not ${String(value)}`);
  if (field.min !== undefined && value < field.min) throw refuse(`${value} is below the minimum ${field.min}${field.unit ? ` ${field.unit}` : ''}`);
  if (field.max !== undefined && value > field.max) throw refuse(`${value} is above the maximum ${field.max}${field.unit ? ` ${field.unit}` : ''}`);
}
