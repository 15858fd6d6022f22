/**
 * The condition of each rule kind, as pure functions over a small per-point state: given a sample (or, for aggregate
 * kinds, the numbers the engine gathered), say whether the alarm condition holds now. No clock, no I/O: time comes in
 * with the sample, so every kind is table-tested with injected times. On- and off-delays are applied afterwards by
 * `applyDelay`, the same for every kind.
 *
 * A verdict of `null` means "cannot judge" (not enough samples yet, a guard not met, no setpoint): the point keeps its
 * previous condition rather than flapping to normal.
 */
import type { FieldValue } from '../ingest/reading.ts';
import type {
  BaselineRule,
  DeviationRule,
  DiscreteRule,
  FlatlineRule,
  GuardSpec,
  Level,
  NeighbourRule,
  RateRule,
  ShareRule,
  SpikeRule,
  ThresholdRule,
} from './rules.ts';

export interface Verdict {
  active: boolean;
  /** Threshold level reached (null for kinds without levels). */
  level: Level | null;
  /** The value judged (what the operator sees at the trigger). */
  value: number | boolean | string | null;
}

export const on = (value: Verdict['value'], level: Level | null = null): Verdict => ({ active: true, level, value });
export const off = (value: Verdict['value']): Verdict => ({ active: false, level: null, value });

export function toNumber(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/** Equality across the types a field can carry: a boolean status equals 1/0 too. */
export function sameValue(a: FieldValue, b: FieldValue): boolean {
  if (typeof a === typeof b) return a === b;
  if (typeof a === 'boolean' && typeof b === 'number') return (a ? 1 : 0) === b;
  if (typeof a === 'number' && typeof b === 'boolean') return a === (b ? 1 : 0);
  return String(a) === String(b);
}

/** A guard holds when its field is present and satisfies every bound given. */
export function guardHolds(g: GuardSpec, v: FieldValue | undefined): boolean {
  if (v === undefined) return false;
  if (g.equals !== undefined && !sameValue(v, g.equals)) return false;
  const n = toNumber(v);
  if (g.above !== undefined && (n === undefined || !(n > g.above))) return false;
  if (g.below !== undefined && (n === undefined || !(n < g.below))) return false;
  return true;
}

// ---- on/off delay ------------------------------------------------------------------------------------------------

export interface DelayState {
  /** The condition as last judged. */
  raw: boolean;
  /** Since when it has been so. */
  rawSince: number;
  /** The delayed condition: what the alarm follows. */
  out: boolean;
}

export function newDelayState(): DelayState {
  return { raw: false, rawSince: 0, out: false };
}

/**
 * Feeds a judgement at time `ts`. Returns the time at which `out` flipped (rawSince + delay, so the alarm carries the
 * moment the delay ran out, not when someone looked), or null when it did not flip.
 */
export function applyDelay(st: DelayState, raw: boolean, ts: number, onMs: number, offMs: number): number | null {
  if (raw !== st.raw) {
    st.raw = raw;
    st.rawSince = ts;
  }
  return pollDelay(st, ts, onMs, offMs);
}

/** Flips `out` when the current condition has held long enough by `now`; see applyDelay. */
export function pollDelay(st: DelayState, now: number, onMs: number, offMs: number): number | null {
  if (st.raw === st.out) return null;
  const at = st.rawSince + (st.raw ? onMs : offMs);
  if (now < at) return null;
  st.out = st.raw;
  return at;
}

/** When `out` will flip if the condition stays as it is; null when nothing is pending. */
export function delayDue(st: DelayState, onMs: number, offMs: number): number | null {
  if (st.raw === st.out) return null;
  return st.rawSince + (st.raw ? onMs : offMs);
}

// ---- threshold ---------------------------------------------------------------------------------------------------

export interface ThresholdState {
  level: Level | null;
}

const HIGH: readonly Level[] = ['hh', 'h'];

/** Which level a value is in, without deadband (most severe first). */
function levelFor(r: ThresholdRule, v: number): Level | null {
  if (r.hh !== undefined && v >= r.hh) return 'hh';
  if (r.h !== undefined && v >= r.h) return 'h';
  if (r.ll !== undefined && v <= r.ll) return 'll';
  if (r.l !== undefined && v <= r.l) return 'l';
  return null;
}

/** Whether a level still holds once entered: it clears only `deadband` back inside its limit. */
function stillIn(r: ThresholdRule, level: Level, v: number): boolean {
  const db = r.deadband;
  switch (level) {
    case 'hh':
      return r.hh !== undefined && v > r.hh - db;
    case 'h':
      return r.h !== undefined && v > r.h - db;
    case 'l':
      return r.l !== undefined && v < r.l + db;
    case 'll':
      return r.ll !== undefined && v < r.ll + db;
  }
}

export function evalThreshold(r: ThresholdRule, st: ThresholdState, raw: number): Verdict {
  const v = r.abs ? Math.abs(raw) : raw;
  let level = levelFor(r, v);
  const cur = st.level;
  if (cur !== null) {
    const sameSide = level !== null && HIGH.includes(level) === HIGH.includes(cur);
    const lessSevere = level === null || (sameSide && (level === 'h' || level === 'l') && (cur === 'hh' || cur === 'll'));
    if (lessSevere) {
      if (stillIn(r, cur, v)) level = cur;
      else if (cur === 'hh' && stillIn(r, 'h', v)) level = 'h';
      else if (cur === 'll' && stillIn(r, 'l', v)) level = 'l';
    }
  }
  st.level = level;
  return level === null ? off(v) : on(v, level);
}

// ---- discrete ----------------------------------------------------------------------------------------------------

export function evalDiscrete(r: DiscreteRule, v: FieldValue): Verdict {
  return sameValue(v, r.equals) ? on(v) : off(v);
}

// ---- rate of change ----------------------------------------------------------------------------------------------

export interface SeriesBuffer {
  ts: number[];
  v: number[];
}

export function newSeriesBuffer(): SeriesBuffer {
  return { ts: [], v: [] };
}

/** Appends a sample and drops those older than `keepMs` before it. Out-of-order samples are ignored. */
function push(buf: SeriesBuffer, ts: number, v: number, keepMs: number): boolean {
  const n = buf.ts.length;
  if (n > 0 && ts <= buf.ts[n - 1]!) return false;
  buf.ts.push(ts);
  buf.v.push(v);
  let drop = 0;
  while (drop < buf.ts.length - 1 && buf.ts[drop]! < ts - keepMs) drop++;
  if (drop > 0) {
    buf.ts.splice(0, drop);
    buf.v.splice(0, drop);
  }
  return true;
}

/** Rate in units per hour between the oldest sample in the window and this one; needs half a window of history. */
export function evalRate(r: RateRule, buf: SeriesBuffer, ts: number, v: number): Verdict | null {
  const windowMs = r.windowS * 1000;
  if (!push(buf, ts, v, windowMs)) return null;
  const t0 = buf.ts[0]!;
  const span = ts - t0;
  if (span < windowMs / 2) return null;
  const perH = ((v - buf.v[0]!) / span) * 3_600_000;
  const active = (r.risePerH !== undefined && perH > r.risePerH) || (r.fallPerH !== undefined && perH < -r.fallPerH);
  return active ? on(perH) : off(perH);
}

// ---- stale -------------------------------------------------------------------------------------------------------

export interface StaleState {
  lastSeen: number;
  bad: boolean;
}

export function evalStale(maxAgeMs: number, st: StaleState, now: number): Verdict {
  const age = now - st.lastSeen;
  return st.bad || age > maxAgeMs ? on(Math.round(age / 1000)) : off(Math.round(age / 1000));
}

// ---- deviation ---------------------------------------------------------------------------------------------------

export interface DeviationState {
  active: boolean;
}

export function evalDeviation(r: DeviationRule, st: DeviationState, v: number, sp: number): Verdict {
  const d = v - sp;
  const limit = st.active ? r.band - r.deadband : r.band;
  const below = r.direction !== 'above' && d < -limit;
  const above = r.direction !== 'below' && d > limit;
  st.active = below || above;
  return st.active ? on(d) : off(d);
}

// ---- flat line ---------------------------------------------------------------------------------------------------

/** Standard deviation of the window once it spans nearly the whole window with enough samples. */
export function evalFlatline(r: FlatlineRule, buf: SeriesBuffer, ts: number, v: number): Verdict | null {
  const windowMs = r.windowS * 1000;
  if (!push(buf, ts, v, windowMs)) return null;
  const n = buf.v.length;
  if (n < r.minSamples || ts - buf.ts[0]! < windowMs * 0.9) return null;
  let mean = 0;
  for (const x of buf.v) mean += x;
  mean /= n;
  let ss = 0;
  for (const x of buf.v) ss += (x - mean) * (x - mean);
  const sd = Math.sqrt(ss / (n - 1));
  return sd <= r.maxStdDev ? on(sd) : off(sd);
}

// ---- spike -------------------------------------------------------------------------------------------------------

export interface SpikeState {
  /** Recent non-spike samples (the reference). */
  recent: number[];
  /** Times of recent spikes. */
  spikes: number[];
  /** A sample far from the reference, judged when the next one comes: a spike only if that one is back. */
  suspect: { ts: number; v: number } | null;
  lastTs: number;
}

export function newSpikeState(): SpikeState {
  return { recent: [], spikes: [], suspect: null, lastTs: -Infinity };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pushRecent(st: SpikeState, v: number, max: number): void {
  st.recent.push(v);
  if (st.recent.length > max) st.recent.shift();
}

/**
 * Modified z-score (Iglewicz and Hoaglin): 0.6745·|x − median| / MAD over the recent samples, with the MAD floored at
 * `minMad`. A spike is an isolated outlier: a sample beyond `z` counts only when the sample after it is back inside, so
 * a step or a fast legitimate change (a hot front arriving) is not taken for spikes. Spikes are not added to the
 * reference, so a burst of them does not teach the detector that they are normal.
 */
export function evalSpike(r: SpikeRule, st: SpikeState, ts: number, v: number): Verdict | null {
  if (ts <= st.lastTs) return null;
  st.lastTs = ts;
  let z = 0;
  const ready = st.recent.length >= Math.max(8, r.samples >> 1);
  if (ready) {
    const med = median(st.recent);
    const mad = Math.max(median(st.recent.map((x) => Math.abs(x - med))), r.minMad);
    z = mad > 0 ? (0.6745 * Math.abs(v - med)) / mad : v === med ? 0 : Infinity;
  }
  const out = ready && z > r.z;
  if (st.suspect) {
    if (!out) st.spikes.push(st.suspect.ts);
    else pushRecent(st, st.suspect.v, r.samples);
    st.suspect = null;
    pushRecent(st, v, r.samples);
  } else if (out) {
    st.suspect = { ts, v };
  } else {
    pushRecent(st, v, r.samples);
  }
  const holdMs = r.holdS * 1000;
  while (st.spikes.length > 0 && st.spikes[0]! <= ts - holdMs) st.spikes.shift();
  const zr = Number.isFinite(z) ? Math.round(z * 100) / 100 : null;
  return st.spikes.length >= r.minCount ? on(zr) : off(zr);
}

// ---- aggregate: share --------------------------------------------------------------------------------------------

export interface ShareState {
  active: boolean;
}

/** `beyond` of `counted` fresh members are beyond the limit. */
export function evalShare(r: ShareRule, st: ShareState, beyond: number, counted: number): Verdict | null {
  if (counted < r.minMembers) return null;
  const share = beyond / counted;
  st.active = st.active ? share > r.minShare - r.deadband || share >= r.minShare : share >= r.minShare;
  const rounded = Math.round(share * 1000) / 1000;
  return st.active ? on(rounded) : off(rounded);
}

// ---- aggregate: learned baseline ---------------------------------------------------------------------------------

export interface LearnState {
  /** Learned value (baseline, or offset from the neighbours' mean); null until the first sample. */
  value: number | null;
  learnedMs: number;
  lastTs: number;
}

export function newLearnState(): LearnState {
  return { value: null, learnedMs: 0, lastTs: 0 };
}

/** Exponentially weighted mean with time constant tauMs; the first sample seeds it. */
export function learn(st: LearnState, x: number, ts: number, tauMs: number): void {
  if (st.value === null) {
    st.value = x;
    st.lastTs = ts;
    return;
  }
  const dt = ts - st.lastTs;
  if (dt <= 0) return;
  st.value += (x - st.value) * (1 - Math.exp(-dt / tauMs));
  st.learnedMs += dt;
  st.lastTs = ts;
}

/**
 * A value against its learned baseline. Learning pauses while the condition holds (`holding`), so a leak is not learned
 * as the new normal; it resumes once the condition is over, and the paused time does not count.
 */
export function evalBaseline(r: BaselineRule, st: LearnState, v: number, ts: number, holding: boolean): Verdict | null {
  const ready = st.value !== null && st.learnedMs >= r.warmupHours * 3_600_000;
  let verdict: Verdict | null = null;
  if (ready) {
    const base = st.value!;
    const limit = r.direction === 'above' ? base * r.factor + r.margin : base * r.factor - r.margin;
    const active = r.direction === 'above' ? v > limit : v < limit;
    verdict = active ? on(v) : off(v);
  }
  if (verdict?.active || holding) st.lastTs = ts;
  else learn(st, v, ts, r.learnHours * 3_600_000);
  return verdict;
}

// ---- aggregate: neighbours ---------------------------------------------------------------------------------------

/**
 * An asset against what its neighbours predict: `v` is its value, `mean` its neighbours' mean. Expected is mean + the
 * rule's fixed offset, or mean + the asset's usual offset, learned (a suspended flat sits several K below its heated
 * neighbours, a top-floor end flat a little below, a flat with a thermostat where its owner set it). Learning pauses
 * while the condition holds, as for baselines. The verdict is the departure from expected, in K.
 */
export function evalNeighbour(r: NeighbourRule, st: LearnState, v: number, mean: number, ts: number, holding: boolean): Verdict | null {
  const d = v - mean;
  let expected: number | null;
  if (r.offset === 'learn') expected = st.value !== null && st.learnedMs >= r.warmupHours * 3_600_000 ? st.value : null;
  else expected = r.offset;
  let verdict: Verdict | null = null;
  if (expected !== null) {
    const diff = d - expected;
    const active = (r.aboveK !== undefined && diff > r.aboveK) || (r.belowK !== undefined && diff < -r.belowK);
    const shown = Math.round(diff * 100) / 100;
    verdict = active ? on(shown) : off(shown);
  }
  if (r.offset === 'learn') {
    if (verdict?.active || holding) st.lastTs = ts;
    else learn(st, d, ts, r.learnHours * 3_600_000);
  }
  return verdict;
}
