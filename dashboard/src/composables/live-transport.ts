/**
 * How the live composable reaches /api/live: a WebSocket on the page's main thread, or one in a dedicated worker
 * that parses every message there and keeps only the fields the page declared, so a city's worth of updates never
 * blocks rendering (the hub sends every field of every subscribed asset; the wall uses a handful).
 *
 * Contract: one connection at a time per transport; `open()` starts one and reports open, each message (parsed) and
 * close through the handlers, in that order; after close, nothing more comes from that connection.
 */
import { parseLive, type LiveMessage, type WorkerIn, type WorkerOut } from './live-protocol.ts';

export interface ConnectionHandlers {
  open(): void;
  message(msg: LiveMessage, bytes: number): void;
  close(): void;
}

export interface Connection {
  send(text: string): void;
  close(code: number, reason: string): void;
  isOpen(): boolean;
}

export type Transport = (url: string, h: ConnectionHandlers) => Connection;

export function directTransport(): Transport {
  return (url, h) => {
    const ws = new WebSocket(url);
    let done = false;
    ws.onopen = () => h.open();
    ws.onmessage = (ev: MessageEvent) => {
      const m = parseLive(ev.data);
      if (m) h.message(m.msg, m.bytes);
    };
    ws.onclose = () => {
      if (done) return;
      done = true;
      h.close();
    };
    return {
      send: (text) => ws.send(text),
      close: (code, reason) => ws.close(code, reason),
      isOpen: () => ws.readyState === WebSocket.OPEN,
    };
  };
}

export interface FieldFilter {
  /** Field names to keep. */
  fields: readonly string[];
  /** Regular expressions (source text) of further field names to keep, e.g. "^forecast_\\d+h_temp_c$". */
  patterns?: readonly string[];
}

function newLiveWorker(): Worker {
  return new Worker(new URL('./live.worker.ts', import.meta.url), { type: 'module', name: 'warmgrid-live' });
}

let spare: Worker | null = null;

/**
 * Starts a live worker before the page that will use it exists: its script then loads while the page's own code and
 * the session are being fetched, and the socket opens as soon as the page asks for it.
 */
export function prestartLiveWorker(): void {
  if (spare === null && typeof Worker !== 'undefined') spare = newLiveWorker();
}

/** The socket in a module worker; `filter` drops every other field of snapshots and updates before they cross over. */
export function workerTransport(filter?: FieldFilter): { transport: Transport; terminate(): void } {
  const worker = spare ?? newLiveWorker();
  spare = null;
  let seq = 0;
  let current: { id: number; h: ConnectionHandlers; open: boolean } | null = null;
  worker.onmessage = (ev: MessageEvent<WorkerOut>) => {
    const m = ev.data;
    const c = current;
    if (!c || m.id !== c.id) return;
    if (m.type === 'open') {
      c.open = true;
      c.h.open();
    } else if (m.type === 'message') c.h.message(m.msg, m.bytes);
    else if (m.type === 'close') {
      c.open = false;
      current = null;
      c.h.close();
    }
  };
  const post = (m: WorkerIn): void => worker.postMessage(m);
  const transport: Transport = (url, h) => {
    const id = ++seq;
    current = { id, h, open: false };
    post({ type: 'open', id, url, ...(filter ? { fields: [...filter.fields], patterns: [...(filter.patterns ?? [])] } : {}) });
    return {
      send: (text) => post({ type: 'send', id, text }),
      close: (code, reason) => post({ type: 'close', id, code, reason }),
      isOpen: () => current?.id === id && current.open,
    };
  };
  return { transport, terminate: () => worker.terminate() };
}
