import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FACE_NAMESPACE_URI, FACE_NODES } from '../../../simulators/faces/opcua/layout.ts';
import { SUBSTATION_TAG_NAMES } from '../../../simulators/model/substation-tags.ts';
import { compileOpcuaTemplate, deviceAddresses, validateOpcuaTemplate } from './template.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SHIPPED = parse(readFileSync(path.join(ROOT, 'config/templates/substation-opcua.yaml'), 'utf8')) as Record<string, unknown>;

function tpl(over: Record<string, unknown>): Record<string, unknown> {
  return { id: 't', protocol: 'opcua', assetKind: 'substation', namespaces: { sub: 'urn:x' }, namespace: 'sub', root: 'Substations/{asset}', fields: [{ name: 'a_c', path: 'A' }], ...over };
}

function messages(raw: Record<string, unknown>): string[] {
  return validateOpcuaTemplate(raw).map((p) => `${p.path}: ${p.message}`);
}

describe('the shipped template substation-opcua', () => {
  it('is valid and has every tag of the simulated substation, by browse path from the substation object', () => {
    expect(messages(SHIPPED)).toEqual([]);
    const t = compileOpcuaTemplate(SHIPPED);
    expect(t.fields.map((f) => f.name).sort()).toEqual([...SUBSTATION_TAG_NAMES].sort());
    expect(t.fields.every((f) => f.address.kind === 'path')).toBe(true);
  });

  it('points at the nodes the simulator serves, with the same writable points and bounds within the served ranges', () => {
    const t = compileOpcuaTemplate(SHIPPED);
    const a = deviceAddresses(t, { asset: 'ss11', device: 'ss11' });
    expect(a.root).toEqual([
      { ns: { uri: FACE_NAMESPACE_URI }, name: 'Substations' },
      { ns: { uri: FACE_NAMESPACE_URI }, name: 'ss11' },
    ]);
    for (const f of t.fields) {
      const node = FACE_NODES.find((n) => n.tag === f.name)!;
      const addr = a.fields[f.index]!;
      expect(addr.kind === 'path' && addr.path.map((b) => b.name).join('/'), f.name).toBe(`${node.folder}/${node.name}`);
      expect(f.writable, f.name).toBe(node.writable);
      if (f.writable && f.min !== undefined) {
        expect(f.min, f.name).toBeGreaterThanOrEqual(node.range!.low);
        expect(f.max!, f.name).toBeLessThanOrEqual(node.range!.high);
      }
    }
  });

  it('lets a device move its object with root', () => {
    const t = compileOpcuaTemplate(SHIPPED);
    const a = deviceAddresses(t, { asset: 'ss11', device: 'plc-7' }, 'sub:Plants/sub:{device}');
    expect(a.root!.map((b) => b.name)).toEqual(['Plants', 'plc-7']);
  });
});

describe('template validation', () => {
  it.each([
    ['a field with neither path nor nodeId', tpl({ fields: [{ name: 'a_c' }] }), /fields\/0: give exactly one of path .* and nodeId/],
    ['a field with both', tpl({ fields: [{ name: 'a_c', path: 'A', nodeId: 'i=1' }] }), /fields\/0: give exactly one/],
    ['a duplicate name', tpl({ fields: [{ name: 'a_c', path: 'A' }, { name: 'a_c', path: 'B' }] }), /fields\/1\/name: duplicate name "a_c"/],
    ['a path without a root', tpl({ root: undefined }), /fields\/0\/path: a browse path is relative to the device object/],
    ['an unknown alias', tpl({ fields: [{ name: 'a_c', path: 'x:A' }] }), /fields\/0\/path: unknown namespace alias "x"/],
    ['a bad NodeId', tpl({ fields: [{ name: 'a_c', nodeId: 'ns=1;q=2' }] }), /fields\/0\/nodeId: .*is not a NodeId/],
    ['an unknown placeholder', tpl({ root: 'Substations/{site}' }), /root: unknown placeholder \{site\}/],
    ['a writable number without bounds', tpl({ fields: [{ name: 'a_c', path: 'A', writable: true }] }), /fields\/0: a writable number needs min and max/],
    ['bounds on a read-only field', tpl({ fields: [{ name: 'a_c', path: 'A', min: 0, max: 1 }] }), /min and max bound writes; this field is not writable/],
    ['min above max', tpl({ fields: [{ name: 'a_c', path: 'A', writable: true, min: 5, max: 1 }] }), /fields\/0\/min: min 5 is above max 1/],
    ['a default namespace that is no alias', tpl({ namespace: 'nope' }), /namespace: "nope" is not an alias/],
    ['a field name that is not snake_case', tpl({ fields: [{ name: 'SupplyTemp', path: 'A' }] }), /fields\/0\/name/],
    ['a percent deadband over 100', tpl({ fields: [{ name: 'a_c', path: 'A', deadband: { type: 'percent', value: 150 } }] }), /deadband\/value: a percent deadband is 0..100/],
  ])('refuses %s', (_name, raw, message) => {
    expect(messages(raw).join('\n')).toMatch(message);
  });

  it('accepts explicit NodeIds with placeholders, filled in per device', () => {
    const raw = tpl({ root: undefined, fields: [{ name: 'a_c', nodeId: 'nsu=sub;s={asset}.A' }, { name: 'b_c', nodeId: 'ns=0;i=2258' }] });
    expect(messages(raw)).toEqual([]);
    const a = deviceAddresses(compileOpcuaTemplate(raw), { asset: 'ss03', device: 'ss03' });
    expect(a.root).toBeNull();
    expect(a.fields).toEqual([
      { kind: 'nodeId', nodeId: { ns: { uri: 'urn:x' }, type: 's', id: 'ss03.A' } },
      { kind: 'nodeId', nodeId: { ns: { index: 0 }, type: 'i', id: '2258' } },
    ]);
  });
});
