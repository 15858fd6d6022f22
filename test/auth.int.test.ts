import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../server/roles.ts';
import { startTestHub, type TestHub } from './helpers/hub.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.close();
});

function concreteUrl(url: string): string {
  return url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'x');
}

function routes() {
  const seen = new Set<string>();
  const out: { method: string; url: string; access: unknown }[] = [];
  for (const r of t.hub.app.routeTable) {
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue;
      const key = `${method} ${r.url}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ method, url: r.url, access: r.access });
    }
  }
  return out;
}

describe('every route declares its access', () => {
  it('has a declaration on every route, and the API routes are not public except the few that must be', () => {
    const list = routes();
    expect(list.length).toBeGreaterThan(15);
    const undeclared = list.filter((r) => r.access === undefined).map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    const publicApi = list.filter((r) => r.access === 'public' && r.url.startsWith('/api/')).map((r) => `${r.method} ${r.url}`).sort();
    expect(publicApi).toEqual(['GET /api/auth/display', 'GET /api/health', 'POST /api/auth/login', 'POST /api/auth/setup']);
  });

  it('answers 401 to an unauthenticated request on every non-public route', async () => {
    for (const r of routes().filter((x) => x.access !== 'public')) {
      const res = await t.as(null, { method: r.method as 'GET', url: concreteUrl(r.url), ...(r.method === 'GET' ? {} : { payload: {} }) });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('lets each role call what its access allows and answers 403 otherwise', async () => {
    for (const r of routes().filter((x) => x.access !== 'public' && x.url !== '/api/auth/logout' && x.url !== '/api/live')) {
      for (const role of ROLES) {
        const allowed = (r.access as Role[]).includes(role);
        const res = await t.as(role, { method: r.method as 'GET', url: concreteUrl(r.url), ...(r.method === 'GET' ? {} : { payload: {} }) });
        if (allowed) expect([401, 403], `${role} ${r.method} ${r.url}`).not.toContain(res.statusCode);
        else expect(res.statusCode, `${role} ${r.method} ${r.url}`).toBe(403);
      }
    }
  });

  it('refuses the live WebSocket without a session', async () => {
    await expect(t.hub.app.injectWS('/api/live')).rejects.toThrow(/401/);
    const ws = await t.hub.app.injectWS('/api/live', { headers: { cookie: t.cookies.display } });
    ws.terminate();
  });
});

describe('roles in practice', () => {
  it('operators and displays read; only engineers and admins push readings; only admins manage users', async () => {
    const reading = { readings: [{ asset: 'ss05', fields: { secondary_supply_temp_c: 50 } }] };
    expect((await t.as('display', { method: 'GET', url: '/api/latest?assets=ss05' })).statusCode).toBe(200);
    expect((await t.as('operator', { method: 'POST', url: '/api/readings', payload: reading })).statusCode).toBe(403);
    expect((await t.as('service', { method: 'POST', url: '/api/readings', payload: reading })).statusCode).toBe(403);
    expect((await t.as('engineer', { method: 'POST', url: '/api/readings', payload: reading })).statusCode).toBe(200);
    expect((await t.as('engineer', { method: 'GET', url: '/api/users' })).statusCode).toBe(403);
    expect((await t.as('admin', { method: 'GET', url: '/api/users' })).statusCode).toBe(200);
  });

  it('a user with several roles has the union of their rights', async () => {
    const create = await t.as('admin', { method: 'POST', url: '/api/users', payload: { username: 'multi', password: 'a-long-passphrase-1', roles: ['operator', 'service'] } });
    expect(create.statusCode).toBe(201);
    const login = await t.as(null, { method: 'POST', url: '/api/auth/login', payload: { username: 'multi', password: 'a-long-passphrase-1' } });
    const cookie = `wg_session=${login.cookies.find((c) => c.name === 'wg_session')!.value}`;
    const me = await t.hub.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
    expect(me.json().roles).toEqual(['operator', 'service']);
    // A role change ends the user's sessions at once.
    await t.as('admin', { method: 'PATCH', url: `/api/users/${create.json().user.id}`, payload: { roles: ['display'] } });
    expect((await t.hub.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('sessions and cookies', () => {
  it('sets an HTTP-only, SameSite=Strict, signed session cookie and ends it at logout', async () => {
    const res = await t.as(null, { method: 'POST', url: '/api/auth/login', payload: { username: 'test-operator', password: t.passwords.operator } });
    expect(res.statusCode).toBe(200);
    const c = res.cookies.find((x) => x.name === 'wg_session')!;
    expect(c.httpOnly).toBe(true);
    expect(c.sameSite).toBe('Strict');
    expect(c.value).toContain('.'); // signed
    const cookie = `wg_session=${c.value}`;
    // A forged cookie (valid session id but a wrong signature) opens nothing.
    const forged = `wg_session=${c.value.split('.')[0]}.AAAA`;
    expect((await t.hub.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: forged } })).statusCode).toBe(401);
    expect((await t.hub.app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } })).statusCode).toBe(200);
    expect((await t.hub.app.inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(401);
  });
});

describe('API tokens', () => {
  it('works until revoked, is scoped to its roles, and is audited', async () => {
    const created = await t.as('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'scada-bridge', roles: ['engineer'] } });
    expect(created.statusCode).toBe(201);
    const { token, info } = created.json();
    expect(token).toMatch(/^wgt_/);
    const auth = { authorization: `Bearer ${token}` };
    const push = await t.hub.app.inject({ method: 'POST', url: '/api/readings', headers: auth, payload: { readings: [{ asset: 'ss06', fields: { secondary_supply_temp_c: 51 } }] } });
    expect(push.statusCode).toBe(200);
    expect((await t.hub.app.inject({ method: 'GET', url: '/api/users', headers: auth })).statusCode).toBe(403);
    // Listing never shows the secret again.
    const list = await t.as('admin', { method: 'GET', url: '/api/tokens' });
    expect(list.body).not.toContain(token.split('.')[1]);
    expect((await t.as('admin', { method: 'DELETE', url: `/api/tokens/${info.id}` })).statusCode).toBe(200);
    const after = await t.hub.app.inject({ method: 'GET', url: '/api/latest?assets=ss06', headers: auth });
    expect(after.statusCode).toBe(401);
    const wrong = await t.hub.app.inject({ method: 'GET', url: '/api/latest?assets=ss06', headers: { authorization: `Bearer ${token.slice(0, -2)}xx` } });
    expect(wrong.statusCode).toBe(401);
    const audit = await t.as('admin', { method: 'GET', url: '/api/audit?action=token.*' });
    const actions = audit.json().entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['token.create', 'token.revoke']));
  });

  it('refuses unknown roles', async () => {
    const res = await t.as('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'x', roles: ['superuser'] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('a display-only token opens a wall session without a login', async () => {
    const { token } = (await t.as('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'wall-1', roles: ['display'] } })).json();
    const open = await t.as(null, { method: 'GET', url: `/api/auth/display?token=${encodeURIComponent(token)}` });
    expect(open.statusCode, open.body).toBe(303);
    expect(open.headers.location).toBe('/wall');
    const cookie = `wg_session=${open.cookies.find((c) => c.name === 'wg_session')!.value}`;
    expect((await t.hub.app.inject({ method: 'GET', url: '/api/latest?assets=ss01', headers: { cookie } })).statusCode).toBe(200);
    expect((await t.hub.app.inject({ method: 'POST', url: '/api/readings', headers: { cookie }, payload: { readings: [] } })).statusCode).toBe(403);
    // A token with more than the display role is not accepted in a URL.
    const { token: eng } = (await t.as('admin', { method: 'POST', url: '/api/tokens', payload: { name: 'eng', roles: ['engineer'] } })).json();
    expect((await t.as(null, { method: 'GET', url: `/api/auth/display?token=${encodeURIComponent(eng)}` })).statusCode).toBe(401);
  });
});

describe('lock-out', () => {
  it('locks an account after ten wrong passwords, even for the right one, and audits it', async () => {
    await t.as('admin', { method: 'POST', url: '/api/users', payload: { username: 'victim', password: 'correct-horse-9', roles: ['operator'] } });
    for (let i = 0; i < 10; i++) {
      const res = await t.hub.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'victim', password: `guess-${i}-xxxxx` }, remoteAddress: `10.0.0.${i}` });
      expect(res.statusCode).toBe(401);
    }
    const right = await t.hub.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'victim', password: 'correct-horse-9' }, remoteAddress: '10.0.1.1' });
    expect(right.statusCode).toBe(423);
    expect(right.json().error.code).toBe('ACCOUNT_LOCKED');
    const audit = (await t.as('admin', { method: 'GET', url: '/api/audit?target=victim&limit=50' })).json().entries as { action: string }[];
    expect(audit.filter((e) => e.action === 'auth.login_failed').length).toBe(11);
    expect(audit.filter((e) => e.action === 'auth.lockout').length).toBe(1);
    expect(audit.some((e) => e.action === 'user.create')).toBe(true);
  });

  it('limits login attempts per client address', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await t.hub.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: `nobody${i}`, password: 'whatever-123' }, remoteAddress: '192.0.2.77' });
      codes.push(res.statusCode);
    }
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect(codes.filter((c) => c === 401).length).toBe(20);
  });
});

describe('hardening', () => {
  it('sends security headers and no CORS headers', async () => {
    const res = await t.as('operator', { method: 'GET', url: '/api/assets?kind=substation', headers: { origin: 'https://evil.example' } });
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBeDefined();
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const pre = await t.as(null, { method: 'OPTIONS', url: '/api/readings', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a cross-site form post', async () => {
    const res = await t.as('engineer', { method: 'POST', url: '/api/readings', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'readings=1' });
    expect([400, 415]).toContain(res.statusCode);
  });

  it('keeps the audit log append-only in the database itself', async () => {
    const { db } = t.hub.services.state;
    await expect(db.updateTable('audit_log').set({ action: 'forged' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
  });
});
