import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../../../config/load.ts';
import { SOURCE_PLUGINS } from '../index.ts';
import { registersToBytes } from './decode.ts';
import { compileModbusTemplate, validateModbusTemplate } from './template.ts';

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

function problemsOf(sourcesYaml: string): string {
  try {
    loadWith(sourcesYaml);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

function loadWith(sourcesYaml: string): ReturnType<typeof loadConfig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-modbus-docs-'));
  dirs.push(dir);
  cpSync(path.join(DEFAULT_CONFIG_DIR, 'network.yaml'), path.join(dir, 'network.yaml'));
  writeFileSync(path.join(dir, 'sources.yaml'), sourcesYaml);
  return loadConfig({ dir, env: {}, plugins: SOURCE_PLUGINS });
}

describe('docs samples', () => {
  it.each(['docs/modbus.md', 'ingest/sources/modbus/README.md'])('the sources.yaml sample in %s loads against the demo network', (file) => {
    const cfg = loadWith(sample(file, 'sources.yaml'));
    const src = cfg.sources.find((s) => s.entry.kind === 'modbus');
    expect(src).toBeDefined();
    expect((src!.entry['devices'] as unknown[]).length).toBeGreaterThanOrEqual(2);
  });

  it('the demo sources.yaml loads, with its modbus devices behind one gateway', () => {
    const cfg = loadConfig({ dir: DEFAULT_CONFIG_DIR, env: { SIM_MODBUS_PORT: '16020' }, plugins: SOURCE_PLUGINS });
    const src = cfg.sources.find((s) => s.entry.kind === 'modbus')!;
    const devices = src.entry['devices'] as { asset: string; unitId: number }[];
    // Unit id = substation number; some substations may be read over another protocol instead.
    expect(devices.length).toBeGreaterThanOrEqual(1);
    for (const d of devices) expect(d.asset).toBe(`ss${String(d.unitId).padStart(2, '0')}`);
    expect((src.entry['defaults'] as { port: number }).port).toBe(16020);
  });

  it('an entry outside the schema is refused with its path', () => {
    const message = problemsOf(`
sources:
  - id: bad
    kind: modbus
    defaults: { host: 127.0.0.1, template: substation-modbus }
    devices:
      - { asset: ss01, unitId: 1, maxRegistersPerRead: 200 }
`);
    expect(message).toMatch(/sources.yaml: \/sources\/0\/devices\/0\/maxRegistersPerRead: Expected integer to be less or equal to 125/);
  });

  it('cross-checks report every problem with its path', () => {
    const message = problemsOf(`
sources:
  - id: bad
    kind: modbus
    defaults: { host: 127.0.0.1, template: substation-modbus }
    devices:
      - { asset: nowhere, unitId: 2 }
      - { asset: ss03, unitId: 3, template: no-such-template }
      - { asset: ss04, unitId: 4, writes: { enabled: true, points: [outdoor_temp_c] } }
      - { asset: ss05, unitId: 4 }
      - { asset: ss01-b1, unitId: 6 }
`);
    expect(message).toMatch(/devices\/0\/asset: unknown asset "nowhere"/);
    expect(message).toMatch(/devices\/1\/template: unknown template "no-such-template"/);
    expect(message).toMatch(/devices\/2\/writes\/points\/0: "outdoor_temp_c" is not a writable field/);
    expect(message).toMatch(/devices\/3\/unitId: 127.0.0.1:502 unit 4 is also \/devices\/2/);
    expect(message).toMatch(/devices\/4\/asset: asset "ss01-b1" is a building; template "substation-modbus" describes a substation/);
  });

  it('the worked example decodes as docs/modbus.md says', () => {
    const raw = parse(sample('docs/modbus.md', 'template')) as Record<string, unknown>;
    expect(validateModbusTemplate(raw)).toEqual([]);
    const t = compileModbusTemplate(raw);
    const regs = new Array<number>(22).fill(0);
    regs[0] = 0xffda;
    regs[14] = 0x0005;
    regs[20] = 0x0000;
    regs[21] = 0x4291;
    const bytes = registersToBytes(regs);
    const value = (name: string): unknown => {
      const f = t.byName.get(name)!;
      return f.decode(bytes, f.address * 2);
    };
    expect(value('outdoor_temp_c')).toBe(-3.8);
    expect([value('remote'), value('auto'), value('vfd_fault')]).toEqual([true, false, true]);
    expect(value('secondary_supply_temp_c')).toBe(72.5);
  });
});
