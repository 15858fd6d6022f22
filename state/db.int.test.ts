import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateDb } from './db.ts';

const url = process.env['DATABASE_URL'];
const tag = `${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const other = `t_other_${tag}`;
const mine = `t_mine_${tag}`;

async function admin(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(q);
  } finally {
    await c.end();
  }
}

describe.skipIf(!url)('state database on a shared PostgreSQL server', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-state-'));
  afterAll(async () => {
    await admin(`DROP SCHEMA IF EXISTS ${other} CASCADE; DROP SCHEMA IF EXISTS ${mine} CASCADE`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its migration tables in the schema it works in, whatever other schemas hold', async () => {
    // Another deployment (or any Kysely application) already has migration tables in its own schema.
    const first = await openStateDb({ dataDir: dir, url: url!, pgSchema: other });
    await first.close();
    // This one works in its own schema through the connection's search_path, with no schema configured.
    await admin(`CREATE SCHEMA ${mine}`);
    const u = new URL(url!);
    u.searchParams.set('options', `-c search_path=${mine}`);
    const state = await openStateDb({ dataDir: dir, url: u.toString() });
    try {
      const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = ${mine} order by table_name`.execute(state.db);
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(['kysely_migration', 'kysely_migration_lock', 'users', 'audit_log']));
    } finally {
      await state.close();
    }
  });
});
