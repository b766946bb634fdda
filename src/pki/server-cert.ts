import { isIP } from 'node:net';
import { authorityKeyIdentifier, signWithIssuer, subjectName, validityPeriod } from './issuer.js';
import type { Issuer, SubjectParams } from './issuer.js';
import { exportPrivateKeyPem, generateKeyPair } from './keys.js';
import { toPemBundle } from './pem.js';
import { x509 } from './x509.js';

/** What a server TLS certificate is issued for. */
export interface ServerCertificateParams extends SubjectParams {
  /** Host names and IP addresses the server is reached at; each becomes a SAN. */
  hosts: string[];
  validityDays: number;
  now?: Date;
}

/** A server's TLS credential, ready to hand to `tls.createServer`. */
export interface ServerCredential {
  keyPem: string;
  cert: x509.X509Certificate;
  certPem: string;
  /** The leaf, then its issuing CA, up to and including the root. */
  chainPem: string;
}

// RFC 1123 §2.1 labels, with an optional leading wildcard label (RFC 6125 §6.4.3).
const DNS_NAME =
  /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Issues a TLS server certificate with a fresh ECDSA P-256 key: every host as a SAN (iPAddress
 * for IPv4/IPv6 literals, dNSName otherwise), extendedKeyUsage serverAuth, keyUsage
 * digitalSignature (critical), basicConstraints CA:false, subject and authority key identifiers.
 *
 * @example
 *   const tls = await issueServerCertificate(serverIssuing, {
 *     commonName: 'Homeport API',
 *     hosts: ['127.0.0.1', 'homeport.example'],
 *     validityDays: 397,
 *   });
 *   https.createServer({ key: tls.keyPem, cert: tls.chainPem });
 */
export async function issueServerCertificate(
  issuer: Issuer,
  params: ServerCertificateParams,
): Promise<ServerCredential> {
  const san = subjectAltNames(params.hosts);
  const { notBefore, notAfter } = validityPeriod(params.validityDays, params.now);
  const keys = await generateKeyPair();

  const cert = await signWithIssuer(issuer, {
    subject: subjectName(params),
    publicKey: keys.publicKey,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // RFC 5246 §7.4.2 / RFC 8446 §4.4.2.2: an ECDSA server key signs the handshake.
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      san,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await authorityKeyIdentifier(issuer),
    ],
  });

  return {
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    cert,
    certPem: toPemBundle([cert]),
    chainPem: toPemBundle([cert, ...issuer.chain]),
  };
}

/**
 * A host in the form SANs are compared in: IP addresses canonical (IPv6 compressed, lower
 * case), DNS names lower case. Throws a RangeError for anything that is neither.
 *
 * @example
 *   normalizeHost('2001:DB8:0::1'); // '2001:db8::1'
 *   normalizeHost('Homeport.Example'); // 'homeport.example'
 */
export function normalizeHost(host: string): string {
  if (isIP(host) === 4) return host;
  if (isIP(host) === 6) return canonicalIpv6(host);

  if (host.length > 253 || !DNS_NAME.test(host)) {
    throw new RangeError(
      `Cannot use host ${JSON.stringify(host)} in a certificate: ` +
        'it is neither an IP address nor a DNS name.',
    );
  }
  return host.toLowerCase();
}

/**
 * The hosts a certificate's subjectAltName names (dNSName and iPAddress entries), normalized
 * and sorted, so that two sets can be compared.
 *
 * @example
 *   certificateHosts(cert); // ['127.0.0.1', 'homeport.example']
 */
export function certificateHosts(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return [];

  const hosts = san.names.items
    .filter((name) => name.type === 'dns' || name.type === 'ip')
    .map((name) =>
      name.type === 'ip' && isIP(name.value) === 6
        ? canonicalIpv6(name.value)
        : name.value.toLowerCase(),
    );
  return [...new Set(hosts)].sort();
}

function subjectAltNames(hosts: string[]): x509.SubjectAlternativeNameExtension {
  if (hosts.length === 0) {
    throw new RangeError('Cannot issue a server certificate: hosts is empty, it needs one SAN.');
  }

  // RFC 5280 §4.2.1.6: IP addresses go in iPAddress, never in dNSName.
  const names = [...new Set(hosts.map(normalizeHost))].map((host) => ({
    type: isIP(host) === 0 ? ('dns' as const) : ('ip' as const),
    value: host,
  }));
  return new x509.SubjectAlternativeNameExtension(names);
}

function canonicalIpv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    throw new RangeError(
      `Cannot use host ${JSON.stringify(address)} in a certificate: ` +
        'an IPv6 address with a zone cannot be a SAN.',
    );
  }
}
