import { describe, expect, it } from 'vitest';
import { fillPlaceholders, formatBrowsePath, namespaceIndex, nodeIdString, parseBrowsePath, parseNodeId, unknownPlaceholders, type AddressContext } from './address.ts';

const SUB = 'urn:warmgrid:simulator:substations';
const ctx: AddressContext = { namespaces: { sub: SUB, di: 'http://opcfoundation.org/UA/DI/' }, defaultNs: { uri: SUB } };

describe('browse paths', () => {
  it.each([
    ['Primary/SupplyTemperature', [{ ns: { uri: SUB }, name: 'Primary' }, { ns: { uri: SUB }, name: 'SupplyTemperature' }]],
    ['/Substations/ss11', [{ ns: { uri: SUB }, name: 'Substations' }, { ns: { uri: SUB }, name: 'ss11' }]],
    ['di:DeviceSet/0:Server', [{ ns: { uri: 'http://opcfoundation.org/UA/DI/' }, name: 'DeviceSet' }, { ns: { index: 0 }, name: 'Server' }]],
    ['sub:Valve/2:Mode', [{ ns: { uri: SUB }, name: 'Valve' }, { ns: { index: 2 }, name: 'Mode' }]],
    ['Folder&/With&/Slashes/a&:b', [{ ns: { uri: SUB }, name: 'Folder/With/Slashes' }, { ns: { uri: SUB }, name: 'a:b' }]],
    ['Room 1 (east)/T', [{ ns: { uri: SUB }, name: 'Room 1 (east)' }, { ns: { uri: SUB }, name: 'T' }]],
  ])('parses %s', (text, expected) => {
    expect(parseBrowsePath(text, ctx)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', /empty browse path/],
    ['A//B', /empty browse name at segment 2/],
    ['nope:A', /unknown namespace alias "nope"/],
    ['sub:', /empty browse name/],
    ['A/B&', /lone "&"/],
    ['99999:A', /above 65535/],
  ])('refuses %j', (text, message) => {
    const r = parseBrowsePath(text, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('formats a path back with aliases and escapes', () => {
    const r = parseBrowsePath('sub:A&/B/0:Server', ctx);
    expect(r.ok && formatBrowsePath(r.value, ctx)).toBe('sub:A&/B/0:Server');
  });
});

describe('NodeIds', () => {
  it.each([
    ['i=2255', { ns: { index: 0 }, type: 'i', id: '2255' }],
    ['ns=2;s=ss11.Valve.Mode', { ns: { index: 2 }, type: 's', id: 'ss11.Valve.Mode' }],
    ['nsu=sub;s=ss11.Valve.Mode', { ns: { uri: SUB }, type: 's', id: 'ss11.Valve.Mode' }],
    ['nsu=urn:other:ns;i=42', { ns: { uri: 'urn:other:ns' }, type: 'i', id: '42' }],
    ['ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a', { ns: { index: 1 }, type: 'g', id: '09087e75-8e5e-499b-954f-f2a9603db28a' }],
    ['ns=1;b=M/RbKBsRVkePCePcx24oRA==', { ns: { index: 1 }, type: 'b', id: 'M/RbKBsRVkePCePcx24oRA==' }],
    ['ns=3;s=a;b=c', { ns: { index: 3 }, type: 's', id: 'a;b=c' }],
  ])('parses %s', (text, expected) => {
    expect(parseNodeId(text, ctx)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['ss11.Valve.Mode', /is not a NodeId/],
    ['ns=x;i=1', /not a namespace index/],
    ['ns=1;i=-4', /not a UInt32/],
    ['ns=1;i=4294967296', /not a UInt32/],
    ['ns=1;g=not-a-guid', /not a GUID/],
    ['ns=1;s=', /1..4096 characters/],
    ['nsu=;i=1', /empty namespace URI/],
  ])('refuses %s', (text, message) => {
    const r = parseNodeId(text, ctx);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(message);
  });

  it('finds namespace indexes in a NamespaceArray, which may change between connections', () => {
    const before = ['http://opcfoundation.org/UA/', 'urn:server', SUB];
    const after = ['http://opcfoundation.org/UA/', 'urn:server', 'urn:inserted', SUB];
    const ref = parseNodeId('nsu=sub;s=ss11.Valve.Mode', ctx);
    if (!ref.ok) throw new Error(ref.message);
    expect(nodeIdString(ref.value, namespaceIndex(ref.value.ns, before)!)).toBe('ns=2;s=ss11.Valve.Mode');
    expect(nodeIdString(ref.value, namespaceIndex(ref.value.ns, after)!)).toBe('ns=3;s=ss11.Valve.Mode');
    expect(namespaceIndex({ uri: 'urn:missing' }, after)).toBeUndefined();
    expect(namespaceIndex({ index: 7 }, after)).toBe(7);
  });
});

describe('placeholders', () => {
  it('fills {asset} and {device} and reports others', () => {
    expect(fillPlaceholders('Substations/{asset}/{device}', { asset: 'ss11', device: 'ss11-plc' })).toBe('Substations/ss11/ss11-plc');
    expect(unknownPlaceholders('x/{asset}/{site}/{device}')).toEqual(['site']);
  });
});
