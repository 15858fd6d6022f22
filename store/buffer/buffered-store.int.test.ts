/**
 * The store-and-forward buffer in front of the InfluxDB adapter, against a real server that is stopped for a while
 * under load and started again (VictoriaMetrics, which takes InfluxDB line protocol on /api/v2/write). Afterwards the
 * server must hold exactly what was sent: every (series, timestamp) once with its value, nothing missing, nothing
 * extra, and repeated deliveries (which InfluxDB folds into one point) only ever carrying the same value.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reading } from '../../ingest/reading.ts';
import { InfluxTelemetryStore } from '../influx/influx-store.ts';
import { flatPlaces } from '../influx/line-protocol.ts';
import { distinctSamples, VictoriaMetrics, victoriaMetricsMissing } from '../influx/victoria-metrics.ts';
import { BufferedTelemetryStore } from './buffered-store.ts';

const missing = victoriaMetricsMissing();
// CI must run these (exact counts), so there a missing binary fails instead of skipping.
if (missing && process.env['CI']) throw new Error(`VictoriaMetrics is required in CI: ${missing}`);
if (missing) console.warn(`VictoriaMetrics tests skipped: ${missing}`);
const T0 = Date.UTC(2026, 0, 15);
const ASSETS = 20;
const FIELDS = 5;
const BATCHES = 240;

/** Exact in a float and short in decimal (VictoriaMetrics keeps about 12 significant digits). */
function value(n: number, a: number, k: number): number {
  return n * 1000 + a * 10 + k + 0.5;
}

function batch(n: number): Reading[] {
  return Array.from({ length: ASSETS }, (_, a) => {
    const fields: Record<string, number> = {};
    for (let k = 0; k < FIELDS; k++) fields[`v${k}_c`] = value(n, a, k);
    return { asset: `ss${a}`, ts: T0 + n * 1000, fields, quality: 'good' as const, source: 'test:load' };
  });
}

describe.skipIf(missing !== null)(`store-and-forward buffer through an outage of the remote (VictoriaMetrics)${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let vm: VictoriaMetrics;
  let dir: string;

  beforeAll(async () => {
    vm = await VictoriaMetrics.start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-buffer-outage-'));
  });
  afterAll(async () => {
    await vm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses and doubles nothing when the server stops under load and comes back', async () => {
    const remote = new InfluxTelemetryStore({ url: vm.url, org: 'o', bucket: 'b', token: 't', place: flatPlaces('substation'), checkOnOpen: false, retries: 1, retryBaseMs: 20, timeoutMs: 2000 });
    const store = new BufferedTelemetryStore(remote, { dir, directTimeoutMs: 1000, retryMinMs: 20, retryMaxMs: 200, replayMaxReadings: 200 });
    await store.open();
    let sawBuffering = false;
    // One write at a time, as the pipeline's batch writer does, with a little time between batches.
    // The server stops and starts while writes are in flight.
    let stopped: Promise<void> = Promise.resolve();
    let started: Promise<void> = Promise.resolve();
    for (let n = 0; n < BATCHES; n++) {
      if (n === 60) stopped = vm.stop();
      if (n === 150) started = stopped.then(() => vm.start());
      await store.write(batch(n));
      if (store.mode === 'buffering') sawBuffering = true;
      await new Promise((r) => setTimeout(r, 4));
    }
    await started;
    await store.drained();
    const stats = store.stats();
    await store.close();

    expect(sawBuffering).toBe(true);
    expect(stats.bufferedBatches).toBeGreaterThanOrEqual(80);
    expect(stats).toMatchObject({ rowsWritten: BATCHES * ASSETS, batchesWritten: BATCHES, bufferReadings: 0, deadLetteredReadings: 0, refusedBatches: 0, mode: 'direct' });
    expect(stats.replayedReadings).toBe(stats.bufferedBatches * ASSETS);

    const got = distinctSamples(await vm.export('{__name__=~"substation_.*"}'));
    expect(got.conflicting).toBe(0);
    expect(got.distinct).toBe(BATCHES * ASSETS * FIELDS);
    expect(got.byKey.size).toBe(ASSETS * FIELDS);
    for (let a = 0; a < ASSETS; a++) {
      for (let k = 0; k < FIELDS; k++) {
        const series = got.byKey.get(`__name__=substation_v${k}_c,asset=ss${a},quality=good`)!;
        expect(series.size).toBe(BATCHES);
        for (let n = 0; n < BATCHES; n++) expect(series.get(T0 + n * 1000)).toBe(value(n, a, k));
      }
    }
    // A delivery can repeat only for a batch whose direct write was cut by the stop.
    expect(got.raw - got.distinct).toBeLessThanOrEqual(ASSETS * FIELDS);
  }, 40_000);
});
