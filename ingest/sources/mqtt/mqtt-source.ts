/**
 * The MQTT source adapter: one client per source, one subscription per topic template, every message decoded by its
 * template (JSON or Sparkplug B) into readings that are batched per event-loop tick and handed to the pipeline.
 *
 * Delivery contract (at least once, acknowledged after durability):
 * - QoS 1 with a persistent session (fixed client id, clean start off, MQTT 5 session expiry), so messages published
 *   while the hub is down are queued by the broker and delivered when it returns.
 * - A message's PUBACK is sent only after `ctx.emit` for the batch holding its readings resolved (the pipeline made them
 *   durable), or at once (in order) when the message was rejected: bad input never becomes valid, and redelivering it
 *   would loop. PUBACKs leave in the order the messages arrived (MQTT 3.1.1 §4.6), see ack-gate.ts.
 * - When an emit fails (store down), its messages are not acknowledged; after a backoff the connection is dropped and
 *   re-opened so the broker re-sends them (MQTT 5 §4.4 re-sends unacknowledged messages only on reconnect).
 * - Duplicates are possible after a reconnect (at least once); the store is idempotent per (asset, field, ts).
 *
 * How many messages are in flight: mqtt.js handles incoming packets strictly one at a time. For QoS 1 it calls
 * `client.handleMessage(packet, cb)` and, when `cb` is called, sends the PUBACK through `client._sendPacket(puback,
 * done)`; only `done` lets it parse the next packet (node_modules/mqtt/build/lib/handlers/publish.js, `case 1`, and the
 * `work`/`nextTickWork` loop in client.js `connect()`). Awaiting the store inside `handleMessage` would therefore allow
 * one message per store write. Instead `handleMessage` decodes, queues the readings and calls `cb` at once, and a thin
 * wrapper around this client's `_sendPacket` swallows the PUBACK mqtt.js built (calling its `done`, so parsing goes
 * on); the AckGate releases the real PUBACK once the message is settled, written straight to the socket (#sendPubacks).
 * The broker may keep up to `receiveMaximum` (MQTT 5) messages in flight; `maxInFlight` bounds what the hub holds
 * (beyond it `cb` is held back, which stops mqtt.js reading the socket: TCP backpressure).
 * ingest/sources/mqtt/mqtt-source.int.test.ts pins this behaviour (no PUBACK while the store is blocked).
 *
 * Batching: the readings of the messages handled in one event-loop turn (one socket read) go to the pipeline in one
 * `emit`, even while earlier emits wait for the store, once there are enough of them (EMIT_WHILE_BUSY) or when nothing
 * else is in flight; the pipeline fills its store batches from them, so store writes follow each other without gaps and
 * nothing waits for a flush timer under load. This relies on
 * the pipeline handling emits in call order (it does: validation is synchronous and the batch writer keeps order), so
 * readings of one asset are stored in arrival order even with several emits in flight.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type ISubscriptionGrant, type MqttClient, type Packet } from 'mqtt';
import { WarmgridError } from '../../../core/errors.ts';
import { RateLimitedLog } from '../../../core/log.ts';
import type { ComponentHealth } from '../../../store/telemetry-store.ts';
import type { Reading } from '../../reading.ts';
import type { Source, SourceContext } from '../../source.ts';
import { AckGate, type AckToken } from './ack-gate.ts';
import { SPARKPLUG_PLACEHOLDERS, type MqttSourceConfig, type TopicTemplate } from './config.ts';
import { decodeJson, type JsonTemplateOptions } from './json-decoder.ts';
import type { MqttRejectReason } from './problem.ts';
import { decodeSparkplugPayload, encodeRebirthRequest, parseSparkplugTopic, SparkplugSessions, SPARKPLUG_NAMESPACE, type SparkplugMapping } from './sparkplug-decoder.ts';
import { compileAssetTemplate, TopicMatcher, type AssetTemplate } from './topic-matcher.ts';

/** mqtt.js internals this adapter relies on (see the header comment); checked at start so a change fails loudly. */
interface ClientInternals {
  _sendPacket(packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void, noStore?: boolean): void;
  stream?: { write?(chunk: Buffer): boolean; destroy?(err?: Error): void; destroyed?: boolean };
}

interface CompiledTemplate {
  readonly cfg: TopicTemplate;
  readonly filter: string;
  readonly asset: AssetTemplate | null;
  readonly json: JsonTemplateOptions | null;
  readonly sparkplug: SparkplugMapping | null;
}

interface Batch {
  readings: Reading[];
  tokens: AckToken[];
  messages: number;
}

/** Readings that make an emit worth it while earlier emits are still in flight. */
const EMIT_WHILE_BUSY = 1000;

const newBatch = (): Batch => ({ readings: [], tokens: [], messages: 0 });

/** The URL without credentials, for logs and health. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid url)';
  }
}

export function compileTemplates(cfg: MqttSourceConfig): TopicMatcher<CompiledTemplate> {
  const matcher = new TopicMatcher<CompiledTemplate>();
  for (const t of cfg.topics) {
    if (t.format === 'json') {
      const rename = t.fields;
      matcher.add(t.filter, {
        cfg: t,
        filter: t.filter,
        asset: compileAssetTemplate(t.asset ?? ''),
        json: { forecastHorizonsH: t.forecastHorizonsH, ...(rename ? { rename } : {}) },
        sparkplug: null,
      });
    } else {
      const asset = t.asset === undefined ? null : compileAssetTemplate(t.asset, SPARKPLUG_PLACEHOLDERS);
      const devices = new Map(Object.entries(t.devices ?? {}));
      const byNode = new Map<string, string[]>();
      for (const [k, a] of devices) {
        const slash = k.indexOf('/');
        if (slash < 0) continue;
        const n = k.slice(0, slash);
        let list = byNode.get(n);
        if (!list) byNode.set(n, (list = []));
        list.push(a);
      }
      matcher.add(t.filter, {
        cfg: t,
        filter: t.filter,
        asset,
        json: null,
        sparkplug: {
          metrics: new Map(Object.entries(t.metrics ?? {})),
          asset: (group, node, device) => devices.get(device === null ? node : `${node}/${device}`) ?? asset?.render([], { group, node, device }) ?? null,
          configuredDevices: (_group, node) => byNode.get(node) ?? [],
        },
      });
    }
  }
  return matcher;
}

export class MqttSource implements Source {
  readonly kind = 'mqtt';
  readonly id: string;
  readonly #cfg: MqttSourceConfig;
  readonly #ctx: SourceContext;
  readonly #name: string;
  readonly #matcher: TopicMatcher<CompiledTemplate>;
  readonly #sessions: SparkplugSessions;
  readonly #gate: AckGate;
  readonly #warn: RateLimitedLog;
  #client: MqttClient | null = null;
  #batch: Batch = newBatch();
  readonly #emitting = new Set<Promise<void>>();
  #flushScheduled = false;
  /** Messages whose readings wait for durability (in the next batch or in an emit in flight). */
  #holding = 0;
  #pausedCb: (() => void) | null = null;
  #stopping = false;
  #connected = false;
  #subscribed = false;
  #everConnected = false;
  #reconnectDelay: number;
  /** Reconnects forced by store failures in a row (reset by a successful emit); drives their backoff. */
  #emitFailures = 0;
  #failTimer: NodeJS.Timeout | null = null;
  #lastError: string | null = null;
  #loggedRefusal: string | null = null;
  readonly #rebirthAt = new Map<string, number>();
  readonly #rejects = new Map<string, number>();
  readonly #stats = { received: 0, durable: 0, readings: 0, emits: 0, emitFailures: 0, connects: 0, droppedAcks: 0, rebirthRequests: 0 };
  #startWaiter: (() => void) | null = null;

  constructor(cfg: MqttSourceConfig, ctx: SourceContext) {
    this.id = cfg.id;
    this.#cfg = cfg;
    this.#ctx = ctx;
    this.#name = `mqtt:${cfg.id}`;
    this.#matcher = compileTemplates(cfg);
    this.#sessions = new SparkplugSessions(this.#name);
    this.#reconnectDelay = cfg.reconnect.minMs;
    this.#warn = new RateLimitedLog(ctx.log, 5, 60_000, () => ctx.clock.now());
    this.#gate = new AckGate((ids) => this.#sendPubacks(ids));
  }

  async start(): Promise<void> {
    const cfg = this.#cfg;
    const opts: IClientOptions = {
      protocolVersion: cfg.protocolVersion,
      clientId: cfg.clientId,
      clean: false,
      keepalive: cfg.keepaliveSec,
      connectTimeout: cfg.connectTimeoutMs,
      reconnectPeriod: cfg.reconnect.minMs,
      reconnectOnConnackError: true,
      // Subscriptions are made on every connect (below), so a changed config takes effect with a kept session.
      resubscribe: false,
      // mqtt.js logs every packet through `debug`; a no-op saves its per-packet cost on the hot path.
      log: () => {},
      // No topicAliasMaximum: the broker then never sends topic aliases, and packet.topic is always the full topic.
      ...(cfg.protocolVersion === 5 ? { properties: { sessionExpiryInterval: cfg.sessionExpirySec, receiveMaximum: cfg.receiveMaximum } } : {}),
      ...(cfg.username !== undefined ? { username: cfg.username } : {}),
      ...(cfg.password !== undefined ? { password: cfg.password } : {}),
    };
    if (cfg.tls) {
      try {
        if (cfg.tls.ca) opts.ca = readFileSync(cfg.tls.ca);
        if (cfg.tls.cert) opts.cert = readFileSync(cfg.tls.cert);
        if (cfg.tls.key) opts.key = readFileSync(cfg.tls.key);
      } catch (err) {
        throw new WarmgridError('MQTT_ERROR', `source ${this.id}: cannot read a TLS file: ${(err as Error).message}`, { cause: err });
      }
      opts.rejectUnauthorized = cfg.tls.rejectUnauthorized;
      if (cfg.tls.servername) opts.servername = cfg.tls.servername;
    }

    const client = mqtt.connect(cfg.url, opts);
    this.#client = client;
    const internals = client as unknown as ClientInternals;
    if (typeof internals._sendPacket !== 'function') {
      client.end(true);
      throw new WarmgridError('MQTT_ERROR', 'mqtt.js no longer has MqttClient._sendPacket; the deferred-PUBACK wrapper in ingest/sources/mqtt/mqtt-source.ts must be updated');
    }
    const send = internals._sendPacket.bind(client);
    // mqtt.js sends the PUBACK of a QoS 1 message right after handleMessage's callback; the AckGate sends it instead,
    // once the message is durable. `cb` is mqtt.js's "go on with the next packet".
    internals._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd === 'puback') {
        cb?.();
        return;
      }
      send(packet, cb, cbStorePut, noStore);
    };
    client.handleMessage = (packet, cb) => this.#onMessage(packet, cb);

    client.on('connect', (connack: IConnackPacket) => this.#onConnect(connack));
    client.on('close', () => this.#onClose());
    // mqtt.js retries every `reconnectPeriod`; doubling it at each attempt (reset on connect) gives the backoff.
    client.on('reconnect', () => {
      this.#reconnectDelay = Math.min(cfg.reconnect.maxMs, this.#reconnectDelay * 2);
      client.options.reconnectPeriod = this.#reconnectDelay;
    });
    client.on('error', (err) => this.#onError(err));

    // Resolve once subscribed, or after the connect timeout: an unreachable broker must not hold up the hub.
    const ready = new Promise<void>((resolve) => (this.#startWaiter = resolve));
    const timer = setTimeout(() => this.#startWaiter?.(), cfg.connectTimeoutMs);
    await ready;
    clearTimeout(timer);
    this.#startWaiter = null;
    if (!this.#subscribed) this.#ctx.log.warn({ url: safeUrl(cfg.url), reason: this.#lastError ?? 'no answer' }, 'MQTT source not connected yet; retrying in the background');
  }

  /**
   * Writes the PUBACKs of one release run as one buffer: thousands become due at once when a batch is durable, and
   * mqtt-packet would make three stream writes of each. A PUBACK with reason Success and no properties is the same four
   * bytes in MQTT 3.1.1 (§3.4) and MQTT 5 (§3.4.2.1, Remaining Length 2): 0x40, 0x02, packet identifier (big-endian).
   * mqtt.js keeps no state for QoS 1 acknowledgements, so writing them beside it is safe; on a closed connection they are
   * dropped (the broker re-sends those messages).
   */
  #sendPubacks(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const c = this.#client;
    const stream = (c as unknown as ClientInternals | null)?.stream;
    if (!c?.connected || !stream || stream.destroyed || typeof stream.write !== 'function') return;
    const buf = Buffer.allocUnsafe(ids.length * 4);
    for (let i = 0, o = 0; i < ids.length; i++, o += 4) {
      buf[o] = 0x40;
      buf[o + 1] = 0x02;
      buf.writeUInt16BE(ids[i]!, o + 2);
    }
    stream.write(buf);
  }

  #onConnect(connack: IConnackPacket): void {
    const client = this.#client!;
    this.#connected = true;
    this.#everConnected = true;
    this.#stats.connects++;
    this.#lastError = null;
    this.#loggedRefusal = null;
    this.#reconnectDelay = this.#cfg.reconnect.minMs;
    client.options.reconnectPeriod = this.#cfg.reconnect.minMs;
    this.#ctx.log.info({ url: safeUrl(this.#cfg.url), clientId: this.#cfg.clientId, sessionPresent: connack.sessionPresent }, 'connected to MQTT broker');
    if (this.#stats.connects > 1 && !connack.sessionPresent) {
      this.#ctx.log.warn({ clientId: this.#cfg.clientId }, 'the MQTT broker kept no session for the hub (restarted without persistence, or the session expired); messages published meanwhile are lost');
    }
    const subs: Record<string, { qos: 0 | 1; rh?: number }> = {};
    for (const t of this.#cfg.topics) {
      const topic = this.#cfg.shareGroup !== undefined && t.format === 'json' ? `$share/${this.#cfg.shareGroup}/${t.filter}` : t.filter;
      // MQTT 5 retain handling 1: retained messages only when the subscription is new, not on every reconnect.
      subs[topic] = this.#cfg.protocolVersion === 5 ? { qos: t.qos, rh: 1 } : { qos: t.qos };
    }
    client.subscribe(subs, (err: Error | null, granted?: ISubscriptionGrant[]) => {
      if (err) {
        this.#lastError = `subscribe failed: ${err.message}`;
        this.#ctx.log.error({ err }, 'MQTT subscribe failed');
        return;
      }
      const refused = (granted ?? []).filter((g) => g.qos >= 0x80);
      if (refused.length > 0) {
        this.#lastError = `broker refused ${refused.map((g) => g.topic).join(', ')}`;
        this.#ctx.log.error({ topics: refused.map((g) => g.topic) }, 'MQTT broker refused subscriptions (not authorised?)');
      }
      this.#subscribed = true;
      this.#startWaiter?.();
    });
  }

  #onClose(): void {
    if (this.#connected) this.#ctx.log.warn({ url: safeUrl(this.#cfg.url) }, 'MQTT connection lost; reconnecting');
    this.#connected = false;
    this.#subscribed = false;
    // Held PUBACKs belong to the closed connection; the broker re-sends those messages after the reconnect.
    this.#stats.droppedAcks += this.#gate.reset();
  }

  /**
   * Connection errors: a refusal someone must fix (protocol version, credentials) is an ERROR, logged once until the
   * next successful connect; anything else heals itself (the client reconnects with backoff) and is a rate-limited WARN.
   */
  #onError(err: Error & { code?: number | string }): void {
    this.#lastError = err.message;
    const rc = typeof err.code === 'number' ? err.code : undefined;
    let advice: string | null = null;
    if (rc === 1 || rc === 0x84) {
      const other = this.#cfg.protocolVersion === 5 ? 4 : 5;
      advice = `the MQTT broker refused protocol version ${this.#cfg.protocolVersion === 5 ? '5' : '3.1.1'}; set protocolVersion: ${other} for source ${this.id}`;
    } else if (rc === 4 || rc === 5 || rc === 0x86 || rc === 0x87) {
      advice = `the MQTT broker refused the credentials of source ${this.id} (username, password or client certificate)`;
    } else if (rc === 2 || rc === 0x85) {
      advice = `the MQTT broker refused client id "${this.#cfg.clientId}" of source ${this.id}`;
    }
    if (advice === null) {
      this.#warn.warn(`mqtt-error:${String(err.code ?? err.message)}`, { err, url: safeUrl(this.#cfg.url) }, 'MQTT connection problem; retrying');
    } else if (advice !== this.#loggedRefusal) {
      this.#loggedRefusal = advice;
      this.#ctx.log.error({ err, url: safeUrl(this.#cfg.url) }, advice);
    }
  }

  #reject(reason: MqttRejectReason, detail: string): void {
    this.#rejects.set(reason, (this.#rejects.get(reason) ?? 0) + 1);
    this.#ctx.reject(reason, detail);
  }

  #onMessage(packet: IPublishPacket, cb: () => void): void {
    this.#stats.received++;
    const token = packet.qos > 0 && packet.messageId !== undefined ? this.#gate.receive(packet.messageId) : null;
    if (this.#stopping) {
      // Left unacknowledged: the broker keeps it for the next session.
      cb();
      return;
    }
    const readings = this.#decode(packet.topic, packet.payload as Buffer);
    if (readings.length === 0) {
      if (token) this.#gate.settle(token);
    } else {
      const b = this.#batch;
      for (const r of readings) b.readings.push(r);
      if (token) b.tokens.push(token);
      b.messages++;
      this.#holding++;
      this.#scheduleFlush();
    }
    if (this.#holding >= this.#cfg.maxInFlight) this.#pausedCb = cb;
    else cb();
  }

  /** Readings of one message, or none (then every problem was counted). */
  #decode(topic: string, payload: Buffer): Reading[] {
    if (payload.length > this.#cfg.maxPayloadBytes) {
      this.#reject('oversize', `${topic.slice(0, 200)}: ${payload.length} bytes, at most ${this.#cfg.maxPayloadBytes}`);
      return [];
    }
    const m = this.#matcher.match(topic);
    if (!m) {
      this.#reject('unmatched_topic', `${topic.slice(0, 200)} matches no topic template`);
      return [];
    }
    const t = m.value;
    const now = this.#ctx.clock.now();
    if (t.json) {
      const asset = t.asset!.render(m.segments);
      if (!this.#assetOk(asset, t, topic)) return [];
      const r = decodeJson(payload, t.json);
      if (!r.ok) {
        this.#reject(r.reason, `${topic.slice(0, 200)}: ${r.detail}`);
        return [];
      }
      for (const p of r.problems) this.#reject(p.reason, `${topic.slice(0, 200)}: ${p.detail}`);
      let any = false;
      for (const _ in r.fields) {
        any = true;
        break;
      }
      if (!any) {
        if (r.problems.length === 0) this.#reject('no_fields', `${topic.slice(0, 200)}: payload has no fields`);
        return [];
      }
      return [{ asset: asset!, ts: r.ts ?? now, fields: r.fields, quality: r.quality, source: this.#name }];
    }

    const st = parseSparkplugTopic(m.segments);
    if (st === 'state') return [];
    if (st === null) {
      this.#reject('unmatched_topic', `${topic.slice(0, 200)} is not a Sparkplug B topic`);
      return [];
    }
    if (st.type === 'NCMD' || st.type === 'DCMD') return [];
    let payloadDecoded;
    try {
      payloadDecoded = decodeSparkplugPayload(payload);
    } catch (err) {
      this.#reject('malformed', `${topic.slice(0, 200)}: not a Sparkplug B payload: ${(err as Error).message.slice(0, 120)}`);
      return [];
    }
    const out = this.#sessions.handle(st, payloadDecoded, t.sparkplug!, now);
    for (const p of out.problems) this.#reject(p.reason, p.detail);
    if (out.rebirth) this.#requestRebirth(out.rebirth.group, out.rebirth.node, now);
    return out.readings.filter((r) => this.#assetOk(r.asset, t, topic));
  }

  #assetOk(asset: string | null, t: CompiledTemplate, topic: string): boolean {
    const a = asset === null ? undefined : this.#ctx.assets.get(asset);
    if (!a) {
      this.#reject('unknown_asset', `${topic.slice(0, 200)}: ${asset === null ? 'no asset id' : `unknown asset "${asset.slice(0, 80)}"`} (template ${t.filter})`);
      return false;
    }
    if (t.cfg.assetKind !== undefined && a.kind !== t.cfg.assetKind) {
      this.#reject('unknown_asset', `${topic.slice(0, 200)}: asset "${asset}" is a ${a.kind}, template ${t.filter} takes ${t.cfg.assetKind}`);
      return false;
    }
    return true;
  }

  #requestRebirth(group: string, node: string, now: number): void {
    const key = `${group}/${node}`;
    const last = this.#rebirthAt.get(key);
    if (last !== undefined && now - last < this.#cfg.rebirthIntervalMs) return;
    if (!this.#client?.connected) return;
    this.#rebirthAt.set(key, now);
    this.#stats.rebirthRequests++;
    this.#client.publish(`${SPARKPLUG_NAMESPACE}/${group}/NCMD/${node}`, Buffer.from(encodeRebirthRequest(now)), { qos: 0 });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the current socket chunk: mqtt.js handles its packets in process.nextTick steps, before setImmediate.
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(force = false): void {
    const n = this.#batch.readings.length;
    if (n === 0) return;
    // While the pipeline is busy with earlier emits, small batches wait for more (or for those to settle): a broker that
    // writes one message per TCP segment would otherwise cost one emit per message.
    if (!force && this.#emitting.size > 0 && n < EMIT_WHILE_BUSY) return;
    const b = this.#batch;
    this.#batch = newBatch();
    this.#stats.emits++;
    let emitted: Promise<void>;
    try {
      emitted = this.#ctx.emit(b.readings);
    } catch (err) {
      emitted = Promise.reject(err as Error);
    }
    const p: Promise<void> = emitted
      .then(
        () => {
          this.#emitFailures = 0;
          this.#stats.durable += b.messages;
          this.#stats.readings += b.readings.length;
          this.#gate.settle(b.tokens);
        },
        (err: unknown) => this.#emitFailed(err, b),
      )
      .finally(() => {
        this.#emitting.delete(p);
        this.#holding -= b.messages;
        const paused = this.#pausedCb;
        if (paused && this.#holding < this.#cfg.maxInFlight) {
          this.#pausedCb = null;
          paused();
        }
        if (this.#batch.readings.length > 0) this.#scheduleFlush();
      });
    this.#emitting.add(p);
  }

  #emitFailed(err: unknown, b: Batch): void {
    this.#stats.emitFailures++;
    this.#lastError = `store did not take ${b.readings.length} readings`;
    this.#warn.warn('emit-failed', { err, readings: b.readings.length, messages: b.messages }, 'readings not stored; their MQTT messages stay unacknowledged and are re-sent after a reconnect');
    if (this.#stopping || this.#failTimer || b.tokens.length === 0) return;
    // The broker re-sends unacknowledged messages only on a new connection. Wait (backoff, growing while the store
    // keeps failing) so a store that is down is not hammered, then drop the connection; later PUBACKs are stuck behind
    // these anyway (receipt order).
    this.#emitFailures++;
    const delay = Math.min(this.#cfg.reconnect.maxMs, this.#cfg.reconnect.minMs * 2 ** Math.min(this.#emitFailures - 1, 16));
    this.#failTimer = setTimeout(() => {
      this.#failTimer = null;
      if (this.#stopping) return;
      (this.#client as unknown as ClientInternals | null)?.stream?.destroy?.();
    }, delay);
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#emitting.size > 0) {
        await Promise.all(this.#emitting);
        continue;
      }
      if (this.#batch.readings.length === 0) return;
      this.#flush(true);
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#failTimer) clearTimeout(this.#failTimer);
    this.#failTimer = null;
    this.#startWaiter?.();
    // Everything received so far is made durable and acknowledged before the connection closes.
    await this.#drain();
    const paused = this.#pausedCb;
    this.#pausedCb = null;
    paused?.();
    const client = this.#client;
    if (!client) return;
    await Promise.race([client.endAsync(false), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (!client.disconnected) await client.endAsync(true);
  }

  health(): ComponentHealth {
    const up = this.#connected && this.#subscribed;
    return {
      status: up ? (this.#emitFailures > 0 ? 'degraded' : 'up') : this.#everConnected ? 'degraded' : 'down',
      ...(up && !this.#lastError ? {} : { detail: this.#lastError ?? 'not connected' }),
      url: safeUrl(this.#cfg.url),
      clientId: this.#cfg.clientId,
      connected: this.#connected,
      ...this.#stats,
      acked: this.#gate.released,
      unacked: this.#gate.held,
      holding: this.#holding,
      sparkplugNodesOnline: this.#sessions.onlineNodes,
      rejected: Object.fromEntries(this.#rejects),
    };
  }
}
