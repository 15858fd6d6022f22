/**
 * Builds a real hub (real embedded store in a temp directory, real pipeline and HTTP app) for integration tests.
 */
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG_DIR, loadConfig, type HubConfig } from '../../config/load.ts';
import { silentLogger } from '../../core/log.ts';
import { SOURCE_PLUGINS } from '../../ingest/sources/index.ts';
import { Hub } from '../../server/hub.ts';

export interface TestHub {
  hub: Hub;
  config: HubConfig;
  dir: string;
  close(): Promise<void>;
}

export interface TestHubOptions {
  /** Extra or replacement files in the config directory (hub.yaml, sources.yaml, ...). */
  files?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
  /** Reuse a data directory (to test restarts). */
  dataDir?: string;
}

export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-hub-'));
  const cfgDir = path.join(dir, 'config');
  cpSync(DEFAULT_CONFIG_DIR, cfgDir, { recursive: true });
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  writeFileSync(path.join(cfgDir, 'hub.yaml'), `http: { port: 0, host: 127.0.0.1 }\ndataDir: ${JSON.stringify(dataDir)}\nstore: { flushMs: 20 }\n`);
  for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(path.join(cfgDir, name), text);
  const config = loadConfig({ dir: cfgDir, env: opts.env ?? {}, plugins: SOURCE_PLUGINS });
  const hub = new Hub({ config, log: silentLogger() });
  await hub.start();
  return {
    hub,
    config,
    dir,
    async close() {
      await hub.stop();
      if (!opts.dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
