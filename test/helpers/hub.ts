/**
 * Builds a real hub (real embedded store and state database in a temp directory, real pipeline and HTTP app) for
 * integration tests, with one user per role and helpers to call the API as each.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG_DIR, loadConfig, type HubConfig } from '../../config/load.ts';
import type { Clock } from '../../core/clock.ts';
import { silentLogger } from '../../core/log.ts';
import { SOURCE_PLUGINS } from '../../ingest/sources/index.ts';
import { Hub } from '../../server/hub.ts';
import { createTelemetryStore } from '../../store/index.ts';
import type { TelemetryStore } from '../../store/telemetry-store.ts';
import { ROLES, type Role } from '../../server/roles.ts';

export interface TestHub {
  hub: Hub;
  config: HubConfig;
  dir: string;
  dataDir: string;
  /** Session cookie per role (a user holding only that role). */
  cookies: Record<Role, string>;
  passwords: Record<Role, string>;
  /** inject() as a user of the given role (or anonymously with null). */
  as(role: Role | null, opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestHubOptions {
  /** Extra or replacement files in the config directory (hub.yaml, sources.yaml, ...). */
  files?: Record<string, string>;
  /** Files served at / instead of the built dashboard. */
  staticDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Reuse a data directory (to test restarts); it is then left in place. */
  dataDir?: string;
  /** hub.yaml keys (YAML text) that replace the test defaults, top-level key by key. */
  hubYaml?: string;
  /** Start the configured sources (default true). */
  startSources?: boolean;
  /** Wraps the configured telemetry store, e.g. to make its writes slow or fail. */
  wrapStore?: (store: TelemetryStore) => TelemetryStore;
  /** The hub's clock (e.g. a ManualClock to run simulated hours). */
  clock?: Clock;
}

export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-hub-'));
  const cfgDir = path.join(dir, 'config');
  cpSync(DEFAULT_CONFIG_DIR, cfgDir, { recursive: true });
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  // The demo's hub.yaml (pipeline rules included) with test settings on top.
  const hubDoc = (parse(readFileSync(path.join(cfgDir, 'hub.yaml'), 'utf8')) ?? {}) as Record<string, unknown>;
  Object.assign(hubDoc, { http: { port: 0, host: '127.0.0.1' }, dataDir, store: { flushMs: 20 } }, parse(opts.hubYaml ?? '') ?? {});
  writeFileSync(path.join(cfgDir, 'hub.yaml'), stringify(hubDoc));
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(path.join(cfgDir, name), text);
  if (!opts.files?.['sources.yaml']) writeFileSync(path.join(cfgDir, 'sources.yaml'), 'sources: []\n');
  const config = loadConfig({ dir: cfgDir, env: opts.env ?? {}, plugins: SOURCE_PLUGINS });
  const hub = await Hub.create({ config, log: silentLogger(), env: opts.env ?? {}, ...(opts.staticDir ? { staticDir: opts.staticDir } : {}), ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.wrapStore ? { store: opts.wrapStore(createTelemetryStore(config)) } : {}) });
  if (opts.startSources !== false) await hub.startSources();

  const cookies = {} as Record<Role, string>;
  const passwords = {} as Record<Role, string>;
  for (const role of ROLES) {
    const username = `test-${role}`;
    const password = `pw-${role}-${Math.random().toString(36).slice(2)}-x`;
    passwords[role] = password;
    const existing = (await hub.services.auth.listUsers()).find((u) => u.username === username);
    if (!existing) await hub.services.auth.createUser({ username, password, roles: [role] }, 'system');
    else await hub.services.auth.updateUser(existing.id, { password }, { kind: 'user', id: 'test', name: 'test', roles: new Set(['admin']) });
    const res = await hub.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`test login as ${role} failed: ${res.body}`);
    const c = res.cookies.find((x) => x.name === 'wg_session');
    cookies[role] = `wg_session=${c!.value}`;
  }

  return {
    hub,
    config,
    dir,
    dataDir,
    cookies,
    passwords,
    as(role, o) {
      const headers = { ...(o.headers ?? {}) } as Record<string, string>;
      if (role) headers['cookie'] = cookies[role];
      return hub.app.inject({ ...o, headers });
    },
    async close() {
      await hub.stop();
      if (opts.dataDir) rmSync(cfgDir, { recursive: true, force: true });
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}
