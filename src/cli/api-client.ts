import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';

/** How long one request may take, connection and TLS handshake included. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** Larger answers are refused: no Homeport API answer comes near this. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** The `client_id` the CLI sends with the password grant. */
export const CLIENT_ID = 'homeport-cli';

export interface ApiClientOptions {
  /** The server's name for messages: the profile name, such as `server2`. */
  name: string;
  /** `https://host:port`, without a path. */
  baseUrl: string;
  /** PEM of the CA(s) to trust, pinned; undefined = Node's default CAs. */
  ca?: string | undefined;
  token?: string | undefined;
  timeoutMs?: number | undefined;
  /** Called when the server answers 401; returns a fresh token. The request is retried once. */
  renewToken?: (() => Promise<string>) | undefined;
}

export interface ApiReply<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** The envelope's `data` (undefined for an empty answer). */
  data: T;
  /** The whole parsed answer, for fields beside `data` such as `total_items`. */
  body: unknown;
}

export interface IssuedToken {
  accessToken: string;
  expiresAt: Date;
}

/** The outcome of a conditional update: a 412 is an expected answer, not an exception. */
export type ConditionalPut<T> =
  { updated: true; reply: ApiReply<T> } | { updated: false; error: ApiError };

type Headers = Record<string, string>;
type Payload = { json: unknown } | { form: Record<string, string> } | undefined;

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * A failed API call. `code` is the server's error code (`DEVICE_EXISTS`, `INVALID_GRANT`…) or,
 * when no usable answer came back, `SERVER_UNREACHABLE` / `SERVER_ANSWER_INVALID`; `status` is
 * the HTTP status, 0 when there was no answer; `server` names the profile.
 *
 * @example
 *   try { await api.post('/api/identity/devices', device); }
 *   catch (err) { if (isApiError(err, 'DEVICE_EXISTS')) skip(); else throw err; }
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly server: string;
  /** The server's own message, without the server name and request in front. */
  readonly reason: string;

  constructor(
    fields: { code: string; status: number; server: string; reason: string; request: string },
    options?: { cause?: unknown },
  ) {
    const answered = fields.status > 0 ? ` (HTTP ${fields.status} ${fields.code})` : '';
    super(`${fields.server}: ${fields.request}: ${fields.reason}${answered}`, options);
    this.name = 'ApiError';
    this.code = fields.code;
    this.status = fields.status;
    this.server = fields.server;
    this.reason = fields.reason;
  }
}

export function isApiError(err: unknown, code?: string): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

/** True for the answer to a conditional request whose `If-Match` no longer matched. */
export function isPreconditionFailed(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status === 412;
}

/**
 * A typed HTTPS client for one Homeport deployment: JSON in and out, the `{data, success}`
 * envelope unwrapped, failures thrown as {@link ApiError}. The server certificate is always
 * verified, against the pinned `ca` when one is given. Several clients (one per server) can be
 * used side by side.
 *
 * @example
 *   const api = new ApiClient({ name: 'server2', baseUrl: 'https://127.0.0.2:8443', ca });
 *   api.setToken((await api.requestToken('admin', password)).accessToken);
 *   const { data } = await api.get<{ name: string }>('/api/info');
 *   const store = await api.getWithEtag<{ certs: string }>('/api/certs');
 *   const put = await api.putIfMatch('/api/certs', store.etag, { certs });
 *   if (!put.updated) retry(); // someone else changed it in between (412)
 */
export class ApiClient {
  readonly name: string;
  readonly baseUrl: string;
  private token: string | undefined;
  private renewing: Promise<string> | undefined;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly renewToken: (() => Promise<string>) | undefined;

  constructor(options: ApiClientOptions) {
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.renewToken = options.renewToken;
    // Keep-alive: an import of thousands of rows should not pay a TLS handshake for each.
    this.agent = new Agent({
      keepAlive: true,
      ...(options.ca !== undefined && { ca: options.ca }),
    });
  }

  setToken(token: string): void {
    this.token = token;
  }

  get<T = unknown>(path: string, headers?: Headers): Promise<ApiReply<T>> {
    return this.call<T>('GET', path, undefined, headers);
  }

  post<T = unknown>(path: string, body?: unknown, headers?: Headers): Promise<ApiReply<T>> {
    return this.call<T>('POST', path, jsonPayload(body), headers);
  }

  put<T = unknown>(path: string, body?: unknown, headers?: Headers): Promise<ApiReply<T>> {
    return this.call<T>('PUT', path, jsonPayload(body), headers);
  }

  delete<T = unknown>(path: string, body?: unknown, headers?: Headers): Promise<ApiReply<T>> {
    return this.call<T>('DELETE', path, jsonPayload(body), headers);
  }

  /** GETs a resource with its ETag, for a later {@link putIfMatch}. */
  async getWithEtag<T = unknown>(path: string): Promise<ApiReply<T> & { etag: string }> {
    const reply = await this.get<T>(path);
    const etag = reply.headers.etag;
    if (!etag) {
      throw this.failure('SERVER_ANSWER_INVALID', reply.status, `GET ${path}`, 'no ETag came back');
    }
    return { ...reply, etag };
  }

  /**
   * PUTs with `If-Match: etag` (RFC 9110 §13.1.1). A 412 (the resource changed since it was
   * read) comes back as `{updated: false}`; every other failure is thrown.
   */
  async putIfMatch<T = unknown>(
    path: string,
    etag: string,
    body: unknown,
  ): Promise<ConditionalPut<T>> {
    try {
      return { updated: true, reply: await this.put<T>(path, body, { 'if-match': etag }) };
    } catch (err) {
      if (isPreconditionFailed(err)) return { updated: false, error: err };
      throw err;
    }
  }

  /** The OAuth2 password grant (RFC 6749 §4.3), form-encoded. Does not keep the token. */
  async requestToken(username: string, password: string): Promise<IssuedToken> {
    const request = `log in as ${username}`;
    const form = { grant_type: 'password', username, password, client_id: CLIENT_ID };
    const answer = await this.send('POST', '/public/auth/connect/token', { form }, {}, request);
    const body = parseJson(answer.text);
    if (answer.status !== 200) throw this.answerError(answer, body, request);

    const { access_token: token, expires_in: expiresIn } = (body ?? {}) as Record<string, unknown>;
    if (typeof token !== 'string' || typeof expiresIn !== 'number') {
      throw this.failure('SERVER_ANSWER_INVALID', 200, request, 'the answer carries no token');
    }
    return { accessToken: token, expiresAt: new Date(Date.now() + expiresIn * 1000) };
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private async call<T>(
    method: string,
    path: string,
    payload: Payload,
    headers: Headers = {},
  ): Promise<ApiReply<T>> {
    const request = `${method} ${path}`;
    const used = this.token;
    let answer = await this.send(method, path, payload, this.authorized(headers), request);
    if (answer.status === 401 && this.renewToken) {
      // Parallel requests that all meet an expired token share one new login.
      if (this.token === used) await this.renew();
      answer = await this.send(method, path, payload, this.authorized(headers), request);
    }
    return this.unwrap<T>(answer, request);
  }

  private async renew(): Promise<void> {
    const renewToken = this.renewToken;
    if (!renewToken) return;
    this.renewing ??= renewToken().finally(() => (this.renewing = undefined));
    this.token = await this.renewing;
  }

  private authorized(headers: Headers): Headers {
    return this.token ? { ...headers, authorization: `Bearer ${this.token}` } : headers;
  }

  private unwrap<T>(answer: RawAnswer, request: string): ApiReply<T> {
    const body = parseJson(answer.text);
    if (answer.status >= 400 || isFailure(body)) throw this.answerError(answer, body, request);
    // Every Homeport answer with a body is an envelope; anything else is some other server.
    if (answer.text !== '' && !isSuccess(body)) throw this.notHomeport(answer, request);
    const data = (body as { data?: T } | undefined)?.data as T;
    return { status: answer.status, headers: answer.headers, data, body };
  }

  private answerError(answer: RawAnswer, body: unknown, request: string): ApiError {
    if (!isFailure(body)) return this.notHomeport(answer, request);
    const { code, message, error, error_description: description } = body;
    const reason = str(message) ?? str(description) ?? 'the server gave no reason';
    return this.failure(str(code) ?? str(error) ?? 'UNKNOWN', answer.status, request, reason);
  }

  private notHomeport(answer: RawAnswer, request: string): ApiError {
    const type = answer.headers['content-type'] ?? 'no content type';
    return this.failure(
      'SERVER_ANSWER_INVALID',
      answer.status,
      request,
      `the answer (${type}) is not a Homeport API answer; is ${this.baseUrl} a Homeport API gateway?`,
    );
  }

  private failure(code: string, status: number, request: string, reason: string, cause?: unknown) {
    const fields = { code, status, server: this.name, reason, request };
    return new ApiError(fields, cause === undefined ? undefined : { cause });
  }

  private send(
    method: string,
    path: string,
    payload: Payload,
    headers: Headers,
    request: string,
  ): Promise<RawAnswer> {
    const { body, contentType } = encode(payload);
    const all: Headers = { accept: 'application/json', ...headers };
    if (contentType) all['content-type'] = contentType;

    return new Promise((resolve, reject) => {
      const url = new URL(path, this.baseUrl);
      const req = httpsRequest(url, { method, headers: all, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error('the answer is too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
        });
        res.on('error', () => undefined); // reported through req's 'error'
      });
      const timer = setTimeout(() => {
        req.destroy(
          Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        );
      }, this.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(this.failure('SERVER_UNREACHABLE', 0, request, this.whyUnreachable(err), err));
      });
      req.end(body);
    });
  }

  private whyUnreachable(err: Error & { code?: string }): string {
    const code = err.code ?? '';
    if (TLS_TRUST_ERRORS.has(code)) {
      return (
        `cannot reach ${this.baseUrl}: its certificate is not trusted (${code}); log in with ` +
        "--ca and the deployment's server root (<data dir>/pki/server-root.pem)"
      );
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return `cannot reach ${this.baseUrl}: ${err.message} (${code}); check the clocks of both sides`;
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return `cannot reach ${this.baseUrl}: its certificate does not name this host (${err.message})`;
    }
    if (code === 'ECONNREFUSED') {
      return `cannot reach ${this.baseUrl}: connection refused; is the server running there?`;
    }
    return `cannot reach ${this.baseUrl}: ${err.message}`;
  }
}

const TLS_TRUST_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

function jsonPayload(body: unknown): Payload {
  return body === undefined ? undefined : { json: body };
}

function encode(payload: Payload): { body?: string; contentType?: string } {
  if (payload === undefined) return {};
  if ('form' in payload) {
    return {
      body: new URLSearchParams(payload.form).toString(),
      contentType: 'application/x-www-form-urlencoded',
    };
  }
  return { body: JSON.stringify(payload.json), contentType: 'application/json' };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function isFailure(body: unknown): body is Record<string, unknown> {
  return (
    typeof body === 'object' && body !== null && (body as { success?: unknown }).success === false
  );
}

function isSuccess(body: unknown): boolean {
  return (
    typeof body === 'object' && body !== null && (body as { success?: unknown }).success === true
  );
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** What `GET /api/info` tells about a deployment. */
export interface DeploymentInfoAnswer {
  name: string;
  services: Record<
    'api' | 'bootstrap' | 'management' | 'content',
    { host: string; port: number; url: string }
  >;
  server_root_fingerprint: string;
}

/**
 * Reads `GET /api/info` (no token needed) and checks that it is a Homeport deployment's.
 *
 * @example
 *   const info = await fetchDeploymentInfo(api);
 *   console.log(info.name, info.services.management.url);
 */
export async function fetchDeploymentInfo(client: ApiClient): Promise<DeploymentInfoAnswer> {
  const { data, status } = await client.get<unknown>('/api/info');
  const services = (data as { services?: Record<string, { url?: unknown }> } | undefined)?.services;
  const complete =
    typeof (data as { name?: unknown } | undefined)?.name === 'string' &&
    ['api', 'bootstrap', 'management', 'content'].every(
      (s) => typeof services?.[s]?.url === 'string',
    );
  if (!complete) {
    throw new ApiError({
      code: 'SERVER_ANSWER_INVALID',
      status,
      server: client.name,
      request: 'GET /api/info',
      reason: `the answer does not describe a Homeport deployment; is ${client.baseUrl} one?`,
    });
  }
  return data as DeploymentInfoAnswer;
}
