/**
 * One base error for the whole hub: a closed list of codes, an HTTP status, whether retrying may help, and a cause.
 * The server's error handler maps these to the API error schema; anything else becomes an opaque 500.
 */

export const ERROR_CODES = {
  CONFIG_INVALID: 500,
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  ACCOUNT_LOCKED: 423,
  SETUP_REQUIRED: 409,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNKNOWN_ASSET: 400,
  STORE_UNAVAILABLE: 503,
  STORE_WRITE_FAILED: 503,
  BACKPRESSURE: 503,
  SHUTTING_DOWN: 503,
  SOURCE_ERROR: 502,
  MODBUS_TIMEOUT: 504,
  MODBUS_EXCEPTION: 502,
  OPCUA_ERROR: 502,
  MQTT_ERROR: 502,
  WRITE_REFUSED: 409,
  WRITE_FAILED: 502,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface WarmgridErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  details?: unknown;
}

export class WarmgridError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: WarmgridErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WarmgridError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): ApiErrorBody {
    const error: ApiErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function isWarmgridError(err: unknown): err is WarmgridError {
  return err instanceof WarmgridError;
}
