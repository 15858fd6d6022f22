/**
 * Ticket routes: list and filter, one ticket with its history and alarms, create by hand, assign, change state with a
 * comment, comment, record the call-back; teams; webhook endpoints and their delivery state (admin).
 * Access: everyone who may view reads; the service desk (role service) changes tickets.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CATEGORIES, PRIORITIES, type Category, type Priority } from '../../alarms/rules.ts';
import { WarmgridError } from '../../core/errors.ts';
import { CALLBACK_RESULTS, TICKET_STATES, allowedMoves, type CallbackResult, type TicketState } from '../../tickets/lifecycle.ts';
import type { TicketView } from '../../tickets/service.ts';
import { notFound } from '../error-handler.ts';
import { ADMIN, VIEW, type Role } from '../roles.ts';
import { AssetId } from '../schemas.ts';
import type { HubServices } from '../services.ts';

export const TICKET_WRITE: readonly Role[] = ['service', 'admin'];

const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const TicketOut = Type.Object({
  id: Type.Integer(),
  asset: Type.String(),
  assetName: Type.String(),
  assetKind: Type.String(),
  cause: Type.String(),
  category: lit(CATEGORIES),
  priority: lit(PRIORITIES),
  title: Type.String(),
  description: Type.String(),
  state: lit(TICKET_STATES),
  team: Nullable(Type.String()),
  teamName: Nullable(Type.String()),
  assignee: Nullable(Type.String()),
  origin: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
  respondDueAt: Type.Integer(),
  resolveDueAt: Type.Integer(),
  respondedAt: Nullable(Type.Integer()),
  resolvedAt: Nullable(Type.Integer()),
  closedAt: Nullable(Type.Integer()),
  callback: Nullable(Type.Object({ result: lit(CALLBACK_RESULTS), at: Type.Integer(), by: Type.String(), comment: Type.String() })),
  reopened: Type.Integer(),
  overdue: Type.Object({ respond: Type.Boolean(), resolve: Type.Boolean() }),
});

const HistoryOut = Type.Object({
  seq: Type.Integer(),
  ts: Type.Integer(),
  actor: Type.String(),
  actorName: Type.String(),
  action: Type.String(),
  fromState: Type.String(),
  toState: Type.String(),
  comment: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

const Detail = Type.Object({
  ticket: TicketOut,
  history: Type.Array(HistoryOut),
  alarms: Type.Array(Type.Object({ alarmId: Type.String(), ruleId: Type.String(), linkedAt: Type.Integer(), clearedAt: Nullable(Type.Integer()) })),
  allowedMoves: Type.Array(Type.String()),
});

const IdParam = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
const Comment = Type.String({ maxLength: 4000 });

const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([...TICKET_STATES.map((x) => Type.Literal(x)), Type.Literal('open')], { description: 'A state, or open (not closed or cancelled)' })),
    team: Type.Optional(Type.String({ maxLength: 64 })),
    asset: Type.Optional(AssetId),
    under: Type.Optional(AssetId),
    category: Type.Optional(lit(CATEGORIES)),
    priority: Type.Optional(lit(PRIORITIES)),
    overdue: Type.Optional(Type.Boolean({ description: 'Only tickets past a due time' })),
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Text in the title, description or asset' })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'Page backwards: tickets with a lower id' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
  },
  { additionalProperties: false },
);

const MAX_UNDER = 30_000;

function actorOf(req: FastifyRequest): { id: string; name: string } {
  const p = req.principal!;
  return { id: p.id, name: p.name };
}

export function ticketRoutes(app: FastifyInstance, s: HubServices): void {
  const svc = s.tickets.service;

  async function detail(id: number): Promise<Static<typeof Detail>> {
    const d = await svc.get(id);
    if (!d) throw notFound(`no ticket ${id}`);
    return { ...d, allowedMoves: [...allowedMoves(d.ticket.state)] };
  }

  app.get(
    '/api/tickets',
    {
      config: { access: VIEW },
      schema: { tags: ['tickets'], summary: 'Tickets, newest first, filtered; page with before', querystring: ListQuery, response: { 200: Type.Object({ tickets: Type.Array(TicketOut), next: Nullable(Type.Integer()) }) } },
    },
    async (req) => {
      const q = req.query as Static<typeof ListQuery>;
      let assets: string[] | undefined;
      if (q.asset) assets = [q.asset];
      if (q.under !== undefined) {
        if (!s.assets.has(q.under)) throw notFound(`unknown asset "${q.under}"`);
        assets = [q.under, ...s.assets.descendants(q.under).map((a) => a.id)];
        if (assets.length > MAX_UNDER) throw new WarmgridError('BAD_REQUEST', `"${q.under}" has more than ${MAX_UNDER} assets below it: pick a smaller area`);
      }
      const tickets: TicketView[] = await svc.list({
        limit: q.limit,
        ...(q.state ? { state: q.state } : {}),
        ...(q.team ? { team: q.team } : {}),
        ...(assets ? { assets } : {}),
        ...(q.category ? { category: q.category } : {}),
        ...(q.priority ? { priority: q.priority } : {}),
        ...(q.overdue !== undefined ? { overdue: q.overdue } : {}),
        ...(q.q ? { q: q.q } : {}),
        ...(q.before !== undefined ? { beforeId: q.before } : {}),
      });
      const last = tickets[tickets.length - 1];
      return { tickets, next: tickets.length === q.limit && last ? last.id : null };
    },
  );

  app.get(
    '/api/tickets/teams',
    {
      config: { access: VIEW },
      schema: { tags: ['tickets'], summary: 'Service teams and the areas they cover', response: { 200: Type.Object({ teams: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), areas: Type.Array(Type.String()) })) }) } },
    },
    async () => ({ teams: svc.teams.list() }),
  );

  app.get(
    '/api/tickets/:id',
    { config: { access: VIEW }, schema: { tags: ['tickets'], summary: 'One ticket with its history (who, when, comment) and its alarms', params: IdParam, response: { 200: Detail } } },
    async (req) => detail((req.params as { id: number }).id),
  );

  app.post(
    '/api/tickets',
    {
      config: { access: TICKET_WRITE },
      schema: {
        tags: ['tickets'],
        summary: 'Create a ticket by hand (a resident called). With a cause it joins that incident\'s open ticket (200) instead of a new one (201)',
        body: Type.Object(
          {
            asset: AssetId,
            category: lit(CATEGORIES),
            priority: lit(PRIORITIES),
            title: Type.String({ minLength: 1, maxLength: 300 }),
            description: Type.Optional(Type.String({ maxLength: 4000 })),
            cause: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Detail, 201: Detail },
      },
    },
    async (req, reply) => {
      const b = req.body as { asset: string; category: Category; priority: Priority; title: string; description?: string; cause?: string };
      const { ticket, created } = await svc.create(b, actorOf(req));
      void reply.status(created ? 201 : 200);
      return detail(ticket.id);
    },
  );

  app.post(
    '/api/tickets/:id/assign',
    {
      config: { access: TICKET_WRITE },
      schema: {
        tags: ['tickets'],
        summary: 'Assign to a team and/or a person (a new ticket becomes assigned)',
        params: IdParam,
        body: Type.Object({ team: Type.Optional(Type.String({ maxLength: 64 })), assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })), comment: Type.Optional(Comment) }, { additionalProperties: false }),
        response: { 200: Detail },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const b = req.body as { team?: string; assignee?: string; comment?: string };
      if (b.team === undefined && b.assignee === undefined) throw new WarmgridError('BAD_REQUEST', 'give team or assignee');
      await svc.assign(id, { ...(b.team !== undefined ? { team: b.team } : {}), ...(b.assignee !== undefined ? { assignee: b.assignee } : {}) }, actorOf(req), b.comment ?? '');
      return detail(id);
    },
  );

  app.post(
    '/api/tickets/:id/state',
    {
      config: { access: TICKET_WRITE },
      schema: {
        tags: ['tickets'],
        summary: 'Move the ticket: new → assigned → in_progress → resolved → closed, or cancelled (with a reason); resolved may reopen',
        params: IdParam,
        body: Type.Object({ state: lit(TICKET_STATES), comment: Type.Optional(Comment) }, { additionalProperties: false }),
        response: { 200: Detail },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const b = req.body as { state: TicketState; comment?: string };
      await svc.transition(id, b.state, actorOf(req), b.comment ?? '');
      return detail(id);
    },
  );

  app.post(
    '/api/tickets/:id/comments',
    {
      config: { access: TICKET_WRITE },
      schema: { tags: ['tickets'], summary: 'Add a comment', params: IdParam, body: Type.Object({ comment: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false }), response: { 200: Detail } },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      await svc.comment(id, actorOf(req), (req.body as { comment: string }).comment);
      return detail(id);
    },
  );

  app.post(
    '/api/tickets/:id/callback',
    {
      config: { access: TICKET_WRITE },
      schema: {
        tags: ['tickets'],
        summary: 'Record the satisfaction call-back (回访) once the ticket is resolved or closed',
        params: IdParam,
        body: Type.Object({ result: lit(CALLBACK_RESULTS), comment: Type.Optional(Comment) }, { additionalProperties: false }),
        response: { 200: Detail },
      },
    },
    async (req) => {
      const { id } = req.params as { id: number };
      const b = req.body as { result: CallbackResult; comment?: string };
      await svc.callback(id, b.result, actorOf(req), b.comment ?? '');
      return detail(id);
    },
  );

  app.get(
    '/api/webhooks',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['tickets'],
        summary: 'Webhook endpoints (secrets never shown) and their delivery state: pending, delivered, last error, next attempt',
        response: {
          200: Type.Object({
            endpoints: Type.Array(
              Type.Object({
                id: Type.String(),
                url: Type.String(),
                events: Type.Array(Type.String()),
                enabled: Type.Boolean(),
                secretSet: Type.Boolean(),
                pending: Type.Integer(),
                delivered: Type.Integer(),
                oldestPendingAt: Nullable(Type.Integer()),
                lastError: Type.String(),
                lastStatus: Nullable(Type.Integer()),
                nextAttemptAt: Nullable(Type.Integer()),
              }),
            ),
            retry: Type.Object({ baseMs: Type.Integer(), maxMs: Type.Integer(), timeoutMs: Type.Integer() }),
          }),
        },
      },
    },
    async () => {
      const w = s.tickets.config.webhooks;
      return { endpoints: await s.tickets.webhooks.status(), retry: { baseMs: w.retryBaseMs, maxMs: w.retryMaxMs, timeoutMs: w.timeoutMs } };
    },
  );
}
