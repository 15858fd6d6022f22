/**
 * Spreads `count` publishers evenly over an interval of simulated time, so a network of 100,000 thermostats reporting
 * once a minute sends about 1,667 messages in every second rather than 100,000 at the top of each minute.
 *
 * Slot k is due at `originMs + (k + phase) · intervalMs / count` and belongs to publisher `k mod count`, so every
 * publisher is due exactly once per interval, one interval after its previous slot. With phase 0 the first publisher is
 * due at the origin; with phase 1 the last one of the first round is due one interval after it. The owner asks for the
 * slots due by a clock reading and takes them in order; nothing is stored per slot, so falling behind costs no memory.
 */
export class SpreadSchedule {
  /** The next slot to take. */
  next = 0;

  constructor(
    readonly count: number,
    readonly intervalMs: number,
    readonly originMs: number,
    readonly phase = 0,
  ) {
    if (!(intervalMs > 0)) throw new Error(`interval must be positive, got ${intervalMs} ms`);
  }

  /** One past the last slot due at `nowMs` (slots next..end−1 are due). */
  dueEnd(nowMs: number): number {
    if (this.count === 0) return 0;
    // The clock difference is exact for whole milliseconds; the relative nudge keeps a slot due exactly at nowMs from
    // being missed by a rounding error in the division (1987 flats: 1986.9999999999998).
    const x = ((nowMs - this.originMs) * this.count) / this.intervalMs - this.phase;
    if (x < 0) return 0;
    return Math.floor(x + x * 1e-12 + 1e-9) + 1;
  }

  /** Slots due and not taken. */
  backlog(nowMs: number): number {
    return Math.max(0, this.dueEnd(nowMs) - this.next);
  }

  /** The publisher of slot k. */
  itemOf(k: number): number {
    return k % this.count;
  }

  /**
   * Drops slots so that at most `keep` stay due (a publisher that fell a whole interval behind sends its current value
   * once rather than every sample it missed). Returns how many were dropped.
   */
  skipTo(nowMs: number, keep: number): number {
    const end = this.dueEnd(nowMs);
    const from = Math.max(this.next, end - keep);
    const dropped = from - this.next;
    this.next = from;
    return dropped;
  }
}
