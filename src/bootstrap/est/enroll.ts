import type { FastifyInstance, FastifyReply } from 'fastify';
import { HomeportError } from '../../errors.js';
import {
  encodeCertsOnly,
  fromBase64Body,
  parseCsr,
  signCsr,
  toBase64Lines,
  x509,
} from '../../pki/index.js';
import { serialKey } from '../authenticate.js';
import { deviceOf, type BootstrapContext } from '../context.js';
import type { AuthenticatedDevice } from '../authenticate.js';

const SUBJECT_ALT_NAME = '2.5.29.17';

function altNames(ext: x509.Extension | null | undefined): string {
  return ext ? Buffer.from(ext.value).toString('hex') : '';
}

/**
 * RFC 7030 §4.2.2: a re-enrollment keeps the Subject and SubjectAltName of the certificate
 * being renewed, and must be made with that certificate.
 */
function checkReenroll(who: AuthenticatedDevice, csrDer: Uint8Array): void {
  if (who.credential !== 'operational') {
    throw new HomeportError(
      'DEVICE_CERT_MISMATCH',
      'simplereenroll renews an operational certificate: connect with it, or use simpleenroll.',
    );
  }
  const csr = parseCsr(csrDer);
  const current = new x509.X509Certificate(who.certificate.raw);
  if (csr.subject !== current.subject) {
    throw new HomeportError(
      'CSR_SUBJECT_MISMATCH',
      `A re-enrollment must keep the subject '${current.subject}', not '${csr.subject}'.`,
    );
  }
  const csrSan = csr.getExtension(SUBJECT_ALT_NAME);
  if (altNames(csrSan) !== altNames(current.getExtension(SUBJECT_ALT_NAME))) {
    throw new HomeportError(
      'CSR_SUBJECT_MISMATCH',
      'A re-enrollment must keep the subjectAltName.',
    );
  }
}

async function enroll(
  ctx: BootstrapContext,
  who: AuthenticatedDevice,
  csrDer: Uint8Array,
  reply: FastifyReply,
) {
  const cert = await signCsr(ctx.deviceIssuing, csrDer, {
    profile: 'device-client',
    endpoint: who.device.mac,
    validityDays: ctx.policy.certificateDays,
  });
  await ctx.repo.recordCertificate({
    serial: serialKey(cert.serialNumber),
    deviceMac: who.device.mac,
    issuer: cert.issuer,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  });
  reply.log.debug({ mac: who.device.mac, serial: cert.serialNumber }, 'certificate issued');
  // RFC 7030 §4.2.3: the answer is a certs-only PKCS#7 holding the new certificate.
  return reply
    .header('content-type', 'application/pkcs7-mime; smime-type=certs-only')
    .header('content-transfer-encoding', 'base64')
    .send(toBase64Lines(encodeCertsOnly([cert])));
}

/**
 * `POST /.well-known/est/simpleenroll` and `simplereenroll` (RFC 7030 §4.2): a base64 PKCS#10
 * in, a certificate out, for a device authenticated as for the Bootstrap-Request.
 */
export function registerEnroll(app: FastifyInstance, ctx: BootstrapContext): void {
  // RFC 7030 §4.2.1: the body is a base64-encoded PKCS#10, `application/pkcs10`.
  app.addContentTypeParser('application/pkcs10', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, fromBase64Body(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  for (const operation of ['simpleenroll', 'simplereenroll'] as const) {
    app.post<{ Body: Uint8Array }>(`/.well-known/est/${operation}`, async (request, reply) => {
      if (!(request.body instanceof Uint8Array)) {
        throw new HomeportError(
          'CSR_INVALID',
          'Send the CSR as base64 DER PKCS#10 with Content-Type: application/pkcs10.',
        );
      }
      const who = await deviceOf(ctx, request);
      if (operation === 'simplereenroll') checkReenroll(who, request.body);
      return enroll(ctx, who, request.body, reply);
    });
  }
}
