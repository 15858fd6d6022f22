import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { planFor } from './modbus-source.ts';
import { compileModbusTemplate, validateModbusTemplate } from './template.ts';

const TEMPLATE_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config/templates/substation-modbus.yaml');
const shipped = (): Record<string, unknown> => parse(readFileSync(TEMPLATE_FILE, 'utf8')) as Record<string, unknown>;

const base = (registers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ id: 't', protocol: 'modbus', assetKind: 'substation', registers, ...extra });

describe('the shipped substation template', () => {
  it('is valid, about 120 registers, and reads in four requests', () => {
    expect(validateModbusTemplate(shipped())).toEqual([]);
    const t = compileModbusTemplate(shipped());
    const cells = new Set<string>();
    for (const f of t.fields) for (let i = 0; i < f.count; i++) cells.add(`${f.area}:${f.address + i}`);
    expect(cells.size).toBeGreaterThanOrEqual(100);
    expect(cells.size).toBeLessThanOrEqual(140);
    const plan = planFor(t, { maxGap: 10, maxRegistersPerRead: 125, maxBitsPerRead: 2000, perFieldReads: false });
    expect(plan.map((r) => r.area)).toEqual(['holding', 'input', 'coil', 'discrete']);
  });

  it('has the worked examples of docs/modbus.md: a float32 CDAB, a scaled int16, a bit of a status word', () => {
    const t = compileModbusTemplate(shipped());
    expect(t.byName.get('secondary_supply_temp_c')?.codec).toMatchObject({ type: 'float32', order: 'CDAB' });
    expect(t.byName.get('outdoor_temp_c')?.codec).toMatchObject({ type: 'int16', scale: 0.1 });
    expect(t.byName.get('vfd_fault')?.codec).toMatchObject({ type: 'bit', bit: 2 });
    expect(t.fields.filter((f) => f.writable).map((f) => f.name)).toEqual(['supply_temp_setpoint_c', 'pump_dp_setpoint_mpa', 'valve_mode', 'valve_manual_pct', 'setpoint_from_curve']);
  });
});

describe('validateModbusTemplate', () => {
  const cases: { name: string; tpl: Record<string, unknown>; want: RegExp[] }[] = [
    { name: 'a valid minimal template', tpl: base([{ name: 'a_c', area: 'holding', address: 0, type: 'int16' }]), want: [] },
    { name: 'unknown type', tpl: base([{ name: 'a_c', area: 'holding', address: 0, type: 'int8' }]), want: [/registers\/0\/type/] },
    { name: 'unknown order', tpl: base([{ name: 'a_c', area: 'holding', address: 0, type: 'int16', order: 'BACD' }]), want: [/registers\/0\/order/] },
    { name: 'unknown key', tpl: base([{ name: 'a_c', area: 'holding', address: 0, type: 'int16', sclae: 2 }]), want: [/Unexpected property/] },
    { name: 'name not snake_case', tpl: base([{ name: 'SupplyTemp', area: 'holding', address: 0, type: 'int16' }]), want: [/registers\/0\/name/] },
    {
      name: 'duplicate names',
      tpl: base([
        { name: 'a_c', area: 'holding', address: 0, type: 'int16' },
        { name: 'a_c', area: 'holding', address: 1, type: 'int16' },
      ]),
      want: [/duplicate name/],
    },
    {
      name: 'overlapping registers',
      tpl: base([
        { name: 'a_c', area: 'input', address: 0, type: 'float32' },
        { name: 'b_c', area: 'input', address: 1, type: 'int16' },
      ]),
      want: [/overlaps "a_c"/],
    },
    {
      name: 'bits of one status word may share it, with different bit numbers',
      tpl: base([
        { name: 'a', area: 'input', address: 3, type: 'bit', bit: 0 },
        { name: 'b', area: 'input', address: 3, type: 'bit', bit: 1 },
      ]),
      want: [],
    },
    {
      name: 'the same bit twice',
      tpl: base([
        { name: 'a', area: 'input', address: 3, type: 'bit', bit: 4 },
        { name: 'b', area: 'input', address: 3, type: 'bit', bit: 4 },
      ]),
      want: [/bit 4 of input 3 is also "a"/],
    },
    { name: 'a bit in a register without its number', tpl: base([{ name: 'a', area: 'input', address: 3, type: 'bit' }]), want: [/needs its bit number/] },
    { name: 'a coil that is not a bit', tpl: base([{ name: 'a', area: 'coil', address: 3, type: 'uint16' }]), want: [/use type bit/] },
    { name: 'a bit number on a coil', tpl: base([{ name: 'a', area: 'coil', address: 3, type: 'bit', bit: 2 }]), want: [/bit applies to a bit inside a register/] },
    { name: 'a float64 past the address space', tpl: base([{ name: 'a', area: 'holding', address: 65533, type: 'float64' }]), want: [/runs past address 65535/] },
    { name: 'scale 0', tpl: base([{ name: 'a', area: 'holding', address: 0, type: 'int16', scale: 0 }]), want: [/scale must be/] },
    { name: 'writable input register', tpl: base([{ name: 'a', area: 'input', address: 0, type: 'int16', writable: true, min: 0, max: 1 }]), want: [/read-only in Modbus/] },
    { name: 'writable discrete input', tpl: base([{ name: 'a', area: 'discrete', address: 0, type: 'bit', writable: true }]), want: [/read-only in Modbus/] },
    { name: 'writable bit of a holding register', tpl: base([{ name: 'a', area: 'holding', address: 0, type: 'bit', bit: 1, writable: true }]), want: [/map it to a coil/] },
    { name: 'writable register without bounds', tpl: base([{ name: 'a', area: 'holding', address: 0, type: 'int16', writable: true }]), want: [/needs min and max/] },
    { name: 'min above max', tpl: base([{ name: 'a', area: 'holding', address: 0, type: 'int16', writable: true, min: 5, max: 1 }]), want: [/min 5 is above max 1/] },
    { name: 'bounds the type cannot hold', tpl: base([{ name: 'a', area: 'holding', address: 0, type: 'int16', scale: 0.1, writable: true, min: 0, max: 5000 }]), want: [/max 5000 cannot be encoded/] },
    { name: 'bounds on a read-only register', tpl: base([{ name: 'a', area: 'holding', address: 0, type: 'int16', min: 0, max: 1 }]), want: [/not writable/] },
    { name: 'wrong protocol', tpl: { ...base([{ name: 'a', area: 'holding', address: 0, type: 'int16' }]), protocol: 'opcua' }, want: [/protocol/] },
    { name: 'no registers', tpl: base([]), want: [/registers/] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = validateModbusTemplate(c.tpl).map((p) => `${p.path}: ${p.message}`);
      if (c.want.length === 0) expect(problems).toEqual([]);
      for (const re of c.want) expect(problems.some((p) => re.test(p)), `${problems.join('\n')} should match ${re}`).toBe(true);
    });
  }

  it('compile refuses an invalid template with every problem listed', () => {
    expect(() => compileModbusTemplate(base([{ name: 'a', area: 'coil', address: 0, type: 'int16' }]))).toThrow(/use type bit/);
  });

  it('applies the template order to fields without their own', () => {
    const t = compileModbusTemplate(base([{ name: 'a', area: 'holding', address: 0, type: 'float32' }, { name: 'b', area: 'holding', address: 2, type: 'float32', order: 'DCBA' }], { order: 'CDAB' }));
    expect(t.fields.map((f) => f.codec.order)).toEqual(['CDAB', 'DCBA']);
    expect(compileModbusTemplate(base([{ name: 'a', area: 'holding', address: 0, type: 'float32' }])).fields[0]!.codec.order).toBe('ABCD');
  });
});
