/**
 * Configuration of a `modbus` source (one entry of sources.yaml): the devices it polls and how. Validated by
 * `ModbusSourceConfig` (TypeBox; the loader applies defaults) and then by `validateModbusConfig` (cross-checks against
 * assets and templates). Per-device settings fall back to the source's `defaults`. Reference: docs/modbus.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { checkDeviceTemplate, type ConfigProblem, type ValidateContext } from '../../source.ts';
import { MAX_BITS_PER_READ, MAX_REGISTERS_PER_READ } from './planner.ts';

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const Id = Type.String({ pattern: ID_PATTERN });

/** Settings a device may give itself or inherit from `defaults` (schema options; the schemas are built below). */
const opt = {
  template: { minLength: 1, description: 'Device template id (config/templates/*.yaml with protocol: modbus)' },
  host: { minLength: 1, maxLength: 253, description: 'Device or gateway address' },
  port: { minimum: 1, maximum: 65535, description: 'TCP port (Modbus TCP: 502)' },
  unitId: { minimum: 0, maximum: 255, description: 'Unit identifier: the slave behind a gateway (1..247), or what the device expects (often 1 or 255)' },
  intervalMs: { minimum: 100, maximum: 86_400_000, description: 'Poll interval' },
  timeoutMs: { minimum: 20, maximum: 60_000, description: 'Time to wait for one response' },
  retries: { minimum: 0, maximum: 10, description: 'Further attempts of a request that timed out or found the device busy' },
  maxGap: { minimum: 0, maximum: MAX_REGISTERS_PER_READ - 1, description: 'Unmapped registers (or bits) read to join neighbouring fields into one request' },
  maxRegistersPerRead: { minimum: 1, maximum: MAX_REGISTERS_PER_READ, description: 'Registers per FC3/FC4 read (Modbus: at most 125)' },
  maxBitsPerRead: { minimum: 1, maximum: MAX_BITS_PER_READ, description: 'Coils or inputs per FC1/FC2 read (Modbus: at most 2000)' },
  perFieldReads: { description: 'One request per field, for devices that refuse reads across several values or unmapped addresses' },
} as const;

export const ModbusDeviceDefaults = Type.Object(
  {
    template: Type.Optional(Type.String(opt.template)),
    host: Type.Optional(Type.String(opt.host)),
    port: Type.Integer({ ...opt.port, default: 502 }),
    unitId: Type.Integer({ ...opt.unitId, default: 1 }),
    intervalMs: Type.Integer({ ...opt.intervalMs, default: 1000 }),
    timeoutMs: Type.Integer({ ...opt.timeoutMs, default: 1000 }),
    retries: Type.Integer({ ...opt.retries, default: 1 }),
    maxGap: Type.Integer({ ...opt.maxGap, default: 10 }),
    maxRegistersPerRead: Type.Integer({ ...opt.maxRegistersPerRead, default: MAX_REGISTERS_PER_READ }),
    maxBitsPerRead: Type.Integer({ ...opt.maxBitsPerRead, default: MAX_BITS_PER_READ }),
    perFieldReads: Type.Boolean({ ...opt.perFieldReads, default: false }),
  },
  { additionalProperties: false, default: {} },
);

export const ModbusDeviceConfig = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'Device id (default: the asset id); readings carry source "modbus:<id>"' })),
    asset: Type.String({ minLength: 1, description: 'Asset id in network.yaml that this device measures' }),
    template: Type.Optional(Type.String(opt.template)),
    host: Type.Optional(Type.String(opt.host)),
    port: Type.Optional(Type.Integer(opt.port)),
    unitId: Type.Optional(Type.Integer(opt.unitId)),
    intervalMs: Type.Optional(Type.Integer(opt.intervalMs)),
    timeoutMs: Type.Optional(Type.Integer(opt.timeoutMs)),
    retries: Type.Optional(Type.Integer(opt.retries)),
    maxGap: Type.Optional(Type.Integer(opt.maxGap)),
    maxRegistersPerRead: Type.Optional(Type.Integer(opt.maxRegistersPerRead)),
    maxBitsPerRead: Type.Optional(Type.Integer(opt.maxBitsPerRead)),
    perFieldReads: Type.Optional(Type.Boolean(opt.perFieldReads)),
    writes: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Setpoint writes to this device (off unless set here, per device)' }),
        points: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }), { description: 'Only these writable fields of the template (default: all of them)' })),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);
export type ModbusDeviceConfig = Static<typeof ModbusDeviceConfig>;

export const ModbusSourceConfig = Type.Object(
  {
    id: Id,
    kind: Type.Literal('modbus'),
    enabled: Type.Boolean({ default: true }),
    concurrency: Type.Integer({
      default: 2048,
      minimum: 1,
      maximum: 100_000,
      description: 'Requests on the wire at once over all devices of this source (each device has at most one); size it by devices × requests per poll × round trip / interval',
    }),
    connectTimeoutMs: Type.Integer({ default: 3000, minimum: 50, maximum: 60_000, description: 'Time to wait for a TCP connection' }),
    reconnect: Type.Object(
      {
        minMs: Type.Integer({ default: 1000, minimum: 10, description: 'First delay before reconnecting to a device that failed (the very first retry is immediate)' }),
        maxMs: Type.Integer({ default: 60_000, minimum: 10, description: 'Longest delay; it doubles per failure up to this' }),
      },
      { additionalProperties: false, default: {} },
    ),
    maxPendingReadings: Type.Integer({ default: 100_000, minimum: 100, description: 'Readings held while the store is slow; beyond this the oldest are dropped and counted' }),
    defaults: ModbusDeviceDefaults,
    devices: Type.Array(ModbusDeviceConfig, { minItems: 1, maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
export type ModbusSourceConfig = Static<typeof ModbusSourceConfig>;

/** A device with every setting resolved (device value, else the source default). */
export interface ResolvedDevice {
  index: number;
  id: string;
  asset: string;
  template: string;
  host: string;
  port: number;
  unitId: number;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  maxGap: number;
  maxRegistersPerRead: number;
  maxBitsPerRead: number;
  perFieldReads: boolean;
  writes: { enabled: boolean; points: readonly string[] | null };
}

export function resolveDevices(cfg: ModbusSourceConfig): ResolvedDevice[] {
  const d = cfg.defaults;
  return cfg.devices.map((dev, index) => ({
    index,
    id: dev.id ?? dev.asset,
    asset: dev.asset,
    template: dev.template ?? d.template ?? '',
    host: dev.host ?? d.host ?? '',
    port: dev.port ?? d.port,
    unitId: dev.unitId ?? d.unitId,
    intervalMs: dev.intervalMs ?? d.intervalMs,
    timeoutMs: dev.timeoutMs ?? d.timeoutMs,
    retries: dev.retries ?? d.retries,
    maxGap: dev.maxGap ?? d.maxGap,
    maxRegistersPerRead: dev.maxRegistersPerRead ?? d.maxRegistersPerRead,
    maxBitsPerRead: dev.maxBitsPerRead ?? d.maxBitsPerRead,
    perFieldReads: dev.perFieldReads ?? d.perFieldReads,
    writes: { enabled: dev.writes?.enabled ?? false, points: dev.writes?.points ?? null },
  }));
}

/** Cross-checks beyond the schema; returns every problem (JSON pointers into the entry). */
export function validateModbusConfig(cfg: ModbusSourceConfig, ctx: ValidateContext): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  if (cfg.reconnect.maxMs < cfg.reconnect.minMs) add('/reconnect/maxMs', 'must be at least reconnect.minMs');
  const ids = new Map<string, number>();
  const addresses = new Map<string, number>();
  for (const dev of resolveDevices(cfg)) {
    const at = `/devices/${dev.index}`;
    const prevId = ids.get(dev.id);
    if (prevId !== undefined) add(cfg.devices[dev.index]!.id === undefined ? `${at}/asset` : `${at}/id`, `duplicate device id "${dev.id}" (also /devices/${prevId}); give each device an id`);
    ids.set(dev.id, dev.index);
    if (!dev.host) add(`${at}/host`, 'no host: set it on the device or in defaults.host');
    else {
      const key = `${dev.host.toLowerCase()}:${dev.port}/${dev.unitId}`;
      const prev = addresses.get(key);
      if (prev !== undefined) add(`${at}/unitId`, `${dev.host}:${dev.port} unit ${dev.unitId} is also /devices/${prev}`);
      addresses.set(key, dev.index);
    }
    const tpl = checkDeviceTemplate(ctx, dev, at, 'modbus', add);
    if (!tpl) continue;
    if (dev.writes.points) {
      const regs = Array.isArray(tpl['registers']) ? (tpl['registers'] as Record<string, unknown>[]) : [];
      const writable = new Set(regs.filter((r) => r['writable'] === true).map((r) => String(r['name'])));
      dev.writes.points.forEach((p, k) => {
        if (!writable.has(p)) add(`${at}/writes/points/${k}`, `"${p}" is not a writable field of template "${dev.template}" (writable: ${[...writable].join(', ') || 'none'})`);
      });
    }
  }
  return problems;
}
