import * as asn1js from 'asn1js';
import type { FastifyInstance } from 'fastify';
import { toBase64Lines } from '../../pki/index.js';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const ID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const SECP256R1 = '1.2.840.10045.3.1.7';

/**
 * CsrAttrs (RFC 7030 §4.5.2): sign with ecdsa-with-SHA256, and make an EC key on P-256 —
 * what this BS prefers, though it also accepts P-384 and RSA ≥ 2048.
 */
export function csrAttributes(): Uint8Array {
  const attrs = new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: ECDSA_WITH_SHA256 }),
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: ID_EC_PUBLIC_KEY }),
          new asn1js.Set({ value: [new asn1js.ObjectIdentifier({ value: SECP256R1 })] }),
        ],
      }),
    ],
  });
  return new Uint8Array(attrs.toBER(false));
}

/** `GET /.well-known/est/csrattrs` (RFC 7030 §4.5). */
export function registerCsrattrs(app: FastifyInstance): void {
  const body = toBase64Lines(csrAttributes());
  app.get('/.well-known/est/csrattrs', async (_request, reply) =>
    reply
      .header('content-type', 'application/csrattrs')
      .header('content-transfer-encoding', 'base64')
      .send(body),
  );
}
