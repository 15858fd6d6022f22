/**
 * Renders the configuration reference tables from the schema, so docs/configuration.md cannot drift from the code.
 * `node --import tsx config/reference.ts` prints them; a test checks the doc holds the current output.
 */
import type { TSchema } from '@sinclair/typebox';
import { HubFile, NetworkFile } from './schema.ts';

interface Row {
  key: string;
  type: string;
  dflt: string;
  doc: string;
}

function typeOf(s: TSchema): string {
  if (s['anyOf']) return (s['anyOf'] as TSchema[]).map((x) => (x['const'] !== undefined ? JSON.stringify(x['const']) : typeOf(x))).join(' \\| ');
  if (s['const'] !== undefined) return JSON.stringify(s['const']);
  const t = s['type'] as string | undefined;
  if (t === 'array') return `list of ${typeOf(s['items'] as TSchema)}`;
  const range: string[] = [];
  if (s['minimum'] !== undefined) range.push(`≥ ${s['minimum']}`);
  if (s['maximum'] !== undefined) range.push(`≤ ${s['maximum']}`);
  if (s['pattern'] !== undefined) range.push(`\`${s['pattern']}\``);
  return `${t ?? 'any'}${range.length ? ` (${range.join(', ')})` : ''}`;
}

function walk(schema: TSchema, prefix: string, rows: Row[], required: boolean): void {
  const props = schema['properties'] as Record<string, TSchema> | undefined;
  if (props) {
    const req = new Set((schema['required'] as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(props)) walk(v, prefix ? `${prefix}.${k}` : k, rows, req.has(k));
    return;
  }
  if (schema['type'] === 'array' && (schema['items'] as TSchema)['properties']) {
    rows.push({ key: prefix, type: 'list', dflt: '', doc: (schema['description'] as string) ?? '' });
    walk(schema['items'] as TSchema, `${prefix}[]`, rows, true);
    return;
  }
  const d = schema['default'];
  rows.push({
    key: prefix,
    type: typeOf(schema),
    dflt: d === undefined ? (required ? 'required' : '') : `\`${JSON.stringify(d)}\``,
    doc: (schema['description'] as string | undefined) ?? '',
  });
}

export function referenceTable(schema: TSchema): string {
  const rows: Row[] = [];
  walk(schema, '', rows, true);
  return ['| key | type | default | meaning |', '|---|---|---|---|', ...rows.map((r) => `| \`${r.key}\` | ${r.type} | ${r.dflt} | ${r.doc} |`)].join('\n');
}

export function reference(): string {
  return `### hub.yaml\n\n${referenceTable(HubFile)}\n\n### network.yaml\n\n${referenceTable(NetworkFile)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(reference());
