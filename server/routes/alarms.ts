/**
 * Alarm routes: the alarm list and history (with CSV export), one alarm with its transitions, operator actions
 * (acknowledge, shelve, unshelve, out of service), KPIs, rules (engineers, audited) and rule templates.
 * Access: everyone who may view reads; operators act on alarms; engineers change rules.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AlarmView } from '../../alarms/engine.ts';
import type { StoredRule } from '../../alarms/rule-store.ts';
import { CATEGORIES, PRIORITIES } from '../../alarms/rules.ts';
import { ALARM_STATES } from '../../alarms/state-machine.ts';
import { RULE_TEMPLATES } from '../../alarms/templates.ts';
import { rowToView } from '../../alarms/engine.ts';
import { WarmgridError } from '../../core/errors.ts';
import { requestMeta } from '../auth/plugin.ts';
import { notFound } from '../error-handler.ts';
import { VIEW, type Role } from '../roles.ts';
import { AssetId, TimeParam, parseTime } from '../schemas.ts';
import type { HubServices } from '../services.ts';

/** Acknowledge and shelve: the control room. */
export const ALARM_OPERATE: readonly Role[] = ['operator', 'admin'];
/** Take a point out of service and back: the control room or engineering. */
export const ALARM_SERVICE: readonly Role[] = ['operator', 'engineer', 'admin'];
/** Change rules. */
export const ALARM_RULES: readonly Role[] = ['engineer', 'admin'];

const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const AlarmOut = Type.Object({
  id: Type.String(),
  ruleId: Type.String(),
  asset: Type.String(),
  assetName: Type.String(),
  assetKind: Type.String(),
  name: Type.String(),
  category: lit(CATEGORIES),
  cause: Type.String(),
  priority: lit(PRIORITIES),
  level: Nullable(Type.String()),
  state: lit(ALARM_STATES),
  value: Type.Union([Type.Number(), Type.Boolean(), Type.String(), Type.Null()]),
  activatedAt: Type.Integer(),
  ackedAt: Nullable(Type.Integer()),
  ackedBy: Nullable(Type.String()),
  clearedAt: Nullable(Type.Integer()),
  closedAt: Nullable(Type.Integer()),
  updatedAt: Type.Integer(),
  shelvedUntil: Nullable(Type.Integer()),
  suppressedBy: Nullable(Type.String()),
  outOfService: Type.Boolean(),
  activations: Type.Integer(),
});

const EventOut = Type.Object({
  seq: Type.Integer(),
  ts: Type.Integer(),
  event: Type.String(),
  fromState: Type.String(),
  toState: Type.String(),
  priority: Type.String(),
  value: Type.Unknown(),
  actor: Type.String(),
  actorName: Type.String(),
  comment: Type.String(),
});

const RuleOut = Type.Object({
  rule: Type.Record(Type.String(), Type.Unknown()),
  origin: Type.String(),
  edited: Type.Boolean(),
  version: Type.Integer(),
  updatedAt: Type.Integer(),
  updatedBy: Type.String(),
});

const AlarmIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });
const RuleIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' }) });
const Comment = Type.String({ maxLength: 2000 });

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('all')], { description: 'open (default): not yet normal and acknowledged; closed: history' })),
    hidden: Type.Optional(Type.Boolean({ description: 'Include shelved, suppressed and out-of-service alarms in the open list' })),
    asset: Type.Optional(AssetId),
    under: Type.Optional(AssetId),
    rule: Type.Optional(Type.String({ maxLength: 64 })),
    priority: Type.Optional(lit(PRIORITIES)),
    category: Type.Optional(lit(CATEGORIES)),
    state: Type.Optional(lit(ALARM_STATES)),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Text in the name, asset or rule id' })),
    from: Type.Optional(TimeParam),
    to: Type.Optional(TimeParam),
    before: Type.Optional(Type.String({ maxLength: 100, pattern: '^[0-9]+:[A-Za-z0-9_-]+$', description: 'Cursor from the previous page: next' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
  },
  { additionalProperties: false },
);
type ListQuery = Static<typeof ListQuery>;

const MAX_UNDER = 30_000;
const MAX_EXPORT = 100_000;

function actorOf(req: FastifyRequest): { id: string; name: string; ip: string } {
  const p = req.principal!;
  return { id: p.id, name: p.name, ip: requestMeta(req).ip };
}

function storedOut(s: StoredRule): Static<typeof RuleOut> {
  return { rule: s.rule as unknown as Record<string, unknown>, origin: s.origin, edited: s.edited, version: s.version, updatedAt: s.updatedAt, updatedBy: s.updatedBy };
}

/** RFC 4180 field; a leading = + - @ is defused so a spreadsheet does not run it as a formula. */
export function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function alarmRoutes(app: FastifyInstance, s: HubServices): void {
  const alarms = s.alarms;
  const iso = (t: number | null): string => (t === null ? '' : new Date(t).toISOString());

  async function query(q: ListQuery, limit: number): Promise<AlarmView[]> {
    let assets: string[] | undefined;
    if (q.under !== undefined) {
      if (!s.assets.has(q.under)) throw notFound(`unknown asset "${q.under}"`);
      assets = [q.under, ...s.assets.descendants(q.under).map((a) => a.id)];
      if (assets.length > MAX_UNDER) throw new WarmgridError('BAD_REQUEST', `"${q.under}" has more than ${MAX_UNDER} assets below it: pick a smaller area`);
    }
    const from = q.from === undefined ? undefined : parseTime(q.from);
    const to = q.to === undefined ? undefined : parseTime(q.to);
    if ((from !== undefined && !Number.isFinite(from)) || (to !== undefined && !Number.isFinite(to))) throw new WarmgridError('BAD_REQUEST', 'invalid time');
    let before: { at: number; id: string } | undefined;
    if (q.before) {
      const [at, id] = q.before.split(':') as [string, string];
      before = { at: Number(at), id };
    }
    await alarms.store.flush();
    const rows = await alarms.store.list({
      limit,
      status: q.status ?? 'open',
      includeHidden: q.hidden ?? false,
      ...(q.asset ? { asset: q.asset } : {}),
      ...(assets ? { assets } : {}),
      ...(q.rule ? { ruleId: q.rule } : {}),
      ...(q.priority ? { priority: q.priority } : {}),
      ...(q.category ? { category: q.category } : {}),
      ...(q.state ? { state: q.state } : {}),
      ...(q.q ? { q: q.q } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(before ? { before } : {}),
    });
    return rows.map((r) => rowToView(r, s.assets.get(r.asset)?.name ?? r.asset));
  }

  app.get(
    '/api/alarms',
    {
      config: { access: VIEW },
      schema: {
        tags: ['alarms'],
        summary: 'Alarms: open ones (default) or the history, filtered and searched, newest first; page with next',
        querystring: ListQuery,
        response: { 200: Type.Object({ alarms: Type.Array(AlarmOut), next: Nullable(Type.String()) }) },
      },
    },
    async (req) => {
      const q = req.query as ListQuery;
      const list = await query(q, q.limit);
      const last = list[list.length - 1];
      return { alarms: list, next: list.length === q.limit && last ? `${last.activatedAt}:${last.id}` : null };
    },
  );

  app.get(
    '/api/alarms/export',
    {
      config: { access: VIEW },
      schema: {
        tags: ['alarms'],
        summary: 'The same list as CSV (UTF-8, RFC 4180), up to 100,000 rows',
        querystring: Type.Omit(ListQuery, ['limit', 'before']),
        produces: ['text/csv'],
      },
    },
    async (req, reply) => {
      const q = req.query as ListQuery;
      const list = await query({ ...q, status: q.status ?? 'all' }, MAX_EXPORT);
      const head = ['id', 'activated_at', 'asset', 'asset_name', 'rule_id', 'name', 'priority', 'category', 'state', 'value', 'acked_at', 'acked_by', 'cleared_at', 'closed_at', 'shelved_until', 'suppressed_by', 'out_of_service', 'activations'];
      const lines = [head.join(',')];
      for (const a of list) {
        lines.push(
          [a.id, iso(a.activatedAt), a.asset, a.assetName, a.ruleId, a.name, a.priority, a.category, a.state, a.value, iso(a.ackedAt), a.ackedBy, iso(a.clearedAt), iso(a.closedAt), iso(a.shelvedUntil), a.suppressedBy, a.outOfService, a.activations]
            .map(csvField)
            .join(','),
        );
      }
      void reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="alarms.csv"');
      return `\ufeff${lines.join('\r\n')}\r\n`;
    },
  );

  app.get(
    '/api/alarms/kpis',
    {
      config: { access: VIEW },
      schema: {
        tags: ['alarms'],
        summary: 'Alarm-system KPIs (EEMUA 191): rate per 10 min, floods, stale, chattering, fleeting, priority split, bad actors',
        querystring: Type.Object({ from: Type.Optional(TimeParam), to: Type.Optional(TimeParam) }, { additionalProperties: false }),
        response: { 200: Type.Record(Type.String(), Type.Unknown()) },
      },
    },
    async (req) => {
      const q = req.query as { from?: number | string; to?: number | string };
      const to = q.to === undefined ? s.clock.now() : parseTime(q.to);
      const from = q.from === undefined ? to - 86_400_000 : parseTime(q.from);
      if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) throw new WarmgridError('BAD_REQUEST', '"from" must be before "to"');
      if (to - from > 92 * 86_400_000) throw new WarmgridError('BAD_REQUEST', 'at most 92 days at a time');
      return { ...(await alarms.kpis(from, to)) };
    },
  );

  app.get(
    '/api/alarms/modes',
    {
      config: { access: VIEW },
      schema: {
        tags: ['alarms'],
        summary: 'Shelved and out-of-service alarm points, with who, why and until when',
        response: {
          200: Type.Object({
            points: Type.Array(
              Type.Object({
                ruleId: Type.String(),
                asset: Type.String(),
                mode: Type.String(),
                until: Nullable(Type.Integer()),
                by: Type.String(),
                reason: Type.String(),
                since: Type.Integer(),
                alarmId: Nullable(Type.String()),
              }),
            ),
          }),
        },
      },
    },
    async () => ({
      points: alarms.engine.modes().map((m) => ({ ruleId: m.rule_id, asset: m.asset, mode: m.mode, until: m.until, by: m.actor_name, reason: m.reason, since: m.since, alarmId: m.alarmId })),
    }),
  );

  app.get(
    '/api/alarms/templates',
    {
      config: { access: VIEW },
      schema: {
        tags: ['alarms'],
        summary: 'Rule templates, one per fault (DOMAIN.md §4), to start a rule from',
        response: {
          200: Type.Object({
            templates: Type.Array(Type.Object({ id: Type.String(), fault: Type.String(), signature: Type.String(), rules: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
          }),
        },
      },
    },
    async () => ({ templates: RULE_TEMPLATES.map((t) => ({ id: t.id, fault: t.fault, signature: t.signature, rules: t.rules as unknown as Record<string, unknown>[] })) }),
  );

  app.get(
    '/api/alarms/rules',
    {
      config: { access: VIEW },
      schema: { tags: ['alarms'], summary: 'Alarm rules in force, with where they came from and their version', response: { 200: Type.Object({ rules: Type.Array(RuleOut) }) } },
    },
    async () => ({ rules: (await alarms.listRules()).map(storedOut) }),
  );

  app.get(
    '/api/alarms/rules/:id',
    {
      config: { access: VIEW },
      schema: { tags: ['alarms'], summary: 'One alarm rule', params: RuleIdParam, response: { 200: RuleOut } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const r = await alarms.rules.get(id);
      if (!r) throw notFound(`no rule "${id}"`);
      return storedOut(r);
    },
  );

  const RuleBody = Type.Object(
    { id: Type.String({ maxLength: 64 }), kind: Type.String({ maxLength: 32 }) },
    { additionalProperties: true, description: 'An alarm rule (docs/alarms.md); checked like alarms.yaml, every problem with its path' },
  );

  app.post(
    '/api/alarms/rules',
    {
      config: { access: ALARM_RULES },
      schema: { tags: ['alarms'], summary: 'Create a rule (audited); it takes effect at once', body: RuleBody, response: { 201: RuleOut } },
    },
    async (req, reply) => {
      const out = await alarms.createRule(req.body, actorOf(req));
      void reply.status(201);
      return storedOut(out);
    },
  );

  app.put(
    '/api/alarms/rules/:id',
    {
      config: { access: ALARM_RULES },
      schema: {
        tags: ['alarms'],
        summary: 'Replace a rule (audited with before and after); give version to refuse a concurrent change',
        params: RuleIdParam,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        body: RuleBody,
        response: { 200: RuleOut },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const { version } = req.query as { version?: number };
      return storedOut(await alarms.updateRule(id, req.body, actorOf(req), version));
    },
  );

  app.delete(
    '/api/alarms/rules/:id',
    {
      config: { access: ALARM_RULES },
      schema: { tags: ['alarms'], summary: 'Delete a rule (audited); its open alarms close', params: RuleIdParam, response: { 200: Type.Object({ ok: Type.Boolean() }) } },
    },
    async (req) => {
      await alarms.deleteRule((req.params as { id: string }).id, actorOf(req));
      return { ok: true };
    },
  );

  app.get(
    '/api/alarms/:id',
    {
      config: { access: VIEW },
      schema: {
        tags: ['alarms'],
        summary: 'One alarm with every transition (who, when) and, for a cause, what it suppresses now',
        params: AlarmIdParam,
        response: {
          200: Type.Object({
            alarm: AlarmOut,
            events: Type.Array(EventOut),
            suppressing: Type.Array(Type.Object({ ruleId: Type.String(), asset: Type.String(), alarmId: Nullable(Type.String()) })),
          }),
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await alarms.store.flush();
      const row = await alarms.store.get(id);
      if (!row) throw notFound(`no alarm ${id}`);
      const events = (await alarms.store.events(id)).map((e) => ({
        seq: e.seq,
        ts: e.ts,
        event: e.event,
        fromState: e.from_state,
        toState: e.to_state,
        priority: e.priority,
        value: safeJson(e.value),
        actor: e.actor,
        actorName: e.actor_name,
        comment: e.comment,
      }));
      return { alarm: rowToView(row, s.assets.get(row.asset)?.name ?? row.asset), events, suppressing: alarms.engine.suppressedUnder(id) };
    },
  );

  const action = (path: string, access: readonly Role[], summary: string, body: ReturnType<typeof Type.Object>, run: (id: string, b: Record<string, unknown>, req: FastifyRequest) => Promise<AlarmView> | AlarmView) => {
    app.post(
      `/api/alarms/:id/${path}`,
      { config: { access }, schema: { tags: ['alarms'], summary, params: AlarmIdParam, body, response: { 200: Type.Object({ alarm: AlarmOut }) } } },
      async (req) => {
        const { id } = req.params as { id: string };
        const alarm = await run(id, (req.body ?? {}) as Record<string, unknown>, req);
        await alarms.store.flush();
        return { alarm };
      },
    );
  };

  action('ack', ALARM_OPERATE, 'Acknowledge (an alarm back to normal closes)', Type.Object({ comment: Type.Optional(Comment) }, { additionalProperties: false }), (id, b, req) =>
    alarms.engine.ack(id, actorOf(req), (b['comment'] as string | undefined) ?? ''),
  );

  action(
    'shelve',
    ALARM_OPERATE,
    'Shelve for a while with a reason: not shown, no ticket; it comes back when the shelving ends',
    Type.Object(
      {
        reason: Type.String({ minLength: 1, maxLength: 500 }),
        minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 525_600 })),
        until: Type.Optional(TimeParam),
      },
      { additionalProperties: false },
    ),
    async (id, b, req) => {
      const now = s.clock.now();
      let until: number;
      if (b['minutes'] !== undefined) until = now + (b['minutes'] as number) * 60_000;
      else if (b['until'] !== undefined) until = parseTime(b['until'] as number | string);
      else throw new WarmgridError('BAD_REQUEST', 'give minutes or until');
      if (!Number.isFinite(until)) throw new WarmgridError('BAD_REQUEST', 'invalid until');
      const a = actorOf(req);
      const out = alarms.engine.shelve(id, a, b['reason'] as string, until);
      await s.audit.record({ action: 'alarm.shelve', actor: a.id, actorName: a.name, target: id, detail: { rule: out.ruleId, asset: out.asset, until, reason: b['reason'] }, ip: a.ip });
      return out;
    },
  );

  action('unshelve', ALARM_OPERATE, 'End the shelving now', Type.Object({ comment: Type.Optional(Comment) }, { additionalProperties: false }), (id, b, req) =>
    alarms.engine.unshelve(id, actorOf(req), (b['comment'] as string | undefined) ?? ''),
  );

  action(
    'out-of-service',
    ALARM_SERVICE,
    'Take the alarm point out of service (e.g. instrument under repair): the alarm closes and raises nothing until returned',
    Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
    async (id, b, req) => {
      const a = actorOf(req);
      const out = alarms.engine.outOfService(id, a, b['reason'] as string);
      await s.audit.record({ action: 'alarm.out_of_service', actor: a.id, actorName: a.name, target: id, detail: { rule: out.ruleId, asset: out.asset, reason: b['reason'] }, ip: a.ip });
      return out;
    },
  );

  action('return-to-service', ALARM_SERVICE, 'Return an out-of-service point (given the alarm that was taken out) to service', Type.Object({ comment: Type.Optional(Comment) }, { additionalProperties: false }), async (id, b, req) => {
    const a = actorOf(req);
    const out = await alarms.engine.returnToService(id, a, (b['comment'] as string | undefined) ?? '');
    await s.audit.record({ action: 'alarm.return_to_service', actor: a.id, actorName: a.name, target: id, detail: { rule: out.ruleId, asset: out.asset }, ip: a.ip });
    return out;
  });
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return null;
  }
}
