/**
 * Data and settings shared by the buffer's kill -9 test and its child process: batch n holds one reading per asset at
 * `crashBatchTs(n)`, field k of asset a carrying `crashValue(n, a, k)`.
 */
import type { Reading } from '../../ingest/reading.ts';
import { InfluxTelemetryStore } from '../influx/influx-store.ts';
import { flatPlaces } from '../influx/line-protocol.ts';
import { BufferedTelemetryStore } from './buffered-store.ts';

export const CRASH_ASSETS = 50;
export const CRASH_FIELDS = 4;
export const CRASH_BASE_TS = Date.UTC(2026, 0, 1);
/** Readings per replay request: small, so a replay takes many requests and a kill lands inside it. */
export const CRASH_REPLAY_READINGS = 50;

export function crashBatchTs(n: number): number {
  return CRASH_BASE_TS + n * 10_000;
}

export function crashValue(n: number, asset: number, field: number): number {
  return n * 1_000 + asset * 10 + field + 0.25;
}

export function crashBatch(n: number): Reading[] {
  const out: Reading[] = [];
  for (let a = 0; a < CRASH_ASSETS; a++) {
    const fields: Record<string, number> = {};
    for (let k = 0; k < CRASH_FIELDS; k++) fields[`f${k}`] = crashValue(n, a, k);
    out.push({ asset: `a${a}`, ts: crashBatchTs(n), fields, quality: 'good', source: 'crash:child' });
  }
  return out;
}

/** The store stack a hub builds for `store.kind: influx`, pointed at `url` (VictoriaMetrics in the test). */
export function crashStore(dir: string, url: string): BufferedTelemetryStore {
  const remote = new InfluxTelemetryStore({ url, org: 'warmgrid', bucket: 'telemetry', token: 'test', place: flatPlaces('crash'), checkOnOpen: false, retries: 0, timeoutMs: 2000 });
  return new BufferedTelemetryStore(remote, { dir, directTimeoutMs: 1000, retryMinMs: 20, retryMaxMs: 100, replayMaxReadings: CRASH_REPLAY_READINGS });
}
