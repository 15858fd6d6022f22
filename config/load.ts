/**
 * Loads and validates a configuration directory. Every problem is collected with its file and path, and the caller
 * (server/main.ts) prints them all and exits 1 before any connection opens. Nothing falls back silently.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { loadAlarmsConfig, type AlarmsConfig } from '../alarms/config.ts';
import type { SourcePlugin } from '../ingest/source.ts';
import { AssetTree } from './asset-tree.ts';
import { HubFile, NetworkFile, SourcesFile, TemplateFile, type SourceEntry } from './schema.ts';

export const REPO_CONFIG_DIR = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_CONFIG_DIR = path.join(REPO_CONFIG_DIR, 'demo');

export interface ConfigProblem {
  file: string;
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${formatProblems(problems)}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `  ${p.file}: ${p.path || '/'}: ${p.message}`).join('\n');
}

export interface ResolvedSource {
  entry: SourceEntry & Record<string, unknown>;
  plugin: SourcePlugin;
}

export interface HubConfig {
  dir: string;
  hub: HubFile;
  network: NetworkFile;
  assets: AssetTree;
  sources: ResolvedSource[];
  templates: Map<string, Record<string, unknown>>;
  /** alarms.yaml and tickets.yaml (alarms/config.ts). */
  alarms: AlarmsConfig;
}

export interface LoadOptions {
  dir?: string;
  env?: NodeJS.ProcessEnv;
  plugins?: ReadonlyMap<string, SourcePlugin>;
}

const ENV_REF = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string of a parsed document. */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, at: string, problems: (p: string, m: string) => void): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, dflt: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (dflt !== undefined) return dflt;
      problems(at, `environment variable ${name} is not set and has no default`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${at}/${i}`, problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') {
        problems(`${at}/${k}`, 'reserved key');
        continue;
      }
      out[k] = substituteEnv(v, env, `${at}/${k}`, problems);
    }
    return out;
  }
  return value;
}

export function readYaml(file: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): unknown {
  const name = path.basename(path.dirname(file)) === 'templates' ? `templates/${path.basename(file)}` : path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push({ file: name, path: '', message: `cannot read: ${(err as Error).message}` });
    return undefined;
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      problems.push({ file: name, path: pos ? `line ${pos.line}, column ${pos.col}` : '', message: e.message.split('\n')[0] ?? e.message });
    }
    return undefined;
  }
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  return substituteEnv(raw ?? {}, env, '', (p, m) => problems.push({ file: name, path: p, message: m }));
}

/** Applies schema defaults, converts "1502" to 1502 where the schema wants a number, and checks. */
export function checkAgainst<T extends TSchema>(schema: T, value: unknown, file: string, problems: ConfigProblem[], base = ''): Static<T> | undefined {
  const withDefaults = Value.Default(schema, Value.Convert(schema, structuredClone(value)));
  let ok = true;
  for (const e of Value.Errors(schema, withDefaults)) {
    ok = false;
    problems.push({ file, path: `${base}${e.path}`, message: e.message });
    if (problems.length > 200) break;
  }
  return ok ? (withDefaults as Static<T>) : undefined;
}

/** Environment overrides for hub settings. Secrets are taken only from the environment. */
function applyHubEnv(hub: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const obj = (k: string): Record<string, unknown> => {
    const v = hub[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    hub[k] = fresh;
    return fresh;
  };
  if (env['PORT']) obj('http')['port'] = env['PORT'];
  if (env['HOST']) obj('http')['host'] = env['HOST'];
  if (env['DATA_DIR']) hub['dataDir'] = env['DATA_DIR'];
  if (env['STORE']) obj('store')['kind'] = env['STORE'];
  if (env['INFLUX_URL']) {
    const store = obj('store');
    const influx = (store['influx'] ?? {}) as Record<string, unknown>;
    influx['url'] = env['INFLUX_URL'];
    if (env['INFLUX_ORG']) influx['org'] = env['INFLUX_ORG'];
    if (env['INFLUX_BUCKET']) influx['bucket'] = env['INFLUX_BUCKET'];
    store['influx'] = influx;
  }
  const store = hub['store'] as Record<string, unknown> | undefined;
  const influx = store?.['influx'] as Record<string, unknown> | undefined;
  if (influx) {
    if (influx['token'] !== undefined) delete influx['token']; // a token in a file is ignored; see checks below
    if (env['INFLUX_TOKEN']) influx['token'] = env['INFLUX_TOKEN'];
  }
}

function templateDirs(dir: string): string[] {
  const dirs = [path.join(dir, 'templates'), path.join(REPO_CONFIG_DIR, 'templates')];
  return [...new Set(dirs.map((d) => path.resolve(d)))].filter((d) => existsSync(d));
}

export function loadConfig(opts: LoadOptions = {}): HubConfig {
  const env = opts.env ?? process.env;
  const dir = path.resolve(opts.dir ?? env['WARMGRID_CONFIG'] ?? DEFAULT_CONFIG_DIR);
  const plugins = opts.plugins ?? new Map<string, SourcePlugin>();
  const problems: ConfigProblem[] = [];

  if (!existsSync(dir)) throw new ConfigError([{ file: dir, path: '', message: 'configuration directory does not exist' }]);

  // hub.yaml (optional)
  const hubPath = path.join(dir, 'hub.yaml');
  const hubRaw = (existsSync(hubPath) ? readYaml(hubPath, env, problems) : {}) ?? {};
  if (typeof hubRaw !== 'object' || Array.isArray(hubRaw)) problems.push({ file: 'hub.yaml', path: '', message: 'must be a mapping' });
  const hubFileRaw = hubRaw as Record<string, unknown>;
  const fileToken = ((hubFileRaw['store'] as Record<string, unknown> | undefined)?.['influx'] as Record<string, unknown> | undefined)?.['token'];
  if (fileToken !== undefined) problems.push({ file: 'hub.yaml', path: '/store/influx/token', message: 'secrets are not read from files: set INFLUX_TOKEN in the environment' });
  applyHubEnv(hubFileRaw, env);
  const hub = checkAgainst(HubFile, hubFileRaw, existsSync(hubPath) ? 'hub.yaml' : 'hub.yaml (defaults and environment)', problems);
  if (hub?.store.kind === 'influx' && !hub.store.influx) problems.push({ file: 'hub.yaml', path: '/store/influx', message: 'store.kind is influx but no influx url/org/bucket is set (INFLUX_URL, INFLUX_ORG, INFLUX_BUCKET)' });

  // network.yaml (required)
  const netPath = path.join(dir, 'network.yaml');
  let network: NetworkFile | undefined;
  let assets: AssetTree | undefined;
  if (!existsSync(netPath)) {
    problems.push({ file: 'network.yaml', path: '', message: `missing in ${dir}` });
  } else {
    const raw = readYaml(netPath, env, problems);
    if (raw !== undefined) network = checkAgainst(NetworkFile, raw, 'network.yaml', problems);
    if (network) {
      try {
        assets = new AssetTree(network);
      } catch (err) {
        problems.push({ file: 'network.yaml', path: '', message: (err as Error).message });
      }
    }
  }

  // templates
  const templates = new Map<string, Record<string, unknown>>();
  for (const tdir of templateDirs(dir)) {
    for (const f of readdirSync(tdir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort()) {
      const fname = `templates/${f}`;
      const raw = readYaml(path.join(tdir, f), env, problems);
      if (raw === undefined) continue;
      const t = checkAgainst(TemplateFile, raw, fname, problems);
      if (!t) continue;
      if (templates.has(t.id)) continue; // the deployment's own templates/ shadows the shipped ones
      const plugin = plugins.get(t.protocol);
      if (plugins.size > 0 && !plugin) {
        problems.push({ file: fname, path: '/protocol', message: `unknown protocol "${t.protocol}" (known: ${[...plugins.keys()].join(', ')})` });
        continue;
      }
      for (const p of plugin?.validateTemplate?.(t) ?? []) problems.push({ file: fname, path: p.path, message: p.message });
      templates.set(t.id, t);
    }
  }

  // sources.yaml (optional)
  const sources: ResolvedSource[] = [];
  const srcPath = path.join(dir, 'sources.yaml');
  if (existsSync(srcPath)) {
    const raw = readYaml(srcPath, env, problems);
    const file = raw === undefined ? undefined : checkAgainst(SourcesFile, raw, 'sources.yaml', problems);
    const seen = new Set<string>();
    file?.sources.forEach((entry, i) => {
      const at = `/sources/${i}`;
      if (seen.has(entry.id)) problems.push({ file: 'sources.yaml', path: `${at}/id`, message: `duplicate source id "${entry.id}"` });
      seen.add(entry.id);
      const plugin = plugins.get(entry.kind);
      if (!plugin) {
        problems.push({ file: 'sources.yaml', path: `${at}/kind`, message: `unknown source kind "${entry.kind}" (known: ${[...plugins.keys()].join(', ') || 'none'})` });
        return;
      }
      const checked = checkAgainst(plugin.configSchema, entry, 'sources.yaml', problems, at) as (SourceEntry & Record<string, unknown>) | undefined;
      if (!checked) return;
      if (assets) for (const p of plugin.validate?.(checked, { assets, templates }) ?? []) problems.push({ file: 'sources.yaml', path: `${at}${p.path}`, message: p.message });
      if (checked.enabled) sources.push({ entry: checked, plugin });
    });
  }

  const alarms = loadAlarmsConfig(dir, env, assets, problems);
  if (problems.length > 0 || !hub || !network || !assets || !alarms) throw new ConfigError(problems);
  return { dir, hub, network, assets, sources, templates, alarms };
}
