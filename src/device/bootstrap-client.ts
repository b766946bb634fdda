import { ERROR_CODES, HomeportError, type ErrorCode } from '../errors.js';
import { parseRetryAfter } from './backoff.js';
import type { HttpsConnection, HttpsResponse } from './https-client.js';
import type { BootstrapAnswer, BootstrapOperation, BootstrapReason } from './types.js';

/** The body of a Bootstrap-Request (protocol.md §3.1). */
export interface BootstrapRequestBody {
  reason: BootstrapReason;
  failed_server?: string;
}

/**
 * A Bootstrap Server refused a request or answered something unusable. `code` is the BS's own
 * code when it is one Homeport knows (DEVICE_NOT_REGISTERED, BOOTSTRAP_HOLD_OFF, ...), else
 * BOOTSTRAP_FAILED; `httpStatus` is what the BS answered (0 when it never answered).
 *
 * @example
 *   if (err instanceof BootstrapServerError && err.retryAfterSeconds !== undefined) wait();
 */
export class BootstrapServerError extends HomeportError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly httpStatus: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message);
    this.name = 'BootstrapServerError';
  }
}

/**
 * Sends the Bootstrap-Request `POST /bs?ep=<MAC>` and returns the operations and EST
 * instructions. A refusal becomes a {@link BootstrapServerError} with the BS's code, and a 503
 * carries its Retry-After (protocol.md §3.1).
 *
 * @example
 *   const answer = await requestBootstrap(bs, '02:48:50:00:00:01', { reason: 'initial' });
 */
export async function requestBootstrap(
  connection: HttpsConnection,
  endpoint: string,
  body: BootstrapRequestBody,
): Promise<BootstrapAnswer> {
  const response = await connection.request('POST', `/bs?ep=${encodeURIComponent(endpoint)}`, {
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw refusal('Bootstrap-Request', response);
  return parseBootstrapAnswer(response.text);
}

/**
 * Checks the shape of a Bootstrap-Request answer: an `operations` array of objects with an
 * `op`, and `est` with a path; the operations themselves are checked when they are applied.
 *
 * @example
 *   const answer = parseBootstrapAnswer(response.text);
 *   answer.est; // { path: '/.well-known/est', reenroll: false }
 */
export function parseBootstrapAnswer(text: string): BootstrapAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw unusable('it is not JSON');
  }

  const answer = value as { operations?: unknown; est?: { path?: unknown; reenroll?: unknown } };
  if (!Array.isArray(answer.operations)) throw unusable('it has no operations array');
  if (!answer.operations.every((op) => typeof op === 'object' && op !== null && 'op' in op)) {
    throw unusable('an operation has no op');
  }

  const est = answer.est ?? {};
  const path = typeof est.path === 'string' ? est.path : '/.well-known/est';
  if (!path.startsWith('/')) throw unusable(`its EST path ${JSON.stringify(path)} is not absolute`);
  return {
    operations: answer.operations as BootstrapOperation[],
    est: { path: path.replace(/\/+$/, ''), reenroll: est.reenroll === true },
  };
}

/**
 * The error for a non-success answer of the BS, from its JSON refusal body when it has one.
 *
 * @example
 *   if (response.status !== 200) throw refusal('EST simpleenroll', response);
 */
export function refusal(what: string, response: HttpsResponse): BootstrapServerError {
  const body = parseRefusal(response.text);
  const code =
    body.code && body.code in ERROR_CODES ? (body.code as ErrorCode) : 'BOOTSTRAP_FAILED';
  const detail = body.message ?? `HTTP ${response.status}`;
  const status = body.code ? `${response.status} ${body.code}` : String(response.status);
  const header = response.headers['retry-after'];
  const retryAfter = response.status === 503 ? parseRetryAfter(header) : undefined;
  return new BootstrapServerError(
    code,
    `The Bootstrap Server refused the ${what} (${status}): ${detail}`,
    response.status,
    retryAfter,
  );
}

function parseRefusal(text: string): { code?: string; message?: string } {
  try {
    const value = JSON.parse(text) as { code?: unknown; message?: unknown };
    return {
      ...(typeof value.code === 'string' && { code: value.code }),
      ...(typeof value.message === 'string' && { message: value.message }),
    };
  } catch {
    return {};
  }
}

function unusable(reason: string): BootstrapServerError {
  return new BootstrapServerError(
    'BOOTSTRAP_FAILED',
    `Cannot use the Bootstrap Server's answer: ${reason}.`,
    200,
  );
}
