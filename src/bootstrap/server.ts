import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../log.js';
import { encodeCertsOnly, toBase64Lines, type x509 } from '../pki/index.js';
import { errorHandler } from '../api/envelope.js';

export interface BootstrapServerOptions {
  host: string;
  port: number;
  key: string;
  cert: string;
  /** The device CA chain (issuing CA, root) that EST `cacerts` distributes. */
  deviceCaChain: x509.X509Certificate[];
  logger: Logger;
}

/**
 * The Bootstrap Server's HTTPS listener. It asks every client for a certificate but decides
 * itself what to do with one, so that each refusal can be logged and answered with a reason.
 *
 * @example
 *   const bs = await startBootstrapServer({ host, port: 8884, key, cert, deviceCaChain, logger });
 */
export async function startBootstrapServer(
  options: BootstrapServerOptions,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true }),
    https: {
      key: options.key,
      cert: options.cert,
      requestCert: true,
      rejectUnauthorized: false,
      noDelay: true,
    },
  } as FastifyServerOptions) as unknown as FastifyInstance;
  app.setErrorHandler(errorHandler);

  const cacerts = toBase64Lines(encodeCertsOnly(options.deviceCaChain));

  // RFC 7030 §4.1: the CA certificates a client should trust for its operational certificate,
  // as a certs-only PKCS#7 (§4.1.3), base64 with Content-Transfer-Encoding (§4).
  app.get('/.well-known/est/cacerts', async (_request, reply) =>
    reply
      .header('content-type', 'application/pkcs7-mime')
      .header('content-transfer-encoding', 'base64')
      .send(cacerts),
  );

  await app.listen({ host: options.host, port: options.port });
  return app;
}
