import { createHash, X509Certificate } from 'node:crypto';
import { connect, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import { HomeportError } from '../errors.js';
import { fingerprint256, parsePemBundle, toPemBundle } from '../pki/index.js';

/** How long the TLS connection to a Management Server may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Where the anchor came from, for messages. */
export type RootSource = 'profile' | 'management-server';

export interface ServerRoot {
  pem: string;
  fingerprint: string;
  source: RootSource;
}

/**
 * The server root of a deployment, the trust anchor its Management Server's certificate chains
 * to, checked against `expected` (the fingerprint the deployment's `/api/info` gives, read over
 * a verified connection). It is taken from the profile's pinned CA when that holds it, else from
 * the chain the Management Server presents (every MS sends its whole chain). A root whose
 * fingerprint differs is refused with MOVE_SERVER_ROOT_MISMATCH: it would give devices an
 * anchor their server does not have.
 *
 * @example
 *   const root = await serverRootOf({ name: 'server2', pinned: profile.ca, ms, expected });
 */
export async function serverRootOf(target: {
  name: string;
  pinned: string | undefined;
  ms: { host: string; port: number };
  expected: string;
}): Promise<ServerRoot> {
  const expected = target.expected.toLowerCase();
  const pinned = target.pinned === undefined ? undefined : fromPinned(target.pinned, expected);
  if (pinned) return { pem: pinned, fingerprint: expected, source: 'profile' };

  const presented = await presentedRoot(target.ms.host, target.ms.port);
  if (presented.fingerprint === expected) return { ...presented, source: 'management-server' };
  throw new HomeportError(
    'MOVE_SERVER_ROOT_MISMATCH',
    `Cannot define ${target.name}'s Management Server for the move: the root of the chain it ` +
      `presents at ${target.ms.host}:${target.ms.port} has SHA-256 ${presented.fingerprint}, but ` +
      `${target.name}'s /api/info says its server root is ${expected}. Devices would be given an ` +
      'anchor that is not that server’s; check that the address is the right deployment.',
  );
}

/** The certificate of the pinned bundle whose fingerprint is `expected`, as PEM. */
function fromPinned(pem: string, expected: string): string | undefined {
  try {
    const match = parsePemBundle(pem).find((cert) => fingerprint256(cert) === expected);
    return match && toPemBundle([match]);
  } catch {
    return undefined;
  }
}

/** Connects to the MS (without a client certificate) and takes the root of the chain it sends. */
function presentedRoot(host: string, port: number): Promise<Omit<ServerRoot, 'source'>> {
  return new Promise((resolve, reject) => {
    // The chain is not trusted here: its root is checked against the fingerprint afterwards.
    const socket = connect({ host, port, servername: sniName(host), rejectUnauthorized: false });
    const fail = (why: string, cause?: unknown) => {
      socket.destroy();
      reject(
        new HomeportError(
          'SERVER_UNREACHABLE',
          `Cannot read the certificate chain of the Management Server at ${host}:${port}: ${why}.`,
          { cause },
        ),
      );
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
      fail(`no TLS handshake within ${CONNECT_TIMEOUT_MS} ms`),
    );
    socket.once('error', (err: Error) => fail(err.message, err));
    socket.once('secureConnect', () => {
      const root = chainRoot(socket.getPeerCertificate(true));
      socket.destroy();
      if (!root) return fail('it sent no self-signed root with its certificate');
      const pem = new X509Certificate(root.raw).toString();
      resolve({ pem, fingerprint: createHash('sha256').update(root.raw).digest('hex') });
    });
  });
}

/** Follows `issuerCertificate` to the end; the last one must be self-signed (a root). */
function chainRoot(leaf: DetailedPeerCertificate): PeerCertificate | undefined {
  let current: DetailedPeerCertificate = leaf;
  for (let depth = 0; depth < 10 && current?.raw; depth++) {
    const issuer = current.issuerCertificate;
    if (!issuer || issuer === current || issuer.fingerprint256 === current.fingerprint256) {
      const cert = new X509Certificate(current.raw);
      return cert.checkIssued(cert) && cert.verify(cert.publicKey) ? current : undefined;
    }
    current = issuer;
  }
  return undefined;
}

/** SNI carries host names only (RFC 6066 §3), never an IP address. */
function sniName(host: string): string | undefined {
  return /^[\d.]+$|:/.test(host) ? undefined : host;
}
