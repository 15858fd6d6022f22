/**
 * The Modbus TCP face of the simulator: serves substations of the physical model as station PLCs, per a device
 * template (config/templates/substation-modbus.yaml by default), through modbus-serial's ServerTCP.
 *
 *   const face = await startModbusFace(model, { gateways: [{ port: 15020, units: { 1: 'ss01', 2: 'ss02' } }] });
 *   face.ports   // [15020]  (port 0 picks a free port; read the real one here)
 *   await face.close();
 *
 * - One TCP server per gateway address; the MBAP unit id picks the substation behind it, as with a field gateway.
 *   An unknown unit id gets exception 0x0A (gateway path unavailable).
 * - Reads are answered from a pre-encoded register image per unit, re-encoded when the model has stepped since (or a
 *   write changed a setpoint), never per request. Reads past the end of an area get exception 02 (illegal data
 *   address); with `strictAddresses`, so do reads touching addresses the template does not map.
 * - Writes (FC5 to writable coils, FC6/FC16 to writable holding registers) call the model's setpoint setters, so the
 *   physics follows. A write to anything else gets exception 02; a value the model refuses gets exception 03 (illegal
 *   data value); a panel in local mode gets exception 04.
 * - Faults of the model are honoured per unit at request time: `comm_loss` leaves requests unanswered (the socket stays
 *   open, as with a dead PLC behind a live gateway), `slow_device` answers after its delay.
 * - modbus-serial's server defers every request by a 0 ms timer (about 1 ms per request per connection), so
 *   throughput scales with connections: give large simulations many gateways (ports) rather than one.
 */
import type { AddressInfo, Server } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import { decodeField } from './codec.ts';
import { layoutOf, UnitImage, type ImageLayout, type TagValues } from './image.ts';
import { loadFaceTemplate, type FaceArea, type FaceField, type FaceTemplate } from './template.ts';

/** What the face needs from the model (NetworkModel satisfies it). */
export interface ModbusFaceModel {
  now(): number;
  substationTags(id: string): object;
  writeSubstation(id: string, tag: string, value: number | boolean): void;
  flags(id: string): { comm_loss: boolean; slow_ms: number };
}

export interface ModbusGatewayOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Unit id (1..247) → substation id. */
  units: Readonly<Record<number, string>>;
}

export interface ModbusFaceOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  gateways?: readonly ModbusGatewayOptions[];
  /** Shorthand for a single gateway: `{ port, units }`. */
  port?: number;
  units?: Readonly<Record<number, string>>;
  /** Template file path or parsed object (default: config/templates/substation-modbus.yaml). */
  template?: string | Record<string, unknown>;
  /** Answer reads that touch unmapped addresses with exception 02, like a picky PLC (default false: they read 0). */
  strictAddresses?: boolean;
}

export interface ModbusFaceStats {
  requests: number;
  reads: number;
  writes: number;
  exceptions: number;
  /** Requests left unanswered because of a comm_loss fault. */
  unanswered: number;
  /** Requests answered late because of a slow_device fault. */
  delayed: number;
  /** Register images encoded (about one per unit per model step that was read). */
  encodes: number;
  connections: number;
}

export interface ModbusFace {
  readonly ports: number[];
  readonly gateways: { port: number; units: ReadonlyMap<number, string> }[];
  stats(): ModbusFaceStats;
  close(): Promise<void>;
}

type Respond = (err: Error | null, value?: unknown) => void;

/** Modbus exception codes used by the face (Modbus Application Protocol V1.1b3 §7). */
const ILLEGAL_ADDRESS = 2;
const ILLEGAL_VALUE = 3;
const DEVICE_FAILURE = 4;
const GATEWAY_PATH_UNAVAILABLE = 10;

function exception(code: number, msg: string): Error {
  return Object.assign(new Error(msg), { modbusErrorCode: code });
}

interface Unit {
  substation: string;
  unitId: number;
  image: UnitImage;
}

export async function startModbusFace(model: ModbusFaceModel, opts: ModbusFaceOptions): Promise<ModbusFace> {
  const host = opts.host ?? '127.0.0.1';
  const gateways = [...(opts.gateways ?? []), ...(opts.port !== undefined ? [{ port: opts.port, units: opts.units ?? {} }] : [])];
  if (gateways.length === 0) throw new Error('startModbusFace: give gateways: [{ port, units: { unitId: substationId } }]');
  const tpl = loadFaceTemplate(opts.template);
  const layout = layoutOf(tpl);
  const writableAt = writeIndex(tpl);
  const startMs = model.now();
  const strict = opts.strictAddresses === true;
  const stats = { requests: 0, reads: 0, writes: 0, exceptions: 0, unanswered: 0, delayed: 0, encodes: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const servers: ServerTCP[] = [];
  const out: { port: number; units: ReadonlyMap<number, string> }[] = [];
  let closed = false;

  const imageOf = (u: Unit): UnitImage => {
    const now = model.now();
    if (u.image.at !== now) {
      u.image.encode(tpl, model.substationTags(u.substation) as TagValues, { unitId: u.unitId, startMs, nowMs: now });
      stats.encodes++;
    }
    return u.image;
  };

  /** Runs `serve` for a unit as its faults dictate: not at all (comm_loss), later (slow_device) or now. */
  const dispatch = (units: ReadonlyMap<number, Unit>, unitId: number, respond: Respond, serve: (u: Unit) => void): void => {
    stats.requests++;
    const u = units.get(unitId);
    if (!u) {
      stats.exceptions++;
      respond(exception(GATEWAY_PATH_UNAVAILABLE, `no unit ${unitId} behind this gateway`));
      return;
    }
    const flags = model.flags(u.substation);
    if (flags.comm_loss) {
      stats.unanswered++;
      return;
    }
    const run = (): void => {
      if (closed || model.flags(u.substation).comm_loss) return;
      try {
        serve(u);
      } catch (err) {
        stats.exceptions++;
        respond(err as Error);
      }
    };
    if (flags.slow_ms > 0) {
      stats.delayed++;
      const t = setTimeout(() => {
        timers.delete(t);
        run();
      }, flags.slow_ms);
      timers.add(t);
    } else run();
  };

  const readRegs = (units: ReadonlyMap<number, Unit>, area: 'holding' | 'input', addr: number, len: number, unitId: number, respond: Respond): void => {
    dispatch(units, unitId, respond, (u) => {
      stats.reads++;
      // Modbus: 1..125 registers per read (§6.3); more is an illegal data value.
      if (len < 1 || len > 125) throw exception(ILLEGAL_VALUE, `cannot read ${len} registers`);
      checkRange(layout, area, addr, len, strict);
      respond(null, imageOf(u)[area].subarray(addr, addr + len));
    });
  };

  const readBit = (units: ReadonlyMap<number, Unit>, area: 'coil' | 'discrete', addr: number, unitId: number, respond: Respond): void => {
    dispatch(units, unitId, respond, (u) => {
      stats.reads++;
      checkRange(layout, area, addr, 1, strict);
      respond(null, imageOf(u)[area][addr] === 1);
    });
  };

  const writeRegs = (units: ReadonlyMap<number, Unit>, addr: number, words: readonly number[], unitId: number, respond: Respond): void => {
    dispatch(units, unitId, respond, (u) => {
      stats.writes++;
      const end = addr + words.length;
      const fields: FaceField[] = [];
      for (let a = addr; a < end; ) {
        const f = writableAt.holding.get(a);
        if (!f || f.address + f.width > end) throw exception(ILLEGAL_ADDRESS, `holding ${a} is not the start of a writable register within the write`);
        fields.push(f);
        a += f.width;
      }
      for (const f of fields) applyWrite(model, u, f, decodeField(f, words.slice(f.address - addr, f.address - addr + f.width)));
      respond(null);
    });
  };

  const writeCoil = (units: ReadonlyMap<number, Unit>, addr: number, value: boolean, unitId: number, respond: Respond): void => {
    dispatch(units, unitId, respond, (u) => {
      stats.writes++;
      const f = writableAt.coil.get(addr);
      if (!f) throw exception(ILLEGAL_ADDRESS, `coil ${addr} is not writable`);
      applyWrite(model, u, f, value);
      respond(null);
    });
  };

  try {
    for (const gw of gateways) {
      const units = new Map<number, Unit>();
      for (const [id, ss] of Object.entries(gw.units)) {
        const unitId = Number(id);
        if (!Number.isInteger(unitId) || unitId < 0 || unitId > 255) throw new Error(`startModbusFace: unit id ${id} is not 0..255`);
        model.substationTags(ss); // throws for an unknown substation
        units.set(unitId, { substation: ss, unitId, image: new UnitImage(layout) });
      }
      const vector = {
        getHoldingRegister: (addr: number, unitId: number, cb: Respond) => readRegs(units, 'holding', addr, 1, unitId, (e, v) => cb(e, e ? undefined : (v as Uint16Array)[0])),
        getMultipleHoldingRegisters: (addr: number, len: number, unitId: number, cb: Respond) => readRegs(units, 'holding', addr, len, unitId, (e, v) => cb(e, e ? new Array(len).fill(0) : v)),
        getInputRegister: (addr: number, unitId: number, cb: Respond) => readRegs(units, 'input', addr, 1, unitId, (e, v) => cb(e, e ? undefined : (v as Uint16Array)[0])),
        // On error modbus-serial still indexes the values it is given, so it gets a dummy array with the error.
        getMultipleInputRegisters: (addr: number, len: number, unitId: number, cb: Respond) => readRegs(units, 'input', addr, len, unitId, (e, v) => cb(e, e ? new Array(len).fill(0) : v)),
        getCoil: (addr: number, unitId: number, cb: Respond) => readBit(units, 'coil', addr, unitId, cb),
        getDiscreteInput: (addr: number, unitId: number, cb: Respond) => readBit(units, 'discrete', addr, unitId, cb),
        setRegister: (addr: number, value: number, unitId: number, cb: Respond) => writeRegs(units, addr, [value], unitId, cb),
        setRegisterArray: (addr: number, values: number[], unitId: number, cb: Respond) => writeRegs(units, addr, values, unitId, cb),
        setCoil: (addr: number, value: boolean, unitId: number, cb: Respond) => writeCoil(units, addr, value, unitId, cb),
      };
      const server = await listen(vector, host, gw.port);
      servers.push(server);
      out.push({ port: portOf(server), units: new Map([...units].map(([k, v]) => [k, v.substation])) });
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  return {
    ports: out.map((g) => g.port),
    gateways: out,
    stats: () => ({ ...stats, connections: servers.reduce((n, s) => n + s.socks.size, 0) }),
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(servers.map(closeServer));
    },
  };
}

function checkRange(layout: ImageLayout, area: FaceArea, addr: number, len: number, strict: boolean): void {
  if (addr < 0 || addr + len > layout.size[area]) throw exception(ILLEGAL_ADDRESS, `${area} ${addr}+${len} is outside 0..${layout.size[area] - 1}`);
  if (strict) {
    const m = layout.mapped[area];
    for (let i = addr; i < addr + len; i++) if (!m[i]) throw exception(ILLEGAL_ADDRESS, `${area} ${i} is not mapped`);
  }
}

/** Writable fields by their first address. */
function writeIndex(tpl: FaceTemplate): { holding: Map<number, FaceField>; coil: Map<number, FaceField> } {
  const holding = new Map<number, FaceField>();
  const coil = new Map<number, FaceField>();
  for (const f of tpl.fields) {
    if (!f.writable) continue;
    if (f.area === 'holding' && f.type !== 'bit') holding.set(f.address, f);
    else if (f.area === 'coil') coil.set(f.address, f);
  }
  return { holding, coil };
}

/** Hands a write to the model, mapping its refusals to Modbus exceptions. */
function applyWrite(model: ModbusFaceModel, u: Unit, f: FaceField, value: number | boolean): void {
  try {
    model.writeSubstation(u.substation, f.name, value);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const msg = (err as Error).message;
    if (code === 'OUT_OF_RANGE') throw exception(ILLEGAL_VALUE, msg);
    if (code === 'NOT_WRITABLE' || code === 'UNKNOWN_TAG') throw exception(ILLEGAL_ADDRESS, msg);
    throw exception(DEVICE_FAILURE, msg);
  }
  u.image.at = NaN; // the setpoint changed now, not at the next step: re-encode before the next read
}

function listen(vector: object, host: string, port: number): Promise<ServerTCP> {
  return new Promise((resolve, reject) => {
    // ServerTCP treats port 0 as "use 502"; as a string it reaches net.listen unchanged and picks a free port.
    const server = new ServerTCP(vector as never, { host, port: String(port) as unknown as number, unitID: 255 });
    server.on('socketError', () => {});
    server.on('error', () => {});
    server.once('initialized', () => resolve(server));
    server.once('serverError', (err: Error | null) => reject(err ?? new Error(`cannot listen on ${host}:${port}`)));
  });
}

function portOf(server: ServerTCP): number {
  return ((server as unknown as { _server: Server })._server.address() as AddressInfo).port;
}

function closeServer(server: ServerTCP): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
