import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AssetTree } from '../../../config/asset-tree.ts';
import { checkAgainst, DEFAULT_CONFIG_DIR, type ConfigProblem as FileProblem } from '../../../config/load.ts';
import { NetworkFile } from '../../../config/schema.ts';
import { MqttSourceConfig, validateMqttConfig } from './config.ts';
import { compileTemplates } from './mqtt-source.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const network = checkAgainst(NetworkFile, parse(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), 'utf8')), 'network.yaml', []);
const assets = new AssetTree(network!);
const ctx = { assets, templates: new Map<string, Record<string, unknown>>() };

/** ${VAR:-default} → default, ${VAR} → a placeholder: what the loader does with an environment that sets only secrets. */
function env(text: string): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g, (_m, _name: string, dflt: string | undefined) => dflt ?? 'from-env');
}

function check(entry: unknown): { config?: MqttSourceConfig; problems: string[] } {
  const fileProblems: FileProblem[] = [];
  const config = checkAgainst(MqttSourceConfig, entry, 'sources.yaml', fileProblems);
  const problems = fileProblems.map((p) => `${p.path}: ${p.message}`);
  if (config) for (const p of validateMqttConfig(config, ctx)) problems.push(`${p.path}: ${p.message}`);
  return config ? { config, problems } : { problems };
}

function mqttEntries(doc: unknown): unknown[] {
  return ((doc as { sources?: { kind?: string }[] }).sources ?? []).filter((s) => s.kind === 'mqtt');
}

describe('MQTT source configuration', () => {
  it.each(['docs/mqtt.md', 'ingest/sources/mqtt/README.md'])('accepts the samples in %s and maps their topics to demo assets', (file) => {
    const md = readFileSync(path.join(ROOT, file), 'utf8');
    const blocks = [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.includes('kind: mqtt'));
    expect(blocks.length).toBeGreaterThan(0);
    for (const block of blocks) {
      const entries = mqttEntries(parse(env(block)));
      expect(entries.length).toBeGreaterThan(0);
      for (const e of entries) {
        const { config, problems } = check(e);
        expect(problems).toEqual([]);
        const m = compileTemplates(config!);
        expect(m.match('warmgrid/ss01/ss01-b2/0302/telemetry')?.value.asset?.render(m.match('warmgrid/ss01/ss01-b2/0302/telemetry')!.segments)).toBe('ss01-b2-0302');
      }
    }
  });

  it('accepts the demo sources.yaml, with its defaults (embedded broker, MQTT 3.1.1)', () => {
    const entries = mqttEntries(parse(env(readFileSync(path.join(DEFAULT_CONFIG_DIR, 'sources.yaml'), 'utf8'))));
    expect(entries).toHaveLength(1);
    const { config, problems } = check(entries[0]);
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ url: 'mqtt://127.0.0.1:1884', protocolVersion: 4, receiveMaximum: 65535, sessionExpirySec: 604800 });
    const m = compileTemplates(config!);
    expect(m.match('warmgrid/weather/ws1/telemetry')?.value.asset?.render(['warmgrid', 'weather', 'ws1', 'telemetry'])).toBe('ws1');
  });

  const base = { id: 'm', kind: 'mqtt', clientId: 'hub-1', topics: [{ filter: 'warmgrid/+/+/+/telemetry', asset: '{2}-{3}' }] };
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no client id', { ...base, clientId: undefined }, /^\/clientId: /],
    ['no topics', { ...base, topics: [] }, /^\/topics: /],
    ['MQTT version 3', { ...base, protocolVersion: 3 }, /^\/protocolVersion: /],
    ['# not last', { ...base, topics: [{ filter: 'a/#/b', asset: '{1}' }] }, /^\/topics\/0\/filter: .*last/],
    ['$share in the filter', { ...base, topics: [{ filter: '$share/g/a/+', asset: '{3}' }] }, /shareGroup/],
    ['a level the filter lacks', { ...base, topics: [{ filter: 'a/+', asset: '{5}' }] }, /^\/topics\/0\/asset: \{5\}/],
    ['a json template without asset', { ...base, topics: [{ filter: 'a/+' }] }, /^\/topics\/0\/asset: /],
    ['an unknown placeholder', { ...base, topics: [{ filter: 'a/+', asset: '{device}' }] }, /unknown placeholder/],
    ['an unknown fixed asset', { ...base, topics: [{ filter: 'w/x', asset: 'ws9' }] }, /unknown asset "ws9"/],
    ['a fixed asset of another kind', { ...base, topics: [{ filter: 'w/x', asset: 'ss01', assetKind: 'weather_station' }] }, /is a substation/],
    ['a duplicate filter', { ...base, topics: [base.topics[0], base.topics[0]] }, /duplicate filter/],
    ['a field name that is not snake_case', { ...base, topics: [{ ...base.topics[0], fields: { t: 'Room Temp' } }] }, /^\/topics\/0\/fields\//],
    ['sparkplug without metrics', { ...base, topics: [{ filter: 'spBv1.0/g/#', format: 'sparkplug', asset: '{device}' }] }, /needs metrics/],
    ['sparkplug with a shared subscription', { ...base, shareGroup: 'g', topics: [{ filter: 'spBv1.0/g/#', format: 'sparkplug', metrics: { T: 'room_temp_c' }, asset: '{device}' }] }, /shared subscription/],
    ['sparkplug device mapped to an unknown asset', { ...base, topics: [{ filter: 'spBv1.0/g/#', format: 'sparkplug', metrics: { T: 'room_temp_c' }, devices: { 'n1/d1': 'nope' } }] }, /unknown asset "nope"/],
    ['a missing TLS file', { ...base, url: 'mqtts://b:8883', tls: { ca: '/nonexistent/ca.pem' } }, /^\/tls\/ca: file not found/],
    ['a client certificate without its key', { ...base, tls: { cert: path.join(ROOT, 'package.json') } }, /both cert and key/],
    ['a password without a username', { ...base, password: 'x' }, /needs a username/],
    ['reconnect max below min', { ...base, reconnect: { minMs: 5000, maxMs: 1000 } }, /reconnect.minMs/],
    ['an unknown key', { ...base, qos: 1 }, /^: Unexpected property|qos/],
  ])('reports %s', (_n, entry, want) => {
    const { problems } = check(JSON.parse(JSON.stringify(entry)));
    expect(problems.some((p) => want.test(p)), problems.join('\n')).toBe(true);
  });
});
