/**
 * Tickets (work orders, 工单): raised from alarms by policy or created by hand, one per incident, assigned to the team
 * covering the asset, with SLA due times, a lifecycle with who/when/comment for every change, and a satisfaction
 * call-back (回访).
 *
 * Contract:
 * - One open ticket per (asset, cause). The database enforces it (unique partial index, tickets/migrations.ts); raising
 *   is an INSERT ... ON CONFLICT DO NOTHING followed, on conflict, by linking the alarm to the open ticket. So any
 *   number of concurrent raises, several hub processes sharing PostgreSQL, and restarts all end with one ticket.
 * - Work for one incident is serialized in this process (a promise chain per asset and cause), so an alarm's return
 *   to normal is never noted before the ticket it belongs to exists.
 * - Every change commits with its history row and its webhook outbox rows in one transaction; the live bus gets it
 *   after the commit.
 * - `reconcile()` after a restart raises what an alarm should have raised and notes returns that were not noted (a crash
 *   between an alarm change and its ticket work loses nothing).
 */
import type { Selectable, Transaction, Updateable } from 'kysely';
import type { AlarmChange, AlarmView } from '../alarms/engine.ts';
import { isActive } from '../alarms/state-machine.ts';
import { PRIORITY_RANK, type Category, type Priority, type Rule } from '../alarms/rules.ts';
import type { AssetTree } from '../config/asset-tree.ts';
import type { Clock } from '../core/clock.ts';
import { WarmgridError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { StateDb } from '../state/db.ts';
import type { StateSchema } from '../state/schema.ts';
import type { TicketsFile } from './config.ts';
import { TeamDirectory, canMove, isOpenTicket, overdue, slaDue, type CallbackResult, type Overdue, type TicketState } from './lifecycle.ts';
import type { TicketHistoryTable, TicketsTable } from './schema.ts';
import { newEvent, type Webhooks } from './webhooks.ts';

export interface Actor {
  id: string;
  name: string;
}

const SYSTEM: Actor = { id: 'system', name: 'system' };

export interface TicketView {
  id: number;
  asset: string;
  assetName: string;
  assetKind: string;
  cause: string;
  category: Category;
  priority: Priority;
  title: string;
  description: string;
  state: TicketState;
  team: string | null;
  teamName: string | null;
  assignee: string | null;
  origin: 'alarm' | 'manual';
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  respondDueAt: number;
  resolveDueAt: number;
  respondedAt: number | null;
  resolvedAt: number | null;
  closedAt: number | null;
  callback: { result: CallbackResult; at: number; by: string; comment: string } | null;
  reopened: number;
  overdue: Overdue;
}

export interface HistoryView {
  seq: number;
  ts: number;
  actor: string;
  actorName: string;
  action: string;
  fromState: string;
  toState: string;
  comment: string;
  detail: Record<string, unknown>;
}

export interface TicketLink {
  alarmId: string;
  ruleId: string;
  linkedAt: number;
  clearedAt: number | null;
}

export interface TicketQuery {
  /** A state, or "open" (anything not closed or cancelled). */
  state?: TicketState | 'open';
  team?: string;
  assets?: readonly string[];
  category?: string;
  priority?: string;
  overdue?: boolean;
  q?: string;
  beforeId?: number;
  limit: number;
}

export interface ManualTicket {
  asset: string;
  category: Category;
  priority: Priority;
  title: string;
  description?: string;
  /** Incident cause for dedupe; a manual ticket without one never merges with another. */
  cause?: string;
}

type Trx = Transaction<StateSchema>;

export interface TicketServiceOptions {
  db: StateDb;
  assets: AssetTree;
  config: TicketsFile;
  clock: Clock;
  log: Logger;
  webhooks: Webhooks;
  /** Called after a commit, e.g. to publish on the live bus. */
  publish?: (e: { type: 'ticket.created' | 'ticket.updated'; change: string; ticket: TicketView }) => void;
  /** The rule of an alarm (for its ticket policy), from the engine. */
  ruleOf: (ruleId: string) => Rule | undefined;
}

export class TicketService {
  readonly teams: TeamDirectory;
  readonly #db: StateDb;
  readonly #assets: AssetTree;
  readonly #cfg: TicketsFile;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #webhooks: Webhooks;
  readonly #publish: TicketServiceOptions['publish'];
  readonly #ruleOf: TicketServiceOptions['ruleOf'];
  readonly #chains = new Map<string, Promise<void>>();

  constructor(o: TicketServiceOptions) {
    this.#db = o.db;
    this.#assets = o.assets;
    this.#cfg = o.config;
    this.#clock = o.clock;
    this.#log = o.log;
    this.#webhooks = o.webhooks;
    this.#publish = o.publish;
    this.#ruleOf = o.ruleOf;
    this.teams = new TeamDirectory(o.assets, o.config.teams, o.config.defaultTeam);
  }

  // ---- policy ------------------------------------------------------------------------------------------------------

  shouldRaise(rule: Rule | undefined, priority: Priority): boolean {
    return rule?.ticket?.raise ?? this.#cfg.policy.raise[priority];
  }

  resolvesOnReturn(rule: Rule | undefined, priority: Priority): boolean {
    return rule?.ticket?.resolveOnReturn ?? this.#cfg.policy.resolveOnReturn[priority];
  }

  // ---- alarms ------------------------------------------------------------------------------------------------------

  /** Engine listener: synchronous, queues the work per incident. */
  onAlarmChange(c: AlarmChange): void {
    const now = this.#clock.now();
    const a = c.alarm;
    const raise = c.annunciated && isActive(a.state) && (c.type === 'activated' || c.type === 'unsuppressed' || c.type === 'unshelved' || c.type === 'escalated');
    if (raise && this.shouldRaise(c.rule, a.priority)) {
      void this.#serial(a, () => this.raiseFromAlarm(a, c.rule, now).then(() => undefined));
    } else if (c.type === 'cleared') {
      void this.#serial(a, () => this.noteAlarmCleared(a, now));
    }
  }

  #serial(a: { asset: string; cause: string }, fn: () => Promise<void>): Promise<void> {
    const key = `${a.asset}\u0000${a.cause}`;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.#log.error({ err, asset: a.asset, cause: a.cause }, 'ticket work for an alarm failed'));
    this.#chains.set(key, next);
    void next.finally(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }

  /** Resolves when every queued alarm-driven change is committed (tests, benchmarks, shutdown). */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.allSettled([...this.#chains.values()]);
  }

  /**
   * Raises the incident's ticket or links the alarm to the open one (reopening it when it was resolved). Idempotent per
   * alarm: linking the same alarm twice changes nothing.
   */
  async raiseFromAlarm(a: AlarmView, rule: Rule | undefined, now = this.#clock.now()): Promise<{ ticket: TicketView; created: boolean }> {
    const after: (() => void)[] = [];
    let created = false;
    const id = await this.#db.transaction().execute(async (trx) => {
      const title = `${a.name}: ${a.assetName}`;
      const inserted = await this.#insertTicket(trx, {
        asset: a.asset,
        assetKind: a.assetKind,
        cause: a.cause,
        category: a.category,
        priority: a.priority,
        title,
        description: rule?.description ?? '',
        origin: 'alarm',
        by: SYSTEM,
        now,
      });
      if (inserted !== null) {
        created = true;
        await this.#link(trx, inserted, a, now);
        await this.#history(trx, inserted, now, SYSTEM, 'created', '', 'new', '', { alarmId: a.id, ruleId: a.ruleId, value: a.value });
        await this.#autoAssign(trx, inserted, a.asset, now);
        after.push(await this.#event(trx, inserted, 'ticket.created', 'created', now));
        return inserted;
      }
      const open = await trx.selectFrom('tickets').selectAll().where('asset', '=', a.asset).where('cause', '=', a.cause).where('open', '=', 1).executeTakeFirst();
      if (!open) throw new WarmgridError('CONFLICT', 'the open ticket for this incident closed while raising; retry');
      const tid = Number(open.id);
      if (!(await this.#link(trx, tid, a, now))) return tid;
      await this.#history(trx, tid, now, SYSTEM, 'alarm_linked', open.state, open.state, '', { alarmId: a.id, ruleId: a.ruleId });
      if (PRIORITY_RANK[a.priority] > PRIORITY_RANK[open.priority as Priority]) {
        const due = slaDue(this.#cfg.sla, a.priority, Number(open.created_at));
        await trx.updateTable('tickets').set({ priority: a.priority, respond_due_at: due.respondDueAt, resolve_due_at: due.resolveDueAt, updated_at: now }).where('id', '=', tid).execute();
        await this.#history(trx, tid, now, SYSTEM, 'priority', open.state, open.state, '', { from: open.priority, to: a.priority });
      }
      if (open.state === 'resolved') {
        const to: TicketState = open.team ? 'assigned' : 'new';
        await trx.updateTable('tickets').set({ state: to, resolved_at: null, reopened: Number(open.reopened) + 1, updated_at: now }).where('id', '=', tid).execute();
        await this.#history(trx, tid, now, SYSTEM, 'reopened', 'resolved', to, `alarm ${a.name} is active again`, { alarmId: a.id });
      }
      after.push(await this.#event(trx, tid, 'ticket.updated', open.state === 'resolved' ? 'reopened' : 'alarm_linked', now));
      return tid;
    });
    this.#afterCommit(after);
    return { ticket: (await this.get(id))!.ticket, created };
  }

  /** Notes an alarm's return to normal on its open tickets, and resolves them when the policy says so and it was the last. */
  async noteAlarmCleared(a: AlarmView, now = this.#clock.now()): Promise<void> {
    const after: (() => void)[] = [];
    await this.#db.transaction().execute(async (trx) => {
      const links = await trx.selectFrom('ticket_alarms').selectAll().where('alarm_id', '=', a.id).where('cleared_at', 'is', null).execute();
      for (const l of links) {
        const tid = Number(l.ticket_id);
        await trx.updateTable('ticket_alarms').set({ cleared_at: now }).where('ticket_id', '=', tid).where('alarm_id', '=', a.id).execute();
        const t = await trx.selectFrom('tickets').selectAll().where('id', '=', tid).executeTakeFirst();
        if (!t) continue;
        const state = t.state as TicketState;
        await this.#history(trx, tid, now, SYSTEM, 'alarm_cleared', state, state, `alarm ${a.name} returned to normal`, { alarmId: a.id, ruleId: a.ruleId });
        let change = 'alarm_cleared';
        const rest = await trx.selectFrom('ticket_alarms').select('alarm_id').where('ticket_id', '=', tid).where('cleared_at', 'is', null).execute();
        if (rest.length === 0 && isOpenTicket(state) && state !== 'resolved' && this.resolvesOnReturn(this.#ruleOf(a.ruleId), t.priority as Priority)) {
          await trx.updateTable('tickets').set({ state: 'resolved', resolved_at: now, updated_at: now }).where('id', '=', tid).execute();
          await this.#history(trx, tid, now, SYSTEM, 'state', state, 'resolved', 'every alarm on the ticket returned to normal', {});
          change = 'resolved';
        } else {
          await trx.updateTable('tickets').set({ updated_at: now }).where('id', '=', tid).execute();
        }
        after.push(await this.#event(trx, tid, 'ticket.updated', change, now));
      }
    });
    this.#afterCommit(after);
  }

  /** After a restart: raise missing tickets for open alarms, note returns that were missed. */
  async reconcile(open: readonly AlarmView[]): Promise<{ raised: number; noted: number }> {
    let raised = 0;
    let noted = 0;
    const openIds = new Set<string>();
    for (const a of open) {
      if (isActive(a.state)) openIds.add(a.id);
      const annunciated = a.suppressedBy === null && a.shelvedUntil === null && !a.outOfService;
      if (!annunciated || !isActive(a.state) || !this.shouldRaise(this.#ruleOf(a.ruleId), a.priority)) continue;
      const linked = await this.#db.selectFrom('ticket_alarms').select('ticket_id').where('alarm_id', '=', a.id).executeTakeFirst();
      if (linked) continue;
      await this.#serial(a, async () => {
        await this.raiseFromAlarm(a, this.#ruleOf(a.ruleId));
      });
      raised++;
    }
    const dangling = await this.#db.selectFrom('ticket_alarms').selectAll().where('cleared_at', 'is', null).execute();
    for (const l of dangling) {
      if (openIds.has(l.alarm_id)) continue;
      const row = await this.#db.selectFrom('alarms').select(['id', 'rule_id', 'name', 'asset', 'cause', 'cleared_at']).where('id', '=', l.alarm_id).executeTakeFirst();
      const at = row?.cleared_at == null ? this.#clock.now() : Number(row.cleared_at);
      const view = { id: l.alarm_id, ruleId: l.rule_id, name: row?.name ?? l.rule_id, asset: row?.asset ?? '', cause: row?.cause ?? '' } as AlarmView;
      await this.#serial(view, () => this.noteAlarmCleared(view, at));
      noted++;
    }
    return { raised, noted };
  }

  // ---- manual work -------------------------------------------------------------------------------------------------

  /** A ticket from the service desk (a resident called). With a cause, it merges into that incident's open ticket. */
  async create(input: ManualTicket, by: Actor): Promise<{ ticket: TicketView; created: boolean }> {
    const asset = this.#assets.get(input.asset);
    if (!asset) throw new WarmgridError('UNKNOWN_ASSET', `unknown asset "${input.asset}"`);
    const now = this.#clock.now();
    const cause = input.cause ?? `manual-${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const after: (() => void)[] = [];
    let created = false;
    const id = await this.#db.transaction().execute(async (trx) => {
      const inserted = await this.#insertTicket(trx, {
        asset: asset.id,
        assetKind: asset.kind,
        cause,
        category: input.category,
        priority: input.priority,
        title: input.title,
        description: input.description ?? '',
        origin: 'manual',
        by,
        now,
      });
      if (inserted !== null) {
        created = true;
        await this.#history(trx, inserted, now, by, 'created', '', 'new', input.description ?? '', {});
        await this.#autoAssign(trx, inserted, asset.id, now);
        after.push(await this.#event(trx, inserted, 'ticket.created', 'created', now));
        return inserted;
      }
      const open = await trx.selectFrom('tickets').selectAll().where('asset', '=', asset.id).where('cause', '=', cause).where('open', '=', 1).executeTakeFirst();
      if (!open) throw new WarmgridError('CONFLICT', 'the open ticket for this incident closed meanwhile; retry');
      const tid = Number(open.id);
      await this.#history(trx, tid, now, by, 'comment', open.state, open.state, `reported again: ${input.title}${input.description ? ` — ${input.description}` : ''}`, {});
      await trx.updateTable('tickets').set({ updated_at: now }).where('id', '=', tid).execute();
      after.push(await this.#event(trx, tid, 'ticket.updated', 'comment', now));
      return tid;
    });
    this.#afterCommit(after);
    return { ticket: (await this.get(id))!.ticket, created };
  }

  async assign(id: number, to: { team?: string; assignee?: string }, by: Actor, comment = ''): Promise<TicketView> {
    if (to.team !== undefined && !this.teams.get(to.team)) throw new WarmgridError('BAD_REQUEST', `no team "${to.team}"`);
    return this.#change(id, async (trx, t, now) => {
      const from = t.state as TicketState;
      if (!isOpenTicket(from)) throw new WarmgridError('CONFLICT', `ticket ${id} is ${from}`);
      const state: TicketState = from === 'new' ? 'assigned' : from;
      await trx
        .updateTable('tickets')
        .set({ team: to.team ?? t.team, assignee: to.assignee ?? t.assignee, state, updated_at: now })
        .where('id', '=', id)
        .execute();
      await this.#history(trx, id, now, by, 'assigned', from, state, comment, { team: to.team ?? t.team, assignee: to.assignee ?? t.assignee });
      return 'assigned';
    });
  }

  async transition(id: number, to: TicketState, by: Actor, comment = ''): Promise<TicketView> {
    return this.#change(id, async (trx, t, now) => {
      const from = t.state as TicketState;
      if (from === to) throw new WarmgridError('CONFLICT', `ticket ${id} is already ${to}`);
      if (!canMove(from, to)) throw new WarmgridError('CONFLICT', `ticket ${id} cannot go from ${from} to ${to}`);
      if (to === 'cancelled' && comment.trim() === '') throw new WarmgridError('BAD_REQUEST', 'say why the ticket is cancelled');
      const set: Updateable<TicketsTable> = { state: to, updated_at: now, open: isOpenTicket(to) ? 1 : 0 };
      if (to === 'in_progress' && t.responded_at === null) set.responded_at = now;
      if (to === 'resolved') set.resolved_at = now;
      if (from === 'resolved' && to !== 'closed') {
        set.resolved_at = null;
        set.reopened = Number(t.reopened) + 1;
      }
      if (to === 'closed' || to === 'cancelled') set.closed_at = now;
      await trx.updateTable('tickets').set(set).where('id', '=', id).execute();
      await this.#history(trx, id, now, by, 'state', from, to, comment, {});
      return 'state';
    });
  }

  async comment(id: number, by: Actor, comment: string): Promise<TicketView> {
    return this.#change(id, async (trx, t, now) => {
      await trx.updateTable('tickets').set({ updated_at: now }).where('id', '=', id).execute();
      await this.#history(trx, id, now, by, 'comment', t.state, t.state, comment, {});
      return 'comment';
    });
  }

  /** Records the satisfaction call-back; allowed once the work is resolved or closed. */
  async callback(id: number, result: CallbackResult, by: Actor, comment = ''): Promise<TicketView> {
    return this.#change(id, async (trx, t, now) => {
      if (t.state !== 'resolved' && t.state !== 'closed') throw new WarmgridError('CONFLICT', `call back once the ticket is resolved or closed (it is ${t.state})`);
      await trx.updateTable('tickets').set({ callback_result: result, callback_at: now, callback_by: by.name, callback_comment: comment, updated_at: now }).where('id', '=', id).execute();
      await this.#history(trx, id, now, by, 'callback', t.state, t.state, comment, { result });
      return 'callback';
    });
  }

  /** One change to one ticket in a transaction; `fn` writes it and its history and names the change for the event. */
  async #change(id: number, fn: (trx: Trx, t: Selectable<TicketsTable>, now: number) => Promise<string>): Promise<TicketView> {
    const now = this.#clock.now();
    const after: (() => void)[] = [];
    await this.#db.transaction().execute(async (trx) => {
      const t = await trx.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirst();
      if (!t) throw new WarmgridError('NOT_FOUND', `no ticket ${id}`);
      const change = await fn(trx, t, now);
      after.push(await this.#event(trx, id, 'ticket.updated', change, now));
    });
    this.#afterCommit(after);
    return (await this.get(id))!.ticket;
  }

  // ---- reads -------------------------------------------------------------------------------------------------------

  async get(id: number): Promise<{ ticket: TicketView; history: HistoryView[]; alarms: TicketLink[] } | undefined> {
    const t = await this.#db.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirst();
    if (!t) return undefined;
    const history = await this.#db.selectFrom('ticket_history').selectAll().where('ticket_id', '=', id).orderBy('seq').execute();
    const links = await this.#db.selectFrom('ticket_alarms').selectAll().where('ticket_id', '=', id).orderBy('linked_at').execute();
    return {
      ticket: this.#view(t),
      history: history.map(historyView),
      alarms: links.map((l) => ({ alarmId: l.alarm_id, ruleId: l.rule_id, linkedAt: Number(l.linked_at), clearedAt: l.cleared_at === null ? null : Number(l.cleared_at) })),
    };
  }

  async list(q: TicketQuery): Promise<TicketView[]> {
    const now = this.#clock.now();
    let qb = this.#db.selectFrom('tickets').selectAll();
    if (q.state === 'open') qb = qb.where('open', '=', 1);
    else if (q.state) qb = qb.where('state', '=', q.state);
    if (q.team) qb = qb.where('team', '=', q.team);
    if (q.assets) qb = qb.where('asset', 'in', q.assets.length > 0 ? [...q.assets] : ['']);
    if (q.category) qb = qb.where('category', '=', q.category);
    if (q.priority) qb = qb.where('priority', '=', q.priority);
    if (q.beforeId !== undefined) qb = qb.where('id', '<', q.beforeId);
    if (q.q) {
      const like = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb = qb.where((eb) => eb.or([eb('title', 'like', like), eb('asset', 'like', like), eb('description', 'like', like)]));
    }
    if (q.overdue) {
      qb = qb.where('open', '=', 1).where((eb) =>
        eb.or([
          eb.and([eb('responded_at', 'is', null), eb('state', 'in', ['new', 'assigned']), eb('respond_due_at', '<', now)]),
          eb.and([eb('state', '!=', 'resolved'), eb('resolve_due_at', '<', now)]),
        ]),
      );
    }
    const rows = await qb.orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map((r) => this.#view(r));
  }

  /** Open tickets for an incident (tests and tools). */
  async openFor(asset: string, cause: string): Promise<TicketView[]> {
    const rows = await this.#db.selectFrom('tickets').selectAll().where('asset', '=', asset).where('cause', '=', cause).where('open', '=', 1).execute();
    return rows.map((r) => this.#view(r));
  }

  // ---- internals ---------------------------------------------------------------------------------------------------

  async #insertTicket(
    trx: Trx,
    t: { asset: string; assetKind: string; cause: string; category: Category; priority: Priority; title: string; description: string; origin: 'alarm' | 'manual'; by: Actor; now: number },
  ): Promise<number | null> {
    const due = slaDue(this.#cfg.sla, t.priority, t.now);
    const row = await trx
      .insertInto('tickets')
      .values({
        asset: t.asset,
        asset_kind: t.assetKind,
        cause: t.cause,
        category: t.category,
        priority: t.priority,
        title: t.title.slice(0, 300),
        description: t.description.slice(0, 4000),
        state: 'new',
        open: 1,
        team: null,
        assignee: null,
        origin: t.origin,
        created_by: t.by.id,
        created_by_name: t.by.name,
        created_at: t.now,
        updated_at: t.now,
        respond_due_at: due.respondDueAt,
        resolve_due_at: due.resolveDueAt,
        responded_at: null,
        resolved_at: null,
        closed_at: null,
        callback_result: null,
        callback_at: null,
        callback_by: null,
        callback_comment: null,
        reopened: 0,
      })
      .onConflict((oc) => oc.columns(['asset', 'cause']).where((eb) => eb.eb(eb.ref('open'), '=', eb.lit(1))).doNothing())
      .returning('id')
      .executeTakeFirst();
    return row ? Number(row.id) : null;
  }

  async #autoAssign(trx: Trx, id: number, asset: string, now: number): Promise<void> {
    const team = this.teams.teamFor(asset);
    if (!team) return;
    await trx.updateTable('tickets').set({ team: team.id, state: 'assigned', updated_at: now }).where('id', '=', id).execute();
    await this.#history(trx, id, now, SYSTEM, 'assigned', 'new', 'assigned', `dispatched to ${team.name} (covers the area)`, { team: team.id });
  }

  /** Links an alarm to a ticket; false when it was linked already. */
  async #link(trx: Trx, ticketId: number, a: AlarmView, now: number): Promise<boolean> {
    const res = await trx
      .insertInto('ticket_alarms')
      .values({ ticket_id: ticketId, alarm_id: a.id, rule_id: a.ruleId, linked_at: now, cleared_at: null })
      .onConflict((oc) => oc.columns(['ticket_id', 'alarm_id']).doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async #history(trx: Trx, ticketId: number, ts: number, by: Actor, action: string, from: string, to: string, comment: string, detail: Record<string, unknown>): Promise<void> {
    await trx
      .insertInto('ticket_history')
      .values({ ticket_id: ticketId, ts, actor: by.id, actor_name: by.name, action, from_state: from, to_state: to, comment: comment.slice(0, 4000), detail: JSON.stringify(detail) })
      .execute();
  }

  /** Writes the webhook event in the transaction; returns what to do after the commit (publish, kick delivery). */
  async #event(trx: Trx, id: number, type: 'ticket.created' | 'ticket.updated', change: string, now: number): Promise<() => void> {
    const row = await trx.selectFrom('tickets').selectAll().where('id', '=', id).executeTakeFirst();
    const ticket = this.#view(row!);
    if (this.#webhooks.wants(type)) await this.#webhooks.enqueue(trx, newEvent(type, now, { change, ticket }));
    return () => this.#publish?.({ type, change, ticket });
  }

  #afterCommit(after: (() => void)[]): void {
    for (const fn of after) {
      try {
        fn();
      } catch (err) {
        this.#log.error({ err }, 'ticket listener failed');
      }
    }
    if (after.length > 0) this.#webhooks.kick();
  }

  #view(t: Selectable<TicketsTable>): TicketView {
    const n = (v: number | null): number | null => (v === null ? null : Number(v));
    const state = t.state as TicketState;
    const base = {
      respondDueAt: Number(t.respond_due_at),
      resolveDueAt: Number(t.resolve_due_at),
      respondedAt: n(t.responded_at),
      resolvedAt: n(t.resolved_at),
    };
    const team = t.team ? this.teams.get(t.team) : undefined;
    return {
      id: Number(t.id),
      asset: t.asset,
      assetName: this.#assets.get(t.asset)?.name ?? t.asset,
      assetKind: t.asset_kind,
      cause: t.cause,
      category: t.category as Category,
      priority: t.priority as Priority,
      title: t.title,
      description: t.description,
      state,
      team: t.team,
      teamName: team?.name ?? null,
      assignee: t.assignee,
      origin: t.origin === 'manual' ? 'manual' : 'alarm',
      createdBy: t.created_by_name,
      createdAt: Number(t.created_at),
      updatedAt: Number(t.updated_at),
      ...base,
      closedAt: n(t.closed_at),
      callback: t.callback_result ? { result: t.callback_result as CallbackResult, at: Number(t.callback_at), by: t.callback_by ?? '', comment: t.callback_comment ?? '' } : null,
      reopened: Number(t.reopened),
      overdue: overdue({ state, ...base }, this.#clock.now()),
    };
  }
}

function historyView(h: Selectable<TicketHistoryTable>): HistoryView {
  let detail: Record<string, unknown>;
  try {
    detail = JSON.parse(h.detail) as Record<string, unknown>;
  } catch {
    detail = {};
  }
  return { seq: Number(h.seq), ts: Number(h.ts), actor: h.actor, actorName: h.actor_name, action: h.action, fromState: h.from_state, toState: h.to_state, comment: h.comment, detail };
}
