/**
 * Sparkplug B (Eclipse Sparkplug 3.0): topic parsing, payload decoding (protobuf via `sparkplug-payload`) and the
 * host-application session state per edge node: births define metrics (name → alias, datatype), data messages may use
 * aliases only, deaths mark the assets of that node or device bad, and `seq`/`bdSeq` detect lost or stale messages.
 *
 * Topic namespace (spec §4.1): `spBv1.0/<group>/<NBIRTH|NDEATH|NDATA|NCMD|DBIRTH|DDEATH|DDATA|DCMD>/<edge node>[/<device>]`
 * and `spBv1.0/STATE/<host id>`.
 *
 * Rules this host applies (spec §6.4, §7):
 * - NBIRTH carries `seq` 0 and a `bdSeq` metric; every later NDATA/DBIRTH/DDATA/DDEATH of that node carries the next
 *   `seq` (0..255, wrapping). A gap means a message was lost: it is counted (`sparkplug_seq`) and a rebirth is
 *   requested; the data itself is still used when its aliases are known.
 * - A data or device message from a node this host has no birth for is counted (`sparkplug_no_birth`), dropped, and a
 *   rebirth is requested (NCMD `Node Control/Rebirth`), e.g. after the hub restarted while the node stayed online.
 * - NDEATH (the node's MQTT will) counts only when its `bdSeq` equals the one of the current NBIRTH; otherwise it is a
 *   stale will of an earlier connection: counted (`sparkplug_bdseq`) and answered with a rebirth request.
 * - A death yields one status reading per affected asset with quality `bad` and no fields; the pipeline marks that
 *   asset's latest values bad.
 *
 * Pure code: no I/O; the caller passes the time and performs the rebirth requests it is told about.
 */
import sparkplug from 'sparkplug-payload';
import type { FieldValue, Reading } from '../../reading.ts';
import type { MqttRejectReason, Problem } from './problem.ts';

export const SPARKPLUG_NAMESPACE = 'spBv1.0';
export const REBIRTH_METRIC = 'Node Control/Rebirth';

export const SPARKPLUG_TYPES = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD', 'DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const;
export type SparkplugMessageType = (typeof SPARKPLUG_TYPES)[number];

export interface SparkplugTopic {
  group: string;
  type: SparkplugMessageType;
  node: string;
  device: string | null;
}

/** The parsed topic; `'state'` for a host application's STATE message; null when it is not a Sparkplug B topic. */
export function parseSparkplugTopic(segments: readonly string[]): SparkplugTopic | 'state' | null {
  if (segments[0] !== SPARKPLUG_NAMESPACE) return null;
  if (segments[1] === 'STATE' && segments.length === 3) return 'state';
  if (segments.length !== 4 && segments.length !== 5) return null;
  const type = segments[2] as SparkplugMessageType;
  if (!SPARKPLUG_TYPES.includes(type)) return null;
  const isDevice = type[0] === 'D';
  if (isDevice !== (segments.length === 5)) return null;
  const group = segments[1]!;
  const node = segments[3]!;
  const device = isDevice ? segments[4]! : null;
  if (!group || !node || device === '') return null;
  return { group, type, node, device };
}

export interface SparkplugMetric {
  name: string | null;
  alias: number | null;
  /** Epoch ms, or null when the metric has none. */
  timestamp: number | null;
  /** Sparkplug datatype name, e.g. "Double", "Int32", "Boolean". */
  type: string;
  /** Null for a null metric (isNull) or a value this host does not store (DataSet, Template, Bytes, ...). */
  value: number | boolean | string | null;
}

export interface SparkplugPayload {
  timestamp: number | null;
  seq: number | null;
  metrics: SparkplugMetric[];
}

const codec = sparkplug.get(SPARKPLUG_NAMESPACE)!;

interface LongLike {
  toNumber(): number;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && typeof (v as LongLike).toNumber === 'function') return (v as LongLike).toNumber();
  return null;
}

function scalar(v: unknown): number | boolean | string | null {
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  return num(v);
}

/** Decodes a Sparkplug B payload; throws on bytes that are not one. */
export function decodeSparkplugPayload(bytes: Uint8Array): SparkplugPayload {
  const p = codec.decodePayload(bytes);
  const metrics: SparkplugMetric[] = [];
  for (const m of p.metrics ?? []) {
    metrics.push({
      name: typeof m.name === 'string' && m.name.length > 0 ? m.name : null,
      alias: num(m.alias),
      timestamp: num(m.timestamp),
      type: String(m.type),
      value: m.isNull ? null : scalar(m.value),
    });
  }
  return { timestamp: num(p.timestamp), seq: num(p.seq), metrics };
}

/** The payload of an NCMD asking an edge node to publish its births again. */
export function encodeRebirthRequest(now: number): Uint8Array {
  return codec.encodePayload({ timestamp: now, metrics: [{ name: REBIRTH_METRIC, type: 'Boolean', value: true }] });
}

/** How a template maps Sparkplug names to hub names. */
export interface SparkplugMapping {
  /** Metric name → field name; metrics not listed are ignored (births carry many that are not telemetry). */
  metrics: ReadonlyMap<string, string>;
  /** The asset of an edge node (device null) or of a device, or null when it maps to none. */
  asset(group: string, node: string, device: string | null): string | null;
  /** Assets of a node's devices known from configuration, for a death of a node this host saw no birth of. */
  configuredDevices(group: string, node: string): readonly string[];
}

export interface SparkplugOutcome {
  readings: Reading[];
  problems: Problem[];
  /** Ask this node to rebirth (the caller sends NCMD `Node Control/Rebirth`, rate-limited). */
  rebirth: { group: string; node: string } | null;
}

interface MetricDef {
  name: string;
  type: string;
}

interface DeviceState {
  asset: string | null;
  aliases: Map<number, MetricDef>;
}

interface NodeState {
  born: boolean;
  bdSeq: number | null;
  seq: number;
  asset: string | null;
  aliases: Map<number, MetricDef>;
  devices: Map<string, DeviceState>;
}

function bdSeqOf(payload: SparkplugPayload): number | null {
  const m = payload.metrics.find((x) => x.name === 'bdSeq');
  return m && typeof m.value === 'number' ? m.value : null;
}

/** Session state of every edge node seen, keyed by group and node. One instance per source; not shared. */
export class SparkplugSessions {
  readonly #nodes = new Map<string, NodeState>();

  constructor(private readonly sourceName: string) {}

  /** Nodes with a current birth. */
  get onlineNodes(): number {
    let n = 0;
    for (const s of this.#nodes.values()) if (s.born) n++;
    return n;
  }

  handle(topic: SparkplugTopic, payload: SparkplugPayload, map: SparkplugMapping, now: number): SparkplugOutcome {
    const out: SparkplugOutcome = { readings: [], problems: [], rebirth: null };
    const { group, node: nodeId, device: devId } = topic;
    const who = devId === null ? `${group}/${nodeId}` : `${group}/${nodeId}/${devId}`;
    const problem = (reason: MqttRejectReason, detail: string, rebirth: boolean): void => {
      out.problems.push({ reason, detail: `${who}: ${detail}` });
      if (rebirth) out.rebirth = { group, node: nodeId };
    };
    const bad = (asset: string): void => {
      out.readings.push({ asset, ts: payload.timestamp ?? now, fields: {}, quality: 'bad', source: this.sourceName });
    };
    const key = `${group}/${nodeId}`;
    let node = this.#nodes.get(key);

    switch (topic.type) {
      case 'NBIRTH':
        node = { born: true, bdSeq: bdSeqOf(payload), seq: payload.seq ?? 0, asset: map.asset(group, nodeId, null), aliases: new Map(), devices: new Map() };
        this.#nodes.set(key, node);
        learn(node.aliases, payload.metrics);
        this.#values(node.asset, node.aliases, payload, map, now, out, problem);
        return out;
      case 'NDEATH': {
        const bdSeq = bdSeqOf(payload);
        if (node?.born && node.bdSeq !== null && bdSeq !== null && bdSeq !== node.bdSeq) {
          problem('sparkplug_bdseq', `NDEATH bdSeq ${bdSeq} does not match NBIRTH bdSeq ${node.bdSeq} (a stale will); ignored`, true);
          return out;
        }
        const assets = new Set<string>();
        const nodeAsset = node ? node.asset : map.asset(group, nodeId, null);
        if (nodeAsset) assets.add(nodeAsset);
        for (const d of node?.devices.values() ?? []) if (d.asset) assets.add(d.asset);
        for (const a of map.configuredDevices(group, nodeId)) assets.add(a);
        if (node) {
          node.born = false;
          node.devices.clear();
          node.aliases.clear();
        }
        for (const a of assets) bad(a);
        return out;
      }
      case 'NCMD':
      case 'DCMD':
        // Commands go to edge nodes (ours included); they carry no telemetry.
        return out;
      default:
        break;
    }

    // NDATA, DBIRTH, DDATA, DDEATH need a current birth of the node and the next seq.
    if (!node?.born) {
      problem('sparkplug_no_birth', `${topic.type} before NBIRTH; dropped`, true);
      return out;
    }
    if (payload.seq !== null) {
      const expected = (node.seq + 1) % 256;
      if (payload.seq !== expected) problem('sparkplug_seq', `seq ${payload.seq}, expected ${expected}`, true);
      node.seq = payload.seq;
    }

    if (topic.type === 'NDATA') {
      this.#values(node.asset, node.aliases, payload, map, now, out, problem);
      return out;
    }
    if (topic.type === 'DBIRTH') {
      const dev: DeviceState = { asset: map.asset(group, nodeId, devId), aliases: new Map() };
      node.devices.set(devId!, dev);
      learn(dev.aliases, payload.metrics);
      this.#values(dev.asset, dev.aliases, payload, map, now, out, problem);
      return out;
    }
    const dev = node.devices.get(devId!);
    if (topic.type === 'DDEATH') {
      node.devices.delete(devId!);
      const asset = dev ? dev.asset : map.asset(group, nodeId, devId);
      if (asset) bad(asset);
      return out;
    }
    if (!dev) {
      problem('sparkplug_no_birth', 'DDATA before its DBIRTH; dropped', true);
      return out;
    }
    this.#values(dev.asset, dev.aliases, payload, map, now, out, problem);
    return out;
  }

  /** Turns the mapped metrics of a message into readings of one asset, one reading per distinct timestamp. */
  #values(
    asset: string | null,
    aliases: ReadonlyMap<number, MetricDef>,
    payload: SparkplugPayload,
    map: SparkplugMapping,
    now: number,
    out: SparkplugOutcome,
    problem: (reason: MqttRejectReason, detail: string, rebirth: boolean) => void,
  ): void {
    let byTs: Map<number, Record<string, FieldValue>> | null = null;
    let unknownAlias = 0;
    let mapped = 0;
    for (const m of payload.metrics) {
      const name = m.name ?? (m.alias !== null ? aliases.get(m.alias)?.name : undefined);
      if (name === undefined) {
        unknownAlias++;
        continue;
      }
      const field = map.metrics.get(name);
      if (field === undefined) continue;
      mapped++;
      if (m.value === null) continue;
      if (typeof m.value === 'string') {
        problem('wrong_type', `metric "${name.slice(0, 64)}" is a ${m.type}, not a number or boolean`, false);
        continue;
      }
      const ts = m.timestamp ?? payload.timestamp ?? now;
      byTs ??= new Map();
      let fields = byTs.get(ts);
      if (!fields) byTs.set(ts, (fields = {}));
      fields[field] = m.value;
    }
    if (unknownAlias > 0) problem('sparkplug_alias', `${unknownAlias} metric(s) with an alias the birth did not define`, true);
    if (mapped === 0) return;
    if (asset === null) {
      problem('unknown_device', 'no asset is mapped to it', false);
      return;
    }
    for (const [ts, fields] of byTs ?? []) out.readings.push({ asset, ts, fields, quality: 'good', source: this.sourceName });
  }
}

function learn(aliases: Map<number, MetricDef>, metrics: readonly SparkplugMetric[]): void {
  for (const m of metrics) if (m.name !== null && m.alias !== null) aliases.set(m.alias, { name: m.name, type: m.type });
}
