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
 */
import { WarmgridError } from '../../core/errors.ts';

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
