/** The OPC UA face against a plain node-opcua client (no hub code): what a station's OPC UA server looks like. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { AttributeIds, BrowsePath, DataType, OPCUAClient, StatusCodes, TimestampsToReturn, makeRelativePath, type ClientSession } from 'node-opcua-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetworkModel, type NetworkModel } from '../../model/network-model.ts';
import { startOpcuaFace, type OpcuaFace } from './index.ts';
import { FACE_NAMESPACE_URI, FACE_NODES } from './layout.ts';

function network(): Record<string, unknown> {
  const substations = [1, 2, 3].map((i) => ({ id: `ss${i}`, name: `S${i}`, buildings: [{ id: `ss${i}-b1`, name: 'B1', floors: 2, unitsPerFloor: 2 }] }));
  return { company: { id: 'co', name: 'Co' }, climate: { city: 'Jinan', designOutdoorC: -5.3 }, heatSources: [{ id: 'hs1', name: 'P', networks: [{ id: 'n1', name: 'N', substations }] }], weatherStations: [] };
}

let dir: string;
let model: NetworkModel;
let face: OpcuaFace;
let cm: OPCUACertificateManager;
let client: OPCUAClient;
let session: ClientSession;
let ns: number;

async function connect(): Promise<void> {
  client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, clientCertificateManager: cm });
  await client.connect(face.endpointUrl);
  session = await client.createSession();
  const arr = (await session.read({ nodeId: 'i=2255', attributeId: AttributeIds.Value })).value.value as string[];
  ns = arr.indexOf(FACE_NAMESPACE_URI);
}

async function disconnect(): Promise<void> {
  await session.close().catch(() => undefined);
  await client.disconnect();
}

/** NodeId of a browse path from the Objects folder, e.g. "Substations/ss1/Valve/Mode" (all in the face's namespace). */
async function find(p: string): Promise<string> {
  const rel = makeRelativePath(p.split('/').map((s) => `/${ns}:${s}`).join(''));
  const [r] = await session.translateBrowsePath([new BrowsePath({ startingNode: 'i=85', relativePath: rel })]);
  if (!r || r.statusCode.value !== 0) throw new Error(`${p}: ${r?.statusCode.toString() ?? 'no result'}`);
  return r.targets![0]!.targetId.toString();
}

async function readValue(nodeId: string): Promise<{ value: unknown; status: number; ts: number | undefined }> {
  const dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
  return { value: dv.value.value as unknown, status: dv.statusCode.value, ts: dv.sourceTimestamp?.getTime() };
}

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-opcua-face-'));
  model = createNetworkModel(network(), { settleHours: 1 });
  face = await startOpcuaFace(model, { port: 0, substations: ['ss1', 'ss2'], pkiDir: path.join(dir, 'face'), updateIntervalMs: 50 });
  cm = new OPCUACertificateManager({ rootFolder: path.join(dir, 'client'), automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
  await connect();
}, 60_000);

afterAll(async () => {
  await disconnect().catch(() => undefined);
  await face?.close();
  await cm?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('OPC UA face', () => {
  it('serves each substation as an object with a variable per model tag, values from the model stamped with model time', async () => {
    expect(face.sessionCount()).toBe(1);
    for (const ss of ['ss1', 'ss2']) {
      const tags = model.substationTags(ss) as unknown as Record<string, number | boolean>;
      for (const node of FACE_NODES) {
        const id = await find(`Substations/${ss}/${node.folder}/${node.name}`);
        const v = await readValue(id);
        expect(v.status, `${ss} ${node.tag}`).toBe(0);
        expect(v.ts).toBe(model.now());
        const want = tags[node.tag];
        if (node.dataType === 'Boolean') expect(v.value).toBe(want);
        else if (node.dataType === 'Int32') expect(v.value).toBe(Math.round(want as number));
        else expect(v.value).toBeCloseTo(want as number, 9);
      }
    }
    await expect(find('Substations/ss3')).rejects.toThrow(/BadNoMatch/);
  });

  it('describes analog values with EngineeringUnits and EURange (Part 8), and gives each variable its DataType', async () => {
    const id = await find('Substations/ss1/Secondary/SupplyTemperature');
    const [range] = await session.translateBrowsePath([new BrowsePath({ startingNode: id, relativePath: makeRelativePath('.EURange') })]);
    const [eu] = await session.translateBrowsePath([new BrowsePath({ startingNode: id, relativePath: makeRelativePath('.EngineeringUnits') })]);
    const r = (await session.read({ nodeId: range!.targets![0]!.targetId, attributeId: AttributeIds.Value })).value.value as { low: number; high: number };
    const u = (await session.read({ nodeId: eu!.targets![0]!.targetId, attributeId: AttributeIds.Value })).value.value as { displayName: { text: string } };
    expect([r.low, r.high]).toEqual([0, 120]);
    expect(u.displayName.text).toBe('°C');
    const mode = await find('Substations/ss1/Valve/Mode');
    expect((await session.read({ nodeId: mode, attributeId: AttributeIds.DataType })).value.value.toString()).toBe('ns=0;i=6');
  });

  it('publishes changes through subscriptions as the model steps', async () => {
    const sub = await session.createSubscription2({ requestedPublishingInterval: 100, requestedMaxKeepAliveCount: 10, requestedLifetimeCount: 100, publishingEnabled: true, maxNotificationsPerPublish: 0, priority: 0 });
    const id = await find('Substations/ss2/Secondary/SupplyTemperature');
    const seen: number[] = [];
    const item = await sub.monitor({ nodeId: id, attributeId: AttributeIds.Value }, { samplingInterval: 100, queueSize: 10 }, TimestampsToReturn.Both);
    item.on('changed', (dv) => seen.push(dv.sourceTimestamp!.getTime()));
    await waitFor(async () => seen.length >= 1);
    model.step(60);
    await waitFor(async () => seen.includes(model.now()));
    await sub.terminate();
  });

  it('writes setpoints into the model, and refuses what the model or the node refuses', async () => {
    const sp = await find('Substations/ss1/Control/SupplyTemperatureSetpoint');
    const write = (nodeId: string, dataType: DataType, value: number | boolean): Promise<number> =>
      session.write({ nodeId, attributeId: AttributeIds.Value, value: { value: { dataType, value } } }).then((s) => s.value);
    expect(await write(sp, DataType.Double, 55)).toBe(0);
    expect(model.substationTags('ss1').supply_temp_setpoint_c).toBe(55);
    expect((await readValue(sp)).value).toBe(55);
    expect(await write(sp, DataType.Double, 150)).toBe(StatusCodes.BadOutOfRange.value);
    expect(model.substationTags('ss1').supply_temp_setpoint_c).toBe(55);
    const mode = await find('Substations/ss1/Valve/Mode');
    expect(await write(mode, DataType.Double, 1)).toBe(StatusCodes.BadTypeMismatch.value);
    expect(await write(mode, DataType.Int32, 1)).toBe(0);
    expect(model.substationTags('ss1').valve_mode).toBe(1);
    expect(await write(await find('Substations/ss1/Primary/SupplyTemperature'), DataType.Double, 1)).not.toBe(0);
    const local = model.inject({ kind: 'local_mode', target: 'ss1' });
    expect(await write(sp, DataType.Double, 60)).toBe(StatusCodes.BadUserAccessDenied.value);
    model.clear(local);
  });

  it('shows a dead sensor as Bad_SensorFailure and comm_loss as Bad_NoCommunication, with null values', async () => {
    const t2s = await find('Substations/ss2/Secondary/SupplyTemperature');
    const t1s = await find('Substations/ss2/Primary/SupplyTemperature');
    const dead = model.inject({ kind: 'sensor_dead', target: 'ss2', tag: 'secondary_supply_temp_c' });
    model.step(1);
    await waitFor(async () => (await readValue(t2s)).status === StatusCodes.BadSensorFailure.value);
    expect((await readValue(t2s)).value).toBeNull();
    expect((await readValue(t1s)).status).toBe(0);
    model.clear(dead);
    const lost = model.inject({ kind: 'comm_loss', target: 'ss2' });
    await waitFor(async () => (await readValue(t1s)).status === StatusCodes.BadNoCommunication.value);
    const sp = await find('Substations/ss2/Control/SupplyTemperatureSetpoint');
    const s = await session.write({ nodeId: sp, attributeId: AttributeIds.Value, value: { value: { dataType: DataType.Double, value: 50 } } });
    expect(s.value).toBe(StatusCodes.BadNoCommunication.value);
    expect((await readValue(await find('Substations/ss1/Primary/SupplyTemperature'))).status).toBe(0);
    model.clear(lost);
    await waitFor(async () => (await readValue(t1s)).status === 0);
  });

  it('goes away on stop() and comes back on start({ renumber }) with other NodeIds and another namespace index', async () => {
    const before = await find('Substations/ss1/Valve/Mode');
    const nsBefore = ns;
    expect(before).toBe(`ns=${ns};s=ss1.Valve.Mode`);
    const created = face.sessionsCreated();
    await face.stop();
    expect(face.server).toBeNull();
    await client.disconnect();
    await face.start({ renumber: true });
    await connect();
    const after = await find('Substations/ss1/Valve/Mode');
    expect(ns).toBe(nsBefore + 1);
    expect(after).toMatch(new RegExp(`^ns=${ns};i=\\d+$`));
    expect(face.sessionCount()).toBe(1);
    expect(face.sessionsCreated()).toBe(created + 1);
    expect((await readValue(after)).value).toBe(1);
  }, 30_000);
});
