import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { HomeportError } from '../errors.js';
import { normalizeHost, parsePemBundle, toPemBundle, x509 } from '../pki/index.js';

/** The trust anchor of a Management Server, as a definition stores it. */
export interface Anchor {
  pem: string;
  /** SHA-256 of the DER, lowercase hex: compare it with `server_root_fingerprint`. */
  fingerprint: string;
}

/** How long the server waits for a Management Server's TLS handshake. */
export const ANCHOR_FETCH_TIMEOUT_MS = 5000;

// A chain longer than this is refused rather than walked: real CA hierarchies have 2 to 4 levels.
const MAX_CHAIN_LENGTH = 10;

/**
 * An MS address as definitions store it: an IP address (IPv6 compressed, brackets removed) or
 * a DNS name, lower case. Anything else is MANAGEMENT_SERVER_ADDRESS_INVALID naming the field.
 *
 * @example
 *   parseAddress('[2001:DB8::5]', "body field 'address'"); // '2001:db8::5'
 *   parseAddress('Management.B.Example', "body field 'address'"); // 'management.b.example'
 */
export function parseAddress(value: string, field: string): string {
  const text = value.trim().replace(/^\[(.*)\]$/, '$1');
  try {
    if (!text.startsWith('*')) return normalizeHost(text.replace(/\.$/, ''));
  } catch {
    // Reported below with the field's name.
  }
  throw new HomeportError(
    'MANAGEMENT_SERVER_ADDRESS_INVALID',
    `Invalid request: ${field} ${JSON.stringify(value)} is neither an IP address nor a host ` +
      'name; give the address devices connect to, such as 192.0.2.10 or management.example.',
  );
}

/**
 * Reads a trust anchor posted as `ca`: one self-signed certificate (a root CA, or a server's
 * own self-signed certificate), currently valid. Devices verify the MS with it (`/0/1`
 * resource 5), and a TLS client trusts only chains that end at a self-signed certificate, so
 * an intermediate CA would lock them out.
 *
 * @example
 *   const anchor = readGivenAnchor(body.ca); // { pem, fingerprint }
 */
export function readGivenAnchor(pem: string): Anchor {
  const certs = parsePemBundle(pem, "the PEM in body field 'ca'");
  const [only] = certs;
  if (certs.length !== 1 || !only) {
    throw anchorInvalid(`it holds ${certs.length} certificates; send the root alone`);
  }
  const cert = new X509Certificate(Buffer.from(only.rawData));
  if (!isSelfSigned(cert)) {
    throw anchorInvalid(
      `'${oneLine(cert.subject)}' is not self-signed (its issuer is '${oneLine(cert.issuer)}'); ` +
        'send the root CA at the top of the Management Server’s chain',
    );
  }
  const expiry = validityProblem(cert);
  if (expiry) throw anchorInvalid(expiry);
  return { pem: toPemBundle([only]), fingerprint: fingerprintOf(cert) };
}

/**
 * Takes the trust anchor a Management Server presents, as the manual procedure needs when no
 * anchor is posted (ARCHITECTURE §4 step 4): a TLS handshake with `address:port` without
 * verifying it, the whole chain the MS sends, which must end at a self-signed root, each
 * certificate signed by the next and valid now, and a leaf that names `address`. The root is
 * the anchor; its fingerprint is for the operator to compare with that deployment's
 * `GET /api/info` `server_root_fingerprint`, since nothing else vouches for it.
 *
 * @example
 *   const { pem, fingerprint } = await fetchPresentedAnchor('127.0.0.2', 8883);
 */
export async function fetchPresentedAnchor(
  address: string,
  port: number,
  timeoutMs = ANCHOR_FETCH_TIMEOUT_MS,
): Promise<Anchor> {
  const chain = await presentedChain(address, port, timeoutMs);
  const where = `the Management Server at ${address}:${port}`;
  checkChain(chain, where);
  checkNamesAddress(chain[0], address, where);
  const root = chain[chain.length - 1];
  return { pem: pemOf(root), fingerprint: fingerprintOf(root) };
}

/** Connects, reads the certificates the server sends, and hangs up. */
function presentedChain(address: string, port: number, timeoutMs: number) {
  const where = `${address}:${port}`;
  return new Promise<X509Certificate[]>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      outcome();
    };
    const socket = connect({
      host: address,
      port,
      // RFC 6066 §3: SNI carries host names only, never an IP address.
      ...(isIP(address) === 0 && { servername: address }),
      // Nothing to verify against yet: the chain is checked below, by signature, and the
      // anchor's fingerprint is given back for the operator to confirm.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(
      () => finish(() => reject(unreachable(where, `no TLS handshake within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      // Read before `finish` destroys the socket, which forgets its peer's certificates.
      let chain: X509Certificate[];
      try {
        chain = certificatesOf(socket.getPeerCertificate(true), where);
      } catch (err) {
        finish(() => reject(err instanceof Error ? err : new Error(String(err))));
        return;
      }
      finish(() => resolve(chain));
    });
    // An MS that requires a client certificate may refuse the handshake once it has sent its
    // own (TLS 1.2); with TLS 1.3 the server's chain arrives before that refusal.
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(() => reject(unreachable(where, err.code ?? err.message, err))),
    );
  });
}

function certificatesOf(peer: DetailedPeerCertificate, where: string): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = peer;
  while (current?.raw && chain.length < MAX_CHAIN_LENGTH) {
    chain.push(new X509Certificate(current.raw));
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    if (!next || next === current || next.fingerprint256 === current.fingerprint256) break;
    current = next;
  }
  if (chain.length === 0) {
    throw chainInvalid(`the Management Server at ${where} presented no certificate`);
  }
  return chain;
}

// RFC 5280 §6.1: each certificate is issued, and signed, by the next; the last by itself.
function checkChain(chain: readonly X509Certificate[], where: string): void {
  chain.forEach((cert, index) => {
    const problem = validityProblem(cert);
    if (problem) throw chainInvalid(`${where} presents a certificate that ${problem}`);
    const issuer = chain[index + 1];
    if (!issuer) return;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey) || !issuer.ca) {
      throw chainInvalid(
        `${where} presents '${oneLine(cert.subject)}' followed by '${oneLine(issuer.subject)}', ` +
          'which is not a CA that signed it',
      );
    }
  });
  const root = chain[chain.length - 1];
  if (!isSelfSigned(root)) {
    throw chainInvalid(
      `${where} presents no self-signed root: its chain ends at '${oneLine(root.subject)}', ` +
        `issued by '${oneLine(root.issuer)}'. Post that root as 'ca'`,
    );
  }
}

// RFC 6125 §6.4, as devices check it (docs/protocol.md §1): the leaf must name the address.
function checkNamesAddress(leaf: X509Certificate, address: string, where: string): void {
  const named = isIP(address) === 0 ? leaf.checkHost(address) : leaf.checkIP(address);
  if (named !== undefined) return;
  throw chainInvalid(
    `${where} presents a certificate for ${leaf.subjectAltName ?? oneLine(leaf.subject)}, ` +
      `which does not name ${address}; devices would refuse it`,
  );
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

function validityProblem(cert: X509Certificate): string | undefined {
  const now = Date.now();
  const subject = `'${oneLine(cert.subject)}'`;
  if (new Date(cert.validTo).getTime() < now) return `${subject} expired on ${cert.validTo}`;
  if (new Date(cert.validFrom).getTime() > now)
    return `${subject} is valid only from ${cert.validFrom}`;
  return undefined;
}

function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

function pemOf(cert: X509Certificate): string {
  return toPemBundle([new x509.X509Certificate(cert.raw)]);
}

function oneLine(name: string): string {
  return name.replace(/\n/g, ', ');
}

function anchorInvalid(reason: string): HomeportError {
  return new HomeportError(
    'ANCHOR_INVALID',
    `Cannot use body field 'ca' as the anchor: ${reason}.`,
  );
}

function chainInvalid(reason: string): HomeportError {
  return new HomeportError(
    'MANAGEMENT_SERVER_CHAIN_INVALID',
    `Cannot take the trust anchor: ${reason}.`,
  );
}

function unreachable(where: string, reason: string, cause?: unknown): HomeportError {
  return new HomeportError(
    'MANAGEMENT_SERVER_UNREACHABLE',
    `Cannot take the trust anchor of the Management Server at ${where}: ${reason}. Check the ` +
      "address and port, or post its root certificate as 'ca'.",
    { cause },
  );
}
