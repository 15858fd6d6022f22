/**
 * Topic templates: MQTT topic filters compiled once into a trie, and asset-id templates compiled once into parts.
 *
 * Matching a topic walks the trie one segment at a time (MQTT 5 §4.7: `+` matches exactly one level, `#` matches the
 * parent level and any number of levels below, and must be last; a topic starting with `$` is never matched by a
 * filter starting with a wildcard, §4.7.2). The cost is proportional to the number of segments times the number of
 * branches that can match at once (a literal and a `+` at the same level), never one regular expression per template
 * per message. When several filters match, the one listed first in the config wins.
 *
 * Pure code: no I/O, no clock.
 */

export interface TopicMatch<T> {
  value: T;
  /** Index of the template in the order it was added. */
  index: number;
  /** The topic's segments, for asset templates such as `{2}-{3}`. */
  segments: readonly string[];
}

interface Entry<T> {
  value: T;
  index: number;
}

interface TrieNode<T> {
  literal: Map<string, TrieNode<T>> | null;
  plus: TrieNode<T> | null;
  /** Filters ending in `#` at this level: they match here and everything below. */
  hash: Entry<T> | null;
  /** Filters ending exactly here. */
  end: Entry<T> | null;
}

function node<T>(): TrieNode<T> {
  return { literal: null, plus: null, hash: null, end: null };
}

/** Why a topic filter is invalid (MQTT 5 §4.7.1), or null when it is valid. */
export function filterProblem(filter: string): string | null {
  if (filter.length === 0) return 'a topic filter must not be empty';
  if (filter.length > 65_535) return 'a topic filter is at most 65535 bytes';
  if (filter.includes('\u0000')) return 'a topic filter must not contain NUL';
  if (filter.startsWith('$share/')) return 'give the share group in `shareGroup`, not in the filter';
  const parts = filter.split('/');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.includes('#') && (p !== '#' || i !== parts.length - 1)) return '`#` must be a whole level and the last one';
    if (p.includes('+') && p !== '+') return '`+` must be a whole level';
  }
  return null;
}

/** Number of levels of a filter; Infinity when it ends in `#`. */
export function filterLevels(filter: string): number {
  const parts = filter.split('/');
  return parts[parts.length - 1] === '#' ? Infinity : parts.length;
}

export class TopicMatcher<T> {
  readonly #root: TrieNode<T> = node();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  /** Adds a filter; throws on an invalid or duplicate filter (config validation reports these first). */
  add(filter: string, value: T): number {
    const problem = filterProblem(filter);
    if (problem) throw new Error(`invalid topic filter "${filter}": ${problem}`);
    let n = this.#root;
    const parts = filter.split('/');
    const entry: Entry<T> = { value, index: this.#count };
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p === '#') {
        if (n.hash) throw new Error(`duplicate topic filter "${filter}"`);
        n.hash = entry;
        this.#count++;
        return entry.index;
      }
      if (p === '+') {
        n = n.plus ??= node();
      } else {
        n.literal ??= new Map();
        let next = n.literal.get(p);
        if (!next) n.literal.set(p, (next = node()));
        n = next;
      }
    }
    if (n.end) throw new Error(`duplicate topic filter "${filter}"`);
    n.end = entry;
    this.#count++;
    return entry.index;
  }

  /** The first-listed template whose filter matches the topic, or null. */
  match(topic: string): TopicMatch<T> | null {
    const segments = topic.split('/');
    const best = this.#walk(this.#root, segments, 0, null, topic.charCodeAt(0) === 36 /* $ */);
    return best ? { value: best.value, index: best.index, segments } : null;
  }

  #walk(n: TrieNode<T>, segs: readonly string[], depth: number, best: Entry<T> | null, dollar: boolean): Entry<T> | null {
    const wild = !(dollar && depth === 0);
    if (wild && n.hash && (!best || n.hash.index < best.index)) best = n.hash;
    if (depth === segs.length) {
      if (n.end && (!best || n.end.index < best.index)) best = n.end;
      return best;
    }
    const seg = segs[depth]!;
    const lit = n.literal?.get(seg);
    if (lit) best = this.#walk(lit, segs, depth + 1, best, dollar);
    if (wild && n.plus) best = this.#walk(n.plus, segs, depth + 1, best, dollar);
    return best;
  }
}

/**
 * An asset-id template: literal text with placeholders, `{N}` for the N-th topic level (0-based) and, for
 * Sparkplug, `{group}`, `{node}` and `{device}`. Compiled once; `render` is a few string concatenations.
 */
export interface AssetTemplate {
  readonly source: string;
  /** True when the template has no placeholder (one fixed asset id). */
  readonly fixed: boolean;
  /** Highest `{N}` used, or -1. */
  readonly maxIndex: number;
  readonly names: readonly string[];
  /** The asset id, or null when a referenced level is missing or empty. */
  render(segments: readonly string[], named?: Readonly<Record<string, string | null>>): string | null;
}

type Part = { kind: 'text'; text: string } | { kind: 'index'; index: number } | { kind: 'name'; name: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;

export function compileAssetTemplate(source: string, allowedNames: readonly string[] = []): AssetTemplate {
  const parts: Part[] = [];
  let last = 0;
  let maxIndex = -1;
  const names: string[] = [];
  for (const m of source.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    const inner = m[1]!;
    if (/^[0-9]{1,3}$/.test(inner)) {
      const index = Number(inner);
      maxIndex = Math.max(maxIndex, index);
      parts.push({ kind: 'index', index });
    } else if (allowedNames.includes(inner)) {
      names.push(inner);
      parts.push({ kind: 'name', name: inner });
    } else {
      const known = ['{0}', '{1}', '...', ...allowedNames.map((n) => `{${n}}`)].join(', ');
      throw new Error(`unknown placeholder "{${inner}}" in asset template "${source}" (use ${known})`);
    }
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  if (/[{}]/.test(parts.filter((p) => p.kind === 'text').map((p) => (p as { text: string }).text).join(''))) {
    throw new Error(`unbalanced braces in asset template "${source}"`);
  }
  const fixed = parts.every((p) => p.kind === 'text');
  return {
    source,
    fixed,
    maxIndex,
    names,
    render(segments, named) {
      let out = '';
      for (const p of parts) {
        if (p.kind === 'text') out += p.text;
        else {
          const v = p.kind === 'index' ? segments[p.index] : named?.[p.name];
          if (v === undefined || v === null || v === '') return null;
          out += v;
        }
      }
      return out;
    },
  };
}
