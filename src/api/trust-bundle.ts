import { createHash, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { HomeportError, isHomeportError } from '../errors.js';
import { base64Problem } from '../pki/encoding.js';
import { fingerprint256, parsePemBundle, toPemBundle, type x509 } from '../pki/index.js';
import type { TrustedCertificate } from '../store/index.js';

/** How strictly a bundle is checked before it replaces a trust list. */
export interface BundleRules {
  /** Every entry must chain, by signature, to a self-signed root that is in the bundle. */
  requireRoots: boolean;
}

interface Entry {
  /** 1-based position in the bundle as sent, before duplicates are dropped. */
  number: number;
  cert: x509.X509Certificate;
  node: NodeX509Certificate;
  fingerprint: string;
}

// A chain longer than this is refused rather than walked: real CA hierarchies have 2 to 4 levels.
const MAX_CHAIN_LENGTH = 10;

/**
 * Reads the `certs` field of a trust-store PUT: base64 of a PEM bundle of CA certificates.
 * Every entry must be a CA certificate (RFC 5280 §4.2.1.9, basicConstraints cA true) and,
 * with `requireRoots`, chain to a self-signed root in the same bundle: a TLS trust store of
 * intermediates alone accepts nobody. Repeated certificates (same SHA-256) are dropped. Any
 * problem is a TRUST_STORE_INVALID naming the entry. An empty text is an empty list.
 *
 * @example
 *   const certs = readTrustBundle(request.body.certs, { requireRoots: true });
 *   await repo.replaceTrustList('management', certs);
 */
export function readTrustBundle(base64: string, rules: BundleRules): TrustedCertificate[] {
  const text = decodeBase64Field(base64);
  if (text.trim() === '') return [];

  const entries = parseEntries(text);
  entries.forEach(checkIsCa);
  if (rules.requireRoots) entries.forEach((entry) => checkReachesRoot(entry, entries));

  const unique = new Map<string, x509.X509Certificate>();
  for (const { fingerprint, cert } of entries) {
    if (!unique.has(fingerprint)) unique.set(fingerprint, cert);
  }
  return [...unique].map(([fingerprint, cert]) => ({
    fingerprint,
    pem: toPemBundle([cert]),
    subject: cert.subject,
  }));
}

/** The stored list as one PEM text, in stored order: what `GET` answers, base64-encoded. */
export function bundleText(list: readonly TrustedCertificate[]): string {
  return list.map(({ pem }) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

/**
 * The strong entity tag of a trust list (RFC 9110 §8.8.3): SHA-256 of its bundle text, quoted.
 *
 * @example
 *   reply.header('etag', entityTag(list)); // "\"9c56…\""
 */
export function entityTag(list: readonly TrustedCertificate[]): string {
  return `"${createHash('sha256').update(bundleText(list)).digest('hex')}"`;
}

/**
 * Evaluates `If-Match` against the current entity tag with the strong comparison that RFC 9110
 * §13.1.1 requires: `*` or one of the listed tags must equal it; a weak tag never matches.
 * No header means no condition.
 */
export function ifMatchHolds(header: string | undefined, current: string): boolean {
  if (header === undefined) return true;
  const tags = header.split(',').map((tag) => tag.trim());
  return tags.some((tag) => tag === '*' || tag === current);
}

function decodeBase64Field(field: string): string {
  const compact = field.replace(/\s+/g, '');
  const problem = base64Problem(compact);
  if (problem) {
    const hint = compact.startsWith('-----BEGIN') ? ' (this looks like PEM text: encode it)' : '';
    throw invalid(
      `body field 'certs' is not base64: ${problem}${hint}; send the PEM bundle base64-encoded`,
    );
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

function parseEntries(text: string): Entry[] {
  try {
    return parsePemBundle(text, "the PEM bundle in body field 'certs'").map((cert, index) => ({
      number: index + 1,
      cert,
      node: new NodeX509Certificate(Buffer.from(cert.rawData)),
      fingerprint: fingerprint256(cert),
    }));
  } catch (err) {
    if (!isHomeportError(err, 'PEM_INVALID')) throw err;
    throw new HomeportError('TRUST_STORE_INVALID', err.message, { cause: err });
  }
}

function checkIsCa(entry: Entry): void {
  if (entry.node.ca) return;
  throw invalid(
    `${describe(entry)} is not a CA certificate (its basicConstraints do not say cA): ` +
      'a trust store holds CA certificates only, never a device or server certificate',
  );
}

function checkReachesRoot(entry: Entry, bundle: readonly Entry[]): void {
  let current = entry;
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth += 1) {
    if (isIssuedBy(current, current)) return;

    const issuer = bundle.find((other) => other !== current && isIssuedBy(current, other));
    if (!issuer) {
      const via = current === entry ? '' : ` through ${describe(current)}`;
      throw invalid(
        `${describe(entry)} does not chain to a root in the bundle${via}: its issuer ` +
          `'${current.node.issuer.replace(/\n/g, ', ')}' is missing; add that CA and the ` +
          'self-signed root above it',
      );
    }
    current = issuer;
  }
  throw invalid(`${describe(entry)} has a chain longer than ${MAX_CHAIN_LENGTH} certificates`);
}

// RFC 5280 §6.1: names chain (checkIssued) and the issuer's key verifies the signature.
function isIssuedBy(child: Entry, parent: Entry): boolean {
  return child.node.checkIssued(parent.node) && child.node.verify(parent.node.publicKey);
}

function describe(entry: Entry): string {
  return `entry ${entry.number} ('${entry.cert.subject}', SHA-256 ${entry.fingerprint.slice(0, 16)}…)`;
}

function invalid(reason: string): HomeportError {
  return new HomeportError('TRUST_STORE_INVALID', `Cannot replace the trust store: ${reason}.`);
}
