/**
 * An in-memory remote TelemetryStore for the buffer's tests, whose availability the test switches: up, down
 * (unavailable), slow, refusing (auth), or refusing some readings for their content. It records every accepted
 * reading in delivery order, repeated deliveries included.
 */
import { WarmgridError } from '../../core/errors.ts';
import type { Reading } from '../../ingest/reading.ts';
import type { ComponentHealth, HistoryQuery, HistoryResult, LatestByAsset, StoreStats, TelemetryStore } from '../telemetry-store.ts';
import type { RefusalReason } from './remote.ts';

export type FakeMode = 'up' | 'down' | 'auth';

export class FakeRemote implements TelemetryStore {
  readonly kind = 'fake';
  mode: FakeMode = 'up';
  /** Extra time each write takes, ms. */
  latencyMs = 0;
  /** Readings of these assets are refused for their content (HTTP 422). */
  poison = new Set<string>();
  /** Every accepted reading, in order of acceptance. */
  readonly received: Reading[] = [];
  writes = 0;
  #stats: StoreStats = { rowsWritten: 0, batchesWritten: 0, writeErrors: 0, pending: 0 };

  async open(): Promise<void> {}

  async write(batch: readonly Reading[]): Promise<void> {
    this.writes++;
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const fail = (reason: RefusalReason, httpStatus?: number): never => {
      this.#stats.writeErrors++;
      throw new WarmgridError(reason === 'data' || reason === 'auth' ? 'STORE_WRITE_FAILED' : 'STORE_UNAVAILABLE', `fake remote: ${reason}`, {
        retryable: reason === 'unavailable',
        details: { reason, ...(httpStatus ? { httpStatus } : {}) },
      });
    };
    if (this.mode === 'down') fail('unavailable');
    if (this.mode === 'auth') fail('auth', 401);
    if (batch.some((r) => this.poison.has(r.asset))) {
      // As InfluxDB does with a partial write: the good points are stored, the request still fails.
      for (const r of batch) if (!this.poison.has(r.asset)) this.received.push(r);
      fail('data', 422);
    }
    this.received.push(...batch);
    this.#stats.rowsWritten += batch.length;
    this.#stats.batchesWritten++;
  }

  async latest(assets?: readonly string[]): Promise<LatestByAsset> {
    if (this.mode !== 'up') throw new WarmgridError('STORE_UNAVAILABLE', 'fake remote down', { retryable: true });
    const out: LatestByAsset = new Map();
    for (const r of this.received) {
      if (assets && !assets.includes(r.asset)) continue;
      let m = out.get(r.asset);
      if (!m) out.set(r.asset, (m = new Map()));
      for (const [k, v] of Object.entries(r.fields)) {
        const p = m.get(k);
        if (!p || r.ts >= p.ts) m.set(k, { value: v, ts: r.ts, quality: r.quality });
      }
    }
    return out;
  }

  async history(q: HistoryQuery): Promise<HistoryResult> {
    return { asset: q.asset, bucket: q.bucket, aggregate: q.aggregate, series: Object.fromEntries(q.fields.map((f) => [f, []])) };
  }

  async health(): Promise<ComponentHealth> {
    return this.mode === 'up' ? { status: 'up' } : { status: 'down', detail: `fake remote ${this.mode}` };
  }

  stats(): StoreStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {}
}

/**
 * A fake remote with a wire format: an entry is `<asset>@<ts>|<quality>|<fields as JSON>`, and `encodings` counts how
 * often readings were encoded (a replay must not encode again).
 */
export class FakeWireRemote extends FakeRemote {
  encodings = 0;

  encodeBatch(batch: readonly Reading[]): string[] {
    this.encodings += batch.length;
    return batch.filter((r) => Object.keys(r.fields).length > 0).map((r) => `${r.asset}@${r.ts}|${r.quality}|${JSON.stringify(r.fields)}`);
  }

  writeEncoded(entries: readonly string[]): Promise<void> {
    return this.write(entries.map(decodeEntry));
  }
}

export function decodeEntry(e: string): Reading {
  const [key, quality, fields] = e.split('|') as [string, Reading['quality'], string];
  const at = key.lastIndexOf('@');
  return { asset: key.slice(0, at), ts: Number(key.slice(at + 1)), quality, fields: JSON.parse(fields) as Reading['fields'], source: 'fake:wire' };
}
