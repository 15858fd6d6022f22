import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from './load.ts';

const dirs: string[] = [];
function tmpConfig(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const MINIMAL_NETWORK = `
company: { id: c1, name: Co }
climate: { city: Jinan, designOutdoorC: -5.3 }
heatSources:
  - id: hs1
    name: Plant
    networks:
      - id: n1
        name: Net
        substations:
          - id: s1
            name: Sub
            buildings:
              - { id: s1-b1, name: B1, floors: 2, unitsPerFloor: 2, suspended: ["0102"] }
weatherStations: [{ id: w1, name: Weather }]
`;

function problemsOf(fn: () => unknown): { file: string; path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the demo network: 1 heat source, 12 substations, 40 buildings, about 2,000 apartments, 1 weather station', () => {
    const c = loadConfig({ dir: DEFAULT_CONFIG_DIR, env: {}, plugins: SOURCE_PLUGINS });
    expect(c.assets.ofKind('heat_source')).toHaveLength(1);
    expect(c.assets.ofKind('substation')).toHaveLength(12);
    expect(c.assets.ofKind('building')).toHaveLength(40);
    const apts = c.assets.ofKind('apartment').length;
    expect(apts).toBeGreaterThan(1900);
    expect(apts).toBeLessThan(2100);
    expect(c.assets.ofKind('weather_station')).toHaveLength(1);
    expect(c.hub.http.port).toBe(8080);
  });

  it('builds the asset tree with paths, place tags and suspended accounts', () => {
    const c = loadConfig({ dir: tmpConfig({ 'network.yaml': MINIMAL_NETWORK }), env: {} });
    const apt = c.assets.get('s1-b1-0102')!;
    expect(apt.kind).toBe('apartment');
    expect(apt.path).toEqual(['c1', 'hs1', 'n1', 's1', 's1-b1']);
    expect(apt.attrs['account']).toBe('suspended');
    expect(c.assets.get('s1-b1-0101')!.attrs['account']).toBe('active');
    expect(c.assets.placeTags('s1-b1-0102')).toEqual({ heat_source: 'hs1', network: 'n1', substation: 's1', building: 's1-b1' });
    expect(c.assets.descendants('s1', 'apartment').map((a) => a.id)).toEqual(['s1-b1-0101', 's1-b1-0102', 's1-b1-0201', 's1-b1-0202']);
    expect(c.assets.ancestorOfKind('s1-b1-0201', 'substation')?.id).toBe('s1');
  });

  it('applies defaults from the schema and environment overrides', () => {
    const dir = tmpConfig({ 'network.yaml': MINIMAL_NETWORK, 'hub.yaml': 'dataDir: ${WG_DATA:-/tmp/x}\n' });
    const c = loadConfig({ dir, env: { PORT: '9123' } });
    expect(c.hub.http.port).toBe(9123);
    expect(c.hub.dataDir).toBe('/tmp/x');
    expect(c.hub.store.kind).toBe('embedded');
    expect(c.hub.store.retention.rawDays).toBe(14);
    const c2 = loadConfig({ dir, env: { WG_DATA: '/srv/wg', DATA_DIR: '' } });
    expect(c2.hub.dataDir).toBe('/srv/wg');
  });

  it('lists every problem with its file and path', () => {
    const dir = tmpConfig({
      'hub.yaml': 'http:\n  port: 99999\n  colour: blue\nstore:\n  kind: cassandra\n',
      'network.yaml': MINIMAL_NETWORK.replace('floors: 2', 'floors: 0').replace('id: w1', 'id: "bad id!"'),
    });
    const problems = problemsOf(() => loadConfig({ dir, env: {} }));
    const where = problems.map((p) => `${p.file}:${p.path}`);
    expect(where).toContain('hub.yaml:/http/port');
    expect(where).toContain('hub.yaml:/http/colour');
    expect(where).toContain('hub.yaml:/store/kind');
    expect(where.some((w) => w.startsWith('network.yaml:/heatSources/0/networks/0/substations/0/buildings/0/floors'))).toBe(true);
    expect(where).toContain('network.yaml:/weatherStations/0/id');
  });

  it('reports YAML syntax errors with line and column', () => {
    const dir = tmpConfig({ 'network.yaml': 'company: { id: c1\n  name: [unclosed\n' });
    const problems = problemsOf(() => loadConfig({ dir, env: {} }));
    expect(problems[0]!.file).toBe('network.yaml');
    expect(problems[0]!.path).toMatch(/^line \d+, column \d+$/);
  });

  it('refuses secrets in files and unset environment variables', () => {
    const dir = tmpConfig({
      'network.yaml': MINIMAL_NETWORK,
      'hub.yaml': 'store:\n  kind: influx\n  influx: { url: "${INFLUX_HOST}", org: o, bucket: b, token: abc }\n',
    });
    const problems = problemsOf(() => loadConfig({ dir, env: {} }));
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['/store/influx/token', '/store/influx/url']));
    expect(problems.find((p) => p.path === '/store/influx/url')!.message).toContain('INFLUX_HOST');
  });

  it('refuses duplicate asset ids and unknown source kinds', () => {
    const dup = MINIMAL_NETWORK.replace('id: w1', 'id: s1');
    const dir = tmpConfig({ 'network.yaml': dup, 'sources.yaml': 'sources:\n  - { id: x, kind: carrier-pigeon }\n' });
    const problems = problemsOf(() => loadConfig({ dir, env: {} }));
    expect(problems.some((p) => p.file === 'network.yaml' && p.message.includes('duplicate asset id "s1"'))).toBe(true);
    expect(problems.some((p) => p.file === 'sources.yaml' && p.path === '/sources/0/kind')).toBe(true);
  });

  it('the hub exits 1 with every problem listed before opening any port', () => {
    const dir = tmpConfig({ 'hub.yaml': 'http: { port: -1 }\n', 'network.yaml': 'company: {}\n' });
    const root = path.resolve(import.meta.dirname, '..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'server/main.ts'), '--config', dir], { encoding: 'utf8', timeout: 20_000, cwd: root });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('hub.yaml: /http/port');
    expect(r.stderr).toContain('network.yaml: /company/id');
    expect(r.stderr).toContain('network.yaml: /climate');
    expect(r.stdout).not.toContain('warmgrid is running');
  });
});

describe('docs/configuration.md', () => {
  it('holds the reference generated from the current schema', async () => {
    const { readFileSync } = await import('node:fs');
    const { reference } = await import('./reference.ts');
    const doc = readFileSync(path.resolve(import.meta.dirname, '../docs/configuration.md'), 'utf8');
    const between = doc.split('<!-- reference:start -->\n')[1]?.split('<!-- reference:end -->')[0];
    expect(between, 'run: node --import tsx config/reference.ts and paste between the markers').toBe(reference());
  });
});
