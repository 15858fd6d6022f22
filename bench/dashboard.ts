/**
 * bench/dashboard: the wall display with a whole city live — 2,000 substations polled over Modbus TCP and 100,000
 * apartments' thermostats over MQTT, all from the simulators — in headless Chromium at 1920×1080.
 *
 * What runs: the simulators in a child process (bench/dashboard-sim.ts: model, Modbus face with 9 gateways, MQTT face
 * publishing every thermostat once a minute and the weather station every 2 s); the embedded MQTT broker and a real
 * hub (sources, pipeline, embedded store, alarms, tickets, control, live socket) in this process, as `npm start` runs
 * them; Chromium with the built dashboard's wall, opened by a display-token link.
 *
 * Figures:
 * - first load: navigation start (the display link) to the wall showing live values (its `wall-ready` mark), and to
 *   every apartment's value being in; the wall is opened LOADS times, each in a fresh browser context (empty cache,
 *   new session), and the figures are medians (the longest is reported too); the last opening stays for the run;
 * - latency, value change at a simulator → browser DOM: every few seconds the weather station's outdoor sensor is
 *   pinned to a new value (a sensor_stuck fault through the simulators' control API); the moment the simulator
 *   publishes it is taken from a subscriber on the broker, the moment the wall's outdoor-temperature figure shows it
 *   from a MutationObserver in the page (both on this machine's clock). This is the path every live value takes
 *   (source → pipeline → live socket → page); Modbus values add the poll interval before it;
 * - frames at steady state (from `warm-up` after the wall is ready to the end): requestAnimationFrame intervals, and
 *   long tasks (main thread busy > 50 ms) from a PerformanceObserver;
 * - memory: the page's JS heap (CDP Performance.getMetrics) right after a full collection (CDP HeapProfiler), once a
 *   minute, first minute against last; frames and long tasks overlapping those forced collections are left out.
 * Baseline, same run: a bare WebSocket client of the hub subscribed to the weather station (no browser): publish →
 * message on the socket.
 *
 *   npm run bench -- dashboard                                   10 minutes (the ask)
 *   BENCH_DASHBOARD_MINUTES=2 npm run bench -- dashboard         a quick check
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { chromium, type CDPSession } from 'playwright-core';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { buildDashboard } from '../dashboard/build.ts';
import { silentLogger } from '../core/log.ts';
import { startEmbeddedBroker } from '../ingest/broker/embedded-broker.ts';
import { syntheticNetwork } from '../simulators/tools/synthetic-network.ts';
import { startTestHub } from '../test/helpers/hub.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/e2e/chromium.ts';
import { median, quantile, report, type Figures } from './lib.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const MINUTES = Number(env['BENCH_DASHBOARD_MINUTES'] ?? 10);
const WARMUP_S = Number(env['BENCH_DASHBOARD_WARMUP_S'] ?? 60);
const SUBSTATIONS = Number(env['BENCH_DASHBOARD_SUBSTATIONS'] ?? 2000);
const NETWORKS = 10;
const BUILDINGS = 5;
const FLOORS = 5;
const UNITS = 2;
const POLL_MS = Number(env['BENCH_DASHBOARD_POLL_MS'] ?? 10_000);
const PUBLISH_S = 60;
const WEATHER_S = 2;
const PROBE_MS = 4000;
/** Openings of the wall, each in a fresh browser context; first-load figures are their medians. */
const LOADS = Number(env['BENCH_DASHBOARD_LOADS'] ?? 5);
const SETTLE_H = 6;
/** BENCH_DASHBOARD_PROFILE=1: a 20 s CPU profile of the page at steady state, its top functions printed. */
const PROFILE = env['BENCH_DASHBOARD_PROFILE'] === '1';
/** BENCH_DASHBOARD_HEAPDIFF=1: heap snapshots of the page at the first and the last minute, growth by constructor printed. */
const HEAPDIFF = env['BENCH_DASHBOARD_HEAPDIFF'] === '1';

/** The page's heap, counted by node type and constructor name: count and self size. */
async function heapCensus(cdp: CDPSession): Promise<Map<string, { n: number; bytes: number }>> {
  const chunks: string[] = [];
  const on = (e: { chunk: string }) => chunks.push(e.chunk);
  cdp.on('HeapProfiler.addHeapSnapshotChunk', on);
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  cdp.off('HeapProfiler.addHeapSnapshotChunk', on);
  const snap = JSON.parse(chunks.join('')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const f = snap.snapshot.meta.node_fields;
  const width = f.length;
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { n: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!]!;
    const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '' : snap.strings[snap.nodes[i + iName]!]!.slice(0, 60);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { n: 0, bytes: 0 };
    e.n++;
    e.bytes += snap.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => console.log(`[dashboard] ${new Date().toISOString().slice(11, 19)} ${msg}`);

/** The synthetic city: 2 heat sources × 5 networks (districts) × 200 substations × 5 buildings × 10 flats. */
function city(): Record<string, unknown> {
  const base = syntheticNetwork({ substations: SUBSTATIONS, buildingsPerSubstation: BUILDINGS, floors: FLOORS, unitsPerFloor: UNITS, weatherStations: 1 }) as {
    heatSources: { networks: { substations: unknown[] }[] }[];
  } & Record<string, unknown>;
  const all = base.heatSources[0]!.networks[0]!.substations;
  const per = Math.ceil(all.length / NETWORKS);
  const networks = Array.from({ length: NETWORKS }, (_, k) => ({ id: `net${k + 1}`, name: `District ${k + 1}`, substations: all.slice(k * per, (k + 1) * per) }));
  return {
    ...base,
    heatSources: [
      { id: 'hs1', name: 'North CHP', kind: 'chp', networks: networks.slice(0, NETWORKS / 2) },
      { id: 'hs2', name: 'South boilers', kind: 'boiler', networks: networks.slice(NETWORKS / 2) },
    ],
  };
}

function ticketsYaml(): string {
  return stringify({
    policy: { raise: { low: false, medium: true, high: true, critical: true }, resolveOnReturn: { low: true, medium: true, high: false, critical: false } },
    sla: { critical: { respondMinutes: 30, resolveHours: 4 }, high: { respondMinutes: 60, resolveHours: 8 }, medium: { respondMinutes: 240, resolveHours: 24 }, low: { respondMinutes: 1440, resolveHours: 72 } },
    teams: [
      { id: 'crew-north', name: 'North crew', areas: ['hs1'] },
      { id: 'crew-south', name: 'South crew', areas: ['hs2'] },
    ],
    defaultTeam: 'crew-north',
    webhooks: { endpoints: [] },
  });
}

function sourcesYaml(mqttUrl: string, ports: readonly number[], ids: readonly string[]): string {
  return stringify({
    sources: [
      {
        id: 'mqtt-city',
        kind: 'mqtt',
        url: mqttUrl,
        protocolVersion: 4,
        clientId: `bench-dashboard-hub-${process.pid}`,
        topics: [
          { filter: 'warmgrid/+/+/+/telemetry', asset: '{2}-{3}', assetKind: 'apartment' },
          { filter: 'warmgrid/weather/+/telemetry', asset: '{2}', assetKind: 'weather_station' },
        ],
      },
      {
        id: 'modbus-city',
        kind: 'modbus',
        defaults: { template: 'substation-modbus', host: '127.0.0.1', port: ports[0], intervalMs: POLL_MS, timeoutMs: 2000 },
        devices: ids.map((asset, i) => ({ asset, unitId: (i % 247) + 1, port: ports[Math.floor(i / 247)] })),
      },
    ],
  });
}

/** Frame and long-task recorders, installed before the page's own scripts. */
const PAGE_PROBES = `
  window.__bench = { frames: [], longTasks: [], dom: [] };
  (() => {
    let last = performance.now();
    const tick = (t) => { window.__bench.frames.push([performance.timeOrigin + t, t - last]); last = t; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    try {
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__bench.longTasks.push([performance.timeOrigin + e.startTime, e.duration]); })
        .observe({ type: 'longtask', buffered: true });
    } catch {}
  })();
`;

/** Watches the outdoor-temperature figure; each change is recorded with the wall clock. */
const WATCH_OUTDOOR = `
  (() => {
    const el = document.querySelector('[data-kpi="outdoor"] [data-value]');
    const rec = () => window.__bench.dom.push([Date.now(), el.textContent]);
    rec();
    new MutationObserver(rec).observe(el, { characterData: true, childList: true, subtree: true });
  })();
`;

interface Drained {
  frames: [number, number][];
  longTasks: [number, number][];
  dom: [number, string][];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** A CPU profile of the page: the functions with the most self time. */
async function profilePage(cdp: CDPSession, ms: number): Promise<void> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
  await sleep(ms);
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: { nodes: ProfileNode[]; samples: number[] } };
  const hits = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop() ?? ''}:${n.callFrame.lineNumber}`;
    hits.set(key, (hits.get(key) ?? 0) + (n.hitCount ?? 0));
    total += n.hitCount ?? 0;
  }
  console.log(`page CPU profile over ${ms / 1000} s (${total} samples):`);
  for (const [k, v] of [...hits.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
}

function parseShown(text: string): number {
  return Number(text.replace(/[−–]/g, '-').replace(/,/g, ''));
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.error(`bench/dashboard needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
    process.exit(2);
  }
  const load0 = os.loadavg()[0]!;
  const built = await buildDashboard({ ifStale: true, quiet: true });
  log(`dashboard ${built}`);

  const network = city();
  const apartments = SUBSTATIONS * BUILDINGS * FLOORS * UNITS;
  const broker = await startEmbeddedBroker({ port: 0, log: silentLogger() });
  log(`simulating ${SUBSTATIONS} substations, ${apartments} apartments (settling ${SETTLE_H} h)`);
  const child = fork(path.join(here, 'dashboard-sim.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise<{ modbusPorts: number[]; substations: string[]; httpUrl: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { modbusPorts: number[]; substations: string[]; httpUrl: string }));
    child.once('exit', (code) => reject(new Error(`simulators exited with ${code}`)));
  });
  child.send({ type: 'start', network, mqttUrl: broker.url, publishIntervalS: PUBLISH_S, weatherIntervalS: WEATHER_S, settleHours: SETTLE_H });
  const sim = await ready;
  log(`simulators up: Modbus on ${sim.modbusPorts.length} gateways, control API ${sim.httpUrl}`);

  const t = await startTestHub({
    files: { 'network.yaml': stringify(network), 'sources.yaml': sourcesYaml(broker.url, sim.modbusPorts, sim.substations), 'tickets.yaml': ticketsYaml() },
  });
  await t.hub.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(t.hub.app.server.address() as { port: number }).port}`;
  const pipeline = t.hub.services.pipeline;
  const aptIds = t.hub.services.assets.ofKind('apartment').map((a) => a.id);
  log(`hub up at ${base}; waiting for every substation and a minute of thermostats`);
  const tUp = Date.now();
  for (;;) {
    const ss = sim.substations.filter((id) => pipeline.latest(id)?.size).length;
    let apt = 0;
    for (let i = 0; i < aptIds.length; i += 10) if (pipeline.latest(aptIds[i]!)?.get('room_temp_c')) apt++;
    if (ss === sim.substations.length && apt >= 0.95 * Math.ceil(aptIds.length / 10)) break;
    if (Date.now() - tUp > 240_000) throw new Error(`not everything reports after 4 min: ${ss} substations, ~${apt * 10} apartments`);
    await sleep(2000);
  }
  log(`everything reports (${((Date.now() - tUp) / 1000).toFixed(0)} s)`);

  // Where the published values are seen: a subscriber on the broker (the simulators' side) and a bare live client.
  const published: [number, number][] = [];
  const observer = await mqtt.connectAsync(broker.url, { clientId: `bench-dashboard-observer-${process.pid}`, protocolVersion: 4 });
  observer.on('message', (_topic, payload) => {
    const at = Date.now();
    try {
      const v = (JSON.parse(payload.toString()) as { outdoor_temp_c?: number }).outdoor_temp_c;
      if (typeof v === 'number') published.push([at, v]);
    } catch {
      // not ours
    }
  });
  await observer.subscribeAsync('warmgrid/weather/+/telemetry', { qos: 0 });
  const bare: [number, number][] = [];
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/live`, { headers: { cookie: t.cookies.display } });
  ws.on('message', (d: Buffer) => {
    const at = Date.now();
    const m = JSON.parse(d.toString()) as { type: string; assets?: Record<string, Record<string, [unknown, number, string]>> };
    const v = m.assets?.['ws1']?.['outdoor_temp_c']?.[0];
    if (m.type === 'update' && typeof v === 'number') bare.push([at, v]);
  });
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  ws.send(JSON.stringify({ type: 'subscribe', assets: ['ws1'] }));

  // The wall, as a kiosk opens it.
  const { token } = await t.hub.services.auth.createToken({ name: 'bench wall', roles: ['display'] }, 'system');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  type Timing = { view: number; biggest: number; ready: number; connect: number; live: number; assets: number; substations: number; alarms: number; tickets: number; dcl: number; doc: number; main: number };
  const errors: string[] = [];
  /**
   * One opening of the wall in a fresh browser context (empty cache, new session), timed by the page's own marks;
   * the first few are closed again, the last one stays for the run.
   */
  const openWall = async () => {
    const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'en-US' });
    await ctx.addInitScript(PAGE_PROBES);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`${r.url().slice(0, 120)}: ${r.failure()?.errorText ?? ''}`));
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${base}/api/auth/display?token=${encodeURIComponent(token)}`);
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    try {
      await page.locator('.wall[data-ready="1"]').waitFor({ timeout: 120_000 });
    } catch (err) {
      await page.screenshot({ path: path.join(here, '..', 'test-output', 'bench-dashboard-not-ready.png') }).catch(() => undefined);
      throw new Error(`the wall did not get ready: ${errors.slice(0, 5).join(' | ')}`, { cause: err });
    }
    const timing = (await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const mark = (n) => { const m = performance.getEntriesByName(n)[0]; return m ? m.startTime : NaN; };
      const main = performance.getEntriesByType('resource').filter((r) => r.name.includes('/assets/index-') && r.name.endsWith('.js'))[0];
      const scripts = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.js')).sort((a, b) => b.encodedBodySize - a.encodedBodySize);
      return { view: mark('wall-view'), biggest: scripts[0] ? scripts[0].responseEnd : NaN, ready: mark('wall-ready'), connect: mark('live-connect'), live: mark('live-open'), assets: mark('wall-assets'), substations: mark('wall-substations'), alarms: mark('wall-alarms'), tickets: mark('wall-tickets'), dcl: nav ? nav.domContentLoadedEventEnd : NaN, doc: nav ? nav.responseEnd : NaN, main: main ? main.responseEnd : NaN };
    })()`)) as Timing;
    return { ctx, page, cdp, timing };
  };
  const loads: Timing[] = [];
  let wall = null as Awaited<ReturnType<typeof openWall>> | null;
  for (let k = 0; k < LOADS; k++) {
    log(`opening the wall (${k + 1} of ${LOADS})`);
    if (wall) await wall.ctx.close();
    const hubLoop = monitorEventLoopDelay({ resolution: 10 });
    hubLoop.enable();
    wall = await openWall();
    hubLoop.disable();
    loads.push(wall.timing);
    const w = wall.timing;
    log(`  ready after ${w.ready.toFixed(0)} ms (document ${w.doc.toFixed(0)}, main script ${w.main.toFixed(0)}, DOMContentLoaded ${w.dcl.toFixed(0)}, largest script ${w.biggest.toFixed(0)}, wall page code ran ${w.view.toFixed(0)}, socket asked ${w.connect.toFixed(0)}, open ${w.live.toFixed(0)}; hub event loop delay max ${(hubLoop.max / 1e6).toFixed(0)} ms)`);
  }
  const { page, cdp } = wall!;
  /** Each figure of first load: the median over the openings. */
  const timing = Object.fromEntries(Object.keys(loads[0]!).map((k) => [k, median(loads.map((l) => l[k as keyof Timing]))])) as Timing;
  const readyAt = Date.now();
  // Every apartment's value in: the snapshots of the apartment subscriptions have all arrived.
  let fullLoadMs = NaN;
  let fullLoadAt = Date.now();
  for (let k = 0; k < 1200; k++) {
    const at = (await page.evaluate("(() => { const m = performance.getEntriesByName('wall-apartments')[0]; return m ? m.startTime : null; })()")) as number | null;
    if (at !== null) {
      fullLoadMs = at;
      fullLoadAt = Date.now();
      break;
    }
    await sleep(250);
  }
  log(`wall ready after ${timing.ready.toFixed(0)} ms; all apartments in after ${fullLoadMs.toFixed(0)} ms`);
  await page.evaluate(WATCH_OUTDOOR);

  // The run: probes every few seconds, page figures drained every 5 s.
  const frameLog: [number, number][] = [];
  const longTaskLog: [number, number][] = [];
  const dom: [number, string][] = [];
  /** The page's JS heap right after a full collection, once a minute (what it keeps, not what it has not freed yet). */
  const heap: [number, number][] = [];
  /** Windows of those collections: frames and long tasks inside them are the measurement's, not the page's. */
  const gcWindows: [number, number][] = [];
  const nodes: number[] = [];
  const probes: { at: number; value: number }[] = [];
  // Steady state: the warm-up after the wall was ready, and at least 30 s after the last apartment's value came in.
  const steadyFrom = Math.max(readyAt + WARMUP_S * 1000, fullLoadAt + 30_000);
  const endAt = readyAt + MINUTES * 60_000;
  let nextGc = steadyFrom;
  const censuses: Map<string, { n: number; bytes: number }>[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let hubCpu0: NodeJS.CpuUsage | null = null;
  let pageTask0: { at: number; task: number } | null = null;
  let pageTask1: { at: number; task: number } | null = null;
  let profiled = false;
  let faultId: string | null = null;
  let nextProbe = Date.now();
  let nextDrain = Date.now() + 5000;
  let k = 0;
  log(`running ${MINUTES} min (steady state after ${WARMUP_S} s)`);
  while (Date.now() < endAt) {
    if (Date.now() >= nextProbe) {
      nextProbe += PROBE_MS;
      // Values no weather in the model reaches, one decimal apart from the last: -20.0, -20.7, -21.4, ...
      const value = Math.round((-20 - ((k++ * 0.7) % 9)) * 10) / 10;
      if (faultId) await fetch(`${sim.httpUrl}/faults/${faultId}`, { method: 'DELETE' });
      const res = await fetch(`${sim.httpUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'sensor_stuck', target: 'ws1', tag: 'outdoor_temp_c', value }) });
      faultId = ((await res.json()) as { id: string }).id;
      probes.push({ at: Date.now(), value });
    }
    if (Date.now() >= nextDrain) {
      nextDrain += 5000;
      const d = (await page.evaluate('(() => { const b = window.__bench; const out = { frames: b.frames, longTasks: b.longTasks, dom: b.dom }; b.frames = []; b.longTasks = []; b.dom = []; return out; })()')) as Drained;
      const now = Date.now();
      if (now >= steadyFrom) {
        frameLog.push(...d.frames.filter(([at]) => at >= steadyFrom));
        longTaskLog.push(...d.longTasks.filter(([at]) => at >= steadyFrom));
      }
      dom.push(...d.dom);
      let m = (await cdp.send('Performance.getMetrics')).metrics;
      const get = (name: string) => m.find((x) => x.name === name)?.value ?? NaN;
      if (now >= nextGc) {
        nextGc += 60_000;
        const g0 = Date.now();
        await cdp.send('HeapProfiler.collectGarbage');
        gcWindows.push([g0 - 50, Date.now() + 250]);
        m = (await cdp.send('Performance.getMetrics')).metrics;
        heap.push([Date.now(), get('JSHeapUsedSize')]);
        if (HEAPDIFF && (heap.length === 1 || nextGc > endAt)) {
          const census = await heapCensus(cdp);
          censuses.push(census);
          gcWindows.push([g0 - 50, Date.now() + 250]);
          log(`heap census ${censuses.length}: ${census.size} kinds`);
        }
      }
      if (now >= steadyFrom) {
        nodes.push(get('Nodes'));
        if (!pageTask0) {
          pageTask0 = { at: now, task: get('TaskDuration') };
          hubCpu0 = process.cpuUsage();
          loop.enable();
        }
        pageTask1 = { at: now, task: get('TaskDuration') };
        if (PROFILE && !profiled && now >= steadyFrom + 10_000) {
          profiled = true;
          await profilePage(cdp, 20_000);
        }
      }
    }
    await sleep(100);
  }
  if (faultId) await fetch(`${sim.httpUrl}/faults/${faultId}`, { method: 'DELETE' });

  // Latency per probe: first publication of the value, first bare-client message and first DOM change showing it.
  const lat: number[] = [];
  const base0: number[] = [];
  let missed = 0;
  for (const p of probes) {
    const pub = published.find(([at, v]) => at >= p.at && Math.abs(v - p.value) < 1e-6);
    if (!pub) continue;
    // Within 10 s of the publication (values repeat after a few minutes; a later match would be another probe's).
    const shown = dom.find(([at, text]) => at >= pub[0] - 5 && at <= pub[0] + 10_000 && Math.abs(parseShown(text) - p.value) < 0.05);
    const got = bare.find(([at, v]) => at >= pub[0] - 5 && at <= pub[0] + 10_000 && Math.abs(v - p.value) < 1e-6);
    if (shown) lat.push(shown[0] - pub[0]);
    else if (p.at < endAt - 3 * PROBE_MS) missed++;
    if (got) base0.push(got[0] - pub[0]);
  }

  // Frames and memory at steady state, leaving out what overlaps the forced collections.
  const inGc = (at: number, dur: number) => gcWindows.some(([a, b]) => at <= b && at + dur >= a);
  const frames = frameLog.filter(([at, d]) => !inGc(at - d, d)).map(([, d]) => d);
  const longTasks = longTaskLog.filter(([at, d]) => !inGc(at, d));
  const gcExcluded = frameLog.length - frames.length + (longTaskLog.length - longTasks.length);
  const steadyS = (Date.now() - steadyFrom) / 1000;
  loop.disable();
  const hubCpu = hubCpu0 ? process.cpuUsage(hubCpu0) : null;
  const hubCpuPct = hubCpu && pageTask0 ? ((hubCpu.user + hubCpu.system) / 1000 / (Date.now() - pageTask0.at)) * 100 : NaN;
  const pageBusyPct = pageTask0 && pageTask1 && pageTask1.at > pageTask0.at ? ((pageTask1.task - pageTask0.task) * 1000 * 100) / (pageTask1.at - pageTask0.at) : NaN;
  const longest = frames.length ? Math.max(...frames) : NaN;
  const longOver100 = longTasks.filter(([, d]) => d > 100);
  const floors = heap.map(([, v]) => v / 2 ** 20);
  const heapFirst = floors[0] ?? NaN;
  const heapLast = floors[floors.length - 1] ?? NaN;
  const growthPct = ((heapLast - heapFirst) / heapFirst) * 100;
  const load1 = os.loadavg()[0]!;
  const open = (await t.as('operator', { method: 'GET', url: '/api/alarms?status=open&limit=1000' })).json() as { alarms: { priority: string }[] };
  const openAlarms = open.alarms.length;
  const openAbove = open.alarms.filter((a) => a.priority !== 'low').length;

  const figures: Figures = {
    minutes: MINUTES,
    substations: SUBSTATIONS,
    apartments,
    modbus_poll_ms: POLL_MS,
    thermostat_interval_s: PUBLISH_S,
    first_load_ms: Math.round(timing.ready),
    first_load_max_ms: Math.round(Math.max(...loads.map((l) => l.ready))),
    first_load_each_ms: loads.map((l) => Math.round(l.ready)).join(' '),
    first_load_document_ms: Math.round(timing.doc),
    first_load_main_script_ms: Math.round(timing.main),
    first_load_dom_content_loaded_ms: Math.round(timing.dcl),
    first_load_assets_ms: Math.round(timing.assets),
    first_load_socket_connect_ms: Math.round(timing.connect),
    first_load_socket_open_ms: Math.round(timing.live),
    first_load_substations_ms: Math.round(timing.substations),
    first_load_alarms_ms: Math.round(timing.alarms),
    first_load_tickets_ms: Math.round(timing.tickets),
    all_apartments_in_ms: Math.round(fullLoadMs),
    latency_samples: lat.length,
    latency_missed: missed,
    latency_p50_ms: Math.round(median(lat)),
    latency_p95_ms: Math.round(quantile(lat, 0.95)),
    latency_max_ms: lat.length ? Math.max(...lat) : null,
    fps: Math.round((frames.length / steadyS) * 10) / 10,
    frame_p99_ms: Math.round(quantile(frames, 0.99) * 10) / 10,
    frame_max_ms: Math.round(longest * 10) / 10,
    frames_over_100ms: frames.filter((f) => f > 100).length,
    long_tasks: longTasks.length,
    long_tasks_over_100ms: longOver100.length,
    long_task_max_ms: longTasks.length ? Math.round(Math.max(...longTasks.map(([, d]) => d))) : 0,
    heap_first_min_mib: Math.round(heapFirst * 10) / 10,
    heap_last_min_mib: Math.round(heapLast * 10) / 10,
    heap_growth_pct: Math.round(growthPct * 10) / 10,
    heap_after_gc_per_minute_mib: floors.map((f) => f.toFixed(1)).join(' '),
    samples_left_out_for_forced_gc: gcExcluded,
    page_main_thread_busy_pct: Math.round(pageBusyPct * 10) / 10,
    hub_process_cpu_pct: Math.round(hubCpuPct),
    hub_loop_delay_p99_ms: Math.round(loop.percentile(99) / 1e6),
    steady_state_s: Math.round(steadyS),
    dom_nodes_first: nodes[0] ?? null,
    dom_nodes_last: nodes[nodes.length - 1] ?? null,
    open_alarms_at_end: openAlarms,
    open_alarms_above_low_at_end: openAbove,
    page_errors: errors.length,
    load_avg_1m_before: Math.round(load0 * 10) / 10,
    load_avg_1m_after: Math.round(load1 * 10) / 10,
  };
  const baseline: Figures = {
    bare_client_latency_p50_ms: Math.round(median(base0)),
    bare_client_latency_p95_ms: Math.round(quantile(base0, 0.95)),
  };
  const targets = {
    latency_p95_ms: '< 1000 (value change at a simulator → wall DOM)',
    frame_max_ms: '≤ 100 at steady state (and no long task over 100 ms)',
    heap_growth_pct: 'flat: < 10 % from the first to the last minute (JS heap after a full collection)',
    first_load_ms: '< 2000 (display link → wall showing live values; median of the cold openings)',
  };
  const met = (figures['latency_p95_ms'] as number) < 1000 && longest <= 100 && longOver100.length === 0 && growthPct < 10 && timing.ready < 2000;
  const notes = [
    `ran ${MINUTES} min${MINUTES < 10 ? ' (a short run; the issue asks for 10)' : ''}, steady state from ${WARMUP_S} s after the wall was ready`,
    `latency path: weather station → MQTT → hub pipeline → live socket (coalesced, flushMs 250) → page; substation values polled over Modbus every ${POLL_MS / 1000} s add up to that interval before it`,
    `1-minute load average ${figures['load_avg_1m_before']} before, ${figures['load_avg_1m_after']} after, on ${os.cpus().length} cores: simulators, broker, hub and Chromium share them`,
    ...(errors.length ? [`page errors: ${errors.slice(0, 3).join(' | ')}`] : []),
  ];
  report({ name: 'dashboard', figures, baseline, targets, met, notes });

  if (censuses.length >= 2) {
    const [a, b] = [censuses[0]!, censuses[censuses.length - 1]!];
    const rows = [...b.entries()].map(([k, v]) => ({ k, dn: v.n - (a.get(k)?.n ?? 0), db: v.bytes - (a.get(k)?.bytes ?? 0), n: v.n })).sort((x, y) => y.db - x.db);
    console.log('heap growth, first → last census (by self size):');
    for (const r of rows.slice(0, 25)) console.log(`  ${String(r.db).padStart(9)} B  ${String(r.dn).padStart(7)} objects (${r.n} now)  ${r.k}`);
  }
  await browser.close();
  ws.close();
  await observer.endAsync();
  await t.close();
  child.send({ type: 'stop' });
  await new Promise((r) => child.once('exit', r));
  await broker.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
