/**
 * BatchWriter: collects readings into batches and writes them to the store one batch at a time, in order.
 *
 * - `add(readings)` returns a promise that settles when the batch holding those readings is durable (or failed).
 * - A batch is sealed when it reaches `batchSize` readings or `flushMs` after its first reading, whichever is first.
 * - One write is in flight at a time, so the store sees batches in the order readings were added.
 * - A failed write is retried with backoff up to `maxRetries`, then its waiters are rejected (sources then do not
 *   acknowledge upstream; MQTT redelivers) and the writer moves on.
 * - `pending` counts readings accepted but not yet durable; `waitForRoom()` holds producers back above `queueLimit`.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { WarmgridError } from '../core/errors.ts';
import type { TelemetryStore } from '../store/telemetry-store.ts';
import type { Reading } from './reading.ts';

interface Batch {
  readings: Reading[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export interface BatchWriterOptions {
  store: TelemetryStore;
  clock: Clock;
  batchSize: number;
  flushMs: number;
  queueLimit: number;
  maxRetries?: number;
  retryBaseMs?: number;
  onWritten?: (readings: number, seconds: number) => void;
  onError?: (err: unknown, attempt: number) => void;
}

export class BatchWriter {
  #open: Batch | null = null;
  #timer: TimerHandle | null = null;
  readonly #sealed: Batch[] = [];
  #writing = false;
  #pending = 0;
  #roomWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #closed = false;

  constructor(private readonly opts: BatchWriterOptions) {}

  get pending(): number {
    return this.#pending;
  }

  add(readings: Reading[]): Promise<void> {
    if (this.#closed) return Promise.reject(new WarmgridError('SHUTTING_DOWN', 'the hub is shutting down'));
    if (readings.length === 0) return Promise.resolve();
    let batch = this.#open;
    if (!batch) {
      batch = this.#open = { readings: [], waiters: [] };
      this.#timer = this.opts.clock.setTimeout(() => this.#seal(), this.opts.flushMs);
      this.#timer.unref?.();
    }
    for (const r of readings) batch.readings.push(r);
    this.#pending += readings.length;
    const done = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.readings.length >= this.opts.batchSize) this.#seal();
    return done;
  }

  /** Resolves when fewer than `queueLimit` readings are pending. */
  waitForRoom(): Promise<void> {
    if (this.#pending < this.opts.queueLimit) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  /** Seals the open batch and resolves once everything added so far is written (or failed). */
  async flush(): Promise<void> {
    this.#seal();
    if (!this.#writing && this.#sealed.length === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  #seal(): void {
    if (this.#timer) {
      this.opts.clock.clearTimeout(this.#timer);
      this.#timer = null;
    }
    const b = this.#open;
    this.#open = null;
    if (b && b.readings.length > 0) {
      this.#sealed.push(b);
      void this.#drain();
    }
  }

  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      for (let b = this.#sealed.shift(); b; b = this.#sealed.shift()) {
        const err = await this.#writeWithRetry(b.readings);
        this.#pending -= b.readings.length;
        for (const w of b.waiters) {
          if (err === undefined) w.resolve();
          else w.reject(err);
        }
        if (this.#pending < this.opts.queueLimit && this.#roomWaiters.length > 0) {
          const ws = this.#roomWaiters;
          this.#roomWaiters = [];
          for (const w of ws) w();
        }
      }
    } finally {
      this.#writing = false;
      const ws = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of ws) w();
    }
  }

  async #writeWithRetry(readings: Reading[]): Promise<unknown> {
    const maxRetries = this.opts.maxRetries ?? 3;
    const base = this.opts.retryBaseMs ?? 100;
    for (let attempt = 0; ; attempt++) {
      const t0 = performance.now();
      try {
        await this.opts.store.write(readings);
        this.opts.onWritten?.(readings.length, (performance.now() - t0) / 1000);
        return undefined;
      } catch (err) {
        this.opts.onError?.(err, attempt);
        if (attempt >= maxRetries) {
          return new WarmgridError('STORE_WRITE_FAILED', `store write failed after ${attempt + 1} attempts`, { cause: err, retryable: true });
        }
        await new Promise<void>((resolve) => {
          const t = this.opts.clock.setTimeout(resolve, base * 2 ** attempt);
          t.unref?.();
        });
      }
    }
  }
}
