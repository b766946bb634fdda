import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

/** The client certificate a device presents, PEM. */
export interface TlsClientCredential {
  keyPem: string;
  certPem: string;
}

export interface HttpsConnectionOptions {
  /** `https://host:port` */
  baseUrl: string;
  /** The trust anchor of the server, PEM: nothing else is trusted. */
  caPem: string;
  credential: TlsClientCredential;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

// Bootstrap answers and EST certificates are a few kilobytes.
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * One mutual-TLS connection to a server, kept open across the requests of a flow (a
 * Bootstrap-Request, then EST), so a bootstrap costs one handshake. The server must present a
 * certificate chaining to `caPem` that names the host of `baseUrl` (Node checks both; this
 * never turns that off).
 *
 * @example
 *   const bs = new HttpsConnection({ baseUrl, caPem, credential, timeoutMs: 30_000, signal });
 *   try { await bs.request('POST', '/bs?ep=...', { body: '{}' }); } finally { bs.close(); }
 */
export class HttpsConnection {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(private readonly options: HttpsConnectionOptions) {
    this.url = new URL(options.baseUrl);
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: options.caPem,
      cert: options.credential.certPem,
      key: options.credential.keyPem,
    });
  }

  /** Sends a request and reads the whole answer as text. */
  request(
    method: 'GET' | 'POST',
    path: string,
    init: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<HttpsResponse> {
    const { signal, timeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port === '' ? 443 : Number(this.url.port),
          path,
          method,
          agent: this.agent,
          signal,
          headers: {
            ...init.headers,
            ...(init.body !== undefined && {
              'content-length': String(Buffer.byteLength(init.body)),
            }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES)
              req.destroy(new Error(`the answer exceeds ${MAX_BODY_BYTES} bytes`));
            else chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(init.body);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.agent.destroy();
  }
}
