/**
 * Addresses in OPC UA templates, parsed without any protocol library (pure, table-tested):
 *
 * - Browse paths: `/`-separated browse names, each `[prefix:]Name`, followed along hierarchical references (forward,
 *   subtypes included), as the `/` of the RelativePath text format (OPC UA Part 4 Annex A.2). The prefix is a
 *   namespace alias of the template, or a namespace index (fixed, so discouraged: indexes may change when a server
 *   restarts); without one, the name is in the template's default namespace. `&` escapes the next character
 *   (`&/`, `&:`, `&&`).
 * - NodeIds: the string forms of Part 6 §5.3.1.10 — `ns=<index>;<t>=<id>`, `nsu=<namespace URI or alias>;<t>=<id>`,
 *   or `<t>=<id>` in namespace 0 — with `<t>` one of `i` (numeric), `s` (string), `g` (GUID), `b` (opaque, base64).
 *
 * Namespaces are kept as URIs wherever the template gives one; they become indexes only against a connected server's
 * NamespaceArray (`namespaceIndex`), each time a session is made, because a server may renumber them on restart.
 */

export type NamespaceRef = { readonly index: number; readonly uri?: undefined } | { readonly uri: string; readonly index?: undefined };

export interface BrowseName {
  readonly ns: NamespaceRef;
  readonly name: string;
}

export interface NodeIdRef {
  readonly ns: NamespaceRef;
  readonly type: 'i' | 's' | 'g' | 'b';
  readonly id: string;
}

export interface AddressContext {
  /** Alias → namespace URI. */
  readonly namespaces: Readonly<Record<string, string>>;
  /** Namespace of browse names without a prefix. */
  readonly defaultNs: NamespaceRef;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const UINT32_MAX = 0xffff_ffff;
const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Replaces `{asset}` and `{device}` in a template address. */
export function fillPlaceholders(text: string, values: { asset: string; device: string }): string {
  return text.replace(/\{(asset|device)\}/g, (_m, k: 'asset' | 'device') => values[k]);
}

/** Placeholders other than `{asset}` and `{device}`, for validation. */
export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!).filter((k) => k !== 'asset' && k !== 'device');
}

function namespaceOf(prefix: string, ctx: AddressContext): Parsed<NamespaceRef> {
  if (/^\d+$/.test(prefix)) {
    const index = Number(prefix);
    if (index > 65535) return { ok: false, message: `namespace index ${prefix} is above 65535` };
    return { ok: true, value: { index } };
  }
  const uri = ctx.namespaces[prefix];
  if (uri === undefined) return { ok: false, message: `unknown namespace alias "${prefix}" (known: ${Object.keys(ctx.namespaces).join(', ') || 'none'})` };
  return { ok: true, value: { uri } };
}

/** Splits on unescaped `sep`, removing the escapes. */
function splitEscaped(text: string, sep: string): Parsed<{ parts: string[]; escapedAt: Set<number>[] }> {
  const parts: string[] = [];
  const escapedAt: Set<number>[] = [];
  let cur = '';
  let esc = new Set<number>();
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '&') {
      if (i + 1 >= text.length) return { ok: false, message: 'ends with a lone "&" (it escapes the next character)' };
      esc.add(cur.length);
      cur += text[++i]!;
    } else if (c === sep) {
      parts.push(cur);
      escapedAt.push(esc);
      cur = '';
      esc = new Set();
    } else cur += c;
  }
  parts.push(cur);
  escapedAt.push(esc);
  return { ok: true, value: { parts, escapedAt } };
}

/** Parses a browse path (a leading `/` is allowed and means the same). */
export function parseBrowsePath(text: string, ctx: AddressContext): Parsed<BrowseName[]> {
  const body = text.startsWith('/') ? text.slice(1) : text;
  if (body.trim() === '') return { ok: false, message: 'empty browse path' };
  const split = splitEscaped(body, '/');
  if (!split.ok) return split;
  const out: BrowseName[] = [];
  for (let k = 0; k < split.value.parts.length; k++) {
    const seg = split.value.parts[k]!;
    const escaped = split.value.escapedAt[k]!;
    if (seg === '') return { ok: false, message: `empty browse name at segment ${k + 1} of "${text}"` };
    // The first unescaped ':' separates the namespace prefix.
    let colon = -1;
    for (let i = 0; i < seg.length; i++) {
      if (seg[i] === ':' && !escaped.has(i)) {
        colon = i;
        break;
      }
    }
    let ns = ctx.defaultNs;
    let name = seg;
    if (colon >= 0) {
      const r = namespaceOf(seg.slice(0, colon), ctx);
      if (!r.ok) return { ok: false, message: `${r.message} in "${text}"` };
      ns = r.value;
      name = seg.slice(colon + 1);
    }
    if (name === '') return { ok: false, message: `empty browse name at segment ${k + 1} of "${text}"` };
    out.push({ ns, name });
  }
  return { ok: true, value: out };
}

/** Parses a NodeId in its string form. */
export function parseNodeId(text: string, ctx: Pick<AddressContext, 'namespaces'>): Parsed<NodeIdRef> {
  let rest = text.trim();
  let ns: NamespaceRef = { index: 0 };
  const nsMatch = /^(nsu|ns)=([^;]*);/.exec(rest);
  if (nsMatch) {
    const [whole, key, value] = nsMatch as unknown as [string, 'ns' | 'nsu', string];
    rest = rest.slice(whole.length);
    if (key === 'ns') {
      if (!/^\d+$/.test(value) || Number(value) > 65535) return { ok: false, message: `ns=${value} is not a namespace index 0..65535 in "${text}"` };
      ns = { index: Number(value) };
    } else {
      if (value === '') return { ok: false, message: `empty namespace URI in "${text}"` };
      ns = { uri: ctx.namespaces[value] ?? value };
    }
  }
  const idMatch = /^([isgb])=([\s\S]*)$/.exec(rest);
  if (!idMatch) return { ok: false, message: `"${text}" is not a NodeId (ns=<index>;<t>=<id> or nsu=<uri>;<t>=<id>, t one of i, s, g, b)` };
  const type = idMatch[1] as NodeIdRef['type'];
  const id = idMatch[2]!;
  if (type === 'i' && !(/^\d+$/.test(id) && Number(id) <= UINT32_MAX)) return { ok: false, message: `i=${id} is not a UInt32 in "${text}"` };
  if (type === 's' && (id.length === 0 || id.length > 4096)) return { ok: false, message: `the string identifier must have 1..4096 characters in "${text}"` };
  if (type === 'g' && !GUID_RE.test(id)) return { ok: false, message: `g=${id} is not a GUID in "${text}"` };
  if (type === 'b' && (id.length === 0 || !BASE64_RE.test(id))) return { ok: false, message: `b=${id} is not base64 in "${text}"` };
  return { ok: true, value: { ns, type, id } };
}

/** The index of a namespace on a server (from its NamespaceArray), or undefined when the server does not have it. */
export function namespaceIndex(ns: NamespaceRef, namespaceArray: readonly string[]): number | undefined {
  if (ns.index !== undefined) return ns.index;
  const i = namespaceArray.indexOf(ns.uri);
  return i < 0 ? undefined : i;
}

/** The `ns=<index>;<t>=<id>` form of a NodeId once its namespace index is known. */
export function nodeIdString(ref: NodeIdRef, index: number): string {
  return `ns=${index};${ref.type}=${ref.id}`;
}

/** A browse path for messages, with namespace URIs shortened to their alias where the template has one. */
export function formatBrowsePath(path: readonly BrowseName[], ctx?: Pick<AddressContext, 'namespaces'>): string {
  const alias = new Map(Object.entries(ctx?.namespaces ?? {}).map(([a, u]) => [u, a]));
  return path
    .map((b) => {
      const name = b.name.replace(/[&/:]/g, (c) => `&${c}`);
      const prefix = b.ns.index !== undefined ? String(b.ns.index) : (alias.get(b.ns.uri) ?? b.ns.uri);
      return `${prefix}:${name}`;
    })
    .join('/');
}
