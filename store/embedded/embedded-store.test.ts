import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.ts';
import { WarmgridError } from '../../core/errors.ts';
import type { Reading } from '../../ingest/reading.ts';
import { describeTelemetryStoreContract, T0 } from '../contract.ts';
import type { HistoryQuery } from '../telemetry-store.ts';
import { EmbeddedTelemetryStore, type EmbeddedStoreOptions } from './embedded-store.ts';

const M = 60_000;
const H = 3_600_000;
const D = 86_400_000;

/** Test stores run on a clock two days after the contract's data, so retention never touches it. */
function testOptions(dir: string, extra: Partial<EmbeddedStoreOptions> = {}): EmbeddedStoreOptions {
  return { dir, clock: new ManualClock(T0 + 2 * D), compactEveryMs: 0, threads: 1, ...extra };
}

describeTelemetryStoreContract('embedded', async (dir) => new EmbeddedTelemetryStore(testOptions(dir)));

/** Seals everything after each write, so every contract test also reads through `raw`, the rollups and late data. */
class SealingStore extends EmbeddedTelemetryStore {
  override async write(batch: readonly Reading[]): Promise<void> {
    await super.write(batch);
    await this.compact({ sealBefore: Infinity });
  }
}

describeTelemetryStoreContract('embedded, sealed after every write', async (dir) => new SealingStore(testOptions(dir)));

function reading(asset: string, ts: number, fields: Reading['fields'], quality: Reading['quality'] = 'good'): Reading {
  return { asset, ts, fields, quality, source: 'test' };
}

describe('EmbeddedTelemetryStore', () => {
  let dir: string;
  const stores: EmbeddedTelemetryStore[] = [];

  async function openStore(extra: Partial<EmbeddedStoreOptions> = {}, sub = 'a'): Promise<EmbeddedTelemetryStore> {
    const s = new EmbeddedTelemetryStore(testOptions(path.join(dir, sub), extra));
    await s.open();
    stores.push(s);
    return s;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-embedded-'));
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every query the same whether data is unsealed, sealed or sealed in several steps', async () => {
    const plain = await openStore({}, 'plain');
    const sealed = await openStore({}, 'sealed');
    // Six hours of two series at 20 s, some bad, a retried batch, then late samples after the seal.
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const batches: Reading[][] = [];
    for (let h = 0; h < 6; h++) {
      const batch: Reading[] = [];
      for (let t = h * H; t < (h + 1) * H; t += 20_000) {
        const q = rnd() < 0.1 ? 'bad' : rnd() < 0.1 ? 'uncertain' : 'good';
        batch.push(reading('ss01', T0 + t + 7_000, { a: Math.round(rnd() * 1000) / 10, b: rnd() < 0.5 }, q));
      }
      batches.push(batch);
    }
    for (const [i, batch] of batches.entries()) {
      await plain.write(batch);
      await sealed.write(batch);
      if (i === 1) await sealed.write(batch);
      if (i === 2) await sealed.compact({ sealBefore: T0 + 2 * H + 17 * M + 3_000 });
      if (i === 4) await sealed.compact({ sealBefore: T0 + 4 * H });
    }
    await plain.write(batches[1]!);
    const late = [reading('ss01', T0 + 30 * M + 1_000, { a: 500 }), reading('ss01', T0 + 3 * H + 1, { a: -5 }, 'uncertain')];
    await plain.write(late);
    await sealed.write(late);
    await sealed.write(batches[3]!);
    await plain.write(batches[3]!);

    const ranges: [number, number][] = [
      [T0, T0 + D],
      [T0 + 17 * M + 5_000, T0 + 5 * H + 3 * M],
      [T0 + 2 * H + 15 * M, T0 + 2 * H + 45 * M],
      [T0 + 2 * H + 16 * M + 59_000, T0 + 2 * H + 17 * M + 4_000],
      [T0 + 3 * H - 1, T0 + 6 * H + 1],
    ];
    const check = async (): Promise<void> => {
      for (const [from, to] of ranges) {
        for (const bucket of ['raw', '1m', '15m', '1h', '1d'] as const) {
          for (const aggregate of ['mean', 'min', 'max', 'last'] as const) {
            const q: HistoryQuery = { asset: 'ss01', fields: ['a', 'b'], from, to, bucket, aggregate };
            const [x, y] = await Promise.all([plain.history(q), sealed.history(q)]);
            for (const f of ['a', 'b']) {
              const xs = x.series[f]!;
              const ys = y.series[f]!;
              expect(ys.map((p) => p.ts), `${bucket} ${aggregate} ${f} ${from}..${to}`).toEqual(xs.map((p) => p.ts));
              ys.forEach((p, i) => expect(p.value).toBeCloseTo(xs[i]!.value, 9));
            }
            if (bucket === 'raw') break;
          }
        }
      }
    };
    await check();
    await sealed.compact({ sealBefore: Infinity });
    await check();
    const full = await sealed.history({ asset: 'ss01', fields: ['a'], from: T0, to: T0 + D, bucket: 'raw', aggregate: 'mean' });
    expect(full.series['a']!.some((p) => p.value === 500)).toBe(true);
  });

  it('drops a retried sample once its time range is sealed, and keeps the last one while unsealed', async () => {
    const s = await openStore();
    await s.write([reading('ss01', T0, { x: 1 })]);
    await s.write([reading('ss01', T0, { x: 2 })]);
    const q: HistoryQuery = { asset: 'ss01', fields: ['x'], from: T0, to: T0 + H, bucket: 'raw', aggregate: 'mean' };
    expect((await s.history(q)).series['x']).toEqual([{ ts: T0, value: 2 }]);
    await s.compact({ sealBefore: Infinity });
    await s.write([reading('ss01', T0, { x: 3 })]);
    expect((await s.history(q)).series['x']).toEqual([{ ts: T0, value: 2 }]);
    expect((await s.history({ ...q, bucket: '1m' })).series['x']).toEqual([{ ts: T0, value: 2 }]);
  });

  it('deduplicates samples repeated before a restart when it seals after the reopen', async () => {
    await (await openStore()).write([reading('ss01', T0, { x: 1 })]);
    await stores[0]!.write([reading('ss01', T0, { x: 2 }), reading('ss01', T0 + M, { x: 3 })]);
    await stores.pop()!.close();
    const s = await openStore();
    await s.compact({ sealBefore: Infinity });
    const r = await s.history({ asset: 'ss01', fields: ['x'], from: T0, to: T0 + H, bucket: 'raw', aggregate: 'mean' });
    expect(r.series['x']).toEqual([
      { ts: T0, value: 2 },
      { ts: T0 + M, value: 3 },
    ]);
  });

  it('applies retention per resolution', async () => {
    const clock = new ManualClock(T0 + 6 * D);
    const s = await openStore({ clock, retention: { rawDays: 1, '1mDays': 2, '15mDays': 3, '1hDays': 4, '1dDays': 0 } });
    const batch: Reading[] = [];
    for (let day = 0; day < 6; day++) for (let h = 0; h < 24; h += 6) batch.push(reading('ss01', T0 + day * D + h * H, { x: day }));
    await s.write(batch);
    const result = await s.compact({ sealBefore: Infinity, retention: true });
    expect(result.retentionDeleted).toBeGreaterThan(0);
    const days = async (bucket: HistoryQuery['bucket']): Promise<number[]> => {
      const r = await s.history({ asset: 'ss01', fields: ['x'], from: T0, to: T0 + 6 * D, bucket, aggregate: 'max' });
      return [...new Set(r.series['x']!.map((p) => p.value))];
    };
    // Now is the start of day 6: raw keeps day 5, 1m days 4-5, 15m days 3-5, 1h days 2-5, 1d everything.
    expect(await days('raw')).toEqual([5]);
    expect(await days('1m')).toEqual([4, 5]);
    expect(await days('15m')).toEqual([3, 4, 5]);
    expect(await days('1h')).toEqual([2, 3, 4, 5]);
    expect(await days('1d')).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rebuilds latest values at open from the snapshot, unsealed samples and strings', async () => {
    let s = await openStore();
    await s.write([reading('ss01', T0, { x: 1, on: true, mode: 'auto' })]);
    await s.compact({ sealBefore: Infinity });
    await s.write([reading('ss01', T0 + M, { x: 2, note: 'after seal' }, 'uncertain')]);
    await s.write([reading('ss01', T0 + 2 * M, { mode: 7 })]);
    await s.close();
    stores.length = 0;
    s = await openStore();
    const latest = (await s.latest()).get('ss01');
    expect(latest?.get('x')).toEqual({ value: 2, ts: T0 + M, quality: 'uncertain' });
    expect(latest?.get('on')).toEqual({ value: true, ts: T0, quality: 'good' });
    expect(latest?.get('note')).toEqual({ value: 'after seal', ts: T0 + M, quality: 'uncertain' });
    expect(latest?.get('mode')).toEqual({ value: 7, ts: T0 + 2 * M, quality: 'good' });
    const r = await s.history({ asset: 'ss01', fields: ['mode'], from: T0, to: T0 + H, bucket: 'raw', aggregate: 'mean' });
    expect(r.series['mode']).toEqual([{ ts: T0 + 2 * M, value: 7 }]);
  });

  it('snapshots string values when there is nothing numeric to seal', async () => {
    let s = await openStore();
    await s.write([reading('ss01', T0, { mode: 'auto' })]);
    expect((await s.compact({ sealBefore: Infinity })).sealedRows).toBe(0);
    await s.close();
    stores.length = 0;
    s = await openStore();
    expect((await s.latest()).get('ss01')?.get('mode')).toEqual({ value: 'auto', ts: T0, quality: 'good' });
  });

  it('rejects a batch with an invalid timestamp and stores nothing of it', async () => {
    const s = await openStore();
    const bad = [reading('ss01', T0, { x: 1, fresh: 2 }), reading('ss01', T0 + 0.5, { x: 2 })];
    const err = await s.write(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarmgridError);
    expect((err as WarmgridError).code).toBe('VALIDATION_FAILED');
    expect(s.stats()).toMatchObject({ writeErrors: 1, series: 0, pending: 0 });
    expect((await s.health()).status).toBe('up');
    await s.write([reading('ss01', T0, { y: 3 })]);
    expect(s.stats().series).toBe(1);
    expect((await s.latest()).get('ss01')?.has('x')).toBe(false);
  });

  it('skips and counts values it cannot store', async () => {
    const s = await openStore();
    await s.write([reading('ss01', T0, { x: Number.NaN, y: Infinity, z: null as unknown as number, ok: 1 })]);
    expect(s.stats()).toMatchObject({ valuesSkipped: 3, rowsWritten: 1 });
    expect([...((await s.latest()).get('ss01')?.keys() ?? [])]).toEqual(['ok']);
  });

  it('seals on its timer, staying the grace period behind the newest data', async () => {
    const clock = new ManualClock(T0 + 3 * H);
    const s = await openStore({ clock, compactEveryMs: 1_000, sealUnitMs: H, sealGraceMs: 5 * M });
    await s.write([reading('ss01', T0 + 10 * M, { x: 1 }), reading('ss01', T0 + 2 * H + 4 * M, { x: 2 })]);
    clock.advance(1_000);
    const r = await s.compact();
    // Newest sample T0+2h04 minus 5 min grace rounds down to T0+1h: only the first sample is sealed.
    expect(r.watermark).toBe(T0 + H);
    expect(s.stats().seals).toBe(1);
  });

  it('refuses calls after close', async () => {
    const s = await openStore();
    await s.close();
    await expect(s.write([reading('ss01', T0, { x: 1 })])).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    expect((await s.health()).status).toBe('down');
  });
});
