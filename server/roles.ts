/**
 * Roles and route access. Every route declares who may call it in its `config.access`: 'public', or the roles that
 * may (any one suffices). server/auth enforces it; a test walks the route table and fails on a route without one.
 */
export const ROLES = ['display', 'operator', 'engineer', 'service', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Access = 'public' | readonly Role[];

/** Who may read plant data: everyone with an account, including wall displays. */
export const VIEW: readonly Role[] = ['display', 'operator', 'engineer', 'service', 'admin'];
/** Who may push readings over HTTP: integrations hold an API token with one of these roles. */
export const INGEST: readonly Role[] = ['engineer', 'admin'];
export const ADMIN: readonly Role[] = ['admin'];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}
