import { webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHomeportError } from '../../src/errors.js';
import { createIssuingCa, createRootCa, signCsr, x509, type Issuer } from '../../src/pki/index.js';
import { nodeCert, openssl, opensslText, opensslVerify, serialOctets, tempDir } from './helpers.js';

const ENDPOINT = '00:0a:14:81:2c:3d';

type KeySpec = 'P-256' | 'P-384' | 'P-521' | 'RSA-1024' | 'RSA-2048';

async function makeCsr(
  spec: KeySpec,
  name = `CN=${ENDPOINT}`,
): Promise<x509.Pkcs10CertificateRequest> {
  const rsa = spec.startsWith('RSA');
  const algorithm = rsa
    ? {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        publicExponent: new Uint8Array([1, 0, 1]),
        modulusLength: Number(spec.slice(4)),
      }
    : { name: 'ECDSA', namedCurve: spec };
  const keys = await webcrypto.subtle.generateKey(algorithm, false, ['sign', 'verify']);
  return x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: rsa ? algorithm : { name: 'ECDSA', hash: 'SHA-256' },
  });
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    return isHomeportError(err) ? err : { message: (err as Error).message };
  }
  throw new Error('expected a rejection');
}

describe('signing device CSRs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: Issuer;
  let issuing: Issuer;
  const options = { profile: 'device-client', endpoint: ENDPOINT } as const;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = await createRootCa({ commonName: 'Device Root', validityDays: 3650 });
    issuing = await createIssuingCa(root, { commonName: 'Device Issuing', validityDays: 1825 });
  });

  afterAll(async () => cleanup());

  it.each<KeySpec>(['P-256', 'P-384', 'RSA-2048'])(
    'a %s CSR is signed into a client certificate that openssl verifies',
    async (spec) => {
      const csr = await makeCsr(spec);
      const cert = await signCsr(issuing, csr.toString('pem'), options);

      expect(nodeCert(cert).subject).toBe(`CN=${ENDPOINT}`);
      expect(nodeCert(cert).checkIssued(nodeCert(issuing.cert))).toBe(true);
      expect(Buffer.from(cert.publicKey.rawData)).toEqual(Buffer.from(csr.publicKey.rawData));
      const out = await opensslVerify(dir, root.cert, [issuing.cert], cert, [
        '-purpose',
        'sslclient',
      ]);
      expect(out).toMatch(/OK/);
    },
  );

  it('the client certificate has clientAuth, digitalSignature, CA:false, SKI/AKI and a 16-byte serial', async () => {
    const cert = await signCsr(issuing, new Uint8Array((await makeCsr('P-256')).rawData), options);
    const text = await opensslText(cert);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Subject Key Identifier/);
    const issuingSki = issuing.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    expect(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(issuingSki);
    expect(serialOctets(cert)).toHaveLength(16);
  });

  it('a CSR made by openssl req keeps its requested subjectAltName', async () => {
    const pem = await openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      `/CN=${ENDPOINT}`,
      '-addext',
      'subjectAltName=DNS:router-7.devices.example,IP:10.0.0.7',
    ]);
    const cert = await signCsr(issuing, pem, options);
    const text = await opensslText(cert);
    expect(text).toMatch(/DNS:router-7\.devices\.example, IP Address:10\.0\.0\.7/);
    expect(await opensslVerify(dir, root.cert, [issuing.cert], cert)).toMatch(/OK/);
  });

  it('validity defaults to 365 days from now, with notBefore 5 minutes back', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const cert = await signCsr(issuing, (await makeCsr('P-256')).toString('pem'), {
      ...options,
      now,
    });
    expect(cert.notBefore.toISOString()).toBe('2029-12-31T23:55:00.000Z');
    expect(cert.notAfter.toISOString()).toBe('2031-01-01T00:00:00.000Z');
  });

  it('validity of 825 days is accepted and 826 refused', async () => {
    const pem = (await makeCsr('P-256')).toString('pem');
    const cert = await signCsr(issuing, pem, { ...options, validityDays: 825 });
    const days = (cert.notAfter.getTime() - cert.notBefore.getTime()) / 86_400_000;
    expect(Math.round(days)).toBe(825);
    await expect(signCsr(issuing, pem, { ...options, validityDays: 826 })).rejects.toThrow(
      /validityDays must be a whole number from 1 to 825/,
    );
  });

  it('an RSA-1024 CSR is refused with CSR_KEY_REJECTED naming the key', async () => {
    const err = await rejection(signCsr(issuing, (await makeCsr('RSA-1024')).toString(), options));
    expect(err.code).toBe('CSR_KEY_REJECTED');
    expect(err.message).toMatch(/its key is RSA-1024/);
  });

  it('a P-521 CSR is refused with CSR_KEY_REJECTED naming the curve', async () => {
    const err = await rejection(signCsr(issuing, (await makeCsr('P-521')).toString(), options));
    expect(err.code).toBe('CSR_KEY_REJECTED');
    expect(err.message).toMatch(/EC secp521r1/);
  });

  it('a CSR whose CN is another endpoint is refused with CSR_SUBJECT_MISMATCH naming both', async () => {
    const csr = await makeCsr('P-256', 'CN=00:0a:14:81:2c:3e');
    const err = await rejection(signCsr(issuing, csr.toString(), options));
    expect(err.code).toBe('CSR_SUBJECT_MISMATCH');
    expect(err.message).toContain(`endpoint "${ENDPOINT}"`);
    expect(err.message).toContain('CN "00:0a:14:81:2c:3e"');
  });

  it('a CSR with no CN, or the endpoint only as O, is refused', async () => {
    const csr = await makeCsr('P-256', `O=${ENDPOINT.replace(/:/g, '')}`);
    const err = await rejection(signCsr(issuing, csr.toString(), options));
    expect(err.code).toBe('CSR_SUBJECT_MISMATCH');
    expect(err.message).toMatch(/no CN/);
  });

  it('a CSR with a tampered signature is refused with CSR_INVALID', async () => {
    const der = new Uint8Array((await makeCsr('P-256')).rawData);
    der[der.length - 1] ^= 0x01;
    const err = await rejection(signCsr(issuing, der, options));
    expect(err.code).toBe('CSR_INVALID');
    expect(err.message).toMatch(/signature does not verify/);
  });

  it('garbage, a certificate and trailing bytes are refused with CSR_INVALID', async () => {
    const garbage = await rejection(
      signCsr(issuing, new Uint8Array([0x30, 0x03, 1, 2, 3]), options),
    );
    expect(garbage.code).toBe('CSR_INVALID');

    const notPem = await rejection(signCsr(issuing, 'hello', options));
    expect(notPem.code).toBe('CSR_INVALID');
    expect(notPem.message).toMatch(/not a PEM CERTIFICATE REQUEST/);

    const cert = await rejection(signCsr(issuing, new Uint8Array(root.cert.rawData), options));
    expect(cert.code).toBe('CSR_INVALID');

    const der = new Uint8Array((await makeCsr('P-256')).rawData);
    const trailing = await rejection(signCsr(issuing, new Uint8Array([...der, 0]), options));
    expect(trailing.code).toBe('CSR_INVALID');
  });
});
