/**
 * The hub's OPC UA source against the simulator's OPC UA face (a real node-opcua server on port 0), through the whole
 * hub (pipeline, store, control's writer port): subscriptions, source timestamps, writes with read-back, faults, and
 * recovery from a network break, a silent connection and a server restart — with the server's session count watched
 * all along.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../../config/load.ts';
import { WarmgridError } from '../../../core/errors.ts';
import { startOpcuaFace, type OpcuaFace } from '../../../simulators/faces/opcua/index.ts';
import { createNetworkModel, loadNetworkFile, type NetworkModel } from '../../../simulators/model/index.ts';
import { startTestHub, type TestHub } from '../../../test/helpers/hub.ts';
import type { OpcuaSource } from './opcua-source.ts';
import { startTestProxy, type TestProxy } from './test-proxy.ts';

let dir: string;
let model: NetworkModel;
let face: OpcuaFace;
let proxy: TestProxy;
let t: TestHub;
let stepper: NodeJS.Timeout;
let sampler: NodeJS.Timeout;
/** Model times of every step: the only timestamps the face may stamp values with. */
const stepTimes = new Set<number>();
let maxSessions = 0;

const source = (): OpcuaSource => t.hub.services.sources.find((s) => s.kind === 'opcua') as OpcuaSource;
const endpoint = () => source().endpointStats()[0]!;
const latest = (asset: string, field: string) => t.hub.services.pipeline.latest(asset)?.get(field);

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A value of the asset's field newer than `after` (source time) has reached the pipeline. */
const freshValue = (asset: string, field: string, after: number) => () => {
  const l = latest(asset, field);
  return l !== undefined && l.ts > after && l.quality === 'good';
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-opcua-hub-'));
  model = createNetworkModel(loadNetworkFile(path.join(DEFAULT_CONFIG_DIR, 'network.yaml')), { settleHours: 1, start: Date.now() });
  // The model follows the wall clock, as in the simulator runtime, so source timestamps are current.
  stepTimes.add(model.now());
  stepper = setInterval(() => {
    model.step((Date.now() - model.now()) / 1000);
    stepTimes.add(model.now());
  }, 200);
  face = await startOpcuaFace(model, { port: 0, substations: ['ss11', 'ss12'], pkiDir: path.join(dir, 'face'), updateIntervalMs: 50 });
  proxy = await startTestProxy(() => face.port);
  sampler = setInterval(() => (maxSessions = Math.max(maxSessions, face.sessionCount())), 20);
  t = await startTestHub({
    files: {
      'sources.yaml': `
sources:
  - id: ua
    kind: opcua
    pki: { dir: ${JSON.stringify(path.join(dir, 'hub-pki'))} }
    requestTimeoutMs: 3000
    reconnect: { minMs: 100, maxMs: 1000 }
    subscription: { publishingIntervalMs: 200, keepAliveCount: 5, lifetimeCount: 50 }
    monitoring: { samplingIntervalMs: 100 }
    defaults: { template: substation-opcua, endpointUrl: ${proxy.url}, security: { mode: None } }
    devices:
      - { asset: ss11, writes: { enabled: true } }
      - { asset: ss12 }
`,
    },
  });
}, 60_000);

afterAll(async () => {
  clearInterval(stepper);
  clearInterval(sampler);
  await t?.close();
  await proxy?.close();
  await face?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('OPC UA source against the simulator', () => {
  it('gets every field of both substations through one subscription, stamped with the source timestamps', async () => {
    await until('values of ss11 and ss12', () => (t.hub.services.pipeline.latest('ss11')?.size ?? 0) === 33 && (t.hub.services.pipeline.latest('ss12')?.size ?? 0) === 33);
    const ep = endpoint();
    expect(ep).toMatchObject({ state: 'up', acquisition: 'subscribe', monitoredItems: 66, polledItems: 0, unresolved: 0, sessionsCreated: 1 });
    for (const asset of ['ss11', 'ss12']) {
      for (const [field, v] of t.hub.services.pipeline.latest(asset)!) {
        expect(stepTimes.has(v.ts), `${asset}.${field} ts ${v.ts}`).toBe(true);
        expect(v.quality).toBe('good');
      }
    }
    const t2s = latest('ss11', 'secondary_supply_temp_c')!;
    expect(typeof t2s.value).toBe('number');
    expect(typeof latest('ss11', 'circ_pump_running')!.value).toBe('boolean');
    expect(face.sessionCount()).toBe(1);
    expect(source().health().status).toBe('up');
  });

  it('writes setpoints through the control port: the simulator changes, the value is read back and then published', async () => {
    const writer = t.hub.services.writers.writerFor('ss11')!;
    expect(writer).toBe(source());
    expect(writer.writablePoints('ss11').find((p) => p.point === 'supply_temp_setpoint_c')).toEqual({ point: 'supply_temp_setpoint_c', min: 20, max: 90, unit: '°C' });
    expect(t.hub.services.writers.writerFor('ss12')).toBeUndefined();

    const r = await writer.writePoint('ss11', 'supply_temp_setpoint_c', 45.5);
    expect(r).toEqual({ asset: 'ss11', point: 'supply_temp_setpoint_c', requested: 45.5, readBack: 45.5, ok: true });
    expect(model.substationTags('ss11').supply_temp_setpoint_c).toBe(45.5);
    await until('the written setpoint published', () => latest('ss11', 'supply_temp_setpoint_c')?.value === 45.5);

    // An Int32 node takes an Int32, a Boolean node a Boolean: the node's DataType decides.
    expect(await writer.writePoint('ss11', 'valve_mode', 1)).toMatchObject({ readBack: 1, ok: true });
    expect(model.substationTags('ss11').valve_mode).toBe(1);
    expect(await writer.writePoint('ss11', 'setpoint_from_curve', true)).toMatchObject({ readBack: true, ok: true });
    expect(model.substationTags('ss11').setpoint_from_curve).toBe(true);
    await writer.writePoint('ss11', 'valve_mode', 0);

    const refused = await writer.writePoint('ss11', 'supply_temp_setpoint_c', 95).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WarmgridError);
    expect((refused as WarmgridError).code).toBe('WRITE_REFUSED');
    expect((refused as Error).message).toMatch(/95 is above the maximum 90/);
    expect((await writer.writePoint('ss11', 'valve_mode', 0.5).catch((e: WarmgridError) => e)).message).toMatch(/Int32; it takes whole numbers/);
    expect((await writer.writePoint('ss12', 'supply_temp_setpoint_c', 50).catch((e: WarmgridError) => e)).message).toMatch(/writes are disabled for device ss12/);

    const local = model.inject({ kind: 'local_mode', target: 'ss11' });
    const failed = await writer.writePoint('ss11', 'supply_temp_setpoint_c', 50).catch((e: unknown) => e);
    model.clear(local);
    expect(failed).toBeInstanceOf(WarmgridError);
    expect({ code: (failed as WarmgridError).code, message: (failed as Error).message }).toMatchObject({ code: 'WRITE_FAILED', message: expect.stringMatching(/the server refused the write: BadUserAccessDenied/) });
    expect(model.substationTags('ss11').supply_temp_setpoint_c).toBe(45.5);
  });

  it('marks a substation the server cannot reach as bad, and the other stays good', async () => {
    const lost = model.inject({ kind: 'comm_loss', target: 'ss12' });
    await until('ss12 bad', () => t.hub.services.pipeline.status('ss12')?.quality === 'bad');
    expect(latest('ss12', 'secondary_supply_temp_c')!.quality).toBe('bad');
    const now = model.now();
    await until('ss11 still flowing', freshValue('ss11', 'secondary_supply_temp_c', now));
    model.clear(lost);
    await until('ss12 good again', freshValue('ss12', 'secondary_supply_temp_c', now));
    expect(t.hub.services.pipeline.status('ss12')?.quality).toBe('good');
  });

  it('leaves out a dead sensor (Bad, null value) and keeps the rest', async () => {
    const before = source().deviceStats().find((d) => d.id === 'ss11')!.dropped;
    const dead = model.inject({ kind: 'sensor_dead', target: 'ss11', tag: 'secondary_return_temp_c' });
    await until('a dropped value', () => source().deviceStats().find((d) => d.id === 'ss11')!.dropped > before);
    const now = model.now();
    await until('other fields flowing', freshValue('ss11', 'secondary_supply_temp_c', now));
    expect(latest('ss11', 'secondary_return_temp_c')!.ts).toBeLessThanOrEqual(now);
    model.clear(dead);
  });

  it('recovers from a network break and closes the session the break left on the server', async () => {
    const before = endpoint();
    proxy.cut();
    await until('reconnected', () => endpoint().connects === before.connects + 1 && endpoint().state === 'up');
    const now = model.now();
    await until('values again', freshValue('ss12', 'secondary_supply_temp_c', now));
    const after = endpoint();
    expect(after.losses).toBe(before.losses + 1);
    expect(after.staleSessionsClosed).toBe(before.staleSessionsClosed + 1);
    expect(face.sessionCount()).toBe(1);
  });

  it('notices a connection that went silent (half-open) by the subscription keep-alive, and recovers', async () => {
    const before = endpoint();
    proxy.freeze(true);
    // Keep-alive period 200 ms × 5 plus margin: detected within a few seconds, never by a TCP timeout.
    await until('loss detected', () => endpoint().losses === before.losses + 1, 10_000);
    expect(endpoint().lastError).toMatch(/no publish response or keep-alive/);
    proxy.freeze(false);
    proxy.cut();
    const now = model.now();
    await until('values again', freshValue('ss11', 'secondary_supply_temp_c', now));
    await until('one session', () => face.sessionCount() === 1);
    // The session of the silent channel was moved to a new channel and closed there, not left to time out.
    expect(endpoint().staleSessionsClosed).toBeGreaterThan(before.staleSessionsClosed);
  });

  it('recovers from a server restart that renumbers NodeIds and namespaces, without restarting the hub', async () => {
    const before = endpoint();
    const created = face.sessionsCreated();
    await face.stop();
    await until('devices bad', () => t.hub.services.pipeline.status('ss11')?.quality === 'bad' && t.hub.services.pipeline.status('ss12')?.quality === 'bad');
    await new Promise((r) => setTimeout(r, 1500)); // a few failed reconnects while the server is away
    await face.start({ renumber: true });
    const now = model.now();
    await until('ss11 values again', freshValue('ss11', 'secondary_supply_temp_c', now));
    await until('ss12 values again', freshValue('ss12', 'secondary_supply_temp_c', now));
    const ep = endpoint();
    expect(ep).toMatchObject({ state: 'up', monitoredItems: 66, unresolved: 0 });
    expect(ep.connectFailures).toBeGreaterThan(before.connectFailures);
    expect(ep.lastRecoveryMs).not.toBeNull();
    expect(face.sessionCount()).toBe(1);
    // One session made on the restarted server: no storm of sessions while it came up.
    expect(face.sessionsCreated()).toBe(created + 1);
    // And a write after the restart goes to the renumbered node.
    expect(await source().writePoint('ss11', 'supply_temp_setpoint_c', 46)).toMatchObject({ readBack: 46, ok: true });
  }, 40_000);

  it('never had more than one session on the server at a time', () => {
    expect(maxSessions).toBe(1);
  });
});
