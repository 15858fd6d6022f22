import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../../config/load.ts';
import { SOURCE_PLUGINS } from '../index.ts';
import { compileOpcuaTemplate, deviceAddresses, validateOpcuaTemplate } from './template.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The code block that follows `<!-- sample: NAME -->` in a markdown file. */
function sample(file: string, name: string): string {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const at = text.indexOf(`<!-- sample: ${name} -->`);
  if (at < 0) throw new Error(`${file} has no sample ${name}`);
  const m = /```ya?ml\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`${file}: sample ${name} has no yaml block`);
  return m[1]!;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function loadWith(sourcesYaml: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-opcua-docs-'));
  dirs.push(dir);
  cpSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), path.join(dir, 'network.yaml'));
  writeFileSync(path.join(dir, 'sources.yaml'), sourcesYaml);
  return loadConfig({ dir, env, plugins: SOURCE_PLUGINS });
}

function problemsOf(sourcesYaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    loadWith(sourcesYaml, env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('docs samples', () => {
  it('the sources.yaml sample in docs/opcua.md loads, with the password from the environment', () => {
    const cfg = loadWith(sample('docs/opcua.md', 'sources.yaml'), { OPCUA_PASSWORD: 'from-the-environment' });
    const src = cfg.sources.find((s) => s.entry.kind === 'opcua')!;
    const defaults = src.entry['defaults'] as { user: { password: string }; security: { mode: string } };
    expect(defaults.user.password).toBe('from-the-environment');
    expect(defaults.security.mode).toBe('SignAndEncrypt');
    expect((src.entry['devices'] as unknown[]).length).toBe(3);
    expect(problemsOf(sample('docs/opcua.md', 'sources.yaml'))).toMatch(/environment variable OPCUA_PASSWORD is not set/);
  });

  it('the sources.yaml sample in the source README loads', () => {
    const cfg = loadWith(sample('ingest/sources/opcua/README.md', 'sources.yaml'));
    expect(cfg.sources.find((s) => s.entry.kind === 'opcua')).toBeDefined();
  });

  it('the demo reads ss11 and ss12 over OPC UA and not over Modbus', () => {
    const cfg = loadConfig({ dir: DEFAULT_CONFIG_DIR, env: { SIM_OPCUA_PORT: '14841' }, plugins: SOURCE_PLUGINS });
    const ua = cfg.sources.find((s) => s.entry.kind === 'opcua')!;
    expect((ua.entry['devices'] as { asset: string }[]).map((d) => d.asset)).toEqual(['ss11', 'ss12']);
    expect((ua.entry['defaults'] as { endpointUrl: string }).endpointUrl).toBe('opc.tcp://127.0.0.1:14841');
    const modbus = cfg.sources.find((s) => s.entry.kind === 'modbus')!;
    const assets = (modbus.entry['devices'] as { asset: string }[]).map((d) => d.asset);
    expect(assets).not.toContain('ss11');
    expect(assets).not.toContain('ss12');
  });

  it('the template sample in docs/opcua.md is valid and resolves as the text says', () => {
    const raw = parse(sample('docs/opcua.md', 'template')) as Record<string, unknown>;
    expect(validateOpcuaTemplate(raw)).toEqual([]);
    const a = deviceAddresses(compileOpcuaTemplate(raw), { asset: 'ss03', device: 'ss03' });
    const dcs = { uri: 'urn:example:dcs' };
    expect(a.root).toEqual([
      { ns: dcs, name: 'Plant' },
      { ns: dcs, name: 'Stations' },
      { ns: dcs, name: 'ss03' },
    ]);
    expect(a.fields[1]).toEqual({ kind: 'path', path: [{ ns: dcs, name: 'Meter' }, { ns: dcs, name: 'Flow' }] });
    expect(a.fields[2]).toEqual({ kind: 'nodeId', nodeId: { ns: dcs, type: 's', id: 'ss03.Energy' } });
    expect(a.fields[3]).toEqual({ kind: 'nodeId', nodeId: { ns: { index: 0 }, type: 'i', id: '2259' } });
    expect(a.fields[5]).toEqual({ kind: 'path', path: [{ ns: dcs, name: 'Pump/Enable' }] });
  });
});

describe('configuration cross-checks', () => {
  it('reports every problem with its path', () => {
    const message = problemsOf(`
sources:
  - id: bad
    kind: opcua
    subscription: { keepAliveCount: 10, lifetimeCount: 20 }
    defaults: { template: substation-opcua, endpointUrl: "opc.tcp://10.0.0.1:4840" }
    devices:
      - { asset: nowhere }
      - { asset: ss02, security: { mode: None } }
      - { asset: ss03, endpointUrl: "opc.tcp://10.0.0.2:4840", security: { mode: None }, user: { username: u, password: p } }
      - { asset: ss04, template: substation-modbus }
      - { asset: ss05, writes: { enabled: true, points: [outdoor_temp_c] } }
      - { asset: ss06, security: { mode: Sign, policy: None } }
      - { asset: ss01-b1 }
      - { asset: ss07, endpointUrl: "opc.tcp://10.0.0.3:4840", root: "Substations/{site}" }
`);
    expect(message).toMatch(/\/subscription\/lifetimeCount: must be at least 3 × keepAliveCount \(30\)/);
    expect(message).toMatch(/devices\/0\/asset: unknown asset "nowhere"/);
    expect(message).toMatch(/devices\/1: shares opc.tcp:\/\/10.0.0.1:4840 \(one session\) with \/devices\/0 but differs in security/);
    expect(message).toMatch(/devices\/2\/user: a user name and password need security mode SignAndEncrypt/);
    expect(message).toMatch(/devices\/3\/template: template "substation-modbus" is for protocol modbus, not opcua/);
    expect(message).toMatch(/devices\/4\/writes\/points\/0: "outdoor_temp_c" is not a writable field/);
    expect(message).toMatch(/devices\/5\/security: security mode Sign does not go with policy None/);
    expect(message).toMatch(/devices\/6\/asset: asset "ss01-b1" is a building; template "substation-opcua" describes a substation/);
    expect(message).toMatch(/devices\/7\/root: unknown placeholder \{site\}/);
  });

  it('refuses an endpoint that is not opc.tcp', () => {
    expect(
      problemsOf(`
sources:
  - { id: x, kind: opcua, defaults: { template: substation-opcua }, devices: [{ asset: ss01, endpointUrl: "http://10.0.0.1" }] }
`),
    ).toMatch(/devices\/0\/endpointUrl/);
  });
});
