import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

export function loggerOptions(level = process.env['LOG_LEVEL'] ?? 'info'): LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
}

export function createLogger(level?: string): Logger {
  return pino(loggerOptions(level));
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * At most `perWindow` lines per key per window, then one summary line: bad input from the field must not flood the log.
 */
export class RateLimitedLog {
  readonly #windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly perWindow = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, obj: object, msg: string): void {
    const t = this.now();
    let w = this.#windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      if (w && w.suppressed > 0) this.log.warn({ key, suppressed: w.suppressed }, 'similar warnings suppressed');
      w = { start: t, count: 0, suppressed: 0 };
      this.#windows.set(key, w);
    }
    if (w.count < this.perWindow) {
      w.count++;
      this.log.warn(obj, msg);
    } else {
      w.suppressed++;
    }
  }
}
