/** The Modbus face against a plain modbus-serial client (no hub code): what a PLC on the wire looks like. */
import modbusSerial from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetworkModel, type NetworkModel } from '../../model/network-model.ts';
import { SUBSTATION_TAG_NAMES } from '../../model/substation-tags.ts';
import { CONTROLLER_VALUES } from './image.ts';
import { startModbusFace, type ModbusFace } from './index.ts';
import { loadFaceTemplate } from './template.ts';

const ModbusRTU = modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

function network(): Record<string, unknown> {
  const substations = [1, 2, 3].map((i) => ({ id: `ss${i}`, name: `S${i}`, buildings: [{ id: `ss${i}-b1`, name: 'B1', floors: 2, unitsPerFloor: 2 }] }));
  return { company: { id: 'co', name: 'Co' }, climate: { city: 'Jinan', designOutdoorC: -5.3 }, heatSources: [{ id: 'hs1', name: 'P', networks: [{ id: 'n1', name: 'N', substations }] }], weatherStations: [] };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { strictAddresses?: boolean } = {}): Promise<{ model: NetworkModel; face: ModbusFace; client: Client }> {
  const model = createNetworkModel(network(), { settleHours: 1 });
  const face = await startModbusFace(model, { gateways: [{ port: 0, units: { 1: 'ss1', 2: 'ss2' } }, { port: 0, units: { 5: 'ss3' } }], ...opts });
  cleanups.push(() => face.close());
  const client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port: face.ports[0]! });
  client.setTimeout(1000);
  cleanups.push(() => new Promise<void>((r) => client.close(() => r())));
  return { model, face, client };
}

/** A float32 sent low word first (CDAB), decoded by hand. */
function cdab(regs: number[]): number {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(regs[1]!, 0);
  b.writeUInt16BE(regs[0]!, 2);
  return b.readFloatBE(0);
}

async function exceptionOf(p: Promise<unknown>): Promise<number | undefined> {
  return p.then(
    () => undefined,
    (e: { modbusCode?: number }) => e.modbusCode,
  );
}

describe('Modbus face', () => {
  it('maps every tag of the simulated substation, and the controller values only to fields of the template', () => {
    const names = new Set(loadFaceTemplate().fields.map((f) => f.name));
    expect(SUBSTATION_TAG_NAMES.filter((n) => !names.has(n))).toEqual([]);
    expect(Object.keys(CONTROLLER_VALUES).filter((n) => !names.has(n))).toEqual([]);
  });

  it('serves each unit behind a gateway from its own substation', async () => {
    const { model, face, client } = await setup();
    expect(face.ports).toHaveLength(2);
    expect(face.gateways[1]!.units.get(5)).toBe('ss3');
    client.setID(1);
    const sp1 = await client.readHoldingRegisters(0, 2);
    expect(cdab(sp1.data)).toBeCloseTo(model.substationTags('ss1').supply_temp_setpoint_c, 4);
    client.setID(2);
    const ins = await client.readInputRegisters(0, 1);
    expect(new Int16Array([ins.data[0]!])[0]! / 10).toBeCloseTo(model.substationTags('ss2').outdoor_temp_c, 1);
    const id = await client.readHoldingRegisters(27, 1);
    expect(id.data).toEqual([2]);
    const running = await client.readDiscreteInputs(0, 1);
    expect(running.data[0]).toBe(model.substationTags('ss2').circ_pump_running);
    client.setID(9);
    expect(await exceptionOf(client.readHoldingRegisters(0, 2))).toBe(10);
  });

  it('answers out-of-range reads with exception 02, and unmapped ones too when strict', async () => {
    const { client } = await setup();
    client.setID(1);
    expect(await exceptionOf(client.readHoldingRegisters(30, 10))).toBe(2);
    expect((await client.readInputRegisters(16, 4)).data).toEqual([0, 0, 0, 0]); // spare registers read 0
    const strict = await setup({ strictAddresses: true });
    strict.client.setID(1);
    expect(await exceptionOf(strict.client.readInputRegisters(15, 2))).toBe(2);
    expect((await strict.client.readInputRegisters(14, 2)).data).toHaveLength(2);
  });

  it('re-encodes after the model steps, not per request', async () => {
    const { model, face, client } = await setup();
    client.setID(1);
    const a = await client.readInputRegisters(0, 79);
    const b = await client.readInputRegisters(0, 79);
    expect(b.data).toEqual(a.data);
    const encodes = face.stats().encodes;
    model.step(600);
    const c = await client.readInputRegisters(0, 79);
    expect(c.data).not.toEqual(a.data);
    expect(face.stats().encodes).toBe(encodes + 1);
  });

  it('writes setpoints into the model and refuses what the controller would', async () => {
    const { model, face, client } = await setup();
    client.setID(2);
    // 55.0 = 0x425C0000, low word first.
    await client.writeRegisters(0, [0x0000, 0x425c]);
    expect(model.substationTags('ss2').supply_temp_setpoint_c).toBe(55);
    expect(model.substationTags('ss1').setpoint_from_curve).toBe(true);
    expect(cdab((await client.readHoldingRegisters(0, 2)).data)).toBe(55);
    await client.writeRegister(2, 120); // ΔP setpoint 0.120 MPa
    expect(model.substation('ss2').pumpDpSetpointMpa).toBeCloseTo(0.12, 9);
    await client.writeCoil(0, true);
    expect(model.substationTags('ss2').setpoint_from_curve).toBe(true);
    expect(await exceptionOf(client.writeRegister(6, 900))).toBe(2); // a read-only limit
    expect(await exceptionOf(client.writeRegister(1, 0))).toBe(2); // half of a float32
    expect(await exceptionOf(client.writeRegister(3, 7))).toBe(3); // valve mode 7: the model refuses
    model.inject({ kind: 'local_mode', target: 'ss2' });
    expect(await exceptionOf(client.writeRegister(2, 100))).toBe(4);
    expect(face.stats().writes).toBe(7);
  });

  it('leaves requests unanswered on comm_loss and answers late on slow_device, unit by unit', async () => {
    const { model, face, client } = await setup();
    client.setTimeout(400);
    const lost = model.inject({ kind: 'comm_loss', target: 'ss1' });
    client.setID(1);
    const err = await client.readHoldingRegisters(0, 2).catch((e: Error & { errno?: string }) => e);
    expect((err as { errno?: string }).errno).toBe('ETIMEDOUT');
    client.setID(2);
    expect((await client.readHoldingRegisters(0, 2)).data).toHaveLength(2);
    model.clear(lost);
    model.inject({ kind: 'slow_device', target: 'ss2', delayMs: 300 });
    client.setTimeout(2000);
    const t0 = Date.now();
    await client.readHoldingRegisters(0, 2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    client.setID(1);
    expect((await client.readHoldingRegisters(0, 2)).data).toHaveLength(2);
    expect(face.stats()).toMatchObject({ unanswered: 1, delayed: 1 });
  });
});
