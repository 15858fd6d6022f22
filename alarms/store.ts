/**
 * AlarmStore: the alarm tables of the state database. The engine keeps the live state in memory and hands every change
 * here in order; `enqueue` never blocks the caller (readings keep flowing), and a single writer commits the queue in
 * batches, one transaction each, in the order given. `flush()` resolves once everything enqueued so far is committed;
 * API reads flush first, so what an operator reads includes their own last action.
 *
 * A batch that fails is retried (a locked or full disk heals; a lost change would break the audit trail), with the
 * error logged once per failure streak.
 */
import type { Transaction } from 'kysely';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/log.ts';
import type { StateDb } from '../state/db.ts';
import type { StateSchema } from '../state/schema.ts';
import type { AlarmEventsTable, AlarmPointsTable, AlarmsTable } from './schema.ts';

export type AlarmRow = AlarmsTable;
export type AlarmEventRow = Omit<AlarmEventsTable, 'seq'> & { seq: number };

export type AlarmWrite =
  | { op: 'insert'; row: AlarmsTable }
  | { op: 'update'; id: string; set: Partial<AlarmsTable> }
  | { op: 'event'; row: Omit<AlarmEventsTable, 'seq'> }
  | { op: 'point'; row: AlarmPointsTable }
  | { op: 'unpoint'; ruleId: string; asset: string }
  /** Anything else that must commit with the alarm changes around it (e.g. webhook outbox rows). */
  | { op: 'run'; fn: (trx: Transaction<StateSchema>) => Promise<void> };

export interface AlarmQuery {
  /** open: not yet back to normal and acknowledged; closed: history only; all: both. */
  status?: 'open' | 'closed' | 'all';
  /** Include shelved, suppressed and out-of-service occurrences in an open list (default: hidden). */
  includeHidden?: boolean;
  asset?: string;
  /** Assets at or below this one (by id prefix of the place path; resolved by the caller into a list). */
  assets?: readonly string[];
  ruleId?: string;
  priority?: string;
  category?: string;
  state?: string;
  /** Text search in name, asset and rule id. */
  q?: string;
  from?: number;
  to?: number;
  /** Page backwards: occurrences activated before this (activated_at, id) pair. */
  before?: { at: number; id: string };
  limit: number;
}

const BATCH = 2000;

export class AlarmStore {
  #queue: AlarmWrite[] = [];
  #writing = false;
  #idle: (() => void)[] = [];
  #failing = false;
  #closed = false;

  constructor(
    readonly db: StateDb,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  get pending(): number {
    return this.#queue.length;
  }

  enqueue(w: AlarmWrite): void {
    this.#queue.push(w);
    if (!this.#writing) {
      this.#writing = true;
      setImmediate(() => void this.#drain());
    }
  }

  /** Resolves once everything enqueued before the call is committed. */
  async flush(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue.slice(0, BATCH);
        try {
          await this.db.transaction().execute(async (trx) => {
            for (const w of batch) await apply(trx, w);
          });
          this.#queue.splice(0, batch.length);
          if (this.#failing) this.log.warn('alarm store writes recovered');
          this.#failing = false;
        } catch (err) {
          if (!this.#failing) this.log.error({ err }, 'alarm store write failed; retrying');
          this.#failing = true;
          await new Promise<void>((resolve) => setTimeout(resolve, 1000).unref());
        }
      }
    } finally {
      this.#writing = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const fn of idle) fn();
    }
  }

  // ---- reads -------------------------------------------------------------------------------------------------------

  async get(id: string): Promise<AlarmRow | undefined> {
    return this.db.selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(q: AlarmQuery): Promise<AlarmRow[]> {
    let qb = this.db.selectFrom('alarms').selectAll();
    const status = q.status ?? 'open';
    if (status === 'open') qb = qb.where('state', '!=', 'normal');
    else if (status === 'closed') qb = qb.where('state', '=', 'normal');
    if (status === 'open' && !q.includeHidden) qb = qb.where('shelved_until', 'is', null).where('suppressed_by', 'is', null).where('out_of_service', '=', 0);
    if (q.asset) qb = qb.where('asset', '=', q.asset);
    if (q.assets) qb = qb.where('asset', 'in', q.assets.length > 0 ? [...q.assets] : ['']);
    if (q.ruleId) qb = qb.where('rule_id', '=', q.ruleId);
    if (q.priority) qb = qb.where('priority', '=', q.priority);
    if (q.category) qb = qb.where('category', '=', q.category);
    if (q.state) qb = qb.where('state', '=', q.state);
    if (q.from !== undefined) qb = qb.where('activated_at', '>=', q.from);
    if (q.to !== undefined) qb = qb.where('activated_at', '<', q.to);
    if (q.q) {
      const like = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb = qb.where((eb) => eb.or([eb('name', 'like', like), eb('asset', 'like', like), eb('rule_id', 'like', like)]));
    }
    if (q.before) {
      const b = q.before;
      qb = qb.where((eb) => eb.or([eb('activated_at', '<', b.at), eb.and([eb('activated_at', '=', b.at), eb('id', '<', b.id)])]));
    }
    const rows = await qb.orderBy('activated_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map(normalizeAlarm);
  }

  async events(alarmId: string): Promise<AlarmEventRow[]> {
    const rows = await this.db.selectFrom('alarm_events').selectAll().where('alarm_id', '=', alarmId).orderBy('seq').execute();
    return rows.map(normalizeEvent);
  }

  /** Transitions in [from, to), oldest first, for the KPIs. */
  async eventsBetween(from: number, to: number, events: readonly string[]): Promise<AlarmEventRow[]> {
    const rows = await this.db
      .selectFrom('alarm_events')
      .selectAll()
      .where('ts', '>=', from)
      .where('ts', '<', to)
      .where('event', 'in', [...events])
      .orderBy('ts')
      .orderBy('seq')
      .execute();
    return rows.map(normalizeEvent);
  }

  async open(): Promise<AlarmRow[]> {
    return (await this.db.selectFrom('alarms').selectAll().where('state', '!=', 'normal').execute()).map(normalizeAlarm);
  }

  async points(): Promise<AlarmPointsTable[]> {
    return (await this.db.selectFrom('alarm_points').selectAll().execute()).map((p) => ({ ...p, until: p.until === null ? null : Number(p.until), since: Number(p.since) }));
  }

  /** The clock the store stamps with (for callers that need "now" in the same time base). */
  now(): number {
    return this.clock.now();
  }
}

async function apply(trx: Transaction<StateSchema>, w: AlarmWrite): Promise<void> {
  switch (w.op) {
    case 'insert':
      await trx.insertInto('alarms').values(w.row).execute();
      return;
    case 'update':
      await trx.updateTable('alarms').set(w.set).where('id', '=', w.id).execute();
      return;
    case 'event':
      await trx.insertInto('alarm_events').values(w.row).execute();
      return;
    case 'point':
      await trx
        .insertInto('alarm_points')
        .values(w.row)
        .onConflict((oc) => oc.columns(['rule_id', 'asset']).doUpdateSet({ mode: w.row.mode, until: w.row.until, actor: w.row.actor, actor_name: w.row.actor_name, reason: w.row.reason, since: w.row.since }))
        .execute();
      return;
    case 'unpoint':
      await trx.deleteFrom('alarm_points').where('rule_id', '=', w.ruleId).where('asset', '=', w.asset).execute();
      return;
    case 'run':
      await w.fn(trx);
      return;
  }
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

function normalizeAlarm(r: AlarmsTable): AlarmRow {
  return {
    ...r,
    activated_at: Number(r.activated_at),
    acked_at: num(r.acked_at),
    cleared_at: num(r.cleared_at),
    closed_at: num(r.closed_at),
    updated_at: Number(r.updated_at),
    shelved_until: num(r.shelved_until),
    out_of_service: Number(r.out_of_service),
    activations: Number(r.activations),
  };
}

function normalizeEvent(r: AlarmEventRow): AlarmEventRow {
  return { ...r, seq: Number(r.seq), ts: Number(r.ts) };
}
