/**
 * ReadingBatcher: how a polling source (Modbus, OPC UA) hands its readings to the pipeline. Readings delivered during
 * one turn of the event loop go out as one emit; while an emit is in flight the next batch gathers, and goes out when
 * it settles, so at most one emit per source is in flight and readings keep their order.
 *
 * Bounded: more than `maxPending` readings waiting (the store not keeping up) drops the oldest, counted and logged at
 * a bounded rate; polling never waits for the store. An emit the pipeline refuses is counted and its readings dropped
 * (a poll source has nothing upstream to acknowledge or redeliver; the next poll brings fresh values).
 */
import type { RateLimitedLog } from '../core/log.ts';
import type { Reading } from './reading.ts';

export interface ReadingBatcherOptions {
  emit: (readings: Reading[]) => Promise<void>;
  maxPending: number;
  warn: RateLimitedLog;
  /** Names the source kind in log lines ("modbus", "opcua"). */
  kind: string;
}

export class ReadingBatcher {
  readonly stats = { readings: 0, emits: 0, emitFailures: 0, dropped: 0 };
  #batch: Reading[] = [];
  #emitting: Promise<void> | null = null;
  #flushScheduled = false;

  constructor(private readonly opts: ReadingBatcherOptions) {}

  /** Readings waiting for the next emit. */
  get pending(): number {
    return this.#batch.length;
  }

  deliver(r: Reading): void {
    this.stats.readings++;
    this.#batch.push(r);
    const over = this.#batch.length - this.opts.maxPending;
    if (over > 0) {
      this.#batch.splice(0, over);
      this.stats.dropped += over;
      this.opts.warn.warn('dropped', { dropped: this.stats.dropped }, `${this.opts.kind} readings dropped: the store is not keeping up`);
    }
    if (!this.#flushScheduled && !this.#emitting) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  /** Emits what is waiting and resolves when every emit has settled (for stop()). */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#emitting) await this.#emitting;
  }

  #flush(): void {
    if (this.#emitting || this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.stats.emits++;
    this.#emitting = this.opts
      .emit(batch)
      .catch((err: unknown) => {
        this.stats.emitFailures++;
        this.stats.dropped += batch.length;
        this.opts.warn.warn('emit', { err, readings: batch.length }, `${this.opts.kind} readings could not be stored`);
      })
      .finally(() => {
        this.#emitting = null;
        this.#flush();
      });
  }
}
