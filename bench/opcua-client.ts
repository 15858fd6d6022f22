/**
 * The client half of bench/opcua, one role per process so CPU and memory are its own:
 *
 * - `hub`: the hub's OPC UA source (ingest/sources/opcua) with the shipped template substation-opcua: browse paths
 *   resolved per device, one session and subscription per server, readings handed to a counting emit (no store).
 * - `bare`: plain node-opcua clients, one per server, finding the same nodes by browse path (one call per server) and
 *   subscribing to them with the same subscription and monitoring parameters, counting notifications.
 *
 * IPC protocol (the parent forks it with `--client`):
 *   → { type: 'start', role, endpoints: [{ url, substations }] }   ← { type: 'ready', connectMs }  (values from every device)
 *   → { type: 'measure', ms }      ← { type: 'measured', notifications, readings, fields, cpuMs, wallMs, loopP99Ms }
 *   → { type: 'recovery', url, since }   ← { type: 'recovery', at }   (when every device of `url` had a reading after `since`)
 *   → { type: 'mem' }              ← { type: 'mem', rssMb, heapMb }  (after a GC)
 *   → { type: 'stop' }             (exits)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../config/load.ts';
import { systemClock } from '../core/clock.ts';
import { silentLogger } from '../core/log.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { routeLibraryLogs } from '../ingest/sources/opcua/library-log.ts';
import { OpcuaSourceConfig } from '../ingest/sources/opcua/config.ts';
import type { OpcuaSource } from '../ingest/sources/opcua/opcua-source.ts';
import { FACE_NAMESPACE_URI, FACE_NODES } from '../simulators/faces/opcua/layout.ts';

export interface BenchEndpoint {
  url: string;
  substations: string[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
export const SUBSCRIPTION = { publishingIntervalMs: 1000, keepAliveCount: 10, lifetimeCount: 60 };
export const MONITORING = { samplingIntervalMs: 1000, queueSize: 1 };

interface Counters {
  notifications(): number;
  readings: number;
  fields: number;
}

/** Receipt times of the last readings per asset, to find when a device answered again after a restart. */
const recent = new Map<string, number[]>();
function received(asset: string, at: number): void {
  let l = recent.get(asset);
  if (!l) recent.set(asset, (l = []));
  l.push(at);
  if (l.length > 120) l.splice(0, l.length - 120);
}

async function startHub(endpoints: BenchEndpoint[], dir: string): Promise<{ counters: Counters; stop(): Promise<void> }> {
  const { OpcuaSource: Source } = await import('../ingest/sources/opcua/opcua-source.ts');
  const template = parse(readFileSync(path.join(here, '../config/templates/substation-opcua.yaml'), 'utf8')) as Record<string, unknown>;
  const raw = {
    id: 'bench',
    kind: 'opcua',
    pki: { dir: path.join(dir, 'pki') },
    subscription: SUBSCRIPTION,
    monitoring: MONITORING,
    defaults: { template: 'substation-opcua', security: { mode: 'None' } },
    devices: endpoints.flatMap((e) => e.substations.map((asset) => ({ asset, endpointUrl: e.url }))),
  };
  const cfg = Value.Default(OpcuaSourceConfig, Value.Convert(OpcuaSourceConfig, raw)) as OpcuaSourceConfig;
  const counters = { readings: 0, fields: 0, notifications: () => 0 };
  const source: OpcuaSource = new Source(cfg, {
    log: silentLogger(),
    clock: systemClock,
    // The source does not look assets up; the demo's tree stands in.
    assets: loadConfig({ dir: DEFAULT_CONFIG_DIR, env: {}, plugins: SOURCE_PLUGINS }).assets,
    templates: new Map([['substation-opcua', template]]),
    emit: async (readings) => {
      const at = Date.now();
      for (const r of readings) {
        counters.readings++;
        const n = Object.keys(r.fields).length;
        counters.fields += n;
        if (n > 0) received(r.asset, at);
      }
    },
    reject: () => undefined,
  });
  counters.notifications = () => source.endpointStats().reduce((a, e) => a + e.notifications, 0);
  await source.start();
  return { counters, stop: () => source.stop() };
}

async function startBare(endpoints: BenchEndpoint[], dir: string): Promise<{ counters: Counters; stop(): Promise<void> }> {
  const { AttributeIds, BrowsePath, ClientMonitoredItemGroup, OPCUAClient, TimestampsToReturn, makeRelativePath } = await import('node-opcua-client');
  const { OPCUACertificateManager } = await import('node-opcua-certificate-manager');
  const cm = new OPCUACertificateManager({ rootFolder: path.join(dir, 'bare-pki'), automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true });
  await cm.initialize();
  let notifications = 0;
  const counters = { readings: 0, fields: 0, notifications: () => notifications };
  const clients = await Promise.all(
    endpoints.map(async (e) => {
      const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager: cm });
      await client.connect(e.url);
      const session = await client.createSession();
      const ns = ((await session.read({ nodeId: 'i=2255', attributeId: AttributeIds.Value })).value.value as string[]).indexOf(FACE_NAMESPACE_URI);
      const sub = await session.createSubscription2({
        requestedPublishingInterval: SUBSCRIPTION.publishingIntervalMs,
        requestedMaxKeepAliveCount: SUBSCRIPTION.keepAliveCount,
        requestedLifetimeCount: SUBSCRIPTION.lifetimeCount,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 0,
      });
      // The same nodes as the hub, found the same way (a restarted server may have renumbered them).
      const wanted = e.substations.flatMap((ss) => FACE_NODES.map((n) => ({ ss, path: `/${ns}:Substations/${ns}:${ss}/${ns}:${n.folder}/${ns}:${n.name}` })));
      const found = await session.translateBrowsePath(wanted.map((w) => new BrowsePath({ startingNode: 'i=85', relativePath: makeRelativePath(w.path) })));
      const items = wanted.map((w, k) => ({ ss: w.ss, nodeId: found[k]!.targets![0]!.targetId.toString() }));
      const group = ClientMonitoredItemGroup.create(
        sub,
        items.map((i) => ({ nodeId: i.nodeId, attributeId: AttributeIds.Value })),
        { samplingInterval: MONITORING.samplingIntervalMs, queueSize: MONITORING.queueSize, discardOldest: true },
        TimestampsToReturn.Both,
      );
      group.on('changed', (_m, _dv, index: number) => {
        notifications++;
        received(items[index]!.ss, Date.now());
      });
      await new Promise<void>((resolve, reject) => {
        group.once('initialized', () => resolve());
        group.once('err', (m: string) => reject(new Error(m)));
      });
      return { client, session };
    }),
  );
  return {
    counters,
    async stop() {
      await Promise.all(clients.map(async (c) => {
        await c.session.close().catch(() => undefined);
        await c.client.disconnect();
      }));
      await cm.dispose();
    },
  };
}

type Msg =
  | { type: 'start'; role: 'hub' | 'bare'; endpoints: BenchEndpoint[] }
  | { type: 'measure'; ms: number }
  | { type: 'recovery'; url: string; since: number }
  | { type: 'mem' }
  | { type: 'stop' };

async function run(): Promise<void> {
  routeLibraryLogs(silentLogger());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-bench-opcua-client-'));
  let side: { counters: Counters; stop(): Promise<void> } | null = null;
  let endpoints: BenchEndpoint[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const firstAfter = (asset: string, since: number): number | undefined => recent.get(asset)?.find((t) => t > since);
  process.on('message', (msg: Msg) => {
    void (async () => {
      if (msg.type === 'start') {
        endpoints = msg.endpoints;
        const t0 = Date.now();
        side = msg.role === 'hub' ? await startHub(endpoints, dir) : await startBare(endpoints, dir);
        const all = endpoints.flatMap((e) => e.substations);
        while (all.some((a) => firstAfter(a, t0) === undefined)) await new Promise((r) => setTimeout(r, 50));
        process.send!({ type: 'ready', connectMs: Date.now() - t0 });
      } else if (msg.type === 'measure') {
        const c = side!.counters;
        const n0 = c.notifications();
        const r0 = c.readings;
        const f0 = c.fields;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        loop.reset();
        await new Promise((r) => setTimeout(r, msg.ms));
        const cpu = process.cpuUsage(cpu0);
        process.send!({
          type: 'measured',
          notifications: c.notifications() - n0,
          readings: c.readings - r0,
          fields: c.fields - f0,
          cpuMs: (cpu.user + cpu.system) / 1000,
          wallMs: performance.now() - t0,
          loopP99Ms: loop.percentile(99) / 1e6,
        });
      } else if (msg.type === 'recovery') {
        const subs = endpoints.find((e) => e.url === msg.url)!.substations;
        const deadline = Date.now() + 60_000;
        for (;;) {
          const times = subs.map((a) => firstAfter(a, msg.since));
          if (times.every((t) => t !== undefined)) {
            process.send!({ type: 'recovery', at: Math.max(...(times as number[])) });
            break;
          }
          if (Date.now() > deadline) {
            process.send!({ type: 'recovery', at: null });
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      } else if (msg.type === 'mem') {
        (globalThis as { gc?: () => void }).gc?.();
        const m = process.memoryUsage();
        process.send!({ type: 'mem', rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20 });
      } else {
        await side?.stop();
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
      }
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.argv.includes('--client') && process.send) await run();
else if (process.argv[1]?.endsWith('opcua-client.ts')) console.log('opcua-client: the client half of bench/opcua (run `npm run bench -- opcua`)');
