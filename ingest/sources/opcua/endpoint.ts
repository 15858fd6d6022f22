/**
 * One OPC UA server endpoint: its connection, its one session, its subscription, the devices read through it, and the
 * recovery when any of that breaks. Loaded lazily by the source (it imports node-opcua).
 *
 * Contract:
 * - At most one session per endpoint is in use. Every attempt runs the same steps in order: open the secure channel;
 *   close the session of the previous connection if it may still exist on the server (reactivate it on the new channel,
 *   then CloseSession with deleteSubscriptions — Part 4 §5.6.3, §5.6.4: a session can only be closed on its own
 *   channel); CreateSession + ActivateSession; read the NamespaceArray and the operation limits; resolve every node
 *   again (TranslateBrowsePathsToNodeIds from the Objects folder, namespace URIs to indexes — a restarted server may
 *   have renumbered both); CreateSubscription; CreateMonitoredItems. A step that fails ends the attempt, and a session
 *   it made is closed (or kept for closing on the next channel). So the server's session count for this hub stays at
 *   one, plus at most one left over from a broken channel until the next connect closes it or the server times it out.
 * - node-opcua's own reconnection (`connectionStrategy`, session repair, subscription transfer) is switched off: it
 *   re-creates monitored items with NodeIds from before a restart (Bad_NodeIdUnknown forever when they changed) and
 *   its session repair does not handle a restarted server. Here every loss leads to the one path above.
 * - Loss is detected by: the channel closing (server stop, TCP reset), the subscription going silent for longer than its
 *   keep-alive period plus margin (a hung server or a half-open connection), the server ending the subscription
 *   (Bad_Timeout) or the session, or a failed poll. On loss every device of the endpoint is marked down (one status
 *   reading with quality bad and no fields) and the endpoint reconnects with backoff: at once, then reconnect.minMs
 *   doubling to maxMs, ±20 % jitter.
 * - Data: values come through monitored items (sampling interval, queue size, deadband per field) and are grouped into
 *   Readings per device (samples.ts); nodes the server cannot monitor (Bad_TooManyMonitoredItems, no subscription
 *   service) are read every `intervalMs` instead. A deadband the server refuses is dropped for that item (WARN once).
 * - Writes use the session of the moment: Write with the node's DataType, the StatusCode checked, then a Read back.
 * - Logging: a loss is one WARN per endpoint (bounded); a certificate the hub does not trust is one ERROR per
 *   certificate with the steps to trust it; recovery is one INFO with the time it took. Nothing per value.
 */
import {
  AttributeIds,
  BrowsePath,
  ClientMonitoredItemGroup,
  DataChangeFilter,
  DataChangeTrigger,
  DataType,
  DeadbandType,
  MessageSecurityMode,
  OPCUAClient,
  ReferenceTypeIds,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  Variant,
  VariableIds,
  coerceNodeId,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type NodeId,
  type UserIdentityInfo,
} from 'node-opcua-client';
import type { Clock, TimerHandle } from '../../../core/clock.ts';
import { WarmgridError } from '../../../core/errors.ts';
import type { Logger, RateLimitedLog } from '../../../core/log.ts';
import type { Reading } from '../../reading.ts';
import type { WriteResult } from '../../source.ts';
import { reconnectDelay } from '../modbus/scheduler.ts';
import { formatBrowsePath, namespaceIndex, nodeIdString, type BrowseName } from './address.ts';
import type { OpcuaSourceConfig, ResolvedOpcuaDevice } from './config.ts';
import { certificateFacts, fetchServerCertificate, untrustedMessage, type Pki } from './pki.ts';
import { assemble, fieldValueOf, type ValueUpdate } from './samples.ts';
import { cannotSubscribe, hexStatus, isFilterRefused, isGood, isUnknownNode } from './status.ts';
import type { CompiledOpcuaField, CompiledOpcuaTemplate, DeviceAddresses } from './template.ts';

export type EndpointState = 'idle' | 'connecting' | 'up' | 'backoff' | 'stopped';

export interface DevicePlan {
  readonly cfg: ResolvedOpcuaDevice;
  readonly template: CompiledOpcuaTemplate;
  readonly addresses: DeviceAddresses;
}

export interface EndpointPlan {
  readonly url: string;
  readonly cfg: Pick<ResolvedOpcuaDevice, 'security' | 'user' | 'mode' | 'intervalMs'>;
  readonly devices: readonly DevicePlan[];
}

export interface EndpointEnv {
  clock: Clock;
  log: Logger;
  warn: RateLimitedLog;
  pki: Pki;
  app: { applicationName: string; applicationUri: string };
  source: Pick<OpcuaSourceConfig, 'connectTimeoutMs' | 'requestTimeoutMs' | 'sessionTimeoutMs' | 'reconnect' | 'subscription' | 'monitoring'>;
  deliver(reading: Reading): void;
  random?: () => number;
}

export interface EndpointStats {
  url: string;
  state: EndpointState;
  /** How values are had on the current connection: all monitored, all polled, or both. */
  acquisition: 'subscribe' | 'poll' | 'mixed' | null;
  connects: number;
  connectFailures: number;
  losses: number;
  sessionsCreated: number;
  sessionsClosed: number;
  /** Sessions of a broken connection closed on the next one. */
  staleSessionsClosed: number;
  monitoredItems: number;
  polledItems: number;
  unresolved: number;
  notifications: number;
  polls: number;
  pollsMissed: number;
  droppedValues: number;
  lastConnectedAt: number | null;
  lastLossAt: number | null;
  /** From the last loss to a value from every device again, ms. */
  lastRecoveryMs: number | null;
  lastError: string | null;
  /** Thumbprint of a server certificate the hub refused, while that is the reason it cannot connect. */
  untrustedCertificate: string | null;
}

export interface DeviceStats {
  id: string;
  asset: string;
  endpointUrl: string;
  commOk: boolean | null;
  values: number;
  readings: number;
  dropped: number;
  commLosses: number;
  unresolved: string[];
  writes: number;
  writeErrors: number;
  lastError: string | null;
}

/** One field of one device on the current connection. */
interface Item {
  readonly device: DeviceRuntime;
  readonly field: CompiledOpcuaField;
  nodeId: NodeId | null;
  /** Why it has no node (shown in health and in write errors). */
  problem: string | null;
  /** Built-in DataType of a writable node (Part 6 §5.1.2), read at resolution. */
  dataType: DataType | null;
  int64: boolean;
}

class DeviceRuntime {
  readonly plan: DevicePlan;
  readonly source: string;
  commOk: boolean | null = null;
  lastError: string | null = null;
  pending: ValueUpdate[] = [];
  items: Item[] = [];
  rootNode: NodeId | null = null;
  writeChain: Promise<unknown> = Promise.resolve();
  readonly stats = { values: 0, readings: 0, dropped: 0, commLosses: 0, writes: 0, writeErrors: 0 };

  constructor(plan: DevicePlan) {
    this.plan = plan;
    this.source = `opcua:${plan.cfg.id}`;
  }
}

/** One attempt: a client, its session and subscription, until lost. */
interface Conn {
  readonly client: OPCUAClient;
  session: ClientSession | null;
  subscription: ClientSubscription | null;
  groups: ClientMonitoredItemGroup[];
  namespaces: string[];
  limits: { read: number; translate: number; monitor: number };
  polled: Item[];
  channelLost: boolean;
  lostReason: string | null;
  lost: Promise<string>;
  lose(reason: string): void;
  /** Calls waiting on the server, told when the connection is lost (so none waits for its deadline). */
  readonly waiting: Set<(reason: string) => void>;
  lastPublishAt: number;
  watchdog: TimerHandle | null;
  pollTimer: TimerHandle | null;
  pollInFlight: boolean;
  tearingDown: boolean;
}

const OBJECTS_FOLDER = coerceNodeId('i=85');
const HIERARCHICAL = coerceNodeId(ReferenceTypeIds.HierarchicalReferences);
/** Chunk size when the server states no operation limit. */
const DEFAULT_CHUNK = 1000;
const NO_REMAINING_PATH = 0xffff_ffff;

const SECURITY_MODE: Record<string, MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

const SECURITY_POLICY: Record<string, SecurityPolicy> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** Integer ranges of the built-in types (Part 6 §5.2.2). */
const INT_RANGE: Partial<Record<DataType, [number, number]>> = {
  [DataType.SByte]: [-128, 127],
  [DataType.Byte]: [0, 255],
  [DataType.Int16]: [-32768, 32767],
  [DataType.UInt16]: [0, 65535],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt32]: [0, 4294967295],
  [DataType.Int64]: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  [DataType.UInt64]: [0, Number.MAX_SAFE_INTEGER],
};

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const n = Math.max(1, size);
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/** node-opcua's error text without its multi-line advice: "connect ECONNREFUSED 127.0.0.1:4841" rather than a paragraph. */
function errMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const inner = /Err = \((.*)\)\s*$/s.exec(msg);
  return (inner ? inner[1]! : msg).split('\n')[0]!.trim();
}

export class EndpointLink {
  readonly plan: EndpointPlan;
  readonly devices: readonly DeviceRuntime[];
  readonly #env: EndpointEnv;
  readonly #byId = new Map<string, DeviceRuntime>();
  #state: EndpointState = 'idle';
  #stopped = false;
  #conn: Conn | null = null;
  #loop: Promise<void> | null = null;
  #failures = 0;
  #wake: (() => void) | null = null;
  #sleepTimer: TimerHandle | null = null;
  /** The session of a connection whose channel broke: closed on the next channel if the server still has it. */
  #stale: { client: OPCUAClient; session: ClientSession } | null = null;
  #flushScheduled = false;
  #lastCertificateError: string | null = null;
  #lostAt: number | null = null;
  #awaiting = new Set<DeviceRuntime>();
  readonly #stats: Omit<EndpointStats, 'url' | 'state' | 'acquisition' | 'monitoredItems' | 'polledItems' | 'unresolved'> = {
    connects: 0,
    connectFailures: 0,
    losses: 0,
    sessionsCreated: 0,
    sessionsClosed: 0,
    staleSessionsClosed: 0,
    notifications: 0,
    polls: 0,
    pollsMissed: 0,
    droppedValues: 0,
    lastConnectedAt: null,
    lastLossAt: null,
    lastRecoveryMs: null,
    lastError: null,
    untrustedCertificate: null,
  };
  #counts = { monitored: 0, polled: 0, unresolved: 0, acquisition: null as EndpointStats['acquisition'] };

  constructor(plan: EndpointPlan, env: EndpointEnv) {
    this.plan = plan;
    this.#env = env;
    this.devices = plan.devices.map((p) => new DeviceRuntime(p));
    for (const d of this.devices) this.#byId.set(d.plan.cfg.id, d);
  }

  get state(): EndpointState {
    return this.#state;
  }

  device(id: string): DeviceRuntime | undefined {
    return this.#byId.get(id);
  }

  stats(): EndpointStats {
    return {
      url: this.plan.url,
      state: this.#state,
      acquisition: this.#counts.acquisition,
      monitoredItems: this.#counts.monitored,
      polledItems: this.#counts.polled,
      unresolved: this.#counts.unresolved,
      ...this.#stats,
    };
  }

  deviceStats(): DeviceStats[] {
    return this.devices.map((d) => ({
      id: d.plan.cfg.id,
      asset: d.plan.cfg.asset,
      endpointUrl: this.plan.url,
      commOk: d.commOk,
      ...d.stats,
      unresolved: d.items.filter((i) => i.nodeId === null).map((i) => `${i.field.name}: ${i.problem ?? 'not resolved'}`),
      lastError: d.lastError,
    }));
  }

  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    this.#conn?.lose('the source is stopping');
    this.#wake?.();
    await this.#loop;
    if (this.#stale) {
      const s = this.#stale;
      this.#stale = null;
      await withDeadline(s.client.disconnect(), Math.min(3000, this.#env.source.requestTimeoutMs), this.#env.clock).catch(() => undefined);
    }
    this.#flush();
  }

  // ---- the connection loop ------------------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (!this.#stopped) {
      this.#state = 'connecting';
      const conn = this.#newConn();
      this.#conn = conn;
      let reason: string;
      let connected = false;
      try {
        await this.#setup(conn);
        connected = true;
        this.#failures = 0;
        this.#stats.connects++;
        this.#stats.lastConnectedAt = this.#env.clock.now();
        this.#stats.untrustedCertificate = null;
        this.#lastCertificateError = null;
        if (!this.#stopped) this.#state = 'up';
        reason = await conn.lost;
      } catch (err) {
        reason = await this.#explain(err);
      }
      conn.lose(reason);
      await this.#teardown(conn);
      if (this.#conn === conn) this.#conn = null;
      if (this.#stopped) break;
      this.#stats.lastError = reason;
      if (connected) {
        this.#stats.losses++;
        this.#stats.lastLossAt = this.#env.clock.now();
        this.#lostAt ??= this.#stats.lastLossAt;
        this.#env.warn.warn(`lost:${this.plan.url}`, { endpoint: this.plan.url, reason }, 'OPC UA connection lost; reconnecting');
      } else {
        this.#stats.connectFailures++;
        this.#lostAt ??= this.#env.clock.now();
        if (!this.#stats.untrustedCertificate) this.#env.warn.warn(`connect:${this.plan.url}`, { endpoint: this.plan.url, reason }, 'OPC UA server not reachable; retrying with backoff');
      }
      for (const d of this.devices) this.#markDown(d, reason, false);
      this.#failures++;
      this.#state = 'backoff';
      await this.#sleep(reconnectDelay(this.#failures, this.#env.source.reconnect.minMs, this.#env.source.reconnect.maxMs, this.#env.random));
    }
    this.#state = 'stopped';
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        if (this.#sleepTimer) this.#env.clock.clearTimeout(this.#sleepTimer);
        this.#sleepTimer = null;
        this.#wake = null;
        resolve();
      };
      this.#wake = done;
      this.#sleepTimer = this.#env.clock.setTimeout(done, ms);
    });
  }

  #newConn(): Conn {
    const src = this.#env.source;
    const sec = this.plan.cfg.security;
    const client = OPCUAClient.create({
      applicationName: this.#env.app.applicationName,
      applicationUri: this.#env.app.applicationUri,
      clientName: `warmgrid ${this.plan.url}`,
      endpointMustExist: false,
      securityMode: SECURITY_MODE[sec.mode]!,
      securityPolicy: SECURITY_POLICY[sec.policy]!,
      // Recovery is ours (see the contract above): node-opcua must neither retry nor repair on its own.
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: this.plan.cfg.mode === 'poll',
      requestedSessionTimeout: src.sessionTimeoutMs,
      transportTimeout: src.connectTimeoutMs,
      defaultTransactionTimeout: src.requestTimeoutMs,
      clientCertificateManager: this.#env.pki.cm,
      certificateFile: this.#env.pki.certificateFile,
      privateKeyFile: this.#env.pki.privateKeyFile,
    });
    let resolveLost!: (r: string) => void;
    const conn: Conn = {
      client,
      session: null,
      subscription: null,
      groups: [],
      namespaces: [],
      limits: { read: DEFAULT_CHUNK, translate: DEFAULT_CHUNK, monitor: DEFAULT_CHUNK },
      polled: [],
      channelLost: false,
      lostReason: null,
      lost: new Promise<string>((r) => (resolveLost = r)),
      lose: (reason) => {
        if (conn.lostReason !== null) return;
        conn.lostReason = reason;
        resolveLost(reason);
        for (const w of conn.waiting) w(reason);
        conn.waiting.clear();
      },
      waiting: new Set(),
      lastPublishAt: this.#env.clock.now(),
      watchdog: null,
      pollTimer: null,
      pollInFlight: false,
      tearingDown: false,
    };
    client.on('connection_lost', () => {
      conn.channelLost = true;
      conn.lose(`connection to ${this.plan.url} lost`);
    });
    client.on('close', (err?: Error | null) => {
      if (!err) return;
      conn.channelLost = true;
      conn.lose(`connection to ${this.plan.url} closed: ${errMessage(err)}`);
    });
    return conn;
  }

  /** Runs `p` with a deadline and stops waiting when the connection is lost meanwhile. */
  #step<T>(conn: Conn, what: string, p: Promise<T>, ms = this.#env.source.requestTimeoutMs): Promise<T> {
    if (conn.lostReason !== null) {
      p.catch(() => undefined);
      return Promise.reject(new Error(`${what}: ${conn.lostReason}`));
    }
    return new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        this.#env.clock.clearTimeout(timer);
        conn.waiting.delete(onLost);
      };
      const onLost = (reason: string): void => {
        settle();
        reject(new Error(`${what}: ${reason}`));
      };
      const timer = this.#env.clock.setTimeout(() => {
        // A request without an answer: the channel cannot be trusted any more.
        conn.channelLost = true;
        settle();
        reject(new Error(`${what}: no answer within ${ms} ms`));
      }, ms);
      conn.waiting.add(onLost);
      p.then(
        (v) => {
          settle();
          resolve(v);
        },
        (err: unknown) => {
          settle();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  async #setup(conn: Conn): Promise<void> {
    const env = this.#env;
    if (this.#stats.untrustedCertificate) await env.pki.reload();
    await this.#step(conn, 'connect', conn.client.connect(this.plan.url), env.source.connectTimeoutMs * 2 + env.source.requestTimeoutMs);
    await this.#closeStale(conn);
    const session = await this.#step(conn, 'create session', conn.client.createSession(this.#identity()));
    conn.session = session;
    this.#stats.sessionsCreated++;
    session.on('session_closed', () => {
      if (!conn.tearingDown) conn.lose('the server closed the session');
    });
    session.on('keepalive_failure', () => conn.lose('session keep-alive failed'));
    await this.#readServerFacts(conn);
    await this.#resolve(conn);
    await this.#acquire(conn);
  }

  #identity(): UserIdentityInfo {
    const u = this.plan.cfg.user;
    return u ? { type: UserTokenType.UserName, userName: u.username, password: u.password } : { type: UserTokenType.Anonymous };
  }

  /**
   * The session of the previous, broken channel may still live on the server (a network break, not a restart). It can
   * only be closed from the channel it is bound to, so it is first moved to this one (ActivateSession), then closed.
   */
  async #closeStale(conn: Conn): Promise<void> {
    const stale = this.#stale;
    if (!stale) return;
    this.#stale = null;
    try {
      await this.#step(conn, 'reactivate the previous session', conn.client.reactivateSession(stale.session));
      await this.#step(conn, 'close the previous session', stale.session.close(true));
      this.#stats.staleSessionsClosed++;
      this.#stats.sessionsClosed++;
    } catch {
      // Gone already (the server restarted or timed it out): nothing left to close.
    }
    await withDeadline(stale.client.disconnect(), Math.min(3000, this.#env.source.requestTimeoutMs), this.#env.clock).catch(() => undefined);
  }

  async #readServerFacts(conn: Conn): Promise<void> {
    const session = conn.session!;
    const ids = [
      VariableIds.Server_NamespaceArray,
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds,
      VariableIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
    ];
    const dvs = await this.#step(
      conn,
      'read the namespace array',
      session.read(ids.map((i) => ({ nodeId: coerceNodeId(i), attributeId: AttributeIds.Value }))),
    );
    const ns = dvs[0]?.value.value;
    if (!Array.isArray(ns)) throw new Error(`the server's NamespaceArray could not be read (${dvs[0]?.statusCode.toString() ?? 'no answer'})`);
    conn.namespaces = ns.map(String);
    const limit = (dv: DataValue | undefined): number => {
      const v = dv && isGood(dv.statusCode.value) ? Number(dv.value.value) : 0;
      return v > 0 ? Math.min(v, DEFAULT_CHUNK) : DEFAULT_CHUNK;
    };
    conn.limits = { read: limit(dvs[1]), translate: limit(dvs[2]), monitor: limit(dvs[3]) };
  }

  // ---- resolution -------------------------------------------------------------------------------------------

  #element(b: BrowseName, ns: readonly string[]): { referenceTypeId: NodeId; isInverse: boolean; includeSubtypes: boolean; targetName: { namespaceIndex: number; name: string } } | string {
    const idx = namespaceIndex(b.ns, ns);
    if (idx === undefined) return `namespace ${b.ns.uri ?? '?'} is not in the server's NamespaceArray`;
    return { referenceTypeId: HIERARCHICAL, isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: idx, name: b.name } };
  }

  async #translate(conn: Conn, paths: { start: NodeId; path: readonly BrowseName[] }[]): Promise<(NodeId | string)[]> {
    const out: (NodeId | string)[] = new Array(paths.length);
    const todo: { at: number; bp: BrowsePath }[] = [];
    paths.forEach((p, at) => {
      const elements = [];
      for (const b of p.path) {
        const e = this.#element(b, conn.namespaces);
        if (typeof e === 'string') {
          out[at] = e;
          return;
        }
        elements.push(e);
      }
      todo.push({ at, bp: new BrowsePath({ startingNode: p.start, relativePath: { elements } }) });
    });
    for (const chunk of chunks(todo, conn.limits.translate)) {
      const results = await this.#step(conn, 'translate browse paths', conn.session!.translateBrowsePath(chunk.map((c) => c.bp)));
      chunk.forEach((c, k) => {
        const r = results[k];
        const target = r?.targets?.find((t) => t.remainingPathIndex === NO_REMAINING_PATH);
        if (r && isGood(r.statusCode.value) && target) out[c.at] = coerceNodeId(target.targetId.toString().replace(/^nsu=[^;]*;/, ''));
        else out[c.at] = `browse path not found (${r ? r.statusCode.toString() : 'no result'})`;
      });
    }
    return out;
  }

  /** Finds every device object and field node on this server, now (NodeIds are never carried over a reconnect). */
  async #resolve(conn: Conn): Promise<void> {
    const ns = conn.namespaces;
    // Device objects first, so a wrong root shows as one problem per device, not one per field.
    const withRoot = this.devices.filter((d) => d.plan.addresses.root !== null);
    const roots = await this.#translate(
      conn,
      withRoot.map((d) => ({ start: OBJECTS_FOLDER, path: d.plan.addresses.root! })),
    );
    const rootProblem = new Map<DeviceRuntime, string>();
    withRoot.forEach((d, k) => {
      const r = roots[k]!;
      if (typeof r === 'string') {
        d.rootNode = null;
        rootProblem.set(d, `device object ${formatBrowsePath(d.plan.addresses.root!, d.plan.template.context)} not found: ${r}`);
      } else d.rootNode = r;
    });
    const pathItems: { item: Item; start: NodeId; path: readonly BrowseName[] }[] = [];
    for (const d of this.devices) {
      d.items = d.plan.template.fields.map((field) => ({ device: d, field, nodeId: null, problem: null, dataType: null, int64: false }));
      d.plan.addresses.fields.forEach((addr, i) => {
        const item = d.items[i]!;
        if (addr.kind === 'nodeId') {
          const idx = namespaceIndex(addr.nodeId.ns, ns);
          if (idx === undefined) item.problem = `namespace ${addr.nodeId.ns.uri ?? '?'} is not in the server's NamespaceArray`;
          else item.nodeId = coerceNodeId(nodeIdString(addr.nodeId, idx));
        } else if (d.rootNode) pathItems.push({ item, start: d.rootNode, path: addr.path });
        else item.problem = rootProblem.get(d) ?? 'the device has no root';
      });
    }
    const found = await this.#translate(conn, pathItems);
    pathItems.forEach((p, k) => {
      const r = found[k]!;
      if (typeof r === 'string') p.item.problem = `${formatBrowsePath(p.path, p.item.device.plan.template.context)}: ${r}`;
      else p.item.nodeId = r;
    });
    await this.#readWriteTypes(conn);
    for (const d of this.devices) this.#reportUnresolved(d);
  }

  /** The built-in DataType of each writable node (the Variable's DataType attribute, OPC UA Part 3; a subtype falls back to its value's type). */
  async #readWriteTypes(conn: Conn): Promise<void> {
    const items = this.devices.flatMap((d) => d.items.filter((i) => i.field.writable && i.nodeId !== null));
    for (const chunk of chunks(items, Math.floor(conn.limits.read / 2))) {
      const dvs = await this.#step(
        conn,
        'read data types',
        conn.session!.read(chunk.flatMap((i) => [{ nodeId: i.nodeId!, attributeId: AttributeIds.DataType }, { nodeId: i.nodeId!, attributeId: AttributeIds.Value }])),
      );
      chunk.forEach((item, k) => {
        const typeDv = dvs[2 * k];
        const valueDv = dvs[2 * k + 1];
        if (!typeDv || !isGood(typeDv.statusCode.value)) {
          item.problem = `node ${item.nodeId!.toString()}: ${typeDv?.statusCode.toString() ?? 'no answer'}`;
          item.nodeId = null;
          return;
        }
        const typeId = typeDv.value.value as NodeId;
        const builtin = typeId.namespace === 0 && typeof typeId.value === 'number' && typeId.value >= 1 && typeId.value <= 25 ? (typeId.value as DataType) : null;
        item.dataType = builtin ?? (valueDv && isGood(valueDv.statusCode.value) ? valueDv.value.dataType : null);
      });
    }
  }

  #reportUnresolved(d: DeviceRuntime): void {
    const missing = d.items.filter((i) => i.nodeId === null);
    this.#counts.unresolved = this.devices.reduce((n, x) => n + x.items.filter((i) => i.nodeId === null).length, 0);
    if (missing.length === 0) return;
    if (missing.length === d.items.length) {
      this.#markDown(d, `no node of template ${d.plan.template.id} found: ${missing[0]!.problem ?? ''}`, true);
      return;
    }
    this.#env.warn.warn(
      `unresolved:${d.plan.cfg.id}`,
      { device: d.plan.cfg.id, endpoint: this.plan.url, fields: missing.slice(0, 10).map((i) => `${i.field.name}: ${i.problem ?? ''}`) },
      'OPC UA nodes of some fields not found on the server; those fields are left out',
    );
  }

  // ---- acquisition ------------------------------------------------------------------------------------------

  async #acquire(conn: Conn): Promise<void> {
    const env = this.#env;
    const items = this.devices.flatMap((d) => d.items.filter((i) => i.nodeId !== null));
    let monitored = 0;
    const polled: Item[] = [];
    if (this.plan.cfg.mode === 'poll') polled.push(...items);
    else {
      const s = env.source.subscription;
      let subscription: ClientSubscription | null = null;
      try {
        subscription = await this.#step(
          conn,
          'create subscription',
          conn.session!.createSubscription2({
            requestedPublishingInterval: s.publishingIntervalMs,
            requestedMaxKeepAliveCount: s.keepAliveCount,
            requestedLifetimeCount: s.lifetimeCount,
            maxNotificationsPerPublish: s.maxNotificationsPerPublish,
            publishingEnabled: true,
            priority: s.priority,
          }),
        );
      } catch (err) {
        if (this.plan.cfg.mode === 'subscribe' || !/BadServiceUnsupported|BadTooManySubscriptions|BadNotSupported/.test(errMessage(err))) throw err;
        env.warn.warn(`nosub:${this.plan.url}`, { endpoint: this.plan.url, err }, 'OPC UA server cannot subscribe; polling its nodes instead');
      }
      if (subscription) {
        conn.subscription = subscription;
        this.#watch(conn, subscription);
        const left = await this.#monitor(conn, subscription, items);
        monitored = items.length - left.length;
        if (left.length > 0) {
          if (this.plan.cfg.mode === 'subscribe') {
            for (const i of left) {
              i.problem ??= 'the server would not monitor it';
              i.nodeId = null;
            }
          } else polled.push(...left);
        }
      } else polled.push(...items);
    }
    conn.polled = polled;
    this.#counts.monitored = monitored;
    this.#counts.polled = polled.length;
    this.#counts.acquisition = polled.length === 0 ? 'subscribe' : monitored === 0 ? 'poll' : 'mixed';
    this.#counts.unresolved = this.devices.reduce((n, x) => n + x.items.filter((i) => i.nodeId === null).length, 0);
    this.#awaiting = new Set(this.devices.filter((d) => d.items.some((i) => i.nodeId !== null)));
    if (polled.length > 0) this.#startPolling(conn);
  }

  /** Creates monitored items; returns the items the server would not monitor (to be polled). */
  async #monitor(conn: Conn, subscription: ClientSubscription, items: readonly Item[]): Promise<Item[]> {
    const m = this.#env.source.monitoring;
    const paramsOf = (i: Item, withFilter: boolean): { key: string; params: Record<string, unknown> } => {
      const sampling = i.field.samplingIntervalMs ?? m.samplingIntervalMs;
      const queueSize = i.field.queueSize ?? m.queueSize;
      const db = withFilter ? (i.field.deadband ?? m.deadband) : { type: 'none' as const, value: 0 };
      const filter =
        db.type === 'none' || db.value <= 0
          ? null
          : new DataChangeFilter({ trigger: DataChangeTrigger.StatusValue, deadbandType: db.type === 'absolute' ? DeadbandType.Absolute : DeadbandType.Percent, deadbandValue: db.value });
      return { key: `${sampling}|${queueSize}|${filter ? `${db.type}:${db.value}` : '-'}`, params: { samplingInterval: sampling, queueSize, discardOldest: true, ...(filter ? { filter } : {}) } };
    };
    const left: Item[] = [];
    let retry: Item[] = [];
    const create = async (batch: readonly Item[], withFilter: boolean): Promise<void> => {
      const byParams = new Map<string, { params: Record<string, unknown>; items: Item[] }>();
      for (const i of batch) {
        const p = paramsOf(i, withFilter);
        let g = byParams.get(p.key);
        if (!g) byParams.set(p.key, (g = { params: p.params, items: [] }));
        g.items.push(i);
      }
      for (const { params, items: group } of byParams.values()) {
        for (const chunk of chunks(group, conn.limits.monitor)) {
          const g = ClientMonitoredItemGroup.create(
            subscription,
            chunk.map((i) => ({ nodeId: i.nodeId!, attributeId: AttributeIds.Value })),
            params,
            TimestampsToReturn.Both,
          );
          // Listen before the first Publish can bring the initial values.
          g.on('changed', (_item, dv: DataValue, index: number) => {
            conn.lastPublishAt = this.#env.clock.now();
            const it = chunk[index];
            if (it) this.#onValue(it, dv);
          });
          conn.groups.push(g);
          await this.#step(
            conn,
            'create monitored items',
            new Promise<void>((resolve, reject) => {
              g.once('initialized', () => resolve());
              g.once('err', (message: string) => reject(new Error(`CreateMonitoredItems failed: ${message}`)));
            }),
          );
          g.monitoredItems.forEach((mi, k) => {
            const it = chunk[k]!;
            const code = mi.statusCode?.value ?? 0;
            if (isGood(code)) {
              it.int64 = false;
              return;
            }
            if (withFilter && isFilterRefused(code)) retry.push(it);
            else if (cannotSubscribe(code)) left.push(it);
            else {
              it.problem = isUnknownNode(code) ? `node ${it.nodeId!.toString()} not found on the server (${mi.statusCode.toString()})` : `the server would not monitor ${it.nodeId!.toString()}: ${mi.statusCode.toString()}`;
              it.nodeId = null;
            }
          });
        }
      }
    };
    await create(items, true);
    if (retry.length > 0) {
      this.#env.warn.warn(
        `deadband:${this.plan.url}`,
        { endpoint: this.plan.url, fields: [...new Set(retry.map((i) => i.field.name))].slice(0, 10) },
        'OPC UA server refused the deadband of some items (a percent deadband needs an analog item with EURange); monitoring them without one',
      );
      const again = retry;
      retry = [];
      await create(again, false);
    }
    return left;
  }

  /** Treats a silent subscription as a lost connection: no data and no keep-alive for its keep-alive period + margin. */
  #watch(conn: Conn, subscription: ClientSubscription): void {
    const env = this.#env;
    const touch = (): void => {
      conn.lastPublishAt = env.clock.now();
    };
    subscription.on('keepalive', touch);
    subscription.on('received_notifications', touch);
    subscription.on('status_changed', (status: { value: number; toString(): string }) => {
      // Part 4 §5.13.1.1: Bad_Timeout in a StatusChangeNotification means the server deleted the subscription.
      if (!isGood(status.value)) conn.lose(`the server ended the subscription (${status.toString()})`);
    });
    subscription.on('terminated', () => {
      if (!conn.tearingDown) conn.lose('the subscription was terminated');
    });
    const interval = subscription.publishingInterval;
    const silence = interval * subscription.maxKeepAliveCount + Math.max(2 * interval, 2000);
    const check = (): void => {
      if (conn.lostReason !== null) return;
      const quiet = env.clock.now() - conn.lastPublishAt;
      if (quiet > silence) {
        conn.channelLost = true;
        conn.lose(`no publish response or keep-alive from the server for ${Math.round(quiet)} ms`);
        return;
      }
      conn.watchdog = env.clock.setTimeout(check, Math.min(1000, interval));
    };
    touch();
    conn.watchdog = env.clock.setTimeout(check, Math.min(1000, interval));
  }

  #startPolling(conn: Conn): void {
    const env = this.#env;
    const interval = this.plan.cfg.intervalMs;
    let next = env.clock.now();
    const due = (): void => {
      if (conn.lostReason !== null) return;
      next += interval;
      const now = env.clock.now();
      if (next < now) next = now + interval;
      conn.pollTimer = env.clock.setTimeout(due, next - now);
      if (conn.pollInFlight) {
        this.#stats.pollsMissed++;
        return;
      }
      conn.pollInFlight = true;
      this.#poll(conn).then(
        () => {
          conn.pollInFlight = false;
        },
        (err: unknown) => {
          conn.pollInFlight = false;
          conn.lose(`poll failed: ${errMessage(err)}`);
        },
      );
    };
    due();
  }

  async #poll(conn: Conn): Promise<void> {
    this.#stats.polls++;
    for (const chunk of chunks(conn.polled, conn.limits.read)) {
      const dvs = await this.#step(conn, 'read', conn.session!.read(chunk.map((i) => ({ nodeId: i.nodeId!, attributeId: AttributeIds.Value }))));
      chunk.forEach((it, k) => {
        const dv = dvs[k];
        if (dv) this.#onValue(it, dv);
      });
    }
  }

  // ---- values -------------------------------------------------------------------------------------------------

  #onValue(item: Item, dv: DataValue): void {
    this.#stats.notifications++;
    const v = dv.value;
    const int64 = v.dataType === DataType.Int64 || v.dataType === DataType.UInt64;
    const value = v.arrayType === 0 ? fieldValueOf(v.value, int64) : null;
    const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? this.#env.clock.now();
    item.device.pending.push({ field: item.field.name, value, status: dv.statusCode.value, ts: Number.isFinite(ts) ? ts : this.#env.clock.now() });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  /** Hands what arrived (one Publish response or Read, usually) to the source as Readings, per device. */
  #flush(): void {
    for (const d of this.devices) {
      if (d.pending.length === 0) continue;
      const updates = d.pending;
      d.pending = [];
      d.stats.values += updates.length;
      const a = assemble(d.plan.cfg.asset, d.source, updates);
      d.stats.dropped += a.dropped;
      this.#stats.droppedValues += a.dropped;
      if (a.answered) this.#markUp(d);
      for (const r of a.readings) {
        d.stats.readings++;
        this.#env.deliver(r);
      }
      if (a.commFailure && !a.answered) this.#markDown(d, 'the server reports no communication with the device', true);
    }
  }

  #markDown(d: DeviceRuntime, reason: string, warnEach: boolean): void {
    d.lastError = reason;
    this.#awaiting.delete(d);
    if (d.commOk === false) return;
    d.commOk = false;
    d.stats.commLosses++;
    this.#env.deliver({ asset: d.plan.cfg.asset, ts: this.#env.clock.now(), fields: {}, quality: 'bad', source: d.source });
    if (warnEach) this.#env.warn.warn(`down:${d.plan.cfg.id}`, { device: d.plan.cfg.id, asset: d.plan.cfg.asset, endpoint: this.plan.url, reason }, 'OPC UA device not answering');
  }

  #markUp(d: DeviceRuntime): void {
    if (d.commOk !== true) {
      d.commOk = true;
      d.lastError = null;
    }
    if (this.#awaiting.delete(d) && this.#awaiting.size === 0 && this.#lostAt !== null) {
      const ms = this.#env.clock.now() - this.#lostAt;
      this.#lostAt = null;
      this.#stats.lastRecoveryMs = ms;
      this.#env.log.info({ endpoint: this.plan.url, recoveryMs: ms }, 'OPC UA endpoint recovered: values flow from every device again');
    }
  }

  // ---- teardown -----------------------------------------------------------------------------------------------

  async #teardown(conn: Conn): Promise<void> {
    conn.tearingDown = true;
    const env = this.#env;
    if (conn.watchdog) env.clock.clearTimeout(conn.watchdog);
    if (conn.pollTimer) env.clock.clearTimeout(conn.pollTimer);
    conn.watchdog = null;
    conn.pollTimer = null;
    for (const g of conn.groups) g.removeAllListeners('changed');
    const session = conn.session;
    conn.session = null;
    const closeMs = Math.min(3000, env.source.requestTimeoutMs);
    if (session && !conn.channelLost) {
      try {
        await withDeadline(session.close(true), closeMs, env.clock);
        this.#stats.sessionsClosed++;
        await withDeadline(conn.client.disconnect(), closeMs, env.clock).catch(() => undefined);
        return;
      } catch {
        // Not closed: treated like a broken channel below.
      }
    }
    if (session && !this.#stopped) {
      // The session may outlive its channel on the server: close it from the next channel (#closeStale). The old
      // client is kept until then, since it holds the session's identity and keys.
      const older = this.#stale;
      this.#stale = { client: conn.client, session };
      if (older) await withDeadline(older.client.disconnect(), closeMs, env.clock).catch(() => undefined);
      return;
    }
    await withDeadline(conn.client.disconnect(), closeMs, env.clock).catch(() => undefined);
  }

  // ---- errors -----------------------------------------------------------------------------------------------

  /** A connection failure in words an administrator can act on; certificate problems get the steps to fix them. */
  async #explain(err: unknown): Promise<string> {
    const msg = errMessage(err);
    const env = this.#env;
    if (/BadCertificateUntrusted|certificate verification failed/i.test(msg)) {
      const sec = this.plan.cfg.security;
      const der = await fetchServerCertificate(this.plan.url, SECURITY_MODE[sec.mode]!, SECURITY_POLICY[sec.policy]!, env.source.requestTimeoutMs);
      const facts = der ? certificateFacts(der, env.pki.rejectedDir) : null;
      const message = untrustedMessage(this.plan.url, facts, env.pki);
      this.#stats.untrustedCertificate = facts?.thumbprint ?? 'unknown';
      if (this.#lastCertificateError !== message) {
        this.#lastCertificateError = message;
        env.log.error({ endpoint: this.plan.url, thumbprint: facts?.thumbprint, rejectedFile: facts?.rejectedFile, trustedDir: env.pki.trustedDir }, message);
      }
      return message;
    }
    if (/BadCertificate\w*/.test(msg)) {
      const code = /BadCertificate\w*/.exec(msg)![0];
      return `the certificate of OPC UA server ${this.plan.url} was refused (${code}): ${msg}`;
    }
    if (/BadSecurityChecksFailed|BadCertificateUriInvalid|BadSecurityPolicyRejected/.test(msg)) {
      return `OPC UA server ${this.plan.url} refused the secure channel (${msg}); it may not trust the hub's certificate ${env.pki.certificateFile}: add it to the server's trust list`;
    }
    if (/BadIdentityToken|BadUserAccessDenied|BadUserSignatureInvalid/.test(msg)) {
      return `OPC UA server ${this.plan.url} refused the login${this.plan.cfg.user ? ` of user ${this.plan.cfg.user.username}` : ' (anonymous)'}: ${msg}`;
    }
    return msg;
  }

  // ---- writes ---------------------------------------------------------------------------------------------------

  /**
   * Writes one field (already checked against the template and the device's write settings) and reads it back.
   * Writes to one device run one at a time, in call order. Rejects with WRITE_REFUSED when the value does not fit the
   * node's DataType, WRITE_FAILED when the server is not connected, refuses the write or does not answer.
   */
  write(deviceId: string, field: CompiledOpcuaField, value: number | boolean): Promise<WriteResult> {
    const d = this.#byId.get(deviceId);
    if (!d) return Promise.reject(new WarmgridError('WRITE_FAILED', `no device ${deviceId} on ${this.plan.url}`));
    const run = d.writeChain.then(
      () => this.#write(d, field, value),
      () => this.#write(d, field, value),
    );
    d.writeChain = run.catch(() => undefined);
    return run;
  }

  async #write(d: DeviceRuntime, field: CompiledOpcuaField, value: number | boolean): Promise<WriteResult> {
    const base = { asset: d.plan.cfg.asset, point: field.name, requested: value };
    const where = `${d.plan.cfg.asset}.${field.name} on ${this.plan.url}`;
    const fail = (message: string, cause?: unknown, retryable = false, details: Record<string, unknown> = {}): WarmgridError => {
      d.stats.writeErrors++;
      return new WarmgridError('WRITE_FAILED', `${where}: ${message}`, { cause, retryable, details: { ...base, ...details } });
    };
    const conn = this.#conn;
    const session = conn?.session;
    if (this.#state !== 'up' || !conn || !session) throw fail(`not connected${this.#stats.lastError ? ` (${this.#stats.lastError})` : ''}`, undefined, true);
    const item = d.items[field.index];
    if (!item?.nodeId) throw fail(`its node was not found on the server (${item?.problem ?? 'not resolved'})`);
    if (d.commOk === false) throw fail(`the server reports the device as not answering${d.lastError ? ` (${d.lastError})` : ''}`, undefined, true);
    const variant = toVariant(item.dataType, value, (m) => new WarmgridError('WRITE_REFUSED', `${where}: ${m}`, { details: { ...base, dataType: item.dataType === null ? null : DataType[item.dataType] } }));
    d.stats.writes++;
    let status: { value: number; toString(): string };
    try {
      status = await this.#step(conn, 'write', session.write({ nodeId: item.nodeId, attributeId: AttributeIds.Value, value: { value: variant } }));
    } catch (err) {
      throw fail(`the write got no answer; it may or may not have taken effect: ${errMessage(err)}`, err);
    }
    if (!isGood(status.value)) throw fail(`the server refused the write: ${status.toString()}`, undefined, false, { statusCode: hexStatus(status.value) });
    try {
      const dv = await this.#step(conn, 'read back', session.read({ nodeId: item.nodeId, attributeId: AttributeIds.Value }));
      const raw = dv.value.value as unknown;
      const rb = typeof raw === 'boolean' ? raw : typeof raw === 'number' ? raw : null;
      if (!isGood(dv.statusCode.value) || rb === null) return { ...base, readBack: rb, ok: false, message: `written, but the read-back gave ${dv.statusCode.toString()}` };
      const ok = sameWritten(variant, rb);
      return { ...base, readBack: rb, ok, ...(ok ? {} : { message: `the server holds ${String(rb)} after writing ${String(value)}` }) };
    } catch (err) {
      return { ...base, readBack: null, ok: false, message: `written, but the read-back failed: ${errMessage(err)}` };
    }
  }
}

/** The Variant for a write to a node of `dataType` (Part 6 §5.1.2); refuses what the type cannot hold. */
function toVariant(dataType: DataType | null, value: number | boolean, refuse: (m: string) => WarmgridError): Variant {
  const t = dataType ?? (typeof value === 'boolean' ? DataType.Boolean : DataType.Double);
  if (t === DataType.Boolean) {
    if (typeof value === 'boolean') return new Variant({ dataType: t, value });
    if (value === 0 || value === 1) return new Variant({ dataType: t, value: value === 1 });
    throw refuse(`the node is Boolean; it takes true or false (or 1/0), not ${String(value)}`);
  }
  const x = typeof value === 'boolean' ? Number(value) : value;
  if (!Number.isFinite(x)) throw refuse(`needs a finite number, not ${String(value)}`);
  if (t === DataType.Double) return new Variant({ dataType: t, value: x });
  if (t === DataType.Float) return new Variant({ dataType: t, value: x });
  const range = INT_RANGE[t];
  if (range) {
    if (!Number.isInteger(x)) throw refuse(`the node is ${DataType[t]}; it takes whole numbers, not ${x}`);
    if (x < range[0] || x > range[1]) throw refuse(`${x} does not fit the node's type ${DataType[t]} (${range[0]}..${range[1]})`);
    return new Variant({ dataType: t, value: x });
  }
  throw refuse(`the node's DataType ${DataType[t] ?? String(t)} is not a number or a boolean`);
}

/** Whether the read-back equals what was written, to the precision of the written type. */
function sameWritten(written: Variant, readBack: number | boolean): boolean {
  const w = written.value as number | boolean;
  if (typeof w === 'boolean' || typeof readBack === 'boolean') return w === readBack;
  if (written.dataType === DataType.Float) return Math.fround(w) === Math.fround(readBack);
  return w === readBack;
}

function withDeadline<T>(p: Promise<T>, ms: number, clock: Clock): Promise<T> {
  p.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const t = clock.setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clock.clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
