/**
 * Buildings and apartments, held as structure-of-arrays (one Float64Array per quantity) so one process can step
 * 100,000 apartments in a few milliseconds.
 *
 * Each apartment is a 2R2C model (DOMAIN.md §3):
 *   C_A·dT_A/dt = U_A(T_O − T_A) + U_I(T_M − T_A) + U_N(T_N − T_A) + Q_e,air + Q_g,air
 *   C_M·dT_M/dt = U_I(T_A − T_M) + U_M(T_O − T_M) + Q_e,mass + Q_g,mass
 * with U_N a coupling to the building's mean air temperature T_N (heat through walls and slabs to and from the
 * neighbours), Q_e the emitter output and Q_g internal and solar gains. Both nodes are integrated with backward
 * Euler, the emitter folded in as a conductance K to the supply temperature, so any step length is stable.
 *
 * Emitters (DOMAIN.md §3): Q = Q_nom·(LMTD/LMTD_nom)^n solved with Q = G·c·(T_s − T_r). Written as a heat exchanger
 * with the water at the room: T_r = T_ref + (T_s − T_ref)·e^(−NTU), NTU = UA_r/(G·c), K = G·c·(1 − e^(−NTU)), and
 * UA_r = (Q_nom/LMTD_nom)·(LMTD/LMTD_nom)^(n−1) updated from the last step's LMTD (warm-started fixed point; the
 * rooms change slowly, so one update per step converges). Radiators give most of their heat to the air; floor
 * heating most of it to the mass node.
 */
import { expNeg, powBy, powTable } from './fast-math.ts';
import type { EmitterDesign, EmitterKind } from './heating-curve.ts';
import { PlugFlowPipe } from './plug-flow-pipe.ts';
import { Rng, seedFor } from './prng.ts';
import { STOREY_M, W_PER_M3H_K } from './water.ts';

export type Insulation = 'good' | 'average' | 'poor';

export interface BuildingSpec {
  id: string;
  substationIndex: number;
  floors: number;
  unitsPerFloor: number;
  areaM2: number;
  insulation: Insulation;
  heatIndexWm2: number;
  /** Apartment numbers ("0302") whose account is suspended (报停). */
  suspended: ReadonlySet<string>;
  emitter: EmitterKind;
  design: EmitterDesign;
}

/**
 * How one building's emitters compare with the heat loss of its envelope as it is now. The emitter capacity is
 * q·A × designMargin / (1 − retrofit), with q the building's current heat index (network.yaml): sized with a margin
 * over the design load when the building was built, and the envelope improved later without touching the radiators.
 */
export interface EmitterSizing {
  /** Emitter capacity over the design heat loss at construction (1 = exactly sized). */
  designMargin: number;
  /** Share by which the heat index fell after the emitters were installed (new windows, external insulation); 0–0.6. */
  retrofit: number;
}

/**
 * How emitter sizing varies between buildings (drawn once per building from the seed and the building id, so adding
 * a building changes no other building's draw). Real stock is not sized exactly for the design curve: margins and
 * rounding up to whole radiator sections, and envelopes improved after the radiators went in, leave most buildings
 * with more emitter than they need and a few with less; under one curve most flats then run hot (DOMAIN.md §1:
 * 24–25 °C in metered homes, overheating 23 % of heat use in 38 Chinese systems).
 */
export interface SizingDistribution {
  /** Median of the design margin between buildings. */
  marginMedian: number;
  /** Spread of the design margin between buildings (σ of its logarithm). */
  marginSd: number;
  /** Bounds of the design margin (a few undersized buildings, none absurdly oversized). */
  marginMin: number;
  marginMax: number;
  /** Share of buildings whose envelope was improved after the emitters were sized. */
  retrofitShare: number;
  /** Range of the heat-index reduction of a retrofitted building (uniform). */
  retrofitMin: number;
  retrofitMax: number;
}

export interface ApartmentOptions {
  /** Share of apartments with a thermostatic radiator valve and a thermostat (setpoint_c); the rest have none. */
  thermostatShare: number;
  /** Emitter sizing between buildings (see `SizingDistribution`). */
  sizing: SizingDistribution;
  /** Sizing of particular buildings by id, overriding the draw (e.g. a building known to be undersized). */
  buildingSizing: Record<string, Partial<EmitterSizing>>;
  /** How much of a flat's extra positional loss (top, ground, end) the designer gave it in extra emitter (0–1). */
  positionCompensation: number;
  /** Spread (σ, log) of the hydraulic imbalance: some flats get less than their design flow. */
  imbalanceSd: number;
  /** Mean interval between window airings in an occupied flat (hours). */
  windowIntervalH: number;
}

/** What callers pass: any option, and any part of the sizing distribution. */
export type ApartmentOptionsInput = Partial<Omit<ApartmentOptions, 'sizing'>> & { sizing?: Partial<SizingDistribution> };

/**
 * Default sizing: a median margin of 1.2 with σ 0.1 between buildings (about one building in twenty below 1.05,
 * bounded 0.95–1.5), and one building in four re-insulated after its radiators went in, its heat index cut by
 * 10–30 %. With the design curve at the design outdoor temperature the average flat then sits near 21 °C, the
 * coldest buildings' cold flats near 17–18 °C and the re-insulated ones at 23–25 °C.
 */
export const DEFAULT_SIZING: SizingDistribution = {
  marginMedian: 1.2,
  marginSd: 0.1,
  marginMin: 0.95,
  marginMax: 1.5,
  retrofitShare: 0.25,
  retrofitMin: 0.1,
  retrofitMax: 0.3,
};

export const DEFAULT_APARTMENT_OPTIONS: ApartmentOptions = {
  thermostatShare: 0.3,
  sizing: DEFAULT_SIZING,
  buildingSizing: {},
  positionCompensation: 0.6,
  imbalanceSd: 0.15,
  windowIntervalH: 40,
};

/** The sizing of one building: its override where given, else a draw from the distribution. */
export function drawSizing(seed: number, buildingId: string, d: SizingDistribution, override: Partial<EmitterSizing> = {}): EmitterSizing {
  const rng = new Rng(seedFor(seed, `sizing:${buildingId}`));
  const margin = Math.min(d.marginMax, Math.max(d.marginMin, d.marginMedian * Math.exp(rng.gauss(0, d.marginSd))));
  const retrofitted = rng.next() < d.retrofitShare;
  const retrofit = retrofitted ? rng.range(d.retrofitMin, d.retrofitMax) : 0;
  const out = { designMargin: override.designMargin ?? margin, retrofit: override.retrofit ?? retrofit };
  if (!(out.designMargin > 0) || !(out.retrofit >= 0 && out.retrofit <= 0.6)) throw new RangeError(`${buildingId}: emitter sizing out of range (designMargin > 0, retrofit 0–0.6)`);
  return out;
}

/** Extra loss of a position, scaled by insulation: a well-insulated building also has an insulated roof and gables. */
const POSITION_LOSS = { top: 0.3, ground: 0.15, end: 0.15 } as const;
const POSITION_SCALE: Record<Insulation, number> = { good: 0.5, average: 1, poor: 1.35 };
/** Share of envelope loss that bypasses the mass (windows, infiltration); the rest goes through the walls. */
const AIR_PATH_SHARE = 0.35;
/** Air-to-mass surface conductance, relative to the flat's design UA. */
const INTERNAL_COUPLING = 10;
/** Coupling to the building mean per neighbouring flat (above, below, left, right), relative to the design UA. */
const NEIGHBOUR_COUPLING = 0.5;
/** Air plus furniture heat capacity per m² of floor (J/(m²·K)). */
const AIR_CAPACITY_J_M2K = 20_000;
/** Structure heat capacity per m² of floor (J/(m²·K)): concrete and brick, giving τ of tens of hours. */
const MASS_CAPACITY_J_M2K = 350_000;
/** Airing: open window ventilation conductance relative to the design UA. */
const WINDOW_COUPLING = 2;
/**
 * Extra margin by emitter type: floor loops are laid over the whole floor area, so they come with more surface than
 * the load needs, and their low excess temperature makes the margin matter more.
 */
const EMITTER_MARGIN: Record<EmitterKind, number> = { radiator: 1, floor: 1.1 };
/** Share of the emitter's heat given to the air node. */
const EMITTER_AIR_SHARE: Record<EmitterKind, number> = { radiator: 0.8, floor: 0.35 };
/** Design water velocity in the branch pipes (m/s) and the pipes' cooling time constant at rest (s). */
const PIPE_VELOCITY_MS = 0.8;
const PIPE_LOSS_TAU_S = 30 * 3600;
/** Ground/basement temperature around the branch pipes (°C). */
export const PIPE_AMBIENT_C = 10;

/**
 * Internal gains by local hour (W/m²), averaging about 3.6 W/m² (JGJ 26 uses 3.8 W/m² for residences): people,
 * cooking, appliances; higher in the morning and evening when people are home.
 */
export function occupancyGainWm2(localHour: number): number {
  if (localHour < 6) return 2.5;
  if (localHour < 8) return 6;
  if (localHour < 17) return 2.5;
  if (localHour < 22) return 6;
  return 3.5;
}

export interface StepEnvironment {
  nowS: number;
  outdoorC: number;
  occupancyWm2: number;
  solarWm2: number;
  windMs: number;
}

/** The published values of all apartments; publishers read these arrays directly (index = apartment index). */
export interface ApartmentOutputs {
  readonly room_temp_c: Float64Array;
  /** Thermostat setpoint, NaN where the flat has no thermostat. */
  readonly setpoint_c: Float64Array;
  readonly valve_pct: Float64Array;
  readonly battery_pct: Float64Array;
  readonly rssi_dbm: Float64Array;
}

export const APARTMENT_FIELDS = ['room_temp_c', 'setpoint_c', 'valve_pct', 'battery_pct', 'rssi_dbm'] as const;
export type ApartmentField = (typeof APARTMENT_FIELDS)[number];

export class BuildingStock {
  // ---- buildings -------------------------------------------------------------------------------------------------
  readonly buildingIds: string[] = [];
  readonly specs: BuildingSpec[];
  readonly bStart: Int32Array;
  readonly bEnd: Int32Array;
  readonly bSubstation: Int32Array;
  readonly bFloors: Int32Array;
  /** Inputs set by the network before each step: delivered supply temperature and √(ΔP/ΔP_design)·branch factor. */
  readonly bSupplyC: Float64Array;
  readonly bFlowScale: Float64Array;
  /** Branch throttling (1 = as designed; the `blocked_branch` fault lowers it). */
  readonly bBranch: Float64Array;
  readonly bAirShare: Float64Array;
  readonly bExpM1: Float64Array;
  readonly bInvLmtdNom: Float64Array;
  /** Neighbour-weighted mean air temperature of the last step. */
  readonly bNeighbourC: Float64Array;
  /** Σ flow_nom·valve (m³/h at design ΔP, before the branch factor): the building's hydraulic conductance. */
  readonly bConductanceM3h: Float64Array;
  readonly bDesignFlowM3h: Float64Array;
  // Outputs of the last step.
  readonly bFlowM3h: Float64Array;
  readonly bReturnC: Float64Array;
  readonly bHeatW: Float64Array;
  readonly bMeanAirC: Float64Array;
  readonly bMinAirC: Float64Array;
  /** Each building's emitter sizing (design margin and retrofit), and the resulting capacity over its current loss. */
  readonly bSizing: EmitterSizing[] = [];
  readonly bEmitterFactor: Float64Array;
  readonly supplyPipes: PlugFlowPipe[] = [];
  readonly returnPipes: PlugFlowPipe[] = [];

  // ---- apartments: parameters ----------------------------------------------------------------------------------
  readonly count: number;
  readonly ids: string[] = [];
  readonly building: Int32Array;
  readonly floor: Int32Array;
  readonly unit: Int32Array;
  readonly areaM2: Float64Array;
  readonly suspended: Uint8Array;
  readonly cAir: Float64Array;
  readonly cMass: Float64Array;
  readonly uAir: Float64Array;
  readonly uInt: Float64Array;
  readonly uMass: Float64Array;
  readonly uNeighbour: Float64Array;
  readonly uWindow: Float64Array;
  /** Q_nom/LMTD_nom of the emitter (W/K). */
  readonly emitterUaNom: Float64Array;
  /** Emitter capacity in watts at nominal conditions (Q_nom). */
  readonly emitterNomW: Float64Array;
  /** Design flow through the flat's emitter with its valve open (m³/h), imbalance included. */
  readonly flowNomM3h: Float64Array;
  readonly gainAreaM2: Float64Array;
  readonly solarApertureM2: Float64Array;
  readonly sensorBiasK: Float64Array;
  readonly battery0Pct: Float64Array;
  readonly batteryRatePctS: Float64Array;
  readonly rssiBaseDbm: Float64Array;
  /** Thermostat setpoint (NaN: no thermostat, the radiator valve is open). */
  readonly thermostatC: Float64Array;

  // ---- apartments: state ----------------------------------------------------------------------------------------
  readonly airC: Float64Array;
  readonly massC: Float64Array;
  /** Current emitter UA (W/K), warm-started from the last step. */
  readonly emitterUa: Float64Array;
  /** Physical valve opening 0–1 (what the water sees). */
  readonly valve: Float64Array;
  /** Multiplier on the emitter (1 normal; the `cold_apartment` fault lowers it: air lock). */
  readonly emitterFactor: Float64Array;
  /** Valve opening a thief gives a suspended flat (0 normally; the `stolen_heat` fault sets it). */
  readonly stolenOpening: Float64Array;
  readonly windowForced: Uint8Array;
  /** Airing schedule: ≥ 0, the window is closed until that time (s); < 0, it is open until −value. */
  readonly windowAt: Float64Array;
  readonly heatW: Float64Array;
  readonly flowM3h: Float64Array;
  readonly returnC: Float64Array;
  /** LMTD/LMTD_nom of the last step (−1 where no water flowed), scratch between the two passes. */
  readonly lmtdRel: Float64Array;

  // ---- apartments: published ------------------------------------------------------------------------------------
  readonly out: ApartmentOutputs;

  readonly options: ApartmentOptions;
  readonly #rng: Rng;
  #noiseState: number;
  #slowPhase = 0;
  readonly #batteryT0S: number;

  constructor(specs: BuildingSpec[], seed: number, nowS: number, outdoorC: number, options: ApartmentOptionsInput = {}) {
    this.options = { ...DEFAULT_APARTMENT_OPTIONS, ...options, sizing: { ...DEFAULT_SIZING, ...options.sizing }, buildingSizing: { ...options.buildingSizing } };
    this.specs = specs;
    const nb = specs.length;
    let n = 0;
    for (const s of specs) n += s.floors * s.unitsPerFloor;
    this.count = n;
    const f64 = (): Float64Array => new Float64Array(nb);
    this.bStart = new Int32Array(nb);
    this.bEnd = new Int32Array(nb);
    this.bSubstation = new Int32Array(nb);
    this.bFloors = new Int32Array(nb);
    this.bSupplyC = f64();
    this.bFlowScale = f64();
    this.bBranch = f64().fill(1);
    this.bAirShare = f64();
    this.bExpM1 = f64();
    this.bInvLmtdNom = f64();
    this.bNeighbourC = f64();
    this.bConductanceM3h = f64();
    this.bDesignFlowM3h = f64();
    this.bFlowM3h = f64();
    this.bReturnC = f64();
    this.bHeatW = f64();
    this.bMeanAirC = f64();
    this.bMinAirC = f64();
    this.bEmitterFactor = f64();

    const a64 = (): Float64Array => new Float64Array(n);
    this.building = new Int32Array(n);
    this.floor = new Int32Array(n);
    this.unit = new Int32Array(n);
    this.areaM2 = a64();
    this.suspended = new Uint8Array(n);
    this.cAir = a64();
    this.cMass = a64();
    this.uAir = a64();
    this.uInt = a64();
    this.uMass = a64();
    this.uNeighbour = a64();
    this.uWindow = a64();
    this.emitterUaNom = a64();
    this.emitterNomW = a64();
    this.flowNomM3h = a64();
    this.gainAreaM2 = a64();
    this.solarApertureM2 = a64();
    this.sensorBiasK = a64();
    this.battery0Pct = a64();
    this.batteryRatePctS = a64();
    this.rssiBaseDbm = a64();
    this.thermostatC = a64();
    this.airC = a64();
    this.massC = a64();
    this.emitterUa = a64();
    this.valve = a64();
    this.emitterFactor = a64().fill(1);
    this.stolenOpening = a64();
    this.windowForced = new Uint8Array(n);
    this.windowAt = a64();
    this.heatW = a64();
    this.flowM3h = a64();
    this.returnC = a64();
    this.lmtdRel = a64();
    this.out = { room_temp_c: a64(), setpoint_c: a64(), valve_pct: a64(), battery_pct: a64(), rssi_dbm: a64() };

    this.#batteryT0S = nowS;
    this.#rng = new Rng(seedFor(seed, 'apartments'));
    this.#noiseState = seedFor(seed, 'apartments.noise') | 1;
    const rng = this.#rng;
    const o = this.options;

    let i = 0;
    for (let b = 0; b < nb; b++) {
      const s = specs[b]!;
      this.buildingIds.push(s.id);
      this.bStart[b] = i;
      this.bSubstation[b] = s.substationIndex;
      this.bFloors[b] = s.floors;
      const d = s.design;
      const lmtdNom = (d.supplyC - d.returnC) / Math.log((d.supplyC - d.indoorC) / (d.returnC - d.indoorC));
      this.bAirShare[b] = EMITTER_AIR_SHARE[s.emitter];
      this.bExpM1[b] = d.exponent - 1;
      this.bInvLmtdNom[b] = 1 / lmtdNom;
      const uaBase = (s.heatIndexWm2 * s.areaM2) / (d.indoorC - d.outdoorC);
      const sizing = drawSizing(seed, s.id, o.sizing, o.buildingSizing[s.id]);
      this.bSizing.push(sizing);
      const sizingFactor = sizing.designMargin / (1 - sizing.retrofit);
      this.bEmitterFactor[b] = sizingFactor;
      const posScale = POSITION_SCALE[s.insulation];
      // Positional loss factors, normalized so the building as a whole matches its design heat index.
      const pos: number[] = [];
      for (let f = 1; f <= s.floors; f++) {
        for (let u = 1; u <= s.unitsPerFloor; u++) {
          const top = f === s.floors ? 1 : 0;
          const ground = f === 1 ? 1 : 0;
          const end = u === 1 || u === s.unitsPerFloor ? 1 : 0;
          pos.push((1 + POSITION_LOSS.top * posScale * top) * (1 + POSITION_LOSS.ground * posScale * ground) * (1 + POSITION_LOSS.end * posScale * end));
        }
      }
      const meanPos = pos.reduce((x, y) => x + y, 0) / pos.length;
      // A building faces one way: south-facing slabs catch the most winter sun.
      const orientation = rng.range(0.55, 1);
      let k = 0;
      for (let f = 1; f <= s.floors; f++) {
        for (let u = 1; u <= s.unitsPerFloor; u++, k++, i++) {
          const no = `${String(f).padStart(2, '0')}${String(u).padStart(2, '0')}`;
          this.ids.push(`${s.id}-${no}`);
          this.building[i] = b;
          this.floor[i] = f;
          this.unit[i] = u;
          this.areaM2[i] = s.areaM2;
          const susp = s.suspended.has(no);
          this.suspended[i] = susp ? 1 : 0;
          const rel = pos[k]! / meanPos;
          const ua = uaBase * rel * rng.gauss(1, 0.07);
          this.uAir[i] = AIR_PATH_SHARE * ua;
          const uInt = INTERNAL_COUPLING * uaBase;
          this.uInt[i] = uInt;
          this.uMass[i] = 1 / (1 / ((1 - AIR_PATH_SHARE) * ua) - 1 / uInt);
          const neighbours = (f < s.floors ? 1 : 0) + (f > 1 ? 1 : 0) + (u > 1 ? 1 : 0) + (u < s.unitsPerFloor ? 1 : 0);
          this.uNeighbour[i] = NEIGHBOUR_COUPLING * uaBase * neighbours;
          this.uWindow[i] = WINDOW_COUPLING * uaBase;
          this.cAir[i] = AIR_CAPACITY_J_M2K * s.areaM2 * rng.gauss(1, 0.1);
          this.cMass[i] = MASS_CAPACITY_J_M2K * s.areaM2 * rng.gauss(1, 0.1);
          const qNom = s.heatIndexWm2 * s.areaM2 * sizingFactor * EMITTER_MARGIN[s.emitter] * (1 + o.positionCompensation * (rel - 1)) * rng.gauss(1, 0.07);
          this.emitterNomW[i] = qNom;
          this.emitterUaNom[i] = qNom / lmtdNom;
          this.emitterUa[i] = qNom / lmtdNom;
          this.flowNomM3h[i] = (qNom / (W_PER_M3H_K * (d.supplyC - d.returnC))) * Math.exp(rng.gauss(0, o.imbalanceSd));
          this.gainAreaM2[i] = susp ? 0 : s.areaM2 * Math.max(0.2, rng.gauss(1, 0.3));
          this.solarApertureM2[i] = s.areaM2 * 0.12 * 0.25 * orientation * (f <= 2 ? 0.6 : 1) * rng.gauss(1, 0.15);
          this.sensorBiasK[i] = rng.gauss(0, 0.25);
          this.batteryRatePctS[i] = rng.range(0.04, 0.12) / 86_400;
          this.rssiBaseDbm[i] = Math.round(rng.range(-95, -55));
          const hasThermostat = !susp && rng.next() < o.thermostatShare;
          this.thermostatC[i] = hasThermostat ? 20 + Math.floor(rng.next() * 5) : NaN;
          // Start near the quasi-steady state of the mass node, so settling takes hours rather than days.
          this.airC[i] = susp ? 12 : 20;
          this.massC[i] = (uInt * this.airC[i]! + this.uMass[i]! * outdoorC) / (uInt + this.uMass[i]!);
          this.valve[i] = susp ? 0 : 1;
          this.returnC[i] = d.returnC;
          this.windowAt[i] = susp ? Infinity : nowS + rng.exponential(o.windowIntervalH * 3600);
          this.battery0Pct[i] = rng.range(35, 100);
          this.out.battery_pct[i] = this.battery0Pct[i]!;
          this.out.setpoint_c[i] = this.thermostatC[i]!;
          this.out.rssi_dbm[i] = this.rssiBaseDbm[i]!;
          this.out.valve_pct[i] = this.valve[i]! * 100;
          this.out.room_temp_c[i] = this.airC[i]!;
        }
      }
      this.bEnd[b] = i;
      let cond = 0;
      let design = 0;
      for (let j = this.bStart[b]!; j < i; j++) {
        cond += this.flowNomM3h[j]! * this.valve[j]!;
        design += this.flowNomM3h[j]!;
      }
      this.bConductanceM3h[b] = cond;
      this.bDesignFlowM3h[b] = design;
      this.bNeighbourC[b] = 20;
      this.bMeanAirC[b] = 20;
      this.bMinAirC[b] = 20;
      this.bReturnC[b] = d.returnC;
      this.bSupplyC[b] = d.supplyC;
      // Branch from the substation plus the risers up and down the building; volume at the design velocity.
      const lengthM = rng.range(80, 700) + 2 * s.floors * STOREY_M;
      const volumeM3 = (lengthM * design) / (3600 * PIPE_VELOCITY_MS);
      this.supplyPipes.push(new PlugFlowPipe(volumeM3, d.supplyC, PIPE_LOSS_TAU_S, nowS));
      this.returnPipes.push(new PlugFlowPipe(volumeM3, d.returnC, PIPE_LOSS_TAU_S, nowS));
    }
  }

  /** Recomputes the physical valve of one flat from its account, thermostat and faults (after a change). */
  refreshValve(i: number): void {
    if (this.suspended[i]) this.valve[i] = this.stolenOpening[i]!;
    else if (Number.isNaN(this.thermostatC[i]!)) this.valve[i] = 1;
    this.out.valve_pct[i] = this.suspended[i] ? 0 : this.valve[i]! * 100;
    const b = this.building[i]!;
    let cond = 0;
    for (let j = this.bStart[b]!; j < this.bEnd[b]!; j++) cond += this.flowNomM3h[j]! * this.valve[j]!;
    this.bConductanceM3h[b] = cond;
  }

  /**
   * Steps every apartment by dt with the buildings' delivered supply (`bSupplyC`) and flow scale (`bFlowScale`) set by
   * the caller. Afterwards `bFlowM3h`, `bReturnC` (mixed return leaving the building), `bHeatW`, `bConductanceM3h`
   * (for the next step's hydraulics) and the published arrays are current.
   */
  step(dtS: number, env: StepEnvironment): void {
    const { nowS, outdoorC: to, occupancyWm2: occ, solarWm2: sol } = env;
    const windFactor = Math.max(0.85, 1 + 0.04 * (env.windMs - 3));
    const { cAir, cMass, uAir, uInt, uMass, uNeighbour, uWindow, emitterUaNom, emitterUa, emitterFactor, flowNomM3h, valve } = this;
    const { airC, massC, gainAreaM2, solarApertureM2, thermostatC, suspended, stolenOpening, heatW, flowM3h, returnC } = this;
    const { windowAt, sensorBiasK, lmtdRel } = this;
    const invDt = 1 / dtS;
    const roomOut = this.out.room_temp_c;
    const valveOut = this.out.valve_pct;
    const windowMeanS = this.options.windowIntervalH * 3600;
    const rng = this.#rng;
    let ns = this.#noiseState;
    const nb = this.bStart.length;

    for (let b = 0; b < nb; b++) {
      const ts = this.bSupplyC[b]!;
      const scale = this.bFlowScale[b]!;
      const fa = this.bAirShare[b]!;
      const fm = 1 - fa;
      const expM1 = this.bExpM1[b]!;
      const powT = powTable(expM1);
      const invLmtdNom = this.bInvLmtdNom[b]!;
      const tn = this.bNeighbourC[b]!;
      const end = this.bEnd[b]!;
      let sumG = 0;
      let sumGTr = 0;
      let sumQ = 0;
      let sumUn = 0;
      let sumUnT = 0;
      let sumAir = 0;
      let minAir = Infinity;
      let cond = 0;

      for (let i = this.bStart[b]!; i < end; i++) {
        const g = flowNomM3h[i]! * valve[i]! * scale;
        const gc = g * W_PER_M3H_K;
        const uaE = emitterUa[i]!;
        let invGc = 0;
        let k = 0;
        if (gc > 1e-9) {
          invGc = 1 / gc;
          k = gc * (1 - expNeg(uaE * invGc));
        }
        let ua = uAir[i]! * windFactor;
        // windowAt ≥ 0: closed until then (+∞ in an empty flat); < 0: open until −windowAt (−∞ when forced open).
        const wt = windowAt[i]!;
        if (wt >= 0) {
          if (nowS >= wt) {
            windowAt[i] = -(nowS + 600 + 1200 * rng.next());
            ua += uWindow[i]!;
          }
        } else if (nowS < -wt) ua += uWindow[i]!;
        else windowAt[i] = nowS + rng.exponential(windowMeanS);
        const gains = occ * gainAreaM2[i]! + sol * solarApertureM2[i]!;
        const ca = cAir[i]! * invDt;
        const ui = uInt[i]!;
        const un = uNeighbour[i]!;
        const ka = fa * k;
        const ta = (ca * airC[i]! + ua * to + ui * massC[i]! + un * tn + ka * ts + 0.6 * gains) / (ca + ua + ui + un + ka);
        const cm = cMass[i]! * invDt;
        const um = uMass[i]!;
        const km = fm * k;
        const tm = (cm * massC[i]! + ui * ta + um * to + km * ts + 0.4 * gains) / (cm + ui + um + km);
        airC[i] = ta;
        massC[i] = tm;
        const q = ka * (ts - ta) + km * (ts - tm);
        let tr = fa * ta + fm * tm;
        if (gc > 1e-9) {
          const d1 = ts - tr;
          tr = ts - q * invGc;
          // LMTD = Q/UA_r with Q = K·d1 at the UA this step used; the next UA_r follows from it in a second pass
          // (two short loops run faster than one long one here).
          lmtdRel[i] = d1 > 0.2 && uaE > 0 ? (k * d1 * invLmtdNom) / uaE : -1;
          sumG += g;
          sumGTr += g * tr;
        }
        heatW[i] = q;
        flowM3h[i] = g;
        returnC[i] = tr;
        if (gc <= 1e-9) lmtdRel[i] = -1;
        sumQ += q;
        sumUn += un;
        sumUnT += un * ta;
        sumAir += ta;
        if (ta < minAir) minAir = ta;

        // Valve for the next step: a thermostatic valve closes over a 2 K band ending 1 K above its setpoint.
        const susp = suspended[i]!;
        let v: number;
        if (susp) v = stolenOpening[i]!;
        else {
          const sp = thermostatC[i]!;
          if (sp === sp) {
            v = (sp + 1 - ta) * 0.5;
            v = v < 0 ? 0 : v > 1 ? 1 : v;
          } else v = 1;
        }
        valve[i] = v;
        cond += flowNomM3h[i]! * v;

        // Published values: the sensor's bias and a little noise (±0.04 K); a suspended flat's valve reads closed.
        ns ^= ns << 13;
        ns ^= ns >>> 17;
        ns ^= ns << 5;
        roomOut[i] = ta + sensorBiasK[i]! + 1.8e-11 * ns;
        valveOut[i] = susp ? 0 : v * 100;
      }
      for (let i = this.bStart[b]!; i < end; i++) {
        const x = lmtdRel[i]!;
        if (x > 0) emitterUa[i] = emitterUaNom[i]! * emitterFactor[i]! * powBy(powT, expM1, x);
      }
      const count = end - this.bStart[b]!;
      this.bFlowM3h[b] = sumG;
      if (sumG > 1e-9) this.bReturnC[b] = sumGTr / sumG;
      this.bHeatW[b] = sumQ;
      this.bNeighbourC[b] = sumUn > 0 ? sumUnT / sumUn : sumAir / count;
      this.bMeanAirC[b] = sumAir / count;
      this.bMinAirC[b] = minAir;
      this.bConductanceM3h[b] = cond;
    }
    this.#noiseState = ns;
    this.#slowOutputs(nowS);
  }

  /**
   * Battery and radio change slowly, so each step refreshes one sixteenth of the flats (every flat every 16 steps).
   * Battery is a function of time (start level − rate·elapsed), so the refresh interval does not change its value.
   */
  #slowOutputs(nowS: number): void {
    const battery = this.out.battery_pct;
    const rssi = this.out.rssi_dbm;
    const { battery0Pct, batteryRatePctS, rssiBaseDbm } = this;
    const elapsed = nowS - this.#batteryT0S;
    let ns = this.#noiseState ^ 0x2545f491;
    this.#slowPhase = (this.#slowPhase + 1) & 15;
    for (let i = this.#slowPhase; i < this.count; i += 16) {
      const bat = battery0Pct[i]! - batteryRatePctS[i]! * elapsed;
      battery[i] = bat > 0 ? bat : 0;
      ns ^= ns << 13;
      ns ^= ns >>> 17;
      ns ^= ns << 5;
      rssi[i] = rssiBaseDbm[i]! + ((ns >>> 8) % 7) - 3;
    }
  }

  /**
   * What a healthy sensor of one flat reports now, as the base a sensor fault is applied to. Room temperature and
   * valve are rewritten every step; the slow fields are recomputed here so a fault never compounds on itself.
   */
  baseOutput(field: ApartmentField, i: number, nowS: number): number {
    switch (field) {
      case 'room_temp_c':
      case 'valve_pct':
        return this.out[field][i]!;
      case 'setpoint_c':
        return this.thermostatC[i]!;
      case 'battery_pct':
        return Math.max(0, this.battery0Pct[i]! - this.batteryRatePctS[i]! * (nowS - this.#batteryT0S));
      case 'rssi_dbm':
        return this.rssiBaseDbm[i]!;
    }
  }

  /** Resets one flat's published values to what its healthy sensors read now (after a sensor fault is cleared). */
  restoreOutputs(i: number, nowS: number): void {
    const o = this.out;
    o.room_temp_c[i] = this.airC[i]! + this.sensorBiasK[i]!;
    o.valve_pct[i] = this.suspended[i] ? 0 : this.valve[i]! * 100;
    for (const f of ['setpoint_c', 'battery_pct', 'rssi_dbm'] as const) o[f][i] = this.baseOutput(f, i, nowS);
  }

  /** Forces a flat's window open (the `window_open` fault) or returns it to its airing schedule. */
  setWindowForced(i: number, open: boolean, nowS: number): void {
    this.windowForced[i] = open ? 1 : 0;
    if (open) this.windowAt[i] = -Infinity;
    else this.windowAt[i] = this.suspended[i] && this.stolenOpening[i] === 0 ? Infinity : nowS + this.#rng.exponential(this.options.windowIntervalH * 3600);
  }
}
