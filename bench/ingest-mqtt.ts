/**
 * bench/ingest-mqtt: thermostat readings per second from an MQTT broker into the embedded store through the real
 * pipeline (the `mqtt` source, QoS 1, PUBACK after durability), against a bare mqtt.js subscriber's receive rate from
 * the same broker in the same run.
 *
 * Brokers: the embedded broker (aedes, MQTT 3.1.1) in a child process, and Mosquitto (MQTT 5): at MQTT_URL when set,
 * else an instance of its own with the settings of docs/mqtt.md when the binary is installed, else whatever answers on
 * mqtt://127.0.0.1:1883; skipped with a note otherwise. Publishers run in another child
 * process (4 connections, QoS 1). The parent hands out publishing credit so the backlog stays below the hub's in-flight
 * window: the broker never has to drop or queue beyond it, and neither consumer is ever starved.
 *
 * Per broker, REPS rounds of: bare subscriber for SECONDS, then the hub for SECONDS (live: publishers running beside
 * them); then a drain of DRAIN messages left for each one's disconnected persistent session (only the broker and the
 * consumer run, so it measures the consumer, not the publishers). Medians reported. Live rates count from the first
 * credit to the last message received (bare) or the last reading made durable (hub); drain rates from connect. Memory (RSS, heap) of
 * this process, which runs the hub, is sampled every 250 ms; BENCH_MQTT_SOAK_S=300 adds a 5-minute hub run at the end
 * to show memory stays flat.
 *
 *   npm run bench -- ingest-mqtt        BENCH_MQTT_SECONDS=6 BENCH_MQTT_REPS=3 BENCH_MQTT_SOAK_S=0 BENCH_MQTT_DRAIN=300000 BENCH_MQTT_ONLY=aedes|mosquitto
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import mqtt from 'mqtt';
import { parse } from 'yaml';
import { AssetTree } from '../config/asset-tree.ts';
import { checkAgainst, DEFAULT_CONFIG_DIR } from '../config/load.ts';
import { HubFile, NetworkFile } from '../config/schema.ts';
import { systemClock } from '../core/clock.ts';
import { silentLogger } from '../core/log.ts';
import { createMetrics } from '../core/metrics.ts';
import { LiveBus } from '../ingest/live-bus.ts';
import { Pipeline } from '../ingest/pipeline.ts';
import { MqttSourceConfig } from '../ingest/sources/mqtt/config.ts';
import { mqttPlugin } from '../ingest/sources/mqtt/index.ts';
import { EmbeddedTelemetryStore } from '../store/embedded/embedded-store.ts';
import { DEFAULT_RETENTION } from '../store/telemetry-store.ts';
import { median, report } from './lib.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECONDS = Number(process.env['BENCH_MQTT_SECONDS'] ?? 6);
const REPS = Number(process.env['BENCH_MQTT_REPS'] ?? 3);
const SOAK_S = Number(process.env['BENCH_MQTT_SOAK_S'] ?? 0);
const CHUNK = 2_000;
const MAX_BACKLOG = 40_000;
/** Messages left for a disconnected session in each drain round (Mosquitto's max_queued_messages must allow it). */
const DRAIN = Number(process.env['BENCH_MQTT_DRAIN'] ?? 300_000);
const MIB = 2 ** 20;
const notes: string[] = [];

const network = checkAgainst(NetworkFile, parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), 'utf8')), 'network.yaml', [])!;
const hubDefaults = checkAgainst(HubFile, parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'hub.yaml'), 'utf8')), 'hub.yaml', [])!;
const assets = new AssetTree(network);
const apartments = assets.ofKind('apartment').map((a) => [a.path[a.path.length - 2]!, a.parent!, a.name] as [string, string, string]);

// ---------------------------------------------------------------------------------------------------------------------
// Children

/** Forks a helper script, sends it `hello` if given, and resolves with its first message. */
function child(script: string, hello?: Record<string, unknown>): Promise<{ proc: ChildProcess; first: Record<string, unknown> }> {
  const proc = fork(path.join(here, script), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  if (hello) proc.send(hello);
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve({ proc, first: m as Record<string, unknown> }));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 1883) });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

/** A free TCP port on loopback (closed again at once; Mosquitto binds it right after). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Mosquitto: MQTT_URL when set; else our own Mosquitto with the settings docs/mqtt.md asks for, when the binary is
 * installed; else a broker answering on 127.0.0.1:1883 (its settings are what they are); else none.
 */
async function mosquitto(): Promise<BrokerRun | null> {
  const url = process.env['MQTT_URL'];
  if (url) {
    if (await reachable(url)) {
      notes.push(`Mosquitto at MQTT_URL=${url}`);
      return { name: 'mosquitto', url, protocolVersion: 5, stop: async () => {} };
    }
    notes.push(`Mosquitto skipped: nothing answers at MQTT_URL=${url}`);
    return null;
  }
  const bin = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto'].find((f) => existsSync(f));
  if (bin) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-bench-mosquitto-'));
    const port = await freePort();
    writeFileSync(
      path.join(dir, 'mosquitto.conf'),
      [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_inflight_messages 0', 'max_queued_messages 1000000', ''].join('\n'),
    );
    const proc = spawn(bin, ['-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
    const mqttUrl = `mqtt://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && !(await reachable(mqttUrl)); i++) await new Promise((r) => setTimeout(r, 50));
    notes.push(`Mosquitto: own instance (${bin}; max_inflight_messages 0, max_queued_messages 1000000, persistence false)`);
    return {
      name: 'mosquitto',
      url: mqttUrl,
      protocolVersion: 5,
      stop: async () => {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  if (await reachable('mqtt://127.0.0.1:1883')) {
    notes.push('Mosquitto at mqtt://127.0.0.1:1883 with its own settings (max_queued_messages below ~50,000 may drop QoS 1 messages under load)');
    return { name: 'mosquitto', url: 'mqtt://127.0.0.1:1883', protocolVersion: 5, stop: async () => {} };
  }
  notes.push('Mosquitto skipped: MQTT_URL not set, no mosquitto binary, nothing on 127.0.0.1:1883');
  return null;
}

// ---------------------------------------------------------------------------------------------------------------------
// Memory

interface MemSample {
  t: number;
  rss: number;
  heap: number;
}
const memory: MemSample[] = [];
const heapAfterGc: number[] = [];
let sampling: NodeJS.Timeout | null = null;
function sampleMemory(on: boolean): void {
  if (on && !sampling) {
    sampling = setInterval(() => {
      const m = process.memoryUsage();
      memory.push({ t: performance.now(), rss: m.rss / MIB, heap: m.heapUsed / MIB });
    }, 250);
  } else if (!on && sampling) {
    clearInterval(sampling);
    sampling = null;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// One measured phase: credit publishers until `seconds` passed, then wait until everything was consumed.

interface PhaseResult {
  count: number;
  seconds: number;
  rate: number;
  lost: number;
  /** CPU time of this process (all threads) per message: less sensitive to other work on the machine than rates. */
  cpuUsPerMsg: number;
}

async function drive(pub: ChildProcess, prefix: string, seconds: number, consumed: () => number, lastAt: () => number): Promise<PhaseResult> {
  const baseTs = Date.now() - 30 * 60_000;
  let issued = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < seconds * 1000) {
    while (issued - consumed() < MAX_BACKLOG) {
      pub.send({ type: 'publish', prefix, count: CHUNK, baseTs });
      issued += CHUNK;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return drained(t0, cpu0, issued, consumed, lastAt);
}

async function bare(url: string, protocolVersion: 4 | 5, pub: ChildProcess, prefix: string, seconds: number): Promise<PhaseResult> {
  // receiveMaximum as the hub asks for it: Mosquitto otherwise applies max_inflight_messages (20) to an MQTT 5 client.
  const c = await mqtt.connectAsync(url, {
    protocolVersion,
    clientId: `bench-bare-${process.pid}-${prefix.replace(/\W/g, '')}`,
    clean: true,
    reconnectPeriod: 0,
    ...(protocolVersion === 5 ? { properties: { receiveMaximum: 65_535 } } : {}),
  });
  let n = 0;
  let lastAt = 0;
  c.on('message', () => {
    n++;
    lastAt = performance.now();
  });
  await c.subscribeAsync(`${prefix}/+/+/+/telemetry`, { qos: 1 });
  const r = await drive(pub, prefix, seconds, () => n, () => lastAt);
  await c.endAsync();
  return r;
}

/** Has the publisher put `count` messages into the broker now, for a persistent session that is offline. */
function fill(pub: ChildProcess, prefix: string, count: number): Promise<void> {
  return new Promise((resolve) => {
    const on = (m: { type?: string }): void => {
      if (m.type !== 'filled') return;
      pub.off('message', on);
      resolve();
    };
    pub.on('message', on);
    pub.send({ type: 'fill', prefix, count, baseTs: Date.now() - 30 * 60_000 });
  });
}

/** Waits until `consumed()` reaches `count` or stops moving for 15 s; the rate runs from `t0` to the last message. */
async function drained(t0: number, cpu0: NodeJS.CpuUsage, count: number, consumed: () => number, lastAt: () => number): Promise<PhaseResult> {
  let last = consumed();
  let idleSince = performance.now();
  while (consumed() < count) {
    await new Promise((r) => setTimeout(r, 20));
    if (consumed() !== last) {
      last = consumed();
      idleSince = performance.now();
    } else if (performance.now() - idleSince > 15_000) {
      break;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const n = consumed();
  const secs = (lastAt() - t0) / 1000;
  return { count: n, seconds: secs, rate: n / secs, lost: count - n, cpuUsPerMsg: (cpu.user + cpu.system) / n };
}

/**
 * Drain mode, bare: a persistent session subscribes and goes away, the publisher leaves DRAIN messages for it, and the
 * rate is how fast the subscriber takes that backlog when it returns (connect to last message). Only the broker and the
 * consumer run then, so the figure is the consumer's capacity, not the publishers'.
 */
async function bareDrain(url: string, protocolVersion: 4 | 5, pub: ChildProcess, prefix: string): Promise<PhaseResult> {
  const opts = {
    protocolVersion,
    clientId: `bench-bare-drain-${process.pid}-${prefix.replace(/\W/g, '')}`,
    clean: false,
    reconnectPeriod: 0,
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 600, receiveMaximum: 65_535 } } : {}),
  };
  const first = await mqtt.connectAsync(url, opts);
  await first.subscribeAsync(`${prefix}/+/+/+/telemetry`, { qos: 1 });
  await first.endAsync();
  await fill(pub, prefix, DRAIN);
  let n = 0;
  let lastAt = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const c = mqtt.connect(url, opts);
  c.on('message', () => {
    n++;
    lastAt = performance.now();
  });
  const r = await drained(t0, cpu0, DRAIN, () => n, () => lastAt);
  await c.endAsync();
  // A clean connect ends the session on the broker.
  await (await mqtt.connectAsync(url, { ...opts, clean: true, ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0 } } : {}) })).endAsync();
  return r;
}

interface HubRun {
  readonly durable: number;
  readonly lastAt: number;
  readonly rejected: number;
  stop(): Promise<void>;
}

/** The hub's MQTT source and pipeline into a fresh embedded store, as the hub wires them. */
async function startHub(url: string, protocolVersion: 4 | 5, prefix: string): Promise<HubRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-bench-mqtt-'));
  const store = new EmbeddedTelemetryStore({ dir, retention: DEFAULT_RETENTION });
  await store.open();
  const log = silentLogger();
  const pipeline = new Pipeline({
    assets,
    store,
    bus: new LiveBus(),
    clock: systemClock,
    log,
    metrics: createMetrics(),
    rules: hubDefaults.pipeline.rules,
    batchSize: hubDefaults.store.batchSize,
    flushMs: hubDefaults.store.flushMs,
    queueLimit: hubDefaults.store.queueLimit,
  });
  const run = { durable: 0, lastAt: 0, rejected: 0, stop: async () => {} };
  const cfg = Value.Default(
    MqttSourceConfig,
    Value.Convert(MqttSourceConfig, {
      id: 'bench',
      kind: 'mqtt',
      url,
      protocolVersion,
      clientId: `bench-hub-${process.pid}-${prefix.replace(/\W/g, '')}`,
      sessionExpirySec: 600,
      topics: [{ filter: `${prefix}/+/+/+/telemetry`, asset: '{2}-{3}', assetKind: 'apartment' }],
    }),
  ) as MqttSourceConfig;
  const source = mqttPlugin.create(cfg, {
    log,
    clock: systemClock,
    assets,
    templates: new Map(),
    emit: async (readings) => {
      await pipeline.ingest(readings);
      run.durable += readings.length;
      run.lastAt = performance.now();
    },
    reject: (reason, detail) => {
      if (run.rejected++ === 0) notes.push(`first rejection: ${reason}: ${detail}`);
    },
  });
  await source.start();
  run.stop = async () => {
    await source.stop();
    await pipeline.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    // Heap after a full GC at the end of each hub run: a leak shows as growth from run to run.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      heapAfterGc.push(process.memoryUsage().heapUsed / MIB);
    }
  };
  return run;
}

async function hub(url: string, protocolVersion: 4 | 5, pub: ChildProcess, prefix: string, seconds: number): Promise<PhaseResult & { rejected: number }> {
  const h = await startHub(url, protocolVersion, prefix);
  sampleMemory(true);
  const r = await drive(pub, prefix, seconds, () => h.durable, () => h.lastAt);
  sampleMemory(false);
  await h.stop();
  return { ...r, rejected: h.rejected };
}

/** Drain mode, hub: the source's session is made and left, DRAIN messages are left for it, then a new hub takes them. */
async function hubDrain(url: string, protocolVersion: 4 | 5, pub: ChildProcess, prefix: string): Promise<PhaseResult & { rejected: number }> {
  const before = await startHub(url, protocolVersion, prefix);
  await before.stop();
  await fill(pub, prefix, DRAIN);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  sampleMemory(true);
  const h = await startHub(url, protocolVersion, prefix);
  const r = await drained(t0, cpu0, DRAIN, () => h.durable, () => h.lastAt);
  sampleMemory(false);
  await h.stop();
  return { ...r, rejected: h.rejected };
}

// ---------------------------------------------------------------------------------------------------------------------

interface BrokerRun {
  name: string;
  url: string;
  protocolVersion: 4 | 5;
  stop(): Promise<void>;
}

/** Per round, the rate and CPU per message of the bare subscriber and of the hub. */
interface Rounds {
  hub: number[];
  bare: number[];
  hubCpu: number[];
  bareCpu: number[];
}

interface Measured {
  live: Rounds;
  drain: Rounds;
  lost: number;
  rejected: number;
}

async function measure(b: BrokerRun): Promise<Measured> {
  const { proc: pub } = await child('ingest-mqtt-publisher.ts', { type: 'start', url: b.url, connections: 4, window: 1000, apartments });
  const rounds = (): Rounds => ({ hub: [], bare: [], hubCpu: [], bareCpu: [] });
  const out: Measured = { live: rounds(), drain: rounds(), lost: 0, rejected: 0 };
  const record = (mode: 'live' | 'drain', rep: number, bareR: PhaseResult, hubR: PhaseResult & { rejected: number }): void => {
    const o = out[mode];
    o.bare.push(bareR.rate);
    o.hub.push(hubR.rate);
    o.bareCpu.push(bareR.cpuUsPerMsg);
    o.hubCpu.push(hubR.cpuUsPerMsg);
    out.lost += bareR.lost + hubR.lost;
    out.rejected += hubR.rejected;
    console.log(`${b.name} round ${rep + 1} ${mode}: bare ${Math.round(bareR.rate).toLocaleString('en-US')} msg/s (${bareR.count}), hub ${Math.round(hubR.rate).toLocaleString('en-US')} readings/s (${hubR.count})`);
  };
  for (let rep = 0; rep < REPS; rep++) {
    const tag = `wgbench${process.pid}-${b.name}${rep}`;
    const r1 = await bare(b.url, b.protocolVersion, pub, `${tag}b`, SECONDS);
    record('live', rep, r1, await hub(b.url, b.protocolVersion, pub, `${tag}h`, SECONDS));
    if (DRAIN > 0) {
      const d1 = await bareDrain(b.url, b.protocolVersion, pub, `${tag}db`);
      record('drain', rep, d1, await hubDrain(b.url, b.protocolVersion, pub, `${tag}dh`));
    }
  }
  if (SOAK_S > 0 && b.name === brokerForSoak) {
    const from = memory.length;
    const r = await hub(b.url, b.protocolVersion, pub, `wgbench${process.pid}-soak`, SOAK_S);
    const soak = memory.slice(from);
    const window = (lo: number, hi: number, k: 'rss' | 'heap'): number => median(soak.slice(Math.floor(soak.length * lo), Math.ceil(soak.length * hi)).map((m) => m[k]));
    soakFigures['soak_seconds'] = SOAK_S;
    soakFigures['soak_readings_per_s'] = r.rate;
    soakFigures['soak_rss_mib_at_10pct'] = window(0.05, 0.15, 'rss');
    soakFigures['soak_rss_mib_at_end'] = window(0.9, 1, 'rss');
    soakFigures['soak_heap_mib_at_10pct'] = window(0.05, 0.15, 'heap');
    soakFigures['soak_heap_mib_at_end'] = window(0.9, 1, 'heap');
    notes.push(`soak on ${b.name}: ${SOAK_S} s at ${Math.round(r.rate)} readings/s (${r.count} readings)`);
  }
  pub.send({ type: 'stop' });
  return out;
}

const ONLY = process.env['BENCH_MQTT_ONLY'];
const soakFigures: Record<string, number> = {};
let brokerForSoak = '';
const started = performance.now();
const loadBefore = os.loadavg()[0]!;
const brokers: BrokerRun[] = [];
if (ONLY !== 'mosquitto') {
  const { proc, first } = await child('ingest-mqtt-broker.ts');
  brokers.push({
    name: 'aedes',
    url: first['url'] as string,
    protocolVersion: 4,
    stop: async () => {
      proc.send({ type: 'stop' });
      await new Promise((r) => proc.once('exit', r));
    },
  });
}
if (ONLY !== 'aedes') {
  const m = await mosquitto();
  if (m) brokers.push(m);
}

// The soak runs on Mosquitto when there is one, else on the embedded broker.
brokerForSoak = brokers[brokers.length - 1]?.name ?? '';
const figures: Record<string, number | string | null> = {};
const baseline: Record<string, number> = {};
const ratios: Record<string, number> = {};
let lost = 0;
let rejected = 0;
for (const b of brokers) {
  const r = await measure(b);
  await b.stop();
  lost += r.lost;
  rejected += r.rejected;
  for (const mode of ['live', 'drain'] as const) {
    const o = r[mode];
    if (o.hub.length === 0) continue;
    // Live figures keep their first names (earlier results use them); drain figures say so.
    const k = mode === 'live' ? b.name : `${b.name}_drain`;
    figures[`${k}_hub_readings_per_s`] = median(o.hub);
    baseline[`${k}_bare_msgs_per_s`] = median(o.bare);
    ratios[k] = median(o.hub) / median(o.bare);
    figures[`${k}_ratio_vs_bare`] = ratios[k]!;
    figures[`${k}_hub_cpu_us_per_reading`] = median(o.hubCpu);
    baseline[`${k}_bare_cpu_us_per_msg`] = median(o.bareCpu);
  }
}

// Memory: the hub phases only; growth = last quarter vs second quarter of all samples (after warm-up).
const rss = memory.map((m) => m.rss);
const heap = memory.map((m) => m.heap);
const q = (xs: number[], from: number, to: number): number => median(xs.slice(Math.floor(xs.length * from), Math.max(Math.floor(xs.length * from) + 1, Math.floor(xs.length * to))));
figures['rss_mib_max'] = Math.max(...rss);
figures['rss_mib_growth'] = q(rss, 0.75, 1) - q(rss, 0.25, 0.5);
figures['heap_mib_max'] = Math.max(...heap);
figures['heap_mib_growth'] = q(heap, 0.75, 1) - q(heap, 0.25, 0.5);
figures['memory_samples'] = memory.length;
figures['heap_after_gc_mib_first_run'] = heapAfterGc[0] ?? null;
figures['heap_after_gc_mib_last_run'] = heapAfterGc[heapAfterGc.length - 1] ?? null;
Object.assign(figures, soakFigures);
figures['messages_lost'] = lost;
figures['rejected'] = rejected;
figures['seconds_per_phase'] = SECONDS;
figures['rounds'] = REPS;
figures['bench_seconds'] = (performance.now() - started) / 1000;
// Other work on the machine slows every figure, baselines included; the 1-minute load average says how much.
const loadAfter = os.loadavg()[0]!;
figures['load_avg_1m_start'] = loadBefore;
figures['load_avg_1m_end'] = loadAfter;
// At the start, the load says what else ran in the minute before; at the end it includes this bench's own three processes.
if (loadBefore > os.cpus().length / 2) {
  notes.push(`disturbed: 1-minute load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} on ${os.cpus().length} CPUs (other work was running); rerun when the machine is idle`);
}

// The rate target is checked on the drain figure when there is one: live, the publishers share the two cores with the
// broker and the consumer and cap both consumers at their publishing rate; draining a backlog, only the broker and the
// consumer run, which is the hub's own capacity.
const mosq = figures['mosquitto_drain_hub_readings_per_s'] ?? figures['mosquitto_hub_readings_per_s'];
const ratioOk = Object.values(ratios).every((r) => r >= 0.6);
const mosqOk = typeof mosq === 'number' && mosq >= 50_000;
if (typeof mosq !== 'number') notes.push('the Mosquitto target could not be checked');
notes.push('live: rates run from the first publishing credit to the last message received (bare) or reading made durable (hub)');
notes.push(`live: publishers in 1 process, 4 connections, QoS 1, window 1000; backlog capped at ${MAX_BACKLOG} messages by publishing credit`);
if (DRAIN > 0) notes.push(`drain: ${DRAIN} QoS 1 messages left for a disconnected persistent session, taken from connect to the last message received (bare) or made durable (hub)`);
report({
  name: 'ingest-mqtt',
  figures,
  baseline,
  targets: {
    ratio_vs_bare: 'hub stores >= 60 % of the bare mqtt.js receive rate, for each broker, live and drain',
    mosquitto_hub_readings_per_s: '>= 50,000 readings/s from Mosquitto at QoS 1 (the drain figure when measured)',
    memory: 'flat over the run (rss/heap growth near 0; BENCH_MQTT_SOAK_S=300 for 5 minutes)',
  },
  met: ratioOk && mosqOk && lost === 0,
  notes,
});
process.exit(0);
