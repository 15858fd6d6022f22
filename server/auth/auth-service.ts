/**
 * Users, login with lock-out, sessions, API tokens and first-run setup, on the state database.
 *
 * - Session and API-token secrets are 32 random bytes; only their sha256 is stored, so a leaked database opens nothing.
 * - Ten wrong passwords in a row lock an account for `lockoutBaseMinutes`, doubling with each further lock-out up to
 *   `lockoutMaxMinutes`; a successful login resets the count. Unknown user names cost the same time as known ones.
 * - Every login, failed login, user, role and token change goes to the audit log.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { WarmgridError } from '../../core/errors.ts';
import type { AuditLog } from '../../state/audit.ts';
import type { StateDb } from '../../state/db.ts';
import type { UsersTable } from '../../state/schema.ts';
import { ROLES, type Role } from '../roles.ts';
import { dummyPasswordHash, hashPassword, passwordProblem, randomPassword, verifyPassword } from './passwords.ts';

export interface AuthSettings {
  sessionHours: number;
  displaySessionDays: number;
  lockoutThreshold: number;
  lockoutBaseMinutes: number;
  lockoutMaxMinutes: number;
}

export interface Principal {
  kind: 'user' | 'token';
  id: string;
  name: string;
  roles: ReadonlySet<Role>;
  /** For sessions: the session hash, so logout can end it. */
  sessionHash?: string;
}

export interface UserOut {
  id: string;
  username: string;
  displayName: string;
  roles: Role[];
  disabled: boolean;
  lockedUntil: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface TokenOut {
  id: string;
  name: string;
  roles: Role[];
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface RequestMeta {
  ip: string;
  userAgent?: string;
}

const TOKEN_PREFIX = 'wgt_';
const TOUCH_EVERY_MS = 60_000;

export function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function parseRoles(json: string): Role[] {
  const list = JSON.parse(json) as unknown;
  return Array.isArray(list) ? list.filter((r): r is Role => (ROLES as readonly string[]).includes(r as string)) : [];
}

function userOut(u: UsersTable, now: number): UserOut {
  return {
    id: u.id,
    username: u.username,
    displayName: u.display_name,
    roles: parseRoles(u.roles),
    disabled: u.disabled === 1,
    lockedUntil: Number(u.locked_until) > now ? Number(u.locked_until) : null,
    createdAt: Number(u.created_at),
    updatedAt: Number(u.updated_at),
  };
}

export function validRoles(roles: readonly string[]): Role[] {
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length > 0) throw new WarmgridError('VALIDATION_FAILED', `unknown role(s): ${bad.join(', ')} (roles: ${ROLES.join(', ')})`);
  if (roles.length === 0) throw new WarmgridError('VALIDATION_FAILED', 'give at least one role');
  return [...new Set(roles)] as Role[];
}

export class AuthService {
  constructor(
    private readonly db: StateDb,
    readonly audit: AuditLog,
    private readonly settings: AuthSettings,
    private readonly now: () => number = Date.now,
  ) {}

  // ---- users ----

  async hasAdmin(): Promise<boolean> {
    const rows = await this.db.selectFrom('users').select(['roles']).where('disabled', '=', 0).execute();
    return rows.some((r) => parseRoles(r.roles).includes('admin'));
  }

  async listUsers(): Promise<UserOut[]> {
    const now = this.now();
    return (await this.db.selectFrom('users').selectAll().orderBy('username').execute()).map((u) => userOut(u, now));
  }

  async getUser(id: string): Promise<UserOut | undefined> {
    const u = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return u ? userOut(u, this.now()) : undefined;
  }

  async createUser(input: { username: string; displayName?: string; password: string; roles: readonly string[]; demo?: boolean }, by: Principal | 'system', meta?: RequestMeta): Promise<UserOut> {
    const roles = validRoles(input.roles);
    const problem = passwordProblem(input.password, input.username);
    if (problem) throw new WarmgridError('VALIDATION_FAILED', problem);
    const exists = await this.db.selectFrom('users').select('id').where('username', '=', input.username).executeTakeFirst();
    if (exists) throw new WarmgridError('CONFLICT', `user "${input.username}" exists`);
    const now = this.now();
    const row: UsersTable = {
      id: randomUUID(),
      username: input.username,
      display_name: input.displayName ?? input.username,
      password_hash: await hashPassword(input.password),
      roles: JSON.stringify(roles),
      disabled: 0,
      demo: input.demo ? 1 : 0,
      failed_logins: 0,
      lockouts: 0,
      locked_until: 0,
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('users').values(row).execute();
    await this.audit.record({ ...actor(by), action: 'user.create', target: row.username, detail: { roles }, ...ipOf(meta) });
    return userOut(row, now);
  }

  async updateUser(id: string, patch: { displayName?: string; roles?: readonly string[]; disabled?: boolean; password?: string }, by: Principal, meta?: RequestMeta): Promise<UserOut> {
    const u = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!u) throw new WarmgridError('NOT_FOUND', 'no such user');
    const changes: Partial<UsersTable> = { updated_at: this.now() };
    const detail: Record<string, unknown> = {};
    if (patch.displayName !== undefined) {
      changes.display_name = patch.displayName;
      detail['displayName'] = patch.displayName;
    }
    if (patch.roles !== undefined) {
      const roles = validRoles(patch.roles);
      changes.roles = JSON.stringify(roles);
      detail['roles'] = { from: parseRoles(u.roles), to: roles };
    }
    if (patch.disabled !== undefined) {
      changes.disabled = patch.disabled ? 1 : 0;
      detail['disabled'] = patch.disabled;
    }
    if (patch.password !== undefined) {
      const problem = passwordProblem(patch.password, u.username);
      if (problem) throw new WarmgridError('VALIDATION_FAILED', problem);
      changes.password_hash = await hashPassword(patch.password);
      changes.failed_logins = 0;
      changes.locked_until = 0;
      detail['password'] = 'changed';
    }
    const losesAdmin = parseRoles(u.roles).includes('admin') && ((changes.roles !== undefined && !parseRoles(changes.roles).includes('admin')) || changes.disabled === 1);
    if (losesAdmin && (await this.countActiveAdmins()) <= 1) throw new WarmgridError('CONFLICT', 'this is the last active admin');
    await this.db.updateTable('users').set(changes).where('id', '=', id).execute();
    // Role, password or status changes end the user's sessions, so they take effect at once.
    if (patch.roles !== undefined || patch.disabled !== undefined || patch.password !== undefined) await this.db.deleteFrom('sessions').where('user_id', '=', id).execute();
    const action = patch.roles !== undefined ? 'user.roles' : patch.password !== undefined ? 'user.password' : 'user.update';
    await this.audit.record({ ...actor(by), action, target: u.username, detail, ...ipOf(meta) });
    return (await this.getUser(id))!;
  }

  async deleteUser(id: string, by: Principal, meta?: RequestMeta): Promise<void> {
    const u = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!u) throw new WarmgridError('NOT_FOUND', 'no such user');
    if (by.kind === 'user' && by.id === id) throw new WarmgridError('CONFLICT', 'you cannot delete yourself');
    if (parseRoles(u.roles).includes('admin') && (await this.countActiveAdmins()) <= 1) throw new WarmgridError('CONFLICT', 'this is the last active admin');
    await this.db.deleteFrom('users').where('id', '=', id).execute();
    await this.audit.record({ ...actor(by), action: 'user.delete', target: u.username, ...ipOf(meta) });
  }

  async countActiveAdmins(): Promise<number> {
    const rows = await this.db.selectFrom('users').select(['roles']).where('disabled', '=', 0).execute();
    return rows.filter((r) => parseRoles(r.roles).includes('admin')).length;
  }

  /** Demo accounts: one per role, with a new random password at every demo start. Returns name → password. */
  async resetDemoUsers(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const role of ROLES) {
      const username = role;
      const password = randomPassword();
      const u = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
      if (!u) {
        await this.createUser({ username, displayName: `Demo ${role}`, password, roles: [role], demo: true }, 'system');
      } else if (u.demo === 1) {
        await this.db.updateTable('users').set({ password_hash: await hashPassword(password), failed_logins: 0, locked_until: 0, lockouts: 0, updated_at: this.now() }).where('id', '=', u.id).execute();
        await this.db.deleteFrom('sessions').where('user_id', '=', u.id).execute();
        await this.audit.record({ actor: 'system', actorName: 'system', action: 'user.password', target: username, detail: { reason: 'demo start' } });
      } else {
        continue; // a real account with that name: leave it alone
      }
      out[username] = password;
    }
    return out;
  }

  // ---- login and sessions ----

  async login(username: string, password: string, meta: RequestMeta): Promise<{ token: string; user: UserOut; expiresAt: number }> {
    const now = this.now();
    const u = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    const fail = async (reason: string): Promise<never> => {
      await this.audit.record({ actor: u?.id ?? 'unknown', actorName: username.slice(0, 64), action: 'auth.login_failed', target: username.slice(0, 64), detail: { reason }, ip: meta.ip, ok: false });
      if (reason === 'locked') {
        const until = Number(u?.locked_until ?? now);
        throw new WarmgridError('ACCOUNT_LOCKED', `account locked after repeated failed logins; try again in ${Math.ceil((until - now) / 60_000)} min`, { details: { retryAfterS: Math.ceil((until - now) / 1000) } });
      }
      throw new WarmgridError('UNAUTHENTICATED', 'wrong user name or password');
    };
    if (!u) {
      await verifyPassword(password, await dummyPasswordHash());
      return fail('unknown user');
    }
    if (Number(u.locked_until) > now) return fail('locked');
    const ok = await verifyPassword(password, u.password_hash);
    if (!ok || u.disabled === 1) {
      if (u.disabled === 1) return fail('disabled');
      const failed = u.failed_logins + 1;
      if (failed >= this.settings.lockoutThreshold) {
        const minutes = Math.min(this.settings.lockoutMaxMinutes, this.settings.lockoutBaseMinutes * 2 ** u.lockouts);
        const until = now + minutes * 60_000;
        await this.db.updateTable('users').set({ failed_logins: 0, lockouts: u.lockouts + 1, locked_until: until }).where('id', '=', u.id).execute();
        await this.audit.record({ actor: u.id, actorName: u.username, action: 'auth.lockout', target: u.username, detail: { minutes, failedLogins: failed }, ip: meta.ip, ok: false });
      } else {
        await this.db.updateTable('users').set({ failed_logins: failed }).where('id', '=', u.id).execute();
      }
      return fail('wrong password');
    }
    await this.db.updateTable('users').set({ failed_logins: 0, lockouts: 0, locked_until: 0 }).where('id', '=', u.id).execute();
    const { token, expiresAt } = await this.#newSession(u.id, this.settings.sessionHours * 3_600_000, meta);
    await this.audit.record({ actor: u.id, actorName: u.username, action: 'auth.login', target: u.username, ip: meta.ip });
    return { token, user: userOut(u, now), expiresAt };
  }

  async #newSession(userId: string, ttlMs: number, meta: RequestMeta): Promise<{ token: string; expiresAt: number }> {
    const token = randomSecret();
    const now = this.now();
    const expiresAt = now + ttlMs;
    await this.db
      .insertInto('sessions')
      .values({ id_hash: sha256(token), user_id: userId, created_at: now, expires_at: expiresAt, last_seen_at: now, ip: meta.ip, user_agent: (meta.userAgent ?? '').slice(0, 200) })
      .execute();
    return { token, expiresAt };
  }

  async sessionPrincipal(token: string): Promise<Principal | undefined> {
    const hash = sha256(token);
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.expires_at', 'sessions.last_seen_at', 'users.id', 'users.username', 'users.roles', 'users.disabled'])
      .where('sessions.id_hash', '=', hash)
      .executeTakeFirst();
    const now = this.now();
    if (!row || Number(row.expires_at) <= now || row.disabled === 1) return undefined;
    if (now - Number(row.last_seen_at) > TOUCH_EVERY_MS) await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', hash).execute();
    return { kind: 'user', id: row.id, name: row.username, roles: new Set(parseRoles(row.roles)), sessionHash: hash };
  }

  async logout(p: Principal, meta: RequestMeta): Promise<void> {
    if (p.sessionHash) await this.db.deleteFrom('sessions').where('id_hash', '=', p.sessionHash).execute();
    await this.audit.record({ ...actor(p), action: 'auth.logout', target: p.name, ip: meta.ip });
  }

  async purgeExpiredSessions(): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', this.now()).execute();
  }

  // ---- API tokens ----

  async createToken(input: { name: string; roles: readonly string[]; expiresInDays?: number | undefined }, by: Principal | 'system', meta?: RequestMeta): Promise<{ token: string; info: TokenOut }> {
    const roles = validRoles(input.roles);
    if (by !== 'system' && !by.roles.has('admin')) {
      // Nobody but an admin hands out more than they hold.
      const beyond = roles.filter((r) => !by.roles.has(r));
      if (beyond.length > 0) throw new WarmgridError('FORBIDDEN', `you do not hold role(s) ${beyond.join(', ')}`);
    }
    const id = randomBytes(9).toString('base64url');
    const secret = randomSecret();
    const now = this.now();
    const row = {
      id,
      name: input.name,
      secret_hash: sha256(secret),
      roles: JSON.stringify(roles),
      created_by: by === 'system' ? 'system' : by.name,
      created_at: now,
      expires_at: input.expiresInDays ? now + input.expiresInDays * 86_400_000 : null,
      revoked_at: null,
      last_used_at: null,
    };
    await this.db.insertInto('api_tokens').values(row).execute();
    await this.audit.record({ ...actor(by), action: 'token.create', target: `${id} ${input.name}`, detail: { roles, expiresAt: row.expires_at }, ...ipOf(meta) });
    return { token: `${TOKEN_PREFIX}${id}.${secret}`, info: tokenOut(row) };
  }

  async listTokens(): Promise<TokenOut[]> {
    return (await this.db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').execute()).map(tokenOut);
  }

  async revokeToken(id: string, by: Principal | 'system', meta?: RequestMeta): Promise<void> {
    const t = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!t) throw new WarmgridError('NOT_FOUND', 'no such token');
    if (t.revoked_at === null) await this.db.updateTable('api_tokens').set({ revoked_at: this.now() }).where('id', '=', id).execute();
    await this.audit.record({ ...actor(by), action: 'token.revoke', target: `${id} ${t.name}`, ...ipOf(meta) });
  }

  /** Revokes every live token with this name (used for the demo's wall token, renewed at each start). */
  async revokeTokensNamed(name: string): Promise<void> {
    const live = await this.db.selectFrom('api_tokens').select('id').where('name', '=', name).where('revoked_at', 'is', null).execute();
    for (const t of live) await this.revokeToken(t.id, 'system');
  }

  async tokenPrincipal(token: string): Promise<Principal | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const dot = token.indexOf('.', TOKEN_PREFIX.length);
    if (dot < 0) return undefined;
    const id = token.slice(TOKEN_PREFIX.length, dot);
    const secret = token.slice(dot + 1);
    if (id.length > 32 || secret.length > 64) return undefined;
    const t = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!t) return undefined;
    const a = Buffer.from(sha256(secret));
    const b = Buffer.from(t.secret_hash);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    const now = this.now();
    if (t.revoked_at !== null || (t.expires_at !== null && Number(t.expires_at) <= now)) return undefined;
    if (t.last_used_at === null || now - Number(t.last_used_at) > TOUCH_EVERY_MS) await this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
    return { kind: 'token', id: `token:${t.id}`, name: t.name, roles: new Set(parseRoles(t.roles)) };
  }

  /** Opens a wall-display session from a display token (kiosks cannot type passwords). Only display-only tokens. */
  async displaySession(token: string, meta: RequestMeta): Promise<{ token: string; expiresAt: number } | undefined> {
    const p = await this.tokenPrincipal(token);
    if (!p || p.roles.size !== 1 || !p.roles.has('display')) {
      await this.audit.record({ actor: p?.id ?? 'unknown', actorName: p?.name ?? '', action: 'auth.display_failed', ip: meta.ip, ok: false });
      return undefined;
    }
    // A display session belongs to a service user that holds only the display role.
    let u = await this.db.selectFrom('users').select(['id']).where('username', '=', `display-token:${p.id.slice(6)}`).executeTakeFirst();
    if (!u) {
      const now = this.now();
      u = { id: randomUUID() };
      await this.db
        .insertInto('users')
        .values({ id: u.id, username: `display-token:${p.id.slice(6)}`, display_name: p.name, password_hash: '!', roles: JSON.stringify(['display']), disabled: 0, demo: 0, failed_logins: 0, lockouts: 0, locked_until: 0, created_at: now, updated_at: now })
        .execute();
    }
    const s = await this.#newSession(u.id, this.settings.displaySessionDays * 86_400_000, meta);
    await this.audit.record({ actor: p.id, actorName: p.name, action: 'auth.display_login', ip: meta.ip });
    return s;
  }

  // ---- first run ----

  /** Creates a one-time setup token (24 h) when the hub has no admin; returns it, or undefined if an admin exists. */
  async ensureSetupToken(): Promise<string | undefined> {
    if (await this.hasAdmin()) return undefined;
    const token = randomSecret();
    const now = this.now();
    await this.db.deleteFrom('setup_tokens').where('used_at', 'is', null).execute();
    await this.db.insertInto('setup_tokens').values({ id_hash: sha256(token), created_at: now, expires_at: now + 86_400_000, used_at: null }).execute();
    return token;
  }

  async completeSetup(token: string, username: string, password: string, meta: RequestMeta): Promise<UserOut> {
    const now = this.now();
    const t = await this.db.selectFrom('setup_tokens').selectAll().where('id_hash', '=', sha256(token)).executeTakeFirst();
    if (!t || t.used_at !== null || Number(t.expires_at) <= now || (await this.hasAdmin())) {
      await this.audit.record({ actor: 'unknown', actorName: username.slice(0, 64), action: 'auth.setup_failed', ip: meta.ip, ok: false });
      throw new WarmgridError('UNAUTHENTICATED', 'setup link is invalid, used or expired');
    }
    const user = await this.createUser({ username, password, roles: ['admin'] }, 'system', meta);
    await this.db.updateTable('setup_tokens').set({ used_at: now }).where('id_hash', '=', t.id_hash).execute();
    await this.audit.record({ actor: user.id, actorName: username, action: 'auth.setup', target: username, ip: meta.ip });
    return user;
  }
}

function tokenOut(t: { id: string; name: string; roles: string; created_by: string; created_at: number; expires_at: number | null; revoked_at: number | null; last_used_at: number | null }): TokenOut {
  const n = (v: number | null): number | null => (v === null ? null : Number(v));
  return { id: t.id, name: t.name, roles: parseRoles(t.roles), createdBy: t.created_by, createdAt: Number(t.created_at), expiresAt: n(t.expires_at), revokedAt: n(t.revoked_at), lastUsedAt: n(t.last_used_at) };
}

function actor(by: Principal | 'system'): { actor: string; actorName: string } {
  return by === 'system' ? { actor: 'system', actorName: 'system' } : { actor: by.id, actorName: by.name };
}

function ipOf(meta: RequestMeta | undefined): { ip?: string } {
  return meta ? { ip: meta.ip } : {};
}
