/**
 * State-database migrations of the ticket feature, registered in state/migrations.ts. Never edit a released migration:
 * add a new one.
 *
 * One ticket per incident is enforced by the database, not only in memory: a unique partial index on (asset, cause)
 * over open tickets, so concurrent raises, several hub processes on one PostgreSQL, and restarts all end in one row.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../state/db.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export function ticketMigrations(dialect: Dialect): Record<string, Migration> {
  // As state/migrations.ts sequenceType(); not imported, so that module can list this one without an import cycle.
  const seqType = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0011_tickets': {
      async up(db: AnyDb) {
        await db.schema
          .createTable('tickets')
          .addColumn('id', seqType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('asset', 'text', (c) => c.notNull())
          .addColumn('asset_kind', 'text', (c) => c.notNull())
          .addColumn('cause', 'text', (c) => c.notNull())
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('priority', 'text', (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('open', 'integer', (c) => c.notNull())
          .addColumn('team', 'text')
          .addColumn('assignee', 'text')
          .addColumn('origin', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_by_name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('respond_due_at', 'bigint', (c) => c.notNull())
          .addColumn('resolve_due_at', 'bigint', (c) => c.notNull())
          .addColumn('responded_at', 'bigint')
          .addColumn('resolved_at', 'bigint')
          .addColumn('closed_at', 'bigint')
          .addColumn('callback_result', 'text')
          .addColumn('callback_at', 'bigint')
          .addColumn('callback_by', 'text')
          .addColumn('callback_comment', 'text')
          .addColumn('reopened', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        // Literal predicate (no bound parameter): both SQLite and PostgreSQL need it to match ON CONFLICT ... WHERE open = 1.
        await sql`CREATE UNIQUE INDEX tickets_open_incident ON tickets (asset, cause) WHERE open = 1`.execute(db);
        await db.schema.createIndex('tickets_state').on('tickets').columns(['state', 'id']).execute();
        await db.schema.createIndex('tickets_created').on('tickets').column('created_at').execute();
        await db.schema.createIndex('tickets_team').on('tickets').columns(['team', 'state']).execute();
        await db.schema
          .createTable('ticket_alarms')
          .addColumn('ticket_id', 'bigint', (c) => c.notNull())
          .addColumn('alarm_id', 'text', (c) => c.notNull())
          .addColumn('rule_id', 'text', (c) => c.notNull())
          .addColumn('linked_at', 'bigint', (c) => c.notNull())
          .addColumn('cleared_at', 'bigint')
          .addPrimaryKeyConstraint('ticket_alarms_pk', ['ticket_id', 'alarm_id'])
          .execute();
        await db.schema.createIndex('ticket_alarms_alarm').on('ticket_alarms').column('alarm_id').execute();
        await db.schema
          .createTable('ticket_history')
          .addColumn('seq', seqType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('ticket_id', 'bigint', (c) => c.notNull())
          .addColumn('ts', 'bigint', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('actor_name', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('from_state', 'text', (c) => c.notNull())
          .addColumn('to_state', 'text', (c) => c.notNull())
          .addColumn('comment', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('ticket_history_ticket').on('ticket_history').columns(['ticket_id', 'seq']).execute();
        await db.schema
          .createTable('webhook_outbox')
          .addColumn('seq', seqType, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('endpoint', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_at', 'bigint', (c) => c.notNull())
          .addColumn('delivered_at', 'bigint')
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text', (c) => c.notNull().defaultTo(''))
          .addUniqueConstraint('webhook_outbox_event', ['event_id', 'endpoint'])
          .execute();
        await sql`CREATE INDEX webhook_outbox_pending ON webhook_outbox (endpoint, seq) WHERE delivered_at IS NULL`.execute(db);
      },
    },
  };
}
