/**
 * Table lookups for the two transcendental functions in the apartment loop, e^(−x) and x^b. Math.pow and Math.exp
 * cost 20–60 ns each in V8, which is most of a step for 100,000 apartments; linear interpolation in a table of
 * 1,025 points is accurate to a few parts in 10^5 over the range the emitters use, and falls back to Math outside it.
 */

const EXP_PER_UNIT = 64;
const EXP_SIZE = 16 * EXP_PER_UNIT;
/** e^(−x) at x = k/64, k = 0..1024 (x up to 16), plus one guard entry. */
export const EXP_NEG_TABLE = new Float64Array(EXP_SIZE + 2);
for (let k = 0; k < EXP_NEG_TABLE.length; k++) EXP_NEG_TABLE[k] = Math.exp(-k / EXP_PER_UNIT);

/** e^(−x) for x ≥ 0 by table (0 beyond x = 16, where it is below 1.2e−7). */
export function expNeg(x: number): number {
  const s = x * EXP_PER_UNIT;
  if (s >= EXP_SIZE) return 0;
  const j = s | 0;
  const a = EXP_NEG_TABLE[j]!;
  return a + (EXP_NEG_TABLE[j + 1]! - a) * (s - j);
}

const POW_PER_UNIT = 256;
const POW_SIZE = 4 * POW_PER_UNIT;
const powTables = new Map<number, Float64Array>();

/** x^b at x = k/256, k = 0..1024 (x up to 4), plus one guard entry; one table per exponent, shared. */
export function powTable(b: number): Float64Array {
  let t = powTables.get(b);
  if (!t) {
    t = new Float64Array(POW_SIZE + 2);
    for (let k = 0; k < t.length; k++) t[k] = Math.pow(k / POW_PER_UNIT, b);
    powTables.set(b, t);
  }
  return t;
}

/** x^b for x ≥ 0 from the table of b (Math.pow beyond x = 4). */
export function powBy(table: Float64Array, b: number, x: number): number {
  const s = x * POW_PER_UNIT;
  if (s >= POW_SIZE) return Math.pow(x, b);
  const j = s | 0;
  const a = table[j]!;
  return a + (table[j + 1]! - a) * (s - j);
}
