/**
 * The design heating curve of quality regulation (质调节, DOMAIN.md §2.1): constant flow, supply temperature follows
 * the outdoor temperature. The simulators keep their own copy of this law on purpose: they share no code with the
 * hub's control module, so a bug in one cannot silently cancel a bug in the other.
 *
 * It is the default supply setpoint schedule of every simulated substation's local controller (a plant running a
 * fixed weather curve), and, with primary design temperatures, the heat source's own curve.
 */

export interface EmitterDesign {
  /** t_n, indoor design temperature. */
  indoorC: number;
  /** t_w′, outdoor design temperature. */
  outdoorC: number;
  /** t_g′, design supply of the emitter circuit. */
  supplyC: number;
  /** t_h′, design return of the emitter circuit. */
  returnC: number;
  /** m = 1 + b, emitter exponent (radiators ≈ 1.3). */
  exponent: number;
}

export type EmitterKind = 'radiator' | 'floor';

/** Radiators 75/50 (GB 50736-2012 §5.3.1: supply ≤ 85 °C, ΔT ≥ 20 K); m = 1.3. */
export const RADIATOR_DESIGN = { indoorC: 18, supplyC: 75, returnC: 50, exponent: 1.3 } as const;
/** Floor heating 45/35 (JGJ 142: supply ≤ 60 °C, 35–50 °C recommended, ΔT ≤ 10 K); a slab emits nearly linearly. */
export const FLOOR_DESIGN = { indoorC: 18, supplyC: 45, returnC: 35, exponent: 1.1 } as const;

/** Supply setpoint limits the local controller applies to the curve, and the over-temperature trip (DOMAIN.md §1). */
export const SUPPLY_LIMITS: Record<EmitterKind, { minC: number; maxC: number; tripC: number }> = {
  radiator: { minC: 30, maxC: 85, tripC: 92 },
  floor: { minC: 25, maxC: 55, tripC: 62 },
};

/** Fills an emitter design from the emitter kind, the optional per-substation overrides and the climate. */
export function emitterDesign(kind: EmitterKind, outdoorDesignC: number, overrides: Partial<EmitterDesign> = {}): EmitterDesign {
  const base = kind === 'floor' ? FLOOR_DESIGN : RADIATOR_DESIGN;
  return {
    indoorC: overrides.indoorC ?? base.indoorC,
    outdoorC: overrides.outdoorC ?? outdoorDesignC,
    supplyC: overrides.supplyC ?? base.supplyC,
    returnC: overrides.returnC ?? base.returnC,
    exponent: overrides.exponent ?? base.exponent,
  };
}

export interface CurvePoint {
  /** Q̄, relative heat load, clamped to [0, 1.2]. */
  rel_load: number;
  /** t_g, supply temperature. */
  supply_c: number;
  /** t_h, expected return temperature. */
  return_c: number;
}

/**
 * DOMAIN.md §2.1:
 *   Q̄ = (t_n − t_w)/(t_n − t_w′), Δt_s′ = (t_g′ + t_h′)/2 − t_n, Δt_j′ = t_g′ − t_h′,
 *   t_g = t_n + Δt_s′·Q̄^(1/m) + 0.5·Δt_j′·Q̄/Ḡ,  t_h = t_n + Δt_s′·Q̄^(1/m) − 0.5·Δt_j′·Q̄/Ḡ.
 */
export function qualityRegulation(outdoorC: number, d: EmitterDesign, relFlow = 1): CurvePoint {
  const span = d.indoorC - d.outdoorC;
  const q = Math.min(1.2, Math.max(0, span > 0 ? (d.indoorC - outdoorC) / span : 0));
  const meanExcess = (d.supplyC + d.returnC) / 2 - d.indoorC;
  const drop = d.supplyC - d.returnC;
  const g = relFlow > 0 ? relFlow : 1;
  const mid = d.indoorC + meanExcess * Math.pow(q, 1 / d.exponent);
  const half = (0.5 * drop * q) / g;
  return { rel_load: q, supply_c: mid + half, return_c: mid - half };
}

/** The design curve as a supply setpoint: the law, clamped to the controller's limits. */
export function designSupplySetpoint(outdoorC: number, d: EmitterDesign, limits: { minC: number; maxC: number }): number {
  const t = qualityRegulation(outdoorC, d).supply_c;
  return Math.min(limits.maxC, Math.max(limits.minC, t));
}
