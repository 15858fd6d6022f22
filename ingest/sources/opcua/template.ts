/**
 * OPC UA device templates (config/templates/*.yaml with `protocol: opcua`): where each hub field of a device type lives
 * in a server's address space, as a browse path relative to the device's object or as an explicit NodeId. Both the hub
 * and the simulator read config/templates/; the simulator's OPC UA face serves its own layout, and this file is how the
 * hub finds it.
 *
 * `validateOpcuaTemplate` checks a raw template and returns every problem (JSON pointers into the file);
 * `compileOpcuaTemplate` turns a valid one into parsed addresses, shared by every device using it.
 * See docs/opcua.md for the format.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ConfigProblem } from '../../source.ts';
import { fillPlaceholders, parseBrowsePath, parseNodeId, unknownPlaceholders, type AddressContext, type BrowseName, type NamespaceRef, type NodeIdRef } from './address.ts';

const FIELD_NAME = '^[a-z][a-z0-9_]{0,63}$';

export const Deadband = Type.Object(
  {
    type: Type.Union([Type.Literal('none'), Type.Literal('absolute'), Type.Literal('percent')], {
      description: 'none; absolute (in the value’s unit); percent (of the node’s EURange, analog items only) — Part 4 DataChangeFilter',
    }),
    value: Type.Number({ minimum: 0, default: 0, description: 'Deadband size' }),
  },
  { additionalProperties: false },
);
export type Deadband = Static<typeof Deadband>;

export const OpcuaField = Type.Object(
  {
    name: Type.String({ pattern: FIELD_NAME, description: 'Field name in the hub, snake_case with a unit suffix' }),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Browse path relative to the device object, e.g. "Primary/SupplyTemperature"' })),
    nodeId: Type.Optional(Type.String({ minLength: 3, maxLength: 4200, description: 'Explicit NodeId, e.g. "nsu=sim;s={asset}.HeatMeter.Energy" ({asset} and {device} are filled in)' })),
    unit: Type.Optional(Type.String({ maxLength: 32 })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    writable: Type.Boolean({ default: false, description: 'The hub may write it' }),
    min: Type.Optional(Type.Number({ description: 'Lowest value a write may set (required for writable numbers)' })),
    max: Type.Optional(Type.Number({ description: 'Highest value a write may set (required for writable numbers)' })),
    type: Type.Optional(Type.Union([Type.Literal('number'), Type.Literal('boolean')], { description: 'What a write takes (default number)' })),
    samplingIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'Overrides the source’s monitoring.samplingIntervalMs for this field' })),
    queueSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    deadband: Type.Optional(Deadband),
  },
  { additionalProperties: false },
);
export type OpcuaField = Static<typeof OpcuaField>;

export const OpcuaTemplate = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' }),
    protocol: Type.Literal('opcua'),
    assetKind: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    namespaces: Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$' }), Type.String({ minLength: 1, maxLength: 500 }), {
      default: {},
      description: 'Alias → namespace URI, used as prefixes in browse paths and in nsu= of NodeIds',
    }),
    namespace: Type.Optional(Type.String({ description: 'Alias (or index) of browse names written without a prefix; default: namespace 0' })),
    root: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, description: 'Browse path from the Objects folder to the device object, e.g. "Substations/{asset}"' })),
    fields: Type.Array(OpcuaField, { minItems: 1, maxItems: 10_000 }),
  },
  { additionalProperties: false },
);
export type OpcuaTemplate = Static<typeof OpcuaTemplate>;

export interface CompiledOpcuaField {
  readonly index: number;
  readonly name: string;
  /** Browse path relative to the device object, or a NodeId; text with placeholders, parsed per device. */
  readonly address: { kind: 'path'; text: string } | { kind: 'nodeId'; text: string };
  readonly writable: boolean;
  readonly valueType: 'number' | 'boolean';
  readonly min?: number;
  readonly max?: number;
  readonly unit?: string;
  readonly samplingIntervalMs?: number;
  readonly queueSize?: number;
  readonly deadband?: Deadband;
}

export interface CompiledOpcuaTemplate {
  readonly id: string;
  readonly assetKind: string;
  readonly context: AddressContext;
  /** Browse path text of the device object with placeholders (parsed per device, after filling them in). */
  readonly root: string | null;
  readonly fields: readonly CompiledOpcuaField[];
  readonly byName: ReadonlyMap<string, CompiledOpcuaField>;
}

function contextOf(t: OpcuaTemplate): { ctx: AddressContext } | { problem: ConfigProblem } {
  let defaultNs: NamespaceRef = { index: 0 };
  if (t.namespace !== undefined) {
    if (/^\d+$/.test(t.namespace)) defaultNs = { index: Number(t.namespace) };
    else {
      const uri = t.namespaces[t.namespace];
      if (uri === undefined) return { problem: { path: '/namespace', message: `"${t.namespace}" is not an alias in namespaces (known: ${Object.keys(t.namespaces).join(', ') || 'none'})` } };
      defaultNs = { uri };
    }
  }
  return { ctx: { namespaces: t.namespaces, defaultNs } };
}

/** Placeholder values used only to check addresses at load time. */
const CHECK_VALUES = { asset: 'asset', device: 'device' };

/** Every problem of a raw template, or none. */
export function validateOpcuaTemplate(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const t = withDefaults(raw);
  for (const e of Value.Errors(OpcuaTemplate, t)) {
    problems.push({ path: e.path, message: e.message });
    if (problems.length > 100) return problems;
  }
  if (problems.length > 0) return problems;
  const tpl = t as OpcuaTemplate;
  const c = contextOf(tpl);
  if ('problem' in c) return [c.problem];
  const ctx = c.ctx;
  if (tpl.root !== undefined) {
    for (const k of unknownPlaceholders(tpl.root)) problems.push({ path: '/root', message: `unknown placeholder {${k}} (known: {asset}, {device})` });
    const r = parseBrowsePath(fillPlaceholders(tpl.root, CHECK_VALUES), ctx);
    if (!r.ok) problems.push({ path: '/root', message: r.message });
  }
  const names = new Map<string, number>();
  tpl.fields.forEach((f, i) => {
    const at = (key: string): string => `/fields/${i}${key ? `/${key}` : ''}`;
    const prev = names.get(f.name);
    if (prev !== undefined) problems.push({ path: at('name'), message: `duplicate name "${f.name}" (also /fields/${prev})` });
    names.set(f.name, i);
    if ((f.path === undefined) === (f.nodeId === undefined)) problems.push({ path: at(''), message: 'give exactly one of path (browse path from the device object) and nodeId' });
    if (f.path !== undefined) {
      if (tpl.root === undefined) problems.push({ path: at('path'), message: 'a browse path is relative to the device object: set root in the template (or use nodeId)' });
      for (const k of unknownPlaceholders(f.path)) problems.push({ path: at('path'), message: `unknown placeholder {${k}}` });
      const r = parseBrowsePath(fillPlaceholders(f.path, CHECK_VALUES), ctx);
      if (!r.ok) problems.push({ path: at('path'), message: r.message });
    }
    if (f.nodeId !== undefined) {
      for (const k of unknownPlaceholders(f.nodeId)) problems.push({ path: at('nodeId'), message: `unknown placeholder {${k}} (known: {asset}, {device})` });
      const r = parseNodeId(fillPlaceholders(f.nodeId, CHECK_VALUES), ctx);
      if (!r.ok) problems.push({ path: at('nodeId'), message: r.message });
    }
    const type = f.type ?? 'number';
    if (f.writable) {
      if (type === 'number') {
        if (f.min === undefined || f.max === undefined) problems.push({ path: at(''), message: 'a writable number needs min and max' });
        else if (f.min > f.max) problems.push({ path: at('min'), message: `min ${f.min} is above max ${f.max}` });
      } else if (f.min !== undefined || f.max !== undefined) problems.push({ path: at(''), message: 'min and max do not apply to a boolean' });
    } else if (f.min !== undefined || f.max !== undefined) problems.push({ path: at(''), message: 'min and max bound writes; this field is not writable' });
    if (f.deadband?.type === 'percent' && f.deadband.value > 100) problems.push({ path: at('deadband/value'), message: 'a percent deadband is 0..100' });
  });
  return problems;
}

/** Compiles a template; throws with every problem listed when it is not valid. */
export function compileOpcuaTemplate(raw: Record<string, unknown>): CompiledOpcuaTemplate {
  const problems = validateOpcuaTemplate(raw);
  if (problems.length > 0) {
    throw new Error(`opcua template "${String(raw['id'])}" is invalid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
  const tpl = withDefaults(raw) as OpcuaTemplate;
  const { ctx } = contextOf(tpl) as { ctx: AddressContext };
  const fields = tpl.fields.map(
    (f, index): CompiledOpcuaField => ({
      index,
      name: f.name,
      address: f.path !== undefined ? { kind: 'path', text: f.path } : { kind: 'nodeId', text: f.nodeId! },
      writable: f.writable,
      valueType: f.type ?? 'number',
      ...(f.min !== undefined ? { min: f.min } : {}),
      ...(f.max !== undefined ? { max: f.max } : {}),
      ...(f.unit !== undefined ? { unit: f.unit } : {}),
      ...(f.samplingIntervalMs !== undefined ? { samplingIntervalMs: f.samplingIntervalMs } : {}),
      ...(f.queueSize !== undefined ? { queueSize: f.queueSize } : {}),
      ...(f.deadband !== undefined ? { deadband: f.deadband } : {}),
    }),
  );
  return { id: tpl.id, assetKind: tpl.assetKind, context: ctx, root: tpl.root ?? null, fields, byName: new Map(fields.map((f) => [f.name, f])) };
}

/** Where a device's fields are: its object's browse path from the Objects folder, and each field's address. */
export interface DeviceAddresses {
  /** Null when the template has no root and the device gives none (every field then has a NodeId). */
  readonly root: readonly BrowseName[] | null;
  /** By field index: a path relative to `root`, or a NodeId. */
  readonly fields: readonly ({ kind: 'path'; path: readonly BrowseName[] } | { kind: 'nodeId'; nodeId: NodeIdRef })[];
}

/** Fills in `{asset}` and `{device}` and parses every address of one device; throws on an address that does not parse. */
export function deviceAddresses(tpl: CompiledOpcuaTemplate, ids: { asset: string; device: string }, rootOverride?: string): DeviceAddresses {
  const parse = <T>(r: { ok: true; value: T } | { ok: false; message: string }, what: string): T => {
    if (!r.ok) throw new Error(`template ${tpl.id}, device ${ids.device}: ${what}: ${r.message}`);
    return r.value;
  };
  const rootText = rootOverride ?? tpl.root;
  const root = rootText === null ? null : parse(parseBrowsePath(fillPlaceholders(rootText, ids), tpl.context), 'root');
  const fields = tpl.fields.map((f) =>
    f.address.kind === 'path'
      ? { kind: 'path' as const, path: parse(parseBrowsePath(fillPlaceholders(f.address.text, ids), tpl.context), f.name) }
      : { kind: 'nodeId' as const, nodeId: parse(parseNodeId(fillPlaceholders(f.address.text, ids), tpl.context), f.name) },
  );
  return { root, fields };
}

function withDefaults(raw: Record<string, unknown>): unknown {
  return Value.Default(OpcuaTemplate, structuredClone(raw));
}
