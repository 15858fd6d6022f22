/**
 * Heat source (CHP plant or boilers) and the primary network as seen from the substations.
 *
 * Supply temperature follows the plant's own curve of outdoor temperature (DOMAIN.md §1: 110–130 °C in the coldest
 * weather, about 70 °C in mild weather): the quality-regulation law with primary design temperatures, floored at a
 * minimum, fed with a 3-hour average of the outdoor temperature and reached through the plant's thermal inertia. Each
 * substation sees it after a transport delay and a small loss that grow with its distance. Differential pressure at a
 * substation is the plant's pump head less the network drop, which grows with the square of the total primary flow.
 */
import { qualityRegulation } from './heating-curve.ts';

export interface HeatSourceParams {
  /** Primary design supply/return at the outdoor design temperature (°C). */
  designSupplyC: number;
  designReturnC: number;
  /** The plant never runs colder than this (°C), nor hotter than `maxSupplyC`. */
  minSupplyC: number;
  maxSupplyC: number;
  /** Pressures at the plant's outlet and inlet headers (MPa gauge). */
  supplyPressureMpa: number;
  returnPressureMpa: number;
  /** Network pressure drop to the farthest substation at design flow (MPa, supply and return together). */
  networkDropMpa: number;
}

export const DEFAULT_HEAT_SOURCE: HeatSourceParams = {
  designSupplyC: 120,
  designReturnC: 60,
  minSupplyC: 70,
  maxSupplyC: 130,
  supplyPressureMpa: 0.95,
  returnPressureMpa: 0.3,
  networkDropMpa: 0.45,
};

export interface SupplyDrop {
  /** K below the curve; ignored when `trip` is set. */
  dropK: number;
  /** The plant stops heating: its supply falls toward the network's return over about an hour. */
  trip: boolean;
}

const HISTORY = 512;
const HISTORY_EVERY_S = 60;
/** Outdoor averaging of the plant's curve. */
const OUTDOOR_TAU_S = 3 * 3600;
/** Thermal inertia of the plant (boilers, accumulator). */
const PLANT_TAU_S = 1800;

export class HeatSource {
  readonly id: string;
  readonly params: HeatSourceParams;
  readonly indoorC: number;
  readonly outdoorDesignC: number;
  /** Sum of the substations' design primary flows (m³/h), set when the network is built. */
  designFlowM3h = 0;

  supplyC: number;
  returnC: number;
  flowM3h = 0;
  heatW = 0;
  setpointC: number;
  #outdoorAvgC: number;
  readonly drops = new Map<string, SupplyDrop>();

  // Time-stamped supply history for the substations' transport delays.
  readonly #histT = new Float64Array(HISTORY);
  readonly #histC = new Float64Array(HISTORY);
  #histHead = 0;
  #histCount = 0;
  #lastHistS = -Infinity;

  constructor(id: string, outdoorDesignC: number, outdoorNowC: number, nowS: number, params: Partial<HeatSourceParams> = {}) {
    this.id = id;
    this.params = { ...DEFAULT_HEAT_SOURCE, ...params };
    this.indoorC = 18;
    this.outdoorDesignC = outdoorDesignC;
    this.#outdoorAvgC = outdoorNowC;
    this.setpointC = this.#curve(outdoorNowC);
    this.supplyC = this.setpointC;
    this.returnC = this.params.designReturnC;
    this.#record(nowS);
  }

  #curve(outdoorC: number): number {
    const p = this.params;
    const t = qualityRegulation(outdoorC, {
      indoorC: this.indoorC,
      outdoorC: this.outdoorDesignC,
      supplyC: p.designSupplyC,
      returnC: p.designReturnC,
      exponent: 1.3,
    }).supply_c;
    return Math.min(p.maxSupplyC, Math.max(p.minSupplyC, t));
  }

  get tripped(): boolean {
    for (const d of this.drops.values()) if (d.trip) return true;
    return false;
  }

  /** Advances the plant's supply temperature by dt. */
  step(dtS: number, nowS: number, outdoorC: number): void {
    this.#outdoorAvgC += (outdoorC - this.#outdoorAvgC) * (1 - Math.exp(-dtS / OUTDOOR_TAU_S));
    let target = this.#curve(this.#outdoorAvgC);
    let dropK = 0;
    for (const d of this.drops.values()) dropK += d.dropK;
    target -= dropK;
    this.setpointC = target;
    if (this.tripped) target = Math.min(target, Math.max(35, this.returnC - 2));
    this.supplyC += (target - this.supplyC) * (1 - Math.exp(-dtS / PLANT_TAU_S));
    this.#record(nowS);
  }

  #record(nowS: number): void {
    if (nowS - this.#lastHistS < HISTORY_EVERY_S && this.#histCount > 0) {
      this.#histC[this.#histHead] = this.supplyC;
      return;
    }
    this.#histHead = (this.#histHead + 1) % HISTORY;
    this.#histT[this.#histHead] = nowS;
    this.#histC[this.#histHead] = this.supplyC;
    if (this.#histCount < HISTORY) this.#histCount++;
    this.#lastHistS = nowS;
  }

  /** Supply temperature that left the plant at `atS` (linear between recorded samples; oldest sample before that). */
  supplyAt(atS: number): number {
    let idx = this.#histHead;
    let tHi = this.#histT[idx]!;
    let cHi = this.#histC[idx]!;
    if (atS >= tHi) return cHi;
    for (let n = 1; n < this.#histCount; n++) {
      idx = (idx - 1 + HISTORY) % HISTORY;
      const tLo = this.#histT[idx]!;
      const cLo = this.#histC[idx]!;
      if (tLo <= atS) return cLo + ((cHi - cLo) * (atS - tLo)) / (tHi - tLo);
      tHi = tLo;
      cHi = cLo;
    }
    return cHi;
  }

  /** Network drop at the current total flow for a substation at relative distance d (0–1). */
  dropFor(distance: number): number {
    const r = this.designFlowM3h > 0 ? this.flowM3h / this.designFlowM3h : 1;
    return this.params.networkDropMpa * distance * r * r;
  }

  /** Supply and return pressure at a substation at relative distance d. */
  pressuresFor(distance: number): { supplyMpa: number; returnMpa: number } {
    const half = this.dropFor(distance) / 2;
    return { supplyMpa: this.params.supplyPressureMpa - half, returnMpa: this.params.returnPressureMpa + half };
  }

  /**
   * Solves the primary hydraulics for this step: each substation draws G_i = a_i·√ΔP_i with a_i its valve's
   * conductance (m³/h per √MPa), and ΔP_i = ΔP_plant − drop·d_i·(ΣG/G_design)². The total flow F is the root of
   * Σ a_i·√ΔP_i(F) − F, which is monotone, so a bracketed Newton iteration finds it. Solving it (rather than lagging the total by a
   * step) keeps far substations from oscillating between starving and flooding.
   */
  solveFlow(conductances: readonly number[], distances: readonly number[]): void {
    const p0 = this.params.supplyPressureMpa - this.params.returnPressureMpa;
    const k = this.params.networkDropMpa / (this.designFlowM3h > 0 ? this.designFlowM3h * this.designFlowM3h : 1);
    // h(F) = Σ a_i·√(p0 − k·d_i·F²) − F falls monotonically from h(0) ≥ 0: Newton from last step's flow, kept inside
    // the bracket [lo, hi] and falling back to bisection when a step leaves it. Converges in a few iterations.
    let lo = 0;
    let hi = 0;
    for (const a of conductances) hi += a * Math.sqrt(p0);
    let f = Math.min(hi, Math.max(lo, this.flowM3h));
    for (let it = 0; it < 50; it++) {
      let sum = 0;
      let slope = -1;
      for (let i = 0; i < conductances.length; i++) {
        const kd = k * distances[i]!;
        const r = p0 - kd * f * f;
        if (r <= 0) continue;
        const root = Math.sqrt(r);
        sum += conductances[i]! * root;
        slope -= (conductances[i]! * kd * f) / root;
      }
      const h = sum - f;
      if (h > 0) lo = f;
      else hi = f;
      let next = f - h / slope;
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
      const done = Math.abs(next - f) <= 1e-9 * (1 + f) || hi - lo <= 1e-9 * (1 + hi);
      f = next;
      if (done) break;
    }
    this.flowM3h = f;
  }

  /** Records the network's mixed return and heat after the substations stepped. */
  collect(flowM3h: number, returnC: number, heatW: number): void {
    if (flowM3h > 1e-6) this.returnC = returnC;
    this.heatW = heatW;
  }

  tags(): HeatSourceTags {
    const p = this.params;
    return {
      supply_temp_c: this.supplyC,
      return_temp_c: this.returnC,
      supply_temp_setpoint_c: this.setpointC,
      supply_pressure_mpa: p.supplyPressureMpa,
      return_pressure_mpa: p.returnPressureMpa,
      flow_m3h: this.flowM3h,
      heat_power_kw: this.heatW / 1000,
      running: !this.tripped,
    };
  }
}

export interface HeatSourceTags {
  supply_temp_c: number;
  return_temp_c: number;
  supply_temp_setpoint_c: number;
  supply_pressure_mpa: number;
  return_pressure_mpa: number;
  flow_m3h: number;
  heat_power_kw: number;
  running: boolean;
}
