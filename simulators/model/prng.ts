/**
 * Deterministic randomness for the model. Everything random (apartment parameters, weather, sensor noise, window
 * openings) derives from one integer seed, so a run with the same seed and the same calls reproduces exactly.
 *
 * Two kinds of source:
 *   - `Rng`: a sequential stream (mulberry32), for parameters drawn once and for per-step noise;
 *   - `hashUnit` / `hashNormal` / `smoothNoise`: stateless functions of (seed, index), for quantities that must be
 *     a pure function of time (weather and its forecast), so that stepping with any dt gives the same values.
 */

/** 32-bit avalanche mix (murmur3 finalizer). */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines a seed with a label (FNV-1a over the label), so each part of the model has its own stream. */
export function seedFor(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ mix32(seed);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Uniform in [0, 1), a pure function of (seed, k); k may be any integer within ±2^31 · 2^21. */
export function hashUnit(seed: number, k: number): number {
  const lo = k | 0;
  const hi = Math.floor(k / 4294967296) | 0;
  return mix32(mix32(seed ^ Math.imul(lo, 0x9e3779b1)) ^ Math.imul(hi + 0x632be5ab, 0x85ebca77)) / 4294967296;
}

/** Standard normal, a pure function of (seed, k) (Box–Muller on two hashed uniforms). */
export function hashNormal(seed: number, k: number): number {
  const u1 = hashUnit(seed, 2 * k) || 1e-12;
  const u2 = hashUnit(seed ^ 0x5bd1e995, 2 * k + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Smooth value noise: standard-normal knots at integer x, joined by a smoothstep, so the result is continuous with a
 * continuous slope. Between knots the spread is a little below 1 (about 0.8 at mid-interval).
 */
export function smoothNoise(seed: number, x: number): number {
  const k = Math.floor(x);
  const f = x - k;
  const s = f * f * (3 - 2 * f);
  const a = hashNormal(seed, k);
  const b = hashNormal(seed, k + 1);
  return a + (b - a) * s;
}

/** mulberry32: small, fast, good enough for simulation noise; state is one 32-bit integer. */
export class Rng {
  #state: number;
  #spare = NaN;

  constructor(seed: number) {
    this.#state = mix32(seed) || 0x6d2b79f5;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (!Number.isNaN(this.#spare)) {
      const v = this.#spare;
      this.#spare = NaN;
      return v;
    }
    const u1 = this.next() || 1e-12;
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Normal with mean and standard deviation, clamped to mean ± 3σ so a parameter is never absurd. */
  gauss(mean: number, sd: number): number {
    const z = Math.max(-3, Math.min(3, this.normal()));
    return mean + sd * z;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }
}
