/**
 * Classifies failures of InfluxDB HTTP calls: whether retrying can help, and a message that says what to fix.
 *
 * | failure | reason | retried |
 * |---|---|---|
 * | connection refused/reset, DNS, socket timeout, 408, 425, 429, 5xx | `unavailable` | yes, with backoff (Retry-After honoured) |
 * | 401, 403 | `auth` | no: the token is wrong or lacks write/read permission on the bucket |
 * | 404 | `not_found` | no: the organisation or bucket does not exist (InfluxDB answers a write to a missing bucket with 404) |
 * | 400, 413, 422, other 4xx | `data` | no: the body is malformed, too large, or conflicts with a field's type |
 *
 * The client library counts 404 as retryable; we do not, because a missing bucket does not appear by waiting.
 */
import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import { WarmgridError, type ErrorCode } from '../../core/errors.ts';
import type { RefusalReason, RemoteErrorDetails } from '../buffer/remote.ts';

export interface InfluxFailure {
  reason: RefusalReason;
  retryable: boolean;
  httpStatus?: number;
  /** Server-requested wait (Retry-After), ms. */
  retryAfterMs?: number;
  /** What went wrong, for a person. */
  message: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

function serverMessage(err: HttpError): string {
  const m = err.json && typeof err.json === 'object' && typeof (err.json as { message?: unknown }).message === 'string' ? (err.json as { message: string }).message : (err.body ?? '');
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}

export function classifyInfluxError(err: unknown): InfluxFailure {
  if (err instanceof HttpError) {
    const s = err.statusCode;
    const said = serverMessage(err);
    const tail = said ? `: ${said}` : '';
    if (s === 401 || s === 403) {
      return { reason: 'auth', retryable: false, httpStatus: s, message: `HTTP ${s}${tail} (check INFLUX_TOKEN and that it may write and read the bucket)` };
    }
    if (s === 404) return { reason: 'not_found', retryable: false, httpStatus: s, message: `HTTP 404${tail} (check INFLUX_ORG and INFLUX_BUCKET)` };
    if (s === 408 || s === 425 || s === 429 || s >= 500) {
      const f: InfluxFailure = { reason: 'unavailable', retryable: true, httpStatus: s, message: `HTTP ${s}${tail}` };
      const after = err.retryAfter();
      if (after > 0) f.retryAfterMs = after * 1000;
      return f;
    }
    return { reason: 'data', retryable: false, httpStatus: s, message: `HTTP ${s}${tail}` };
  }
  if (err instanceof RequestTimedOutError) return { reason: 'unavailable', retryable: true, message: 'request timed out' };
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { reason: 'unavailable', retryable: true, message: `${code} ${(err as Error).message}`.trim() };
  // Anything else (an aborted socket, an unexpected library error) may well pass on a second try.
  return { reason: 'unavailable', retryable: true, message: err instanceof Error ? err.message : String(err) };
}

/** A WarmgridError for a failed call, carrying `RemoteErrorDetails` for the buffer. */
export function influxError(op: 'write' | 'query' | 'check', url: string, f: InfluxFailure, cause: unknown): WarmgridError {
  const code: ErrorCode = op === 'write' && !f.retryable ? 'STORE_WRITE_FAILED' : 'STORE_UNAVAILABLE';
  const details: RemoteErrorDetails = { reason: f.reason };
  if (f.httpStatus !== undefined) details.httpStatus = f.httpStatus;
  const verb = op === 'write' ? 'refused the write' : op === 'query' ? 'failed the query' : 'refused the check';
  const msg = f.httpStatus !== undefined ? `InfluxDB at ${url} ${verb}: ${f.message}` : `InfluxDB at ${url} is unreachable (${op}): ${f.message}`;
  return new WarmgridError(code, msg, { cause, retryable: f.retryable, details });
}
