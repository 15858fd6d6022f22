/**
 * Authentication and access control for every route.
 *
 * - A request is authenticated by the session cookie (dashboard) or `Authorization: Bearer wgt_...` (integrations).
 * - Each route declares `config.access`: 'public', or the roles that may call it. A route without a declaration is
 *   refused (500 in production, and a test walks the route table so it never ships).
 * - 401 when there is no valid credential, 403 when the roles do not fit. The WebSocket upgrade goes through the same
 *   hook, so the live feed needs a session too.
 * - State-changing requests must be JSON (`content-type: application/json`): together with SameSite=Strict cookies
 *   this keeps cross-site form posts out (CSRF).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WarmgridError } from '../../core/errors.ts';
import type { Role } from '../roles.ts';
import type { AuthService, Principal } from './auth-service.ts';

export const SESSION_COOKIE = 'wg_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface AuthPluginOptions {
  auth: AuthService;
  secureCookies: 'auto' | boolean;
}

export function requestMeta(req: FastifyRequest): { ip: string; userAgent: string } {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 200) };
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string, expiresAt: number, secure: 'auto' | boolean): void {
  void reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: secure === 'auto' ? req.protocol === 'https' : secure,
    signed: true,
    expires: new Date(expiresAt),
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function installAuth(app: FastifyInstance, opts: AuthPluginOptions): void {
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions;
    // No matching route: let the 404 handler answer.
    if (route.url === undefined) return;
    const access = route.config?.access;
    if (access === undefined) throw new WarmgridError('INTERNAL', `route ${req.method} ${route.url} declares no access`);

    req.principal = await authenticate(req, opts.auth);
    if (access === 'public') return;
    if (!req.principal) throw new WarmgridError('UNAUTHENTICATED', 'log in or send an API token');
    if (!hasAnyRole(req.principal, access)) throw new WarmgridError('FORBIDDEN', `needs one of the roles: ${access.join(', ')}`);
    if (STATE_CHANGING.has(req.method) && req.headers['content-length'] !== '0' && req.headers['content-type'] !== undefined && !String(req.headers['content-type']).startsWith('application/json')) {
      throw new WarmgridError('BAD_REQUEST', 'send application/json');
    }
  });
}

export function hasAnyRole(p: Principal, roles: readonly Role[]): boolean {
  return roles.some((r) => p.roles.has(r));
}

async function authenticate(req: FastifyRequest, auth: AuthService): Promise<Principal | null> {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) {
    const p = await auth.tokenPrincipal(header.slice(7).trim());
    if (!p) throw new WarmgridError('UNAUTHENTICATED', 'invalid, expired or revoked API token');
    return p;
  }
  const raw = req.cookies[SESSION_COOKIE];
  if (raw) {
    const unsigned = req.unsignCookie(raw);
    if (unsigned.valid && unsigned.value) return (await auth.sessionPrincipal(unsigned.value)) ?? null;
  }
  return null;
}
