/**
 * The OPC UA source against a bare node-opcua server whose address space is built here by hand (not the simulator's
 * face), so a bug in the hub and a bug in the face cannot cancel out: explicit NodeIds next to browse paths, data types
 * the face does not use (Float, UInt16, Int64), Uncertain and Bad values, a server that limits monitored items (the
 * rest is polled), a deadband it refuses, and a restart that renumbers every node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { nodesets } from 'node-opcua-nodesets';
import { MessageSecurityMode, SecurityPolicy } from 'node-opcua-secure-channel';
import { OPCUAServer } from 'node-opcua-server';
import { StatusCodes } from 'node-opcua-status-code';
import { DataType, Variant, VariantArrayType } from 'node-opcua-variant';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssetTree } from '../../../config/asset-tree.ts';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../../config/load.ts';
import { systemClock } from '../../../core/clock.ts';
import type { WarmgridError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/log.ts';
import type { Reading } from '../../reading.ts';
import { SOURCE_PLUGINS } from '../index.ts';
import { OpcuaSourceConfig } from './config.ts';
import { OpcuaSource } from './opcua-source.ts';

const NS = 'urn:test:dcs';
const TEMPLATE = parse(`
id: test-dcs
protocol: opcua
assetKind: substation
namespaces: { dcs: ${NS} }
namespace: dcs
root: Plant/Stations/{asset}
fields:
  - { name: secondary_supply_temp_c, path: T2s }
  - { name: primary_flow_m3h, path: Flow, deadband: { type: percent, value: 0.5 } }
  - { name: circ_pump_running, path: Running, deadband: { type: percent, value: 1 } }
  - { name: meter_pulses, path: Counter }
  - { name: uncertain_c, path: Quality/Uncertain }
  - { name: bad_c, path: Quality/BadWithValue }
  - { name: heat_energy_gj, nodeId: "nsu=dcs;s={asset}.Energy" }
  - { name: missing_c, path: Nowhere }
  - { name: supply_temp_setpoint_c, path: Setpoint, writable: true, min: 20, max: 90 }
  - { name: valve_mode, path: Mode, writable: true, min: 0, max: 3 }
`) as Record<string, unknown>;

let dir: string;
let server: OPCUAServer;
let port = 0;
let ticker: NodeJS.Timeout;
let assets: AssetTree;
const sentTimes = new Set<number>();

/** A DCS-like server: Objects/Plant/Stations/ss03/…, NodeIds numbered from `base` (a restart may change them). */
async function startServer(generation: number): Promise<OPCUAServer> {
  const cmDir = path.join(dir, `server-${generation}`);
  const s = new OPCUAServer({
    port,
    host: '127.0.0.1',
    hostname: '127.0.0.1',
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: path.join(cmDir, 'pki'), automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true }),
    userCertificateManager: new OPCUACertificateManager({ rootFolder: path.join(cmDir, 'users'), disableFileWatchers: true }),
    securityModes: [MessageSecurityMode.None],
    securityPolicies: [SecurityPolicy.None],
    nodeset_filename: [nodesets.standard],
    // Few monitored items per subscription and per call: the rest must be polled, and calls split.
    serverCapabilities: { maxMonitoredItemsPerSubscription: 7, operationLimits: { maxMonitoredItemsPerCall: 4 } },
  });
  await s.initialize();
  const space = s.engine.addressSpace!;
  for (let g = 0; g < generation; g++) space.registerNamespace(`urn:test:other:${g}`);
  const ns = space.registerNamespace(NS);
  let next = 5000 + generation * 1000;
  const id = (): string => `ns=${ns.index};i=${next++}`;
  const plant = ns.addFolder(space.rootFolder.objects, { browseName: 'Plant', nodeId: id() });
  const stations = ns.addFolder(plant, { browseName: 'Stations', nodeId: id() });
  const st = ns.addObject({ organizedBy: stations, browseName: 'ss03', nodeId: id() });
  const quality = ns.addObject({ componentOf: st, browseName: 'Quality', nodeId: id() });
  const t2s = ns.addVariable({ componentOf: st, browseName: 'T2s', nodeId: id(), dataType: 'Double', minimumSamplingInterval: 50 });
  const flow = ns.addAnalogDataItem({ componentOf: st, browseName: 'Flow', nodeId: id(), dataType: 'Float', engineeringUnitsRange: { low: 0, high: 100 }, minimumSamplingInterval: 50 });
  const running = ns.addVariable({ componentOf: st, browseName: 'Running', nodeId: id(), dataType: 'Boolean', minimumSamplingInterval: 50 });
  const counter = ns.addVariable({ componentOf: st, browseName: 'Counter', nodeId: id(), dataType: 'Int64', minimumSamplingInterval: 50 });
  const unc = ns.addVariable({ componentOf: quality, browseName: 'Uncertain', nodeId: id(), dataType: 'Double', minimumSamplingInterval: 50 });
  const bad = ns.addVariable({ componentOf: quality, browseName: 'BadWithValue', nodeId: id(), dataType: 'Double', minimumSamplingInterval: 50 });
  const energy = ns.addVariable({ componentOf: st, browseName: 'Energy', nodeId: `ns=${ns.index};s=ss03.Energy`, dataType: 'Double', minimumSamplingInterval: 50 });
  const rw = { accessLevel: 'CurrentRead | CurrentWrite', userAccessLevel: 'CurrentRead | CurrentWrite' } as const;
  ns.addVariable({ componentOf: st, browseName: 'Setpoint', nodeId: id(), dataType: 'Float', value: { dataType: DataType.Float, value: 60 }, ...rw });
  ns.addVariable({ componentOf: st, browseName: 'Mode', nodeId: id(), dataType: 'UInt16', value: { dataType: DataType.UInt16, value: 0 }, ...rw });
  let k = 0;
  const base = Date.now() - 60_000;
  const tick = (): void => {
    k++;
    const ts = new Date(base + k * 100);
    sentTimes.add(ts.getTime());
    t2s.setValueFromSource(new Variant({ dataType: DataType.Double, value: 60 + (k % 50) / 10 }), StatusCodes.Good, ts);
    flow.setValueFromSource(new Variant({ dataType: DataType.Float, value: (k % 100) * 1.0 }), StatusCodes.Good, ts);
    running.setValueFromSource(new Variant({ dataType: DataType.Boolean, value: k % 2 === 0 }), StatusCodes.Good, ts);
    counter.setValueFromSource(new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Scalar, value: [2, k] }), StatusCodes.Good, ts);
    unc.setValueFromSource(new Variant({ dataType: DataType.Double, value: 12.5 + (k % 3) }), StatusCodes.UncertainLastUsableValue, ts);
    bad.setValueFromSource(new Variant({ dataType: DataType.Double, value: 185 }), StatusCodes.BadSensorFailure, ts);
    energy.setValueFromSource(new Variant({ dataType: DataType.Double, value: 1000 + k }), StatusCodes.Good, ts);
  };
  tick();
  clearInterval(ticker);
  ticker = setInterval(tick, 200);
  await s.start();
  port = s.endpoints[0]!.port;
  return s;
}

function makeSource(id: string, mode: 'auto' | 'poll'): { source: OpcuaSource; readings: Reading[] } {
  const readings: Reading[] = [];
  const raw = {
    id,
    kind: 'opcua',
    pki: { dir: path.join(dir, 'hub-pki') },
    requestTimeoutMs: 3000,
    reconnect: { minMs: 100, maxMs: 500 },
    subscription: { publishingIntervalMs: 200, keepAliveCount: 5, lifetimeCount: 50 },
    monitoring: { samplingIntervalMs: 100, queueSize: 1 },
    defaults: { template: 'test-dcs', endpointUrl: `opc.tcp://127.0.0.1:${port}`, security: { mode: 'None' }, mode, intervalMs: 300 },
    devices: [{ asset: 'ss03', writes: { enabled: true } }],
  };
  const cfg = Value.Default(OpcuaSourceConfig, Value.Convert(OpcuaSourceConfig, raw)) as OpcuaSourceConfig;
  const source = new OpcuaSource(cfg, {
    log: silentLogger(),
    clock: systemClock,
    assets,
    templates: new Map([['test-dcs', TEMPLATE]]),
    emit: async (rs) => {
      readings.push(...rs);
    },
    reject: () => undefined,
  });
  return { source, readings };
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const fieldSeen = (readings: Reading[], field: string, from = 0) => () => readings.slice(from).some((r) => field in r.fields);

let sub: { source: OpcuaSource; readings: Reading[] };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-opcua-bare-'));
  assets = loadConfig({ dir: DEFAULT_CONFIG_DIR, env: {}, plugins: SOURCE_PLUGINS }).assets;
  server = await startServer(0);
  sub = makeSource('dcs', 'auto');
  await sub.source.start();
}, 60_000);

afterAll(async () => {
  clearInterval(ticker);
  await sub?.source.stop();
  await server?.shutdown(0);
  rmSync(dir, { recursive: true, force: true });
});

describe('OPC UA source against a hand-built node-opcua server', () => {
  it('reads browse-path and NodeId fields, keeps source timestamps, maps status to quality, and polls what it cannot monitor', async () => {
    const { source, readings } = sub;
    for (const f of ['secondary_supply_temp_c', 'primary_flow_m3h', 'circ_pump_running', 'meter_pulses', 'uncertain_c', 'bad_c', 'heat_energy_gj']) await until(f, fieldSeen(readings, f));
    await until('a few ticks', () => readings.filter((r) => 'secondary_supply_temp_c' in r.fields).length >= 5);
    const ep = source.endpointStats()[0]!;
    // 9 nodes found; the server takes 7 monitored items per subscription, so 2 are read every intervalMs.
    expect(ep).toMatchObject({ state: 'up', acquisition: 'mixed', monitoredItems: 7, polledItems: 2, unresolved: 1 });
    expect(source.deviceStats()[0]!.unresolved).toEqual([expect.stringMatching(/^missing_c: dcs:Nowhere: browse path not found \(BadNoMatch/)]);

    const withData = readings.filter((r) => Object.keys(r.fields).length > 0);
    // Values the server stamped on each tick keep those stamps (the setpoints carry the time they were created).
    const ticked = withData.filter((r) => !('supply_temp_setpoint_c' in r.fields) && !('valve_mode' in r.fields));
    expect(ticked.length).toBeGreaterThan(5);
    for (const r of ticked) expect(sentTimes.has(r.ts), `ts ${r.ts} of ${Object.keys(r.fields).join()}`).toBe(true);
    const of = (field: string) => withData.filter((r) => field in r.fields);
    expect(of('uncertain_c').every((r) => r.quality === 'uncertain')).toBe(true);
    expect(of('bad_c').every((r) => r.quality === 'bad' && r.fields['bad_c'] === 185)).toBe(true);
    expect(of('secondary_supply_temp_c').every((r) => r.quality === 'good')).toBe(true);
    expect(of('meter_pulses').at(-1)!.fields['meter_pulses']).toBeGreaterThan(2 * 2 ** 32);
    expect(typeof of('circ_pump_running').at(-1)!.fields['circ_pump_running']).toBe('boolean');
    // The fields of one tick and one quality come as one reading.
    const goodAtOnce = withData.filter((r) => r.quality === 'good').map((r) => Object.keys(r.fields).length);
    expect(Math.max(...goodAtOnce)).toBeGreaterThanOrEqual(3);
  });

  it('writes with the node’s DataType (Float, UInt16) and reads back', async () => {
    const { source } = sub;
    const r = await source.writePoint('ss03', 'supply_temp_setpoint_c', 55.3);
    expect(r).toMatchObject({ ok: true, requested: 55.3 });
    expect(r.readBack).toBe(Math.fround(55.3));
    expect(await source.writePoint('ss03', 'valve_mode', 2)).toMatchObject({ ok: true, readBack: 2 });
    const e = await source.writePoint('ss03', 'valve_mode', 2.5).catch((x: unknown) => x);
    expect((e as WarmgridError).code).toBe('WRITE_REFUSED');
    expect((e as Error).message).toMatch(/UInt16; it takes whole numbers/);
    expect(((await source.writePoint('ss03', 'missing_c', 1).catch((x: unknown) => x)) as WarmgridError).code).toBe('WRITE_REFUSED');
  });

  it('reads everything by polling when told to', async () => {
    const poll = makeSource('dcs-poll', 'poll');
    await poll.source.start();
    try {
      await until('polled values', fieldSeen(poll.readings, 'heat_energy_gj'));
      expect(poll.source.endpointStats()[0]).toMatchObject({ acquisition: 'poll', monitoredItems: 0, polledItems: 9 });
      const first = poll.readings.find((r) => 'secondary_supply_temp_c' in r.fields)!;
      expect(sentTimes.has(first.ts)).toBe(true);
    } finally {
      await poll.source.stop();
    }
  });

  it('marks the device bad when the server goes away, and finds every node again after a restart that renumbered them', async () => {
    const { source, readings } = sub;
    await server.shutdown(0);
    await until('comm-loss reading', () => readings.some((r) => Object.keys(r.fields).length === 0 && r.quality === 'bad'));
    const mark = readings.length;
    server = await startServer(1);
    await until('values after restart', fieldSeen(readings, 'secondary_supply_temp_c', mark));
    await until('explicit NodeId field after restart', fieldSeen(readings, 'heat_energy_gj', mark));
    await until('polled field after restart', () => readings.slice(mark).some((r) => 'bad_c' in r.fields || 'uncertain_c' in r.fields));
    expect(source.endpointStats()[0]).toMatchObject({ state: 'up', monitoredItems: 7, polledItems: 2, unresolved: 1, losses: 1 });
    expect(server.engine.currentSessionCount).toBe(1);
    expect(await source.writePoint('ss03', 'valve_mode', 3)).toMatchObject({ ok: true, readBack: 3 });
  }, 40_000);
});
