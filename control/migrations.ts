/**
 * State-database tables of control/: per-substation control state, the advice history, and the setpoint write history
 * (requests, confirmations, results). The audit log (state/audit.ts) keeps the append-only record of every change;
 * these tables are what the API lists and what survives a restart.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../state/db.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export interface ControlSubstationsTable {
  asset: string;
  /** null: as configured in hub.yaml (control.writes.enabled); 0/1: set through the API. */
  writes_enabled: number | null;
  /** 'manual' or 'auto'. */
  mode: string;
  /** JSON CurveSpec set through the API; null: the preset from network.yaml. */
  curve: string | null;
  /** The feedback integral (K), so a restart resumes the learned shift. */
  integral_k: number;
  updated_at: number;
  updated_by: string;
}

export interface ControlAdviceTable {
  id: string;
  asset: string;
  ts: number;
  point: string;
  valid: number;
  recommended: number | null;
  current_setpoint: number | null;
  /** JSON AdviceExplanation. */
  explanation: string;
}

export interface ControlWritesTable {
  id: string;
  asset: string;
  point: string;
  /** 'manual' (engineer, confirmed) or 'auto'. */
  mode: string;
  /** pending, executed, failed, rolled_back, refused, expired, cancelled. */
  status: string;
  requested_at: number;
  requested_by: string;
  requested_by_name: string;
  old_value: number | null;
  new_value: number;
  advice_id: string | null;
  reason: string;
  /** JSON Check[] as computed at the request (and again at the confirmation). */
  checks: string;
  /** sha256 of the confirmation token (the token itself is shown once, to the requester). */
  token_hash: string | null;
  expires_at: number | null;
  confirmed_at: number | null;
  confirmed_by: string | null;
  read_back: number | null;
  /** JSON: the writer's result, errors, rollback. */
  result: string;
  updated_at: number;
}

export interface ControlTables {
  control_substations: ControlSubstationsTable;
  control_advice: ControlAdviceTable;
  control_writes: ControlWritesTable;
}

export function controlMigrations(dialect: Dialect): Record<string, Migration> {
  const real = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    '0012_control': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('control_substations')
          .addColumn('asset', 'text', (c) => c.primaryKey())
          .addColumn('writes_enabled', 'integer')
          .addColumn('mode', 'text', (c) => c.notNull().defaultTo('manual'))
          .addColumn('curve', 'text')
          .addColumn('integral_k', real, (c) => c.notNull().defaultTo(0))
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('control_advice')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('asset', 'text', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('point', 'text', (c) => c.notNull())
          .addColumn('valid', 'integer', (c) => c.notNull())
          .addColumn('recommended', real)
          .addColumn('current_setpoint', real)
          .addColumn('explanation', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('control_advice_asset_ts').on('control_advice').columns(['asset', 'ts']).execute();
        await db.schema.createIndex('control_advice_ts').on('control_advice').column('ts').execute();
        await db.schema
          .createTable('control_writes')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('asset', 'text', (c) => c.notNull())
          .addColumn('point', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('requested_at', 'bigint', (c) => c.notNull())
          .addColumn('requested_by', 'text', (c) => c.notNull())
          .addColumn('requested_by_name', 'text', (c) => c.notNull())
          .addColumn('old_value', real)
          .addColumn('new_value', real, (c) => c.notNull())
          .addColumn('advice_id', 'text')
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('checks', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text')
          .addColumn('expires_at', 'bigint')
          .addColumn('confirmed_at', 'bigint')
          .addColumn('confirmed_by', 'text')
          .addColumn('read_back', real)
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('control_writes_asset_time').on('control_writes').columns(['asset', 'requested_at']).execute();
        await db.schema.createIndex('control_writes_status').on('control_writes').column('status').execute();
      },
    },
  };
}
