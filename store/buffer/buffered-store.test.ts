/**
 * The store-and-forward buffer against an in-memory remote that the tests switch between up, down, slow and refusing:
 * what is buffered, what is replayed and in which order, the full policy, refusals, restarts, health and stats.
 * Against a real server (VictoriaMetrics through the InfluxDB adapter): buffered-store.int.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WarmgridError } from '../../core/errors.ts';
import type { Reading } from '../../ingest/reading.ts';
import { describeTelemetryStoreContract } from '../contract.ts';
import { EmbeddedTelemetryStore } from '../embedded/embedded-store.ts';
import { BufferedTelemetryStore, type BufferOptions } from './buffered-store.ts';
import { FakeRemote, FakeWireRemote } from './fake-remote.ts';

const T0 = Date.UTC(2026, 0, 15);

/** Batch n: one reading per asset a0..a(k-1) at T0 + n s, x = n, y = n * 10 + asset. */
function batch(n: number, assets = 3): Reading[] {
  return Array.from({ length: assets }, (_, a) => ({ asset: `a${a}`, ts: T0 + n * 1000, fields: { x: n, y: n * 10 + a }, quality: 'good' as const, source: 'test:b' }));
}

function key(r: Reading): string {
  return `${r.asset}@${r.ts}`;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('BufferedTelemetryStore', () => {
  let dir: string;
  let remote: FakeRemote;
  const stores: BufferedTelemetryStore[] = [];

  async function openStore(o: Partial<BufferOptions> = {}, r: FakeRemote = remote): Promise<BufferedTelemetryStore> {
    const s = new BufferedTelemetryStore(r, { dir, retryMinMs: 5, retryMaxMs: 20, refusedRetryMs: 30, directTimeoutMs: 200, ...o });
    await s.open();
    stores.push(s);
    return s;
  }

  async function closeStore(s: BufferedTelemetryStore): Promise<void> {
    stores.splice(stores.indexOf(s), 1);
    await s.close();
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-buffer-'));
    remote = new FakeRemote();
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes straight through while the remote is up, leaving nothing on disk', async () => {
    const s = await openStore();
    for (let n = 0; n < 5; n++) await s.write(batch(n));
    expect(remote.received).toHaveLength(15);
    expect(s.stats()).toMatchObject({ mode: 'direct', directBatches: 5, bufferedBatches: 0, rowsWritten: 15, batchesWritten: 5, pending: 0, bufferBytes: 0 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([]);
    expect(await s.health()).toMatchObject({ status: 'up', mode: 'direct' });
  });

  it('buffers while the remote is down and replays everything in order with the original timestamps', async () => {
    const s = await openStore();
    await s.write(batch(0));
    remote.mode = 'down';
    for (let n = 1; n <= 20; n++) await s.write(batch(n));
    expect(s.stats()).toMatchObject({ mode: 'buffering', bufferedBatches: 20, bufferReadings: 60, rowsWritten: 63 });
    const h = await s.health();
    expect(h).toMatchObject({ status: 'degraded', mode: 'buffering', bufferReadings: 60 });
    expect(h.detail).toMatch(/60 readings buffered on disk/);
    remote.mode = 'up';
    await s.drained();
    const expected = Array.from({ length: 21 }, (_, n) => batch(n)).flat();
    expect(remote.received).toEqual(expected);
    expect(s.stats()).toMatchObject({ mode: 'direct', replayedReadings: 60, bufferReadings: 0, bufferBytes: 0, oldestAgeMs: 0 });
    expect(await s.health()).toMatchObject({ status: 'up' });
  });

  it('queues live writes behind the backlog, so the remote sees every batch in write order', async () => {
    const s = await openStore({ replayMaxReadings: 6 });
    remote.mode = 'down';
    for (let n = 0; n < 30; n++) await s.write(batch(n));
    remote.latencyMs = 3;
    remote.mode = 'up';
    // Live data keeps coming while the backlog drains.
    for (let n = 30; n < 60; n++) {
      await s.write(batch(n));
      await new Promise((r) => setTimeout(r, 1));
    }
    await s.drained();
    expect(remote.received.map(key)).toEqual(Array.from({ length: 60 }, (_, n) => batch(n)).flat().map(key));
    expect(s.stats().replayedReadings).toBeGreaterThan(90);
  });

  it('buffers a write the remote takes too long for; a late landing of it only repeats equal points', async () => {
    const s = await openStore({ directTimeoutMs: 30 });
    remote.latencyMs = 80;
    await s.write(batch(0));
    expect(s.stats()).toMatchObject({ mode: 'buffering', bufferedBatches: 1 });
    remote.latencyMs = 0;
    await s.drained();
    await until('the slow write to land', () => remote.received.length === 6);
    const distinct = new Map(remote.received.map((r) => [key(r), JSON.stringify(r)]));
    expect(distinct.size).toBe(3);
    expect([...distinct.values()].map((v) => JSON.parse(v) as Reading)).toEqual(batch(0));
  });

  it('refuses new batches when full, reports down, and takes them again once the backlog is delivered', async () => {
    const s = await openStore({ maxBytes: 4096, segmentBytes: 1024 });
    remote.mode = 'down';
    const accepted: Reading[] = [];
    let refused: unknown;
    for (let n = 0; n < 200 && refused === undefined; n++) {
      try {
        await s.write(batch(n));
        accepted.push(...batch(n));
      } catch (err) {
        refused = err;
      }
    }
    expect(refused).toBeInstanceOf(WarmgridError);
    expect(refused).toMatchObject({ code: 'BACKPRESSURE', retryable: true });
    expect(s.stats().bufferBytes).toBeLessThanOrEqual(4096);
    expect(s.stats().refusedBatches).toBe(1);
    const h = await s.health();
    expect(h).toMatchObject({ status: 'down' });
    expect(h.detail).toMatch(/buffer full: new readings are refused/);
    remote.mode = 'up';
    await s.drained();
    await s.write(batch(1000));
    expect(remote.received).toEqual([...accepted, ...batch(1000)]);
    expect(await s.health()).toMatchObject({ status: 'up' });
  });

  it('isolates readings the remote refuses for their content, keeps them in dead-letter files, delivers the rest', async () => {
    const s = await openStore();
    remote.poison.add('a1');
    await s.write(batch(0, 8));
    remote.mode = 'down';
    await s.write(batch(1, 8));
    remote.mode = 'up';
    await s.drained();
    const delivered = new Set(remote.received.map(key));
    expect(delivered.size).toBe(14);
    expect([...delivered].some((k) => k.startsWith('a1@'))).toBe(false);
    expect(s.stats().deadLetteredReadings).toBe(2);
    const files = readdirSync(path.join(dir, 'dead-letter'));
    expect(files).toHaveLength(2);
    const kept = files.map((f) => JSON.parse(readFileSync(path.join(dir, 'dead-letter', f), 'utf8')) as { error: string; details: unknown; readings: Reading[] });
    expect(kept.flatMap((k) => k.readings).map(key).sort()).toEqual([`a1@${T0}`, `a1@${T0 + 1000}`]);
    expect(kept[0]!.details).toMatchObject({ reason: 'data', httpStatus: 422 });
    expect((await s.health()).status).toBe('degraded');
  });

  it('keeps everything while the remote refuses the credentials, and delivers once they work', async () => {
    const s = await openStore();
    remote.mode = 'auth';
    await s.write(batch(0));
    await s.write(batch(1));
    await new Promise((r) => setTimeout(r, 50));
    const h = await s.health();
    expect(h).toMatchObject({ status: 'degraded', httpStatus: 401, bufferReadings: 6 });
    expect(h.detail).toMatch(/auth/);
    remote.mode = 'up';
    await s.drained();
    expect(remote.received).toEqual([...batch(0), ...batch(1)]);
  });

  it('continues the replay from the persisted position after a restart', async () => {
    let s = await openStore({ replayMaxReadings: 3 });
    remote.mode = 'down';
    for (let n = 0; n < 10; n++) await s.write(batch(n));
    // Let the replay deliver a few batches, then stop the remote and the hub.
    remote.latencyMs = 20;
    remote.mode = 'up';
    await until('some batches delivered', () => remote.received.length >= 9);
    remote.mode = 'down';
    await closeStore(s);
    const delivered = remote.received.length;
    expect(delivered).toBeLessThan(30);
    expect(existsSync(path.join(dir, 'cursor.json'))).toBe(true);
    remote.mode = 'up';
    remote.latencyMs = 0;
    s = await openStore();
    expect(s.stats().recovery).toMatchObject({ tornBytes: 0, cursorReset: false });
    await s.drained();
    // Nothing lost, and nothing delivered twice: the cursor had moved past every delivered batch.
    expect(remote.received.map(key)).toEqual(Array.from({ length: 10 }, (_, n) => batch(n)).flat().map(key));
  });

  it('answers latest from the buffer while the remote is down, also after a restart', async () => {
    let s = await openStore();
    await s.write(batch(0));
    remote.mode = 'down';
    await s.write(batch(5));
    await s.write([{ asset: 'a0', ts: T0 + 3000, fields: { x: -1, mode: 'auto' }, quality: 'bad', source: 't:t' }]);
    const check = async (st: BufferedTelemetryStore): Promise<void> => {
      const l = await st.latest(['a0', 'a2']);
      expect([...l.keys()].sort()).toEqual(['a0', 'a2']);
      expect(l.get('a0')?.get('x')).toEqual({ value: 5, ts: T0 + 5000, quality: 'good' });
      expect(l.get('a0')?.get('mode')).toEqual({ value: 'auto', ts: T0 + 3000, quality: 'bad' });
      expect(l.get('a2')?.get('y')).toEqual({ value: 52, ts: T0 + 5000, quality: 'good' });
    };
    await check(s);
    await closeStore(s);
    s = await openStore();
    await check(s);
    remote.mode = 'up';
    await s.drained();
    await check(s);
  });

  it('closes promptly while a remote write hangs, keeping the batch for the next start', async () => {
    const s = await openStore({ directTimeoutMs: 50 });
    remote.latencyMs = 5000;
    await s.write(batch(0));
    const t0 = Date.now();
    await closeStore(s);
    expect(Date.now() - t0).toBeLessThan(3000);
    remote.latencyMs = 0;
    const again = await openStore();
    await again.drained();
    expect(new Set(remote.received.map(key)).size).toBe(3);
  });
});

describe('BufferedTelemetryStore with a remote wire format', () => {
  let dir: string;
  const stores: BufferedTelemetryStore[] = [];
  const strip = (r: Reading): Omit<Reading, 'source'> => ({ asset: r.asset, ts: r.ts, fields: r.fields, quality: r.quality });

  async function openStore(remote: FakeRemote): Promise<BufferedTelemetryStore> {
    const s = new BufferedTelemetryStore(remote, { dir, retryMinMs: 5, retryMaxMs: 20, directTimeoutMs: 200 });
    await s.open();
    stores.push(s);
    return s;
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-buffer-wire-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('encodes each batch once and replays the very entries it kept', async () => {
    const remote = new FakeWireRemote();
    const s = await openStore(remote);
    await s.write(batch(0));
    remote.mode = 'down';
    for (let n = 1; n <= 10; n++) await s.write(batch(n));
    remote.mode = 'up';
    await s.drained();
    expect(remote.encodings).toBe(33);
    expect(remote.received.map(strip)).toEqual(Array.from({ length: 11 }, (_, n) => batch(n)).flat().map(strip));
  });

  it('isolates refused entries into dead letters as lines', async () => {
    const remote = new FakeWireRemote();
    remote.poison.add('a2');
    const s = await openStore(remote);
    await s.write(batch(0, 4));
    // The good entries of a refused request may arrive twice (a partial write, then the isolating retries).
    expect([...new Set(remote.received.map(key))].sort()).toEqual([`a0@${T0}`, `a1@${T0}`, `a3@${T0}`]);
    const [file] = readdirSync(path.join(dir, 'dead-letter'));
    const kept = JSON.parse(readFileSync(path.join(dir, 'dead-letter', file!), 'utf8')) as { lines: string[] };
    expect(kept.lines).toEqual([`a2@${T0}|good|{"x":0,"y":2}`]);
  });

  it('delivers a log holding both kinds of records, in order', async () => {
    const plain = new FakeRemote();
    plain.mode = 'down';
    let s = await openStore(plain);
    await s.write(batch(0));
    await s.close();
    stores.length = 0;
    const remote = new FakeWireRemote();
    remote.mode = 'down';
    s = await openStore(remote);
    await s.write(batch(1));
    remote.mode = 'up';
    await s.drained();
    expect(remote.received.map(strip)).toEqual([...batch(0), ...batch(1)].map(strip));
  });
});

describeTelemetryStoreContract('embedded behind the store-and-forward buffer', async (dir) => {
  const remote = new EmbeddedTelemetryStore({ dir: path.join(dir, 'telemetry'), compactEveryMs: 0 });
  return new BufferedTelemetryStore(remote, { dir: path.join(dir, 'buffer') });
});
