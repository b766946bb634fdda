import { createPrivateKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { decodeCertsOnly, fromBase64Body, toBase64Lines } from '../pki/index.js';
import { BootstrapServerError, refusal } from './bootstrap-client.js';
import {
  derBitString,
  derElement,
  derInteger,
  derName,
  derOid,
  derSequence,
  OID,
  pemOf,
} from '../pki/der.js';
import type { HttpsConnection } from './https-client.js';

/** A new key pair and its certification request. */
export interface KeyAndCsr {
  keyPem: string;
  csrDer: Buffer;
}

/** The certificate EST issued, with the other certificates of the answer after it. */
export interface EnrolledCertificate {
  certPem: string;
  cert: X509Certificate;
}

/**
 * Makes a new ECDSA P-256 key pair on the device and a PKCS#10 request for it with subject
 * `CN=<endpoint>` (protocol.md §1: the private key never leaves the device).
 *
 * @example
 *   const { keyPem, csrDer } = createKeyAndCsr('02:48:50:00:00:01');
 */
export function createKeyAndCsr(endpoint: string): KeyAndCsr {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });

  // RFC 2986 §4.1: version 0, subject, subjectPKInfo, attributes [0] (none).
  const info = derSequence(
    derInteger(0),
    derName([[OID.commonName, endpoint]]),
    spki,
    derElement(0xa0, Buffer.alloc(0)),
  );
  const signature = sign('sha256', info, privateKey);
  const csrDer = derSequence(
    info,
    derSequence(derOid(OID.ecdsaWithSha256)),
    derBitString(signature),
  );

  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, csrDer };
}

/**
 * Enrolls over EST: `POST <estPath>/simpleenroll` (or `simplereenroll` to renew an operational
 * certificate, RFC 7030 §4.2.2) with the base64 DER CSR as `application/pkcs10` (RFC 7030
 * §4.2.1), and reads the base64 certs-only PKCS#7 answer (§4.2.3). Returns the certificate for
 * the new key, checked to name the endpoint.
 *
 * @example
 *   const { certPem } = await enroll(bs, '/.well-known/est', false, keyPem, csrDer, endpoint);
 */
export async function enroll(
  connection: HttpsConnection,
  estPath: string,
  reenroll: boolean,
  request: KeyAndCsr,
  endpoint: string,
): Promise<EnrolledCertificate> {
  const operation = reenroll ? 'simplereenroll' : 'simpleenroll';
  const response = await connection.request('POST', `${estPath}/${operation}`, {
    headers: {
      'content-type': 'application/pkcs10',
      // RFC 7030 §4.2.1: the body is base64, as with Content-Transfer-Encoding base64.
      'content-transfer-encoding': 'base64',
      accept: 'application/pkcs7-mime',
    },
    body: toBase64Lines(request.csrDer),
  });
  if (response.status !== 200) throw refusal(`EST ${operation}`, response);

  return pickCertificate(response.text, request.keyPem, endpoint, operation);
}

function pickCertificate(
  body: string,
  keyPem: string,
  endpoint: string,
  operation: string,
): EnrolledCertificate {
  let certs: X509Certificate[];
  try {
    certs = decodeCertsOnly(fromBase64Body(body)).map(
      (c) => new X509Certificate(Buffer.from(c.rawData)),
    );
  } catch (err) {
    throw unusable(operation, `it is not a base64 certs-only PKCS#7 (${(err as Error).message})`);
  }

  const key = createPrivateKey(keyPem);
  const index = certs.findIndex((cert) => cert.checkPrivateKey(key));
  if (index < 0) throw unusable(operation, 'no certificate in it is for the key the device sent');

  const cert = certs[index];
  const cn = cert.subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3);
  if (cn !== endpoint)
    throw unusable(operation, `the certificate names CN ${cn ?? '(none)'}, not ${endpoint}`);

  // The leaf first, then any CA certificates the BS sent with it, for the MS to build the chain.
  const chain = [cert, ...certs.filter((c, i) => i !== index && c.ca)];
  return { cert, certPem: chain.map((c) => pemOf(c.raw)).join('') };
}

function unusable(operation: string, reason: string): BootstrapServerError {
  return new BootstrapServerError(
    'BOOTSTRAP_FAILED',
    `Cannot use the EST ${operation} answer: ${reason}.`,
    200,
  );
}
