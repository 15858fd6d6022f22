/**
 * Indoor feedback (DOMAIN.md §2.4): which apartment sensors to trust, robust statistics of the apartments behind a
 * substation, and a PI correction of the heating curve as a bounded parallel shift.
 *
 * Why a low quantile and not the mean: the goal is a band, nobody below 18 °C and as few as possible above 22 °C
 * (DOMAIN.md §1). The 10th percentile of a substation's apartments tracks the cold tail; one dead or odd sensor moves
 * it little, and the checks below drop such sensors before they are counted at all.
 *
 * Why a parallel shift: a persistent offset is a shift of the curve (DOMAIN.md §2.4); the curve keeps the weather
 * response, the shift carries what the indoor temperatures say.
 */
import type { Quality } from '../ingest/reading.ts';

/** What makes a room sensor untrustworthy. */
export interface SensorChecks {
  /** A value older than this is stale (ms). */
  staleMs: number;
  /** Plausible room temperatures; outside is a dead or wrong sensor. */
  minC: number;
  maxC: number;
  /** Values a dead sensor pins at (short/open circuit, power-on values), matched within 0.005 K. */
  sentinelsC: readonly number[];
  /** A value that has not moved by more than `stuckToleranceK` for this long is stuck (zero variance) (ms). */
  stuckMs: number;
  stuckToleranceK: number;
  /** Robust z-score (median/MAD) beyond which a value is an outlier: a faulty sensor or a flat that needs a repair. */
  outlierZ: number;
}

export const DEFAULT_SENSOR_CHECKS: SensorChecks = {
  staleMs: 60 * 60_000,
  minC: 8,
  maxC: 35,
  sentinelsC: [0, 85, 185, -127, 127],
  stuckMs: 6 * 3_600_000,
  stuckToleranceK: 0.01,
  outlierZ: 4.5,
};

/** The latest state of one room sensor, as tracked from readings. */
export interface RoomSensorState {
  value: number | null;
  ts: number;
  quality: Quality;
  /** Since when the value has stayed within the stuck tolerance of `ref`. */
  changedAt: number;
  ref: number | null;
}

/**
 * Tracks room sensors from readings: latest value, time and quality, and since when the value has not moved
 * (for the stuck check). O(1) per reading; one small record per apartment.
 */
export class RoomSensorTracker {
  readonly #sensors = new Map<string, RoomSensorState>();

  constructor(private readonly stuckToleranceK = DEFAULT_SENSOR_CHECKS.stuckToleranceK) {}

  /** A sample of `room_temp_c` (null when the reading had none but carried a quality, e.g. a device gone bad). */
  observe(id: string, value: number | null, ts: number, quality: Quality): void {
    const s = this.#sensors.get(id);
    if (!s) {
      this.#sensors.set(id, { value, ts, quality, changedAt: ts, ref: value });
      return;
    }
    if (ts < s.ts) return;
    s.ts = ts;
    s.quality = quality;
    if (value === null) return;
    s.value = value;
    if (s.ref === null || Math.abs(value - s.ref) > this.stuckToleranceK) {
      s.ref = value;
      s.changedAt = ts;
    }
  }

  get(id: string): RoomSensorState | undefined {
    return this.#sensors.get(id);
  }

  get size(): number {
    return this.#sensors.size;
  }
}

export type ExclusionReason = 'suspended' | 'missing' | 'bad' | 'stale' | 'range' | 'sentinel' | 'stuck' | 'outlier';
export const EXCLUSION_REASONS: readonly ExclusionReason[] = ['suspended', 'missing', 'bad', 'stale', 'range', 'sentinel', 'stuck', 'outlier'];

/** One apartment as the statistics see it. */
export interface RoomSample {
  id: string;
  building: string;
  suspended: boolean;
  sensor: RoomSensorState | undefined;
}

export interface IndoorStats {
  /** Apartments behind the substation (all accounts). */
  total: number;
  /** Apartments whose value was used. */
  valid: number;
  excluded: Record<ExclusionReason, number>;
  meanC: number | null;
  /** The control quantile (e.g. the 10th percentile). */
  quantile: number;
  quantileC: number | null;
  minC: number | null;
  maxC: number | null;
  /** Shares of valid apartments below the low band edge (18 °C) and above the high edge (22 °C). */
  shareBelowLow: number | null;
  shareAboveHigh: number | null;
  lowC: number;
  highC: number;
  /** The building with the lowest quantile among those with enough valid sensors. */
  coldestBuilding: { id: string; quantileC: number; valid: number } | null;
  /** A few apartments left out as outliers (for a repair ticket, not for more heat). */
  outliers: { id: string; valueC: number }[];
}

export function quantileOf(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Why a sensor cannot be used now, or null if it can (before the outlier test, which needs all values). */
export function sensorProblem(s: RoomSensorState | undefined, now: number, c: SensorChecks): Exclude<ExclusionReason, 'suspended' | 'outlier'> | null {
  if (!s || s.value === null) return 'missing';
  if (s.quality === 'bad') return 'bad';
  if (now - s.ts > c.staleMs) return 'stale';
  if (c.sentinelsC.some((x) => Math.abs(s.value! - x) < 0.005)) return 'sentinel';
  if (!(s.value >= c.minC && s.value <= c.maxC)) return 'range';
  if (s.ts - s.changedAt >= c.stuckMs) return 'stuck';
  return null;
}

/** Fewest valid flats in a building for its own median and MAD to count in the outlier test. */
const MIN_BUILDING_FOR_OUTLIERS = 5;

/**
 * Median and MAD of a set of values. The MAD has a floor: rooms held within a few tenths of a kelvin must not turn
 * ordinary values into outliers.
 */
function robustCentre(values: readonly number[]): { med: number; mad: number } {
  const sorted = [...values].sort((x, y) => x - y);
  const med = quantileOf(sorted, 0.5);
  const dev = sorted.map((x) => Math.abs(x - med)).sort((x, y) => x - y);
  return { med, mad: Math.max(quantileOf(dev, 0.5), 0.2) };
}

/**
 * Robust statistics of a substation's apartments (DOMAIN.md §2.4): suspended accounts (报停) and untrustworthy sensors
 * are left out first, then values beyond `outlierZ` robust z-scores (0.6745·|x − median|/MAD, DOMAIN.md §4) when there
 * are at least 10 values — from the substation's values and, where the building has 5 or more, from its building's
 * too; the quantile, mean and band shares come from the rest.
 */
export function indoorStats(samples: readonly RoomSample[], now: number, opts: { checks?: SensorChecks; quantile?: number; lowC?: number; highC?: number; minBuildingValid?: number } = {}): IndoorStats {
  const c = opts.checks ?? DEFAULT_SENSOR_CHECKS;
  const q = opts.quantile ?? 0.1;
  const lowC = opts.lowC ?? 18;
  const highC = opts.highC ?? 22;
  const excluded = Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, 0])) as Record<ExclusionReason, number>;
  const candidates: { id: string; building: string; v: number }[] = [];
  for (const a of samples) {
    if (a.suspended) {
      excluded.suspended++;
      continue;
    }
    const p = sensorProblem(a.sensor, now, c);
    if (p) {
      excluded[p]++;
      continue;
    }
    candidates.push({ id: a.id, building: a.building, v: a.sensor!.value! });
  }

  let kept = candidates;
  const outliers: { id: string; valueC: number }[] = [];
  if (candidates.length >= 10) {
    const sub = robustCentre(candidates.map((x) => x.v));
    // Buildings legitimately differ (emitters sized with different margins, envelopes improved later), so a flat is an
    // outlier only when it is also unlike its own building (DOMAIN.md §4: compare with the neighbours). A whole
    // building running cold is what the feedback must see, not a set of repairs.
    const byBuildingValues = new Map<string, number[]>();
    for (const x of candidates) {
      let l = byBuildingValues.get(x.building);
      if (!l) byBuildingValues.set(x.building, (l = []));
      l.push(x.v);
    }
    const own = new Map<string, { med: number; mad: number }>();
    for (const [id, l] of byBuildingValues) if (l.length >= MIN_BUILDING_FOR_OUTLIERS) own.set(id, robustCentre(l));
    const z = (v: number, r: { med: number; mad: number }): number => (0.6745 * Math.abs(v - r.med)) / r.mad;
    kept = [];
    for (const x of candidates) {
      const b = own.get(x.building);
      if (z(x.v, sub) > c.outlierZ && (!b || z(x.v, b) > c.outlierZ)) {
        excluded.outlier++;
        if (outliers.length < 20) outliers.push({ id: x.id, valueC: x.v });
      } else kept.push(x);
    }
  }

  const values = kept.map((x) => x.v).sort((x, y) => x - y);
  const n = values.length;
  let coldest: IndoorStats['coldestBuilding'] = null;
  const byBuilding = new Map<string, number[]>();
  for (const x of kept) {
    let l = byBuilding.get(x.building);
    if (!l) byBuilding.set(x.building, (l = []));
    l.push(x.v);
  }
  for (const [id, l] of byBuilding) {
    if (l.length < (opts.minBuildingValid ?? 5)) continue;
    l.sort((x, y) => x - y);
    const bq = quantileOf(l, q);
    if (!coldest || bq < coldest.quantileC) coldest = { id, quantileC: bq, valid: l.length };
  }
  return {
    total: samples.length,
    valid: n,
    excluded,
    meanC: n ? values.reduce((a, b) => a + b, 0) / n : null,
    quantile: q,
    quantileC: n ? quantileOf(values, q) : null,
    minC: n ? values[0]! : null,
    maxC: n ? values[n - 1]! : null,
    shareBelowLow: n ? values.filter((v) => v < lowC).length / n : null,
    shareAboveHigh: n ? values.filter((v) => v > highC).length / n : null,
    lowC,
    highC,
    coldestBuilding: coldest,
    outliers,
  };
}

/** The indoor feedback: a PI controller whose output is a parallel shift of the curve (K of supply). */
export interface FeedbackConfig {
  /** Which statistic is controlled: the substation's quantile, or the lowest building quantile. */
  controlled: 'substation' | 'coldest_building';
  /** The quantile of apartment temperatures that is controlled (0.1: the 10th percentile). */
  quantile: number;
  /** Target of the controlled quantile (°C): a margin above 18 °C for sensor bias and the spread below it. */
  targetC: number;
  /** Proportional gain: K of supply per K of room error. */
  kp: number;
  /** Integral time (hours): the building's response is slow (tens of hours), so this is hours, not minutes. */
  integralH: number;
  /** Bounds of the shift (K). */
  shiftMinK: number;
  shiftMaxK: number;
  /** Above this share of apartments below 18 °C, push up harder: the goal is nobody below 18 °C, not a quantile. */
  coldShare: number;
  /** K of extra (positive) error per unit share above `coldShare`. */
  coldGainK: number;
  /** Above this share of apartments over 22 °C, push down harder while the cold tail has margin. */
  overheatShare: number;
  /** K of extra (negative) error per unit share above `overheatShare`. */
  overheatGainK: number;
  /** Fewer valid apartments than this (count, and share of active ones) freezes the feedback. */
  minValid: number;
  minValidShare: number;
}

export const DEFAULT_FEEDBACK: FeedbackConfig = {
  controlled: 'substation',
  quantile: 0.1,
  targetC: 19,
  kp: 2,
  integralH: 12,
  shiftMinK: -15,
  shiftMaxK: 15,
  coldShare: 0.01,
  coldGainK: 80,
  overheatShare: 0.1,
  overheatGainK: 4,
  minValid: 5,
  minValidShare: 0.3,
};

export interface FeedbackState {
  integralK: number;
  lastTs: number | null;
}

export interface FeedbackResult {
  state: FeedbackState;
  /** The shift to add to the curve (K), bounded. */
  termK: number;
  pK: number;
  iK: number;
  /** Target minus the controlled value, with the overheating push (K of room temperature); null when frozen. */
  errorK: number | null;
  /** The controlled value (°C). */
  controlledC: number | null;
  /** Why the integral did not move, if it did not. */
  frozen: 'too_few_valid' | 'saturated' | null;
  bounded: 'shift_max' | 'shift_min' | null;
}

/** Whether there are enough valid apartments to trust the statistics. */
export function enoughValid(stats: IndoorStats, cfg: FeedbackConfig): boolean {
  const active = stats.total - stats.excluded.suspended;
  return stats.valid >= cfg.minValid && stats.valid >= cfg.minValidShare * active;
}

/**
 * One step of the PI feedback.
 *
 *   e = T_target − T_q  (T_q: the controlled quantile)
 *       + coldGain·(share<18 − coldShare)                 when more than coldShare of the flats are below 18 °C,
 *       − overheatGain·(share>22 − overheatShare)         else while e < 0 (the cold tail has margin);
 *   P = kp·e;  I += kp·e·Δt/T_i;  shift = clamp(P + I, shiftMin, shiftMax).
 *
 * Anti-windup: the integral does not move in a direction that the final setpoint cannot follow (`saturation`: the
 * setpoint is at its max and e > 0, or at its min and e < 0), and it is itself kept inside the shift bounds. With too
 * few valid apartments the integral is held and the proportional part dropped: the advice then keeps the last learned
 * shift rather than reacting to a handful of sensors.
 */
export function feedbackStep(state: FeedbackState, now: number, stats: IndoorStats, cfg: FeedbackConfig, saturation: 'max' | 'min' | null = null): FeedbackResult {
  const clampShift = (x: number): number => Math.min(cfg.shiftMaxK, Math.max(cfg.shiftMinK, x));
  const controlled = cfg.controlled === 'coldest_building' ? (stats.coldestBuilding?.quantileC ?? stats.quantileC) : stats.quantileC;
  if (controlled === null || !enoughValid(stats, cfg)) {
    const i = clampShift(state.integralK);
    return { state: { integralK: i, lastTs: now }, termK: i, pK: 0, iK: i, errorK: null, controlledC: controlled, frozen: 'too_few_valid', bounded: null };
  }
  let e = cfg.targetC - controlled;
  const under = stats.shareBelowLow ?? 0;
  const over = stats.shareAboveHigh ?? 0;
  if (under > cfg.coldShare) e += cfg.coldGainK * (under - cfg.coldShare);
  else if (e < 0 && over > cfg.overheatShare) e -= cfg.overheatGainK * (over - cfg.overheatShare);
  // Hours since the last step, capped so a long gap (restart, outage) does not integrate a stale error at once.
  const dtH = state.lastTs === null ? 0 : Math.min(1, Math.max(0, (now - state.lastTs) / 3_600_000));
  const p = cfg.kp * e;
  let frozen: FeedbackResult['frozen'] = null;
  let i = state.integralK;
  if ((saturation === 'max' && e > 0) || (saturation === 'min' && e < 0)) frozen = 'saturated';
  else i += (cfg.kp * e * dtH) / cfg.integralH;
  i = clampShift(i);
  const raw = p + i;
  const term = clampShift(raw);
  const bounded = raw > cfg.shiftMaxK ? 'shift_max' : raw < cfg.shiftMinK ? 'shift_min' : null;
  return { state: { integralK: i, lastTs: now }, termK: term, pK: p, iK: i, errorK: e, controlledC: controlled, frozen, bounded };
}
