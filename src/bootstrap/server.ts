import type { Server as TlsServer } from 'node:tls';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { errorHandler } from '../api/envelope.js';
import { validatorCompiler } from '../api/validation.js';
import { registerBootstrapRequest } from './bootstrap-request.js';
import type { BootstrapContext } from './context.js';
import { registerCacerts } from './est/cacerts.js';
import { registerCsrattrs } from './est/csrattrs.js';
import { registerEnroll } from './est/enroll.js';

export interface BootstrapServerOptions {
  host: string;
  port: number;
  /** The BS's TLS key and whole certificate chain, PEM. */
  key: string;
  cert: string;
  /** CAs whose client certificates are verified: the device CA chain and the manufacturers. */
  clientCas: readonly string[];
}

export interface BootstrapServer {
  readonly port: number;
  /** Verifies client certificates against these CAs from the next handshake on. */
  setClientCas(cas: readonly string[]): void;
  close(): Promise<void>;
}

/**
 * The Bootstrap Server (docs/protocol.md §3): the Bootstrap-Request and EST over HTTPS. It
 * asks every client for a certificate but decides itself what to do with one, so that each
 * refusal can be logged and answered with its reason.
 *
 * @example
 *   const bs = await startBootstrapServer(ctx, { host, port: 8884, key, cert, clientCas });
 */
export async function startBootstrapServer(
  ctx: BootstrapContext,
  options: BootstrapServerOptions,
): Promise<BootstrapServer> {
  const tls = { key: options.key, cert: options.cert };
  const app = Fastify({
    loggerInstance: ctx.logger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    https: {
      ...tls,
      ca: [...options.clientCas],
      requestCert: true,
      rejectUnauthorized: false,
      noDelay: true,
    },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.addHook('onError', async (request, _reply, err) => {
    const code = (err as { code?: string }).code;
    request.log.info(
      { url: request.url.split('?')[0], code, reason: err.message },
      'device refused',
    );
  });

  registerBootstrapRequest(app, ctx);
  registerCacerts(app, ctx);
  registerCsrattrs(app);
  registerEnroll(app, ctx);

  await app.listen({
    host: options.host,
    port: options.port,
    listenTextResolver: (url) => `bootstrap listening on ${url}`,
  });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    setClientCas: (cas) => {
      (app.server as unknown as TlsServer).setSecureContext({ ...tls, ca: [...cas] });
    },
    close: () => app.close(),
  };
}
