/**
 * Signed webhooks to external service-desk systems, through a persistent outbox.
 *
 * Contract:
 * - An event is written to `webhook_outbox` (one row per subscribed endpoint) in the same transaction as the change it
 *   reports, so a crash loses nothing and a change that did not commit sends nothing.
 * - Each endpoint is a FIFO: events go out one at a time in the order they were written; a failed delivery is retried
 *   with exponential backoff (retryBaseMs, doubling, capped at retryMaxMs) and holds the ones behind it, so a receiver
 *   that is down gets everything, in order, once it is back. A 2xx answer marks the row delivered; it is never sent
 *   again. A crash between the receiver's 2xx and that mark can repeat one delivery, which is why every request carries
 *   the event id as an idempotency key: a receiver that remembers ids sees each event exactly once.
 * - Request: POST, JSON body `{ id, type, createdAt, data }` (the exact stored bytes), headers
 *     X-Warmgrid-Event-Id, Idempotency-Key   the event id (uuid)
 *     X-Warmgrid-Event                        the event type, e.g. ticket.created
 *     X-Warmgrid-Timestamp                    createdAt, epoch milliseconds (also in the signed body)
 *     X-Warmgrid-Signature                    sha256=<hex HMAC-SHA256 of the body with the endpoint's secret>
 *     X-Warmgrid-Delivery-Attempt             1, 2, ...
 *   Redirects are not followed. Secrets come from the environment (tickets.yaml `secretEnv`).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import { RateLimitedLog } from '../core/log.ts';
import type { StateDb } from '../state/db.ts';
import type { StateSchema } from '../state/schema.ts';
import { globRe } from '../alarms/rules.ts';
import type { TicketsFile, WebhookEndpointConfig } from './config.ts';

export interface WebhookEvent {
  id: string;
  type: string;
  createdAt: number;
  data: unknown;
}

export function newEvent(type: string, createdAt: number, data: unknown): WebhookEvent {
  return { id: randomUUID(), type, createdAt, data };
}

/** HMAC-SHA256 of the raw body, hex: the value after "sha256=" in X-Warmgrid-Signature. */
export function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

/** Checks an X-Warmgrid-Signature header against the raw body, in constant time. */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice(7), 'hex');
  const want = Buffer.from(sign(secret, body), 'hex');
  return given.length === want.length && timingSafeEqual(given, want);
}

export interface EndpointStatus {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  secretSet: boolean;
  pending: number;
  delivered: number;
  oldestPendingAt: number | null;
  lastError: string;
  lastStatus: number | null;
  nextAttemptAt: number | null;
}

interface Endpoint {
  cfg: WebhookEndpointConfig;
  secret: string | undefined;
  patterns: RegExp[];
  running: boolean;
  timer: TimerHandle | null;
  timerAt: number;
}

export class Webhooks {
  readonly #db: StateDb;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #warn: RateLimitedLog;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #cfg: TicketsFile['webhooks'];
  #stopped = false;
  readonly #inflight = new Set<Promise<void>>();

  constructor(opts: { db: StateDb; config: TicketsFile; clock: Clock; log: Logger }) {
    this.#db = opts.db;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#warn = new RateLimitedLog(opts.log, 3, 600_000, () => opts.clock.now());
    this.#cfg = opts.config.webhooks;
    for (const cfg of opts.config.webhooks.endpoints) {
      this.#endpoints.set(cfg.id, { cfg, secret: opts.config.secrets[cfg.id], patterns: cfg.events.map(globRe), running: false, timer: null, timerAt: Infinity });
    }
  }

  /** Whether any enabled endpoint wants this event type. */
  wants(type: string): boolean {
    for (const e of this.#endpoints.values()) if (e.cfg.enabled && e.secret && e.patterns.some((re) => re.test(type))) return true;
    return false;
  }

  /** Writes the event for every endpoint that wants it, inside the caller's transaction. */
  async enqueue(trx: Transaction<StateSchema> | StateDb, event: WebhookEvent): Promise<void> {
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, data: event.data });
    for (const e of this.#endpoints.values()) {
      if (!e.cfg.enabled || !e.secret || !e.patterns.some((re) => re.test(event.type))) continue;
      await trx
        .insertInto('webhook_outbox')
        .values({ event_id: event.id, endpoint: e.cfg.id, type: event.type, body, created_at: event.createdAt, attempts: 0, next_at: event.createdAt, delivered_at: null, last_status: null, last_error: '' })
        .onConflict((oc) => oc.columns(['event_id', 'endpoint']).doNothing())
        .execute();
    }
  }

  /** Starts delivery of what is waiting (after a restart, or after a commit that wrote events). */
  kick(): void {
    if (this.#stopped) return;
    for (const e of this.#endpoints.values()) if (e.cfg.enabled && e.secret) this.#run(e);
  }

  start(): void {
    this.#stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const e of this.#endpoints.values()) {
      if (e.timer) this.#clock.clearTimeout(e.timer);
      e.timer = null;
    }
    await Promise.allSettled([...this.#inflight]);
  }

  /** Resolves when no delivery is running (tests). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  #run(e: Endpoint): void {
    if (e.running) return;
    e.running = true;
    const p = this.#loop(e)
      .catch((err: unknown) => this.#log.error({ err, endpoint: e.cfg.id }, 'webhook delivery loop failed'))
      .finally(() => {
        e.running = false;
        this.#inflight.delete(p);
      });
    this.#inflight.add(p);
  }

  async #loop(e: Endpoint): Promise<void> {
    while (!this.#stopped) {
      const row = await this.#db
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('endpoint', '=', e.cfg.id)
        .where('delivered_at', 'is', null)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      if (!row) return;
      const now = this.#clock.now();
      const nextAt = Number(row.next_at);
      if (nextAt > now) {
        this.#wake(e, nextAt);
        return;
      }
      const attempt = Number(row.attempts) + 1;
      const { ok, status, error } = await this.#post(e, row.body, row.event_id, row.type, Number(row.created_at), attempt);
      const at = this.#clock.now();
      if (ok) {
        await this.#db.updateTable('webhook_outbox').set({ delivered_at: at, attempts: attempt, last_status: status, last_error: '' }).where('seq', '=', row.seq).execute();
        continue;
      }
      const wait = Math.min(this.#cfg.retryMaxMs, this.#cfg.retryBaseMs * 2 ** (attempt - 1));
      const next = at + Math.round(wait * (0.9 + 0.2 * Math.random()));
      await this.#db.updateTable('webhook_outbox').set({ attempts: attempt, next_at: next, last_status: status, last_error: error.slice(0, 500) }).where('seq', '=', row.seq).execute();
      this.#warn.warn(e.cfg.id, { endpoint: e.cfg.id, status, error: error.slice(0, 200), attempt }, 'webhook delivery failed; will retry');
      this.#wake(e, next);
      return;
    }
  }

  #wake(e: Endpoint, at: number): void {
    if (this.#stopped) return;
    if (e.timer && e.timerAt <= at) return;
    if (e.timer) this.#clock.clearTimeout(e.timer);
    e.timerAt = at;
    e.timer = this.#clock.setTimeout(
      () => {
        e.timer = null;
        e.timerAt = Infinity;
        this.#run(e);
      },
      Math.max(0, at - this.#clock.now()),
    );
    e.timer.unref?.();
  }

  async #post(e: Endpoint, body: string, id: string, type: string, createdAt: number, attempt: number): Promise<{ ok: boolean; status: number | null; error: string }> {
    try {
      const res = await fetch(e.cfg.url, {
        method: 'POST',
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#cfg.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'warmgrid-webhooks/1',
          'x-warmgrid-event-id': id,
          'idempotency-key': id,
          'x-warmgrid-event': type,
          'x-warmgrid-timestamp': String(createdAt),
          'x-warmgrid-signature': `sha256=${sign(e.secret!, body)}`,
          'x-warmgrid-delivery-attempt': String(attempt),
        },
      });
      await res.arrayBuffer().catch(() => undefined);
      return { ok: res.status >= 200 && res.status < 300, status: res.status, error: res.ok ? '' : `HTTP ${res.status}` };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { ok: false, status: null, error: cause ?? (err as Error).message };
    }
  }

  async status(): Promise<EndpointStatus[]> {
    const out: EndpointStatus[] = [];
    for (const e of this.#endpoints.values()) {
      const pending = await this.#db
        .selectFrom('webhook_outbox')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest'), eb.fn.min('next_at').as('next')])
        .where('endpoint', '=', e.cfg.id)
        .where('delivered_at', 'is', null)
        .executeTakeFirst();
      const delivered = await this.#db.selectFrom('webhook_outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('endpoint', '=', e.cfg.id).where('delivered_at', 'is not', null).executeTakeFirst();
      const last = await this.#db.selectFrom('webhook_outbox').select(['last_error', 'last_status']).where('endpoint', '=', e.cfg.id).where('attempts', '>', 0).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      out.push({
        id: e.cfg.id,
        url: e.cfg.url,
        events: [...e.cfg.events],
        enabled: e.cfg.enabled,
        secretSet: e.secret !== undefined,
        pending: Number(pending?.n ?? 0),
        delivered: Number(delivered?.n ?? 0),
        oldestPendingAt: pending?.oldest == null ? null : Number(pending.oldest),
        lastError: last?.last_error ?? '',
        lastStatus: last?.last_status == null ? null : Number(last.last_status),
        nextAttemptAt: pending?.next == null ? null : Number(pending.next),
      });
    }
    return out;
  }
}
