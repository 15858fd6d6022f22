/**
 * The audit log: append-only (the database refuses updates and deletes), one row per security- or plant-relevant
 * action: logins and failed logins, user, role and token changes, setpoint writes, rule changes, ticket changes.
 */
import type { StateDb } from './db.ts';

export interface AuditEntry {
  action: string;
  actor: string;
  actorName: string;
  target?: string;
  detail?: Record<string, unknown>;
  ip?: string;
  ok?: boolean;
}

export interface AuditRow {
  seq: number;
  ts: number;
  action: string;
  actor: string;
  actorName: string;
  target: string;
  detail: Record<string, unknown>;
  ip: string;
  ok: boolean;
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  target?: string;
  from?: number;
  to?: number;
  /** Page backwards: only entries with seq below this. */
  beforeSeq?: number;
  limit: number;
}

export class AuditLog {
  constructor(
    private readonly db: StateDb,
    private readonly now: () => number = Date.now,
  ) {}

  async record(e: AuditEntry): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
        ts: this.now(),
        action: e.action,
        actor: e.actor,
        actor_name: e.actorName,
        target: e.target ?? '',
        detail: JSON.stringify(e.detail ?? {}),
        ip: e.ip ?? '',
        ok: e.ok === false ? 0 : 1,
      })
      .execute();
  }

  async query(q: AuditQuery): Promise<AuditRow[]> {
    let qb = this.db.selectFrom('audit_log').selectAll();
    if (q.action) qb = q.action.endsWith('.*') ? qb.where('action', 'like', `${q.action.slice(0, -1)}%`) : qb.where('action', '=', q.action);
    if (q.actor) qb = qb.where('actor', '=', q.actor);
    if (q.target) qb = qb.where('target', '=', q.target);
    if (q.from !== undefined) qb = qb.where('ts', '>=', q.from);
    if (q.to !== undefined) qb = qb.where('ts', '<', q.to);
    if (q.beforeSeq !== undefined) qb = qb.where('seq', '<', q.beforeSeq);
    const rows = await qb.orderBy('seq', 'desc').limit(q.limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      ts: Number(r.ts),
      action: r.action,
      actor: r.actor,
      actorName: r.actor_name,
      target: r.target,
      detail: JSON.parse(r.detail) as Record<string, unknown>,
      ip: r.ip,
      ok: r.ok === 1,
    }));
  }
}
