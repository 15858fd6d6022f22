/**
 * The live socket in a worker: parses each message off the page's main thread and keeps only the declared fields of
 * snapshots and updates (assets left with no field are dropped; events pass whole). One connection at a time; the
 * page decides when to reconnect.
 */
import type { AssetValues, Wire } from '../api/types.ts';
import { parseLive, type WorkerIn, type WorkerOut } from './live-protocol.ts';

const scope = self as unknown as { onmessage: ((ev: MessageEvent<WorkerIn>) => void) | null; postMessage(m: WorkerOut): void };
let ws: WebSocket | null = null;
let id = 0;
let keep: Set<string> | null = null;
let patterns: RegExp[] = [];
const allowed = new Map<string, boolean>();

function allow(field: string): boolean {
  let ok = allowed.get(field);
  if (ok === undefined) {
    ok = keep!.has(field) || patterns.some((p) => p.test(field));
    allowed.set(field, ok);
  }
  return ok;
}

function filter(assets: AssetValues): AssetValues {
  const out: AssetValues = {};
  for (const a in assets) {
    const f = assets[a]!;
    let kept: Record<string, Wire> | null = null;
    for (const k in f) {
      if (!allow(k)) continue;
      (kept ??= {})[k] = f[k]!;
    }
    if (kept) out[a] = kept;
  }
  return out;
}

scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === 'open') {
    ws?.close(1000, 'replaced');
    id = m.id;
    keep = m.fields ? new Set(m.fields) : null;
    patterns = (m.patterns ?? []).map((p) => new RegExp(p));
    allowed.clear();
    const my = m.id;
    const sock = new WebSocket(m.url);
    ws = sock;
    sock.onopen = () => scope.postMessage({ type: 'open', id: my });
    sock.onmessage = (e: MessageEvent) => {
      const m = parseLive(e.data);
      if (!m) return;
      if (keep && m.msg.assets) m.msg.assets = filter(m.msg.assets);
      scope.postMessage({ type: 'message', id: my, msg: m.msg, bytes: m.bytes });
    };
    sock.onclose = () => {
      if (ws === sock) ws = null;
      scope.postMessage({ type: 'close', id: my });
    };
  } else if (m.id === id && ws) {
    if (m.type === 'send') {
      if (ws.readyState === WebSocket.OPEN) ws.send(m.text);
    } else ws.close(m.code, m.reason);
  }
};
