/**
 * kill -9 of a hub while its store-and-forward buffer holds data, against a real remote (VictoriaMetrics through the
 * InfluxDB adapter's write path):
 *
 * 1. the remote is down; a child writes batches (all into the buffer) and is killed;
 * 2. the remote is up; a second child replays the backlog while writing new batches, and is killed in mid-replay;
 * 3. the buffer is opened once more and drained.
 *
 * Then the remote must hold every acknowledged batch exactly, plus possibly the batch in flight at a kill (whole or not
 * at all), nothing else; and repeated deliveries (which InfluxDB would fold) must not exceed the one replay request
 * in flight at the second kill, which shows the replay went on from the persisted position.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctSamples, VictoriaMetrics, victoriaMetricsMissing } from '../influx/victoria-metrics.ts';
import { CRASH_ASSETS, CRASH_FIELDS, CRASH_REPLAY_READINGS, crashBatchTs, crashStore, crashValue } from './crash-fixture.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const missing = victoriaMetricsMissing();
// CI must run these (exact counts), so there a missing binary fails instead of skipping.
if (missing && process.env['CI']) throw new Error(`VictoriaMetrics is required in CI: ${missing}`);
if (missing) console.warn(`VictoriaMetrics tests skipped: ${missing}`);

interface Run {
  lastAck: number;
  buffered: number;
  replayed: number;
}

/** Runs a child until `killWhen` holds, kills it with SIGKILL, and returns what it acknowledged. */
function runAndKill(dir: string, url: string, first: number, killWhen: (r: Run) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'crash-child.ts'), dir, url, String(first)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { lastAck: first - 1, buffered: 0, replayed: 0 };
    let buffered = '';
    let stderr = '';
    let killed = false;
    const take = (line: string): void => {
      const ack = /^ack (\d+)$/.exec(line);
      if (ack) run.lastAck = Number(ack[1]);
      const st = /^stats (\d+) (\d+)$/.exec(line);
      if (st) {
        run.buffered = Number(st[1]);
        run.replayed = Number(st[2]);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        take(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      if (!killed && killWhen(run)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const line of buffered.split('\n')) take(line);
      if (signal === 'SIGKILL') resolve(run);
      else reject(new Error(`child exited with ${code}: ${stderr}`));
    });
  });
}

describe.skipIf(missing !== null)(`store-and-forward buffer under kill -9 (VictoriaMetrics as the remote)${missing ? ` — skipped: ${missing}` : ''}`, () => {
  let vm: VictoriaMetrics;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-buffer-crash-'));

  beforeAll(async () => {
    vm = await VictoriaMetrics.start();
  });
  afterAll(async () => {
    await vm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replays what a killed hub had buffered, from where it stopped, losing and doubling nothing', async () => {
    // 1. Remote down: everything goes to the buffer.
    await vm.stop();
    const first = await runAndKill(dir, vm.url, 0, (r) => r.lastAck >= 150);
    expect(first.buffered).toBeGreaterThan(0);

    // 2. Remote up: the next hub replays the backlog and keeps writing; killed in mid-replay.
    await vm.start();
    // (Past 400 more batches the replay was missed; the child is stopped anyway and the checks below say so.)
    const second = await runAndKill(dir, vm.url, first.lastAck + 1, (r) => (r.replayed >= 2000 && r.buffered > 2000) || r.lastAck > first.lastAck + 400);
    expect(second.replayed).toBeGreaterThan(0);
    expect(second.buffered).toBeGreaterThan(0);

    // 3. Open once more and deliver the rest.
    const store = crashStore(dir, vm.url);
    await store.open();
    const recovery = store.stats().recovery;
    expect(recovery.cursorReset).toBe(false);
    await store.drained();
    await store.close();

    const got = distinctSamples(await vm.export('{__name__=~"crash_.*"}'));
    expect(got.conflicting).toBe(0);
    const lastAck = second.lastAck;
    let extra = 0;
    for (let a = 0; a < CRASH_ASSETS; a++) {
      for (let k = 0; k < CRASH_FIELDS; k++) {
        const series = got.byKey.get(`__name__=crash_f${k},asset=a${a},quality=good`);
        expect(series, `series a${a}/f${k}`).toBeDefined();
        for (let n = 0; n <= lastAck; n++) expect(series!.get(crashBatchTs(n)), `a${a}/f${k} batch ${n}`).toBe(crashValue(n, a, k));
        // Beyond the last acknowledgement only the batch in flight at the second kill may be there.
        const beyond = [...series!.keys()].filter((ts) => ts > crashBatchTs(lastAck));
        expect(beyond.every((ts) => ts === crashBatchTs(lastAck + 1))).toBe(true);
        extra += beyond.length;
      }
    }
    expect([0, CRASH_ASSETS * CRASH_FIELDS]).toContain(extra);
    expect(got.distinct).toBe((lastAck + 1) * CRASH_ASSETS * CRASH_FIELDS + extra);
    // Deliveries repeated by the kill: at most the replay request in flight (plus the batch in flight at kill 1).
    expect(got.raw - got.distinct).toBeLessThanOrEqual(2 * CRASH_REPLAY_READINGS * CRASH_FIELDS + CRASH_ASSETS * CRASH_FIELDS);
  }, 60_000);
});
