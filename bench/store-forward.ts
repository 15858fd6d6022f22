/**
 * bench/store-forward: the store-and-forward buffer in front of the InfluxDB adapter, writing to a real server that
 * takes InfluxDB line protocol (VictoriaMetrics, started here on a free loopback port; no InfluxDB 2 on this machine).
 *
 * 1. Throughput, remote healthy: readings/s written one batch at a time (as the pipeline's batch writer does)
 *    through the buffer (direct mode), against the baseline measured in the same run: the same batches written
 *    straight to the InfluxDB adapter. The two alternate batch by batch, so other load on the machine hits both alike;
 *    five rounds, medians (the cost is the median of the per-round ratios). The hub process's CPU time per reading
 *    in each (its own work plus gzip on libuv's threads) shows the cost without the noise of other load.
 * 2. Outage and replay: the server is stopped; a 5-minute outage at the live load is simulated by writing its backlog
 *    (LIVE_RPS × 300 s of readings, with timestamps spread over the 5 minutes) into the buffer as fast as it takes
 *    them, instead of waiting 5 real minutes. Then the server starts while live data keeps coming at LIVE_RPS, and
 *    we time until the buffer is empty (everything delivered, live data included, back in direct mode).
 *
 * Readings: 1,000 substations × 20 fields; batches of 5,000 readings (throughput) and 500 every 250 ms (live load,
 * the pipeline's flushMs). Knobs: BENCH_SF_LIVE_RPS (default 2,000), BENCH_SF_OUTAGE_S (300), BENCH_SF_PHASE_S (4; a round is twice that).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Reading } from '../ingest/reading.ts';
import { BufferedTelemetryStore } from '../store/buffer/buffered-store.ts';
import { InfluxTelemetryStore } from '../store/influx/influx-store.ts';
import { flatPlaces } from '../store/influx/line-protocol.ts';
import { VictoriaMetrics, victoriaMetricsMissing } from '../store/influx/victoria-metrics.ts';
import { median, quantile, report } from './lib.ts';

const ASSETS = 1000;
const FIELDS = 20;
const THROUGHPUT_BATCH = 5000;
const LIVE_BATCH = 500;
const LIVE_RPS = Number(process.env['BENCH_SF_LIVE_RPS'] ?? 2000);
const OUTAGE_S = Number(process.env['BENCH_SF_OUTAGE_S'] ?? 300);
const PHASE_S = Number(process.env['BENCH_SF_PHASE_S'] ?? 4);
const ROUNDS = 5;
const T0 = Date.UTC(2026, 0, 1);
const fieldNames = Array.from({ length: FIELDS }, (_, k) => `f${String(k).padStart(2, '0')}_c`);

const missing = victoriaMetricsMissing();
if (missing) {
  console.error(`bench/store-forward needs VictoriaMetrics: ${missing}`);
  process.exit(1);
}

/** Readings number `first` .. `first + n - 1`: asset i % ASSETS, `perSecond` readings per second of timestamps. */
function readings(first: number, n: number, base: number, perSecond = ASSETS): Reading[] {
  const out = new Array<Reading>(n);
  for (let j = 0; j < n; j++) {
    const i = first + j;
    const a = i % ASSETS;
    const fields: Record<string, number> = {};
    for (let k = 0; k < FIELDS; k++) fields[fieldNames[k]!] = Math.round((60 + 15 * Math.sin(i / 5000 + a + k)) * 100) / 100;
    out[j] = { asset: `ss${String(a).padStart(4, '0')}`, ts: base + Math.floor((i * 1000) / perSecond), fields, quality: 'good', source: 'bench:sf' };
  }
  return out;
}

function influx(url: string): InfluxTelemetryStore {
  return new InfluxTelemetryStore({ url, org: 'warmgrid', bucket: 'telemetry', token: 'bench', place: flatPlaces('bench'), checkOnOpen: false });
}

async function vmInserted(vm: VictoriaMetrics): Promise<number> {
  const text = await (await fetch(`${vm.url}/metrics`)).text();
  const m = /^vm_rows_inserted_total\{type="influx"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

interface Writer {
  write(b: readonly Reading[]): Promise<void>;
}

/**
 * Writes THROUGHPUT_BATCH-reading batches one after another for `seconds`, alternating batch by batch between the
 * stores (the first store of each pair alternating too), so load from other processes hits both alike. Readings/s of
 * each store: readings written / time spent in its writes.
 */
async function throughput(stores: readonly Writer[], seconds: number, base: number): Promise<{ rates: number[]; cpuUsPerReading: number[] }> {
  const batches: Reading[][] = Array.from({ length: 8 }, (_, b) => readings(b * THROUGHPUT_BATCH, THROUGHPUT_BATCH, base));
  const spent = stores.map(() => 0);
  const cpu = stores.map(() => 0);
  const written = stores.map(() => 0);
  const end = performance.now() + seconds * 1000;
  for (let b = 0; performance.now() < end; b++) {
    for (let j = 0; j < stores.length; j++) {
      const i = (j + b) % stores.length;
      // Fresh timestamps for every batch and store: a prepared batch shifted in time (generation stays out of the timing).
      const shift = (b * stores.length + i) * 10_000;
      const src = batches[b % batches.length]!.map((r) => ({ ...r, ts: r.ts + shift }));
      const t = performance.now();
      const c = process.cpuUsage();
      await stores[i]!.write(src);
      const dc = process.cpuUsage(c);
      spent[i]! += performance.now() - t;
      cpu[i]! += dc.user + dc.system;
      written[i]! += src.length;
    }
  }
  return { rates: spent.map((ms, i) => written[i]! / (ms / 1000)), cpuUsPerReading: cpu.map((us, i) => us / written[i]!) };
}

const started = performance.now();
const load0 = os.loadavg()[0]!;
const vm = await VictoriaMetrics.start();
const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-bench-sf-'));
const notes: string[] = [];
try {
  // 1. Throughput, remote healthy.
  const direct = influx(vm.url);
  await direct.open();
  const buffered = new BufferedTelemetryStore(influx(vm.url), { dir: path.join(dir, 'throughput') });
  await buffered.open();
  const directRates: number[] = [];
  const bufferedRates: number[] = [];
  const ratios: number[] = [];
  const directCpu: number[] = [];
  const bufferedCpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const { rates, cpuUsPerReading } = await throughput([direct, buffered], PHASE_S * 2, T0 + round * 86_400_000);
    const [d, b] = rates as [number, number];
    directRates.push(d);
    bufferedRates.push(b);
    ratios.push(b / d);
    directCpu.push(cpuUsPerReading[0]!);
    bufferedCpu.push(cpuUsPerReading[1]!);
  }
  if (buffered.stats().bufferedBatches !== 0) notes.push('the buffer went to disk during the throughput phase (a slow write)');
  await buffered.close();
  await direct.close();
  const directRate = median(directRates);
  const bufferedRate = median(bufferedRates);

  // 2. Outage: the backlog of OUTAGE_S seconds at LIVE_RPS goes to disk.
  await vm.stop();
  const store = new BufferedTelemetryStore(influx(vm.url), { dir: path.join(dir, 'outage'), maxBytes: 4 * 1024 ** 3, segmentBytes: 64 * 1024 ** 2 });
  await store.open();
  const outageBase = T0 + 10 * 86_400_000;
  const backlog = LIVE_RPS * OUTAGE_S;
  const tb = performance.now();
  for (let i = 0; i < backlog; i += LIVE_BATCH) await store.write(readings(i, Math.min(LIVE_BATCH, backlog - i), outageBase, LIVE_RPS));
  const appendS = (performance.now() - tb) / 1000;
  const afterOutage = store.stats();

  // 3. The server returns; live data keeps coming at LIVE_RPS while the backlog replays.
  const inserted0 = await vmInserted(vm).catch(() => NaN);
  await vm.start();
  const tr = performance.now();
  let live = 0;
  const liveLatency: number[] = [];
  let liveDone = false;
  const liveLoop = (async () => {
    const every = (LIVE_BATCH / LIVE_RPS) * 1000;
    let next = performance.now();
    while (!liveDone) {
      const t = performance.now();
      await store.write(readings(backlog + live, LIVE_BATCH, outageBase, LIVE_RPS));
      liveLatency.push(performance.now() - t);
      live += LIVE_BATCH;
      next += every;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  await store.drained(5);
  const replayS = (performance.now() - tr) / 1000;
  liveDone = true;
  await liveLoop;
  const afterReplay = store.stats();
  await store.close();
  const inserted = (await vmInserted(vm)) - (Number.isNaN(inserted0) ? 0 : inserted0);
  const sentValues = (backlog + live) * FIELDS;
  const drainedReadings = afterReplay.replayedReadings;
  const capacity = drainedReadings / replayS;
  const load1 = os.loadavg()[0]!;
  const totalS = (performance.now() - started) / 1000;
  notes.push(`1-minute load average ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at the end (2 cores; the server runs on the same machine)`);
  notes.push(`the ${OUTAGE_S} s outage is simulated: its backlog (${backlog.toLocaleString('en-US')} readings at ${LIVE_RPS.toLocaleString('en-US')}/s) is written into the buffer while the server is down, without waiting ${OUTAGE_S} s`);

  const bufferCost = 1 - median(ratios);
  const met = bufferCost < 0.2 && replayS < 60 && inserted >= sentValues;
  report({
    name: 'store-forward',
    figures: {
      readings_fields: FIELDS,
      through_buffer_readings_per_s_median: bufferedRate,
      through_buffer_values_per_s_median: bufferedRate * FIELDS,
      buffer_cost_pct: bufferCost * 100,
      buffer_cost_pct_per_round: ratios.map((r) => ((1 - r) * 100).toFixed(1)).join(' / '),
      through_buffer_hub_cpu_us_per_reading: median(bufferedCpu),
      live_readings_per_s: LIVE_RPS,
      outage_s: OUTAGE_S,
      backlog_readings: backlog,
      backlog_mib: afterOutage.bufferBytes / 2 ** 20,
      append_to_disk_readings_per_s: backlog / appendS,
      replay_s: replayS,
      replay_backlog_readings_per_s: backlog / replayS,
      delivered_during_replay_readings_per_s: capacity,
      live_readings_during_replay: live,
      live_write_ms_p50: quantile(liveLatency, 0.5),
      live_write_ms_p99: quantile(liveLatency, 0.99),
      largest_live_rps_for_1_min_replay: capacity / 6,
      values_sent: sentValues,
      values_delivered: inserted,
      bench_seconds: totalS,
    },
    baseline: {
      direct_readings_per_s_median: directRate,
      direct_values_per_s_median: directRate * FIELDS,
      direct_hub_cpu_us_per_reading: median(directCpu),
    },
    targets: {
      buffer_cost_pct: '< 20 % of the direct write rate',
      replay_s: `a ${OUTAGE_S / 60}-minute backlog replays in < 60 s while live data keeps flowing`,
      values_delivered: '>= values_sent (nothing lost)',
    },
    met,
    notes,
  });
} finally {
  await vm.close();
  rmSync(dir, { recursive: true, force: true });
}
