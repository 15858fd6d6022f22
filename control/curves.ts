/**
 * Heating curves: pure functions from outdoor temperature to a secondary supply setpoint (DOMAIN.md §2).
 *
 * Three ways to state a curve, all ending in the same parallel shift and min/max clamp, so an engineer can use the one
 * they know and see them on one chart:
 *   - `law`: quality regulation (质调节) from design temperatures, DOMAIN.md §2.1, optionally with a free-heat offset;
 *   - `points`: a vendor curve through points (Danfoss ECL: six points at −30/−15/−5/0/5/15 °C; Siemens RVL: two points
 *     at −5 and +15 °C), interpolated linearly between points;
 *   - `gradient`: a straight line around a room reference (CODESYS BuildingAutomation), DOMAIN.md §2.3.
 * Quantity and stepped-flow regulation (§2.2) give flow advice next to the temperature.
 *
 * Nothing here reads a clock, a database or a reading: the functions are table-tested against the check values of
 * DOMAIN.md §2.1.
 */

export type EmitterKind = 'radiator' | 'floor';

/** Design temperatures of an emitter circuit, DOMAIN.md §2.1 symbols. */
export interface DesignTemps {
  /** t_n, indoor design temperature. */
  indoorC: number;
  /** t_w′, outdoor design temperature. */
  outdoorC: number;
  /** t_g′, design supply. */
  supplyC: number;
  /** t_h′, design return. */
  returnC: number;
  /** m = 1 + b, emitter exponent (radiators ≈ 1.3). */
  exponent: number;
}

export interface LawCurve {
  kind: 'law';
  design: DesignTemps;
  /** Ḡ = G/G′, relative flow (1 for constant design flow). */
  relFlow: number;
  /**
   * Free heat (internal and solar gains) as a temperature offset: the load reaches zero at t_n − freeHeatK outdoors
   * instead of at t_n (Modelica Buildings `SupplyReturnTemperatureReset`, `dTOutHeaBal`). 0 is the textbook law.
   */
  freeHeatK: number;
  /** Parallel shift added to the curve (K). */
  shiftK: number;
  minC: number;
  maxC: number;
}

export interface CurvePointSpec {
  outdoorC: number;
  supplyC: number;
}

export interface PointsCurve {
  kind: 'points';
  /** At least two points; they are sorted by outdoor temperature when evaluated. */
  points: CurvePointSpec[];
  /** Beyond the outer points: hold the end value (Danfoss ECL) or continue the end segment (Siemens two-point). */
  extrapolate: 'flat' | 'linear';
  /** Desired room temperature; the points are stated for 20 °C (Danfoss ECL). */
  roomC: number;
  shiftK: number;
  minC: number;
  maxC: number;
}

export interface GradientCurve {
  kind: 'gradient';
  /** T_room_ref. */
  roomRefC: number;
  /** K of supply per K of outdoor: 1.0–1.5 radiators, 0.4–0.7 floor (CODESYS BuildingAutomation). */
  gradient: number;
  shiftK: number;
  minC: number;
  maxC: number;
}

export type CurveSpec = LawCurve | PointsCurve | GradientCurve;

export interface CurveValue {
  /** The setpoint after shift and clamp. */
  supplyC: number;
  /** Before the clamp (shift included). */
  unclampedC: number;
  /** Expected return temperature (law curves only). */
  returnC: number | null;
  /** Q̄, relative heat load (law curves only). */
  relLoad: number | null;
  /** Which limit bound the value, if any. */
  clampedBy: 'min' | 'max' | null;
}

/** Radiators 75/50 °C, m = 1.3 (GB 50736-2012 §5.3.1: supply ≤ 85 °C, ΔT ≥ 20 K). */
export const RADIATOR_DESIGN = { indoorC: 18, supplyC: 75, returnC: 50, exponent: 1.3 } as const;
/** Floor heating 45/35 °C (JGJ 142: supply ≤ 60 °C, 35–50 °C recommended, ΔT ≤ 10 K); a slab emits nearly linearly. */
export const FLOOR_DESIGN = { indoorC: 18, supplyC: 45, returnC: 35, exponent: 1.1 } as const;

/** Setpoint limits by emitter (DOMAIN.md §1 plausibility: T2s ≤ 85 °C radiators, ≤ 60 °C floor; 55 keeps a margin). */
export const SUPPLY_LIMITS: Readonly<Record<EmitterKind, { minC: number; maxC: number }>> = {
  radiator: { minC: 30, maxC: 85 },
  floor: { minC: 25, maxC: 55 },
};

/** The six outdoor temperatures of a Danfoss ECL curve. */
export const DANFOSS_OUTDOOR_C = [-30, -15, -5, 0, 5, 15] as const;
/** Danfoss ECL examples (flow at the six points): floor heating and factory setting (DOMAIN.md §2.3). */
export const DANFOSS_FLOOR_EXAMPLE = [45, 40, 35, 32, 30, 25] as const;
export const DANFOSS_FACTORY_EXAMPLE = [75, 60, 50, 45, 40, 28] as const;
/**
 * Danfoss ECL: a curve set by its slope turns around 24.6 °C flow at 20 °C outdoor for a 20 °C room (ECL Comfort
 * manual, "Flow temperature"); slope 1.0 gives 74.6/59.6/49.6/44.6/39.6/29.6, close to the factory points.
 */
const DANFOSS_PIVOT = { outdoorC: 20, supplyC: 24.6 } as const;
/** Danfoss ECL: flow shift per K of desired room temperature above 20 °C is slope × 2.5. */
const DANFOSS_ROOM_FACTOR = 2.5;
/** Siemens RVL471: the two points are at these outdoor temperatures. */
export const SIEMENS_OUTDOOR_C = [-5, 15] as const;

/** Design temperatures of an emitter, with per-substation overrides (network.yaml `design`) and the climate's t_w′. */
export function designFor(emitter: EmitterKind, designOutdoorC: number, overrides: Partial<DesignTemps> = {}): DesignTemps {
  const base = emitter === 'floor' ? FLOOR_DESIGN : RADIATOR_DESIGN;
  return {
    indoorC: overrides.indoorC ?? base.indoorC,
    outdoorC: overrides.outdoorC ?? designOutdoorC,
    supplyC: overrides.supplyC ?? base.supplyC,
    returnC: overrides.returnC ?? base.returnC,
    exponent: overrides.exponent ?? base.exponent,
  };
}

/** The preset curve of an emitter kind: the §2.1 law from its design temperatures, clamped to its limits. */
export function presetCurve(emitter: EmitterKind, designOutdoorC: number, overrides: Partial<DesignTemps> = {}): LawCurve {
  const lim = SUPPLY_LIMITS[emitter];
  return { kind: 'law', design: designFor(emitter, designOutdoorC, overrides), relFlow: 1, freeHeatK: 0, shiftK: 0, minC: lim.minC, maxC: lim.maxC };
}

/**
 * Q̄ = (t_n − t_w)/(t_n − t_w′), clamped to [0, 1.2] (DOMAIN.md §2.1). With a free-heat offset Δ the zero-load point
 * moves to t_n − Δ: Q̄ = (t_n − Δ − t_w)/(t_n − Δ − t_w′), still 1 at the design outdoor temperature.
 */
export function relativeLoad(outdoorC: number, d: DesignTemps, freeHeatK = 0): number {
  const balance = d.indoorC - freeHeatK;
  const span = balance - d.outdoorC;
  if (!(span > 0)) return 0;
  return Math.min(1.2, Math.max(0, (balance - outdoorC) / span));
}

/**
 * Quality regulation, DOMAIN.md §2.1:
 *   Δt_s′ = (t_g′ + t_h′)/2 − t_n,  Δt_j′ = t_g′ − t_h′,
 *   t_g = t_n + Δt_s′·Q̄^(1/m) + 0.5·Δt_j′·Q̄/Ḡ,   t_h = t_n + Δt_s′·Q̄^(1/m) − 0.5·Δt_j′·Q̄/Ḡ.
 */
export function qualityRegulation(outdoorC: number, d: DesignTemps, relFlow = 1, freeHeatK = 0): { supplyC: number; returnC: number; relLoad: number } {
  const q = relativeLoad(outdoorC, d, freeHeatK);
  const meanExcess = (d.supplyC + d.returnC) / 2 - d.indoorC;
  const drop = d.supplyC - d.returnC;
  const g = relFlow > 0 ? relFlow : 1;
  const mid = d.indoorC + meanExcess * Math.pow(q, 1 / d.exponent);
  const half = (0.5 * drop * q) / g;
  return { supplyC: mid + half, returnC: mid - half, relLoad: q };
}

/**
 * Quantity regulation (量调节, DOMAIN.md §2.2, derived): the supply t_g is fixed and the flow varies,
 *   Ḡ = 0.5·Δt_j′·Q̄ / (t_g − t_n − Δt_s′·Q̄^(1/m)).
 * Returns null when t_g is too low to carry the load at any flow (denominator ≤ 0).
 */
export function quantityRegulation(outdoorC: number, d: DesignTemps, supplyC: number, freeHeatK = 0): { relFlow: number; relLoad: number } | null {
  const q = relativeLoad(outdoorC, d, freeHeatK);
  if (q === 0) return { relFlow: 0, relLoad: 0 };
  const meanExcess = (d.supplyC + d.returnC) / 2 - d.indoorC;
  const drop = d.supplyC - d.returnC;
  const denom = supplyC - d.indoorC - meanExcess * Math.pow(q, 1 / d.exponent);
  if (!(denom > 0)) return null;
  return { relFlow: (0.5 * drop * q) / denom, relLoad: q };
}

/** One stage of stepped-flow quality regulation: from this outdoor temperature down, run at this relative flow. */
export interface FlowStage {
  /** The stage applies while the outdoor temperature is at or below this value. */
  belowOutdoorC: number;
  relFlow: number;
}

/**
 * Stepped-flow quality regulation (分阶段变流量, DOMAIN.md §2.2): small flow early and late in the season, large flow in
 * the severe part. Stages are matched coldest first; above every stage the mildest stage's flow is kept. Returns the
 * relative flow; the supply then follows the law with that Ḡ.
 */
export function steppedFlow(outdoorC: number, stages: readonly FlowStage[]): number {
  if (stages.length === 0) return 1;
  const sorted = [...stages].sort((a, b) => a.belowOutdoorC - b.belowOutdoorC);
  for (const s of sorted) if (outdoorC <= s.belowOutdoorC) return s.relFlow;
  return sorted[sorted.length - 1]!.relFlow;
}

/**
 * Pump affinity: with a fixed system resistance ΔP ∝ Ḡ², so the ΔP setpoint for a relative flow is ΔP′·Ḡ², and the
 * pump speed (and frequency) ∝ Ḡ; electric power falls roughly with Ḡ³, which is why smaller flow saves pump energy.
 */
export function pumpDpForFlow(designDpMpa: number, relFlow: number): number {
  return designDpMpa * relFlow * relFlow;
}

/** Danfoss ECL points from a slope: T = 24.6 + slope·(20 − t_w) at the six outdoor temperatures (see DANFOSS_PIVOT). */
export function danfossPointsFromSlope(slope: number): CurvePointSpec[] {
  return DANFOSS_OUTDOOR_C.map((t) => ({ outdoorC: t, supplyC: round1(DANFOSS_PIVOT.supplyC + slope * (DANFOSS_PIVOT.outdoorC - t)) }));
}

/** The slope Danfoss ECL shows for a set of points: the average of each point's slope about the pivot. */
export function danfossSlope(points: readonly CurvePointSpec[]): number {
  const slopes = points.filter((p) => p.outdoorC < DANFOSS_PIVOT.outdoorC).map((p) => (p.supplyC - DANFOSS_PIVOT.supplyC) / (DANFOSS_PIVOT.outdoorC - p.outdoorC));
  if (slopes.length === 0) return 0;
  return slopes.reduce((a, b) => a + b, 0) / slopes.length;
}

/** A Danfoss ECL curve: six flows at −30/−15/−5/0/5/15 °C, flat beyond, corrected for the desired room temperature. */
export function danfossCurve(flows: readonly number[], opts: { roomC?: number; shiftK?: number; minC?: number; maxC?: number } = {}): PointsCurve {
  if (flows.length !== DANFOSS_OUTDOOR_C.length) throw new RangeError(`a Danfoss curve has ${DANFOSS_OUTDOOR_C.length} points`);
  return {
    kind: 'points',
    points: DANFOSS_OUTDOOR_C.map((t, i) => ({ outdoorC: t, supplyC: flows[i]! })),
    extrapolate: 'flat',
    roomC: opts.roomC ?? 20,
    shiftK: opts.shiftK ?? 0,
    minC: opts.minC ?? 10,
    maxC: opts.maxC ?? 95,
  };
}

/** A Siemens RVL471 curve: flow at −5 °C and at +15 °C, a straight line through both, plus a parallel shift. */
export function siemensCurve(flowAtMinus5C: number, flowAtPlus15C: number, opts: { shiftK?: number; minC?: number; maxC?: number } = {}): PointsCurve {
  return {
    kind: 'points',
    points: [
      { outdoorC: SIEMENS_OUTDOOR_C[0], supplyC: flowAtMinus5C },
      { outdoorC: SIEMENS_OUTDOOR_C[1], supplyC: flowAtPlus15C },
    ],
    extrapolate: 'linear',
    roomC: 20,
    shiftK: opts.shiftK ?? 0,
    minC: opts.minC ?? 10,
    maxC: opts.maxC ?? 95,
  };
}

/** Piecewise-linear interpolation through points sorted by outdoor temperature. */
function interpolate(points: readonly CurvePointSpec[], outdoorC: number, extrapolate: 'flat' | 'linear'): number {
  const p = [...points].sort((a, b) => a.outdoorC - b.outdoorC);
  const first = p[0]!;
  const last = p[p.length - 1]!;
  if (p.length === 1) return first.supplyC;
  let a: CurvePointSpec;
  let b: CurvePointSpec;
  if (outdoorC <= first.outdoorC) {
    if (extrapolate === 'flat') return first.supplyC;
    a = first;
    b = p[1]!;
  } else if (outdoorC >= last.outdoorC) {
    if (extrapolate === 'flat') return last.supplyC;
    a = p[p.length - 2]!;
    b = last;
  } else {
    let i = 1;
    while (p[i]!.outdoorC < outdoorC) i++;
    a = p[i - 1]!;
    b = p[i]!;
  }
  const span = b.outdoorC - a.outdoorC;
  if (span === 0) return b.supplyC;
  return a.supplyC + ((b.supplyC - a.supplyC) * (outdoorC - a.outdoorC)) / span;
}

/** The curve's value before shift and clamp (the "raw" curve). */
function rawCurve(spec: CurveSpec, outdoorC: number, relFlowOverride?: number): { supplyC: number; returnC: number | null; relLoad: number | null } {
  switch (spec.kind) {
    case 'law': {
      const r = qualityRegulation(outdoorC, spec.design, relFlowOverride ?? spec.relFlow, spec.freeHeatK);
      return { supplyC: r.supplyC, returnC: r.returnC, relLoad: r.relLoad };
    }
    case 'points': {
      // Danfoss ECL: the points are stated for a 20 °C room; another desired room shifts the flow by (T_room − 20)·slope·2.5.
      const room = (spec.roomC - 20) * danfossSlope(spec.points) * DANFOSS_ROOM_FACTOR;
      return { supplyC: interpolate(spec.points, outdoorC, spec.extrapolate) + room, returnC: null, relLoad: null };
    }
    case 'gradient':
      // CODESYS BuildingAutomation: T_sup = T_room_ref + shift − gradient·(T_out − 24); the shift is added below.
      return { supplyC: spec.roomRefC - spec.gradient * (outdoorC - 24), returnC: null, relLoad: null };
  }
}

/**
 * Evaluates a curve: raw value + parallel shift + `extraShiftK` (e.g. the indoor feedback), then the min/max clamp.
 * `relFlow` overrides a law curve's Ḡ (stepped-flow regulation).
 */
export function evaluateCurve(spec: CurveSpec, outdoorC: number, opts: { extraShiftK?: number; relFlow?: number } = {}): CurveValue {
  const raw = rawCurve(spec, outdoorC, opts.relFlow);
  const shift = spec.shiftK + (opts.extraShiftK ?? 0);
  const unclamped = raw.supplyC + shift;
  let supply = unclamped;
  let clampedBy: CurveValue['clampedBy'] = null;
  if (supply > spec.maxC) {
    supply = spec.maxC;
    clampedBy = 'max';
  } else if (supply < spec.minC) {
    supply = spec.minC;
    clampedBy = 'min';
  }
  return { supplyC: supply, unclampedC: unclamped, returnC: raw.returnC === null ? null : raw.returnC + shift, relLoad: raw.relLoad, clampedBy };
}

/** The curve sampled over outdoor temperatures, for a chart that shows several curve styles on one axis. */
export function sampleCurve(spec: CurveSpec, fromC = -30, toC = 20, stepK = 1): { outdoorC: number; supplyC: number; returnC: number | null }[] {
  const out: { outdoorC: number; supplyC: number; returnC: number | null }[] = [];
  for (let t = fromC; t <= toC + 1e-9; t += stepK) {
    const v = evaluateCurve(spec, t);
    out.push({ outdoorC: round1(t), supplyC: round1(v.supplyC), returnC: v.returnC === null ? null : round1(v.returnC) });
  }
  return out;
}

/** The points a vendor-style controller would need to reproduce a curve: flows at the Danfoss outdoor temperatures. */
export function asDanfossPoints(spec: CurveSpec): CurvePointSpec[] {
  return DANFOSS_OUTDOOR_C.map((t) => ({ outdoorC: t, supplyC: round1(evaluateCurve(spec, t).supplyC) }));
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
