import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from '../config/load.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';
import { canonicalJson } from './rule-store.ts';
import { RULE_TEMPLATES } from './templates.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NETWORK = `
company: { id: c1, name: Co }
climate: { city: Jinan, designOutdoorC: -5.3 }
heatSources:
  - { id: hs1, name: Plant, networks: [{ id: n1, name: Net, substations: [{ id: s1, name: Sub, buildings: [{ id: s1-b1, name: B1, floors: 2, unitsPerFloor: 2 }] }] }] }
`;

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-alarms-config-'));
  dirs.push(d);
  writeFileSync(path.join(d, 'network.yaml'), NETWORK);
  for (const [k, v] of Object.entries(files)) writeFileSync(path.join(d, k), v);
  return d;
}

function problems(files: Record<string, string>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ dir: dir(files), env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.file}:${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('the demo alarm rules', () => {
  const demo = loadConfig({ dir: DEFAULT_CONFIG_DIR, env: {}, plugins: SOURCE_PLUGINS }).alarms;

  it('load, and ship a rule for every fault of DOMAIN.md §4', () => {
    const tagged = new Set(demo.alarms.rules.map((r) => r.template));
    for (const t of RULE_TEMPLATES) expect(tagged, t.id).toContain(t.id);
    for (const fault of ['leak', 'pump-failure', 'stuck-valve', 'sensor-fault', 'comm-loss', 'heat-theft', 'cold-flat', 'overheating', 'low-dt', 'heat-meter-fault']) {
      expect(RULE_TEMPLATES.map((t) => t.id)).toContain(fault);
    }
  });

  it('are the templates, rule for rule (the templates API and the shipped file stay the same)', () => {
    const byId = new Map(RULE_TEMPLATES.flatMap((t) => t.rules).map((r) => [r.id, r]));
    for (const r of demo.alarms.rules) expect(canonicalJson(r), r.id).toBe(canonicalJson(byId.get(r.id)));
    expect(demo.alarms.rules).toHaveLength(byId.size);
  });

  it('come with teams covering every substation, and a default', () => {
    const raw = parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'tickets.yaml'), 'utf8')) as { teams: { areas: string[] }[] };
    const covered = new Set(raw.teams.flatMap((t) => t.areas));
    for (let i = 1; i <= 12; i++) expect(covered).toContain(`ss${String(i).padStart(2, '0')}`);
    expect(demo.tickets.defaultTeam).toBe('dispatch');
  });
});

describe('alarms.yaml and tickets.yaml validation', () => {
  it('reports every problem with its file and path', () => {
    const alarms = `
rules:
  - { id: a, kind: threshold, name: A, assetKind: substation, category: leak, field: x_c, h: 1, hh: 0 }
  - { id: a, kind: discrete, name: B, assetKind: substation, category: leak, field: y, equals: true }
  - { id: c, kind: stale, name: C, assetKind: substation, category: comm_loss, maxAgeS: 30, where: { assets: [nope] }, suppresses: [zzz-*] }
  - { id: d, kind: carrier-pigeon, name: D }
  - { id: e, kind: share, name: E, assetKind: building, category: comfort, member: { kind: apartment }, field: room_temp_c, minShare: 0.2 }
`;
    const p = problems({ 'alarms.yaml': alarms });
    expect(p).toEqual(
      expect.arrayContaining([
        'alarms.yaml:/rules/0/h: h must not be above hh',
        'alarms.yaml:/rules/1/id: duplicate rule id "a"',
        'alarms.yaml:/rules/2/where/assets/0: unknown asset "nope"',
        'alarms.yaml:/rules/2/suppresses/0: "zzz-*" matches no rule',
        'alarms.yaml:/rules/4: give below or above',
      ]),
    );
    expect(p).toContain('alarms.yaml:/rules/3/kind: unknown rule kind "carrier-pigeon" (known: threshold, discrete, rate, stale, deviation, flatline, spike, share, baseline, neighbour)');
  });

  it('reads webhook secrets only from the environment, and checks teams against the asset tree', () => {
    const tickets = `
teams: [{ id: t1, name: T1, areas: [s1, s9] }]
defaultTeam: t2
webhooks:
  endpoints: [{ id: desk, url: "http://desk.example/hook", secretEnv: DESK_SECRET }]
`;
    expect(problems({ 'tickets.yaml': tickets })).toEqual([
      'tickets.yaml:/teams/0/areas/1: unknown asset "s9"',
      'tickets.yaml:/defaultTeam: no team "t2"',
      'tickets.yaml:/webhooks/endpoints/0/secretEnv: set DESK_SECRET in the environment to a secret of at least 16 characters',
    ]);
    expect(problems({ 'tickets.yaml': tickets.replace('s9', 's1-b1').replace('t2', 't1') }, { DESK_SECRET: 'long-enough-secret-123' })).toEqual([]);
    expect(problems({ 'tickets.yaml': 'webhooks: { endpoints: [{ id: d, url: "http://x/h", secretEnv: S, secret: abc }] }' })[0]).toMatch(/^tickets.yaml:\/webhooks\/endpoints\/0/);
  });
});
