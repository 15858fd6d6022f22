/**
 * State-database migrations of the alarm feature, registered in state/migrations.ts. Never edit a released migration:
 * add a new one.
 */
import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../state/db.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export function alarmMigrations(dialect: Dialect): Record<string, Migration> {
  // As state/migrations.ts sequenceType(); not imported, so that module can list this one without an import cycle.
  const seqType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0010_alarms': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('alarm_rules')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('config_hash', 'text', (c) => c.notNull())
          .addColumn('edited', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('alarms')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('rule_id', 'text', (c) => c.notNull())
          .addColumn('asset', 'text', (c) => c.notNull())
          .addColumn('asset_kind', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('cause', 'text', (c) => c.notNull())
          .addColumn('priority', 'text', (c) => c.notNull())
          .addColumn('level', 'text')
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('activated_at', 'bigint', (c) => c.notNull())
          .addColumn('acked_at', 'bigint')
          .addColumn('acked_by', 'text')
          .addColumn('cleared_at', 'bigint')
          .addColumn('closed_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('shelved_until', 'bigint')
          .addColumn('suppressed_by', 'text')
          .addColumn('out_of_service', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('activations', 'integer', (c) => c.notNull().defaultTo(1))
          .execute();
        await db.schema.createIndex('alarms_state').on('alarms').columns(['state', 'activated_at']).execute();
        await db.schema.createIndex('alarms_activated').on('alarms').column('activated_at').execute();
        await db.schema.createIndex('alarms_point').on('alarms').columns(['rule_id', 'asset', 'activated_at']).execute();
        await db.schema.createIndex('alarms_asset').on('alarms').columns(['asset', 'activated_at']).execute();
        await db.schema
          .createTable('alarm_events')
          .addColumn('seq', seqType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('alarm_id', 'text', (c) => c.notNull())
          .addColumn('rule_id', 'text', (c) => c.notNull())
          .addColumn('asset', 'text', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text', (c) => c.notNull())
          .addColumn('to_state', 'text', (c) => c.notNull())
          .addColumn('priority', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('actor_name', 'text', (c) => c.notNull())
          .addColumn('comment', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('alarm_events_ts').on('alarm_events').columns(['ts', 'event']).execute();
        await db.schema.createIndex('alarm_events_alarm').on('alarm_events').columns(['alarm_id', 'seq']).execute();
        await db.schema
          .createTable('alarm_points')
          .addColumn('rule_id', 'text', (c) => c.notNull())
          .addColumn('asset', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('until', 'bigint')
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('actor_name', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('since', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('alarm_points_pk', ['rule_id', 'asset'])
          .execute();
      },
    },
  };
}
