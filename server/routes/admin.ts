import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { WarmgridError } from '../../core/errors.ts';
import type { AuditLog } from '../../state/audit.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { requestMeta } from '../auth/plugin.ts';
import { ADMIN, ROLES } from '../roles.ts';
import { TimeParam, parseTime } from '../schemas.ts';
import { UserOutSchema } from './auth.ts';

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const Roles = Type.Array(RoleSchema, { minItems: 1, maxItems: ROLES.length, uniqueItems: true });
const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });

const TokenOutSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  roles: Type.Array(Type.String()),
  createdBy: Type.String(),
  createdAt: Type.Integer(),
  expiresAt: Type.Union([Type.Integer(), Type.Null()]),
  revokedAt: Type.Union([Type.Integer(), Type.Null()]),
  lastUsedAt: Type.Union([Type.Integer(), Type.Null()]),
});

const AuditRowSchema = Type.Object({
  seq: Type.Integer(),
  ts: Type.Integer(),
  action: Type.String(),
  actor: Type.String(),
  actorName: Type.String(),
  target: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
  ip: Type.String(),
  ok: Type.Boolean(),
});

export function adminRoutes(app: FastifyInstance, auth: AuthService, audit: AuditLog): void {
  app.get(
    '/api/users',
    { config: { access: ADMIN }, schema: { tags: ['admin'], summary: 'List users', response: { 200: Type.Object({ users: Type.Array(UserOutSchema) }) } } },
    async () => ({ users: await auth.listUsers() }),
  );

  app.post(
    '/api/users',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['admin'],
        summary: 'Create a user',
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]*$' }),
            displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            password: Type.String({ minLength: 1, maxLength: 256 }),
            roles: Roles,
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ user: UserOutSchema }) },
      },
    },
    async (req, reply) => {
      const b = req.body as { username: string; displayName?: string; password: string; roles: string[] };
      const user = await auth.createUser(b, req.principal!, requestMeta(req));
      void reply.status(201);
      return { user };
    },
  );

  app.patch(
    '/api/users/:id',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['admin'],
        summary: 'Change a user: display name, roles, disabled, password (ends their sessions)',
        params: IdParam,
        body: Type.Object(
          {
            displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            roles: Type.Optional(Roles),
            disabled: Type.Optional(Type.Boolean()),
            password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Object({ user: UserOutSchema }) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return { user: await auth.updateUser(id, req.body as Record<string, never>, req.principal!, requestMeta(req)) };
    },
  );

  app.delete(
    '/api/users/:id',
    { config: { access: ADMIN }, schema: { tags: ['admin'], summary: 'Delete a user', params: IdParam, response: { 200: Type.Object({ ok: Type.Boolean() }) } } },
    async (req) => {
      await auth.deleteUser((req.params as { id: string }).id, req.principal!, requestMeta(req));
      return { ok: true };
    },
  );

  app.get(
    '/api/tokens',
    { config: { access: ADMIN }, schema: { tags: ['admin'], summary: 'List API tokens (secrets are never shown again)', response: { 200: Type.Object({ tokens: Type.Array(TokenOutSchema) }) } } },
    async () => ({ tokens: await auth.listTokens() }),
  );

  app.post(
    '/api/tokens',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['admin'],
        summary: 'Create an API token scoped to roles; the secret is shown once. A display-only token opens the wall at /api/auth/display?token=...',
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 100 }), roles: Roles, expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ token: Type.String(), info: TokenOutSchema }) },
      },
    },
    async (req, reply) => {
      const b = req.body as { name: string; roles: string[]; expiresInDays?: number };
      const out = await auth.createToken(b, req.principal!, requestMeta(req));
      void reply.status(201);
      return out;
    },
  );

  app.delete(
    '/api/tokens/:id',
    { config: { access: ADMIN }, schema: { tags: ['admin'], summary: 'Revoke an API token', params: IdParam, response: { 200: Type.Object({ ok: Type.Boolean() }) } } },
    async (req) => {
      await auth.revokeToken((req.params as { id: string }).id, req.principal!, requestMeta(req));
      return { ok: true };
    },
  );

  app.get(
    '/api/audit',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['admin'],
        summary: 'The audit log, newest first; page with beforeSeq',
        querystring: Type.Object(
          {
            action: Type.Optional(Type.String({ maxLength: 64, pattern: '^[a-z_.]+\\*?$' })),
            actor: Type.Optional(Type.String({ maxLength: 80 })),
            target: Type.Optional(Type.String({ maxLength: 200 })),
            from: Type.Optional(TimeParam),
            to: Type.Optional(TimeParam),
            beforeSeq: Type.Optional(Type.Integer({ minimum: 1 })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(AuditRowSchema) }) },
      },
    },
    async (req) => {
      const q = req.query as { action?: string; actor?: string; target?: string; from?: number | string; to?: number | string; beforeSeq?: number; limit: number };
      const from = q.from === undefined ? undefined : parseTime(q.from);
      const to = q.to === undefined ? undefined : parseTime(q.to);
      if ((from !== undefined && !Number.isFinite(from)) || (to !== undefined && !Number.isFinite(to))) throw new WarmgridError('BAD_REQUEST', 'invalid time');
      return {
        entries: await audit.query({
          limit: q.limit,
          ...(q.action ? { action: q.action } : {}),
          ...(q.actor ? { actor: q.actor } : {}),
          ...(q.target ? { target: q.target } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(q.beforeSeq !== undefined ? { beforeSeq: q.beforeSeq } : {}),
        }),
      };
    },
  );
}
