/** Table types of the state database, for Kysely. */
import type { Generated } from 'kysely';
import type { AlarmTables } from '../alarms/schema.ts';
import type { ControlTables } from '../control/migrations.ts';
import type { TicketTables } from '../tickets/schema.ts';

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  password_hash: string;
  /** JSON array of roles. */
  roles: string;
  disabled: number;
  /** Demo users get new random passwords at every demo start. */
  demo: number;
  failed_logins: number;
  lockouts: number;
  locked_until: number;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  /** sha256 of the session token; the token itself lives only in the client's cookie. */
  id_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  last_seen_at: number;
  ip: string;
  user_agent: string;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  /** sha256 of the secret part; tokens are 32 random bytes, so a fast hash is enough. */
  secret_hash: string;
  roles: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface SetupTokensTable {
  id_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  ts: number;
  /** e.g. auth.login, auth.login_failed, user.create, token.revoke, setpoint.write */
  action: string;
  /** Who: a user id, "token:<id>", or "system". */
  actor: string;
  actor_name: string;
  target: string;
  /** JSON with the details of the change. */
  detail: string;
  ip: string;
  ok: number;
}

/** Every table of the state database. Features add their tables by extending this (one line each). */
export interface StateSchema {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  setup_tokens: SetupTokensTable;
  audit_log: AuditLogTable;
}
export interface StateSchema extends AlarmTables, TicketTables, ControlTables {}
