/**
 * The TelemetryStore contract suite: every adapter runs it from its own test file, e.g.
 *
 *     describeTelemetryStoreContract('embedded', async (dir) => new EmbeddedTelemetryStore({ dir }));
 *
 * `makeStore(dir)` returns a store that is not yet opened; the suite opens and closes it. The directory is fresh
 * for each test and removed afterwards; `makeStore` is called again with the same directory to test a reopen, so an
 * adapter without local files should derive its target (bucket, database) from `dir`. An adapter skips only what
 * it declares in `unsupported`.
 *
 * What the suite pins down beyond the port's comments:
 * - History leaves out samples of quality `bad` at every bucket, `raw` included (a point carries no quality, so a
 *   chart could not tell them apart); `good` and `uncertain` samples count.
 * - A bucket holding only bad samples yields no point.
 * - Every requested field is a key of `series`; an unknown asset or field gives an empty array.
 * - `limit` keeps the newest points, returned in ascending time; `limit: 0` gives none.
 * - Latest is the value with the greatest timestamp, whatever the write order; booleans and strings come back as
 *   such; a bad reading still becomes the latest value, with its quality.
 * - Writing the same batch twice (a retry) leaves history as if written once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FieldValue, Quality, Reading } from '../ingest/reading.ts';
import type { Aggregate, Bucket, HistoryPoint, HistoryQuery, TelemetryStore } from './telemetry-store.ts';

export const CONTRACT_FEATURES = ['reopen', 'strings', 'idempotent-retry', 'large-batch', 'limit'] as const;
export type ContractFeature = (typeof CONTRACT_FEATURES)[number];

export interface ContractOptions {
  /** Features the adapter does not offer; their tests are skipped. */
  unsupported?: readonly ContractFeature[];
}

/** Thursday 2026-01-15 00:00:00 UTC: the start of a UTC day, hour and quarter hour. */
export const T0 = Date.UTC(2026, 0, 15, 0, 0, 0);
const S = 1_000;
const M = 60_000;
const H = 3_600_000;
const D = 86_400_000;

function reading(asset: string, ts: number, fields: Record<string, FieldValue>, quality: Quality = 'good'): Reading {
  return { asset, ts, fields, quality, source: 'contract:test' };
}

function expectPoints(actual: HistoryPoint[] | undefined, expected: [number, number][]): void {
  expect(actual, 'series missing from result').toBeDefined();
  expect(actual!.map((p) => p.ts)).toEqual(expected.map(([ts]) => ts));
  actual!.forEach((p, i) => expect(p.value).toBeCloseTo(expected[i]![1], 9));
}

export function describeTelemetryStoreContract(
  name: string,
  makeStore: (dir: string) => Promise<TelemetryStore>,
  opts: ContractOptions = {},
): void {
  const unsupported = new Set<string>(opts.unsupported ?? []);
  const itIf = (feature: ContractFeature) => (unsupported.has(feature) ? it.skip : it);

  describe(`TelemetryStore contract: ${name}`, () => {
    let dir: string;
    let store: TelemetryStore;
    const open: TelemetryStore[] = [];

    async function openStore(): Promise<TelemetryStore> {
      const s = await makeStore(dir);
      await s.open();
      open.push(s);
      return s;
    }

    async function closeStore(s: TelemetryStore): Promise<void> {
      open.splice(open.indexOf(s), 1);
      await s.close();
    }

    function query(q: Partial<HistoryQuery> & Pick<HistoryQuery, 'fields'>): Promise<HistoryPoint[][]> {
      const full: HistoryQuery = { asset: 'ss01', from: T0, to: T0 + 2 * D, bucket: 'raw', aggregate: 'mean', ...q };
      return store.history(full).then((r) => q.fields.map((f) => r.series[f]!));
    }

    beforeEach(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-store-contract-'));
      store = await openStore();
    });

    afterEach(async () => {
      for (const s of [...open]) await closeStore(s);
      rmSync(dir, { recursive: true, force: true });
    });

    it('reports up after open and counts a write', async () => {
      expect((await store.health()).status).toBe('up');
      await store.write([reading('ss01', T0, { x: 1 })]);
      const st = store.stats();
      expect(st.batchesWritten).toBeGreaterThanOrEqual(1);
      expect(st.rowsWritten).toBeGreaterThanOrEqual(1);
      expect(st.writeErrors).toBe(0);
      expect(st.pending).toBe(0);
    });

    it('accepts an empty batch', async () => {
      await expect(store.write([])).resolves.toBeUndefined();
    });

    it('returns raw samples in ascending time, per asset, with timestamps as written', async () => {
      await store.write([
        reading('ss01', T0 + 20 * S, { x: 2 }),
        reading('ss01', T0 + 5 * S, { x: 0.5 }),
        reading('ss02', T0 + 7 * S, { x: 99 }),
        reading('ss01', T0 + 10 * S, { x: 1, y: -3.25 }),
      ]);
      const [x, y] = await query({ fields: ['x', 'y'] });
      expectPoints(x, [
        [T0 + 5 * S, 0.5],
        [T0 + 10 * S, 1],
        [T0 + 20 * S, 2],
      ]);
      expectPoints(y, [[T0 + 10 * S, -3.25]]);
      const [other] = await query({ asset: 'ss02', fields: ['x'] });
      expectPoints(other, [[T0 + 7 * S, 99]]);
    });

    describe('buckets and aggregates', () => {
      // supply_temp_c of ss01; one sample before the range, to be left out.
      const samples: [number, number][] = [
        [T0 - 1 * S, 5],
        [T0, 10],
        [T0 + 20 * S, 20],
        [T0 + 40 * S, 30],
        [T0 + 60 * S, 40],
        [T0 + 90 * S, 50],
        [T0 + 15 * M, 60],
        [T0 + H + 1 * S, 70],
        [T0 + D + 2 * H, 80],
      ];
      // Worked out by hand from the samples above, range [T0, T0 + 2 d).
      const expected: Record<Exclude<Bucket, 'raw'>, Record<Aggregate, [number, number][]>> = {
        '1m': {
          mean: [[T0, 20], [T0 + M, 45], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          min: [[T0, 10], [T0 + M, 40], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          max: [[T0, 30], [T0 + M, 50], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          last: [[T0, 30], [T0 + M, 50], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
        },
        '15m': {
          mean: [[T0, 30], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          min: [[T0, 10], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          max: [[T0, 50], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          last: [[T0, 50], [T0 + 15 * M, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
        },
        '1h': {
          mean: [[T0, 35], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          min: [[T0, 10], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          max: [[T0, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
          last: [[T0, 60], [T0 + H, 70], [T0 + D + 2 * H, 80]],
        },
        '1d': {
          mean: [[T0, 40], [T0 + D, 80]],
          min: [[T0, 10], [T0 + D, 80]],
          max: [[T0, 70], [T0 + D, 80]],
          last: [[T0, 70], [T0 + D, 80]],
        },
      };

      beforeEach(async () => {
        // Two batches, the second out of time order, as a reconnecting device would send them.
        await store.write(samples.slice(0, 5).map(([ts, v]) => reading('ss01', ts, { supply_temp_c: v })));
        await store.write(samples.slice(5).reverse().map(([ts, v]) => reading('ss01', ts, { supply_temp_c: v })));
      });

      for (const bucket of ['1m', '15m', '1h', '1d'] as const) {
        it(`${bucket}: mean, min, max and last per UTC-aligned bucket`, async () => {
          for (const aggregate of ['mean', 'min', 'max', 'last'] as const) {
            const r = await store.history({ asset: 'ss01', fields: ['supply_temp_c'], from: T0, to: T0 + 2 * D, bucket, aggregate });
            expect(r).toMatchObject({ asset: 'ss01', bucket, aggregate });
            expectPoints(r.series['supply_temp_c'], expected[bucket][aggregate]);
          }
        });
      }

      it('counts only samples inside [from, to) in a partly covered bucket', async () => {
        // [T0 + 30 s, T0 + 75 s): the T0 bucket holds only 30 (at 40 s), the next only 40 (at 60 s).
        const [mean] = await query({ fields: ['supply_temp_c'], from: T0 + 30 * S, to: T0 + 75 * S, bucket: '1m' });
        expectPoints(mean, [
          [T0, 30],
          [T0 + M, 40],
        ]);
        // [T0 + 10 s, T0 + 1 h + 2 s) in hours: 20..60 in the first hour, 70 in the second.
        const [min] = await query({ fields: ['supply_temp_c'], from: T0 + 10 * S, to: T0 + H + 2 * S, bucket: '1h', aggregate: 'min' });
        expectPoints(min, [
          [T0, 20],
          [T0 + H, 70],
        ]);
      });
    });

    it('skips bad samples in aggregates and raw history, and omits buckets holding only bad samples', async () => {
      await store.write([
        reading('ss01', T0, { return_temp_c: 10 }),
        reading('ss01', T0 + 10 * S, { return_temp_c: 1000 }, 'bad'),
        reading('ss01', T0 + 20 * S, { return_temp_c: 20 }, 'uncertain'),
        reading('ss01', T0 + 50 * S, { return_temp_c: -1000 }, 'bad'),
        reading('ss01', T0 + 70 * S, { return_temp_c: 999 }, 'bad'),
      ]);
      const expectations: [Aggregate, number][] = [
        ['mean', 15],
        ['min', 10],
        ['max', 20],
        ['last', 20],
      ];
      for (const [aggregate, value] of expectations) {
        const [pts] = await query({ fields: ['return_temp_c'], bucket: '1m', aggregate });
        expectPoints(pts, [[T0, value]]);
      }
      const [raw] = await query({ fields: ['return_temp_c'] });
      expectPoints(raw, [
        [T0, 10],
        [T0 + 20 * S, 20],
      ]);
    });

    it('includes from and excludes to', async () => {
      await store.write([1, 2, 3, 4].map((v, i) => reading('ss01', T0 + i * M, { x: v })));
      const [raw] = await query({ fields: ['x'], from: T0, to: T0 + 3 * M });
      expectPoints(raw, [
        [T0, 1],
        [T0 + M, 2],
        [T0 + 2 * M, 3],
      ]);
      const [later] = await query({ fields: ['x'], from: T0 + M, to: T0 + 3 * M + 1 });
      expectPoints(later, [
        [T0 + M, 2],
        [T0 + 2 * M, 3],
        [T0 + 3 * M, 4],
      ]);
      const [bucketed] = await query({ fields: ['x'], from: T0 + M, to: T0 + 3 * M, bucket: '1m', aggregate: 'max' });
      expectPoints(bucketed, [
        [T0 + M, 2],
        [T0 + 2 * M, 3],
      ]);
      const [none] = await query({ fields: ['x'], from: T0 + 3 * M, to: T0 + 3 * M });
      expect(none).toEqual([]);
    });

    it('gives an empty series for an unknown asset or field', async () => {
      await store.write([reading('ss01', T0, { x: 1 })]);
      const r = await store.history({ asset: 'nowhere', fields: ['x', 'y'], from: T0, to: T0 + D, bucket: '1h', aggregate: 'mean' });
      expect(r.series).toEqual({ x: [], y: [] });
      const [unknownField] = await query({ fields: ['not_a_field'] });
      expect(unknownField).toEqual([]);
    });

    it('keeps booleans as 0/1 history and returns booleans from latest', async () => {
      await store.write([reading('ss02', T0, { pump_on: true }), reading('ss02', T0 + 10 * S, { pump_on: false })]);
      const [pts] = await query({ asset: 'ss02', fields: ['pump_on'] });
      expectPoints(pts, [
        [T0, 1],
        [T0 + 10 * S, 0],
      ]);
      const [mean] = await query({ asset: 'ss02', fields: ['pump_on'], bucket: '1m' });
      expectPoints(mean, [[T0, 0.5]]);
      const latest = await store.latest(['ss02']);
      expect(latest.get('ss02')?.get('pump_on')).toEqual({ value: false, ts: T0 + 10 * S, quality: 'good' });
    });

    it('latest holds the newest value per asset and field, whatever the write order', async () => {
      await store.write([reading('ss01', T0 + 10 * S, { x: 2, y: 5 }), reading('ss02', T0, { x: 7 })]);
      await store.write([reading('ss01', T0, { x: 1 })]);
      await store.write([reading('ss01', T0 + 20 * S, { y: 6 }, 'bad')]);
      const all = await store.latest();
      expect(all.get('ss01')?.get('x')).toEqual({ value: 2, ts: T0 + 10 * S, quality: 'good' });
      expect(all.get('ss01')?.get('y')).toEqual({ value: 6, ts: T0 + 20 * S, quality: 'bad' });
      expect(all.get('ss02')?.get('x')).toEqual({ value: 7, ts: T0, quality: 'good' });
      const one = await store.latest(['ss02', 'unknown']);
      expect([...one.keys()]).toEqual(['ss02']);
    });

    itIf('strings')('keeps strings as latest values only', async () => {
      await store.write([reading('ss02', T0, { mode: 'auto', flow_m3h: 12.5 })]);
      await store.write([reading('ss02', T0 - 10 * S, { mode: 'manual' })]);
      await store.write([reading('ss02', T0 + 10 * S, { alarm_text: '' })]);
      const latest = (await store.latest(['ss02'])).get('ss02');
      expect(latest?.get('mode')).toEqual({ value: 'auto', ts: T0, quality: 'good' });
      expect(latest?.get('flow_m3h')).toEqual({ value: 12.5, ts: T0, quality: 'good' });
      expect(latest?.get('alarm_text')).toEqual({ value: '', ts: T0 + 10 * S, quality: 'good' });
      const [mode] = await query({ asset: 'ss02', fields: ['mode'], from: T0 - M, to: T0 + M });
      expect(mode).toEqual([]);
    });

    itIf('limit')('limit keeps the newest points, in ascending order', async () => {
      await store.write(Array.from({ length: 10 }, (_, i) => reading('ss01', T0 + i * 30 * S, { x: i })));
      const [raw] = await query({ fields: ['x'], limit: 3 });
      expectPoints(raw, [
        [T0 + 7 * 30 * S, 7],
        [T0 + 8 * 30 * S, 8],
        [T0 + 9 * 30 * S, 9],
      ]);
      const [buckets] = await query({ fields: ['x'], bucket: '1m', aggregate: 'mean', limit: 2 });
      expectPoints(buckets, [
        [T0 + 3 * M, 6.5],
        [T0 + 4 * M, 8.5],
      ]);
      const [none] = await query({ fields: ['x'], limit: 0 });
      expect(none).toEqual([]);
    });

    itIf('idempotent-retry')('a retried batch leaves history as if written once', async () => {
      const batch = [0, 1, 2, 3].map((i) => reading('ss01', T0 + i * 15 * S, { x: i * 10 }));
      await store.write(batch);
      await store.write(batch);
      const [raw] = await query({ fields: ['x'] });
      expect(raw).toHaveLength(4);
      const [mean] = await query({ fields: ['x'], bucket: '1m' });
      expectPoints(mean, [[T0, 15]]);
    });

    itIf('reopen')('keeps history and latest values across a reopen', async () => {
      await store.write([
        reading('ss01', T0, { x: 1, on: true, mode: 'auto' }),
        reading('ss01', T0 + 30 * S, { x: 3, on: false }, 'uncertain'),
      ]);
      await closeStore(store);
      store = await openStore();
      const [raw] = await query({ fields: ['x'] });
      expectPoints(raw, [
        [T0, 1],
        [T0 + 30 * S, 3],
      ]);
      const latest = (await store.latest()).get('ss01');
      expect(latest?.get('x')).toEqual({ value: 3, ts: T0 + 30 * S, quality: 'uncertain' });
      expect(latest?.get('on')).toEqual({ value: false, ts: T0 + 30 * S, quality: 'uncertain' });
      if (!unsupported.has('strings')) expect(latest?.get('mode')).toEqual({ value: 'auto', ts: T0, quality: 'good' });
      await store.write([reading('ss01', T0 + 60 * S, { x: 5 })]);
      const [mean] = await query({ fields: ['x'], bucket: '1h' });
      expectPoints(mean, [[T0, 3]]);
    });

    itIf('large-batch')('writes a batch of 50,000 values in one call', async () => {
      const assets = 20;
      const steps = 50;
      const fields = 50;
      const batch: Reading[] = [];
      for (let t = 0; t < steps; t++) {
        for (let a = 0; a < assets; a++) {
          const f: Record<string, number> = {};
          for (let k = 0; k < fields; k++) f[`f${k}_c`] = a * 1000 + k + t;
          batch.push(reading(`sub${a}`, T0 + t * M, f));
        }
      }
      await store.write(batch);
      const r = await store.history({ asset: 'sub7', fields: ['f3_c', 'f49_c'], from: T0, to: T0 + D, bucket: 'raw', aggregate: 'mean' });
      expect(r.series['f3_c']).toHaveLength(steps);
      expect(r.series['f3_c']![10]).toEqual({ ts: T0 + 10 * M, value: 7013 });
      // Values t = 0..49 offset by 7049: the mean over the hour is 7049 + 24.5.
      const [mean] = await query({ asset: 'sub7', fields: ['f49_c'], bucket: '1h' });
      expectPoints(mean, [[T0, 7073.5]]);
      const latest = await store.latest();
      expect(latest.size).toBe(assets);
      expect(latest.get('sub19')?.size).toBe(fields);
      expect(latest.get('sub19')?.get('f0_c')).toEqual({ value: 19049, ts: T0 + 49 * M, quality: 'good' });
    });
  });
}
