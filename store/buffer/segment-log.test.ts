import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, appendFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WarmgridError } from '../../core/errors.ts';
import { HEADER_BYTES } from './record.ts';
import { SegmentLog, type SegmentLogOptions } from './segment-log.ts';

const ALL = { maxReadings: 1e9, maxBytes: 1 << 20 };

function payload(i: number): Buffer {
  // 100 bytes each, numbered.
  return Buffer.from(`record ${String(i).padStart(4, '0')} `.padEnd(100, '.'));
}

function texts(records: { payload: Buffer }[]): number[] {
  return records.map((r) => Number(r.payload.toString().slice(7, 11)));
}

function segFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();
}

describe('SegmentLog', () => {
  let dir: string;
  const open: SegmentLog[] = [];
  // Three 124-byte records per 400-byte segment.
  const opts = (o: Partial<SegmentLogOptions> = {}): SegmentLogOptions => ({ dir, maxBytes: 4000, segmentBytes: 400, ...o });
  async function openLog(o: Partial<SegmentLogOptions> = {}): Promise<SegmentLog> {
    const l = await SegmentLog.open(opts(o));
    open.push(l);
    return l;
  }
  async function fill(l: SegmentLog, from: number, to: number): Promise<void> {
    for (let i = from; i < to; i++) await l.append(payload(i), i % 7 + 1);
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-seglog-'));
  });
  afterEach(async () => {
    for (const l of open.splice(0)) await l.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends into segments of bounded size and reads back in order', async () => {
    const l = await openLog();
    await fill(l, 0, 10);
    expect(segFiles(dir)).toHaveLength(4);
    for (const f of segFiles(dir)) expect(statSync(path.join(dir, f)).size).toBeLessThanOrEqual(400);
    expect(l.stats()).toMatchObject({ records: 10, readings: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].reduce((n, i) => n + (i % 7) + 1, 0), bytes: 10 * (HEADER_BYTES + 100), segments: 4 });
    const got: number[] = [];
    for (;;) {
      const rs = await l.read({ maxReadings: 5, maxBytes: 1 << 20 });
      if (rs.length === 0) break;
      got.push(...texts(rs));
      await l.commit(rs);
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Delivered segments are deleted, the emptied tail too.
    expect(segFiles(dir)).toEqual([]);
    expect(l.stats()).toMatchObject({ records: 0, readings: 0, bytes: 0, oldestAppendedAt: null });
    await fill(l, 10, 11);
    expect(texts(await l.read(ALL))).toEqual([10]);
  });

  it('limits a read by readings and bytes but always returns one record', async () => {
    const l = await openLog();
    await fill(l, 0, 3);
    expect(texts(await l.read({ maxReadings: 1, maxBytes: 1 << 20 }))).toEqual([0]);
    expect(texts(await l.read({ maxReadings: 3, maxBytes: 1 << 20 }))).toEqual([0, 1]);
    expect(texts(await l.read({ maxReadings: 100, maxBytes: 10 }))).toEqual([0]);
    expect(texts(await l.read({ maxReadings: 100, maxBytes: 2 * (HEADER_BYTES + 100) }))).toEqual([0, 1]);
  });

  it('continues from the persisted cursor after a reopen', async () => {
    const l = await openLog();
    await fill(l, 0, 8);
    const first = await l.read({ maxReadings: 6, maxBytes: 1 << 20 });
    await l.commit(first);
    expect(texts(first)).toEqual([0, 1, 2]);
    await l.close();
    open.length = 0;
    const again = await openLog();
    expect(again.report).toMatchObject({ records: 5, tornBytes: 0, corruptBytes: 0, cursorReset: false });
    expect(texts(await again.read(ALL))).toEqual([3, 4, 5]);
    expect(JSON.parse(readFileSync(path.join(dir, 'cursor.json'), 'utf8'))).toEqual(again.cursor);
  });

  it('drops a torn record at the end (a crash during an append) and keeps appending after it', async () => {
    const l = await openLog();
    await fill(l, 0, 5);
    await l.close();
    open.length = 0;
    const tail = path.join(dir, segFiles(dir).at(-1)!);
    truncateSync(tail, statSync(tail).size - 30);
    const recovered: number[] = [];
    const again = await openLog({ onRecovered: (p) => recovered.push(Number(p.toString().slice(7, 11))) });
    expect(again.report).toMatchObject({ records: 4, tornBytes: HEADER_BYTES + 100 - 30, corruptBytes: 0 });
    expect(recovered).toEqual([0, 1, 2, 3]);
    await fill(again, 5, 6);
    const got: number[] = [];
    for (let rs = await again.read(ALL); rs.length > 0; rs = await again.read(ALL)) {
      got.push(...texts(rs));
      await again.commit(rs);
    }
    expect(got).toEqual([0, 1, 2, 3, 5]);
  });

  it('drops half a header and garbage at the end', async () => {
    const l = await openLog();
    await fill(l, 0, 2);
    await l.close();
    open.length = 0;
    const tail = path.join(dir, segFiles(dir).at(-1)!);
    appendFileSync(tail, Buffer.from([0x57, 0x47, 0x42]));
    let again = await openLog();
    expect(again.report).toMatchObject({ records: 2, tornBytes: 3 });
    await again.close();
    open.length = 0;
    appendFileSync(tail, Buffer.alloc(50, 0xab));
    again = await openLog();
    expect(again.report).toMatchObject({ records: 2, tornBytes: 50 });
    expect(statSync(tail).size).toBe(2 * (HEADER_BYTES + 100));
  });

  it('skips the damaged rest of an older segment and reads the segments after it', async () => {
    const l = await openLog();
    await fill(l, 0, 9);
    await l.close();
    open.length = 0;
    const second = path.join(dir, segFiles(dir)[1]!);
    const bytes = readFileSync(second);
    bytes[HEADER_BYTES + 100 + 40] = bytes[HEADER_BYTES + 100 + 40]! ^ 0xff; // inside record 4's payload
    writeFileSync(second, bytes);
    const again = await openLog();
    expect(again.report).toMatchObject({ records: 7, corruptBytes: 2 * (HEADER_BYTES + 100) });
    const got: number[] = [];
    for (let rs = await again.read(ALL); rs.length > 0 || !again.empty; rs = await again.read(ALL)) {
      got.push(...texts(rs));
      await again.commit(rs);
    }
    expect(got).toEqual([0, 1, 2, 3, 6, 7, 8]);
  });

  it('refuses an append that would pass maxBytes, and takes appends again once segments are delivered', async () => {
    const l = await openLog({ maxBytes: 1000 });
    await fill(l, 0, 8);
    const err = await l.append(payload(8), 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WarmgridError);
    expect(err).toMatchObject({ code: 'BACKPRESSURE', retryable: true });
    expect(l.stats()).toMatchObject({ records: 8, bytes: 8 * (HEADER_BYTES + 100) });
    await l.commit(await l.read({ maxReadings: 1e9, maxBytes: 3 * (HEADER_BYTES + 100) }));
    await l.append(payload(8), 1);
    expect(l.stats().records).toBe(6);
  });

  it('starts from the oldest segment when the cursor is missing, and from its segment start when it is off a boundary', async () => {
    const l = await openLog();
    await fill(l, 0, 5);
    await l.commit(await l.read({ maxReadings: 1, maxBytes: 1 << 20 }));
    await l.close();
    open.length = 0;
    rmSync(path.join(dir, 'cursor.json'));
    let again = await openLog();
    expect(again.report.cursorReset).toBe(true);
    expect(texts(await again.read(ALL))).toEqual([0, 1, 2]);
    await again.close();
    open.length = 0;
    writeFileSync(path.join(dir, 'cursor.json'), JSON.stringify({ segment: again.cursor.segment + 1, offset: 17 }));
    again = await openLog();
    expect(again.report.cursorReset).toBe(true);
    expect(texts(await again.read(ALL))).toEqual([3, 4]);
    expect(existsSync(path.join(dir, segFiles(dir)[0]!))).toBe(true);
    expect(segFiles(dir)).toHaveLength(1);
  });

  it('reports the append time of the oldest undelivered record', async () => {
    let now = 1000;
    const clock = { now: () => now, setTimeout, clearTimeout } as unknown as SegmentLogOptions['clock'];
    const l = await openLog({ clock: clock! });
    await l.append(payload(0), 1);
    now = 2000;
    await l.append(payload(1), 1);
    expect(l.stats().oldestAppendedAt).toBe(1000);
    await l.commit(await l.read({ maxReadings: 1, maxBytes: 1 << 20 }));
    expect(l.stats().oldestAppendedAt).toBe(2000);
  });
});
