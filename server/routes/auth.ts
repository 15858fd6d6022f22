import rateLimit from '@fastify/rate-limit';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { WarmgridError } from '../../core/errors.ts';
import type { AuthService } from '../auth/auth-service.ts';
import { clearSessionCookie, requestMeta, setSessionCookie } from '../auth/plugin.ts';
import { ROLES, VIEW } from '../roles.ts';

const UserOutSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.String(),
  roles: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  lockedUntil: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});
export { UserOutSchema };

const Username = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]*$' });
const Password = Type.String({ minLength: 1, maxLength: 256 });

export interface AuthRouteOptions {
  auth: AuthService;
  secureCookies: 'auto' | boolean;
  loginRateLimitPerMinute: number;
}

export async function authRoutes(app: FastifyInstance, o: AuthRouteOptions): Promise<void> {
  // Per-address limit on the credential endpoints, on top of the per-account lock-out.
  await app.register(async (limited) => {
    await limited.register(rateLimit, {
      max: o.loginRateLimitPerMinute,
      timeWindow: 60_000,
      errorResponseBuilder: (_req, ctx) => {
        const err = new WarmgridError('RATE_LIMITED', `too many attempts; retry in ${Math.ceil(ctx.ttl / 1000)} s`);
        return Object.assign(err, { statusCode: 429 });
      },
    });

    limited.post(
      '/api/auth/login',
      {
        config: { access: 'public' },
        schema: {
          tags: ['auth'],
          summary: 'Log in; sets an HTTP-only session cookie',
          body: Type.Object({ username: Username, password: Password }, { additionalProperties: false }),
          response: { 200: Type.Object({ user: UserOutSchema, expiresAt: Type.Integer() }) },
        },
      },
      async (req, reply) => {
        const { username, password } = req.body as { username: string; password: string };
        const { token, user, expiresAt } = await o.auth.login(username, password, requestMeta(req));
        setSessionCookie(req, reply, token, expiresAt, o.secureCookies);
        return { user, expiresAt };
      },
    );

    limited.post(
      '/api/auth/setup',
      {
        config: { access: 'public' },
        schema: {
          tags: ['auth'],
          summary: 'First run: create the first admin with the one-time setup token printed at start',
          body: Type.Object({ token: Type.String({ minLength: 10, maxLength: 100 }), username: Username, password: Password }, { additionalProperties: false }),
          response: { 200: Type.Object({ user: UserOutSchema }) },
        },
      },
      async (req) => {
        const b = req.body as { token: string; username: string; password: string };
        return { user: await o.auth.completeSetup(b.token, b.username, b.password, requestMeta(req)) };
      },
    );

    limited.get(
      '/api/auth/display',
      {
        config: { access: 'public' },
        schema: {
          tags: ['auth'],
          summary: 'Open a wall-display session with a display token and go to the wall (for kiosks)',
          querystring: Type.Object({ token: Type.String({ minLength: 10, maxLength: 200 }), next: Type.Optional(Type.String({ pattern: '^/[A-Za-z0-9/_-]*$', maxLength: 100 })) }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const q = req.query as { token: string; next?: string };
        const s = await o.auth.displaySession(q.token, requestMeta(req));
        if (!s) throw new WarmgridError('UNAUTHENTICATED', 'invalid, expired or revoked display token');
        setSessionCookie(req, reply, s.token, s.expiresAt, o.secureCookies);
        return reply.redirect(q.next ?? '/wall', 303);
      },
    );
  });

  app.post(
    '/api/auth/logout',
    { config: { access: VIEW }, schema: { tags: ['auth'], summary: 'End this session', response: { 200: Type.Object({ ok: Type.Boolean() }) } } },
    async (req, reply) => {
      await o.auth.logout(req.principal!, requestMeta(req));
      clearSessionCookie(reply);
      return { ok: true };
    },
  );

  app.get(
    '/api/auth/me',
    {
      config: { access: VIEW },
      schema: {
        tags: ['auth'],
        summary: 'Who is calling, with which roles',
        response: { 200: Type.Object({ kind: Type.String(), id: Type.String(), name: Type.String(), roles: Type.Array(Type.String()) }) },
      },
    },
    async (req) => {
      const p = req.principal!;
      return { kind: p.kind, id: p.id, name: p.name, roles: ROLES.filter((r) => p.roles.has(r)) };
    },
  );
}
