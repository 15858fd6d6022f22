/**
 * Scheduling pieces of the Modbus source, free of protocol code so they can be tested with a manual clock:
 *
 * - `Limiter`: a FIFO counting semaphore, the source-wide cap on requests in flight. A request holds a slot only
 *   while it is on the wire (at most its timeout), so a dead device costs slots for its timeouts, never more.
 * - `Cadence`: one device's poll clock. Cycle k is due at start + phase + k·interval (fixed rate, no drift); the phase
 *   spreads devices over the interval (`staggerPhases`) so thousands do not fire in the same millisecond. When the
 *   process was held up past whole cycles, the cycles passed over are reported as skipped, not fired in a burst.
 * - `reconnectDelay`: exponential backoff with jitter: the first retry after a failure is immediate (a device that
 *   restarted or dropped an idle connection is back at once), then minMs, 2·minMs, … up to maxMs.
 * - Cycle accounting rules (`isLate`), shared by the source and the benchmark.
 */
import type { Clock, TimerHandle } from '../../../core/clock.ts';

export class Limiter {
  readonly limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Takes a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.#active < this.limit && this.waiting === 0) {
      this.#active++;
      return true;
    }
    return false;
  }

  /** Resolves when a slot is taken (first come, first served). */
  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    if (this.#head < this.#waiting.length) {
      const next = this.#waiting[this.#head]!;
      this.#waiting[this.#head++] = noop;
      if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
        this.#waiting.splice(0, this.#head);
        this.#head = 0;
      }
      next(); // the slot passes straight to the next waiter
    } else {
      this.#active = Math.max(0, this.#active - 1);
    }
  }
}

function noop(): void {}

/** Phase of each device within its interval: device i of n starts at i/n of its interval. */
export function staggerPhases(intervals: readonly number[]): number[] {
  const n = intervals.length;
  return intervals.map((iv, i) => Math.floor((i * iv) / Math.max(1, n)));
}

/** Delay before reconnect attempt number `failures` (1 = first failure: immediate). */
export function reconnectDelay(failures: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  if (failures <= 1) return 0;
  const base = Math.min(maxMs, minMs * 2 ** Math.min(30, failures - 2));
  // ±20 % jitter so devices that failed together do not reconnect together.
  return Math.max(0, Math.round(base * (0.8 + 0.4 * random())));
}

/** A cycle is late when its data arrived more than half an interval after the cycle was due. */
export function isLate(dueMs: number, responseMs: number, intervalMs: number): boolean {
  return responseMs - dueMs > intervalMs / 2;
}

/**
 * Fires `onDue(due, skipped)` once per cycle. `skipped` counts cycles passed over because the timer fired more than a
 * whole interval late (the event loop was blocked); they are not fired.
 */
export class Cadence {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #onDue: (due: number, skipped: number) => void;
  #next = 0;
  #timer: TimerHandle | null = null;
  #stopped = true;

  constructor(clock: Clock, intervalMs: number, onDue: (due: number, skipped: number) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#onDue = onDue;
  }

  /** Starts with the first cycle due `phaseMs` from now. */
  start(phaseMs: number): void {
    this.#stopped = false;
    this.#next = this.#clock.now() + Math.max(0, phaseMs);
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** When the next cycle is due. */
  get nextDue(): number {
    return this.#next;
  }

  #arm(): void {
    const wait = Math.max(0, this.#next - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#fire(), wait);
  }

  #fire(): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    let due = this.#next;
    let skipped = 0;
    if (now - due >= this.#intervalMs) {
      skipped = Math.floor((now - due) / this.#intervalMs);
      due += skipped * this.#intervalMs;
    }
    this.#next = due + this.#intervalMs;
    this.#arm();
    this.#onDue(due, skipped);
  }
}
