/**
 * A heat-exchange substation (换热站, DOMAIN.md §1): plate heat exchanger, primary control valve with its own PI loop,
 * circulating pump on a VFD holding a ΔP setpoint, make-up pump and tank holding the static pressure, heat meter,
 * and protection (the valve closes on over-temperature or when the circulating pump stops).
 *
 * The substation steps its controls with a short internal step (default 5 s) inside the network's step, holding the
 * secondary return temperature and the buildings' hydraulic conductance from the last network step: the exchanger
 * and actuators are fast, the buildings slow.
 */
import { counterflowHx, hxUa, sizeHx, type HxNominal } from './heat-exchanger.ts';
import { designSupplySetpoint, SUPPLY_LIMITS, type EmitterDesign, type EmitterKind } from './heating-curve.ts';
import { applySensorFaults, ModelError, type SensorFault } from './faults.ts';
import { Rng } from './prng.ts';
import { type SubstationTags, type WritableSubstationTag } from './substation-tags.ts';
import { actuate, inherentKv, installedFlow, type ValveCharacteristic } from './valve.ts';
import { MPA_PER_M, STOREY_M, W_PER_M3H_K } from './water.ts';

export interface SubstationOptions {
  valveCharacteristic: ValveCharacteristic;
  /** Valve authority at design (ΔP over the open valve / ΔP available). */
  valveAuthority: number;
  /** Full stroke time of the valve actuator (s). */
  valveStrokeS: number;
  /** PI gains of the supply temperature loop: %/K and integral time (s). */
  piGainPctPerK: number;
  piIntegralS: number;
  /** Internal control step (s). */
  controlStepS: number;
  /** Circulating pump ΔP at design flow (MPa); the default ΔP setpoint. */
  pumpDpDesignMpa: number;
  /** Primary design supply/return used to size the exchanger and valve (°C). */
  primaryDesignSupplyC: number;
  primaryDesignReturnC: number;
}

export const DEFAULT_SUBSTATION_OPTIONS: SubstationOptions = {
  valveCharacteristic: 'equal_percentage',
  valveAuthority: 0.5,
  valveStrokeS: 180,
  piGainPctPerK: 1.2,
  piIntegralS: 100,
  controlStepS: 5,
  pumpDpDesignMpa: 0.15,
  primaryDesignSupplyC: 120,
  primaryDesignReturnC: 60,
};

export interface SubstationDesignInput {
  id: string;
  emitter: EmitterKind;
  design: EmitterDesign;
  /** Sum of the emitters' nominal output (W). */
  emitterNomW: number;
  /** Sum of the apartments' design flows (m³/h). */
  designFlowM3h: number;
  tallestFloors: number;
  /** Relative distance from the heat source 0–1: transport delay, loss and network pressure drop. */
  distance: number;
  /** ΔP available at design flow at this distance (MPa). */
  dpAvailDesignMpa: number;
}

export interface ControlInputs {
  nowMs: number;
  outdoorC: number;
  /** Primary supply arriving at the substation. */
  primarySupplyC: number;
  dpAvailMpa: number;
  primarySupplyPressureMpa: number;
  primaryReturnPressureMpa: number;
  /** Σ over buildings of branch·conductance (m³/h at the design ΔP). */
  conductanceM3h: number;
  /** Mixed secondary return arriving at the substation. */
  secondaryReturnC: number;
}

/** Temperature of the plant room, toward which stagnant water and idle sensors settle. */
const ROOM_C = 22;
/** Exchanger and sensor-well lag of the secondary supply (s). */
const HX_TAU_S = 45;
/** Outdoor averaging before the heating curve (s): the curve should not chase every gust. */
const CURVE_OUTDOOR_TAU_S = 3600;
/** Pump speed limits and ramps. */
const PUMP_MIN_HZ = 20;
const PUMP_MAX_HZ = 50;
const PUMP_RAMP_HZ_S = 2;
const PUMP_COAST_HZ_S = 10;
/** Normal make-up (small leaks, venting) as a share of the design circulating flow (DOMAIN.md: make-up replaces leaks). */
const NORMAL_LEAK_SHARE = 0.003;
/** Make-up pump capacity and tank refill as shares of the design circulating flow. */
const MAKEUP_MAX_SHARE = 0.04;
const REFILL_SHARE = 0.02;
/** Make-up pump's proportional band: full capacity 0.05 MPa below the pressure setpoint. */
const MAKEUP_BAND_MPA = 0.05;
/** Pressure response time of the pressurized system to a water imbalance (s). */
const PRESSURE_TAU_S = 120;
/** Below this return pressure the circulating pump stops (dry-running and cavitation protection). */
const LOW_PRESSURE_TRIP_MPA = 0.05;
const TANK_HEIGHT_M = 2;
const TANK_REFILL_ON_M = 1.0;
const TANK_REFILL_OFF_M = 1.7;
const AUX_KW = 1.2;
const SUPPLY_V = 380;
const POWER_FACTOR = 0.86;

/** Indexes into the per-step noise array. */
const N = {
  outdoor: 0,
  t1s: 1,
  t1r: 2,
  t2s: 3,
  t2r: 4,
  p1s: 5,
  p1r: 6,
  p2s: 7,
  p2r: 8,
  g1: 9,
  q: 10,
  g2: 11,
  mu: 12,
  pos: 13,
  hz: 14,
  amps: 15,
  level: 16,
} as const;
const NOISE_COUNT = 17;

export class Substation {
  readonly id: string;
  readonly emitter: EmitterKind;
  readonly design: EmitterDesign;
  readonly options: SubstationOptions;
  readonly limits: { minC: number; maxC: number; tripC: number };
  readonly distance: number;
  /** Buildings served (indexes into the building stock). */
  readonly buildings: number[] = [];

  // Sizing
  readonly designHeatW: number;
  readonly g2DesignM3h: number;
  readonly g1DesignM3h: number;
  readonly g1MaxM3h: number;
  readonly hx: HxNominal;
  readonly dpAvailDesignMpa: number;
  readonly pumpShutoffMpa: number;
  readonly pumpLossMpaPerM3h2: number;
  readonly pumpRatedKw: number;
  readonly pumpRatedA: number;
  readonly staticSetpointMpa: number;
  readonly tankAreaM2: number;
  readonly makeupMaxM3h: number;
  readonly refillM3h: number;
  readonly normalLeakM3h: number;
  readonly outdoorBiasK: number;

  // Writable setpoints
  setpointFixedC = NaN;
  pumpDpSetpointMpa: number;
  valveMode: 0 | 1 = 0;
  valveManualPct = 50;

  // Control and hydraulic state
  setpointC: number;
  outdoorFiltC: number;
  /** What the outdoor sensor would read healthy (weather plus this sensor's bias); faults apply on top. */
  outdoorSensorC: number;
  valveCmdPct = 40;
  valvePosPct = 40;
  #prevErr = 0;
  pumpHz = 40;
  pumpRunning = true;
  pumpDpMpa: number;
  pumpKw = 0;
  pumpA = 0;
  secondaryFlowM3h = 0;
  primaryFlowM3h = 0;
  heatW = 0;
  /** Secondary heat leaving the exchanger, G2·c·(T2s − T2r), for the balance. */
  secondaryHeatW = 0;
  primarySupplyC: number;
  primaryReturnC: number;
  secondarySupplyC: number;
  secondaryReturnC: number;
  p1sMpa = 0;
  p1rMpa = 0;
  staticMpa: number;
  makeupFlowM3h = 0;
  makeupRunning = false;
  makeupHz = 0;
  makeupKw = 0;
  tankLevelM = 1.5;
  #refilling = false;

  // Counters (heat meter and others)
  heatEnergyGj: number;
  primaryVolumeM3: number;
  makeupVolumeM3: number;
  powerUseKwh: number;
  /** Energy exchanged, unaffected by meter faults (J), for balance checks. */
  trueHeatJ = 0;
  secondaryHeatJ = 0;

  // Fault state (derived from the network's active faults)
  leakExtraM3h = 0;
  pumpTripped = false;
  stuckValvePct = NaN;
  meterFault = false;
  localMode = false;
  sensorFaults: SensorFault[] = [];

  readonly #noise = new Float64Array(NOISE_COUNT);
  readonly #rng: Rng;

  constructor(input: SubstationDesignInput, seed: number, outdoorC: number, options: Partial<SubstationOptions> = {}) {
    this.id = input.id;
    this.emitter = input.emitter;
    this.design = input.design;
    this.options = { ...DEFAULT_SUBSTATION_OPTIONS, ...options };
    const o = this.options;
    this.limits = SUPPLY_LIMITS[input.emitter];
    this.distance = input.distance;
    this.#rng = new Rng(seed);
    const d = input.design;

    // Exchanger and primary valve sized for the emitters' nominal duty with primary design temperatures.
    this.designHeatW = input.emitterNomW;
    this.g2DesignM3h = Math.max(0.1, input.designFlowM3h);
    this.g1DesignM3h = this.designHeatW / (W_PER_M3H_K * (o.primaryDesignSupplyC - o.primaryDesignReturnC));
    this.g1MaxM3h = 1.5 * this.g1DesignM3h;
    this.hx = sizeHx(this.designHeatW, o.primaryDesignSupplyC, o.primaryDesignReturnC, d.returnC, d.supplyC, this.g1DesignM3h, this.g2DesignM3h);
    this.dpAvailDesignMpa = input.dpAvailDesignMpa;

    // Pump: H = H0·(f/50)² − k·G²; at design flow and ΔP it runs near 42 Hz with 15 % of its head lost inside.
    const dpDes = o.pumpDpDesignMpa;
    this.pumpLossMpaPerM3h2 = (0.15 * dpDes) / (this.g2DesignM3h * this.g2DesignM3h);
    this.pumpShutoffMpa = (1.15 * dpDes) / Math.pow(42 / 50, 2);
    this.pumpDpSetpointMpa = dpDes;
    this.pumpDpMpa = dpDes;
    this.pumpRatedKw = (1.3 * (dpDes * this.g2DesignM3h)) / 3.6 / 0.62;
    this.pumpRatedA = (this.pumpRatedKw * 1000) / (Math.sqrt(3) * SUPPLY_V * POWER_FACTOR);

    // Static pressure: the tallest building's water column plus a margin against boiling and air at the top.
    this.staticSetpointMpa = MPA_PER_M * (input.tallestFloors * STOREY_M + 3) + 0.03;
    this.staticMpa = this.staticSetpointMpa - 0.004;
    this.makeupMaxM3h = MAKEUP_MAX_SHARE * this.g2DesignM3h;
    this.refillM3h = REFILL_SHARE * this.g2DesignM3h;
    this.normalLeakM3h = NORMAL_LEAK_SHARE * this.g2DesignM3h;
    this.tankAreaM2 = Math.max(1.5, 0.04 * this.g2DesignM3h);
    this.tankLevelM = this.#rng.range(1.2, 1.7);

    this.outdoorBiasK = this.#rng.gauss(0, 0.3);
    this.outdoorFiltC = outdoorC;
    this.outdoorSensorC = outdoorC;
    this.setpointC = designSupplySetpoint(outdoorC, d, this.limits);
    this.secondarySupplyC = this.setpointC;
    this.secondaryReturnC = this.setpointC - 15;
    this.primarySupplyC = o.primaryDesignSupplyC;
    this.primaryReturnC = this.secondaryReturnC + 5;

    // Meters start from plausible readings, not zero.
    this.heatEnergyGj = Math.round(this.#rng.range(2_000, 40_000));
    this.primaryVolumeM3 = Math.round(this.#rng.range(20_000, 400_000));
    this.makeupVolumeM3 = Math.round(this.#rng.range(200, 5_000));
    this.powerUseKwh = Math.round(this.#rng.range(50_000, 900_000));
  }

  /** The measured value a local controller reads: the true value through any sensor fault on that tag. */
  #measured(tag: keyof SubstationTags, trueValue: number, nowMs: number): number {
    if (this.sensorFaults.length === 0) return trueValue;
    return applySensorFaults(this.sensorFaults, tag, trueValue, nowMs);
  }

  get following(): boolean {
    return Number.isNaN(this.setpointFixedC);
  }

  /** Relative secondary flow scale √(ΔP/ΔP_design) the buildings see (0 when the pump is stopped). */
  get flowScale(): number {
    return this.pumpDpMpa > 0 ? Math.sqrt(this.pumpDpMpa / this.options.pumpDpDesignMpa) : 0;
  }

  /** Primary conductance at the current valve position: G1 = a·√ΔP (m³/h per √MPa). */
  get primaryConductance(): number {
    const o = this.options;
    return (this.g1MaxM3h * installedFlow(inherentKv(this.valvePosPct / 100, o.valveCharacteristic), o.valveAuthority)) / Math.sqrt(this.dpAvailDesignMpa);
  }

  /** Steps pumps, valve, PI loop and exchanger over dt with fixed building-side inputs. */
  stepControl(dtS: number, inp: ControlInputs): void {
    const o = this.options;
    const n = Math.max(1, Math.ceil(dtS / o.controlStepS - 1e-9));
    const h = dtS / n;
    this.p1sMpa = inp.primarySupplyPressureMpa;
    this.p1rMpa = inp.primaryReturnPressureMpa;
    this.primarySupplyC = inp.primarySupplyC;
    this.secondaryReturnC = inp.secondaryReturnC;

    // Outdoor sensor → curve (the controller reads its own sensor, faults included).
    this.outdoorSensorC = inp.outdoorC + this.outdoorBiasK;
    const outdoorMeas = this.#measured('outdoor_temp_c', this.outdoorSensorC, inp.nowMs);
    if (Number.isFinite(outdoorMeas)) {
      this.outdoorFiltC += (outdoorMeas - this.outdoorFiltC) * (1 - Math.exp(-dtS / CURVE_OUTDOOR_TAU_S));
    }
    this.setpointC = this.following ? designSupplySetpoint(this.outdoorFiltC, this.design, this.limits) : this.setpointFixedC;

    const cond = inp.conductanceM3h;
    const dpDes = o.pumpDpDesignMpa;
    // System resistance S from the buildings' conductance: ΔP = S·G², S = ΔP_design / conductance².
    const sys = cond > 1e-9 ? dpDes / (cond * cond) : Infinity;
    let q = 0;
    let q2 = 0;
    for (let k = 0; k < n; k++) {
      // Circulating pump (VFD): speed for the ΔP setpoint, rate-limited; stops on trip or low suction pressure.
      const running = !this.pumpTripped && this.staticMpa > LOW_PRESSURE_TRIP_MPA;
      this.pumpRunning = running;
      if (running) {
        const gAtSp = cond * Math.sqrt(this.pumpDpSetpointMpa / dpDes);
        const want = PUMP_MAX_HZ * Math.sqrt((this.pumpDpSetpointMpa + this.pumpLossMpaPerM3h2 * gAtSp * gAtSp) / this.pumpShutoffMpa);
        const target = Math.min(PUMP_MAX_HZ, Math.max(PUMP_MIN_HZ, want));
        this.pumpHz = actuate(this.pumpHz, target, PUMP_RAMP_HZ_S, h);
      } else {
        this.pumpHz = Math.max(0, this.pumpHz - PUMP_COAST_HZ_S * h);
      }
      const r = this.pumpHz / PUMP_MAX_HZ;
      let g2 = 0;
      if (Number.isFinite(sys) && r > 0) g2 = r * Math.sqrt(this.pumpShutoffMpa / (this.pumpLossMpaPerM3h2 + sys));
      this.pumpDpMpa = Number.isFinite(sys) ? sys * g2 * g2 : this.pumpShutoffMpa * r * r;
      this.secondaryFlowM3h = g2;

      // Protection (DOMAIN.md §1): the primary valve closes when circulation stops or on over-temperature.
      const measT2s = this.#measured('secondary_supply_temp_c', this.secondarySupplyC, inp.nowMs);
      const protect = !running || g2 < 0.02 * this.g2DesignM3h || this.secondarySupplyC > this.limits.tripC;
      if (protect) {
        this.valveCmdPct = 0;
        this.#prevErr = 0;
      } else if (this.valveMode === 1) {
        this.valveCmdPct = this.valveManualPct;
        this.#prevErr = this.setpointC - measT2s;
      } else if (Number.isFinite(measT2s)) {
        // PI in velocity form: no wind-up at the limits, bumpless from manual. A dead sensor (NaN) skips this
        // branch, so the controller holds its last output, as a PLC does on a sensor fault.
        const e = this.setpointC - measT2s;
        const du = o.piGainPctPerK * (e - this.#prevErr + (h / o.piIntegralS) * e);
        this.valveCmdPct = Math.min(100, Math.max(0, this.valveCmdPct + du));
        this.#prevErr = e;
      }
      if (Number.isNaN(this.stuckValvePct)) this.valvePosPct = actuate(this.valvePosPct, this.valveCmdPct, 100 / o.valveStrokeS, h);

      const g1 = this.g1MaxM3h * installedFlow(inherentKv(this.valvePosPct / 100, o.valveCharacteristic), o.valveAuthority) * Math.sqrt(Math.max(0, inp.dpAvailMpa) / this.dpAvailDesignMpa);
      this.primaryFlowM3h = g1;
      const res = counterflowHx(inp.primarySupplyC, g1, inp.secondaryReturnC, g2, hxUa(this.hx, g1, g2));
      const lag = 1 - Math.exp(-h / HX_TAU_S);
      const idle = 1 - Math.exp(-h / 1800);
      if (g2 > 1e-6) this.secondarySupplyC += (res.t2OutC - this.secondarySupplyC) * lag;
      else this.secondarySupplyC += (ROOM_C + 0.3 * (inp.primarySupplyC - ROOM_C) * (this.valvePosPct / 100) - this.secondarySupplyC) * idle;
      if (g1 > 1e-6) this.primaryReturnC += (res.t1OutC - this.primaryReturnC) * lag;
      else this.primaryReturnC += (ROOM_C - this.primaryReturnC) * idle;
      this.heatW = res.qW;
      q += res.qW * h;
      const sec = g2 * W_PER_M3H_K * (this.secondarySupplyC - inp.secondaryReturnC);
      this.secondaryHeatW = sec;
      q2 += sec * h;
      this.primaryVolumeM3 += (g1 * h) / 3600;
    }
    this.trueHeatJ += q;
    this.secondaryHeatJ += q2;
    if (!this.meterFault) this.heatEnergyGj += q / 1e9;
  }

  /** Make-up, pressure, tank, electricity and tag noise; after the buildings stepped. */
  finishStep(dtS: number): void {
    // Pump electricity: hydraulic power ΔP·G over pump and motor efficiency, plus standing losses.
    if (this.pumpRunning && this.pumpHz > 0) {
      const hydKw = (this.pumpDpMpa * this.secondaryFlowM3h) / 3.6;
      const speed = this.pumpHz / PUMP_MAX_HZ;
      const eff = 0.62 * (1 - 0.35 * (1 - speed) * (1 - speed));
      this.pumpKw = hydKw / eff + 0.04 * this.pumpRatedKw * speed;
      this.pumpA = (this.pumpKw * 1000) / (Math.sqrt(3) * SUPPLY_V * POWER_FACTOR) + 0.2 * this.pumpRatedA * speed;
    } else {
      this.pumpKw = 0;
      this.pumpA = 0;
    }

    // Make-up pump holds the return (static) pressure proportionally; leaks scale with √pressure. Sub-stepped at
    // ≤ 10 s: the pressure responds within PRESSURE_TAU_S and an explicit step longer than that would oscillate.
    const compliance = (this.makeupMaxM3h / MAKEUP_BAND_MPA) * (PRESSURE_TAU_S / 3600);
    const m = Math.max(1, Math.ceil(dtS / 10 - 1e-9));
    const h = dtS / m;
    let muSum = 0;
    let runningAny = false;
    for (let k = 0; k < m; k++) {
      const pRel = Math.sqrt(Math.max(0, this.staticMpa) / this.staticSetpointMpa);
      const leak = (this.normalLeakM3h + this.leakExtraM3h) * pRel;
      const demand = (this.makeupMaxM3h * (this.staticSetpointMpa - this.staticMpa)) / MAKEUP_BAND_MPA;
      const canRun = this.tankLevelM > 0.1;
      const want = canRun ? Math.min(this.makeupMaxM3h, Math.max(0, demand)) : 0;
      const running = want > 0.02 * this.makeupMaxM3h;
      const mu = running ? want : 0;
      runningAny ||= running;
      muSum += mu;
      // Relief valve caps the pressure; it cannot fall below atmospheric.
      this.staticMpa = Math.min(this.staticSetpointMpa + 0.1, Math.max(0, this.staticMpa + ((mu - leak) * h) / 3600 / compliance));
      // Tank: float-switch refill with hysteresis; make-up draws from it.
      if (this.tankLevelM < TANK_REFILL_ON_M) this.#refilling = true;
      else if (this.tankLevelM >= TANK_REFILL_OFF_M) this.#refilling = false;
      const refill = this.#refilling ? this.refillM3h : 0;
      this.tankLevelM = Math.min(TANK_HEIGHT_M, Math.max(0, this.tankLevelM + ((refill - mu) * h) / 3600 / this.tankAreaM2));
    }
    this.makeupFlowM3h = muSum / m;
    this.makeupRunning = runningAny;
    this.makeupHz = this.makeupRunning ? 25 + (25 * this.makeupFlowM3h) / this.makeupMaxM3h : 0;
    this.makeupKw = this.makeupRunning ? ((this.staticSetpointMpa + 0.05) * this.makeupFlowM3h) / 3.6 / 0.45 + 0.2 : 0;
    this.makeupVolumeM3 += (this.makeupFlowM3h * dtS) / 3600;

    this.powerUseKwh += ((this.pumpKw + this.makeupKw + AUX_KW) * dtS) / 3600;

    for (let i = 0; i < NOISE_COUNT; i++) this.#noise[i] = this.#rng.normal();
  }

  /** Draws uniforms from the substation's own stream (spike faults). */
  uniform(): number {
    return this.#rng.next();
  }

  /** The current tag values as a plain object: measurement noise and sensor faults applied. */
  tags(nowMs: number): SubstationTags {
    const z = this.#noise;
    const rel = (v: number, sd: number, i: number): number => v * (1 + sd * z[i]!);
    const meterQ = this.meterFault ? 0 : this.heatW / 1000;
    const tags: SubstationTags = {
      outdoor_temp_c: this.outdoorSensorC + 0.05 * z[N.outdoor]!,
      primary_supply_temp_c: this.primarySupplyC + 0.05 * z[N.t1s]!,
      primary_return_temp_c: this.primaryReturnC + 0.05 * z[N.t1r]!,
      secondary_supply_temp_c: this.secondarySupplyC + 0.05 * z[N.t2s]!,
      secondary_return_temp_c: this.secondaryReturnC + 0.05 * z[N.t2r]!,
      primary_supply_pressure_mpa: this.p1sMpa + 0.002 * z[N.p1s]!,
      primary_return_pressure_mpa: this.p1rMpa + 0.002 * z[N.p1r]!,
      secondary_supply_pressure_mpa: Math.max(0, this.staticMpa + this.pumpDpMpa + 0.002 * z[N.p2s]!),
      secondary_return_pressure_mpa: Math.max(0, this.staticMpa + 0.002 * z[N.p2r]!),
      primary_flow_m3h: rel(this.primaryFlowM3h, 0.005, N.g1),
      primary_volume_m3: this.primaryVolumeM3,
      heat_power_kw: rel(meterQ, 0.005, N.q),
      heat_energy_gj: this.heatEnergyGj,
      secondary_flow_m3h: rel(this.secondaryFlowM3h, 0.005, N.g2),
      makeup_flow_m3h: rel(this.makeupFlowM3h, 0.01, N.mu),
      makeup_volume_m3: this.makeupVolumeM3,
      valve_cmd_pct: this.valveCmdPct,
      valve_pos_pct: Math.min(100, Math.max(0, this.valvePosPct + 0.1 * z[N.pos]!)),
      circ_pump_freq_hz: this.pumpHz > 0 ? this.pumpHz + 0.02 * z[N.hz]! : 0,
      circ_pump_current_a: rel(this.pumpA, 0.01, N.amps),
      circ_pump_running: this.pumpRunning,
      makeup_pump_freq_hz: this.makeupHz,
      makeup_pump_running: this.makeupRunning,
      tank_level_m: Math.max(0, this.tankLevelM + 0.003 * z[N.level]!),
      power_use_kwh: this.powerUseKwh,
      remote: !this.localMode,
      auto: this.valveMode === 0,
      vfd_fault: this.pumpTripped,
      supply_temp_setpoint_c: this.setpointC,
      pump_dp_setpoint_mpa: this.pumpDpSetpointMpa,
      valve_mode: this.valveMode,
      valve_manual_pct: this.valveManualPct,
      setpoint_from_curve: this.following,
    };
    if (this.sensorFaults.length > 0) {
      const rec = tags as unknown as Record<string, number | boolean>;
      for (const f of this.sensorFaults) {
        const v = rec[f.tag];
        if (typeof v === 'number') rec[f.tag] = applySensorFaults([f], f.tag, v, nowMs);
      }
    }
    return tags;
  }

  /** Range of a writable tag for this substation. */
  writeRange(tag: WritableSubstationTag): { min: number; max: number; integer: boolean } {
    switch (tag) {
      case 'supply_temp_setpoint_c':
        return { min: 20, max: this.limits.maxC + 5, integer: false };
      case 'pump_dp_setpoint_mpa':
        return { min: 0.02, max: 0.4, integer: false };
      case 'valve_mode':
        return { min: 0, max: 1, integer: true };
      case 'valve_manual_pct':
        return { min: 0, max: 100, integer: false };
      case 'setpoint_from_curve':
        return { min: 0, max: 1, integer: true };
    }
  }

  /**
   * Writes a setpoint (what a Modbus FC6/FC16, an OPC UA Write or an MQTT command does). Throws ModelError with
   * NOT_WRITABLE, OUT_OF_RANGE or LOCAL_MODE; nothing changes when it throws.
   */
  write(tag: string, value: number | boolean): void {
    const writable: readonly string[] = ['supply_temp_setpoint_c', 'pump_dp_setpoint_mpa', 'valve_mode', 'valve_manual_pct', 'setpoint_from_curve'];
    if (!writable.includes(tag)) throw new ModelError('NOT_WRITABLE', `${this.id}: ${tag} is not writable`);
    if (this.localMode) throw new ModelError('LOCAL_MODE', `${this.id}: panel is in local mode; remote writes are refused`);
    const w = tag as WritableSubstationTag;
    const v = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    const r = this.writeRange(w);
    if (!Number.isFinite(v) || v < r.min || v > r.max || (r.integer && !Number.isInteger(v))) {
      throw new ModelError('OUT_OF_RANGE', `${this.id}: ${tag} = ${String(value)} is outside ${r.min}..${r.max}${r.integer ? ' (integer)' : ''}`);
    }
    switch (w) {
      case 'supply_temp_setpoint_c':
        this.setpointFixedC = v;
        this.setpointC = v;
        break;
      case 'pump_dp_setpoint_mpa':
        this.pumpDpSetpointMpa = v;
        break;
      case 'valve_mode':
        if (v === 1 && this.valveMode === 0) this.valveManualPct = Math.round(this.valveCmdPct * 10) / 10;
        this.valveMode = v === 1 ? 1 : 0;
        break;
      case 'valve_manual_pct':
        this.valveManualPct = v;
        break;
      case 'setpoint_from_curve':
        if (v === 1) this.setpointFixedC = NaN;
        else this.setpointFixedC = this.setpointC;
        break;
    }
  }
}
