/**
 * The write side of the InfluxDB adapter: line protocol to `POST /api/v2/write`, gzip-compressed, in bounded
 * requests, with bounded retries. It needs nothing but that endpoint, so anything that accepts InfluxDB 2 writes
 * (InfluxDB 2.x, VictoriaMetrics in tests) is a target; the query side is separate (reader.ts).
 *
 * Contract of `write(lines)`:
 * - Lines are sent in order, in requests of at most `maxLinesPerRequest` lines and about `maxBytesPerRequest`
 *   bytes, one request at a time; it resolves when every request was accepted (HTTP 204: InfluxDB has the points in
 *   its write-ahead log).
 * - A retryable failure (unreachable, timeout, 429, 5xx) is retried up to `retries` times with exponential backoff
 *   (at least the server's Retry-After); a refusal (401, 403, 404, 400, 413, 422) is not retried at all. Either way it
 *   rejects with a WarmgridError naming the HTTP status (see errors.ts); what was sent before the failing request
 *   may be stored, which is harmless because a write of the same points again is an overwrite with equal values.
 *
 * We use the client library's transport (HTTP, gzip, HttpError) but not its WriteApi: the WriteApi keeps failed
 * lines in an in-memory retry buffer that drops the oldest when full, and flushes full batches in the background
 * without reporting their failure to the caller, so it cannot tell us when a batch is durable.
 */
import type { InfluxDB, SendOptions, Transport } from '@influxdata/influxdb-client';
import { systemClock, type Clock } from '../../core/clock.ts';
import { classifyInfluxError, influxError } from './errors.ts';

export interface InfluxWriterOptions {
  client: InfluxDB;
  /** Server URL, for messages. */
  url: string;
  org: string;
  bucket: string;
  /** Lines per request; InfluxDB's guidance is about 5,000. */
  maxLinesPerRequest?: number;
  /** Uncompressed bytes per request (InfluxDB refuses bodies over 25 MB by default). */
  maxBytesPerRequest?: number;
  /** gzip every request body (default true). */
  gzip?: boolean;
  /** Attempts after the first for a retryable failure (default 2). */
  retries?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  clock?: Clock;
}

export interface WriteOutcome {
  requests: number;
  bytes: number;
}

export class InfluxWriter {
  readonly #transport: Transport;
  readonly #path: string;
  readonly #send: SendOptions;
  readonly #url: string;
  readonly #maxLines: number;
  readonly #maxBytes: number;
  readonly #retries: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #clock: Clock;

  constructor(opts: InfluxWriterOptions) {
    this.#transport = opts.client.transport;
    this.#url = opts.url;
    this.#path = `/api/v2/write?org=${encodeURIComponent(opts.org)}&bucket=${encodeURIComponent(opts.bucket)}&precision=ms`;
    this.#send = { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8', accept: 'application/json' } };
    // The transport gzips a body longer than the threshold.
    if (opts.gzip ?? true) this.#send.gzipThreshold = 0;
    this.#maxLines = Math.max(1, opts.maxLinesPerRequest ?? 5000);
    this.#maxBytes = Math.max(1024, opts.maxBytesPerRequest ?? 8 * 1024 * 1024);
    this.#retries = Math.max(0, opts.retries ?? 2);
    this.#retryBaseMs = opts.retryBaseMs ?? 200;
    this.#retryMaxMs = opts.retryMaxMs ?? 5000;
    this.#clock = opts.clock ?? systemClock;
  }

  async write(lines: readonly string[]): Promise<WriteOutcome> {
    const out: WriteOutcome = { requests: 0, bytes: 0 };
    let start = 0;
    while (start < lines.length) {
      let end = start;
      let bytes = 0;
      while (end < lines.length && end - start < this.#maxLines && (end === start || bytes + lines[end]!.length + 1 <= this.#maxBytes)) {
        bytes += lines[end]!.length + 1;
        end++;
      }
      await this.#post(lines.slice(start, end).join('\n'));
      out.requests++;
      out.bytes += bytes;
      start = end;
    }
    return out;
  }

  async #post(body: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#transport.request(this.#path, body, this.#send);
        return;
      } catch (err) {
        const f = classifyInfluxError(err);
        if (!f.retryable || attempt >= this.#retries) throw influxError('write', this.#url, f, err);
        const backoff = Math.min(this.#retryMaxMs, Math.max(f.retryAfterMs ?? 0, this.#retryBaseMs * 2 ** attempt));
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, backoff));
      }
    }
  }
}
