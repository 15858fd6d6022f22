/**
 * Thousands of malformed and hostile requests to every route, as an admin (who may reach every handler) and anonymously:
 * no 5xx, no crash, and nothing stored changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './helpers/hub.ts';

let t: TestHub;
beforeAll(async () => {
  // A generous login limit: the fuzzer hits the login route too and must reach its handler.
  t = await startTestHub({ hubYaml: 'auth: { loginRateLimitPerMinute: 100000 }' });
});
afterAll(async () => {
  await t?.close();
});

/** mulberry32: a small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%00',
  '\u0000',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '${jndi:ldap://x}',
  '{{7*7}}',
  'x'.repeat(5000),
  '😀'.repeat(300),
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-1',
  '1e309',
  '9007199254740993',
  'true',
  'null',
  '[]',
  '{}',
];
/** Never valid as a password (too short, too long, or empty), so no fuzzed request can create an account. */
const BAD_PASSWORDS = ['', 'short', 'x'.repeat(5000), '\u0000'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function hostileValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * 12);
  switch (k) {
    case 0:
      return pick(r, HOSTILE_STRINGS);
    case 1:
      return Math.floor(r() * 2 ** 31) * (r() < 0.5 ? -1 : 1);
    case 2:
      return r() * 1e308 * (r() < 0.5 ? -1 : 1);
    case 3:
      return r() < 0.5;
    case 4:
      return null;
    case 5:
      return depth > 3 ? [] : Array.from({ length: Math.floor(r() * 4) }, () => hostileValue(r, depth + 1));
    case 6:
    case 7: {
      if (depth > 3) return {};
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 4); i > 0; i--) o[pick(r, [...HOSTILE_STRINGS, 'readings', 'asset', 'fields', 'ts', 'username', 'password', 'roles', 'name', 'token'])] = hostileValue(r, depth + 1);
      return o;
    }
    case 8:
      return { readings: [{ asset: pick(r, HOSTILE_STRINGS), fields: { [pick(r, HOSTILE_STRINGS)]: hostileValue(r, depth + 1) }, ts: hostileValue(r, depth + 1) }] };
    case 9:
      return { username: pick(r, HOSTILE_STRINGS), password: pick(r, BAD_PASSWORDS), roles: [pick(r, [...HOSTILE_STRINGS, 'admin'])] };
    default:
      return pick(r, HOSTILE_STRINGS);
  }
}

function rawBody(r: () => number): string {
  const k = Math.floor(r() * 8);
  switch (k) {
    case 0:
      return '{"readings": [';
    case 1:
      return '{"__proto__": {"polluted": true}, "readings": []}';
    case 2:
      return '{"constructor": {"prototype": {"polluted": true}}}';
    case 3:
      return `{"readings":[${'{"asset":"ss01","fields":{"a_c":1}},'.repeat(20_000)}{}]}`;
    case 4:
      return '\u0000\u0001\u0002';
    case 5:
      return `${'['.repeat(5000)}${']'.repeat(5000)}`;
    case 6:
      return JSON.stringify(hostileValue(r));
    default:
      return 'not json at all';
  }
}

const WINDOW_FROM = Date.now() - 86_400_000;
const WINDOW_TO = Date.now() + 86_400_000;

async function snapshot(): Promise<string> {
  const latest = await t.as('admin', { method: 'GET', url: '/api/latest?under=hs1' });
  const history = await t.as('admin', { method: 'GET', url: `/api/history?asset=ss01&fields=secondary_supply_temp_c&from=${WINDOW_FROM}&to=${WINDOW_TO}` });
  const users = await t.as('admin', { method: 'GET', url: '/api/users' });
  const tokens = await t.as('admin', { method: 'GET', url: '/api/tokens' });
  const stripVolatile = (s: string) => s.replace(/"lastUsedAt":\d+/g, '"lastUsedAt":0');
  return [latest.body, history.body, users.body, stripVolatile(tokens.body)].join('\n');
}

describe('fuzzing every route', () => {
  it('survives thousands of hostile requests without a 5xx or a change to stored data', async () => {
    // Known data first, so "unchanged" means something.
    const seed = await t.as('engineer', { method: 'POST', url: '/api/readings', payload: { readings: [{ asset: 'ss01', fields: { secondary_supply_temp_c: 61.5 } }] } });
    expect(seed.statusCode).toBe(200);
    const before = await snapshot();

    const r = prng(20261121);
    const routes = t.hub.app.routeTable.flatMap((x) => [x.method].flat().map((m) => ({ method: m, url: x.url }))).filter((x) => x.method !== 'HEAD');
    const statuses = new Map<number, number>();
    const writesAccepted: string[] = [];
    let n = 0;
    for (let round = 0; round < 100; round++) {
      for (const route of routes) {
        const role = pick(r, ['admin', 'admin', 'display', null] as const);
        let url = route.url.replace(/:[A-Za-z]+/g, () => encodeURIComponent(pick(r, HOSTILE_STRINGS)).slice(0, 300)).replace(/\*$/, pick(r, ['x', '..%2f..%2fetc%2fpasswd', 'wall']));
        if (r() < 0.7) {
          const q = new URLSearchParams();
          for (let i = Math.floor(r() * 5); i > 0; i--) q.append(pick(r, ['asset', 'fields', 'from', 'to', 'bucket', 'aggregate', 'limit', 'kind', 'under', 'assets', 'token', 'next', 'action', 'beforeSeq', '__proto__', 'constructor[prototype][x]']), String(pick(r, HOSTILE_STRINGS)).slice(0, 2000));
          url += `?${q.toString()}`;
        }
        // The live socket and logout are not for fuzzing here (logout would just end the fuzzer's session).
        if (route.url === '/api/live' || route.url === '/api/auth/logout') continue;
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : r() < 0.5 ? rawBody(r) : JSON.stringify(hostileValue(r));
        const headers: Record<string, string> = { 'content-type': pick(r, ['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-7']) };
        if (role) headers['cookie'] = t.cookies[role];
        if (r() < 0.05) headers['authorization'] = `Bearer ${pick(r, HOSTILE_STRINGS)}`;
        const res = await t.hub.app.inject({ method: route.method as 'GET', url, headers, ...(body === undefined ? {} : { payload: body }) });
        n++;
        if (route.method !== 'GET' && res.statusCode < 300) writesAccepted.push(`${route.method} ${url.slice(0, 100)} ${String(body).slice(0, 200)}`);
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${route.method} ${url.slice(0, 200)} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
        if (res.statusCode >= 400 && res.headers['content-type']?.toString().includes('json')) {
          const err = res.json() as { error?: { code?: unknown } };
          expect(typeof err.error?.code, `${route.method} ${url.slice(0, 100)}`).toBe('string');
        }
      }
    }
    expect(n).toBeGreaterThan(2500);
    // Every fuzzed write was malformed or unauthorised: none may have been accepted.
    expect(writesAccepted).toEqual([]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // Still alive and serving.
    expect((await t.as('operator', { method: 'GET', url: '/api/health' })).json().status).toBe('up');
    expect(await snapshot()).toBe(before);
  }, 120_000);
});
