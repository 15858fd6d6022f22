import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AssetTree } from '../config/asset-tree.ts';
import type { PipelineRule } from '../config/schema.ts';
import { ManualClock } from '../core/clock.ts';
import { silentLogger } from '../core/log.ts';
import { createMetrics, type Metrics } from '../core/metrics.ts';
import { EmbeddedTelemetryStore } from '../store/embedded/embedded-store.ts';
import { DEFAULT_RETENTION } from '../store/telemetry-store.ts';
import { smallNetwork } from '../test/helpers/small-network.ts';
import { LiveBus } from './live-bus.ts';
import { MAX_SERIES_PER_ASSET, Pipeline } from './pipeline.ts';
import type { Reading } from './reading.ts';

const rule = (r: Partial<PipelineRule> & Pick<PipelineRule, 'kind' | 'field'>): PipelineRule => ({ scale: 1, offset: 0, deadband: 0, heartbeatMs: 60_000, ...r });
const RULES: PipelineRule[] = [
  rule({ kind: 'substation', field: '*_temp_c', min: -40, max: 184.9, deadband: 0.05 }),
  // A raw register in tenths of a bar, stored in MPa.
  rule({ kind: 'substation', field: 'raw_pressure', scale: 0.01, offset: 0, min: 0, max: 2.5 }),
  rule({ kind: 'apartment', field: 'room_temp_c', min: -10, max: 45, deadband: 0.05, heartbeatMs: 60_000 }),
];

describe('Pipeline', () => {
  let dir: string;
  let store: EmbeddedTelemetryStore;
  let clock: ManualClock;
  let metrics: Metrics;
  let pipeline: Pipeline;
  let live: Reading[];
  const T = Date.UTC(2026, 0, 15, 8);
  const r = (asset: string, fields: Record<string, unknown>, ts = T, quality: Reading['quality'] = 'good', source = 'mqtt:flat'): Reading =>
    ({ asset, ts, fields, quality, source }) as Reading;
  const stored = async (asset: string, field: string): Promise<number[]> => {
    const h = await store.history({ asset, fields: [field], from: T - 3_600_000, to: T + 3_600_000, bucket: 'raw', aggregate: 'last' });
    return (h.series[field] ?? []).map((p) => p.value);
  };
  const counter = async (name: string): Promise<Record<string, number>> => {
    const m = await metrics.registry.getSingleMetric(name)!.get();
    return Object.fromEntries(m.values.map((v) => [Object.values(v.labels).join(',') || '-', v.value]));
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-pipeline-'));
    store = new EmbeddedTelemetryStore({ dir, retention: DEFAULT_RETENTION });
    await store.open();
    clock = new ManualClock(T);
    metrics = createMetrics();
    const bus = new LiveBus();
    live = [];
    bus.onReading((x) => live.push(x));
    // batchSize 1: every call's readings are sealed at once, so the manual clock never has to run the flush timer.
    pipeline = new Pipeline({ assets: new AssetTree(smallNetwork), store, bus, clock, log: silentLogger(), metrics, rules: RULES, batchSize: 1 });
  });
  afterEach(async () => {
    await pipeline.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a scaled value even when every field of the reading passes', async () => {
    const res = await pipeline.ingest([r('ss01', { raw_pressure: 120 }, T, 'good', 'modbus:plc')]);
    expect(res).toMatchObject({ accepted: 1, rejected: 0 });
    expect(await stored('ss01', 'raw_pressure')).toEqual([1.2]);
    expect(pipeline.latest('ss01')?.get('raw_pressure')?.value).toBe(1.2);
    expect(live[0]!.fields).toEqual({ raw_pressure: 1.2 });
  });

  it("drops only the bad fields of a reading, keeps the rest, and leaves the caller's reading as it was", async () => {
    const fields = { supply_temp_c: 71.5, return_temp_c: 300, Bad: 1, note: 'x'.repeat(300), mode: 'auto', on: true, weird: { a: 1 } };
    const res = await pipeline.ingest([r('ss01', fields)]);
    expect(res.accepted).toBe(1);
    expect(res.reasons).toEqual({ out_of_range: 1, invalid_field: 1, invalid_value: 2 });
    expect(live[0]!.fields).toEqual({ supply_temp_c: 71.5, mode: 'auto', on: true });
    expect(fields.return_temp_c).toBe(300);
    expect(await stored('ss01', 'supply_temp_c')).toEqual([71.5]);
    expect(await stored('ss01', 'return_temp_c')).toEqual([]);
    expect(await counter('warmgrid_fields_rejected_total')).toEqual({ out_of_range: 1, invalid_field: 1, invalid_value: 2 });
  });

  it('rejects whole readings it cannot place or date, and a reading with no valid field', async () => {
    const res = await pipeline.ingest([
      r('nowhere', { room_temp_c: 20 }),
      r('ss01-b1-0101', { room_temp_c: 20 }, T + 600_000),
      r('ss01-b1-0101', { room_temp_c: 20 }, T - 8 * 86_400_000),
      r('ss01-b1-0101', { room_temp_c: 20 }, Number.NaN),
      r('ss01-b1-0101', { room_temp_c: 20 }, T, 'great' as Reading['quality']),
      r('ss01-b1-0101', { room_temp_c: 300 }),
      r('ss01-b1-0102', { room_temp_c: 20.4 }),
    ]);
    expect(res.accepted).toBe(1);
    expect(res.rejected).toBe(6);
    expect(res.reasons).toEqual({ unknown_asset: 1, ts_future: 1, ts_past: 1, ts_invalid: 1, invalid_quality: 1, out_of_range: 1, no_fields: 1 });
    expect(await stored('ss01-b1-0102', 'room_temp_c')).toEqual([20.4]);
    expect(pipeline.latest('nowhere')).toBeUndefined();
  });

  it('keeps changes inside the deadband out of the store until the heartbeat, a quality change or a bigger step', async () => {
    const a = 'ss01-b1-0101';
    await pipeline.ingest([r(a, { room_temp_c: 20 }, T)]);
    await pipeline.ingest([r(a, { room_temp_c: 20.02 }, T + 10_000)]);
    await pipeline.ingest([r(a, { room_temp_c: 20.03 }, T + 20_000, 'uncertain')]);
    await pipeline.ingest([r(a, { room_temp_c: 20.04 }, T + 30_000, 'uncertain')]);
    await pipeline.ingest([r(a, { room_temp_c: 20.2 }, T + 40_000, 'uncertain')]);
    await pipeline.ingest([r(a, { room_temp_c: 20.21 }, T + 100_000, 'uncertain')]);
    expect(await stored(a, 'room_temp_c')).toEqual([20, 20.03, 20.2, 20.21]);
    expect(await counter('warmgrid_fields_deadband_total')).toEqual({ '-': 2 });
    // Every reading was accepted and published live, the deadbanded ones without the field.
    expect(live.map((x) => x.fields['room_temp_c'])).toEqual([20, undefined, 20.03, undefined, 20.2, 20.21]);
    expect(pipeline.latest(a)?.get('room_temp_c')).toEqual({ value: 20.21, ts: T + 100_000, quality: 'uncertain' });
  });

  it('keeps the newest value as latest when readings arrive out of order, and tracks the asset status', async () => {
    const a = 'ss01-b1-0101';
    await pipeline.ingest([r(a, { room_temp_c: 21 }, T + 60_000)]);
    await pipeline.ingest([r(a, { room_temp_c: 19 }, T)]);
    expect(pipeline.latest(a)?.get('room_temp_c')?.value).toBe(21);
    expect(pipeline.status(a)).toEqual({ lastTs: T + 60_000, quality: 'good', source: 'mqtt:flat' });
    // A status-only reading marks the latest values with its quality.
    await pipeline.ingest([r(a, {}, T + 70_000, 'bad', 'mqtt:sparkplug')]);
    expect(pipeline.latest(a)?.get('room_temp_c')).toEqual({ value: 21, ts: T + 60_000, quality: 'bad' });
    expect(pipeline.status(a)).toEqual({ lastTs: T + 70_000, quality: 'bad', source: 'mqtt:sparkplug' });
    // status() hands out a copy.
    pipeline.status(a)!.quality = 'good';
    expect(pipeline.status(a)?.quality).toBe('bad');
  });

  it('counts accepted readings per source kind', async () => {
    await pipeline.ingest([r('ss01-b1-0101', { room_temp_c: 20 }), r('ss01-b1-0102', { room_temp_c: 20 }), r('ss01', { supply_temp_c: 70 }, T, 'good', 'modbus:plc'), r('wx1', { outdoor_temp_c: -3 })]);
    expect(await counter('warmgrid_readings_in_total')).toEqual({ mqtt: 3, modbus: 1 });
  });

  it('takes no more than MAX_SERIES_PER_ASSET distinct fields for one asset, and keeps storing the known ones', async () => {
    const a = 'ss01-b1-0101';
    const batch = (k: number): Reading => r(a, Object.fromEntries(Array.from({ length: 500 }, (_, j) => [`f_${k}_${j}`, j])), T + k);
    let refused = 0;
    for (let k = 0; k < MAX_SERIES_PER_ASSET / 500 + 1; k++) refused += (await pipeline.ingest([batch(k)])).reasons.oversize ?? 0;
    expect(refused).toBe(500);
    expect(pipeline.latest(a)?.size).toBe(MAX_SERIES_PER_ASSET);
    const res = await pipeline.ingest([r(a, { f_0_7: 8, brand_new: 1 }, T + 100)]);
    expect(res).toMatchObject({ accepted: 1, reasons: { oversize: 1 } });
    expect(pipeline.latest(a)?.get('f_0_7')?.value).toBe(8);
  });

  it('applies the range rule to a field that starts as text and turns numeric', async () => {
    const a = 'ss01-b1-0101';
    await pipeline.ingest([r(a, { room_temp_c: 'n/a' })]);
    const res = await pipeline.ingest([r(a, { room_temp_c: 300 }, T + 1000)]);
    expect(res.reasons).toEqual({ out_of_range: 1, no_fields: 1 });
  });
});
