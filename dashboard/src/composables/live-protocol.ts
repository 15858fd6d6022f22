/** Messages of the live feed (docs/api.md) and between the page and its live worker. */
import type { AssetValues } from '../api/types.ts';

export interface LiveMessage {
  type?: string;
  assets?: AssetValues;
  topic?: string;
  data?: unknown;
  code?: string;
  message?: string;
  flushMs?: number;
}

export type WorkerIn =
  | { type: 'open'; id: number; url: string; fields?: string[]; patterns?: string[] }
  | { type: 'send'; id: number; text: string }
  | { type: 'close'; id: number; code: number; reason: string };

export type WorkerOut =
  | { type: 'open'; id: number }
  | { type: 'message'; id: number; msg: LiveMessage; bytes: number }
  | { type: 'close'; id: number };

/** A text frame of the live feed, parsed; null for anything that is not JSON. */
export function parseLive(data: unknown): { msg: LiveMessage; bytes: number } | null {
  const text = typeof data === 'string' ? data : '';
  try {
    return { msg: JSON.parse(text) as LiveMessage, bytes: text.length };
  } catch {
    return null;
  }
}
