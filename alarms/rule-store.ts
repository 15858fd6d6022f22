/**
 * Alarm rules in the state database. alarms.yaml is the seed; engineers change rules at runtime through the API.
 *
 * Which copy wins, at each start:
 * - a config rule not in the database is added;
 * - a config rule nobody edited is updated when alarms.yaml changed it, and deleted when alarms.yaml dropped it;
 * - a rule an engineer edited, created or deleted stays as they left it (a deletion is kept as a tombstone, so the
 *   seed does not bring it back).
 * Every change through the API is versioned and audited (state/audit.ts) with the rule before and after.
 */
import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { WarmgridError } from '../core/errors.ts';
import type { AuditLog } from '../state/audit.ts';
import type { StateDb } from '../state/db.ts';
import { Rule } from './rules.ts';

export interface StoredRule {
  rule: Rule;
  origin: 'config' | 'api';
  edited: boolean;
  version: number;
  updatedAt: number;
  updatedBy: string;
}

export interface Actor {
  id: string;
  name: string;
  ip?: string;
}

/** JSON with keys sorted, so equal rules hash equally whatever order their keys came in. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const hash = (r: Rule): string => createHash('sha256').update(canonicalJson(r)).digest('hex').slice(0, 32);

export class RuleStore {
  constructor(
    private readonly db: StateDb,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {}

  /** Applies the config seed (see the file comment) and returns the rules in force, deleted ones left out. */
  async seed(config: readonly Rule[]): Promise<StoredRule[]> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('alarm_rules').selectAll().execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      const configIds = new Set(config.map((r) => r.id));
      for (const rule of config) {
        const row = byId.get(rule.id);
        const h = hash(rule);
        if (!row) {
          await trx
            .insertInto('alarm_rules')
            .values({ id: rule.id, body: JSON.stringify(rule), origin: 'config', config_hash: h, edited: 0, deleted: 0, version: 1, updated_at: now, updated_by: 'config' })
            .execute();
        } else if (row.origin === 'config' && Number(row.edited) === 0 && (row.config_hash !== h || Number(row.deleted) === 1)) {
          await trx
            .updateTable('alarm_rules')
            .set({ body: JSON.stringify(rule), config_hash: h, deleted: 0, version: Number(row.version) + 1, updated_at: now, updated_by: 'config' })
            .where('id', '=', rule.id)
            .execute();
        }
      }
      for (const row of rows) {
        if (row.origin === 'config' && Number(row.edited) === 0 && Number(row.deleted) === 0 && !configIds.has(row.id)) {
          await trx.updateTable('alarm_rules').set({ deleted: 1, version: Number(row.version) + 1, updated_at: now, updated_by: 'config' }).where('id', '=', row.id).execute();
        }
      }
    });
    return this.list();
  }

  async list(): Promise<StoredRule[]> {
    const rows = await this.db.selectFrom('alarm_rules').selectAll().where('deleted', '=', 0).orderBy('id').execute();
    const out: StoredRule[] = [];
    for (const r of rows) {
      const rule = parseRule(r.body);
      if (!rule) continue;
      out.push({ rule, origin: r.origin === 'api' ? 'api' : 'config', edited: Number(r.edited) === 1, version: Number(r.version), updatedAt: Number(r.updated_at), updatedBy: r.updated_by });
    }
    return out;
  }

  async get(id: string): Promise<StoredRule | undefined> {
    return (await this.list()).find((r) => r.rule.id === id);
  }

  async create(rule: Rule, by: Actor): Promise<StoredRule> {
    const now = this.now();
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alarm_rules').select(['deleted', 'version', 'origin']).where('id', '=', rule.id).executeTakeFirst();
      if (row && Number(row.deleted) === 0) throw new WarmgridError('CONFLICT', `rule "${rule.id}" exists`);
      if (row) {
        await trx
          .updateTable('alarm_rules')
          .set({ body: JSON.stringify(rule), edited: 1, deleted: 0, version: Number(row.version) + 1, updated_at: now, updated_by: by.id })
          .where('id', '=', rule.id)
          .execute();
      } else {
        await trx
          .insertInto('alarm_rules')
          .values({ id: rule.id, body: JSON.stringify(rule), origin: 'api', config_hash: '', edited: 1, deleted: 0, version: 1, updated_at: now, updated_by: by.id })
          .execute();
      }
    });
    await this.audit.record({ action: 'alarm_rule.create', actor: by.id, actorName: by.name, target: rule.id, detail: { after: rule }, ...(by.ip ? { ip: by.ip } : {}) });
    return (await this.get(rule.id))!;
  }

  /** Replaces a rule; with `expectedVersion`, refuses (CONFLICT) when someone changed it in between. */
  async update(id: string, rule: Rule, by: Actor, expectedVersion?: number): Promise<StoredRule> {
    if (rule.id !== id) throw new WarmgridError('BAD_REQUEST', 'the rule id cannot change; create a new rule instead');
    const now = this.now();
    let before: Rule | undefined;
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alarm_rules').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
      if (!row) throw new WarmgridError('NOT_FOUND', `no rule "${id}"`);
      if (expectedVersion !== undefined && Number(row.version) !== expectedVersion) throw new WarmgridError('CONFLICT', `rule "${id}" is at version ${row.version}, not ${expectedVersion}`);
      before = parseRule(row.body);
      await trx.updateTable('alarm_rules').set({ body: JSON.stringify(rule), edited: 1, version: Number(row.version) + 1, updated_at: now, updated_by: by.id }).where('id', '=', id).execute();
    });
    await this.audit.record({ action: 'alarm_rule.update', actor: by.id, actorName: by.name, target: id, detail: { before, after: rule }, ...(by.ip ? { ip: by.ip } : {}) });
    return (await this.get(id))!;
  }

  async remove(id: string, by: Actor): Promise<void> {
    const now = this.now();
    let before: Rule | undefined;
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('alarm_rules').selectAll().where('id', '=', id).where('deleted', '=', 0).executeTakeFirst();
      if (!row) throw new WarmgridError('NOT_FOUND', `no rule "${id}"`);
      before = parseRule(row.body);
      await trx.updateTable('alarm_rules').set({ deleted: 1, edited: 1, version: Number(row.version) + 1, updated_at: now, updated_by: by.id }).where('id', '=', id).execute();
    });
    await this.audit.record({ action: 'alarm_rule.delete', actor: by.id, actorName: by.name, target: id, detail: { before }, ...(by.ip ? { ip: by.ip } : {}) });
  }
}

/** Defaults added since the rule was stored are filled in; a rule that no longer fits the schema is skipped rather than stopping the hub. */
function parseRule(body: string): Rule | undefined {
  try {
    const v = Value.Default(Rule, JSON.parse(body) as unknown);
    return Value.Check(Rule, v) ? v : undefined;
  } catch {
    return undefined;
  }
}
