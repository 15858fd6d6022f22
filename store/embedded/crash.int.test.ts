/**
 * kill -9 in the middle of writes, seals and checkpoints: every acknowledged batch must be there after a reopen, the
 * batch in flight either whole or absent, nothing else, and the file must open and take writes again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CRASH_ASSETS, CRASH_FIELDS, crashBatchTs, crashStoreOptions, crashValue } from './crash-fixture.ts';
import { EmbeddedTelemetryStore } from './embedded-store.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

/** Runs the child until it has acknowledged at least `minAcks` batches (plus a little), kills it, returns the last ack. */
function runAndKill(dir: string, first: number, minAcks: number, extraMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'crash-child.ts'), dir, String(first)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastAck = first - 1;
    let buffered = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | null = null;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^ack (\d+)$/.exec(line);
        if (m) lastAck = Number(m[1]);
      }
      if (!killTimer && lastAck - first + 1 >= minAcks) killTimer = setTimeout(() => child.kill('SIGKILL'), extraMs);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      // Lines the child wrote before dying still count: they were acknowledged.
      for (const line of buffered.split('\n')) {
        const m = /^ack (\d+)$/.exec(line);
        if (m) lastAck = Number(m[1]);
      }
      if (signal === 'SIGKILL') resolve(lastAck);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

/** Checks the store holds batches [0, lastAck] exactly, plus possibly the whole of batch lastAck + 1. */
async function verify(dir: string, lastAck: number): Promise<number> {
  const store = new EmbeddedTelemetryStore(crashStoreOptions(dir));
  await store.open();
  try {
    const inFlight = lastAck + 1;
    let inFlightSeen = 0;
    const from = crashBatchTs(0);
    const to = crashBatchTs(inFlight + 1);
    for (let a = 0; a < CRASH_ASSETS; a++) {
      const fields = Array.from({ length: CRASH_FIELDS }, (_, k) => `f${k}`);
      const r = await store.history({ asset: `a${a}`, fields, from, to: to + 1, bucket: 'raw', aggregate: 'mean' });
      for (let k = 0; k < CRASH_FIELDS; k++) {
        const pts = r.series[`f${k}`]!;
        const expected = Array.from({ length: lastAck + 1 }, (_, n) => ({ ts: crashBatchTs(n), value: crashValue(n, a, k) }));
        const extra = pts.length - expected.length;
        expect(extra === 0 || extra === 1, `a${a}/f${k}: ${pts.length} points for ${expected.length} acknowledged batches`).toBe(true);
        expect(pts.slice(0, expected.length)).toEqual(expected);
        if (extra === 1) {
          expect(pts[expected.length]).toEqual({ ts: crashBatchTs(inFlight), value: crashValue(inFlight, a, k) });
          inFlightSeen++;
        }
      }
    }
    // The batch in flight is one transaction: all of it or none.
    expect([0, CRASH_ASSETS * CRASH_FIELDS]).toContain(inFlightSeen);
    const newest = inFlightSeen > 0 ? inFlight : lastAck;
    const latest = await store.latest();
    expect(latest.get('a0')?.get('f0')?.ts).toBe(crashBatchTs(newest));
    expect(latest.get(`a${CRASH_ASSETS - 1}`)?.get('state')?.value).toBe(`batch ${newest}`);
    // The reopened file seals and takes writes.
    await store.compact({ sealBefore: Infinity });
    const mean = await store.history({ asset: 'a1', fields: ['f1'], from, to: to + 1, bucket: '1h', aggregate: 'max' });
    expect(mean.series['f1']!.at(-1)?.value).toBe(crashValue(newest, 1, 1));
    return newest;
  } finally {
    await store.close();
  }
}

describe('embedded store under kill -9', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged batch through two kills and reopens', async () => {
    let next = 0;
    for (const [minAcks, extraMs] of [
      [20, 37],
      [15, 11],
    ] as const) {
      const lastAck = await runAndKill(dir, next, minAcks, extraMs);
      expect(lastAck).toBeGreaterThanOrEqual(next + minAcks - 1);
      next = (await verify(dir, lastAck)) + 1;
    }
  }, 60_000);
});
