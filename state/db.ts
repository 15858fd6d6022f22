/**
 * The state database (users, sessions, tokens, audit; later alarms and tickets): an embedded SQLite file by default,
 * PostgreSQL when DATABASE_URL is set, through one Kysely query builder so the same queries run on both.
 *
 * Portable rules for migrations and queries: timestamps are epoch-ms `bigint`; ids are text (random) unless an
 * ordered sequence is needed (`seq`, see `sequenceColumn`); JSON is stored as text; booleans as integer 0/1.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations.ts';
import type { StateSchema } from './schema.ts';

export type StateDb = Kysely<StateSchema>;
export type Dialect = 'sqlite' | 'postgres';

export interface StateDbHandle {
  db: StateDb;
  dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenStateOptions {
  dataDir: string;
  /** postgres://... to use PostgreSQL instead of the embedded file. */
  url?: string | undefined;
  /** For PostgreSQL: a schema to create and use (tests use one per run). */
  pgSchema?: string;
  /** For PostgreSQL tests: drop `pgSchema` at close. */
  dropSchemaOnClose?: boolean;
}

// PostgreSQL returns int8 as a string by default; our bigints are epoch milliseconds, well inside 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export async function openStateDb(opts: OpenStateOptions): Promise<StateDbHandle> {
  let db: StateDb;
  let dialect: Dialect;
  if (opts.url) {
    dialect = 'postgres';
    const schema = opts.pgSchema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
    if (schema) {
      const admin = new pg.Client({ connectionString: opts.url });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      } finally {
        await admin.end();
      }
    }
    // The schema goes into the connection's startup options, so every pooled connection uses it from its first query.
    const pool = new pg.Pool({ connectionString: opts.url, max: 10, ...(schema ? { options: `-c search_path=${schema}` } : {}) });
    db = new Kysely<StateSchema>({ dialect: new PostgresDialect({ pool }) });
  } else {
    dialect = 'sqlite';
    mkdirSync(opts.dataDir, { recursive: true });
    const file = new Database(path.join(opts.dataDir, 'state.sqlite'));
    // WAL: readers do not block the writer; synchronous=NORMAL is durable against process crashes in WAL mode,
    // FULL adds durability against power loss at some cost. State changes are rare, so FULL it is.
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = FULL');
    file.pragma('foreign_keys = ON');
    file.pragma('busy_timeout = 5000');
    db = new Kysely<StateSchema>({ dialect: new SqliteDialect({ database: file }) });
  }
  // Kysely decides whether its migration tables exist by looking through every schema; on a server shared with other
  // deployments, tests or Kysely applications, a table in another schema would be taken for ours. So name the schema:
  // the one configured, else the one the connection works in (the first of its search_path, usually "public").
  let migrationSchema: string | undefined;
  if (dialect === 'postgres') {
    try {
      migrationSchema = opts.pgSchema || (await sql<{ s: string | null }>`select current_schema() as s`.execute(db)).rows[0]?.s || undefined;
    } catch (err) {
      await db.destroy();
      throw new Error(`cannot reach the state database: ${(err as Error).message}`, { cause: err });
    }
  }
  const migrator = new Migrator({
    db,
    provider: new StaticProvider(migrations(dialect)),
    ...(migrationSchema ? { migrationTableSchema: migrationSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`state database migration ${failed ?? ''} failed`, { cause: error });
  }
  return {
    db,
    dialect,
    close: async () => {
      if (dialect === 'postgres' && opts.pgSchema && opts.dropSchemaOnClose) await sql.raw(`DROP SCHEMA ${opts.pgSchema} CASCADE`).execute(db);
      await db.destroy();
    },
  };
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly list: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.list;
  }
}

/** Current time as stored: epoch milliseconds. */
export function nowMs(): number {
  return Date.now();
}

export { sql };
