/**
 * Spreads `count` publishers evenly over an interval of simulated time, so a network of 100,000 thermostats reporting
 * once a minute sends about 1,667 messages in every second rather than 100,000 at the top of each minute.
 *
 * Slot k is due at `originMs + k · intervalMs / count` and belongs to publisher `k mod count`, so every publisher is
 * due exactly once per interval, one interval after its previous slot. The owner asks for the slots due by a clock
 * reading and takes them in order; nothing is stored per slot, so falling behind costs no memory.
 */
export class SpreadSchedule {
  /** The next slot to take. */
  next = 0;

  constructor(
    readonly count: number,
    readonly intervalMs: number,
    readonly originMs: number,
  ) {
    if (!(intervalMs > 0)) throw new Error(`interval must be positive, got ${intervalMs} ms`);
  }

  /** One past the last slot due at `nowMs` (slots next..end−1 are due). */
  dueEnd(nowMs: number): number {
    if (this.count === 0 || nowMs < this.originMs) return 0;
    return Math.floor(((nowMs - this.originMs) * this.count) / this.intervalMs) + 1;
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
