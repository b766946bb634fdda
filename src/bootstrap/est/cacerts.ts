import type { FastifyInstance } from 'fastify';
import { encodeCertsOnly, toBase64Lines } from '../../pki/index.js';
import type { BootstrapContext } from '../context.js';

/**
 * `GET /.well-known/est/cacerts` (RFC 7030 §4.1): the CA certificates a device should trust
 * for its operational certificate, as certs-only PKCS#7 (§4.1.3), base64 encoded (§4).
 * Served to anyone: the chain is public.
 */
export function registerCacerts(app: FastifyInstance, ctx: BootstrapContext): void {
  const body = toBase64Lines(encodeCertsOnly(ctx.deviceCaChain));
  app.get('/.well-known/est/cacerts', async (_request, reply) =>
    reply
      .header('content-type', 'application/pkcs7-mime')
      .header('content-transfer-encoding', 'base64')
      .send(body),
  );
}
