/**
 * The Modbus source against a bare modbus-serial ServerTCP serving a hand-written register table: independent of the
 * simulator face and of the hub's encoder, so the expected values here are worked out by hand from the wire bytes.
 */
import type { AddressInfo, Server } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import { ServerTCP } from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { AssetTree } from '../../../config/asset-tree.ts';
import { NetworkFile } from '../../../config/schema.ts';
import { systemClock } from '../../../core/clock.ts';
import { isWarmgridError } from '../../../core/errors.ts';
import { silentLogger } from '../../../core/log.ts';
import type { Reading } from '../../reading.ts';
import { ModbusSourceConfig } from './config.ts';
import { ModbusSource } from './modbus-source.ts';
import { validateModbusTemplate } from './template.ts';

const TEMPLATE = {
  id: 'test-plc',
  protocol: 'modbus',
  assetKind: 'substation',
  order: 'CDAB',
  registers: [
    { name: 'supply_temp_c', area: 'holding', address: 0, type: 'float32' },
    { name: 'outdoor_temp_c', area: 'holding', address: 2, type: 'int16', scale: 0.1 },
    { name: 'energy_kwh', area: 'holding', address: 3, type: 'uint32', order: 'ABCD' },
    { name: 'pump_running', area: 'holding', address: 5, type: 'bit', bit: 0 },
    { name: 'pump_fault', area: 'holding', address: 5, type: 'bit', bit: 3 },
    { name: 'local_mode', area: 'holding', address: 5, type: 'bit', bit: 1 },
    { name: 'setpoint_c', area: 'holding', address: 10, type: 'float32', writable: true, min: 20, max: 90 },
    { name: 'valve_mode', area: 'holding', address: 12, type: 'uint16', writable: true, min: 0, max: 3 },
    { name: 'flow_m3h', area: 'input', address: 0, type: 'float32', order: 'DCBA' },
    { name: 'volume_m3', area: 'input', address: 10, type: 'float64' },
    { name: 'pressure_mpa', area: 'input', address: 14, type: 'uint16', scale: 0.001 },
    { name: 'missing_c', area: 'input', address: 20, type: 'int16' },
    { name: 'pump_enable', area: 'coil', address: 0, type: 'bit', writable: true },
    { name: 'door_open', area: 'discrete', address: 2, type: 'bit' },
  ],
};

/** Register values on the wire, by hand: 123.456 = 0x42F6E979, 12.5 = 0x41480000, 1234.5678 = 0x40934A456D5CFAAD. */
function table(): { holding: Map<number, number>; input: Map<number, number>; coil: Map<number, boolean>; discrete: Map<number, boolean> } {
  return {
    holding: new Map([
      [0, 0xe979], // float32 CDAB: low word first
      [1, 0x42f6],
      [2, 0xffda], // int16 −38 × 0.1 = −3.8
      [3, 0x0001], // uint32 ABCD 70000
      [4, 0x1170],
      [5, 0x0009], // bits 0 and 3 set
      [10, 0x0000], // float32 CDAB 60.0 = 0x42700000
      [11, 0x4270],
      [12, 0x0002],
    ]),
    input: new Map([
      [0, 0x0000], // float32 DCBA 12.5: bytes 00 00 48 41
      [1, 0x4841],
      ...[2, 3, 4, 5, 6, 7, 8, 9].map((a): [number, number] => [a, 0]),
      [10, 0xfaad], // float64 CDAB: words least significant first
      [11, 0x6d5c],
      [12, 0x4a45],
      [13, 0x4093],
      [14, 456], // 0.456 MPa
      ...[15, 16, 17, 18, 19].map((a): [number, number] => [a, 0]),
      // 20 is not there: reads touching it get exception 02
    ]),
    coil: new Map([[0, true]]),
    discrete: new Map([
      [0, false],
      [1, false],
      [2, true],
    ]),
  };
}

function modbusError(code: number): Error {
  return Object.assign(new Error(`exception ${code}`), { modbusErrorCode: code });
}

interface Bare {
  port: number;
  tables: ReturnType<typeof table>;
  writes: string[];
  /** Exception codes to answer the next reads of an area with, one per read. */
  failNext: Partial<Record<'holding' | 'input' | 'coil' | 'discrete', number[]>>;
  /** A value the device stores instead of what was written (a device that clamps). */
  clamp: Map<number, number>;
  server: ServerTCP;
  close(): Promise<void>;
}

async function bareServer(unitId = 1): Promise<Bare> {
  const tables = table();
  const writes: string[] = [];
  const failNext: Bare['failNext'] = {};
  const clamp = new Map<number, number>();
  const regs = (area: 'holding' | 'input', addr: number, len: number, unit: number): number[] => {
    if (unit !== unitId) throw modbusError(11);
    const f = failNext[area]?.shift();
    if (f !== undefined) throw modbusError(f);
    const out: number[] = [];
    for (let a = addr; a < addr + len; a++) {
      const v = tables[area].get(a);
      if (v === undefined) throw modbusError(2);
      out.push(v);
    }
    return out;
  };
  const bit = (area: 'coil' | 'discrete', addr: number, unit: number): boolean => {
    if (unit !== unitId) throw modbusError(11);
    const f = failNext[area]?.shift();
    if (f !== undefined) throw modbusError(f);
    const v = tables[area].get(addr);
    if (v === undefined) throw modbusError(2);
    return v;
  };
  const vector = {
    getHoldingRegister: (addr: number, unit: number) => regs('holding', addr, 1, unit)[0]!,
    getMultipleHoldingRegisters: (addr: number, len: number, unit: number) => regs('holding', addr, len, unit),
    getInputRegister: (addr: number, unit: number) => regs('input', addr, 1, unit)[0]!,
    getMultipleInputRegisters: (addr: number, len: number, unit: number) => regs('input', addr, len, unit),
    getCoil: (addr: number, unit: number) => bit('coil', addr, unit),
    getDiscreteInput: (addr: number, unit: number) => bit('discrete', addr, unit),
    setRegister: (addr: number, value: number) => {
      writes.push(`FC6 ${addr} ${value}`);
      tables.holding.set(addr, clamp.get(addr) ?? value);
    },
    setRegisterArray: (addr: number, values: number[]) => {
      writes.push(`FC16 ${addr} ${values.map((v) => v.toString(16).padStart(4, '0')).join(' ')}`);
      values.forEach((v, i) => tables.holding.set(addr + i, v));
    },
    setCoil: (addr: number, value: boolean) => {
      writes.push(`FC5 ${addr} ${value}`);
      tables.coil.set(addr, value);
    },
  };
  const server = await new Promise<ServerTCP>((resolve, reject) => {
    const s = new ServerTCP(vector as never, { host: '127.0.0.1', port: '0' as unknown as number, unitID: 255 });
    s.on('socketError', () => {});
    s.once('initialized', () => resolve(s));
    s.once('serverError', reject);
  });
  const port = ((server as unknown as { _server: Server })._server.address() as AddressInfo).port;
  return { port, tables, writes, failNext, clamp, server, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const NETWORK = {
  company: { id: 'co', name: 'Co' },
  climate: { city: 'Jinan', designOutdoorC: -5.3 },
  heatSources: [{ id: 'hs1', name: 'P', networks: [{ id: 'n1', name: 'N', substations: [{ id: 'ss1', name: 'S', buildings: [{ id: 'b1', name: 'B', floors: 1, unitsPerFloor: 1, apartmentAreaM2: 90, insulation: 'average', suspended: [] }] }] }] }],
  weatherStations: [],
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function source(port: number, device: Record<string, unknown> = {}): Promise<{ src: ModbusSource; readings: Reading[] }> {
  const cfg = Value.Default(ModbusSourceConfig, {
    id: 'bare',
    kind: 'modbus',
    reconnect: { minMs: 50, maxMs: 200 },
    devices: [{ asset: 'ss1', template: 'test-plc', host: '127.0.0.1', port, unitId: 1, intervalMs: 200, timeoutMs: 300, ...device }],
  }) as ModbusSourceConfig;
  const readings: Reading[] = [];
  const src = new ModbusSource(cfg, {
    log: silentLogger(),
    clock: systemClock,
    assets: new AssetTree(Value.Default(NetworkFile, structuredClone(NETWORK)) as NetworkFile),
    templates: new Map([['test-plc', TEMPLATE as Record<string, unknown>]]),
    emit: async (rs) => {
      readings.push(...rs);
    },
    reject: () => {},
  });
  cleanups.push(() => src.stop());
  await src.start();
  return { src, readings };
}

function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

/** A slow device (every answer after `delayMs`) that records how many requests it had in progress at once. */
async function slowServer(delayMs: number): Promise<{ port: number; maxInFlight: () => number; log: string[]; close(): Promise<void> }> {
  const tables = table();
  const log: string[] = [];
  let inFlight = 0;
  let max = 0;
  const later = (what: string, fn: () => void): void => {
    inFlight++;
    max = Math.max(max, inFlight);
    log.push(what);
    setTimeout(() => {
      inFlight--;
      fn();
    }, delayMs);
  };
  const regs = (area: 'holding' | 'input', addr: number, len: number): number[] => Array.from({ length: len }, (_, i) => tables[area].get(addr + i) ?? 0);
  const vector = {
    getHoldingRegister: (addr: number, _u: number, cb: (e: Error | null, v: number) => void) => later(`FC3 ${addr}`, () => cb(null, regs('holding', addr, 1)[0]!)),
    getMultipleHoldingRegisters: (addr: number, len: number, _u: number, cb: (e: Error | null, v: number[]) => void) => later(`FC3 ${addr}`, () => cb(null, regs('holding', addr, len))),
    getInputRegister: (addr: number, _u: number, cb: (e: Error | null, v: number) => void) => later(`FC4 ${addr}`, () => cb(null, regs('input', addr, 1)[0]!)),
    getMultipleInputRegisters: (addr: number, len: number, _u: number, cb: (e: Error | null, v: number[]) => void) => later(`FC4 ${addr}`, () => cb(null, regs('input', addr, len))),
    getCoil: (addr: number, _u: number, cb: (e: Error | null, v: boolean) => void) => cb(null, tables.coil.get(addr) ?? false),
    getDiscreteInput: (addr: number, _u: number, cb: (e: Error | null, v: boolean) => void) => cb(null, tables.discrete.get(addr) ?? false),
    setRegisterArray: (addr: number, values: number[], _u: number, cb: (e: Error | null) => void) =>
      later(`FC16 ${addr}`, () => {
        values.forEach((v, i) => tables.holding.set(addr + i, v));
        cb(null);
      }),
  };
  const server = await new Promise<ServerTCP>((resolve, reject) => {
    const srv = new ServerTCP(vector as never, { host: '127.0.0.1', port: '0' as unknown as number, unitID: 255 });
    srv.on('socketError', () => {});
    srv.once('initialized', () => resolve(srv));
    srv.once('serverError', reject);
  });
  const port = ((server as unknown as { _server: Server })._server.address() as AddressInfo).port;
  return { port, maxInFlight: () => max, log, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('Modbus source against a bare ServerTCP with a hand-written register table', () => {
  it('the test template is valid', () => {
    expect(validateModbusTemplate(TEMPLATE)).toEqual([]);
  });

  it('decodes every type and order; a coalesced read refused with exception 02 is split and only the missing field is lost', async () => {
    const bare = await bareServer();
    cleanups.push(() => bare.close());
    const { src, readings } = await source(bare.port);
    await waitFor(() => readings.filter((r) => r.quality === 'good').length >= 2, 5000, 'two readings');
    const r = readings.filter((x) => x.quality === 'good').at(-1)!;
    expect(r.fields).toEqual({
      supply_temp_c: Math.fround(123.456),
      outdoor_temp_c: -3.8,
      energy_kwh: 70_000,
      pump_running: true,
      pump_fault: true,
      local_mode: false,
      setpoint_c: 60,
      valve_mode: 2,
      flow_m3h: 12.5,
      volume_m3: 1234.5678,
      pressure_mpa: 0.456,
      pump_enable: true,
      door_open: true,
    });
    expect(r.asset).toBe('ss1');
    expect(r.source).toBe('modbus:ss1');
    const st = src.deviceStats()[0]!;
    expect(st.commOk).toBe(true);
    expect(st.exceptions).toBeGreaterThanOrEqual(2); // the coalesced read once, then missing_c alone every cycle
    expect(st.badFields).toBeGreaterThanOrEqual(1);
  });

  it('retries a busy answer and keeps the device up', async () => {
    const bare = await bareServer();
    cleanups.push(() => bare.close());
    bare.failNext.holding = [6];
    bare.failNext.coil = [5];
    const { src, readings } = await source(bare.port, { retries: 2 });
    await waitFor(() => readings.some((r) => r.quality === 'good' && r.fields['pump_enable'] === true && r.fields['setpoint_c'] === 60), 5000, 'a full reading');
    expect(src.deviceStats()[0]!.busy).toBeGreaterThanOrEqual(2);
    expect(readings.every((r) => r.quality === 'good')).toBe(true);
  });

  it('reconnects at once, marking nothing bad, when the device drops its connections', async () => {
    const bare = await bareServer();
    cleanups.push(() => bare.close());
    const { src, readings } = await source(bare.port);
    await waitFor(() => readings.length >= 1, 5000, 'first reading');
    for (const sock of bare.server.socks.keys()) sock.destroy();
    const n = readings.length;
    await waitFor(() => readings.length >= n + 3, 5000, 'readings after the drop');
    expect(readings.every((r) => r.quality === 'good')).toBe(true);
    expect(src.deviceStats()[0]!.connects).toBeGreaterThanOrEqual(2);
  });

  it('marks the device bad when its unit stops answering behind the gateway, and never writes to it', async () => {
    const bare = await bareServer(7); // unit 1 is not there: exception 0B, gateway target failed to respond
    cleanups.push(() => bare.close());
    const { src, readings } = await source(bare.port, { writes: { enabled: true } });
    await waitFor(() => readings.some((r) => r.quality === 'bad'), 5000, 'a bad status');
    expect(readings.filter((r) => r.quality === 'bad')).toHaveLength(1);
    expect(readings[0]!.fields).toEqual({});
    const err = await src.writePoint('ss1', 'setpoint_c', 50).catch((e: unknown) => e);
    expect(isWarmgridError(err) && err.code).toBe('WRITE_FAILED');
    expect((err as Error).message).toMatch(/not answering/);
    expect(bare.writes).toEqual([]);
    expect(src.health().status).toBe('down');
  });

  it('writes with FC16, FC6 and FC5, reads back, and reports a value the device changed', async () => {
    const bare = await bareServer();
    cleanups.push(() => bare.close());
    const { src, readings } = await source(bare.port, { writes: { enabled: true } });
    await waitFor(() => readings.length >= 1, 5000, 'first reading');
    expect(await src.writePoint('ss1', 'setpoint_c', 45)).toEqual({ asset: 'ss1', point: 'setpoint_c', requested: 45, readBack: 45, ok: true });
    expect(await src.writePoint('ss1', 'valve_mode', 1)).toMatchObject({ readBack: 1, ok: true });
    expect(await src.writePoint('ss1', 'pump_enable', false)).toMatchObject({ readBack: false, ok: true });
    // 45.0 = 0x42340000, CDAB: low word first.
    expect(bare.writes).toEqual(['FC16 10 0000 4234', 'FC6 12 1', 'FC5 0 false']);
    bare.clamp.set(12, 2);
    const clamped = await src.writePoint('ss1', 'valve_mode', 3);
    expect(clamped).toMatchObject({ requested: 3, readBack: 2, ok: false });
    expect(clamped.message).toMatch(/holds 2 after writing 3/);
    const refused = await src.writePoint('ss1', 'valve_mode', 4).catch((e: unknown) => e);
    expect(isWarmgridError(refused) && refused.code).toBe('WRITE_REFUSED');
    expect(bare.writes).toHaveLength(4);
    const t0 = Date.now();
    await waitFor(() => readings.some((r) => r.ts >= t0 && r.fields['setpoint_c'] === 45 && r.fields['pump_enable'] === false), 3000, 'the written values polled');
  });
  it('queues a write behind the poll in progress: the device never has two requests at once', async () => {
    const slow = await slowServer(80);
    cleanups.push(() => slow.close());
    const { src, readings } = await source(slow.port, { writes: { enabled: true }, intervalMs: 300, timeoutMs: 1000 });
    await waitFor(() => slow.log.length >= 1, 3000, 'a poll in progress');
    const writes = [src.writePoint('ss1', 'setpoint_c', 41), src.writePoint('ss1', 'setpoint_c', 42)];
    const results = await Promise.all(writes);
    expect(results.map((r) => [r.readBack, r.ok])).toEqual([
      [41, true],
      [42, true],
    ]);
    await waitFor(() => readings.some((r) => r.fields['setpoint_c'] === 42), 3000, 'the last write polled');
    expect(slow.maxInFlight()).toBe(1);
    // Each write and its read-back are adjacent: no poll request slipped in between.
    const w = slow.log.indexOf('FC16 10');
    expect(slow.log.slice(w, w + 4)).toEqual(['FC16 10', 'FC3 10', 'FC16 10', 'FC3 10']);
  });
});
