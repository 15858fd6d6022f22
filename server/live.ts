/**
 * The live feed: one WebSocket per screen at /api/live.
 *
 * Client → server (JSON text frames):
 *   { "type": "subscribe", "assets": ["ss01", ...] }            series of those assets
 *   { "type": "subscribe", "under": "ss01", "kind": "apartment" } every asset of a kind under an ancestor
 *   { "type": "unsubscribe", "assets": [...] } | { "type": "unsubscribe", "all": true }
 *   { "type": "topics", "topics": ["alarms", "tickets"] }       hub events by topic
 *   { "type": "ping" }
 * Server → client:
 *   { "type": "hello", "flushMs": 250 }
 *   { "type": "snapshot", "assets": { id: { field: [value, ts, quality] } } }   after each subscribe
 *   { "type": "update", "assets": { ... same shape ... } }                       coalesced changes
 *   { "type": "event", "topic": "alarms", "data": {...} }
 *   { "type": "pong" } | { "type": "error", "code": "...", "message": "..." }
 *
 * Coalescing: per client, only the latest value of each subscribed series is kept until the next flush, at most one
 * update per `flushMs`. So memory per client is bounded by the series it subscribed to, never by time. A client whose
 * socket backlog exceeds `maxBufferedBytes` is skipped at flush (it gets the newest values later: downsampled), and
 * one that stays behind for `slowClientMs` is closed with 1013.
 */
import type { WebSocket } from 'ws';
import type { Metrics } from '../core/metrics.ts';
import type { HubEvent, LiveBus } from '../ingest/live-bus.ts';
import type { FieldValue, Quality, Reading } from '../ingest/reading.ts';
import type { AssetTree } from '../config/asset-tree.ts';
import type { LatestValue } from '../store/telemetry-store.ts';

type Wire = [FieldValue, number, Quality];

export interface LiveOptions {
  flushMs: number;
  maxBufferedBytes: number;
  slowClientMs: number;
  maxSeriesPerClient: number;
}

const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_BAD_MESSAGES = 20;
const MAX_TOPICS = 32;
/** Work on one client's messages before the event loop gets a turn. */
const SLICE_MS = 8;
/** Messages, and their bytes, a client may have waiting; more is a flood, and the client is closed. */
const MAX_INBOX = 10_000;
const MAX_INBOX_BYTES = 8 * 1024 * 1024;

interface Client {
  ws: WebSocket;
  assets: Set<string>;
  topics: Set<string>;
  pending: Map<string, Map<string, Wire>>;
  behindSince: number;
  badMessages: number;
  /** Messages received and not yet handled, in order (handled in slices: see #work). */
  inbox: Buffer[];
  inboxBytes: number;
  working: boolean;
}

export interface LatestSource {
  latest(asset: string): ReadonlyMap<string, LatestValue> | undefined;
}

export class LiveHub {
  readonly #clients = new Set<Client>();
  readonly #byAsset = new Map<string, Set<Client>>();
  readonly #timer: NodeJS.Timeout;
  readonly #offReading: () => void;
  readonly #offEvent: () => void;

  constructor(
    bus: LiveBus,
    private readonly assets: AssetTree,
    private readonly latest: LatestSource,
    private readonly metrics: Metrics,
    private readonly log: { warn(obj: object, msg: string): void },
    private readonly opts: LiveOptions,
  ) {
    this.#offReading = bus.onReading((r) => this.#onReading(r));
    this.#offEvent = bus.onEvent((e) => this.#onEvent(e));
    this.#timer = setInterval(() => this.#flushAll(), opts.flushMs);
    this.#timer.unref();
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  attach(ws: WebSocket): void {
    const c: Client = { ws, assets: new Set(), topics: new Set(), pending: new Map(), behindSince: 0, badMessages: 0, inbox: [], inboxBytes: 0, working: false };
    this.#clients.add(c);
    this.metrics.wsClients.set(this.#clients.size);
    ws.on('message', (data, isBinary) => this.#receive(c, data as Buffer, isBinary));
    ws.on('close', () => this.#detach(c));
    ws.on('error', () => this.#detach(c));
    this.#send(c, { type: 'hello', flushMs: this.opts.flushMs });
  }

  close(): void {
    clearInterval(this.#timer);
    this.#offReading();
    this.#offEvent();
    for (const c of [...this.#clients]) c.ws.close(1001, 'server shutting down');
  }

  #detach(c: Client): void {
    c.inbox.length = 0;
    c.inboxBytes = 0;
    if (!this.#clients.delete(c)) return;
    for (const a of c.assets) this.#byAsset.get(a)?.delete(c);
    c.pending.clear();
    this.metrics.wsClients.set(this.#clients.size);
  }

  #error(c: Client, code: string, message: string): void {
    c.badMessages++;
    this.#send(c, { type: 'error', code, message });
    if (c.badMessages > MAX_BAD_MESSAGES) {
      this.metrics.wsDropped.inc({ reason: 'bad_messages' });
      c.ws.close(1008, 'too many invalid messages');
    }
  }

  /**
   * A page subscribing to a city sends thousands of subscribe messages at once, and each snapshot costs the hub time:
   * messages wait in the client's inbox and are handled in order, in slices of a few milliseconds with the event loop
   * turning in between, so ingest and the other clients never stall behind one client's burst.
   */
  #receive(c: Client, data: Buffer, isBinary: boolean): void {
    // Closing (a flood, too many bad messages): what still arrives is not answered.
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (isBinary || data.length > MAX_MESSAGE_BYTES) return this.#error(c, 'BAD_REQUEST', 'send JSON text frames under 256 KiB');
    if (c.inbox.length >= MAX_INBOX || c.inboxBytes + data.length > MAX_INBOX_BYTES) {
      this.metrics.wsDropped.inc({ reason: 'flood' });
      c.inbox.length = 0;
      c.inboxBytes = 0;
      c.ws.close(1008, 'too many messages');
      return;
    }
    c.inbox.push(data);
    c.inboxBytes += data.length;
    if (!c.working) {
      c.working = true;
      setImmediate(() => this.#work(c));
    }
  }

  #work(c: Client): void {
    const until = performance.now() + SLICE_MS;
    let done = 0;
    while (done < c.inbox.length && this.#clients.has(c)) {
      const data = c.inbox[done++]!;
      c.inboxBytes -= data.length;
      this.#onMessage(c, data);
      if (performance.now() >= until) break;
    }
    c.inbox.splice(0, done);
    if (c.inbox.length > 0 && this.#clients.has(c)) setImmediate(() => this.#work(c));
    else {
      c.inbox.length = 0;
      c.inboxBytes = 0;
      c.working = false;
    }
  }

  #onMessage(c: Client, data: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return this.#error(c, 'BAD_REQUEST', 'invalid JSON');
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return this.#error(c, 'BAD_REQUEST', 'expected an object');
    const m = msg as Record<string, unknown>;
    switch (m['type']) {
      case 'ping':
        this.#send(c, { type: 'pong' });
        return;
      case 'subscribe':
        return this.#subscribe(c, m);
      case 'unsubscribe':
        return this.#unsubscribe(c, m);
      case 'topics': {
        const topics = m['topics'];
        if (!Array.isArray(topics) || topics.length > MAX_TOPICS || !topics.every((t) => typeof t === 'string' && t.length <= 64)) {
          return this.#error(c, 'VALIDATION_FAILED', `topics must be an array of at most ${MAX_TOPICS} strings`);
        }
        c.topics = new Set(topics as string[]);
        return;
      }
      default:
        return this.#error(c, 'BAD_REQUEST', 'unknown message type');
    }
  }

  #subscribe(c: Client, m: Record<string, unknown>): void {
    let ids: string[];
    if (Array.isArray(m['assets'])) {
      if (!m['assets'].every((a) => typeof a === 'string')) return this.#error(c, 'VALIDATION_FAILED', 'assets must be strings');
      ids = (m['assets'] as string[]).filter((a) => this.assets.has(a));
    } else if (typeof m['under'] === 'string') {
      if (!this.assets.has(m['under'])) return this.#error(c, 'NOT_FOUND', 'unknown asset');
      const kind = typeof m['kind'] === 'string' ? m['kind'] : undefined;
      ids = this.assets.descendants(m['under']).filter((a) => !kind || a.kind === kind).map((a) => a.id);
    } else {
      return this.#error(c, 'VALIDATION_FAILED', 'give "assets" or "under"');
    }
    if (c.assets.size + ids.length > this.opts.maxSeriesPerClient) return this.#error(c, 'VALIDATION_FAILED', 'too many subscriptions');
    const snapshot: Record<string, Record<string, Wire>> = {};
    for (const id of ids) {
      if (!c.assets.has(id)) {
        c.assets.add(id);
        let set = this.#byAsset.get(id);
        if (!set) this.#byAsset.set(id, (set = new Set()));
        set.add(c);
      }
      const latest = this.latest.latest(id);
      if (latest && latest.size > 0) {
        const fields: Record<string, Wire> = {};
        for (const [k, v] of latest) fields[k] = [v.value, v.ts, v.quality];
        snapshot[id] = fields;
      }
    }
    this.#send(c, { type: 'snapshot', assets: snapshot });
  }

  #unsubscribe(c: Client, m: Record<string, unknown>): void {
    const ids = m['all'] === true ? [...c.assets] : Array.isArray(m['assets']) ? m['assets'].filter((a): a is string => typeof a === 'string') : null;
    if (!ids) return this.#error(c, 'VALIDATION_FAILED', 'give "assets" or "all": true');
    for (const id of ids) {
      c.assets.delete(id);
      c.pending.delete(id);
      this.#byAsset.get(id)?.delete(c);
    }
  }

  #onReading(r: Reading): void {
    const clients = this.#byAsset.get(r.asset);
    if (!clients || clients.size === 0) return;
    for (const c of clients) {
      let p = c.pending.get(r.asset);
      if (!p) c.pending.set(r.asset, (p = new Map()));
      for (const k in r.fields) {
        const prev = p.get(k);
        if (!prev || r.ts >= prev[1]) p.set(k, [r.fields[k]!, r.ts, r.quality]);
      }
    }
  }

  #onEvent(e: HubEvent): void {
    for (const c of this.#clients) if (c.topics.has(e.topic)) this.#send(c, { type: 'event', topic: e.topic, data: e.data });
  }

  #flushAll(): void {
    const now = Date.now();
    for (const c of this.#clients) {
      if (c.pending.size === 0) continue;
      if (c.ws.bufferedAmount > this.opts.maxBufferedBytes) {
        this.metrics.wsSkippedFlushes.inc();
        if (c.behindSince === 0) c.behindSince = now;
        else if (now - c.behindSince > this.opts.slowClientMs) {
          this.metrics.wsDropped.inc({ reason: 'slow' });
          this.log.warn({ behindMs: now - c.behindSince }, 'live client too slow; closing');
          c.ws.close(1013, 'client too slow');
          this.#detach(c);
        }
        continue;
      }
      c.behindSince = 0;
      const assets: Record<string, Record<string, Wire>> = {};
      for (const [id, fields] of c.pending) assets[id] = Object.fromEntries(fields);
      c.pending.clear();
      this.#send(c, { type: 'update', assets });
    }
  }

  #send(c: Client, msg: unknown): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    c.ws.send(JSON.stringify(msg));
    this.metrics.wsMessages.inc();
  }
}
