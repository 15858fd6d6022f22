/**
 * Guards of a setpoint write (ARCHITECTURE.md "Security by default": off until enabled per substation, bounded by
 * min/max, max step and max rate, confirmed, read back, audited). Pure: every check is computed, not only the first
 * that fails, so the engineer sees the whole picture before confirming.
 */

/** Bounds of a write, in the point's unit (K and °C for a supply setpoint, MPa for a pump ΔP setpoint). */
export interface WriteBounds {
  min: number;
  max: number;
  /** Largest single change from the current setpoint. */
  maxStep: number;
  /** Largest total change within any hour, this write included. */
  maxRatePerH: number;
}

export interface GuardInput {
  now: number;
  point: string;
  /** Unit of the point, for the messages. */
  unit: string;
  value: number;
  /** Writes enabled for this substation (config or API). */
  enabled: boolean;
  /** The writer's view of the point, or null when no source can write it. */
  writable: { min?: number; max?: number } | null;
  /** The current setpoint as last read, with its age; null when unknown. */
  current: number | null;
  currentAgeMs: number | null;
  maxCurrentAgeMs: number;
  /** Changes executed on this point within the last hour: |new − old| each. */
  recentChanges: readonly number[];
  /** For a write from advice: its validity and age. */
  advice?: { valid: boolean; ageMs: number; maxAgeMs: number } | undefined;
}

export type CheckName = 'writer' | 'enabled' | 'value' | 'min' | 'max' | 'current' | 'step' | 'rate' | 'advice' | 'unchanged';

/**
 * Slack on the step and rate checks: device registers are often float32 (74.8 reads back as 74.80000305), so a change
 * computed from a read value may exceed a bound by a few millionths of a kelvin.
 */
const EPS = 1e-4;

export interface Check {
  name: CheckName;
  ok: boolean;
  detail: string;
}

/** Every guard in the order an engineer reads them. */
export function checkWrite(inp: GuardInput, b: WriteBounds): Check[] {
  const checks: Check[] = [];
  const add = (name: CheckName, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
  };
  add('writer', inp.writable !== null, inp.writable ? `a source writes ${inp.point} of this substation` : `no source writes ${inp.point} of this substation (is writes.enabled set for its device in sources.yaml?)`);
  add('enabled', inp.enabled, inp.enabled ? 'setpoint writes are enabled for this substation' : 'setpoint writes are disabled for this substation');
  const finite = Number.isFinite(inp.value);
  add('value', finite, finite ? `${inp.value}` : 'the value is not a finite number');
  const u = inp.unit;
  const lo = Math.max(b.min, inp.writable?.min ?? -Infinity);
  const hi = Math.min(b.max, inp.writable?.max ?? Infinity);
  add('min', finite && inp.value >= lo, `${inp.value} ≥ ${lo} ${u} (the curve's minimum and the device template's)`);
  add('max', finite && inp.value <= hi, `${inp.value} ≤ ${hi} ${u} (the curve's maximum and the device template's)`);
  const fresh = inp.current !== null && inp.currentAgeMs !== null && inp.currentAgeMs <= inp.maxCurrentAgeMs;
  add('current', fresh, fresh ? `current setpoint ${inp.current}, read ${Math.round(inp.currentAgeMs! / 1000)} s ago` : inp.current === null ? 'the current setpoint is unknown (no good reading of it)' : `the current setpoint was last read ${Math.round((inp.currentAgeMs ?? 0) / 1000)} s ago, longer than ${Math.round(inp.maxCurrentAgeMs / 1000)} s`);
  const step = inp.current === null || !finite ? NaN : Math.abs(inp.value - inp.current);
  add('step', Number.isFinite(step) && step <= b.maxStep + EPS, Number.isFinite(step) ? `a change of ${round3(step)} ${u}, at most ${b.maxStep} ${u} at once` : 'the change cannot be computed without the current setpoint');
  const used = inp.recentChanges.reduce((s, x) => s + x, 0);
  const rateOk = Number.isFinite(step) && used + step <= b.maxRatePerH + EPS;
  add('rate', rateOk, `${round3(used)} ${u} changed in the last hour plus ${Number.isFinite(step) ? round3(step) : '?'} ${u} now, at most ${b.maxRatePerH} ${u} per hour`);
  if (inp.advice) {
    const ok = inp.advice.valid && inp.advice.ageMs <= inp.advice.maxAgeMs;
    add('advice', ok, !inp.advice.valid ? 'the advice is not valid' : ok ? `advice from ${Math.round(inp.advice.ageMs / 60_000)} min ago` : `the advice is ${Math.round(inp.advice.ageMs / 60_000)} min old, older than ${Math.round(inp.advice.maxAgeMs / 60_000)} min`);
  }
  return checks;
}

export function allPass(checks: readonly Check[]): boolean {
  return checks.every((c) => c.ok);
}

/** A one-line reason listing the failed checks, for an error message. */
export function failedSummary(checks: readonly Check[]): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.detail}`)
    .join('; ');
}

/**
 * The auto-mode target: the advice, moved toward at most one step of the auto bounds, within the rate left this hour.
 * Returns null when the advice is within the deadband of the current setpoint (no write, no chatter).
 */
export function autoTarget(current: number, advised: number, recentChanges: readonly number[], b: WriteBounds, deadband: number): number | null {
  const want = advised - current;
  if (Math.abs(want) < deadband) return null;
  const left = Math.max(0, b.maxRatePerH - recentChanges.reduce((s, x) => s + x, 0));
  const step = Math.min(Math.abs(want), b.maxStep, left);
  if (step < 0.1) return null;
  // Round to 0.1 toward the current value, so rounding never makes the step larger than allowed.
  const raw = current + Math.sign(want) * step;
  const v = want > 0 ? Math.floor(raw * 10 + 1e-6) / 10 : Math.ceil(raw * 10 - 1e-6) / 10;
  if (Math.abs(v - current) < 0.05) return null;
  return Math.min(b.max, Math.max(b.min, v));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
