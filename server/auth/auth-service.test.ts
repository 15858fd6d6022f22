import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../state/audit.ts';
import { openStateDb, type StateDbHandle } from '../../state/db.ts';
import { AuthService } from './auth-service.ts';
import { hashPassword, passwordProblem, randomPassword, verifyPassword } from './passwords.ts';

let dir: string;
let state: StateDbHandle;
let now: number;
let auth: AuthService;
const meta = { ip: '127.0.0.1' };

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-auth-'));
  // PostgreSQL takes over when DATABASE_URL is set (CI sets it when a server is available); one schema per test.
  const url = process.env['DATABASE_URL'];
  state = await openStateDb({ dataDir: dir, url, ...(url ? { pgSchema: `t_${process.pid}_${Math.floor(Math.random() * 1e9)}`, dropSchemaOnClose: true } : {}) });
  now = Date.UTC(2026, 11, 1, 8, 0, 0);
  auth = new AuthService(state.db, new AuditLog(state.db, () => now), { sessionHours: 12, displaySessionDays: 30, lockoutThreshold: 10, lockoutBaseMinutes: 5, lockoutMaxMinutes: 60 }, () => now);
});
afterEach(async () => {
  await state.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('passwords', () => {
  it('hashes with scrypt, verifies, and refuses a wrong password or a garbled hash', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(/^scrypt\$15\$8\$1\$/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterx', h)).toBe(false);
    expect(await verifyPassword('x', 'scrypt$99$8$1$aa$bb')).toBe(false);
    expect(await verifyPassword('x', 'md5$abc')).toBe(false);
    expect(await hashPassword('same')).not.toBe(await hashPassword('same'));
  });

  it('has a password policy and makes strong random passwords', () => {
    expect(passwordProblem('short', 'bob')).toMatch(/at least 10/);
    expect(passwordProblem('bob-is-my-password', 'bob')).toMatch(/user name/);
    expect(passwordProblem('aaaaaaaaaaaa', 'bob')).toMatch(/repetitive/);
    expect(passwordProblem('a fine long phrase', 'bob')).toBeUndefined();
    const p = randomPassword();
    expect(p).toHaveLength(20);
    expect(passwordProblem(p, 'admin')).toBeUndefined();
  });
});

describe('lock-out with back-off', () => {
  it('locks after ten failures, unlocks after the lock-out, and doubles the next one', async () => {
    await auth.createUser({ username: 'op', password: 'the-right-one-1', roles: ['operator'] }, 'system');
    for (let i = 0; i < 10; i++) await expect(auth.login('op', 'wrong-password', meta)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(auth.login('op', 'the-right-one-1', meta)).rejects.toMatchObject({ code: 'ACCOUNT_LOCKED' });
    now += 5 * 60_000 + 1;
    await expect(auth.login('op', 'the-right-one-1', meta)).resolves.toMatchObject({ user: { username: 'op' } });
    // A success resets the back-off; two lock-outs in a row double it.
    for (let i = 0; i < 10; i++) await expect(auth.login('op', 'wrong-password', meta)).rejects.toBeDefined();
    now += 5 * 60_000 + 1;
    for (let i = 0; i < 10; i++) await expect(auth.login('op', 'wrong-password', meta)).rejects.toBeDefined();
    now += 5 * 60_000 + 1;
    await expect(auth.login('op', 'the-right-one-1', meta)).rejects.toMatchObject({ code: 'ACCOUNT_LOCKED' });
    now += 5 * 60_000;
    await expect(auth.login('op', 'the-right-one-1', meta)).resolves.toBeDefined();
  });

  it('expires sessions', async () => {
    await auth.createUser({ username: 'eng', password: 'plant-tuning-1', roles: ['engineer'] }, 'system');
    const { token } = await auth.login('eng', 'plant-tuning-1', meta);
    expect((await auth.sessionPrincipal(token))?.roles.has('engineer')).toBe(true);
    now += 12 * 3_600_000 + 1;
    expect(await auth.sessionPrincipal(token)).toBeUndefined();
  });
});

describe('first run', () => {
  it('has no default account: a one-time setup token creates the first admin, once', async () => {
    expect(await auth.hasAdmin()).toBe(false);
    const token = (await auth.ensureSetupToken())!;
    expect(token.length).toBeGreaterThan(20);
    await expect(auth.completeSetup('wrong-token-value', 'root', 'a-good-password', meta)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await auth.completeSetup(token, 'root', 'a-good-password', meta);
    expect(await auth.hasAdmin()).toBe(true);
    await expect(auth.completeSetup(token, 'root2', 'a-good-password', meta)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await auth.ensureSetupToken()).toBeUndefined();
  });

  it('keeps at least one admin', async () => {
    const a = await auth.createUser({ username: 'boss', password: 'secret-phrase-1', roles: ['admin'] }, 'system');
    const p = { kind: 'user' as const, id: 'other', name: 'other', roles: new Set(['admin'] as const) };
    await expect(auth.updateUser(a.id, { roles: ['operator'] }, p)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(auth.deleteUser(a.id, p)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('demo users get new passwords at every demo start, and real accounts of the same name are left alone', async () => {
    const first = await auth.resetDemoUsers();
    expect(Object.keys(first).sort()).toEqual(['admin', 'display', 'engineer', 'operator', 'service']);
    const second = await auth.resetDemoUsers();
    expect(second['admin']).not.toBe(first['admin']);
    await expect(auth.login('admin', first['admin']!, meta)).rejects.toBeDefined();
    await expect(auth.login('admin', second['admin']!, meta)).resolves.toBeDefined();
  });
});
