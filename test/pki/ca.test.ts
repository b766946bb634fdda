import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createIssuingCa,
  createRootCa,
  issueServerCertificate,
  randomSerialNumber,
  x509,
  type Issuer,
  type ServerCredential,
} from '../../src/pki/index.js';
import { nodeCert, opensslText, opensslVerify, serialOctets, tempDir } from './helpers.js';

describe('a CA hierarchy with a server certificate', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: Issuer;
  let issuing: Issuer;
  let server: ServerCredential;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = await createRootCa({
      commonName: 'Test Root CA',
      organization: 'Homeport, Tests',
      validityDays: 7305,
    });
    issuing = await createIssuingCa(root, {
      commonName: 'Test Issuing CA',
      organization: 'Homeport, Tests',
      validityDays: 3653,
    });
    server = await issueServerCertificate(issuing, {
      commonName: 'Homeport api',
      hosts: ['127.0.0.1', '::1', 'Homeport.Example'],
      validityDays: 397,
    });
  });

  afterAll(async () => cleanup());

  it('chains verify with node:crypto (checkIssued and signature)', () => {
    const [rootNode, issuingNode, leafNode] = [root.cert, issuing.cert, server.cert].map(nodeCert);
    expect(rootNode.verify(rootNode.publicKey)).toBe(true);
    expect(issuingNode.checkIssued(rootNode)).toBe(true);
    expect(issuingNode.verify(rootNode.publicKey)).toBe(true);
    expect(leafNode.checkIssued(issuingNode)).toBe(true);
    expect(leafNode.verify(issuingNode.publicKey)).toBe(true);
    expect(leafNode.verify(rootNode.publicKey)).toBe(false);
  });

  it('the server chain passes openssl verify as a TLS server certificate', async () => {
    const out = await opensslVerify(dir, root.cert, [issuing.cert], server.cert, [
      '-purpose',
      'sslserver',
    ]);
    expect(out).toMatch(/leaf\.pem: OK/);
  });

  it('a leaf presented without its issuing CA fails openssl verify', async () => {
    await expect(opensslVerify(dir, root.cert, [], server.cert)).rejects.toThrow(
      /unable to get local issuer certificate/,
    );
  });

  it('a leaf checked against another root fails openssl verify', async () => {
    const otherRoot = await createRootCa({ commonName: 'Test Root CA', validityDays: 30 });
    await expect(opensslVerify(dir, otherRoot.cert, [issuing.cert], server.cert)).rejects.toThrow(
      /verification failed|unable to get/,
    );
  });

  it('the root is CA:true pathlen 1 with keyCertSign and cRLSign, both critical, and a SKI', async () => {
    const text = await opensslText(root.cert);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:1/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Subject Key Identifier/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(text).toMatch(/ASN1 OID: prime256v1/);
  });

  it('the issuing CA is pathlen 0 and its AKI is the root SKI', async () => {
    const text = await opensslText(issuing.cert);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);

    const rootSki = root.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const aki = issuing.cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    expect(rootSki).toMatch(/^[0-9a-f]{40}$/);
    expect(aki).toBe(rootSki);
    expect(issuing.chain).toEqual([issuing.cert, root.cert]);
  });

  it('the server certificate has IP and DNS SANs, serverAuth, digitalSignature and CA:false', async () => {
    const text = await opensslText(server.cert);
    expect(text).toMatch(
      /Subject Alternative Name:\s+IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1, DNS:homeport\.example/,
    );
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    const issuingSki = issuing.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    const aki = server.cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    expect(aki).toBe(issuingSki);
  });

  it('the server chain PEM is leaf, issuing CA, root; the key PEM is PKCS#8', () => {
    const blocks = server.chainPem.match(/-----BEGIN CERTIFICATE-----/g);
    expect(blocks).toHaveLength(3);
    expect(server.chainPem.startsWith(server.certPem)).toBe(true);
    expect(server.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('subjects keep the RDN order written: O first, then CN', () => {
    expect(nodeCert(root.cert).subject).toBe('O=Homeport\\, Tests\nCN=Test Root CA');
    expect(nodeCert(server.cert).issuer).toBe('O=Homeport\\, Tests\nCN=Test Issuing CA');
  });

  it('every serial is 16 DER bytes, positive, first byte non-zero', () => {
    for (const cert of [root.cert, issuing.cert, server.cert]) {
      const octets = serialOctets(cert);
      expect(octets).toHaveLength(16);
      expect(octets[0]).toBeGreaterThan(0);
      expect(octets[0]).toBeLessThan(0x80);
    }
  });

  it('random serials always fit in 16 positive bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const serial = randomSerialNumber();
      expect(serial).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(serial.startsWith('00')).toBe(false);
    }
  });

  it('a host that is neither an IP address nor a DNS name is refused', async () => {
    const issue = (host: string) =>
      issueServerCertificate(issuing, { commonName: 'x', hosts: [host], validityDays: 1 });
    await expect(issue('bad host')).rejects.toThrow(RangeError);
    await expect(issue('fe80::1%eth0')).rejects.toThrow(/zone/);
    await expect(
      issueServerCertificate(issuing, { commonName: 'x', hosts: [], validityDays: 1 }),
    ).rejects.toThrow(/hosts is empty/);
  });

  it('a common name over 64 characters or a validity of 0 days is refused', async () => {
    await expect(createRootCa({ commonName: 'x'.repeat(65), validityDays: 1 })).rejects.toThrow(
      /1 to 64 characters/,
    );
    await expect(createRootCa({ commonName: 'x', validityDays: 0 })).rejects.toThrow(RangeError);
  });
});
