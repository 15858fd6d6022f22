/**
 * The coupled model of a district heating network, built from network.yaml: weather → heat sources → primary network →
 * substations → secondary branches (transport delay) → buildings → apartments, and back through the return.
 *
 * Contract:
 *   - Pure and single-threaded: no timers and no I/O. The owner calls `step(dtS)`; simulated time (`now()`, epoch ms)
 *     moves only then, so time may run faster than real time. Long steps are split into steps of at most `maxStepS`.
 *   - Reads (`substationTags`, `apartments`, `weatherNow`, …) return the state after the last step; they do not
 *     advance anything and return the same values until the next step.
 *   - Writes (`writeSubstation`) and faults (`inject`, `clear`) take effect from the next step.
 *   - Deterministic: the same network, options (seed, start) and sequence of calls give the same values.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { HEAT_INDEX_BY_INSULATION } from '../../config/asset-tree.ts';
import { checkAgainst, type ConfigProblem } from '../../config/load.ts';
import { NetworkFile } from '../../config/schema.ts';
import { APARTMENT_FIELDS, BuildingStock, occupancyGainWm2, PIPE_AMBIENT_C, type ApartmentField, type ApartmentOptionsInput, type BuildingSpec } from './building-stock.ts';
import { applySensorFaults, drawSpikes, ModelError, type ActiveFault, type FaultSpec, type SensorFault } from './faults.ts';
import { HeatSource, type HeatSourceParams, type HeatSourceTags } from './heat-source.ts';
import { emitterDesign, type EmitterDesign } from './heating-curve.ts';
import { Rng, seedFor } from './prng.ts';
import { Substation, type SubstationOptions } from './substation.ts';
import { isNumericSubstationTag, type SubstationTags } from './substation-tags.ts';
import { Weather, type ColdSnap, type ForecastPoint, type WeatherOptions, type WeatherSample } from './weather.ts';

export interface NetworkModelOptions {
  /** Seed of every random choice (default 1). */
  seed?: number;
  /** Simulated start time, epoch ms (default 2026-01-15T00:00Z). */
  start?: number;
  /** Longest internal step (s, default 60). */
  maxStepS?: number;
  /**
   * Hours simulated before `start` so rooms, pipes and controllers begin near their operating state (default 48;
   * 0 starts from the initial guess).
   */
  settleHours?: number;
  weather?: Partial<WeatherOptions>;
  heatSource?: Partial<HeatSourceParams>;
  /** Apartment and building options; `sizing` and `buildingSizing` set how emitters match the buildings (README). */
  apartments?: ApartmentOptionsInput;
  substation?: Partial<SubstationOptions>;
  /** Per-substation overrides by id (e.g. a linear valve at one station). */
  substationOverrides?: Record<string, Partial<SubstationOptions>>;
}

export type AssetKind = 'company' | 'heat_source' | 'network' | 'substation' | 'building' | 'apartment' | 'weather_station';

interface AssetRef {
  kind: AssetKind;
  index: number;
  parent: string | null;
}

/** Bulk, allocation-free access to every apartment (index = position in `ids`). Arrays are updated in place. */
export interface ApartmentTable {
  readonly count: number;
  readonly ids: readonly string[];
  /** Building index of each apartment; `buildingIds[buildingIndex[i]]` is its building. */
  readonly buildingIndex: Int32Array;
  readonly buildingIds: readonly string[];
  /** 1 where the account is suspended (报停). */
  readonly suspended: Uint8Array;
  /** Published values (sensor faults applied; NaN = no value, e.g. no thermostat or a dead sensor). */
  readonly room_temp_c: Float64Array;
  readonly setpoint_c: Float64Array;
  readonly valve_pct: Float64Array;
  readonly battery_pct: Float64Array;
  readonly rssi_dbm: Float64Array;
  /** Flags for the faces: 1 where this apartment (or anything above it) has lost communication. */
  readonly comm_loss: Uint8Array;
  /** Extra response delay for the faces (ms), 0 normally. */
  readonly slow_ms: Float64Array;
  /** Ground truth, for benchmarks and tests (not what a sensor reports). */
  readonly truth: {
    readonly air_temp_c: Float64Array;
    readonly mass_temp_c: Float64Array;
    readonly heat_w: Float64Array;
    readonly flow_m3h: Float64Array;
    readonly return_temp_c: Float64Array;
  };
}

export interface ApartmentValues {
  id: string;
  building: string;
  account: 'active' | 'suspended';
  room_temp_c: number;
  setpoint_c: number;
  valve_pct: number;
  battery_pct: number;
  rssi_dbm: number;
}

export interface BuildingState {
  supply_temp_c: number;
  return_temp_c: number;
  flow_m3h: number;
  heat_power_kw: number;
  mean_room_temp_c: number;
  min_room_temp_c: number;
}

export interface WeatherStationTags {
  outdoor_temp_c: number;
  humidity_pct: number;
  wind_speed_ms: number;
  solar_wm2: number;
}

/** Cumulative energies since the model started (J), for balance checks. */
export interface EnergyTotals {
  primary_j: number;
  secondary_j: number;
  emitters_j: number;
}

export interface DeviceFlags {
  comm_loss: boolean;
  slow_ms: number;
}

interface FaultRecord extends ActiveFault {
  sensor?: SensorFault;
  snap?: ColdSnap;
  stuckPct?: number;
}

const DEFAULT_START = Date.UTC(2026, 0, 15, 0, 0, 0);
const SETTLE_STEP_S = 300;

/** Reads and validates a network.yaml; throws ModelError BAD_CONFIG listing every problem. */
export function loadNetworkFile(file: string): NetworkFile {
  return validateNetwork(parse(readFileSync(file, 'utf8')) as unknown, path.basename(file));
}

function validateNetwork(raw: unknown, file: string): NetworkFile {
  const problems: ConfigProblem[] = [];
  const net = checkAgainst(NetworkFile, raw, file, problems);
  if (!net) throw new ModelError('BAD_CONFIG', `invalid network:\n${problems.map((p) => `  ${p.file}: ${p.path || '/'}: ${p.message}`).join('\n')}`);
  return net;
}

/** Builds the model from a network file (validated here, so a parsed YAML object will do). */
export function createNetworkModel(network: NetworkFile | Record<string, unknown>, opts: NetworkModelOptions = {}): NetworkModel {
  return new NetworkModel(validateNetwork(network, 'network'), opts);
}

export class NetworkModel {
  readonly network: NetworkFile;
  readonly seed: number;
  readonly maxStepS: number;
  readonly weather: Weather;
  readonly stock: BuildingStock;
  readonly substations: Substation[] = [];
  readonly heatSources: HeatSource[] = [];
  readonly apartments: ApartmentTable;

  #nowMs: number;
  readonly #assets = new Map<string, AssetRef>();
  readonly #aptIndex = new Map<string, number>();
  readonly #ssIndex = new Map<string, number>();
  readonly #hsIndex = new Map<string, number>();
  readonly #bIndex = new Map<string, number>();
  readonly #wsIds: string[] = [];
  readonly #wsBias: number[] = [];
  readonly #ssHeatSource: number[] = [];
  readonly #ssPrimaryDelayS: number[] = [];
  readonly #ssPrimaryLossK: number[] = [];
  readonly #ssReturnC: number[] = [];
  readonly #ssEmitterJ: number[] = [];
  #weatherNow: WeatherSample;

  readonly #faults = new Map<string, FaultRecord>();
  #faultSeq = 0;
  readonly #aptSensor = new Map<number, SensorFault[]>();
  readonly #wsSensor = new Map<string, SensorFault[]>();
  readonly #flagRng: Rng;
  readonly #wsNoise: Rng;
  #wsZ = [0, 0, 0, 0];

  constructor(network: NetworkFile, opts: NetworkModelOptions = {}) {
    this.network = network;
    this.seed = opts.seed ?? 1;
    this.maxStepS = opts.maxStepS ?? 60;
    const start = opts.start ?? DEFAULT_START;
    const settleS = Math.max(0, (opts.settleHours ?? 48) * 3600);
    this.#nowMs = start - settleS * 1000;
    this.weather = new Weather(this.seed, { ...opts.weather, coldSnaps: [...(opts.weather?.coldSnaps ?? [])] });
    this.#weatherNow = this.weather.at(this.#nowMs);
    this.#flagRng = new Rng(seedFor(this.seed, 'faults'));
    this.#wsNoise = new Rng(seedFor(this.seed, 'weather-stations'));
    const nowS = this.#nowMs / 1000;
    const outdoor = this.#weatherNow.outdoor_temp_c;
    const layoutRng = new Rng(seedFor(this.seed, 'layout'));

    // Asset tree and building specs.
    const company = network.company.id;
    this.#addAsset(company, 'company', 0, null);
    const specs: BuildingSpec[] = [];
    const ssInputs: { id: string; emitter: 'radiator' | 'floor'; design: EmitterDesign; hs: number; buildings: number[] }[] = [];
    for (const hs of network.heatSources) {
      const hsIdx = this.heatSources.length;
      this.#addAsset(hs.id, 'heat_source', hsIdx, company);
      this.#hsIndex.set(hs.id, hsIdx);
      this.heatSources.push(new HeatSource(hs.id, network.climate.designOutdoorC, outdoor, nowS, opts.heatSource));
      for (const net of hs.networks) {
        this.#addAsset(net.id, 'network', 0, hs.id);
        for (const ss of net.substations) {
          const ssIdx = ssInputs.length;
          this.#addAsset(ss.id, 'substation', ssIdx, net.id);
          this.#ssIndex.set(ss.id, ssIdx);
          const design = emitterDesign(ss.emitter, network.climate.designOutdoorC, stripUndefined(ss.design ?? {}));
          const buildings: number[] = [];
          for (const b of ss.buildings) {
            const bIdx = specs.length;
            this.#addAsset(b.id, 'building', bIdx, ss.id);
            this.#bIndex.set(b.id, bIdx);
            buildings.push(bIdx);
            specs.push({
              id: b.id,
              substationIndex: ssIdx,
              floors: b.floors,
              unitsPerFloor: b.unitsPerFloor,
              areaM2: b.apartmentAreaM2,
              insulation: b.insulation,
              heatIndexWm2: b.heatIndexWm2 ?? HEAT_INDEX_BY_INSULATION[b.insulation],
              suspended: new Set(b.suspended),
              emitter: ss.emitter,
              design,
            });
          }
          ssInputs.push({ id: ss.id, emitter: ss.emitter, design, hs: hsIdx, buildings });
        }
      }
    }
    for (const ws of network.weatherStations) {
      this.#addAsset(ws.id, 'weather_station', this.#wsIds.length, company);
      this.#wsIds.push(ws.id);
      this.#wsBias.push(layoutRng.gauss(0, 0.3));
    }

    this.stock = new BuildingStock(specs, seedFor(this.seed, 'stock'), nowS, outdoor, opts.apartments);
    const st = this.stock;
    for (let i = 0; i < st.count; i++) {
      const id = st.ids[i]!;
      if (this.#assets.has(id)) throw new ModelError('BAD_CONFIG', `duplicate asset id "${id}"`);
      this.#aptIndex.set(id, i);
    }

    for (const inp of ssInputs) {
      let nomW = 0;
      let flow = 0;
      let tallest = 1;
      for (const b of inp.buildings) {
        for (let i = st.bStart[b]!; i < st.bEnd[b]!; i++) nomW += st.emitterNomW[i]!;
        flow += st.bDesignFlowM3h[b]!;
        tallest = Math.max(tallest, st.bFloors[b]!);
      }
      const distance = layoutRng.range(0.15, 1);
      const hs = this.heatSources[inp.hs]!;
      const dpAvailDesign = hs.params.supplyPressureMpa - hs.params.returnPressureMpa - hs.params.networkDropMpa * distance;
      const ss = new Substation(
        { id: inp.id, emitter: inp.emitter, design: inp.design, emitterNomW: nomW, designFlowM3h: flow, tallestFloors: tallest, distance, dpAvailDesignMpa: dpAvailDesign },
        seedFor(this.seed, `substation:${inp.id}`),
        outdoor,
        { ...opts.substation, ...opts.substationOverrides?.[inp.id] },
      );
      ss.buildings.push(...inp.buildings);
      this.substations.push(ss);
      this.#ssHeatSource.push(inp.hs);
      // Primary transport: 10 min near the plant to 80 min at the far end, with 0.5–3 K loss.
      this.#ssPrimaryDelayS.push(600 + 4200 * distance);
      this.#ssPrimaryLossK.push(0.5 + 2.5 * distance);
      this.#ssReturnC.push(inp.design.returnC);
      this.#ssEmitterJ.push(0);
      hs.designFlowM3h += ss.g1DesignM3h;
    }

    this.apartments = {
      count: st.count,
      ids: st.ids,
      buildingIndex: st.building,
      buildingIds: st.buildingIds,
      suspended: st.suspended,
      room_temp_c: st.out.room_temp_c,
      setpoint_c: st.out.setpoint_c,
      valve_pct: st.out.valve_pct,
      battery_pct: st.out.battery_pct,
      rssi_dbm: st.out.rssi_dbm,
      comm_loss: new Uint8Array(st.count),
      slow_ms: new Float64Array(st.count),
      truth: { air_temp_c: st.airC, mass_temp_c: st.massC, heat_w: st.heatW, flow_m3h: st.flowM3h, return_temp_c: st.returnC },
    };

    if (settleS > 0) this.#settle(settleS);
  }

  #addAsset(id: string, kind: AssetKind, index: number, parent: string | null): void {
    if (this.#assets.has(id)) throw new ModelError('BAD_CONFIG', `duplicate asset id "${id}"`);
    this.#assets.set(id, { kind, index, parent });
  }

  /**
   * Runs the model up to `start`: the first half with a light structure (so the slow mass node reaches its
   * equilibrium in hours, not days), the second half as built. Energy totals restart at zero afterwards.
   */
  #settle(settleS: number): void {
    const st = this.stock;
    const heavy = st.cMass.slice();
    for (let i = 0; i < st.count; i++) st.cMass[i] = heavy[i]! / 10;
    const steps = Math.max(2, Math.round(settleS / SETTLE_STEP_S));
    const h = settleS / steps;
    for (let k = 0; k < steps; k++) {
      if (k === steps >> 1) st.cMass.set(heavy);
      this.#stepOnce(h);
    }
    for (const ss of this.substations) {
      ss.trueHeatJ = 0;
      ss.secondaryHeatJ = 0;
    }
    this.#ssEmitterJ.fill(0);
    this.#afterStep(h);
  }

  /** Simulated time, epoch ms. */
  now(): number {
    return this.#nowMs;
  }

  /** Advances the model by dtS seconds of simulated time (split into steps of at most `maxStepS`). */
  step(dtS: number): void {
    if (!(dtS > 0) || !Number.isFinite(dtS)) return;
    const n = Math.max(1, Math.ceil(dtS / this.maxStepS - 1e-9));
    const h = dtS / n;
    for (let k = 0; k < n; k++) this.#stepOnce(h);
    this.#afterStep(dtS);
  }

  #stepOnce(h: number): void {
    const t = this.#nowMs + h * 1000;
    const nowS = t / 1000;
    const w = this.weather.at(t);
    this.#weatherNow = w;
    const st = this.stock;

    for (let k = 0; k < this.heatSources.length; k++) {
      const hs = this.heatSources[k]!;
      hs.step(h, nowS, w.outdoor_temp_c);
      const conductances: number[] = [];
      const distances: number[] = [];
      for (let s = 0; s < this.substations.length; s++) {
        if (this.#ssHeatSource[s] !== k) continue;
        conductances.push(this.substations[s]!.primaryConductance);
        distances.push(this.substations[s]!.distance);
      }
      hs.solveFlow(conductances, distances);
    }

    for (let s = 0; s < this.substations.length; s++) {
      const ss = this.substations[s]!;
      const hs = this.heatSources[this.#ssHeatSource[s]!]!;
      const pr = hs.pressuresFor(ss.distance);
      let cond = 0;
      for (const b of ss.buildings) cond += st.bBranch[b]! * st.bConductanceM3h[b]!;
      ss.stepControl(h, {
        nowMs: t,
        outdoorC: w.outdoor_temp_c,
        primarySupplyC: hs.supplyAt(nowS - this.#ssPrimaryDelayS[s]!) - this.#ssPrimaryLossK[s]!,
        dpAvailMpa: Math.max(0, pr.supplyMpa - pr.returnMpa),
        primarySupplyPressureMpa: pr.supplyMpa,
        primaryReturnPressureMpa: pr.returnMpa,
        conductanceM3h: cond,
        secondaryReturnC: this.#ssReturnC[s]!,
      });
      const scale = ss.flowScale;
      for (const b of ss.buildings) {
        const fs = scale * st.bBranch[b]!;
        st.bFlowScale[b] = fs;
        const pipe = st.supplyPipes[b]!;
        pipe.push((st.bConductanceM3h[b]! * fs * h) / 3600, ss.secondarySupplyC, nowS);
        st.bSupplyC[b] = pipe.outlet(PIPE_AMBIENT_C);
      }
    }

    const hour = this.weather.localHour(t);
    st.step(h, { nowS, outdoorC: w.outdoor_temp_c, occupancyWm2: occupancyGainWm2(hour), solarWm2: w.solar_wm2, windMs: w.wind_speed_ms });

    for (let s = 0; s < this.substations.length; s++) {
      const ss = this.substations[s]!;
      let sumG = 0;
      let sumGT = 0;
      let sumT = 0;
      let sumQ = 0;
      for (const b of ss.buildings) {
        const pipe = st.returnPipes[b]!;
        const g = st.bFlowM3h[b]!;
        pipe.push((g * h) / 3600, st.bReturnC[b]!, nowS);
        const out = pipe.outlet(PIPE_AMBIENT_C);
        sumG += g;
        sumGT += g * out;
        sumT += out;
        sumQ += st.bHeatW[b]!;
      }
      this.#ssReturnC[s] = sumG > 1e-6 ? sumGT / sumG : sumT / ss.buildings.length;
      this.#ssEmitterJ[s] = this.#ssEmitterJ[s]! + sumQ * h;
      ss.finishStep(h);
    }

    for (let k = 0; k < this.heatSources.length; k++) {
      let g = 0;
      let gt = 0;
      let q = 0;
      for (let s = 0; s < this.substations.length; s++) {
        if (this.#ssHeatSource[s] !== k) continue;
        const ss = this.substations[s]!;
        g += ss.primaryFlowM3h;
        gt += ss.primaryFlowM3h * ss.primaryReturnC;
        q += ss.heatW;
      }
      this.heatSources[k]!.collect(g, g > 1e-6 ? gt / g : this.heatSources[k]!.returnC, q);
    }
    this.#nowMs = t;
  }

  /** Once per `step()`: spikes, apartment sensor faults, weather-station noise. */
  #afterStep(dtS: number): void {
    for (const ss of this.substations) if (ss.sensorFaults.length > 0) drawSpikes(ss.sensorFaults, dtS, () => ss.uniform());
    const u = (): number => this.#flagRng.next();
    for (const list of this.#wsSensor.values()) drawSpikes(list, dtS, u);
    for (const [i, list] of this.#aptSensor) {
      drawSpikes(list, dtS, u);
      this.#applyApartmentSensors(i, list);
    }
    for (let k = 0; k < this.#wsZ.length; k++) this.#wsZ[k] = this.#wsNoise.normal();
  }

  #applyApartmentSensors(i: number, list: readonly SensorFault[]): void {
    const out = this.stock.out;
    for (const field of APARTMENT_FIELDS) {
      if (!list.some((f) => f.tag === field)) continue;
      out[field][i] = applySensorFaults(list, field, this.stock.baseOutput(field, i, this.#nowMs / 1000), this.#nowMs);
    }
  }

  // ---- reads ----------------------------------------------------------------------------------------------------

  weatherNow(): WeatherSample {
    return { ...this.#weatherNow };
  }

  /** Hourly forecast for the next `hours` (default 48), issued at the last whole hour. */
  forecast(hours = 48): ForecastPoint[] {
    return this.weather.forecast(this.#nowMs, hours);
  }

  weatherStationIds(): readonly string[] {
    return this.#wsIds;
  }

  weatherStationTags(id: string): WeatherStationTags {
    const ref = this.#ref(id, 'weather_station');
    const w = this.#weatherNow;
    const z = this.#wsZ;
    const tags: WeatherStationTags = {
      outdoor_temp_c: w.outdoor_temp_c + this.#wsBias[ref.index]! + 0.05 * z[0]!,
      humidity_pct: Math.min(100, Math.max(0, w.humidity_pct + 0.5 * z[1]!)),
      wind_speed_ms: Math.max(0, w.wind_speed_ms * (1 + 0.05 * z[2]!)),
      solar_wm2: Math.max(0, w.solar_wm2 * (1 + 0.01 * z[3]!)),
    };
    const faults = this.#wsSensor.get(id);
    if (faults) {
      const rec = tags as unknown as Record<string, number>;
      for (const k of Object.keys(rec)) rec[k] = applySensorFaults(faults, k, rec[k]!, this.#nowMs);
    }
    return tags;
  }

  substationIds(): readonly string[] {
    return this.substations.map((s) => s.id);
  }

  substation(id: string): Substation {
    return this.substations[this.#ref(id, 'substation').index]!;
  }

  /** Current tag values of a substation (DOMAIN.md §1 table), as a plain object. */
  substationTags(id: string): SubstationTags {
    return this.substation(id).tags(this.#nowMs);
  }

  /** Writes a substation setpoint; throws ModelError (UNKNOWN_TARGET, NOT_WRITABLE, OUT_OF_RANGE, LOCAL_MODE). */
  writeSubstation(id: string, tag: string, value: number | boolean): void {
    this.substation(id).write(tag, value);
  }

  heatSourceIds(): readonly string[] {
    return this.heatSources.map((h) => h.id);
  }

  heatSourceTags(id: string): HeatSourceTags {
    return this.heatSources[this.#ref(id, 'heat_source').index]!.tags();
  }

  buildingIds(): readonly string[] {
    return this.stock.buildingIds;
  }

  buildingState(id: string): BuildingState {
    const b = this.#ref(id, 'building').index;
    const st = this.stock;
    return {
      supply_temp_c: st.bSupplyC[b]!,
      return_temp_c: st.bReturnC[b]!,
      flow_m3h: st.bFlowM3h[b]!,
      heat_power_kw: st.bHeatW[b]! / 1000,
      mean_room_temp_c: st.bMeanAirC[b]!,
      min_room_temp_c: st.bMinAirC[b]!,
    };
  }

  /** Apartment ids of a building or substation (or all), in table order. */
  apartmentIndexes(parentId?: string): number[] {
    const st = this.stock;
    if (parentId === undefined) return Array.from({ length: st.count }, (_, i) => i);
    const ref = this.#assets.get(parentId);
    if (!ref) throw new ModelError('UNKNOWN_TARGET', `no asset "${parentId}"`);
    const buildings = ref.kind === 'building' ? [ref.index] : ref.kind === 'substation' ? this.substations[ref.index]!.buildings : null;
    if (!buildings) throw new ModelError('UNKNOWN_TARGET', `"${parentId}" is a ${ref.kind}, not a building or substation`);
    const out: number[] = [];
    for (const b of buildings) for (let i = st.bStart[b]!; i < st.bEnd[b]!; i++) out.push(i);
    return out;
  }

  apartmentIndex(id: string): number {
    const i = this.#aptIndex.get(id);
    if (i === undefined) throw new ModelError('UNKNOWN_TARGET', `no apartment "${id}"`);
    return i;
  }

  apartmentValues(id: string): ApartmentValues {
    const i = this.apartmentIndex(id);
    const a = this.apartments;
    return {
      id,
      building: a.buildingIds[a.buildingIndex[i]!]!,
      account: a.suspended[i] ? 'suspended' : 'active',
      room_temp_c: a.room_temp_c[i]!,
      setpoint_c: a.setpoint_c[i]!,
      valve_pct: a.valve_pct[i]!,
      battery_pct: a.battery_pct[i]!,
      rssi_dbm: a.rssi_dbm[i]!,
    };
  }

  /** Calls fn for every apartment with its index and id; read values from `table` by index (no allocation). */
  forEachApartment(fn: (index: number, id: string, table: ApartmentTable) => void): void {
    const t = this.apartments;
    for (let i = 0; i < t.count; i++) fn(i, t.ids[i]!, t);
  }

  /** Thermostat setpoint write (an MQTT command to a flat's thermostat); 5–30 °C, only where a thermostat exists. */
  writeApartmentSetpoint(id: string, setpointC: number): void {
    const i = this.apartmentIndex(id);
    const st = this.stock;
    if (Number.isNaN(st.thermostatC[i]!)) throw new ModelError('NOT_WRITABLE', `${id} has no thermostat`);
    if (!Number.isFinite(setpointC) || setpointC < 5 || setpointC > 30) throw new ModelError('OUT_OF_RANGE', `${id}: setpoint_c = ${setpointC} is outside 5..30`);
    st.thermostatC[i] = setpointC;
    st.out.setpoint_c[i] = setpointC;
  }

  energyTotals(substationId: string): EnergyTotals {
    const s = this.#ref(substationId, 'substation').index;
    const ss = this.substations[s]!;
    return { primary_j: ss.trueHeatJ, secondary_j: ss.secondaryHeatJ, emitters_j: this.#ssEmitterJ[s]! };
  }

  /** Communication flags of a device, inherited from every asset above it. */
  flags(id: string): DeviceFlags {
    const i = this.#aptIndex.get(id);
    if (i !== undefined) return { comm_loss: this.apartments.comm_loss[i] === 1, slow_ms: this.apartments.slow_ms[i]! };
    this.#ref(id);
    let comm = false;
    let slow = 0;
    for (let cur: string | null = id; cur !== null; cur = this.#assets.get(cur)?.parent ?? null) {
      for (const f of this.#faults.values()) {
        if (f.spec.target !== cur) continue;
        if (f.spec.kind === 'comm_loss') comm = true;
        else if (f.spec.kind === 'slow_device') slow = Math.max(slow, f.spec.delayMs);
      }
    }
    return { comm_loss: comm, slow_ms: slow };
  }

  #ref(id: string, kind?: AssetKind): AssetRef {
    const ref = this.#assets.get(id);
    if (!ref) {
      if (this.#aptIndex.has(id) && (kind === undefined || kind === 'apartment')) {
        const i = this.#aptIndex.get(id)!;
        return { kind: 'apartment', index: i, parent: this.stock.buildingIds[this.stock.building[i]!]! };
      }
      throw new ModelError('UNKNOWN_TARGET', `no ${kind ?? 'asset'} "${id}"`);
    }
    if (kind && ref.kind !== kind) throw new ModelError('UNKNOWN_TARGET', `"${id}" is a ${ref.kind}, not a ${kind}`);
    return ref;
  }

  // ---- faults ---------------------------------------------------------------------------------------------------

  /** Active faults in injection order. */
  faults(): ActiveFault[] {
    return [...this.#faults.values()].map((f) => ({ id: f.id, spec: f.spec, sinceMs: f.sinceMs }));
  }

  /** Injects a fault and returns its id; throws ModelError (UNKNOWN_TARGET, BAD_FAULT, UNKNOWN_TAG). */
  inject(spec: FaultSpec): string {
    const target = spec.target;
    const ref = this.#ref(target);
    const kinds = ALLOWED[spec.kind];
    if (!kinds) throw new ModelError('BAD_FAULT', `unknown fault kind "${(spec as { kind: string }).kind}"`);
    if (!kinds.includes(ref.kind)) throw new ModelError('BAD_FAULT', `${spec.kind} does not apply to a ${ref.kind} (applies to: ${kinds.join(', ')})`);
    const id = `F${String(++this.#faultSeq).padStart(4, '0')}`;
    const rec: FaultRecord = { id, spec: { ...spec }, sinceMs: this.#nowMs };

    switch (spec.kind) {
      case 'leak':
        positive(spec.rateM3h, 'rateM3h');
        break;
      case 'stuck_valve':
        if (spec.positionPct !== undefined && !(spec.positionPct >= 0 && spec.positionPct <= 100)) throw new ModelError('BAD_FAULT', 'positionPct must be within 0..100');
        rec.stuckPct = spec.positionPct ?? this.substations[ref.index]!.valvePosPct;
        break;
      case 'supply_drop':
        if (spec.dropK !== undefined && !(spec.dropK >= 0 && spec.dropK <= 100)) throw new ModelError('BAD_FAULT', 'dropK must be within 0..100');
        break;
      case 'blocked_branch':
      case 'cold_apartment':
        if (spec.factor !== undefined && !(spec.factor >= 0 && spec.factor <= 1)) throw new ModelError('BAD_FAULT', 'factor must be within 0..1');
        break;
      case 'stolen_heat':
        if (!this.stock.suspended[ref.index]) throw new ModelError('BAD_FAULT', `stolen_heat applies to a suspended account; ${target} is active`);
        if (spec.opening !== undefined && !(spec.opening > 0 && spec.opening <= 1)) throw new ModelError('BAD_FAULT', 'opening must be within (0, 1]');
        break;
      case 'cold_snap': {
        if (!(spec.depthK > 0 && spec.depthK <= 40)) throw new ModelError('BAD_FAULT', 'depthK must be within (0, 40]');
        if (!(spec.durationH >= 0 && spec.durationH <= 24 * 30)) throw new ModelError('BAD_FAULT', 'durationH must be within 0..720');
        rec.snap = { startMs: spec.startMs ?? this.#nowMs, depthK: spec.depthK, durationH: spec.durationH };
        break;
      }
      case 'slow_device':
        if (!(spec.delayMs >= 0 && Number.isFinite(spec.delayMs))) throw new ModelError('BAD_FAULT', 'delayMs must be ≥ 0');
        break;
      case 'sensor_stuck':
      case 'sensor_drift':
      case 'sensor_dead':
      case 'spike':
        rec.sensor = this.#makeSensorFault(id, spec, ref);
        break;
      default:
        break;
    }
    this.#faults.set(id, rec);
    if (rec.snap) this.weather.addColdSnap(rec.snap);
    this.#apply(target, ref, spec.kind);
    return id;
  }

  /** Clears one fault; returns false if no such fault is active. */
  clear(id: string): boolean {
    const rec = this.#faults.get(id);
    if (!rec) return false;
    this.#faults.delete(id);
    if (rec.snap) this.weather.removeColdSnap(rec.snap);
    this.#apply(rec.spec.target, this.#ref(rec.spec.target), rec.spec.kind);
    return true;
  }

  clearAll(): void {
    for (const id of [...this.#faults.keys()]) this.clear(id);
  }

  #makeSensorFault(id: string, spec: Extract<FaultSpec, { tag: string }>, ref: AssetRef): SensorFault {
    let current: number;
    if (ref.kind === 'substation') {
      if (!isNumericSubstationTag(spec.tag)) throw new ModelError('UNKNOWN_TAG', `${spec.target}: "${spec.tag}" is not a numeric substation tag`);
      current = this.substations[ref.index]!.tags(this.#nowMs)[spec.tag] as number;
    } else if (ref.kind === 'apartment') {
      if (!(APARTMENT_FIELDS as readonly string[]).includes(spec.tag)) throw new ModelError('UNKNOWN_TAG', `${spec.target}: "${spec.tag}" is not an apartment field (${APARTMENT_FIELDS.join(', ')})`);
      current = this.stock.out[spec.tag as ApartmentField][ref.index]!;
    } else {
      const tags = this.weatherStationTags(spec.target) as unknown as Record<string, number>;
      if (!(spec.tag in tags)) throw new ModelError('UNKNOWN_TAG', `${spec.target}: "${spec.tag}" is not a weather station tag`);
      current = tags[spec.tag]!;
    }
    const base = { id, tag: spec.tag, sinceMs: this.#nowMs, spikeNow: 0 };
    switch (spec.kind) {
      case 'sensor_stuck':
        return { ...base, kind: spec.kind, value: spec.value ?? current, ratePerH: 0, magnitude: 0 };
      case 'sensor_dead':
        return { ...base, kind: spec.kind, value: spec.value ?? NaN, ratePerH: 0, magnitude: 0 };
      case 'sensor_drift':
        if (!Number.isFinite(spec.ratePerH)) throw new ModelError('BAD_FAULT', 'ratePerH must be a number');
        return { ...base, kind: spec.kind, value: 0, ratePerH: spec.ratePerH, magnitude: 0 };
      case 'spike': {
        const magnitude = spec.magnitude ?? Math.max(1, 0.3 * Math.abs(Number.isFinite(current) ? current : 1));
        const rate = spec.ratePerH ?? 4;
        if (!(rate > 0) || !Number.isFinite(magnitude)) throw new ModelError('BAD_FAULT', 'spike needs ratePerH > 0 and a finite magnitude');
        return { ...base, kind: spec.kind, value: 0, ratePerH: rate, magnitude };
      }
    }
  }

  /** Recomputes the fault-derived state of one target from all its active faults. */
  #apply(target: string, ref: AssetRef, changed: FaultSpec['kind']): void {
    const mine = [...this.#faults.values()].filter((f) => f.spec.target === target);
    switch (ref.kind) {
      case 'substation': {
        const ss = this.substations[ref.index]!;
        ss.leakExtraM3h = 0;
        ss.pumpTripped = false;
        ss.stuckValvePct = NaN;
        ss.meterFault = false;
        ss.localMode = false;
        ss.sensorFaults = [];
        for (const f of mine) {
          const s = f.spec;
          if (s.kind === 'leak') ss.leakExtraM3h += s.rateM3h ?? 0.025 * ss.g2DesignM3h;
          else if (s.kind === 'pump_trip') ss.pumpTripped = true;
          else if (s.kind === 'stuck_valve') ss.stuckValvePct = f.stuckPct ?? ss.valvePosPct;
          else if (s.kind === 'meter_fault') ss.meterFault = true;
          else if (s.kind === 'local_mode') ss.localMode = true;
          else if (f.sensor) ss.sensorFaults.push(f.sensor);
        }
        if (!Number.isNaN(ss.stuckValvePct)) ss.valvePosPct = ss.stuckValvePct;
        break;
      }
      case 'heat_source': {
        const hs = this.heatSources[ref.index]!;
        hs.drops.clear();
        for (const f of mine) if (f.spec.kind === 'supply_drop') hs.drops.set(f.id, { dropK: f.spec.trip ? 0 : (f.spec.dropK ?? 15), trip: f.spec.trip ?? false });
        break;
      }
      case 'building': {
        let factor = 1;
        for (const f of mine) if (f.spec.kind === 'blocked_branch') factor *= f.spec.factor ?? 0.3;
        this.stock.bBranch[ref.index] = factor;
        break;
      }
      case 'apartment': {
        const i = ref.index;
        const st = this.stock;
        let emitter = 1;
        let stolen = 0;
        let window = 0;
        const sensors: SensorFault[] = [];
        for (const f of mine) {
          const s = f.spec;
          if (s.kind === 'cold_apartment') emitter *= s.factor ?? 0.1;
          else if (s.kind === 'stolen_heat') stolen = Math.max(stolen, s.opening ?? 1);
          else if (s.kind === 'window_open') window = 1;
          else if (f.sensor) sensors.push(f.sensor);
        }
        st.emitterUa[i] = st.emitterUaNom[i]! * emitter;
        st.emitterFactor[i] = emitter;
        st.stolenOpening[i] = stolen;
        if (st.windowForced[i] !== window) st.setWindowForced(i, window === 1, this.#nowMs / 1000);
        st.refreshValve(i);
        st.restoreOutputs(i, this.#nowMs / 1000);
        if (sensors.length > 0) {
          this.#aptSensor.set(i, sensors);
          this.#applyApartmentSensors(i, sensors);
        } else this.#aptSensor.delete(i);
        break;
      }
      case 'weather_station': {
        const sensors = mine.flatMap((f) => (f.sensor ? [f.sensor] : []));
        if (sensors.length > 0) this.#wsSensor.set(target, sensors);
        else this.#wsSensor.delete(target);
        break;
      }
      default:
        break;
    }
    if (changed === 'comm_loss' || changed === 'slow_device') this.#refreshApartmentFlags();
  }

  /** Recomputes the per-apartment communication flags from comm_loss and slow_device faults at any level. */
  #refreshApartmentFlags(): void {
    const comm = this.apartments.comm_loss;
    const slow = this.apartments.slow_ms;
    const st = this.stock;
    const byBuilding = st.buildingIds.map((bid) => this.flags(bid));
    for (let i = 0; i < st.count; i++) {
      const bf = byBuilding[st.building[i]!]!;
      comm[i] = bf.comm_loss ? 1 : 0;
      slow[i] = bf.slow_ms;
    }
    for (const f of this.#faults.values()) {
      const i = this.#aptIndex.get(f.spec.target);
      if (i === undefined) continue;
      if (f.spec.kind === 'comm_loss') comm[i] = 1;
      else if (f.spec.kind === 'slow_device') slow[i] = Math.max(slow[i]!, f.spec.delayMs);
    }
  }
}

/** Which asset kinds each fault applies to. */
const ALLOWED: Record<FaultSpec['kind'], readonly AssetKind[]> = {
  leak: ['substation'],
  pump_trip: ['substation'],
  stuck_valve: ['substation'],
  meter_fault: ['substation'],
  local_mode: ['substation'],
  supply_drop: ['heat_source'],
  blocked_branch: ['building'],
  cold_apartment: ['apartment'],
  stolen_heat: ['apartment'],
  window_open: ['apartment'],
  cold_snap: ['company', 'weather_station'],
  sensor_stuck: ['substation', 'apartment', 'weather_station'],
  sensor_drift: ['substation', 'apartment', 'weather_station'],
  sensor_dead: ['substation', 'apartment', 'weather_station'],
  spike: ['substation', 'apartment', 'weather_station'],
  comm_loss: ['company', 'heat_source', 'network', 'substation', 'building', 'apartment', 'weather_station'],
  slow_device: ['company', 'heat_source', 'network', 'substation', 'building', 'apartment', 'weather_station'],
};

function positive(v: number | undefined, name: string): void {
  if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw new ModelError('BAD_FAULT', `${name} must be a positive number`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
