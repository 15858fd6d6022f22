/**
 * The page's live socket (/api/live, docs/api.md): one WebSocket per page, owned by this composable.
 *
 * - A page calls `provideLive()` in its setup; its components call `useLive()` to get the same connection and subscribe
 *   to what they show. The socket closes when the page's effect scope stops (route change, unmount).
 * - Subscriptions and topics are remembered and sent again after a reconnect; the hub answers each subscribe with a
 *   snapshot, so values are complete again at once. Events missed while disconnected are not replayed: listeners of
 *   `onReconnect` reload what they list over REST.
 * - Reconnect with exponential back-off (0.5 s doubling to 30 s, with jitter), reset once a connection says hello.
 * - Heartbeat: a ping every 15 s; a connection silent for 40 s is closed and reopened (a half-open TCP connection
 *   would otherwise look alive forever).
 * - Large subscriptions are sent in chunks, a few messages per task, so neither side builds one huge snapshot and the
 *   page stays responsive while they arrive.
 *
 * Values are handed to listeners as they arrive (plain objects, never made reactive); listeners keep what they need
 * in their own bounded structures and bump a shallowRef version. With `worker`, the socket lives in a worker that
 * parses messages and drops undeclared fields off the main thread (live-transport.ts).
 */
import { getCurrentScope, inject, onScopeDispose, provide, shallowRef, type InjectionKey, type ShallowRef } from 'vue';
import type { AssetValues } from '../api/types.ts';
import type { LiveMessage } from './live-protocol.ts';
import { directTransport, workerTransport, type Connection, type FieldFilter, type Transport } from './live-transport.ts';

export type LiveStatus = 'connecting' | 'open' | 'closed';
export type ValuesListener = (assets: AssetValues, kind: 'snapshot' | 'update') => void;
export type EventListener = (data: unknown) => void;

export interface LiveStats {
  messages: number;
  /** Snapshots received (one per subscribe message, in the order sent). */
  snapshots: number;
  values: number;
  bytes: number;
  lastMessageAt: number;
  reconnects: number;
}

export interface Live {
  status: ShallowRef<LiveStatus>;
  /** Counters since the page opened (for the wall's link indicator); read, never watched deeply. */
  stats: LiveStats;
  /** Subscribe to assets by id (kept across reconnects); returns how many subscribe messages (snapshots) that takes. */
  subscribeAssets(ids: readonly string[]): number;
  /** Subscribe to every asset of a kind under an ancestor (kept across reconnects). */
  subscribeUnder(under: string, kind?: string): void;
  unsubscribeAssets(ids: readonly string[]): void;
  unsubscribeAll(): void;
  /** Add hub event topics (alarms, tickets, advice, setpoints). */
  addTopics(topics: readonly string[]): void;
  onValues(fn: ValuesListener): () => void;
  onEvent(topic: string, fn: EventListener): () => void;
  /** Called after a reconnect (not the first connect): reload lists that live events keep current. */
  onReconnect(fn: () => void): () => void;
  close(): void;
}

export interface LiveOptions {
  url?: string;
  pingMs?: number;
  silentMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Asset ids per subscribe message. */
  chunk?: number;
  /**
   * Run the socket in a worker that parses every message off the main thread and keeps only these fields (the wall:
   * a city's updates are megabytes a second, the page uses a few fields of them). Without it the socket is on the
   * main thread and every field comes through.
   */
  worker?: FieldFilter;
}

const KEY: InjectionKey<Live> = Symbol('warmgrid.live');

function defaultUrl(): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}/api/live`;
}

export function createLive(opts: LiveOptions = {}): Live {
  const url = opts.url ?? defaultUrl();
  const pingMs = opts.pingMs ?? 15_000;
  const silentMs = opts.silentMs ?? 40_000;
  const minBackoff = opts.minBackoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const chunk = opts.chunk ?? 2000;

  const status = shallowRef<LiveStatus>('connecting');
  const stats: LiveStats = { messages: 0, snapshots: 0, values: 0, bytes: 0, lastMessageAt: 0, reconnects: 0 };
  const assets = new Set<string>();
  const unders = new Map<string, { under: string; kind?: string }>();
  const topics = new Set<string>();
  const valueListeners = new Set<ValuesListener>();
  const eventListeners = new Map<string, Set<EventListener>>();
  const reconnectListeners = new Set<() => void>();

  let worker: ReturnType<typeof workerTransport> | null = null;
  let transport: Transport;
  if (opts.worker && typeof Worker !== 'undefined') {
    worker = workerTransport(opts.worker);
    transport = worker.transport;
  } else transport = directTransport();

  let ws: Connection | null = null;
  let closed = false;
  let connectedOnce = false;
  let backoff = minBackoff;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Messages waiting to be sent, drained a few per task. */
  const outbox: string[] = [];
  let draining = false;

  function drain(): void {
    if (draining) return;
    draining = true;
    const step = (): void => {
      if (!ws || !ws.isOpen()) {
        draining = false;
        return;
      }
      for (let i = 0; i < 16 && outbox.length > 0; i++) ws.send(outbox.shift()!);
      if (outbox.length > 0) setTimeout(step, 0);
      else draining = false;
    };
    step();
  }

  function send(msg: object): void {
    outbox.push(JSON.stringify(msg));
    drain();
  }

  function sendAssets(ids: readonly string[]): void {
    for (let i = 0; i < ids.length; i += chunk) send({ type: 'subscribe', assets: ids.slice(i, i + chunk) });
  }

  function resubscribe(): void {
    outbox.length = 0;
    if (topics.size > 0) send({ type: 'topics', topics: [...topics] });
    if (assets.size > 0) sendAssets([...assets]);
    for (const u of unders.values()) send({ type: 'subscribe', under: u.under, ...(u.kind ? { kind: u.kind } : {}) });
  }

  function onMessage(msg: LiveMessage, bytes: number): void {
    stats.messages++;
    stats.bytes += bytes;
    stats.lastMessageAt = Date.now();
    switch (msg.type) {
      case 'hello':
        backoff = minBackoff;
        return;
      case 'snapshot':
      case 'update': {
        const a = msg.assets ?? {};
        if (msg.type === 'snapshot') stats.snapshots++;
        for (const id in a) for (const _f in a[id]) stats.values++;
        for (const fn of valueListeners) fn(a, msg.type);
        return;
      }
      case 'event': {
        const set = eventListeners.get(msg.topic ?? '');
        if (set) for (const fn of set) fn(msg.data);
        return;
      }
      case 'error':
        console.warn('live feed:', msg.code, msg.message);
        return;
      default:
        return;
    }
  }

  function connect(): void {
    if (closed) return;
    status.value = 'connecting';
    if (!connectedOnce) performance.mark('live-connect');
    let sock: Connection;
    const handlers = {
      open: (): void => {
        status.value = 'open';
        if (!connectedOnce) performance.mark('live-open');
        stats.lastMessageAt = Date.now();
        const again = connectedOnce;
        connectedOnce = true;
        resubscribe();
        clearInterval(pingTimer);
        pingTimer = setInterval(() => {
          if (!sock.isOpen()) return;
          if (Date.now() - stats.lastMessageAt > silentMs) {
            sock.close(4000, 'heartbeat lost');
            return;
          }
          sock.send('{"type":"ping"}');
        }, pingMs);
        if (again) {
          stats.reconnects++;
          for (const fn of reconnectListeners) fn();
        }
      },
      message: onMessage,
      close: (): void => {
        if (ws === sock) ws = null;
        clearInterval(pingTimer);
        if (!closed) scheduleReconnect();
      },
    };
    try {
      sock = transport(url, handlers);
    } catch {
      scheduleReconnect();
      return;
    }
    ws = sock;
  }

  function scheduleReconnect(): void {
    status.value = 'closed';
    clearTimeout(retryTimer);
    const wait = backoff * (0.8 + Math.random() * 0.4);
    backoff = Math.min(maxBackoff, backoff * 2);
    retryTimer = setTimeout(connect, wait);
  }

  const live: Live = {
    status,
    stats,
    subscribeAssets(ids) {
      const fresh = ids.filter((id) => !assets.has(id));
      for (const id of fresh) assets.add(id);
      if (fresh.length > 0 && ws?.isOpen()) sendAssets(fresh);
      return Math.ceil(fresh.length / chunk);
    },
    subscribeUnder(under, kind) {
      const key = `${under}|${kind ?? ''}`;
      if (unders.has(key)) return;
      unders.set(key, kind ? { under, kind } : { under });
      if (ws?.isOpen()) send({ type: 'subscribe', under, ...(kind ? { kind } : {}) });
    },
    unsubscribeAssets(ids) {
      const gone = ids.filter((id) => assets.delete(id));
      if (gone.length > 0 && ws?.isOpen()) send({ type: 'unsubscribe', assets: gone });
    },
    unsubscribeAll() {
      assets.clear();
      unders.clear();
      if (ws?.isOpen()) send({ type: 'unsubscribe', all: true });
    },
    addTopics(list) {
      const before = topics.size;
      for (const t of list) topics.add(t);
      if (topics.size !== before && ws?.isOpen()) send({ type: 'topics', topics: [...topics] });
    },
    onValues(fn) {
      valueListeners.add(fn);
      return () => valueListeners.delete(fn);
    },
    onEvent(topic, fn) {
      let set = eventListeners.get(topic);
      if (!set) eventListeners.set(topic, (set = new Set()));
      set.add(fn);
      return () => set.delete(fn);
    },
    onReconnect(fn) {
      reconnectListeners.add(fn);
      return () => reconnectListeners.delete(fn);
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      outbox.length = 0;
      status.value = 'closed';
      ws?.close(1000, 'page closed');
      ws = null;
      worker?.terminate();
    },
  };
  connect();
  return live;
}

/** Opens the page's live socket, shares it with the page's components, and closes it when the page goes. */
export function provideLive(opts?: LiveOptions): Live {
  const live = createLive(opts);
  provide(KEY, live);
  if (getCurrentScope()) onScopeDispose(() => live.close());
  return live;
}

/** The page's live socket (from provideLive in the page). Listeners added here are removed with the component. */
export function useLive(): Live {
  const live = inject(KEY);
  if (!live) throw new Error('useLive() needs provideLive() in the page');
  return live;
}

/** Adds a listener for the lifetime of the current component or scope. */
export function scoped(off: () => void): void {
  if (getCurrentScope()) onScopeDispose(off);
}
