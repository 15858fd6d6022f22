/**
 * The OPC UA face of the simulator: serves substations of the physical model as an OPC UA server (node-opcua), the
 * way a station controller or a plant DCS with an OPC UA interface does.
 *
 *   const face = await startOpcuaFace(model, { port: 4841, substations: ['ss11', 'ss12'], pkiDir: 'data/sim-pki' });
 *   face.endpointUrl     // opc.tcp://127.0.0.1:4841 (port 0 picks a free port; read the real one here)
 *   await face.stop();   // the server goes away (clients see the connection drop), the port is kept
 *   await face.start({ renumber: true });   // back, with new NodeIds and a new namespace index
 *   await face.close();
 *
 * Address space (layout.ts): Objects/Substations/<id>/<Folder>/<Name>, one Variable per model tag, AnalogItemType with
 * EngineeringUnits and EURange for numbers (OPC UA Part 8, Data Access), all in the namespace `FACE_NAMESPACE_URI`.
 *
 * Contract:
 * - Values: every `updateIntervalMs` the face looks at the model's clock; when the model has stepped, each variable
 *   whose value or status changed gets the new value with the model's time as SourceTimestamp (Part 4 §7.7.3). A tag
 *   the model reports as a dead sensor (a `sensor_dead` fault) is Bad_SensorFailure with a null value (Part 4 §7.7.1).
 * - Writes to the writable variables call `model.writeSubstation`, so the physics follows. A value the model refuses
 *   is answered with Bad_OutOfRange; a panel in local mode with Bad_UserAccessDenied; anything else the model throws
 *   with Bad_InternalError. The written value is readable at once.
 * - Faults: `comm_loss` on a substation (or an asset above it) makes every variable of that substation report
 *   Bad_NoCommunication (null value) and refuses writes with Bad_NoCommunication, as an OPC UA server in front of a
 *   station it cannot reach does; the server itself stays up. A whole-server outage is `stop()`/`start()`.
 *   `slow_device` holds back that substation's value updates by its delay (data arrive late, stamped with the model's
 *   time).
 * - Security: the endpoints offer the given modes; None uses policy None, Sign and SignAndEncrypt use Basic256Sha256.
 *   The server makes its application instance certificate on first run in `pkiDir` (kept across runs) and accepts
 *   every client certificate (a simulator; a real server keeps a trust list). Logins: anonymous unless
 *   `allowAnonymous: false`, and user name/password for `users`.
 * - `stop()` shuts the server down at once (sessions are gone, as after a power cut); `start()` builds a fresh server on
 *   the same port: sessions, subscriptions and, with `renumber`, NodeIds and the namespace index do not survive.
 */
import './quiet.ts';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { makeEUInformation } from 'node-opcua-data-access';
import { DataValue } from 'node-opcua-data-value';
import { nodesets } from 'node-opcua-nodesets';
import { MessageSecurityMode, SecurityPolicy } from 'node-opcua-secure-channel';
import { OPCUAServer } from 'node-opcua-server';
import { StatusCodes, type StatusCode } from 'node-opcua-status-code';
import { DataType, Variant } from 'node-opcua-variant';
import type { Logger } from 'pino';
import { FACE_FOLDERS, FACE_NAMESPACE_URI, FACE_NODES, stringIdentifier, UNIT_TEXT, type FaceNode } from './layout.ts';
import { setLibrarySink } from './quiet.ts';

/** What the face needs from the model (NetworkModel satisfies it). */
export interface OpcuaFaceModel {
  now(): number;
  substationIds(): readonly string[];
  substationTags(id: string): object;
  writeSubstation(id: string, tag: string, value: number | boolean): void;
  flags(id: string): { comm_loss: boolean; slow_ms: number };
  /** Active faults; the face looks for `sensor_dead` on its substations. */
  faults?(): readonly { spec: { kind: string; target: string; tag?: string } }[];
}

export type OpcuaSecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';

export interface OpcuaFaceOptions {
  /** TCP port; 0 picks a free one (kept across stop()/start()). */
  port: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Host name in the endpoint URLs and the certificate (default: `host`). */
  hostname?: string;
  /** Substations to serve (default: every substation of the model). */
  substations?: readonly string[];
  /** Security modes offered (default: all three). */
  securityModes?: readonly OpcuaSecurityMode[];
  /** User name → password; these users may log in with a user name token. */
  users?: Readonly<Record<string, string>>;
  /** Anonymous logins (default true). */
  allowAnonymous?: boolean;
  /** Directory of the server's PKI (own certificate and key, made on first run; trusted and rejected clients). */
  pkiDir: string;
  /** How often the face checks whether the model has stepped (ms, default 200). */
  updateIntervalMs?: number;
  /**
   * The base information model: `standard` (default) is the full OPC UA nodeset (needed for AnalogItemType,
   * EngineeringUnits and EURange); `mini` is node-opcua's minimal one, about 10× lighter to start, with plain
   * variables (for benchmarks that run many servers).
   */
  nodeset?: 'standard' | 'mini';
  /** Most sessions at once (default 100). */
  maxSessions?: number;
  applicationUri?: string;
  /** Where node-opcua's own warnings go (at DEBUG); without one they are dropped. */
  log?: Logger;
}

export interface OpcuaFaceStats {
  /** Model steps published. */
  updates: number;
  /** Variable values set (changed value or status). */
  valuesSet: number;
  writes: number;
  writesRefused: number;
  starts: number;
}

export interface OpcuaFace {
  readonly port: number;
  /** The endpoint URL (opc.tcp://hostname:port). */
  readonly endpointUrl: string;
  readonly namespaceUri: string;
  readonly substations: readonly string[];
  /** The server's certificate (PEM file) in `pkiDir`, e.g. to put it in a client's trust list. */
  readonly certificateFile: string;
  /** The running server (null while stopped), for tests that read its engine (sessions, subscriptions). */
  readonly server: OPCUAServer | null;
  /** Sessions open on the server now (0 while stopped). */
  sessionCount(): number;
  /** Sessions created since the face started (all runs). */
  sessionsCreated(): number;
  stats(): OpcuaFaceStats;
  /** Shuts the server down; the face can be started again. */
  stop(): Promise<void>;
  /** Starts it again on the same port; `renumber` gives every node a new NodeId and shifts the namespace index. */
  start(opts?: { renumber?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** node-opcua's minimal information model, shipped with its address space package. */
const MINI_NODESET = path.join(path.dirname(createRequire(import.meta.url).resolve('node-opcua-address-space/package.json')), 'nodesets', 'mini.Nodeset2.xml');

const MODE: Record<OpcuaSecurityMode, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

/** Status codes the model's refusals map to (OPC UA Part 4 StatusCodes, Part 8 Data Access codes). */
function statusOfModelError(err: unknown): StatusCode {
  const code = (err as { code?: string }).code;
  if (code === 'OUT_OF_RANGE') return StatusCodes.BadOutOfRange;
  if (code === 'LOCAL_MODE') return StatusCodes.BadUserAccessDenied;
  if (code === 'NOT_WRITABLE') return StatusCodes.BadNotWritable;
  return StatusCodes.BadInternalError;
}

interface Bound {
  substation: string;
  node: FaceNode;
  /** Last published value, status and time. */
  dv: DataValue;
  /** Set value from the model (read-only variables); writable ones serve `dv` through their getter. */
  push: ((dv: DataValue) => void) | null;
}

export async function startOpcuaFace(model: OpcuaFaceModel, opts: OpcuaFaceOptions): Promise<OpcuaFace> {
  const host = opts.host ?? '127.0.0.1';
  const hostname = opts.hostname ?? host;
  const substations = [...(opts.substations ?? model.substationIds())];
  for (const id of substations) model.substationTags(id); // throws for an unknown substation
  const modes = opts.securityModes ?? ['None', 'Sign', 'SignAndEncrypt'];
  if (modes.length === 0) throw new Error('startOpcuaFace: securityModes must not be empty');
  const users = opts.users ?? {};
  const updateMs = opts.updateIntervalMs ?? 200;
  const stats: OpcuaFaceStats = { updates: 0, valuesSet: 0, writes: 0, writesRefused: 0, starts: 0 };
  const applicationUri = opts.applicationUri ?? 'urn:warmgrid:simulator:opcua';
  if (opts.log) {
    const lib = opts.log.child({ lib: 'node-opcua' });
    setLibrarySink((m) => lib.debug(m));
  }
  mkdirSync(opts.pkiDir, { recursive: true });

  let port = opts.port;
  let server: OPCUAServer | null = null;
  let timer: NodeJS.Timeout | null = null;
  let bound: Bound[] = [];
  let generation = 0;
  let lastModelMs = NaN;
  let sessionsCreatedBefore = 0;
  const slowTimers = new Set<NodeJS.Timeout>();
  let closed = false;

  const deadTags = (): Set<string> => {
    const out = new Set<string>();
    for (const f of model.faults?.() ?? []) if (f.spec.kind === 'sensor_dead' && f.spec.tag) out.add(`${f.spec.target}/${f.spec.tag}`);
    return out;
  };

  /** The DataValue a variable should show now. */
  const valueOf = (b: Bound, tags: Record<string, unknown>, commLost: boolean, dead: Set<string>, ts: Date): DataValue => {
    // Part 4 §7.7.1: the value of a Bad DataValue is null.
    if (commLost) return new DataValue({ value: NULL_VARIANT, statusCode: StatusCodes.BadNoCommunication, sourceTimestamp: b.dv.sourceTimestamp ?? ts, serverTimestamp: new Date() });
    if (dead.has(`${b.substation}/${b.node.tag}`)) return new DataValue({ value: NULL_VARIANT, statusCode: StatusCodes.BadSensorFailure, sourceTimestamp: ts, serverTimestamp: new Date() });
    return new DataValue({ value: toVariant(b.node, tags[b.node.tag]), statusCode: StatusCodes.Good, sourceTimestamp: ts, serverTimestamp: new Date() });
  };

  const apply = (b: Bound, dv: DataValue): void => {
    const prev = b.dv;
    if (prev.statusCode === dv.statusCode && sameValue(prev.value.value, dv.value.value)) return;
    b.dv = dv;
    stats.valuesSet++;
    b.push?.(dv);
  };

  /** Publishes one substation's values from the model now. */
  const refresh = (substation: string, mine: readonly Bound[], dead: Set<string>): void => {
    const commLost = model.flags(substation).comm_loss;
    const tags = model.substationTags(substation) as Record<string, unknown>;
    const ts = new Date(model.now());
    for (const b of mine) apply(b, valueOf(b, tags, commLost, dead, ts));
  };

  const bySubstation = (): Map<string, Bound[]> => {
    const m = new Map<string, Bound[]>();
    for (const b of bound) {
      let l = m.get(b.substation);
      if (!l) m.set(b.substation, (l = []));
      l.push(b);
    }
    return m;
  };
  let groups = new Map<string, Bound[]>();

  const tick = (): void => {
    if (!server) return;
    const now = model.now();
    const stepped = now !== lastModelMs;
    lastModelMs = now;
    const dead = deadTags();
    for (const [ss, mine] of groups) {
      const flags = model.flags(ss);
      // comm_loss shows at once (not only at a model step); values wait for a step.
      if (!stepped && !flags.comm_loss && mine[0]!.dv.statusCode !== StatusCodes.BadNoCommunication) continue;
      if (flags.slow_ms > 0 && !flags.comm_loss) {
        const gen = generation;
        const t = setTimeout(() => {
          slowTimers.delete(t);
          if (gen === generation && server) refresh(ss, mine, deadTags());
        }, flags.slow_ms);
        slowTimers.add(t);
      } else refresh(ss, mine, dead);
    }
    if (stepped) stats.updates++;
  };

  const write = (b: Bound, dv: DataValue): StatusCode => {
    stats.writes++;
    if (model.flags(b.substation).comm_loss) {
      stats.writesRefused++;
      return StatusCodes.BadNoCommunication;
    }
    const v = dv.value;
    const expected = DataType[b.node.dataType];
    if (v.dataType !== expected) {
      stats.writesRefused++;
      return StatusCodes.BadTypeMismatch;
    }
    try {
      model.writeSubstation(b.substation, b.node.tag, v.value as number | boolean);
    } catch (err) {
      stats.writesRefused++;
      return statusOfModelError(err);
    }
    refresh(b.substation, groups.get(b.substation) ?? [b], deadTags());
    return StatusCodes.Good;
  };

  const build = async (renumber: boolean): Promise<OPCUAServer> => {
    const serverCm = new OPCUACertificateManager({ rootFolder: path.join(opts.pkiDir, 'server'), automaticallyAcceptUnknownCertificate: true, disableFileWatchers: true });
    const userCm = new OPCUACertificateManager({ rootFolder: path.join(opts.pkiDir, 'users'), automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true });
    const withNone = modes.includes('None');
    const withSecure = modes.some((m) => m !== 'None');
    const srv = new OPCUAServer({
      port,
      host,
      hostname,
      serverCertificateManager: serverCm,
      userCertificateManager: userCm,
      securityModes: modes.map((m) => MODE[m]),
      securityPolicies: [...(withNone ? [SecurityPolicy.None] : []), ...(withSecure ? [SecurityPolicy.Basic256Sha256] : [])],
      allowAnonymous: opts.allowAnonymous ?? true,
      userManager: { isValidUser: (username: string, password: string) => Object.hasOwn(users, username) && users[username] === password },
      nodeset_filename: [opts.nodeset === 'mini' ? MINI_NODESET : nodesets.standard],
      serverInfo: { applicationUri, productUri: 'urn:warmgrid:simulator', applicationName: { text: 'warmgrid substation simulator' } },
      buildInfo: { productName: 'warmgrid substation simulator', manufacturerName: 'warmgrid', softwareVersion: '1' },
      serverCapabilities: { maxSessions: opts.maxSessions ?? 100 },
      maxConnectionsPerEndpoint: opts.maxSessions ?? 100,
      isAuditing: false,
    });
    await srv.initialize();
    const space = srv.engine.addressSpace!;
    // A controller after a program download: another namespace registered first moves ours to the next index.
    if (renumber) space.registerNamespace(`urn:warmgrid:simulator:generation:${generation}`);
    const ns = space.registerNamespace(FACE_NAMESPACE_URI);
    const nsIndex = ns.index;
    const analog = opts.nodeset !== 'mini';
    let numeric = 1000 + generation * 100_000;
    const idOf = (s: string): string => (renumber ? `ns=${nsIndex};i=${numeric++}` : `ns=${nsIndex};s=${s}`);
    const root = ns.addFolder(space.rootFolder.objects, { browseName: 'Substations', nodeId: idOf('Substations') });
    const out: Bound[] = [];
    const ts = new Date(model.now());
    for (const ss of substations) {
      const obj = ns.addObject({ organizedBy: root, browseName: ss, nodeId: idOf(ss) });
      const folders = new Map(FACE_FOLDERS.map((f) => [f, ns.addObject({ componentOf: obj, browseName: f, nodeId: idOf(stringIdentifier(ss, f)) })]));
      const tags = model.substationTags(ss) as Record<string, unknown>;
      for (const node of FACE_NODES) {
        const b: Bound = { substation: ss, node, dv: new DataValue({ value: toVariant(node, tags[node.tag]), statusCode: StatusCodes.Good, sourceTimestamp: ts, serverTimestamp: ts }), push: null };
        const common = {
          componentOf: folders.get(node.folder)!,
          browseName: node.name,
          nodeId: idOf(stringIdentifier(ss, node)),
          dataType: node.dataType,
          minimumSamplingInterval: 100,
          ...(node.writable ? { accessLevel: 'CurrentRead | CurrentWrite', userAccessLevel: 'CurrentRead | CurrentWrite' } : { accessLevel: 'CurrentRead', userAccessLevel: 'CurrentRead' }),
        } as const;
        const variable =
          analog && node.range
            ? ns.addAnalogDataItem({
                ...common,
                engineeringUnitsRange: node.range,
                engineeringUnits: makeEUInformation(node.unit, UNIT_TEXT[node.unit].short, UNIT_TEXT[node.unit].long),
              })
            : ns.addVariable(common);
        if (node.writable) {
          variable.bindVariable(
            {
              timestamped_get: () => b.dv,
              timestamped_set: async (dv: DataValue) => write(b, dv),
            },
            true,
          );
        } else {
          variable.setValueFromSource(b.dv.value, b.dv.statusCode, b.dv.sourceTimestamp ?? ts);
          b.push = (dv) => variable.setValueFromSource(dv.value, dv.statusCode, dv.sourceTimestamp ?? new Date());
        }
        out.push(b);
      }
    }
    bound = out;
    groups = bySubstation();
    try {
      await srv.start();
    } catch (err) {
      await srv.shutdown(0).catch(() => undefined);
      throw err;
    }
    return srv;
  };

  const face: OpcuaFace = {
    get port() {
      return port;
    },
    get endpointUrl() {
      return `opc.tcp://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
    },
    namespaceUri: FACE_NAMESPACE_URI,
    substations,
    certificateFile: path.join(opts.pkiDir, 'server', 'own', 'certs', 'certificate.pem'),
    get server() {
      return server;
    },
    sessionCount: () => server?.engine.currentSessionCount ?? 0,
    sessionsCreated: () => sessionsCreatedBefore + (server?.engine.cumulatedSessionCount ?? 0),
    stats: () => ({ ...stats }),
    async stop() {
      if (!server) return;
      const s = server;
      server = null;
      generation++;
      if (timer) clearInterval(timer);
      timer = null;
      for (const t of slowTimers) clearTimeout(t);
      slowTimers.clear();
      sessionsCreatedBefore += s.engine.cumulatedSessionCount;
      await s.shutdown(0);
    },
    async start(startOpts = {}) {
      if (closed) throw new Error('startOpcuaFace: the face is closed');
      if (server) return;
      const s = await build(startOpts.renumber === true);
      if (port === 0) port = s.endpoints[0]!.port;
      server = s;
      stats.starts++;
      lastModelMs = model.now();
      timer = setInterval(tick, updateMs);
      tick();
    },
    async close() {
      if (closed) return;
      await face.stop();
      closed = true;
    },
  };
  await face.start();
  return face;
}

const NULL_VARIANT = new Variant({ dataType: DataType.Null });

function toVariant(node: FaceNode, raw: unknown): Variant {
  if (node.dataType === 'Boolean') return new Variant({ dataType: DataType.Boolean, value: raw === true || raw === 1 });
  const x = typeof raw === 'number' ? raw : typeof raw === 'boolean' ? Number(raw) : NaN;
  if (node.dataType === 'Int32') return new Variant({ dataType: DataType.Int32, value: Number.isFinite(x) ? Math.round(x) : 0 });
  return new Variant({ dataType: DataType.Double, value: x });
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}
