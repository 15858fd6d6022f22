/**
 * ControlService: regulation advice and guarded setpoint writes, as the hub runs them.
 *
 * - Listens to the live bus for room temperatures (sensor tracking) and keeps one SubstationController per substation.
 * - Every `adviceIntervalMin` computes advice for every substation, stores it (control_advice), publishes it on the bus
 *   (topic "advice"), and in auto mode applies it within the auto bounds.
 * - Setpoint writes go through the SetpointWriter port only (services.writers), never a protocol of its own. A manual
 *   write takes two calls: a request, which runs every guard and returns a pending write with a confirmation token,
 *   and a confirmation, which runs the guards again, writes, reads back, and rolls back where the device took something
 *   else. Every outcome lands in control_writes and in the append-only audit log (action `setpoint.write`).
 *
 * Lifecycle: `start()` once (loads state from the database, seeds sensors from the pipeline's latest values, starts
 * the timer); `stop()` once (stops the timer, unsubscribes, waits for a running advice pass). Writes to one substation
 * are serialized; different substations run independently.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { Type, type Static } from '@sinclair/typebox';
import type { Asset, AssetTree } from '../config/asset-tree.ts';
import type { NetworkFile } from '../config/schema.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { WarmgridError, isWarmgridError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { slicer } from '../core/slicer.ts';
import type { LiveBus } from '../ingest/live-bus.ts';
import type { Reading } from '../ingest/reading.ts';
import type { SetpointWriter, WritablePoint, WriteResult } from '../ingest/source.ts';
import type { AuditLog } from '../state/audit.ts';
import type { StateDb } from '../state/db.ts';
import type { LatestValue, TelemetryStore } from '../store/telemetry-store.ts';
import { SUPPLY_POINT } from './advice.ts';
import type { ControlConfig } from './config-schema.ts';
import { DEFAULT_CONTROLLER_SETTINGS, SubstationController, type ControllerSettings, type SubstationSpec } from './controller.ts';
import { asDanfossPoints, presetCurve, round1, sampleCurve, SUPPLY_LIMITS, type CurveSpec, type DesignTemps, type EmitterKind } from './curves.ts';
import { forecastFromFields, hourlyOutdoor } from './forecast.ts';
import { allPass, autoTarget, checkWrite, failedSummary, type Check, type WriteBounds } from './guards.ts';
import { RoomSensorTracker } from './indoor.ts';
import { forecastQuantities, loadHistory, networkTotals, type LoadQuantity, type SubstationLoadForecast } from './load-forecast.ts';
import { ControlStore, type AdviceRecord, type ControlMode, type WriteRecord, type WriteStatus } from './store.ts';

/** Who acts: a user or token (from the HTTP layer), or the hub itself ("system", auto mode). */
export interface Actor {
  id: string;
  name: string;
  roles?: ReadonlySet<string>;
  ip?: string;
}

export const SYSTEM_ACTOR: Actor = { id: 'system', name: 'control auto mode' };
/** Only engineers change setpoints (server/roles.ts, ARCHITECTURE.md "Security by default"). */
export const WRITE_ROLE = 'engineer';

/** Points control writes, with the curve's bounds for the supply setpoint; other points use the template's bounds. */
const WRITABLE_POINTS = [SUPPLY_POINT, 'pump_dp_setpoint_mpa'] as const;
const UNITS: Record<string, string> = { [SUPPLY_POINT]: '°C', pump_dp_setpoint_mpa: 'MPa' };
/**
 * Fixed guards of a pump ΔP setpoint write (MPa): within the simulator template's 0.02–0.4 MPa, at most 0.05 MPa at once
 * and 0.1 MPa per hour, so the circulating flow (∝ √ΔP) never jumps by more than about a fifth.
 */
const PUMP_DP_BOUNDS: WriteBounds = { min: 0.02, max: 0.4, maxStep: 0.05, maxRatePerH: 0.1 };

export interface ControlServiceOptions {
  config: ControlConfig;
  network: NetworkFile;
  assets: AssetTree;
  latest(asset: string): ReadonlyMap<string, LatestValue> | undefined;
  bus: LiveBus;
  store: TelemetryStore;
  writers: { writerFor(asset: string): SetpointWriter | undefined };
  audit: AuditLog;
  db: StateDb;
  clock: Clock;
  log: Logger;
  /** Run advice on a timer (default true); false leaves it to the owner's calls of runAdvice(). */
  adviceTimer?: boolean;
}

interface Runtime {
  asset: Asset;
  emitter: EmitterKind;
  controller: SubstationController;
  presetCurve: CurveSpec;
  curveOverride: CurveSpec | null;
  writesEnabledOverride: boolean | null;
  mode: ControlMode;
  lastAdvice: AdviceRecord | null;
  /** What this hub wrote last, per point (newer than the last poll until the next one). */
  lastWrite: Map<string, { ts: number; value: number }>;
  lock: Promise<unknown>;
}

export interface SubstationView {
  asset: string;
  name: string;
  emitter: EmitterKind;
  writesEnabled: boolean;
  writesEnabledSource: 'config' | 'api';
  mode: ControlMode;
  writer: { available: boolean; points: WritablePoint[] };
  curveSource: 'preset' | 'api';
  bounds: { manual: WriteBounds; auto: WriteBounds & { deadband: number } };
  tau: { tauH: number; source: string; buildings: { id: string; tauH: number; r2: number; samples: number }[] };
  feedbackIntegralK: number;
  lastAdvice: AdviceRecord | null;
}

export interface WriteRequest {
  point?: string;
  value?: number;
  adviceId?: string;
  reason?: string;
}

const H = 3_600_000;

/** A curve from the API: one of the three kinds, with sane ranges (limits are checked against the emitter too). */
const PointSchema = Type.Object({ outdoorC: Type.Number({ minimum: -60, maximum: 40 }), supplyC: Type.Number({ minimum: 5, maximum: 130 }) }, { additionalProperties: false });
const Bound = { minC: Type.Number({ minimum: 5, maximum: 130 }), maxC: Type.Number({ minimum: 5, maximum: 130 }), shiftK: Type.Number({ minimum: -40, maximum: 40 }) };
export const CurveSpecSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('law'),
      design: Type.Object(
        {
          indoorC: Type.Number({ minimum: 10, maximum: 26 }),
          outdoorC: Type.Number({ minimum: -45, maximum: 10 }),
          supplyC: Type.Number({ minimum: 25, maximum: 130 }),
          returnC: Type.Number({ minimum: 15, maximum: 110 }),
          exponent: Type.Number({ minimum: 1, maximum: 2 }),
        },
        { additionalProperties: false },
      ),
      relFlow: Type.Optional(Type.Number({ minimum: 0.2, maximum: 2, description: 'Ḡ, default 1' })),
      freeHeatK: Type.Optional(Type.Number({ minimum: 0, maximum: 15, description: 'free-heat offset, default 0' })),
      ...Bound,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('points'),
      points: Type.Array(PointSchema, { minItems: 2, maxItems: 12 }),
      extrapolate: Type.Optional(Type.Union([Type.Literal('flat'), Type.Literal('linear')], { description: 'default flat' })),
      roomC: Type.Optional(Type.Number({ minimum: 10, maximum: 26, description: 'desired room temperature, default 20' })),
      ...Bound,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('gradient'),
      roomRefC: Type.Number({ minimum: 10, maximum: 26 }),
      gradient: Type.Number({ minimum: 0.1, maximum: 4 }),
      ...Bound,
    },
    { additionalProperties: false },
  ),
]);

type CurveInput = Static<typeof CurveSpecSchema>;

/** Fills the optional parts of a curve from the API. */
function withCurveDefaults(c: CurveInput): CurveSpec {
  switch (c.kind) {
    case 'law':
      return { ...c, relFlow: c.relFlow ?? 1, freeHeatK: c.freeHeatK ?? 0 };
    case 'points':
      return { ...c, extrapolate: c.extrapolate ?? 'flat', roomC: c.roomC ?? 20 };
    case 'gradient':
      return c;
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ControlService {
  readonly settings: ControllerSettings;
  readonly store: ControlStore;
  readonly #o: ControlServiceOptions;
  readonly #cfg: ControlConfig;
  readonly #tracker: RoomSensorTracker;
  readonly #ss = new Map<string, Runtime>();
  readonly #configEnabled: Set<string>;
  readonly #weatherStation: string | null;
  readonly #forecastCache = new Map<string, { at: number; value: SubstationLoadForecast }>();
  #unsubscribe: (() => void) | null = null;
  #timer: TimerHandle | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #lastPrune = 0;

  constructor(o: ControlServiceOptions) {
    this.#o = o;
    const c = (this.#cfg = o.config);
    this.store = new ControlStore(o.db);
    this.settings = {
      ...DEFAULT_CONTROLLER_SETTINGS,
      feedback: { ...c.feedback },
      sensors: { staleMs: c.sensors.staleMin * 60_000, minC: c.sensors.minC, maxC: c.sensors.maxC, sentinelsC: c.sensors.sentinelsC, stuckMs: c.sensors.stuckHours * H, stuckToleranceK: 0.01, outlierZ: c.sensors.outlierZ },
      emitterLagH: { radiator: c.forecast.radiatorLagH, floor: c.forecast.floorLagH },
      tauFactor: c.forecast.tauFactor,
      maxLeadH: c.forecast.maxLeadH,
      attenuatedWeight: c.forecast.attenuatedWeight,
      defaultTauH: c.forecast.defaultTauH,
      learnTau: c.forecast.learnTau,
    };
    this.#tracker = new RoomSensorTracker(this.settings.sensors.stuckToleranceK);
    const problems: string[] = [];
    for (const id of c.writes.enabled) if (o.assets.get(id)?.kind !== 'substation') problems.push(`control.writes.enabled: "${id}" is not a substation`);
    if (c.weatherStation !== undefined && o.assets.get(c.weatherStation)?.kind !== 'weather_station') problems.push(`control.weatherStation: "${c.weatherStation}" is not a weather station`);
    if (problems.length > 0) throw new WarmgridError('CONFIG_INVALID', `hub.yaml: ${problems.join('; ')}`);
    this.#configEnabled = new Set(c.writes.enabled);
    this.#weatherStation = c.weatherStation ?? o.assets.ofKind('weather_station')[0]?.id ?? null;

    const designOf = new Map<string, Partial<DesignTemps>>();
    for (const hs of o.network.heatSources) for (const n of hs.networks) for (const s of n.substations) designOf.set(s.id, Object.fromEntries(Object.entries(s.design ?? {}).filter(([, v]) => v !== undefined)));
    const designOutdoorC = o.network.climate.designOutdoorC;
    for (const asset of o.assets.ofKind('substation')) {
      const emitter = asset.attrs['emitter'] === 'floor' ? 'floor' : 'radiator';
      const spec: SubstationSpec = {
        id: asset.id,
        emitter,
        designOutdoorC,
        design: designOf.get(asset.id) ?? {},
        buildings: asset.children
          .map((b) => o.assets.get(b)!)
          .filter((b) => b.kind === 'building')
          .map((b) => ({ id: b.id, apartments: b.children.map((id) => o.assets.get(id)!).filter((a) => a.kind === 'apartment').map((a) => ({ id: a.id, suspended: a.attrs['account'] === 'suspended' })) })),
      };
      const preset = presetCurve(emitter, designOutdoorC, spec.design);
      const controller = new SubstationController(spec, this.settings, preset);
      controller.flow = { stages: c.flow.stages.map((x) => ({ ...x })), designDpMpa: c.flow.designDpMpa ?? null };
      this.#ss.set(asset.id, {
        asset,
        emitter,
        controller,
        presetCurve: preset,
        curveOverride: null,
        writesEnabledOverride: null,
        mode: 'manual',
        lastAdvice: null,
        lastWrite: new Map(),
        lock: Promise.resolve(),
      });
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------------------------------------

  async start(): Promise<void> {
    for (const st of await this.store.substationStates()) {
      const rt = this.#ss.get(st.asset);
      if (!rt) continue;
      rt.writesEnabledOverride = st.writesEnabled;
      rt.mode = st.mode;
      rt.controller.feedback = { integralK: st.integralK, lastTs: null };
      if (st.curve !== null && Value.Check(CurveSpecSchema, st.curve)) {
        rt.curveOverride = withCurveDefaults(st.curve);
        rt.controller.curve = rt.curveOverride;
      }
    }
    for (const rt of this.#ss.values()) {
      rt.lastAdvice = (await this.store.latestAdvice(rt.asset.id)) ?? null;
      for (const b of rt.controller.spec.buildings) for (const a of b.apartments) this.#seedSensor(a.id);
    }
    this.#unsubscribe = this.#o.bus.onReading((r) => this.#onReading(r));
    if (this.#o.adviceTimer !== false) this.#schedule(true);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await this.#running;
    await Promise.all([...this.#ss.values()].map((rt) => rt.lock.catch(() => undefined)));
  }

  /** Resolves once no timer-driven advice pass is running (and the next one is scheduled). */
  async idle(): Promise<void> {
    await this.#running;
  }

  /** The first pass a minute after start (readings have arrived by then), then every adviceIntervalMin. */
  #schedule(first = false): void {
    if (this.#stopped) return;
    const interval = this.#cfg.adviceIntervalMin * 60_000;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#running = this.runAdvice()
        .then(() => undefined)
        .catch((err: unknown) => this.#o.log.error({ err }, 'advice pass failed'))
        .finally(() => {
          this.#running = null;
          this.#schedule();
        });
    }, first ? Math.min(60_000, interval) : interval);
    this.#timer.unref?.();
  }

  #seedSensor(id: string): void {
    const v = this.#o.latest(id)?.get('room_temp_c');
    if (v && typeof v.value === 'number') this.#tracker.observe(id, v.value, v.ts, v.quality);
  }

  #onReading(r: Reading): void {
    const v = r.fields['room_temp_c'];
    if (typeof v === 'number') {
      this.#tracker.observe(r.asset, v, r.ts, r.quality);
    } else if (r.quality === 'bad' && Object.keys(r.fields).length === 0 && this.#tracker.get(r.asset)) {
      this.#tracker.observe(r.asset, null, r.ts, r.quality);
    }
  }

  // ---- reading helpers -----------------------------------------------------------------------------------------------

  /** A good, fresh, finite numeric value of a field, or null with why not. */
  #fresh(asset: string, field: string, maxAgeMs: number, range: [number, number] = [-Infinity, Infinity]): { value: number; ts: number } | null {
    const v = this.#o.latest(asset)?.get(field);
    if (!v || typeof v.value !== 'number' || !Number.isFinite(v.value) || v.quality === 'bad') return null;
    if (this.#o.clock.now() - v.ts > maxAgeMs) return null;
    if (v.value < range[0] || v.value > range[1]) return null;
    return { value: v.value, ts: v.ts };
  }

  #outdoor(asset: string): { value: number; source: string } | null {
    const max = this.#cfg.outdoorStaleMin * 60_000;
    const own = this.#fresh(asset, 'outdoor_temp_c', max, [-50, 50]);
    if (own) return { value: own.value, source: 'substation' };
    if (this.#weatherStation) {
      const ws = this.#fresh(this.#weatherStation, 'outdoor_temp_c', max, [-50, 50]);
      if (ws) return { value: ws.value, source: `weather_station:${this.#weatherStation}` };
    }
    return null;
  }

  /** The secondary supply temperature, if its sensor is good, fresh and plausible (0 and 185 are sentinels). */
  #supply(asset: string): number | null {
    return this.#fresh(asset, 'secondary_supply_temp_c', this.#cfg.supplyStaleMin * 60_000, [5, 130])?.value ?? null;
  }

  /** The current value of a writable point: the latest good reading, or what this hub wrote since that reading. */
  #current(rt: Runtime, point: string): { value: number | null; ageMs: number | null } {
    const now = this.#o.clock.now();
    const v = this.#o.latest(rt.asset.id)?.get(point);
    const read = v && typeof v.value === 'number' && v.quality !== 'bad' ? { value: v.value, ts: v.ts } : null;
    const wrote = rt.lastWrite.get(point) ?? null;
    if (wrote && (!read || wrote.ts > read.ts)) return { value: wrote.value, ageMs: now - wrote.ts };
    return read ? { value: read.value, ageMs: now - read.ts } : { value: null, ageMs: null };
  }

  #runtime(asset: string): Runtime {
    const rt = this.#ss.get(asset);
    if (!rt) throw new WarmgridError('NOT_FOUND', `"${asset}" is not a substation`);
    return rt;
  }

  #writesEnabled(rt: Runtime): boolean {
    return rt.writesEnabledOverride ?? this.#configEnabled.has(rt.asset.id);
  }

  #bounds(rt: Runtime, auto: boolean): WriteBounds {
    const c = rt.controller.curve;
    const w = this.#cfg.writes;
    return auto ? { min: c.minC, max: c.maxC, maxStep: w.auto.maxStepK, maxRatePerH: w.auto.maxRateKPerH } : { min: c.minC, max: c.maxC, maxStep: w.maxStepK, maxRatePerH: w.maxRateKPerH };
  }

  #pointBounds(rt: Runtime, point: string, auto: boolean): WriteBounds {
    return point === SUPPLY_POINT ? this.#bounds(rt, auto) : PUMP_DP_BOUNDS;
  }

  #writable(asset: string, point: string): { writer: SetpointWriter; point: WritablePoint } | null {
    const writer = this.#o.writers.writerFor(asset);
    const p = writer?.writablePoints(asset).find((x) => x.point === point);
    return writer && p ? { writer, point: p } : null;
  }

  // ---- views ---------------------------------------------------------------------------------------------------------

  substations(): SubstationView[] {
    return [...this.#ss.keys()].map((id) => this.view(id));
  }

  view(asset: string): SubstationView {
    const rt = this.#runtime(asset);
    const writer = this.#o.writers.writerFor(asset);
    const tau = rt.controller.tauH();
    return {
      asset,
      name: rt.asset.name,
      emitter: rt.emitter,
      writesEnabled: this.#writesEnabled(rt),
      writesEnabledSource: rt.writesEnabledOverride === null ? 'config' : 'api',
      mode: rt.mode,
      writer: { available: writer !== undefined, points: writer ? writer.writablePoints(asset).filter((p) => (WRITABLE_POINTS as readonly string[]).includes(p.point)) : [] },
      curveSource: rt.curveOverride ? 'api' : 'preset',
      bounds: { manual: this.#bounds(rt, false), auto: { ...this.#bounds(rt, true), deadband: this.#cfg.writes.auto.deadbandK } },
      tau: { tauH: round1(tau.tauH), source: tau.source, buildings: [...rt.controller.tau].map(([id, t]) => ({ id, tauH: round1(t.tauH), r2: Math.round(t.r2 * 100) / 100, samples: t.n })) },
      feedbackIntegralK: Math.round(rt.controller.feedback.integralK * 100) / 100,
      lastAdvice: rt.lastAdvice,
    };
  }

  // ---- advice --------------------------------------------------------------------------------------------------------

  /** Computes, stores and publishes advice for one substation or all, and applies it where auto mode is on. */
  async runAdvice(asset?: string): Promise<AdviceRecord[]> {
    const now = this.#o.clock.now();
    const ids = asset ? [this.#runtime(asset).asset.id] : [...this.#ss.keys()];
    const fields = this.#weatherStation ? this.#o.latest(this.#weatherStation) : undefined;
    const forecast = forecastFromFields(fields, now, this.#cfg.forecast.maxAgeH * H);
    const out: AdviceRecord[] = [];
    // Thousands of substations, each with its database writes: in slices, so the hub's event loop keeps turning.
    const pause = slicer();
    for (const id of ids) {
      await pause();
      const rt = this.#ss.get(id)!;
      const outdoor = this.#outdoor(id);
      if (outdoor) rt.controller.observeOutdoor(now, outdoor.value);
      const supply = this.#supply(id);
      const body = rt.controller.advise({
        now,
        sensor: (a) => this.#tracker.get(a),
        outdoorC: outdoor?.value ?? null,
        outdoorSource: outdoor?.source ?? null,
        forecast,
        currentSetpointC: this.#current(rt, SUPPLY_POINT).value,
        measuredSupplyC: supply,
      });
      const rec: AdviceRecord = { id: randomUUID(), asset: id, ts: now, ...body };
      await this.store.addAdvice(rec);
      await this.store.saveSubstation(id, { integralK: rt.controller.feedback.integralK }, now, 'system');
      rt.lastAdvice = rec;
      this.#o.bus.publishEvent({ topic: 'advice', data: rec });
      out.push(rec);
      if (rt.mode === 'auto') await this.#serial(rt, () => this.#autoApply(rt, rec, supply));
    }
    await this.#expirePending(now);
    if (now - this.#lastPrune > 24 * H) {
      this.#lastPrune = now;
      await this.store.pruneAdvice(now - this.#cfg.adviceRetentionDays * 24 * H);
    }
    return out;
  }

  async adviceHistory(asset: string, q: { from?: number; to?: number; limit: number }): Promise<AdviceRecord[]> {
    this.#runtime(asset);
    return this.store.adviceHistory(asset, q);
  }

  // ---- curves --------------------------------------------------------------------------------------------------------

  curve(asset: string): { curve: CurveSpec; source: 'preset' | 'api'; preset: CurveSpec; limits: { minC: number; maxC: number }; samples: ReturnType<typeof sampleCurve>; danfossPoints: ReturnType<typeof asDanfossPoints> } {
    const rt = this.#runtime(asset);
    const c = rt.controller.curve;
    return { curve: c, source: rt.curveOverride ? 'api' : 'preset', preset: rt.presetCurve, limits: SUPPLY_LIMITS[rt.emitter], samples: sampleCurve(c), danfossPoints: asDanfossPoints(c) };
  }

  /** Sets a substation's curve (null: back to the preset); validated against the schema and the emitter's limits. */
  async putCurve(asset: string, body: unknown, actor: Actor, reason: string): Promise<CurveSpec> {
    const rt = this.#runtime(asset);
    let spec: CurveSpec | null = null;
    if (body !== null) {
      if (!Value.Check(CurveSpecSchema, body)) {
        throw new WarmgridError('VALIDATION_FAILED', 'invalid curve', { details: [...Value.Errors(CurveSpecSchema, body)].slice(0, 10).map((e) => ({ path: e.path || '/', message: e.message })) });
      }
      spec = withCurveDefaults(body);
      const lim = SUPPLY_LIMITS[rt.emitter];
      const problems: string[] = [];
      if (spec.minC >= spec.maxC) problems.push('minC must be below maxC');
      if (spec.maxC > lim.maxC) problems.push(`maxC ${spec.maxC} is above the ${rt.emitter} limit ${lim.maxC} °C`);
      if (spec.minC < lim.minC - 15) problems.push(`minC ${spec.minC} is implausibly low for ${rt.emitter} emitters`);
      if (spec.kind === 'law' && spec.design.supplyC <= spec.design.returnC) problems.push('design supply must be above design return');
      if (spec.kind === 'points' && new Set(spec.points.map((p) => p.outdoorC)).size !== spec.points.length) problems.push('points need distinct outdoor temperatures');
      if (problems.length > 0) throw new WarmgridError('VALIDATION_FAILED', problems.join('; '));
    }
    const before = rt.controller.curve;
    rt.curveOverride = spec;
    rt.controller.curve = spec ?? rt.presetCurve;
    await this.store.saveSubstation(asset, { curve: spec, mode: rt.mode, writesEnabled: rt.writesEnabledOverride }, this.#o.clock.now(), actor.id);
    await this.#o.audit.record({ action: 'control.curve', actor: actor.id, actorName: actor.name, target: asset, detail: { before, after: rt.controller.curve, reason }, ...(actor.ip ? { ip: actor.ip } : {}) });
    return rt.controller.curve;
  }

  // ---- enablement and mode -------------------------------------------------------------------------------------------

  async setWritesEnabled(asset: string, enabled: boolean, actor: Actor, reason: string): Promise<SubstationView> {
    const rt = this.#runtime(asset);
    const before = this.#writesEnabled(rt);
    rt.writesEnabledOverride = enabled;
    const droppedAuto = !enabled && rt.mode === 'auto';
    if (droppedAuto) rt.mode = 'manual';
    await this.store.saveSubstation(asset, { writesEnabled: enabled, mode: rt.mode, curve: rt.curveOverride }, this.#o.clock.now(), actor.id);
    await this.#o.audit.record({ action: 'control.writes_enabled', actor: actor.id, actorName: actor.name, target: asset, detail: { before, after: enabled, reason, ...(droppedAuto ? { autoModeOff: true } : {}) }, ...(actor.ip ? { ip: actor.ip } : {}) });
    return this.view(asset);
  }

  async setMode(asset: string, mode: ControlMode, actor: Actor, reason: string): Promise<SubstationView> {
    const rt = this.#runtime(asset);
    if (mode === 'auto') {
      const problems: string[] = [];
      if (!this.#writesEnabled(rt)) problems.push('setpoint writes are disabled for this substation');
      if (!this.#writable(asset, SUPPLY_POINT)) problems.push(`no source writes ${SUPPLY_POINT} of this substation`);
      const health = this.#autoHealth(rt, rt.lastAdvice, this.#supply(asset));
      if (health) problems.push(health);
      if (problems.length > 0) throw new WarmgridError('WRITE_REFUSED', `auto mode refused: ${problems.join('; ')}`);
    }
    const before = rt.mode;
    rt.mode = mode;
    await this.store.saveSubstation(asset, { mode, writesEnabled: rt.writesEnabledOverride, curve: rt.curveOverride }, this.#o.clock.now(), actor.id);
    await this.#o.audit.record({ action: 'control.mode', actor: actor.id, actorName: actor.name, target: asset, detail: { before, after: mode, reason }, ...(actor.ip ? { ip: actor.ip } : {}) });
    return this.view(asset);
  }

  /** Why auto mode cannot run on these readings, or null if it can. */
  #autoHealth(rt: Runtime, advice: AdviceRecord | null, supply: number | null): string | null {
    if (!this.#outdoor(rt.asset.id)) return 'no fresh outdoor temperature';
    if (supply === null) return 'the secondary supply temperature sensor is bad, stale or implausible';
    if (!advice || !advice.valid) return 'no valid advice yet';
    if (advice.explanation.feedback.frozen === 'too_few_valid') return `too few valid apartment sensors (${advice.explanation.indoor.valid})`;
    return null;
  }

  async #dropToManual(rt: Runtime, reason: string, details: Record<string, unknown> = {}): Promise<void> {
    const now = this.#o.clock.now();
    rt.mode = 'manual';
    await this.store.saveSubstation(rt.asset.id, { mode: 'manual', writesEnabled: rt.writesEnabledOverride, curve: rt.curveOverride }, now, SYSTEM_ACTOR.id);
    await this.#o.audit.record({ action: 'control.mode', actor: SYSTEM_ACTOR.id, actorName: SYSTEM_ACTOR.name, target: rt.asset.id, detail: { before: 'auto', after: 'manual', reason, ...details }, ok: false });
    this.#o.log.warn({ asset: rt.asset.id, reason }, 'auto mode dropped to manual');
    // The alarm hook (docs/control.md): the alarms module and the screens take it from the bus.
    this.#o.bus.publishEvent({
      topic: 'alarms',
      data: { type: 'control.auto_off', source: 'control', asset: rt.asset.id, at: now, priority: 'medium', message: `auto mode of ${rt.asset.name} dropped to manual: ${reason}`, reason, details },
    });
  }

  async #autoApply(rt: Runtime, advice: AdviceRecord, supply: number | null): Promise<void> {
    if (rt.mode !== 'auto') return;
    const health = this.#autoHealth(rt, advice, supply);
    if (health) return this.#dropToManual(rt, health, { adviceId: advice.id });
    if (!this.#writesEnabled(rt)) return this.#dropToManual(rt, 'setpoint writes are disabled');
    const now = this.#o.clock.now();
    const cur = this.#current(rt, SUPPLY_POINT);
    if (cur.value === null) return this.#dropToManual(rt, 'the current setpoint is unknown');
    const recent = await this.store.executedSince(rt.asset.id, SUPPLY_POINT, now - H);
    const b = this.#bounds(rt, true);
    const target = autoTarget(cur.value, advice.recommendedC!, recent.map(changeOf), b, this.#cfg.writes.auto.deadbandK);
    if (target === null) return;
    const checks = this.#checks(rt, SUPPLY_POINT, target, true, recent, advice);
    const rec = this.#newWrite(rt, SUPPLY_POINT, target, cur.value, SYSTEM_ACTOR, 'auto', `auto mode: advice ${advice.id}`, advice.id, checks, null);
    if (!allPass(checks)) {
      rec.status = 'refused';
      await this.store.addWrite(rec, null);
      await this.#auditWrite(rec, SYSTEM_ACTOR, { result: 'refused', failed: failedSummary(checks) }, false);
      return this.#dropToManual(rt, `auto write refused: ${failedSummary(checks)}`, { writeId: rec.id });
    }
    await this.store.addWrite(rec, null);
    const done = await this.#execute(rt, rec, SYSTEM_ACTOR);
    if (done.status !== 'executed') await this.#dropToManual(rt, `auto write ${done.status}: ${String(done.result['message'] ?? '')}`, { writeId: rec.id });
  }

  // ---- writes --------------------------------------------------------------------------------------------------------

  #checks(rt: Runtime, point: string, value: number, auto: boolean, recent: readonly WriteRecord[], advice?: AdviceRecord): Check[] {
    const cur = this.#current(rt, point);
    const w = this.#writable(rt.asset.id, point);
    return checkWrite(
      {
        now: this.#o.clock.now(),
        point,
        unit: UNITS[point] ?? '',
        value,
        enabled: this.#writesEnabled(rt),
        writable: w ? { ...(w.point.min !== undefined ? { min: w.point.min } : {}), ...(w.point.max !== undefined ? { max: w.point.max } : {}) } : null,
        current: cur.value,
        currentAgeMs: cur.ageMs,
        maxCurrentAgeMs: this.#cfg.supplyStaleMin * 60_000,
        recentChanges: recent.map(changeOf),
        advice: advice ? { valid: advice.valid && advice.recommendedC !== null, ageMs: this.#o.clock.now() - advice.ts, maxAgeMs: this.#cfg.writes.adviceMaxAgeMin * 60_000 } : undefined,
      },
      this.#pointBounds(rt, point, auto),
    );
  }

  #newWrite(rt: Runtime, point: string, value: number, old: number | null, actor: Actor, mode: 'manual' | 'auto', reason: string, adviceId: string | null, checks: Check[], expiresAt: number | null): WriteRecord {
    const now = this.#o.clock.now();
    return {
      id: randomUUID(),
      asset: rt.asset.id,
      point,
      mode,
      status: 'pending',
      requestedAt: now,
      requestedBy: { id: actor.id, name: actor.name },
      oldValue: old,
      newValue: value,
      adviceId,
      reason,
      checks,
      expiresAt,
      confirmedAt: null,
      confirmedBy: null,
      readBack: null,
      result: {},
      updatedAt: now,
    };
  }

  async #auditWrite(w: WriteRecord, actor: Actor, extra: Record<string, unknown>, ok: boolean, action = 'setpoint.write'): Promise<void> {
    await this.#o.audit.record({
      action,
      actor: actor.id,
      actorName: actor.name,
      target: w.asset,
      detail: { writeId: w.id, point: w.point, old: w.oldValue, new: w.newValue, mode: w.mode, reason: w.reason, adviceId: w.adviceId, requestedBy: w.requestedBy, ...extra },
      ok,
      ...(actor.ip ? { ip: actor.ip } : {}),
    });
  }

  #requireEngineer(actor: Actor): void {
    if (actor.roles && !actor.roles.has(WRITE_ROLE)) throw new WarmgridError('FORBIDDEN', `setpoint writes need the ${WRITE_ROLE} role`);
  }

  /**
   * Step one of a manual write: runs every guard. Refused → 409 WRITE_REFUSED listing the failed checks (recorded and
   * audited, nothing sent). Passed → a pending write and a confirmation token, valid for `confirmTtlS`.
   */
  async requestWrite(asset: string, req: WriteRequest, actor: Actor): Promise<{ write: WriteRecord; confirmToken: string }> {
    this.#requireEngineer(actor);
    const rt = this.#runtime(asset);
    let advice: AdviceRecord | undefined;
    let point = req.point ?? SUPPLY_POINT;
    let value: number;
    let reason = (req.reason ?? '').trim();
    if (req.adviceId !== undefined) {
      if (req.value !== undefined) throw new WarmgridError('BAD_REQUEST', 'give either adviceId or value, not both');
      advice = await this.store.advice(req.adviceId);
      if (!advice || advice.asset !== asset) throw new WarmgridError('NOT_FOUND', `no advice "${req.adviceId}" for ${asset}`);
      if (advice.recommendedC === null) throw new WarmgridError('WRITE_REFUSED', 'this advice has no recommended value', { details: { checks: [] } });
      point = advice.point;
      value = advice.recommendedC;
      if (!reason) reason = `advice ${advice.id}`;
    } else {
      if (req.value === undefined) throw new WarmgridError('BAD_REQUEST', 'give adviceId (approve an advice) or value with a reason');
      if (!reason) throw new WarmgridError('BAD_REQUEST', 'a manual value needs a reason');
      value = req.value;
    }
    if (!(WRITABLE_POINTS as readonly string[]).includes(point)) throw new WarmgridError('BAD_REQUEST', `control writes only ${WRITABLE_POINTS.join(', ')}`);
    return this.#serial(rt, async () => {
      const now = this.#o.clock.now();
      const recent = await this.store.executedSince(asset, point, now - H);
      const checks = this.#checks(rt, point, value, false, recent, advice);
      const token = randomBytes(24).toString('base64url');
      const w = this.#newWrite(rt, point, value, this.#current(rt, point).value, actor, 'manual', reason, advice?.id ?? null, checks, now + this.#cfg.writes.confirmTtlS * 1000);
      if (!allPass(checks)) {
        w.status = 'refused';
        w.expiresAt = null;
        await this.store.addWrite(w, null);
        await this.#auditWrite(w, actor, { result: 'refused', failed: failedSummary(checks) }, false);
        throw new WarmgridError('WRITE_REFUSED', `write refused: ${failedSummary(checks)}`, { details: { writeId: w.id, checks } });
      }
      await this.store.addWrite(w, hashToken(token));
      await this.#auditWrite(w, actor, { result: 'pending', expiresAt: w.expiresAt }, true, 'setpoint.request');
      return { write: w, confirmToken: token };
    });
  }

  /** Step two: the requester confirms with the token; the guards run again, then the write, read-back and audit. */
  async confirmWrite(id: string, token: string, actor: Actor): Promise<WriteRecord> {
    this.#requireEngineer(actor);
    const found = await this.store.write(id);
    if (!found) throw new WarmgridError('NOT_FOUND', `no write "${id}"`);
    const rt = this.#runtime(found.record.asset);
    return this.#serial(rt, async () => {
      const cur = (await this.store.write(id))!;
      const w = cur.record;
      if (w.status !== 'pending') throw new WarmgridError('CONFLICT', `write ${id} is ${w.status}, not pending`);
      if (w.requestedBy.id !== actor.id) throw new WarmgridError('FORBIDDEN', 'only the engineer who requested a write can confirm it');
      if (!cur.tokenHash || !sameHash(cur.tokenHash, hashToken(token))) throw new WarmgridError('WRITE_REFUSED', 'wrong confirmation token', { details: { writeId: id } });
      const now = this.#o.clock.now();
      if (w.expiresAt !== null && now > w.expiresAt) {
        await this.#expire(w, now);
        throw new WarmgridError('WRITE_REFUSED', `write ${id} was not confirmed in time and has expired`, { details: { writeId: id } });
      }
      const advice = w.adviceId ? await this.store.advice(w.adviceId) : undefined;
      const recent = await this.store.executedSince(w.asset, w.point, now - H);
      const checks = this.#checks(rt, w.point, w.newValue, false, recent, advice);
      const current = this.#current(rt, w.point).value;
      const unchanged = w.oldValue === null || (current !== null && Math.abs(current - w.oldValue) <= this.#cfg.writes.readBackToleranceK);
      checks.push({ name: 'unchanged', ok: unchanged, detail: unchanged ? 'the setpoint is still what the request showed' : `the setpoint changed since the request (was ${w.oldValue}, now ${current})` });
      if (!allPass(checks)) {
        await this.store.updateWrite(id, { status: 'refused', checks, clearToken: true, confirmedAt: now, confirmedBy: actor.id }, now, 'pending');
        const refused = { ...w, status: 'refused' as WriteStatus, checks };
        await this.#auditWrite(refused, actor, { result: 'refused', failed: failedSummary(checks) }, false);
        throw new WarmgridError('WRITE_REFUSED', `write refused at confirmation: ${failedSummary(checks)}`, { details: { writeId: id, checks } });
      }
      const claimed = await this.store.updateWrite(id, { status: 'pending', checks, confirmedAt: now, confirmedBy: actor.id, clearToken: true }, now, 'pending');
      if (!claimed) throw new WarmgridError('CONFLICT', `write ${id} is no longer pending`);
      const done = await this.#execute(rt, { ...w, checks, confirmedAt: now, confirmedBy: actor.id }, actor);
      if (done.status !== 'executed') throw new WarmgridError('WRITE_FAILED', `write ${id} ${done.status === 'rolled_back' ? 'failed and was rolled back' : 'failed'}: ${String(done.result['message'] ?? '')}`, { details: { writeId: id } });
      return done;
    });
  }

  async cancelWrite(id: string, actor: Actor): Promise<WriteRecord> {
    this.#requireEngineer(actor);
    const found = await this.store.write(id);
    if (!found) throw new WarmgridError('NOT_FOUND', `no write "${id}"`);
    const now = this.#o.clock.now();
    const ok = await this.store.updateWrite(id, { status: 'cancelled', clearToken: true }, now, 'pending');
    if (!ok) throw new WarmgridError('CONFLICT', `write ${id} is ${found.record.status}, not pending`);
    const w = { ...found.record, status: 'cancelled' as WriteStatus, updatedAt: now };
    await this.#auditWrite(w, actor, { result: 'cancelled' }, false);
    return w;
  }

  async writes(q: { asset?: string; status?: WriteStatus; from?: number; to?: number; limit: number }): Promise<WriteRecord[]> {
    if (q.asset) this.#runtime(q.asset);
    await this.#expirePending(this.#o.clock.now());
    return this.store.writes(q);
  }

  async write(id: string): Promise<WriteRecord> {
    await this.#expirePending(this.#o.clock.now());
    const w = await this.store.write(id);
    if (!w) throw new WarmgridError('NOT_FOUND', `no write "${id}"`);
    return w.record;
  }

  async #expire(w: WriteRecord, now: number): Promise<void> {
    if (await this.store.updateWrite(w.id, { status: 'expired', clearToken: true }, now, 'pending')) {
      await this.#auditWrite({ ...w, status: 'expired' }, { id: w.requestedBy.id, name: w.requestedBy.name }, { result: 'expired', note: 'not confirmed in time; nothing was written' }, false);
    }
  }

  async #expirePending(now: number): Promise<void> {
    for (const w of await this.store.pendingExpired(now)) await this.#expire(w, now);
  }

  /**
   * Sends the write through the writer, checks the read-back, and rolls back where the device holds something other
   * than both the request and the old value (or where a timeout leaves it unknown). Records and audits the outcome.
   */
  async #execute(rt: Runtime, w: WriteRecord, actor: Actor): Promise<WriteRecord> {
    const tol = this.#cfg.writes.readBackToleranceK;
    const target = this.#writable(w.asset, w.point);
    let res: WriteResult | null = null;
    let error: WarmgridError | null = null;
    if (!target) error = new WarmgridError('WRITE_REFUSED', `no source writes ${w.point} of ${w.asset}`);
    else {
      try {
        res = await target.writer.writePoint(w.asset, w.point, w.newValue);
      } catch (err) {
        error = isWarmgridError(err) ? err : new WarmgridError('WRITE_FAILED', 'the writer failed', { cause: err });
      }
    }
    const readBack = typeof res?.readBack === 'number' ? res.readBack : null;
    const ok = res !== null && res.ok && readBack !== null && Math.abs(readBack - w.newValue) <= tol;
    const result: Record<string, unknown> = { ok, readBack, ...(res?.message ? { message: res.message } : {}) };
    if (error) Object.assign(result, { code: error.code, message: error.message });
    else if (!ok) result['message'] = readBack === null ? 'no read-back' : `read back ${readBack} instead of ${w.newValue}`;
    let status: WriteStatus = ok ? 'executed' : 'failed';
    // Roll back when the device may hold neither value: it took something else, or a timeout leaves it unknown.
    // A refusal (the source's own guard, or a device exception) sent nothing or changed nothing: no rollback.
    const tookOther = readBack !== null && !ok && w.oldValue !== null && Math.abs(readBack - w.oldValue) > tol;
    const unknown = error?.code === 'WRITE_FAILED' && readBack === null && w.oldValue !== null;
    if (!ok && target && w.oldValue !== null && (tookOther || unknown)) {
      try {
        const rb = await target.writer.writePoint(w.asset, w.point, w.oldValue);
        result['rollback'] = { ok: rb.ok, readBack: rb.readBack };
        if (rb.ok) status = 'rolled_back';
      } catch (err) {
        result['rollback'] = { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
    }
    const now = this.#o.clock.now();
    if (ok) rt.lastWrite.set(w.point, { ts: now, value: readBack! });
    await this.store.updateWrite(w.id, { status, readBack, result, ...(w.confirmedAt !== null ? { confirmedAt: w.confirmedAt } : {}), ...(w.confirmedBy ? { confirmedBy: w.confirmedBy } : {}) }, now);
    const done: WriteRecord = { ...w, status, readBack, result, updatedAt: now };
    await this.#auditWrite(done, actor, { result: status, readBack, ...(result['message'] ? { message: result['message'] } : {}), ...(result['rollback'] ? { rollback: result['rollback'] } : {}) }, status === 'executed');
    this.#o.bus.publishEvent({ topic: 'setpoints', data: done });
    if (status !== 'executed' && result['rollback'] && !(result['rollback'] as { ok: boolean }).ok) {
      this.#o.log.error({ asset: w.asset, point: w.point, writeId: w.id }, 'setpoint write failed and its rollback failed: the device state is unknown');
    }
    return done;
  }

  /** Runs fn after every earlier task of the same substation (one write at a time per substation). */
  #serial<T>(rt: Runtime, fn: () => Promise<T>): Promise<T> {
    const next = rt.lock.then(fn, fn);
    rt.lock = next.catch(() => undefined);
    return next;
  }

  // ---- forecasts -----------------------------------------------------------------------------------------------------

  /** The 24 h heat, make-up water and electricity forecast of one substation (cached for 10 minutes). */
  async loadForecast(asset: string): Promise<SubstationLoadForecast & { outdoor: { source: string; issuedTs: number | null; hourly: { leadH: number; tempC: number }[] } }> {
    const rt = this.#runtime(asset);
    const now = this.#o.clock.now();
    const fields = this.#weatherStation ? this.#o.latest(this.#weatherStation) : undefined;
    const fc = forecastFromFields(fields, now, this.#cfg.forecast.maxAgeH * H);
    const nowC = this.#outdoor(asset)?.value ?? rt.controller.filteredOutdoorC;
    const outdoor24 = nowC === null ? [] : hourlyOutdoor(nowC, fc?.points ?? [], 24);
    const source = fc ? 'forecast' : nowC === null ? 'none' : 'persistence (no forecast: the outdoor temperature now is assumed for 24 h)';
    const cached = this.#forecastCache.get(asset);
    let value: SubstationLoadForecast;
    if (cached && now - cached.at < 10 * 60_000) value = cached.value;
    else {
      const hist = await loadHistory(this.#o.store, asset, now, this.#cfg.loadForecast.historyDays);
      const { quantities } = forecastQuantities(hist, outdoor24, { baseK: this.#cfg.loadForecast.weatherSdBaseK, perHourK: this.#cfg.loadForecast.weatherSdPerHourK });
      value = { asset, horizonH: 24, quantities };
      if (outdoor24.length === 0) for (const q of Object.keys(quantities) as LoadQuantity[]) Object.assign(quantities[q], { total: null, sd: null, hourly: [], note: 'no outdoor temperature to forecast from' });
      this.#forecastCache.set(asset, { at: now, value });
    }
    return { ...value, outdoor: { source, issuedTs: fc?.issuedTs ?? null, hourly: outdoor24 } };
  }

  async networkForecast(): Promise<{ generatedAt: number; horizonH: number; totals: ReturnType<typeof networkTotals>; substations: SubstationLoadForecast[] }> {
    const parts: SubstationLoadForecast[] = [];
    for (const id of this.#ss.keys()) {
      const f = await this.loadForecast(id);
      parts.push({ asset: f.asset, horizonH: f.horizonH, quantities: f.quantities });
    }
    return { generatedAt: this.#o.clock.now(), horizonH: 24, totals: networkTotals(parts), substations: parts };
  }
}

function changeOf(w: WriteRecord): number {
  return w.oldValue === null ? 0 : Math.abs(w.newValue - w.oldValue);
}
