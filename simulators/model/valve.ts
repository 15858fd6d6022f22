/**
 * Control valve: inherent characteristic (equal-percentage or linear), installed characteristic with valve authority,
 * and an actuator that moves at a limited rate.
 */

export type ValveCharacteristic = 'equal_percentage' | 'linear';

/** Rangeability of an equal-percentage trim (Kv100/Kv_min). */
const RANGEABILITY = 30;

/**
 * Relative Kv at stroke h (0–1). Equal-percentage is R^(h−1), shifted and scaled so that it closes tight at h = 0
 * (a real valve seats; the pure law would leave 1/R open).
 */
export function inherentKv(h: number, ch: ValveCharacteristic): number {
  const x = Math.min(1, Math.max(0, h));
  if (ch === 'linear') return x;
  return (Math.pow(RANGEABILITY, x - 1) - 1 / RANGEABILITY) / (1 - 1 / RANGEABILITY);
}

/**
 * Installed flow fraction G/G_100 with valve authority a = ΔP_valve,100 / ΔP_branch:
 *   G/G_100 = φ / sqrt(a + (1 − a)·φ²).
 * Low authority makes an equal-percentage valve behave nearly linearly, as it does in substations.
 */
export function installedFlow(kvRel: number, authority: number): number {
  if (kvRel <= 0) return 0;
  return kvRel / Math.sqrt(authority + (1 - authority) * kvRel * kvRel);
}

/** Moves `pos` toward `cmd` by at most rate·dt (all in % and %/s). */
export function actuate(pos: number, cmd: number, ratePctPerS: number, dtS: number): number {
  const step = ratePctPerS * dtS;
  if (cmd > pos + step) return pos + step;
  if (cmd < pos - step) return pos - step;
  return cmd;
}
