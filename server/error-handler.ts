/**
 * One error schema for every response: { error: { code, message, details? } }. 5xx responses never carry internals.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance } from 'fastify';
import { WarmgridError, isWarmgridError, type ErrorCode } from '../core/errors.ts';
import type { Metrics } from '../core/metrics.ts';

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ examples: ['VALIDATION_FAILED'] }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error response' },
);

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_TYPE: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_RATE_LIMITED: 'RATE_LIMITED',
};

export function installErrorHandler(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((err: FastifyError | WarmgridError | Error, req, reply) => {
    let status: number;
    let body: { error: { code: string; message: string; details?: unknown } };
    if (isWarmgridError(err)) {
      status = err.httpStatus;
      body = err.toJSON();
    } else if ('validation' in err && err.validation) {
      status = 400;
      body = {
        error: {
          code: 'VALIDATION_FAILED',
          message: err.message,
          details: err.validation.map((v) => ({ path: v.instancePath || '/', message: v.message ?? 'invalid' })),
        },
      };
    } else if ('code' in err && typeof err.code === 'string' && FASTIFY_CODES[err.code]) {
      const code = FASTIFY_CODES[err.code]!;
      status = (err as FastifyError).statusCode ?? 400;
      body = { error: { code, message: err.message } };
    } else if ('statusCode' in err && typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      body = { error: { code: status === 429 ? 'RATE_LIMITED' : 'BAD_REQUEST', message: err.message } };
    } else {
      status = 500;
      body = { error: { code: 'INTERNAL', message: 'internal error' } };
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    metrics.httpErrors.inc({ code: body.error.code });
    if (status >= 500 && body.error.code !== 'INTERNAL') body.error.details = undefined;
    void reply.status(status).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    metrics.httpErrors.inc({ code: 'NOT_FOUND' });
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]?.slice(0, 200)}` } });
  });
}

export function notFound(what: string): WarmgridError {
  return new WarmgridError('NOT_FOUND', what);
}
