import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HomeportError, type ErrorDetails } from '../errors.js';

/** `{"data": …, "success": true}`: the shape of every successful API answer. */
export function ok<T>(data: T): { data: T; success: true } {
  return { data, success: true };
}

/** A page of a list, with the total count across all pages. */
export function paged<T>(items: T[], total: number) {
  return { data: items, total_items: total, success: true as const };
}

export interface Failure {
  success: false;
  code: string;
  message: string;
  details?: ErrorDetails;
}

/** JSON Schema of a successful answer carrying `data`, for the OpenAPI document. */
export function envelopeSchema(data: object) {
  return {
    type: 'object',
    required: ['data', 'success'],
    properties: { data, success: { type: 'boolean', const: true } },
  } as const;
}

export function pagedSchema(item: object) {
  return {
    type: 'object',
    required: ['data', 'total_items', 'success'],
    properties: {
      data: { type: 'array', items: item },
      total_items: { type: 'integer' },
      success: { type: 'boolean', const: true },
    },
  } as const;
}

export const failureSchema = {
  type: 'object',
  required: ['success', 'code', 'message'],
  properties: {
    success: { type: 'boolean', const: false },
    code: { type: 'string' },
    message: { type: 'string' },
    details: {
      type: 'object',
      additionalProperties: true,
      description: 'Facts to act on, for some codes: MANAGEMENT_SERVER_EXISTS gives the id',
    },
  },
} as const;

type ValidationItem = NonNullable<FastifyError['validation']>[number];

function describeField(context: string, item: ValidationItem): string {
  const path = item.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params: Record<string, unknown> = item.params;
  if (item.keyword === 'required') {
    const field = [path, String(params.missingProperty)].filter(Boolean).join('.');
    return `${context} field '${field}' is required`;
  }
  if (item.keyword === 'additionalProperties') {
    const field = [path, String(params.additionalProperty)].filter(Boolean).join('.');
    return `${context} field '${field}' is not known here; remove it`;
  }
  const where = path ? `${context} field '${path}'` : context;
  if (item.keyword === 'enum') {
    return `${where} ${item.message ?? 'is invalid'}: ${JSON.stringify(params.allowedValues)}`;
  }
  return `${where} ${item.message ?? 'is invalid'}`;
}

function toFailure(err: FastifyError): {
  status: number;
  code: string;
  message: string;
  details?: ErrorDetails;
} {
  if (err instanceof HomeportError) {
    const { status, code, message, details } = err;
    return { status, code, message, ...(details && { details }) };
  }
  if (err.validation) {
    const context =
      err.validationContext === 'querystring' ? 'query' : (err.validationContext ?? 'request');
    const details = err.validation.map((item) => describeField(context, item)).join('; ');
    return { status: 400, code: 'VALIDATION', message: `Invalid request: ${details}.` };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'MALFORMED_BODY',
        message: `The request body is not valid JSON (${err.message}). Send a JSON object.`,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The request body has a content type this route does not take; send JSON.',
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'MALFORMED_BODY', message: 'The request body is too large.' };
  }
  if (err instanceof SyntaxError || (err.statusCode && err.statusCode < 500)) {
    return { status: err.statusCode ?? 400, code: 'MALFORMED_BODY', message: err.message };
  }
  return { status: 500, code: 'INTERNAL', message: '' };
}

/**
 * A known error about another server this one talked to (502, 503, 504): its message names
 * that server and what went wrong there, which is what the client needs to fix it.
 */
function isUpstreamFailure(err: FastifyError): boolean {
  return err instanceof HomeportError && err.status > 500;
}

/**
 * Turns any error into the failure envelope. Known errors keep their code and message;
 * anything unexpected is logged in full and answered with the request id only, so no stack
 * trace, query or key ever reaches a client.
 */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const failure = toFailure(err);
  if (failure.status >= 500 && !isUpstreamFailure(err)) {
    request.log.error({ err }, 'request failed');
    failure.message = `Internal error; the server log has the details under request id ${request.id}.`;
  } else if (failure.status >= 500) {
    request.log.warn({ code: failure.code }, failure.message);
  } else {
    request.log.debug({ code: failure.code }, failure.message);
  }
  const body: Failure = {
    success: false,
    code: failure.code,
    message: failure.message,
    ...(failure.details && { details: failure.details }),
  };
  return reply.status(failure.status).send(body);
}
