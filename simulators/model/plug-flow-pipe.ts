/**
 * A pipe as plug flow with a transport delay and heat loss (DOMAIN.md §3: τ = L/v plus heat loss).
 *
 * Water entering the pipe is recorded in a small ring buffer as (cumulative volume, temperature, time). The outlet
 * sees the parcel that entered one pipe volume ago, so the delay is V/G and follows the flow: at half the flow the
 * water takes twice as long, and with no flow it stays put. Heat loss is a first-order decay toward the surroundings
 * over the parcel's residence time, so parked water cools (what a stopped pump leaves behind).
 */
const CAPACITY = 128;
/** Record a parcel at least every 1/48 of the pipe volume: fine enough to keep a step in inlet temperature sharp. */
const PARCELS_PER_VOLUME = 48;

export class PlugFlowPipe {
  readonly volumeM3: number;
  /** Cooling time constant of water at rest in this pipe (s). */
  readonly lossTauS: number;
  readonly #v = new Float64Array(CAPACITY);
  readonly #temp = new Float64Array(CAPACITY);
  readonly #time = new Float64Array(CAPACITY);
  #head = 0;
  #count = 0;
  #vCum = 0;
  #inletC: number;
  #nowS: number;

  constructor(volumeM3: number, initialC: number, lossTauS: number, nowS = 0) {
    this.volumeM3 = Math.max(1e-6, volumeM3);
    this.lossTauS = lossTauS;
    this.#inletC = initialC;
    this.#nowS = nowS;
    // The pipe starts full of water at initialC: one parcel at each end.
    this.#append(-this.volumeM3, initialC, nowS);
    this.#append(0, initialC, nowS);
  }

  #append(v: number, t: number, time: number): void {
    this.#head = (this.#head + 1) % CAPACITY;
    this.#v[this.#head] = v;
    this.#temp[this.#head] = t;
    this.#time[this.#head] = time;
    if (this.#count < CAPACITY) this.#count++;
  }

  /** Pushes `volumeM3` of water at `inletC` into the pipe, ending at time `nowS`. */
  push(volumeM3: number, inletC: number, nowS: number): void {
    this.#vCum += Math.max(0, volumeM3);
    this.#inletC = inletC;
    this.#nowS = nowS;
    if (this.#vCum - this.#v[this.#head]! >= this.volumeM3 / PARCELS_PER_VOLUME) this.#append(this.#vCum, inletC, nowS);
  }

  /** Outlet temperature now, given the temperature of the surroundings. */
  outlet(ambientC: number): number {
    const target = this.#vCum - this.volumeM3;
    // Newest point is the water entering now; walk back to the parcel at `target`.
    let vHi = this.#vCum;
    let tHi = this.#inletC;
    let timeHi = this.#nowS;
    let idx = this.#head;
    for (let n = 0; n < this.#count; n++) {
      const vLo = this.#v[idx]!;
      const tLo = this.#temp[idx]!;
      const timeLo = this.#time[idx]!;
      if (vLo <= target) {
        const f = vHi > vLo ? (target - vLo) / (vHi - vLo) : 1;
        return this.#cooled(tLo + (tHi - tLo) * f, timeLo + (timeHi - timeLo) * f, ambientC);
      }
      vHi = vLo;
      tHi = tLo;
      timeHi = timeLo;
      idx = (idx - 1 + CAPACITY) % CAPACITY;
    }
    return this.#cooled(tHi, timeHi, ambientC);
  }

  #cooled(tempC: number, enteredS: number, ambientC: number): number {
    const age = Math.max(0, this.#nowS - enteredS);
    return ambientC + (tempC - ambientC) * Math.exp(-age / this.lossTauS);
  }
}
