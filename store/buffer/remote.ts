/**
 * What the store-and-forward buffer needs to know about a remote store's failures. A remote store (store/influx)
 * rejects a failed write with a WarmgridError whose `details` follow `RemoteErrorDetails`; the buffer decides from
 * `reason` what to do with the batch:
 *
 * - `unavailable`: the server is down, slow, overloaded or unreachable. Retrying later will work: keep the batch,
 *   back off, retry.
 * - `auth`, `not_found`: the server refuses every write until its configuration or ours changes (a wrong token, a
 *   missing bucket or organisation). Keep the batch, retry slowly, report the store as down so someone acts.
 * - `data`: the server refuses this batch for its content (malformed line, field type conflict, too large); it will
 *   refuse it again however often it is sent. The buffer isolates the offending records and moves them to its
 *   dead-letter directory so the rest can flow.
 *
 * Any other error counts as `unavailable`: the buffer never drops data on an error it does not understand.
 *
 * A remote may also offer its wire format (`WireFormat`): the buffer then encodes each batch once, sends those bytes,
 * and keeps exactly them in its log. A replay sends them as they are, without decoding and encoding every reading
 * again, and no retry or replay can ever change a point's series key (its tags are fixed at the first encoding, even
 * if the configuration changed across a restart).
 */
import { WarmgridError } from '../../core/errors.ts';
import type { Reading } from '../../ingest/reading.ts';
import type { TelemetryStore } from '../telemetry-store.ts';

export const REFUSAL_REASONS = ['unavailable', 'auth', 'not_found', 'data'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface RemoteErrorDetails {
  reason: RefusalReason;
  /** HTTP status of the refusal, when there was a response. */
  httpStatus?: number;
}

export function refusalOf(err: unknown): RefusalReason {
  if (err instanceof WarmgridError) {
    const d = err.details as Partial<RemoteErrorDetails> | undefined;
    if (d && typeof d === 'object' && (REFUSAL_REASONS as readonly string[]).includes(d.reason as string)) return d.reason!;
  }
  return 'unavailable';
}

export interface WireFormat {
  /** Encodes a batch into entries, one per reading that holds something to store, in order. Pure. */
  encodeBatch(batch: readonly Reading[]): string[];
  /** Sends entries made by `encodeBatch`, in order; resolves and rejects as `TelemetryStore.write` does. */
  writeEncoded(entries: readonly string[]): Promise<void>;
}

export function wireFormatOf(store: TelemetryStore): WireFormat | null {
  const s = store as Partial<WireFormat>;
  return typeof s.encodeBatch === 'function' && typeof s.writeEncoded === 'function' ? (store as unknown as WireFormat) : null;
}
