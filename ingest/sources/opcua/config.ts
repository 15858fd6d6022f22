/**
 * Configuration of an `opcua` source (one entry of sources.yaml): the servers it connects to, the devices (asset +
 * template + where the device's object is) it reads from each, and how. Validated by `OpcuaSourceConfig` (TypeBox; the
 * loader applies defaults) and then by `validateOpcuaConfig` (cross-checks against assets and templates). Per-device
 * settings fall back to the source's `defaults`. Devices with the same `endpointUrl` share one connection and one
 * session, so the settings of that connection (security, user, mode, poll interval) must agree between them.
 * Reference: docs/opcua.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { checkDeviceTemplate, type ConfigProblem, type ValidateContext } from '../../source.ts';
import { unknownPlaceholders } from './address.ts';
import { Deadband } from './template.ts';

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
/** Policies of OPC UA Part 7 that node-opcua implements and that are not deprecated (Basic128Rsa15 and Basic256 are). */
export const SECURITY_POLICIES = ['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];
export const ACQUISITION_MODES = ['auto', 'subscribe', 'poll'] as const;
export type AcquisitionMode = (typeof ACQUISITION_MODES)[number];

const lit = <T extends string>(values: readonly T[], description: string) => Type.Union(values.map((v) => Type.Literal(v)), { description });

export const OpcuaSecurity = Type.Object(
  {
    mode: Type.Optional(lit(SECURITY_MODES, 'Message security mode (default SignAndEncrypt)')),
    policy: Type.Optional(lit(SECURITY_POLICIES, 'Security policy (default Basic256Sha256; None with mode None)')),
  },
  { additionalProperties: false },
);
export type OpcuaSecurity = Static<typeof OpcuaSecurity>;

export const OpcuaUser = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ maxLength: 1024, description: 'Put ${OPCUA_PASSWORD} here: secrets come from the environment' }),
  },
  { additionalProperties: false },
);
export type OpcuaUser = Static<typeof OpcuaUser>;

const opt = {
  template: { minLength: 1, description: 'Device template id (config/templates/*.yaml with protocol: opcua)' },
  endpointUrl: { pattern: '^opc\\.tcp://[^\\s/]+(/.*)?$', maxLength: 1000, description: 'Server endpoint, opc.tcp://host:port[/path]' },
  root: { minLength: 1, maxLength: 1000, description: 'Browse path from the Objects folder to the device object (overrides the template’s root)' },
  mode: 'auto: subscribe, and poll only what the server cannot monitor; subscribe; poll: read every intervalMs',
  intervalMs: { minimum: 100, maximum: 86_400_000, description: 'Poll interval where nodes are read rather than monitored' },
} as const;

export const OpcuaDeviceDefaults = Type.Object(
  {
    template: Type.Optional(Type.String(opt.template)),
    endpointUrl: Type.Optional(Type.String(opt.endpointUrl)),
    root: Type.Optional(Type.String(opt.root)),
    mode: Type.Union(ACQUISITION_MODES.map((m) => Type.Literal(m)), { description: opt.mode, default: 'auto' }),
    intervalMs: Type.Integer({ ...opt.intervalMs, default: 1000 }),
    security: Type.Object(OpcuaSecurity.properties, { additionalProperties: false, default: {} }),
    user: Type.Optional(OpcuaUser),
  },
  { additionalProperties: false, default: {} },
);

export const OpcuaDeviceConfig = Type.Object(
  {
    id: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'Device id (default: the asset id); readings carry source "opcua:<id>"' })),
    asset: Type.String({ minLength: 1, description: 'Asset id in network.yaml that this device measures' }),
    template: Type.Optional(Type.String(opt.template)),
    endpointUrl: Type.Optional(Type.String(opt.endpointUrl)),
    root: Type.Optional(Type.String(opt.root)),
    mode: Type.Optional(Type.Union(ACQUISITION_MODES.map((m) => Type.Literal(m)), { description: opt.mode })),
    intervalMs: Type.Optional(Type.Integer(opt.intervalMs)),
    security: Type.Optional(OpcuaSecurity),
    user: Type.Optional(OpcuaUser),
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
export type OpcuaDeviceConfig = Static<typeof OpcuaDeviceConfig>;

export const OpcuaSourceConfig = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN }),
    kind: Type.Literal('opcua'),
    enabled: Type.Boolean({ default: true }),
    applicationName: Type.String({ minLength: 1, maxLength: 200, default: 'warmgrid hub', description: 'Application name in the hub’s certificate and sessions' }),
    applicationUri: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Application URI (default urn:<host name>:warmgrid:hub); it is written into the certificate made on first run' })),
    pki: Type.Object(
      {
        dir: Type.String({ default: '', description: 'PKI directory: own certificate, trusted/, rejected/ (default <dataDir>/pki)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    connectTimeoutMs: Type.Integer({ default: 5000, minimum: 100, maximum: 120_000, description: 'Time to open the connection and secure channel' }),
    requestTimeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 300_000, description: 'Time to wait for the answer to one service call' }),
    sessionTimeoutMs: Type.Integer({ default: 60_000, minimum: 1000, maximum: 3_600_000, description: 'Session timeout asked of the server: how long it keeps a session whose client went silent' }),
    reconnect: Type.Object(
      {
        minMs: Type.Integer({ default: 500, minimum: 10, description: 'First delay before reconnecting after a failure (the very first retry is immediate)' }),
        maxMs: Type.Integer({
          default: 5000,
          minimum: 10,
          description: 'Longest delay; it doubles per failure up to this. It bounds how long values stay away after a server is back (one connection attempt per endpoint per delay)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    subscription: Type.Object(
      {
        publishingIntervalMs: Type.Integer({ default: 1000, minimum: 10, maximum: 3_600_000, description: 'How often the server sends what changed' }),
        keepAliveCount: Type.Integer({ default: 10, minimum: 1, maximum: 10_000, description: 'Publishing intervals without data before the server sends a keep-alive' }),
        lifetimeCount: Type.Integer({ default: 60, minimum: 3, maximum: 100_000, description: 'Publishing intervals without a client request before the server drops the subscription (≥ 3 × keepAliveCount)' }),
        maxNotificationsPerPublish: Type.Integer({ default: 0, minimum: 0, description: '0 = no limit' }),
        priority: Type.Integer({ default: 0, minimum: 0, maximum: 255 }),
      },
      { additionalProperties: false, default: {} },
    ),
    monitoring: Type.Object(
      {
        samplingIntervalMs: Type.Integer({ default: 1000, minimum: 0, maximum: 86_400_000, description: 'How often the server samples each node (0: as fast as it can, or on change)' }),
        queueSize: Type.Integer({ default: 1, minimum: 1, maximum: 1000, description: 'Values a server keeps per item between publishes' }),
        deadband: Type.Object(Deadband.properties, { additionalProperties: false, default: { type: 'none', value: 0 } }),
      },
      { additionalProperties: false, default: {} },
    ),
    maxPendingReadings: Type.Integer({ default: 100_000, minimum: 100, description: 'Readings held while the store is slow; beyond this the oldest are dropped and counted' }),
    defaults: OpcuaDeviceDefaults,
    devices: Type.Array(OpcuaDeviceConfig, { minItems: 1, maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
export type OpcuaSourceConfig = Static<typeof OpcuaSourceConfig>;

/** A device with every setting resolved (device value, else the source default). */
export interface ResolvedOpcuaDevice {
  index: number;
  id: string;
  asset: string;
  template: string;
  endpointUrl: string;
  root: string | null;
  mode: AcquisitionMode;
  intervalMs: number;
  security: { mode: SecurityModeName; policy: SecurityPolicyName };
  user: OpcuaUser | null;
  writes: { enabled: boolean; points: readonly string[] | null };
}

function resolveSecurity(dev: OpcuaSecurity | undefined, dflt: OpcuaSecurity): { mode: SecurityModeName; policy: SecurityPolicyName } {
  const mode = dev?.mode ?? dflt.mode ?? 'SignAndEncrypt';
  const policy = dev?.policy ?? dflt.policy ?? (mode === 'None' ? 'None' : 'Basic256Sha256');
  return { mode, policy };
}

export function resolveOpcuaDevices(cfg: OpcuaSourceConfig): ResolvedOpcuaDevice[] {
  const d = cfg.defaults;
  return cfg.devices.map((dev, index) => ({
    index,
    id: dev.id ?? dev.asset,
    asset: dev.asset,
    template: dev.template ?? d.template ?? '',
    endpointUrl: dev.endpointUrl ?? d.endpointUrl ?? '',
    root: dev.root ?? d.root ?? null,
    mode: dev.mode ?? d.mode,
    intervalMs: dev.intervalMs ?? d.intervalMs,
    security: resolveSecurity(dev.security, d.security),
    user: dev.user ?? d.user ?? null,
    writes: { enabled: dev.writes?.enabled ?? false, points: dev.writes?.points ?? null },
  }));
}

/** Devices sharing a connection: one per endpoint URL (scheme and host compared case-insensitively). */
export function endpointKey(url: string): string {
  const m = /^(opc\.tcp:\/\/[^/]+)(.*)$/i.exec(url);
  return m ? `${m[1]!.toLowerCase()}${m[2]!}` : url;
}

/** Cross-checks beyond the schema; returns every problem (JSON pointers into the entry). */
export function validateOpcuaConfig(cfg: OpcuaSourceConfig, ctx: ValidateContext): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (path: string, message: string): void => {
    problems.push({ path, message });
  };
  if (cfg.reconnect.maxMs < cfg.reconnect.minMs) add('/reconnect/maxMs', 'must be at least reconnect.minMs');
  // OPC UA Part 4 §5.13.2.2: the lifetime count shall be at least three times the keep-alive count.
  if (cfg.subscription.lifetimeCount < 3 * cfg.subscription.keepAliveCount) add('/subscription/lifetimeCount', `must be at least 3 × keepAliveCount (${3 * cfg.subscription.keepAliveCount})`);
  const ids = new Map<string, number>();
  const endpoints = new Map<string, ResolvedOpcuaDevice>();
  for (const dev of resolveOpcuaDevices(cfg)) {
    const at = `/devices/${dev.index}`;
    const raw = cfg.devices[dev.index]!;
    const prevId = ids.get(dev.id);
    if (prevId !== undefined) add(raw.id === undefined ? `${at}/asset` : `${at}/id`, `duplicate device id "${dev.id}" (also /devices/${prevId}); give each device an id`);
    ids.set(dev.id, dev.index);
    if (!dev.endpointUrl) add(`${at}/endpointUrl`, 'no endpointUrl: set it on the device or in defaults.endpointUrl');
    if ((dev.security.mode === 'None') !== (dev.security.policy === 'None')) add(`${at}/security`, `security mode ${dev.security.mode} does not go with policy ${dev.security.policy} (None goes only with None)`);
    if (dev.user && dev.security.mode === 'None') add(`${at}/user`, 'a user name and password need security mode SignAndEncrypt (or Sign): over mode None the password could travel readable');
    if (dev.endpointUrl) {
      const key = endpointKey(dev.endpointUrl);
      const first = endpoints.get(key);
      if (!first) endpoints.set(key, dev);
      else {
        const differ: string[] = [];
        if (first.security.mode !== dev.security.mode || first.security.policy !== dev.security.policy) differ.push('security');
        if ((first.user?.username ?? null) !== (dev.user?.username ?? null) || (first.user?.password ?? null) !== (dev.user?.password ?? null)) differ.push('user');
        if (first.mode !== dev.mode) differ.push('mode');
        if (first.intervalMs !== dev.intervalMs) differ.push('intervalMs');
        if (differ.length > 0) add(at, `shares ${dev.endpointUrl} (one session) with /devices/${first.index} but differs in ${differ.join(', ')}; give them the same settings`);
      }
    }
    if (dev.root !== null) for (const k of unknownPlaceholders(dev.root)) add(raw.root !== undefined ? `${at}/root` : '/defaults/root', `unknown placeholder {${k}} (known: {asset}, {device})`);
    const tpl = checkDeviceTemplate(ctx, dev, at, 'opcua', add);
    if (!tpl) continue;
    const fields = Array.isArray(tpl['fields']) ? (tpl['fields'] as Record<string, unknown>[]) : [];
    if (dev.root === null && tpl['root'] === undefined && fields.some((f) => f['path'] !== undefined)) add(`${at}/root`, `template "${dev.template}" has browse paths but no root: give the device object's browse path in root`);
    if (dev.writes.points) {
      const writable = new Set(fields.filter((f) => f['writable'] === true).map((f) => String(f['name'])));
      dev.writes.points.forEach((p, k) => {
        if (!writable.has(p)) add(`${at}/writes/points/${k}`, `"${p}" is not a writable field of template "${dev.template}" (writable: ${[...writable].join(', ') || 'none'})`);
      });
    }
  }
  return problems;
}
