/**
 * Store gauges read at scrape time from `store.stats()`: the store-and-forward buffer's fill, age and mode when the
 * store has one (InfluxDB behind the buffer), so an outage is visible before the buffer fills.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { TelemetryStore } from './telemetry-store.ts';

interface BufferStatsLike {
  mode: string;
  bufferBytes: number;
  bufferMaxBytes: number;
  bufferReadings: number;
  oldestAgeMs: number;
  replayedReadings: number;
  deadLetteredReadings: number;
  refusedBatches?: number;
}

function bufferStats(store: TelemetryStore): BufferStatsLike | undefined {
  const s = store.stats() as unknown as Partial<BufferStatsLike>;
  return typeof s.mode === 'string' && typeof s.bufferBytes === 'number' ? (s as BufferStatsLike) : undefined;
}

export function registerStoreMetrics(registry: Registry, store: TelemetryStore): void {
  if (!bufferStats(store)) return;
  const registers = [registry];
  const gauge = (name: string, help: string, read: (b: BufferStatsLike) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const b = bufferStats(store);
        if (b) this.set(read(b));
      },
    });
  };
  const counter = (name: string, help: string, read: (b: BufferStatsLike) => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        const b = bufferStats(store);
        if (!b) return;
        this.reset();
        this.inc(read(b));
      },
    });
  };
  gauge('warmgrid_store_buffer_bytes', 'Bytes held by the store-and-forward buffer on disk', (b) => b.bufferBytes);
  gauge('warmgrid_store_buffer_max_bytes', 'Bound of the store-and-forward buffer', (b) => b.bufferMaxBytes);
  gauge('warmgrid_store_buffer_readings', 'Readings waiting in the buffer for the remote store', (b) => b.bufferReadings);
  gauge('warmgrid_store_buffer_oldest_age_seconds', 'Age of the oldest undelivered batch', (b) => b.oldestAgeMs / 1000);
  gauge('warmgrid_store_buffering', '1 while writes go to the buffer instead of the remote store', (b) => (b.mode === 'buffering' ? 1 : 0));
  counter('warmgrid_store_buffer_replayed_total', 'Readings delivered from the buffer after an outage', (b) => b.replayedReadings);
  counter('warmgrid_store_buffer_dead_letter_total', 'Readings the remote store refused for their content, kept in dead-letter files', (b) => b.deadLetteredReadings);
  counter('warmgrid_store_buffer_refused_total', 'Batches refused because the buffer was full', (b) => b.refusedBatches ?? 0);
}
